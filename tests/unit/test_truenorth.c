/* TrueNorth Enterprise API 2020q1 (seeds/002): its documented POST /scores
 * example (tests/vendors/truenorth/scores_doc.json, the seed's JSON as
 * written) parses exactly as the document says, through the family's parser
 * (emmersion.c); and its vendor_ops are the 2020q1 version of the family:
 * startedOnOrAfter/Before windows, includeIncompleteAssessments on by
 * default, no /assignments, re-checks of unfinished attempts by start time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeparse.h"
#include "vendors/emmersion.h"
#include "vendors/vendor.h"

#include "fixture_testlib.h"

extern const struct vendor_ops truenorth_vendor;

static const struct ss_result *find(const struct ss_batch *b, const char *key)
{
    for (size_t i = 0; i < b->n_res; i++)
        if (strcmp(b->res[i].vendor_key, key) == 0)
            return &b->res[i];
    return NULL;
}

/* Text of a parsed instant, 6 fraction digits, UTC. */
static const char *fmt(int64_t t, char *out)
{
    ts_format(t, out, 40);
    return out;
}

#define JOHN  "615ba72f-f8a6-462a-b2b2-19d1952d1372"
#define JENNY "e19d106d-22c5-458a-bb0a-957393453084"

static void test_scores_doc(void **state)
{
    (void)state;
    size_t len;
    char *body = slurp("tests/vendors/truenorth/scores_doc.json", &len);
    struct ss_batch b;
    batch_init(&b);
    struct ss_err err = {0};
    long reports = 0;
    char t[40];
    assert_int_equal(emmersion_parse_scores(body, len, &b, &reports, &err), 0);
    /* appliedFilters is another member of the root: not a record. */
    assert_int_equal(reports, 3);
    assert_int_equal(b.n_cand, 2);
    assert_int_equal(b.n_res, 3);
    assert_int_equal(b.n_quar, 0);

    const struct ss_candidate *john = &b.cand[0], *jenny = &b.cand[1];
    assert_string_equal(john->vendor_key, JOHN);
    assert_string_equal(john->given_name, "John");
    assert_string_equal(john->family_name, "Smith");
    assert_string_equal(john->username, "john-smith");
    assert_string_equal(john->email, "john-smith@example.com");
    assert_string_equal(john->student_id, "1234567890");
    assert_string_equal(john->unique_identifier, "5799134");
    assert_null(strstr(john->raw_json, "scoreReports"));
    assert_non_null(strstr(john->raw_json, "\"john-smith\""));
    assert_string_equal(jenny->vendor_key, JENNY);
    assert_string_equal(jenny->given_name, "Jenny");
    assert_string_equal(jenny->family_name, "Doe");
    assert_string_equal(jenny->username, "jenny-doe");
    assert_string_equal(jenny->email, "jenny-doe@example.com");
    assert_string_equal(jenny->student_id, "8675309");
    assert_string_equal(jenny->unique_identifier, "5412349");
    assert_null(strstr(jenny->raw_json, "scoreReports"));

    /* Times have 7 fraction digits (.NET); timeparse rounds them to the
     * microsecond as PostgreSQL reads the same text (rint(strtod(...) *
     * 1e6)), so a stored time equals (raw->>'started')::timestamptz. Whether
     * microsecond rounding is right for checkpoints and re-check windows is a
     * separate issue (pager.c widens re-check windows by 1 us for it). */
    const struct ss_result *web = find(&b, "99807cea-1225-41e6-a271-eb7e8a732d1b");
    assert_non_null(web);
    assert_string_equal(web->candidate_key, JOHN);
    assert_string_equal(web->stream, "scores");
    assert_string_equal(web->assessment_type, "WebCAPE");
    assert_string_equal(web->assessment_name, "English Grammar");
    assert_string_equal(web->assessment_version, "A.20.01");
    assert_string_equal(web->status_label, "Completed");
    /* "2019-09-10T16:29:29.9074258+00:00" */
    assert_true(web->started_at == 1568132969907426LL);
    assert_string_equal(fmt(web->started_at, t), "2019-09-10T16:29:29.907426Z");
    /* "2019-09-10T16:30:13.7087307+00:00" */
    assert_true(web->completed_at == 1568133013708731LL);
    assert_string_equal(fmt(web->completed_at, t), "2019-09-10T16:30:13.708731Z");
    /* "00:00:43.8013049", rounded the same way */
    assert_true(web->duration_us == 43801305);
    assert_true(web->has_score);
    assert_true(web->score == 825.0); /* "score": 825.00 */
    assert_string_equal(web->placement, "Semester 4");
    assert_null(web->cefr.label);
    assert_null(web->actfl.label);
    assert_null(web->toefl.label);
    assert_null(web->ielts.label);
    assert_null(web->toeic.label);
    assert_null(web->skill);           /* no *SpeakingLevel: not a speaking test */
    assert_null(web->certificate_url); /* 2020q1 has none */
    assert_int_equal(web->n_subscores, 4);
    const char *names[] = {"reading", "grammar", "listening", "vocabulary"};
    const double correct[] = {1, 14, 0, 1}, total[] = {2, 16, 0, 1};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(web->subscores[i].name, names[i]);
        assert_true(web->subscores[i].value == correct[i]);
        assert_true(web->subscores[i].max == total[i]);
    }
    assert_non_null(strstr(web->raw_json, "\"surveyItems\""));
    assert_non_null(strstr(web->raw_json, "2019-09-10T16:29:29.9074258+00:00")); /* verbatim */

    const struct ss_result *tn = find(&b, "8e61a04f-29c4-4d9e-a103-a559362455de");
    assert_non_null(tn);
    assert_string_equal(tn->candidate_key, JENNY);
    assert_string_equal(tn->stream, "scores");
    assert_string_equal(tn->assessment_type, "TrueNorth");
    assert_string_equal(tn->assessment_name, "English Speaking");
    assert_string_equal(tn->assessment_version, "C.19.04");
    assert_string_equal(tn->status_label, "Completed");
    /* "2019-07-29T18:01:08.8605745+00:00": half a microsecond, which
     * PostgreSQL's rint(strtod()) reads as .860574 */
    assert_true(tn->started_at == 1564423268860574LL);
    assert_string_equal(fmt(tn->started_at, t), "2019-07-29T18:01:08.860574Z");
    /* "2019-07-29T18:03:58.5438205+00:00": likewise .543820 */
    assert_true(tn->completed_at == 1564423438543820LL);
    assert_string_equal(fmt(tn->completed_at, t), "2019-07-29T18:03:58.543820Z");
    assert_true(tn->duration_us == 169683246); /* "00:02:49.6832460" */
    assert_true(tn->has_score);
    assert_true(tn->score == 8.0); /* "score": 8.00 */
    assert_null(tn->placement);
    assert_string_equal(tn->cefr.label, "B2-C1");
    assert_string_equal(tn->actfl.label, "Advanced Mid - Advanced High");
    assert_string_equal(tn->toefl.label, "25-27");
    assert_string_equal(tn->ielts.label, "7 - 7.5");
    assert_string_equal(tn->toeic.label, "170-180");
    assert_string_equal(tn->skill, "speaking");
    assert_int_equal(tn->n_subscores, 0); /* "subScores": null */
    assert_null(tn->certificate_url);

    const struct ss_result *ns = find(&b, "99a17dd0-dc41-47a1-8c7e-400734800c0f");
    assert_non_null(ns);
    assert_string_equal(ns->candidate_key, JENNY);
    assert_string_equal(ns->assessment_type, "TrueNorth");
    assert_string_equal(ns->assessment_name, "Spanish Speaking");
    assert_string_equal(ns->status_label, "NotStarted");
    assert_null(ns->assessment_version);
    assert_true(ns->started_at == TS_NULL);
    assert_true(ns->completed_at == TS_NULL);
    assert_true(ns->duration_us == TS_NULL);
    /* The parser keeps the "score": 0.0 the vendor sent; normalisation
     * (norm_result) drops the score of an attempt that never started. */
    assert_true(ns->has_score);
    assert_true(ns->score == 0.0);
    assert_null(ns->placement);
    assert_null(ns->cefr.label);
    assert_null(ns->actfl.label);
    assert_null(ns->toefl.label);
    assert_null(ns->ielts.label);
    assert_null(ns->toeic.label);
    assert_null(ns->skill);
    assert_int_equal(ns->n_subscores, 0);

    /* Every result comes back the same from its stored raw JSON. */
    for (size_t i = 0; i < b.n_res; i++) {
        struct ss_result r;
        result_init(&r);
        const char *raw = b.res[i].raw_json;
        assert_int_equal(
            truenorth_vendor.reparse(&truenorth_vendor, "scores", raw, strlen(raw), &r, &err), 0);
        assert_string_equal(r.vendor_key, b.res[i].vendor_key);
        assert_true(r.started_at == b.res[i].started_at);
        assert_true(r.completed_at == b.res[i].completed_at);
        assert_true(r.duration_us == b.res[i].duration_us);
        assert_int_equal(r.n_subscores, b.res[i].n_subscores);
        result_clear(&r);
    }

    batch_free(&b);
    free(body);
}

static void test_vendor_ops(void **state)
{
    (void)state;
    const struct vendor_ops *v = vendor_find("truenorth");
    assert_ptr_equal(v, &truenorth_vendor);
    assert_string_equal(v->title, "TrueNorth Enterprise API 2020q1");
    assert_int_equal(v->auth, VA_BEARER); /* Authorization: Bearer {api-key} */
    assert_string_equal(v->config.base_url, "https://api.truenorthtest.com/2020q1");
    assert_string_equal(v->config.rate_limits, "5/1,2000/1200");
    assert_ptr_equal(v->extract, emm_family_extract);
    assert_ptr_equal(v->reparse, emm_family_reparse);

    /* 2020q1 windows on the start date; it has no completed* filters. */
    const struct emm_version *ver = v->variant;
    assert_non_null(ver);
    assert_string_equal(ver->after_key, "startedOnOrAfter");
    assert_string_equal(ver->before_key, "startedOnOrBefore");
    assert_true(ver->incomplete_filter);
    assert_false(ver->has_assignments);

    /* One stream: scores. No POST /assignments in 2020q1. */
    const struct vendor_stream *s = vendor_stream(v, "scores");
    assert_non_null(s);
    assert_ptr_equal(s, &v->streams[0]);
    assert_null(v->streams[1].name);
    assert_null(vendor_stream(v, "assignments"));
    assert_string_equal(v->config.streams[0], "scores");
    assert_null(v->config.streams[1]);
    assert_false(s->supplementary);
    /* Unfinished attempts are re-read by their start window. */
    assert_string_equal(s->recheck_column, "started_at");
    int in_progress = 0;
    for (const char *const *st = s->recheck_statuses; st && *st; st++)
        in_progress |= strcmp(*st, "in_progress") == 0;
    assert_true(in_progress);

    /* include_incomplete: a boolean, on unless configured off. */
    const struct cfg_opt_def *inc = NULL, *path = NULL;
    for (const struct cfg_opt_def *o = v->config.opts; o && o->key; o++) {
        if (strcmp(o->key, "include_incomplete") == 0)
            inc = o;
        if (strcmp(o->key, "scores_path") == 0)
            path = o;
        assert_string_not_equal(o->key, "assignments_path");
    }
    assert_non_null(inc);
    assert_int_equal(inc->type, CFG_OPT_BOOL);
    assert_non_null(inc->def);
    assert_string_equal(inc->def, "true");
    assert_non_null(path);
    assert_string_equal(path->def, "/scores/"); /* POST .../2020q1/scores/ */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scores_doc),
        cmocka_unit_test(test_vendor_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

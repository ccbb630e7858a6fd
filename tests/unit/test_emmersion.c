/* The Emmersion 2020q3 parsers against the vendor's own documented examples,
 * and against hostile input: every bad record is quarantined with its field
 * and reason while the good ones in the same response are kept. */
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

static const struct ss_result *find(const struct ss_batch *b, const char *key)
{
    for (size_t i = 0; i < b->n_res; i++)
        if (strcmp(b->res[i].vendor_key, key) == 0)
            return &b->res[i];
    return NULL;
}

static void test_doc_example(void **state)
{
    (void)state;
    size_t len;
    char *body = slurp("tests/vendors/emmersion/scores_doc.json", &len);
    struct ss_batch b;
    batch_init(&b);
    struct ss_err err = {0};
    long reports = 0;
    assert_int_equal(emmersion_parse_scores(body, len, &b, &reports, &err), 0);
    assert_int_equal(reports, 3);
    assert_int_equal(b.n_cand, 2);
    assert_int_equal(b.n_res, 3);
    assert_int_equal(b.n_quar, 0);

    assert_string_equal(b.cand[0].vendor_key, "615ba72f-f8a6-462a-b2b2-19d1952d1372");
    assert_string_equal(b.cand[0].given_name, "John");
    assert_string_equal(b.cand[0].family_name, "Smith");
    assert_string_equal(b.cand[0].email, "john-smith@example.com");
    assert_string_equal(b.cand[0].student_id, "1234567890");
    assert_string_equal(b.cand[0].unique_identifier, "5799134");
    /* The candidate's raw JSON leaves the reports out. */
    assert_null(strstr(b.cand[0].raw_json, "scoreReports"));

    const struct ss_result *web = find(&b, "99807cea-1225-41e6-a271-eb7e8a732d1b");
    assert_non_null(web);
    assert_string_equal(web->candidate_key, "615ba72f-f8a6-462a-b2b2-19d1952d1372");
    assert_string_equal(web->assessment_type, "WebCAPE");
    assert_string_equal(web->status_label, "Completed");
    assert_true(web->has_score);
    assert_true(web->score == 825.0);
    assert_string_equal(web->placement, "Semester 4");
    assert_null(web->cefr.label);
    int64_t t;
    /* .7087307 and 43.8013049 to the nearest microsecond, as PostgreSQL reads them. */
    assert_int_equal(ts_parse("2019-09-10T16:30:13.708731Z", 0, &t, &err), 0);
    assert_true(web->completed_at == t);
    assert_true(web->duration_us == 43801305);
    assert_int_equal(web->n_subscores, 4);
    assert_string_equal(web->subscores[1].name, "grammar");
    assert_true(web->subscores[1].value == 14 && web->subscores[1].max == 16);

    const struct ss_result *tn = find(&b, "8e61a04f-29c4-4d9e-a103-a559362455de");
    assert_non_null(tn);
    assert_true(tn->score == 8.0);
    assert_string_equal(tn->cefr.label, "B2-C1");
    assert_string_equal(tn->actfl.label, "Advanced Mid - Advanced High");
    assert_string_equal(tn->toefl.label, "25-27");
    assert_string_equal(tn->ielts.label, "7 - 7.5");
    assert_string_equal(tn->toeic.label, "170-180");
    assert_string_equal(tn->certificate_url,
                        "2020q3/certificate/50c76e88-11a8-486e-b283-cf0952651eef");
    assert_int_equal(tn->n_subscores, 0);

    const struct ss_result *ns = find(&b, "99a17dd0-dc41-47a1-8c7e-400734800c0f");
    assert_non_null(ns);
    assert_string_equal(ns->status_label, "NotStarted");
    assert_true(ns->started_at == TS_NULL && ns->completed_at == TS_NULL);
    /* The parser keeps what the vendor sent; norm_result drops the score. */
    assert_true(ns->has_score && ns->score == 0.0);
    assert_non_null(strstr(ns->raw_json, "\"Spanish Speaking\""));

    batch_free(&b);
    free(body);
}

static void test_bad_records_quarantined(void **state)
{
    (void)state;
    const char *body =
        "{\"userScores\": ["
        " {\"userId\": \"u1\", \"givenName\": \"Zo\\u00eb\", \"scoreReports\": ["
        "   {\"userAssessmentId\": \"good\", \"status\": \"Completed\", \"score\": 7.5,"
        "    \"completed\": \"2020-01-01T00:00:00.1234567+00:00\"},"
        "   {\"userAssessmentId\": \"strscore\", \"status\": \"Completed\", \"score\": \"eight\"},"
        "   {\"status\": \"Completed\", \"score\": 1},"
        "   {\"userAssessmentId\": \"baddate\", \"status\": \"Completed\", \"completed\": "
        "\"2020-02-30T00:00:00Z\"},"
        "   {\"userAssessmentId\": \"badsub\", \"status\": \"Completed\", \"subScores\": "
        "{\"reading\": {\"correct\": \"x\"}}},"
        "   \"not an object\","
        "   {\"userAssessmentId\": \"hostile'); DROP TABLE results; --\", \"status\": "
        "\"Completed\", \"assessmentName\": \"tab\\there\\nnewline \\\\ back\"}"
        " ]},"
        " {\"givenName\": \"no id\", \"scoreReports\": []},"
        " 42"
        "]}";
    struct ss_batch b;
    batch_init(&b);
    struct ss_err err = {0};
    long reports = 0;
    assert_int_equal(emmersion_parse_scores(body, strlen(body), &b, &reports, &err), 0);
    assert_int_equal(reports, 7);
    assert_int_equal(b.n_cand, 1);
    assert_int_equal(b.n_res, 2);
    assert_non_null(find(&b, "good"));
    const struct ss_result *h = find(&b, "hostile'); DROP TABLE results; --");
    assert_non_null(h);
    assert_string_equal(h->assessment_name, "tab\there\nnewline \\ back");
    assert_string_equal(b.cand[0].given_name, "Zo\xc3\xab");

    assert_int_equal(b.n_quar, 7);
    assert_string_equal(b.quar[0].record_key, "strscore");
    assert_string_equal(b.quar[0].field, "score");
    assert_non_null(strstr(b.quar[0].reason, "expected a number"));
    assert_non_null(strstr(b.quar[1].record_key, "u1/sha256:"));
    assert_string_equal(b.quar[1].field, "userAssessmentId");
    assert_string_equal(b.quar[2].record_key, "baddate");
    assert_string_equal(b.quar[2].field, "completed");
    assert_string_equal(b.quar[3].record_key, "badsub");
    assert_string_equal(b.quar[3].field, "subScores.reading");
    assert_non_null(strstr(b.quar[4].record_key, "u1/sha256:"));
    assert_non_null(strstr(b.quar[5].record_key, "userScores/sha256:"));
    assert_string_equal(b.quar[5].field, "userId");
    assert_non_null(strstr(b.quar[6].record_key, "userScores/sha256:"));
    /* The raw record travels with the quarantine entry. */
    assert_non_null(strstr(b.quar[0].raw, "eight"));
    batch_free(&b);
}

static void test_malformed_bodies(void **state)
{
    (void)state;
    const char *bodies[] = {
        "",
        "{\"userScores\": [ {\"userId\": \"u1\", \"scoreReports\": [", /* truncated */
        "{\"userScores\": []} trailing",                               /* junk after */
        "{\"userScores\": {}}",                                        /* wrong type */
        "{\"something\": []}",                                         /* missing */
        "[1,2,3]",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct ss_batch b;
        batch_init(&b);
        struct ss_err err = {0};
        long n;
        assert_int_equal(emmersion_parse_scores(bodies[i], strlen(bodies[i]), &b, &n, &err), -1);
        assert_true(err.msg[0] != '\0');
        batch_free(&b);
    }
    /* Deep nesting is refused rather than recursing without bound. */
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[depth * 2] = '\0';
    struct ss_batch b;
    batch_init(&b);
    struct ss_err err = {0};
    long n;
    assert_int_equal(emmersion_parse_scores(deep, depth * 2, &b, &n, &err), -1);
    batch_free(&b);
    free(deep);
}

static void test_assignments_doc(void **state)
{
    (void)state;
    size_t len;
    char *body = slurp("tests/vendors/emmersion/assignments_doc.json", &len);
    struct ss_batch b;
    batch_init(&b);
    struct ss_err err = {0};
    long n = 0;
    assert_int_equal(emmersion_parse_assignments(body, len, &b, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(b.n_res, 1);
    assert_int_equal(b.n_cand, 1);
    assert_string_equal(b.res[0].vendor_key, "f61835eb-a8e1-4fb7-b86e-d57e1b1fc4eb");
    assert_string_equal(b.res[0].status_label, "NotStarted");
    assert_string_equal(b.res[0].stream, "assignments");
    assert_string_equal(b.cand[0].family_name, "Last");
    assert_null(b.cand[0].unique_identifier);
    assert_true(b.res[0].assigned_at != TS_NULL && b.res[0].started_at == TS_NULL);
    batch_free(&b);
    free(body);
}

static void test_reparse_roundtrip(void **state)
{
    (void)state;
    extern const struct vendor_ops emmersion_vendor;
    size_t len;
    char *body = slurp("tests/vendors/emmersion/scores_doc.json", &len);
    struct ss_batch b;
    batch_init(&b);
    struct ss_err err = {0};
    long n;
    assert_int_equal(emmersion_parse_scores(body, len, &b, &n, &err), 0);
    for (size_t i = 0; i < b.n_res; i++) {
        struct ss_batch one;
        batch_init(&one);
        struct ss_result *r = batch_add_result(&one);
        assert_int_equal(emmersion_vendor.reparse(&emmersion_vendor, "scores", b.res[i].raw_json,
                                                  strlen(b.res[i].raw_json), r, &err),
                         0);
        assert_string_equal(r->vendor_key, b.res[i].vendor_key);
        assert_true(r->completed_at == b.res[i].completed_at);
        assert_int_equal(r->has_score, b.res[i].has_score);
        batch_free(&one);
    }
    batch_free(&b);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doc_example),       cmocka_unit_test(test_bad_records_quarantined),
        cmocka_unit_test(test_malformed_bodies),  cmocka_unit_test(test_assignments_doc),
        cmocka_unit_test(test_reparse_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

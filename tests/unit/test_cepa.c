/* test_cepa: the CEPA Test API v2 parsers against the seed's own examples
 * (tests/vendors/cepa/), every level label and number/string form the seed
 * shows, and their normalisation with config/scales.yaml. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeparse.h"
#include "normalize/norm.h"
#include "vendors/cepa.h"

#include "fixture_testlib.h"

static void parse_file(const char *rel, const char *cand, struct ss_batch *b, long *records)
{
    size_t len;
    char *body = slurp(rel, &len);
    struct cepa_opts o;
    cepa_opts_default(&o);
    struct ss_err err = {0};
    if (cepa_parse(&o, body, len, cand, b, records, &err) != 0)
        fail_msg("%s: %s", rel, err.msg);
    free(body);
}

static int64_t ts(const char *s)
{
    int64_t v;
    struct ss_err err = {0};
    if (ts_parse(s, 0, &v, &err) != 0)
        fail_msg("%s", err.msg);
    return v;
}

/* GetCandidates: test 123456 with its report texts and ten statements. */
static void test_get_candidates(void **state)
{
    (void)state;
    struct ss_batch b;
    batch_init(&b);
    long n = 0;
    parse_file("tests/vendors/cepa/candidates_doc.json", NULL, &b, &n);
    assert_int_equal(n, 1);
    assert_int_equal(b.n_cand, 1);
    assert_int_equal(b.n_res, 1);
    assert_int_equal(b.n_quar, 0);
    const struct ss_candidate *c = &b.cand[0];
    assert_string_equal(c->vendor_key, "test.taker@example.com");
    assert_string_equal(c->given_name, "Test");
    assert_string_equal(c->family_name, "Taker");
    assert_null(strstr(c->raw_json, "\"tests\""));
    const struct ss_result *r = &b.res[0];
    assert_string_equal(r->vendor_key, "123456");
    assert_string_equal(r->candidate_key, "test.taker@example.com");
    assert_string_equal(r->assessment_name, "Oral Proficiency Assessment");
    assert_string_equal(r->assessment_type, "Pre-Employment Assessment");
    assert_string_equal(r->status_label, "completed");
    assert_int_equal(r->has_score, 1);
    assert_true(r->score == 50.0);
    assert_null(r->score_label); /* a number, not text */
    assert_string_equal(r->cefr.label, "B2");
    assert_string_equal(r->placement, "Upper Intermediate");
    assert_string_equal(r->skill, "speaking");
    /* Dates in Turkey's time (UTC+3): 02:00 there is 23:00 UTC the day before. */
    assert_true(r->completed_at == ts("2022-02-01T23:00:00Z"));
    assert_true(r->started_at == ts("2022-02-01T21:00:00Z"));
    assert_true(r->assigned_at == ts("2022-01-31T21:00:00Z"));
    /* Report texts stay in raw for BI: rationale, description, 10 statements. */
    assert_non_null(strstr(r->raw_json, "\"rationale\":\"Test Taker can articulate"));
    assert_non_null(strstr(r->raw_json, "\"global_description\":"));
    assert_non_null(strstr(r->raw_json, "\"security_check\":true"));
    for (int i = 1; i <= 10; i++) {
        char k[16];
        snprintf(k, sizeof k, "\"%d\":{", i);
        assert_non_null(strstr(r->raw_json, k));
    }
    assert_non_null(strstr(r->raw_json, "Workplace Communication Strategies"));
    batch_free(&b);
}

/* GetOverallResultByEmail: John Lennon's two groups; scores as strings. */
static void test_overall(void **state)
{
    (void)state;
    struct ss_batch b;
    batch_init(&b);
    long n = 0;
    parse_file("tests/vendors/cepa/candidates_overall.json", NULL, &b, &n);
    assert_int_equal(n, 2);
    assert_int_equal(b.n_cand, 1);
    assert_string_equal(b.cand[0].vendor_key, "john.lennon@example.com");
    assert_string_equal(b.cand[0].given_name, "John");
    assert_string_equal(b.cand[0].family_name, "Lennon");
    assert_null(strstr(b.cand[0].raw_json, "\"groups\""));
    assert_int_equal(b.n_groups, 2);
    const struct ss_group *g = &b.groups[0];
    assert_string_equal(g->vendor_key, "1234");
    assert_string_equal(g->candidate_key, "john.lennon@example.com");
    assert_int_equal(g->has_score, 1);
    assert_true(g->score == 56.3);
    assert_string_equal(g->cefr.label, "B2+");
    assert_string_equal(g->level_name, "Advance Low");
    assert_true(g->assigned_at == ts("2022-08-23T13:06:08Z"));
    assert_true(g->completed_at == ts("2022-09-06T12:33:32Z")); /* its last member */
    assert_int_equal(g->n_members, 3);
    assert_string_equal(g->member_keys[0], "123456");
    assert_string_equal(g->member_keys[2], "123458");
    assert_string_equal(b.groups[1].vendor_key, "1235");
    assert_string_equal(b.groups[1].cefr.label, "B1+");
    assert_string_equal(b.groups[1].level_name, "Intermediate");
    /* The member tests: "71.0" is a string here. */
    assert_int_equal(b.n_res, 6);
    const struct ss_result *r = &b.res[0];
    assert_string_equal(r->vendor_key, "123456");
    assert_int_equal(r->has_score, 1);
    assert_true(r->score == 71.0);
    assert_string_equal(r->score_label, "71.0");
    assert_string_equal(r->cefr.label, "B2+");
    assert_string_equal(r->placement, "Advance Low");
    assert_string_equal(r->assessment_name, "Reading & Listening");
    assert_null(r->skill);
    assert_string_equal(r->status_label, "completed");
    assert_string_equal(b.res[1].skill, "speaking");
    assert_string_equal(b.res[2].skill, "writing");
    assert_true(b.res[5].score == 37.0);
    batch_free(&b);
}

static void test_by_email_and_token(void **state)
{
    (void)state;
    struct ss_batch b;
    batch_init(&b);
    long n = 0;
    parse_file("tests/vendors/cepa/candidates_byemail.json", NULL, &b, &n);
    assert_int_equal(b.n_cand, 1);
    assert_int_equal(b.n_res, 1);
    assert_string_equal(b.res[0].vendor_key, "123456");
    assert_string_equal(b.res[0].candidate_key, "test.taker@example.com");
    batch_reset(&b);
    /* GetTestByToken names no candidate: the caller's key is used. */
    parse_file("tests/unit/cepa_token_doc.json", "test.taker@example.com", &b, &n);
    assert_int_equal(b.n_res, 1);
    assert_string_equal(b.res[0].candidate_key, "test.taker@example.com");
    batch_reset(&b);
    parse_file("tests/unit/cepa_token_doc.json", NULL, &b, &n);
    assert_int_equal(b.n_res, 0);
    assert_int_equal(b.n_quar, 1); /* no candidate to tie it to */
    assert_string_equal(b.quar[0].record_key, "123456");
    batch_free(&b);
}

static void test_get_tests(void **state)
{
    (void)state;
    struct ss_batch b;
    batch_init(&b);
    long n = 0;
    parse_file("tests/unit/cepa_tests_doc.json", NULL, &b, &n);
    assert_int_equal(n, 3);
    assert_int_equal(b.n_assess, 3);
    assert_string_equal(b.assess[1].vendor_key, "Oral Proficiency Assessment");
    assert_string_equal(b.assess[1].name, "Oral Proficiency Assessment");
    assert_non_null(strstr(b.assess[1].raw_json, "\"id\":3"));
    batch_free(&b);
}

static void parse_text(const char *json, struct ss_batch *b)
{
    struct cepa_opts o;
    cepa_opts_default(&o);
    long n;
    struct ss_err err = {0};
    if (cepa_parse(&o, json, strlen(json), NULL, b, &n, &err) != 0)
        fail_msg("%s", err.msg);
}

/* Mixed-case e-mails, an object instead of the array, null global_cefr,
 * score forms, and a bad test quarantined alone. */
static void test_forms(void **state)
{
    (void)state;
    struct ss_batch b;
    batch_init(&b);
    parse_text("{\"method\":\"GetCandidates\",\"count\":2,\"candidates\":{"
               "\"Çağla.Işık@Example.COM\":{\"name\":\"Çağla\",\"lastname\":\"Işık\",\"tests\":["
               "{\"token\":7,\"test\":\"Writing Communication Assessment\",\"status\":\"assigned\","
               "\"test_score\":null,\"global_cefr\":\"B1\",\"test_cefr\":null,\"test_level\":\"\","
               "\"assign_date\":\"2023-01-02 10:00:00\",\"complete_date\":null},"
               "{\"token\":\"8\",\"test\":\"X\",\"status\":\"completed\",\"test_score\":\"abc\"},"
               "{\"token\":\"9\",\"test\":\"X\",\"status\":\"completed\",\"test_score\":\" 42.5\"}"
               "]}}}",
               &b);
    assert_int_equal(b.n_cand, 1);
    /* ASCII is lower-cased (the C locale); the e-mail column keeps what was sent. */
    assert_string_equal(b.cand[0].vendor_key, "Çağla.işık@example.com");
    assert_string_equal(b.cand[0].email, "Çağla.Işık@Example.COM");
    assert_int_equal(b.n_res, 2);
    assert_string_equal(b.res[0].vendor_key, "7");
    assert_int_equal(b.res[0].has_score, 0);
    assert_string_equal(b.res[0].cefr.label, "B1"); /* global_cefr when no test_cefr */
    assert_null(b.res[0].placement);
    assert_true(b.res[0].completed_at == TS_NULL);
    assert_true(b.res[1].score == 42.5);
    assert_int_equal(b.n_quar, 1);
    assert_string_equal(b.quar[0].record_key, "8");
    assert_string_equal(b.quar[0].field, "test_score");
    batch_free(&b);

    double v;
    assert_int_equal(cepa_score("71.0", &v), 0);
    assert_true(v == 71.0);
    assert_int_equal(cepa_score("49", &v), 0);
    assert_int_equal(cepa_score("", &v), -1);
    assert_int_equal(cepa_score("7l", &v), -1);
    assert_int_equal(cepa_score(NULL, &v), -1);
}

/* Every level label of the seed, through the real tables. */
static void test_levels(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/config/scales.yaml", source_dir());
    struct scales *sc = NULL;
    struct ss_err err = {0};
    if (scales_load(path, &sc, &err) != 0)
        fail_msg("%s", err.msg);
    static const struct {
        const char *cefr, *level;
        const char *score;
        int rank;
    } cases[] = {
        {"B2", "Upper Intermediate", NULL, 8},
        {"B2+", "Advance Low", "71.0", 9},
        {"B1+", "Intermediate", "35.0", 7},
        {NULL, "Advance Low", NULL, 9},
        {NULL, "Upper Intermediate", NULL, 8},
        {NULL, "Intermediate", NULL, 7},
        {NULL, NULL, "49.0", 8},
        {NULL, NULL, "56.3", 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ss_result r;
        result_init(&r);
        r.vendor_key = strdup("t");
        r.status_label = strdup("completed");
        r.cefr.label = ss_strdup(cases[i].cefr);
        r.placement = ss_strdup(cases[i].level);
        if (cases[i].score) {
            r.has_score = 1;
            assert_int_equal(cepa_score(cases[i].score, &r.score), 0);
        }
        norm_result(sc, "cepa", &r);
        if (r.cefr.low != cases[i].rank)
            fail_msg("case %zu: rank %d, want %d (%s)", i, r.cefr.low, cases[i].rank,
                     r.norm_notes ? r.norm_notes : "");
        assert_string_equal(r.status, "completed");
        result_clear(&r);
    }
    static const char *const st[][2] = {
        {"completed", "completed"}, {"assigned", "not_started"}, {"started", "in_progress"}};
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(norm_status(sc, "cepa", st[i][0]), st[i][1]);
    int lo, hi;
    assert_int_equal(norm_cefr(sc, "B2+", &lo, &hi), 0);
    assert_int_equal(lo, 9);
    scales_free(sc);
}

/* The PDF content member: base64 (standard alphabet, "\/" as PHP writes
 * "/"), decoded and checked against the size field. */
static void test_pdf_decode(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 0);
    struct ss_err err = {0};
    /* "%PDF-1.4\n" */
    const char *ok = "\"JVBERi0xLjQK\"";
    assert_int_equal(cepa_pdf_decode(ok, strlen(ok), 9, &out, &err), 0);
    assert_int_equal(out.len, 9);
    assert_memory_equal(out.data, "%PDF-1.4\n", 9);
    /* bytes ff ef ff: "/+//" in base64, "/" written "\/"; line breaks skipped */
    buf_reset(&out);
    const char *esc = "\"\\/+\\r\\n\\/\\/\"";
    assert_int_equal(cepa_pdf_decode(esc, strlen(esc), 3, &out, &err), 0);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.data, "\xff\xef\xff", 3);
    /* The size field lies: an error naming both counts, nothing kept. */
    buf_reset(&out);
    assert_int_equal(cepa_pdf_decode(ok, strlen(ok), 10, &out, &err), -1);
    assert_int_equal(err.code, SS_EINVAL);
    assert_non_null(strstr(err.msg, "9 bytes"));
    assert_non_null(strstr(err.msg, "10"));
    assert_int_equal(out.len, 0);
    assert_int_equal(cepa_pdf_decode(ok, strlen(ok), -1, &out, &err), -1);
    /* Not base64, not a string, a stray escape, a truncated string. */
    const char *bad[] = {"\"JVBER*0xLjQK\"",       "12345",         "null",
                         "\"JVBE\\u0052i0xLjQK\"", "\"JVBERi0xLjQ", "\"JVBERi0xLjQK\\\"",
                         "\"JVBERi0xLjQ\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(cepa_pdf_decode(bad[i], strlen(bad[i]), 9, &out, &err), -1);
        assert_int_equal(err.code, SS_EINVAL);
        assert_int_equal(out.len, 0);
    }
    /* Empty content, size 0. */
    assert_int_equal(cepa_pdf_decode("\"\"", 2, 0, &out, &err), 0);
    assert_int_equal(out.len, 0);
    /* The buffer's cap applies: a document larger than it is refused. */
    struct buf small;
    buf_init(&small, 4);
    assert_int_equal(cepa_pdf_decode(ok, strlen(ok), 9, &small, &err), -1);
    assert_int_equal(small.len, 0);
    buf_free(&small);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_candidates),
        cmocka_unit_test(test_overall),
        cmocka_unit_test(test_by_email_and_token),
        cmocka_unit_test(test_get_tests),
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_pdf_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

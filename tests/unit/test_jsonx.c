/* test_jsonx: exact strings and ids (issue 8), and what the Emmersion
 * family's parser makes of them: NUL and lone surrogates never merge two
 * ids, raw is the record's bytes as received, and any element jstream hands
 * over is deep enough for jx_parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "vendors/emmersion.h"
#include "vendors/jsonx.h"
#include "vendors/vendor.h"

static json_object *parse(const char *text)
{
    json_object *o = NULL;
    struct ss_err err = {0};
    if (jx_parse(text, strlen(text), &o, &err) != 0)
        fail_msg("%s", err.msg);
    return o;
}

static void test_str_keeps_full_length(void **state)
{
    (void)state;
    json_object *o = parse("{\"a\":\"Jo\\u0000hn\",\"b\":\"x\\ud800y\",\"c\":\"\\ud83c\\udf93\"}");
    struct jx_fail f = {{0}, {0}};
    char *s = NULL;
    assert_int_equal(jx_str(o, "a", 1, &s, &f), 0);
    assert_string_equal(s, "Jo\xEF\xBF\xBDhn"); /* never "Jo" */
    free(s);
    assert_int_equal(jx_str(o, "b", 1, &s, &f), 0);
    assert_string_equal(s, "x\xEF\xBF\xBDy"); /* json-c's U+FFFD for a lone surrogate */
    free(s);
    assert_int_equal(jx_str(o, "c", 1, &s, &f), 0);
    assert_string_equal(s, "\xF0\x9F\x8E\x93");
    free(s);
    json_object_put(o);
}

static void test_id_must_be_exact(void **state)
{
    (void)state;
    json_object *o = parse("{\"nul\":\"r\\u0000a\",\"lone\":\"r\\udbff\",\"bad\":\"r\xff\","
                           "\"fffd\":\"r\\ufffd\",\"ok\":\"r-\\u00e9\\ud83c\\udf93\",\"num\":5}");
    struct jx_fail f = {{0}, {0}};
    char *s = NULL;
    assert_int_equal(jx_id(o, "nul", 1, &s, &f), -1);
    assert_string_equal(f.field, "nul");
    assert_non_null(strstr(f.reason, "U+0000"));
    assert_int_equal(jx_id(o, "lone", 1, &s, &f), -1);
    assert_non_null(strstr(f.reason, "U+FFFD"));
    assert_int_equal(jx_id(o, "bad", 1, &s, &f), -1);
    assert_non_null(strstr(f.reason, "not valid UTF-8"));
    assert_int_equal(jx_id(o, "fffd", 1, &s, &f), -1);
    assert_int_equal(jx_id(o, "num", 1, &s, &f), -1);
    assert_non_null(strstr(f.reason, "expected a string"));
    assert_int_equal(jx_id(o, "missing", 1, &s, &f), -1);
    assert_int_equal(jx_id(o, "missing", 0, &s, &f), 0);
    assert_null(s);
    assert_int_equal(jx_id(o, "ok", 1, &s, &f), 0);
    assert_string_equal(s, "r-\xC3\xA9\xF0\x9F\x8E\x93");
    free(s);
    json_object_put(o);
}

/* jstream hands over elements up to 64 deep; jx_parse takes them all. */
static void test_depth_agrees_with_jstream(void **state)
{
    (void)state;
    char text[400];
    for (int depth = 64; depth <= 129; depth += 65) {
        size_t n = 0;
        for (int i = 0; i < depth; i++)
            text[n++] = '[';
        for (int i = 0; i < depth; i++)
            text[n++] = ']';
        json_object *o = NULL;
        struct ss_err err = {0};
        int rc = jx_parse(text, n, &o, &err);
        assert_int_equal(rc, depth == 64 ? 0 : -1);
        json_object_put(o);
    }
}

static const char body[] = "{\"userScores\":[{\"userId\":\"u1\",\"scoreReports\":["
                           "{\"userAssessmentId\":\"ok1\",\"status\":\"Completed\",\"score\":7.50,"
                           "\"big\":18446744073709551616, \"s\":\"\\u00e9\"},"
                           "{\"userAssessmentId\":\"r\\u0000a\",\"status\":\"Completed\"},"
                           "{\"userAssessmentId\":\"r\\u0000b\",\"status\":\"Completed\"},"
                           "{\"userAssessmentId\":\"s\\ud800\",\"status\":\"Completed\"},"
                           "{\"userAssessmentId\":\"s\\udbff\",\"status\":\"Completed\"}]},"
                           "{\"userId\":\"v\\u0000a\",\"scoreReports\":[]},"
                           "{\"userId\":\"v\\u0000b\",\"scoreReports\":[]}]}";

static void test_parser_raw_and_ids(void **state)
{
    (void)state;
    struct ss_batch b;
    batch_init(&b);
    long reports = 0;
    struct ss_err err = {0};
    assert_int_equal(emmersion_parse_scores(body, sizeof body - 1, &b, &reports, &err), 0);
    assert_int_equal(b.n_res, 1);
    /* raw: the report's bytes as received (digits, spacing, escapes). */
    assert_string_equal(b.res[0].raw_json,
                        "{\"userAssessmentId\":\"ok1\",\"status\":\"Completed\",\"score\":7.50,"
                        "\"big\":18446744073709551616, \"s\":\"\\u00e9\"}");
    /* Four bad report ids and two bad user ids: six rows, six keys. */
    assert_int_equal(b.n_quar, 6);
    for (size_t i = 0; i < b.n_quar; i++) {
        assert_non_null(b.quar[i].reason);
        assert_non_null(b.quar[i].field);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(b.quar[i].record_key, b.quar[k].record_key);
    }
    assert_non_null(strstr(b.quar[0].reason, "U+0000"));
    assert_string_equal(b.quar[0].field, "userAssessmentId");
    assert_non_null(strstr(b.quar[0].raw, "r\\u0000a")); /* raw as received */
    assert_non_null(strstr(b.quar[2].reason, "U+FFFD"));
    /* reparse of the stored raw gives the same raw back. */
    struct ss_result r;
    result_init(&r);
    const struct vendor_ops *v = vendor_find("emmersion");
    assert_non_null(v);
    assert_int_equal(
        v->reparse(v, "scores", b.res[0].raw_json, strlen(b.res[0].raw_json), &r, &err), 0);
    assert_string_equal(r.raw_json, b.res[0].raw_json);
    result_clear(&r);
    batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_keeps_full_length),
        cmocka_unit_test(test_id_must_be_exact),
        cmocka_unit_test(test_depth_agrees_with_jstream),
        cmocka_unit_test(test_parser_raw_and_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* DynEd eTest (seeds/001, our contract docs/vendors/etest.md): the contract
 * fixtures parse as the contract says (candidates with uic, hide flag and the
 * PT stored on them; CT results with correct / incorrect / answered totals;
 * bad records quarantined alone), both Pre A1 spellings and plus levels
 * normalise, CT pass/fail follows the pass mark in force on the test date,
 * remapped field names from the config are read and survive reparse, and the
 * auth options build the credential the config asks for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/timeparse.h"
#include "normalize/norm.h"
#include "vendors/etest.h"
#include "vendors/vendor.h"

#include "fixture_testlib.h"

extern const struct vendor_ops etest_vendor;

static struct ss_result *find(struct ss_batch *b, const char *key)
{
    for (size_t i = 0; i < b->n_res; i++)
        if (strcmp(b->res[i].vendor_key, key) == 0)
            return &b->res[i];
    return NULL;
}

static const struct ss_candidate *find_cand(const struct ss_batch *b, const char *key)
{
    for (size_t i = 0; i < b->n_cand; i++)
        if (strcmp(b->cand[i].vendor_key, key) == 0)
            return &b->cand[i];
    return NULL;
}

static struct scales *load_scales(void)
{
    char path[1024];
    struct scales *s = NULL;
    struct ss_err err = {0};
    snprintf(path, sizeof path, "%s/config/scales.yaml", SS_SOURCE_DIR);
    if (scales_load(path, &s, &err) != 0)
        fail_msg("%s", err.msg);
    return s;
}

static void test_candidates(void **state)
{
    (void)state;
    size_t len;
    char *body = slurp("tests/vendors/etest/candidates_contract.json", &len);
    struct ss_batch b;
    batch_init(&b);
    struct ss_err err = {0};
    long records = 0;
    assert_int_equal(
        etest_vendor.parse_body(&etest_vendor, "candidates", body, len, &b, &records, &err), 0);
    assert_int_equal(records, 6);
    assert_int_equal(b.n_cand, 5); /* the one without an id is quarantined */
    assert_int_equal(b.n_res, 3);  /* 1003 has no PT; 1005's PT date is bad */
    assert_int_equal(b.n_quar, 2);
    /* ids as numbers or text give the same key */
    const struct ss_candidate *c1 = find_cand(&b, "1001"), *c2 = find_cand(&b, "1002");
    assert_non_null(c1);
    assert_non_null(c2);
    assert_string_equal(c1->email, "ayu.santoso@example.org");
    assert_string_equal(c1->given_name, "Ayu");
    assert_string_equal(c1->family_name, "Santoso");
    /* uic and the hide flag are kept in the candidate's raw record */
    assert_non_null(strstr(c1->raw_json, "\"uic\":\"U111\""));
    assert_non_null(strstr(c2->raw_json, "\"hide\":\"1\""));
    assert_non_null(find_cand(&b, "1003"));
    assert_non_null(find_cand(&b, "1005")); /* its candidate row still loads */

    struct ss_result *r = find(&b, "pt/PT7F3A2B1");
    assert_non_null(r);
    assert_string_equal(r->candidate_key, "1001");
    assert_string_equal(r->stream, "candidates");
    assert_string_equal(r->assessment_type, "PT");
    assert_string_equal(r->cefr.label, "Pre-A1");
    assert_string_equal(r->status_label, "complete");
    char t[40];
    ts_format(r->completed_at, t, sizeof t);
    assert_string_equal(t, "2021-05-05T09:30:00.000000Z");
    assert_null(find(&b, "pt/PT5E6F7A8"));
    int quar_pt = 0;
    for (size_t i = 0; i < b.n_quar; i++)
        if (strcmp(b.quar[i].record_key, "pt/candidate/1005") == 0) {
            quar_pt = 1;
            assert_string_equal(b.quar[i].field, "pt_date");
        }
    assert_true(quar_pt);

    /* both Pre A1 spellings (v1.5.5) and a plus level normalise */
    struct scales *s = load_scales();
    struct ss_result *pre_old = r, *pre_new = find(&b, "pt/PT1B2C3D4"),
                     *plus = find(&b, "pt/PT9C0D4E2");
    assert_non_null(pre_new);
    assert_non_null(plus);
    norm_result(s, "etest", pre_old);
    norm_result(s, "etest", pre_new);
    norm_result(s, "etest", plus);
    assert_string_equal(pre_old->status, "completed");
    assert_int_equal(pre_old->cefr.low, 1);
    assert_int_equal(pre_new->cefr.low, 1);
    assert_int_equal(pre_new->cefr.high, 1);
    assert_int_equal(plus->cefr.low, 7); /* B1+ */
    assert_int_equal(plus->passed, -1);  /* no pass mark for a PT */
    scales_free(s);
    batch_free(&b);
    free(body);
}

static void test_ct(void **state)
{
    (void)state;
    size_t len;
    char *body = slurp("tests/vendors/etest/ct_contract.json", &len);
    struct ss_batch b;
    batch_init(&b);
    struct ss_err err = {0};
    long records = 0;
    assert_int_equal(etest_parse("ct", NULL, body, len, &b, &records, &err), 0);
    assert_int_equal(records, 5);
    assert_int_equal(b.n_res, 4);
    assert_int_equal(b.n_quar, 1);
    assert_string_equal(b.quar[0].record_key, "ct/CT00BAD04");
    assert_string_equal(b.quar[0].field, "score");

    struct ss_result *r = find(&b, "ct/CT00A1B20");
    assert_non_null(r);
    assert_string_equal(r->candidate_key, "1001");
    assert_string_equal(r->assessment_type, "CT");
    assert_string_equal(r->assessment_name, "Certification Test A2");
    assert_true(r->has_score);
    assert_float_equal(r->score, 75, 1e-9);
    assert_int_equal(r->n_subscores, 3);
    static const char *const names[] = {"correct", "incorrect", "answered"};
    static const double values[] = {30, 10, 40};
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(r->subscores[i].name, names[i]);
        assert_float_equal(r->subscores[i].value, values[i], 1e-9);
    }
    assert_float_equal(r->subscores[0].max, 40, 1e-9);
    assert_true(isnan(r->subscores[2].max));

    /* pass/fail from the mark in force on the test date, not the vendor's word */
    struct scales *s = load_scales();
    static const struct {
        const char *key;
        int passed;
        const char *rule;
    } want[] = {
        {"ct/CT00A1B20", 0, ">= 80"},                /* 2021, 75 */
        {"ct/CT00C3D41", 1, ">= 70"},                /* 2023, "75" */
        {"ct/CT00E5F62", 0, ">= 70"},                /* Pre A1, 2022-03, 65 */
        {"ct/CT00A7B83", 1, "at CEFR Pre A1 >= 60"}, /* Pre A1, 2022-09, 65 */
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct ss_result *x = find(&b, want[i].key);
        assert_non_null(x);
        norm_result(s, "etest", x);
        assert_string_equal(x->status, "completed");
        assert_int_equal(x->passed, want[i].passed);
        assert_non_null(strstr(x->pass_rule, want[i].rule));
        assert_float_equal(x->score_pct, x->score, 1e-9);
    }
    scales_free(s);
    batch_free(&b);
    free(body);
}

static const struct cfg_vendor_schema *const schemas[] = {&etest_vendor.config, NULL};

static struct config *load_cfg(const char *extra)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "vendors:\n"
             "  etest:\n"
             "    base_url: http://127.0.0.1:1/etest\n"
             "    accounts:\n"
             "      - name: demo\n"
             "        api_key: ${ETEST_TEST_KEY}\n"
             "%s",
             extra);
    setenv("ETEST_TEST_KEY", "sandbox-demo", 1);
    struct config *cfg = NULL;
    struct ss_err err = {0};
    if (cfg_load_string_with(yaml, "t.yaml", schemas, 0, &cfg, &err) != 0)
        fail_msg("%s", err.msg);
    return cfg;
}

/* Field names and the list's member renamed in the config (no rebuild). */
static void test_remapped_fields(void **state)
{
    (void)state;
    struct config *cfg = load_cfg("        records_member: items\n"
                                  "        field_email: mail\n"
                                  "        field_ct_score: percent\n"
                                  "        field_ct_candidate_id: student\n");
    const struct cfg_account *a = cfg_account(cfg_vendor(cfg, "etest"), "demo");
    assert_non_null(a);
    const char *body = "{\"items\":[{\"token\":\"T1\",\"student\":7,\"mail\":\"x@y.org\","
                       "\"level\":\"B1\",\"percent\":\"81\",\"status\":\"pass\","
                       "\"test_date\":\"2023-01-02 03:04:05\"}]}";
    struct ss_batch b;
    batch_init(&b);
    struct ss_err err = {0};
    long records = 0;
    assert_int_equal(etest_parse("ct", a, body, strlen(body), &b, &records, &err), 0);
    assert_int_equal(b.n_res, 1);
    assert_int_equal(b.n_quar, 0);
    assert_string_equal(b.cand[0].vendor_key, "7");
    assert_string_equal(b.cand[0].email, "x@y.org");
    struct ss_result *r = &b.res[0];
    assert_float_equal(r->score, 81, 1e-9);
    /* the raw record says which names it was read with, so renormalize
     * (no config) reads it the same way */
    assert_non_null(strstr(r->raw_json, "\"$fields\""));
    struct ss_result back;
    result_init(&back);
    assert_int_equal(
        etest_vendor.reparse(&etest_vendor, "ct", r->raw_json, strlen(r->raw_json), &back, &err),
        0);
    assert_string_equal(back.vendor_key, "ct/T1");
    assert_float_equal(back.score, 81, 1e-9);
    assert_string_equal(back.cefr.label, "B1");
    result_clear(&back);
    batch_free(&b);

    /* with the default names the same body has no list: an empty page */
    batch_init(&b);
    assert_int_equal(etest_parse("ct", NULL, body, strlen(body), &b, &records, &err), 0);
    assert_int_equal(records, 0);
    batch_free(&b);
    cfg_free(cfg);
}

static void test_auth(void **state)
{
    (void)state;
    struct http_auth au;
    struct ss_err err = {0};
    struct config *cfg = load_cfg("");
    const struct cfg_account *a = cfg_account(cfg_vendor(cfg, "etest"), "demo");
    assert_int_equal(vendor_auth(&etest_vendor, a, &au, &err), 0);
    assert_int_equal(au.place, HTTP_AUTH_HEADER);
    assert_string_equal(au.name, "Authorization");
    assert_string_equal(au.prefix, "Bearer ");
    assert_string_equal(au.value, "sandbox-demo");
    cfg_free(cfg);

    cfg = load_cfg("        auth_header: X-Api-Key\n        auth_scheme: key\n");
    a = cfg_account(cfg_vendor(cfg, "etest"), "demo");
    assert_int_equal(vendor_auth(&etest_vendor, a, &au, &err), 0);
    assert_string_equal(au.name, "X-Api-Key");
    assert_null(au.prefix);
    cfg_free(cfg);

    cfg = load_cfg("        auth_in: query\n        auth_param: key\n");
    a = cfg_account(cfg_vendor(cfg, "etest"), "demo");
    assert_int_equal(vendor_auth(&etest_vendor, a, &au, &err), 0);
    assert_int_equal(au.place, HTTP_AUTH_QUERY);
    assert_string_equal(au.name, "key");
    cfg_free(cfg);
}

static void test_paging(void **state)
{
    (void)state;
    assert_int_equal(etest_page_number(0, 100, 1), 1);
    assert_int_equal(etest_page_number(200, 100, 1), 3);
    assert_int_equal(etest_page_number(200, 100, 0), 2);
    /* a body that is not JSON is unusable as a whole; one bad record is not */
    struct ss_batch b;
    batch_init(&b);
    struct ss_err err = {0};
    long records = 0;
    assert_int_equal(etest_parse("candidates", NULL, "{\"data\":[", 9, &b, &records, &err), -1);
    batch_free(&b);
    batch_init(&b);
    const char *one = "{\"data\":[{\"id\":{\"x\":1}},{\"id\":2}]}";
    assert_int_equal(etest_parse("candidates", NULL, one, strlen(one), &b, &records, &err), 0);
    assert_int_equal(records, 2);
    assert_int_equal(b.n_cand, 1);
    assert_int_equal(b.n_quar, 1);
    assert_int_equal(b.n_res, 0);
    batch_free(&b);
    assert_int_equal(etest_parse("nosuch", NULL, one, strlen(one), &b, &records, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_candidates),      cmocka_unit_test(test_ct),
        cmocka_unit_test(test_remapped_fields), cmocka_unit_test(test_auth),
        cmocka_unit_test(test_paging),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

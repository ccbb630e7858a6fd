/* Testello API v1 (seeds/004): the seed's sample signed_request decodes as
 * documented; signing matches values computed independently with
 *   printf %s "$payload_b64" | openssl dgst -sha256 -hmac s3cr3t
 * (then base64 of the hex digest) in every reading the options allow; the
 * seed's session 9236 parses and normalises as documented (78.0 a
 * percentage with a pass flag from the test's pass_percentage, ESTJ a
 * category, 3189 not done); the follow-set cursor round-trips; errors
 * bodies fail with the vendor's messages; and the sandbox part verifies
 * both readings of the signature and refuses bad ones with errors. */
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
#include "http/sign.h"
#include "normalize/norm.h"
#include "sandbox/sb_vendor.h"
#include "vendors/testello.h"

#include "fixture_testlib.h"

extern const struct sb_vendor sb_testello_vendor;

/* A config with one testello account; extra lines go under the account. */
static struct config *load_cfg(const char *extra)
{
    static const struct cfg_vendor_schema *const schemas[] = {&testello_vendor.config, NULL};
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "vendors:\n"
             "  testello:\n"
             "    accounts:\n"
             "      - name: acme\n"
             "        secret: ${TL_TEST_SECRET}\n"
             "        company_id: \"1\"\n"
             "%s",
             extra ? extra : "");
    setenv("TL_TEST_SECRET", "s3cr3t", 1);
    struct config *cfg = NULL;
    struct ss_err err = {0};
    if (cfg_load_string_with(yaml, "test.yaml", schemas, 0, &cfg, &err) != 0)
        fail_msg("config: %s", err.msg);
    return cfg;
}

static const struct cfg_account *acct_of(const struct config *cfg)
{
    return &cfg->vendors[0].accounts[0];
}

/* ---- signing ------------------------------------------------------------------ */

static void test_seed_sample(void **state)
{
    (void)state;
    const char *sample = "YjFmYTk2YzgzZWQwODE3YmU5ZTZiY2M3MWJjYTNjMjI3YzczMDMyYTk0N2M5NDc3NDQ5ZGQ"
                         "3MzRkMjEzMWZjNw==.eyJjb21wYW55X2lkIjoxfQ==";
    struct buf sig, payload;
    buf_init(&sig, 0);
    buf_init(&payload, 0);
    struct ss_err err = {0};
    assert_int_equal(testello_decode(sample, &sig, &payload, &err), 0);
    /* The signature part is the base64 of a 64-character lowercase hex digest. */
    assert_int_equal(sig.len, 64);
    for (size_t i = 0; i < sig.len; i++)
        assert_non_null(strchr("0123456789abcdef", sig.data[i]));
    assert_memory_equal(sig.data,
                        "b1fa96c83ed0817be9e6bcc71bca3c227c73032a947c9477449dd734d2131fc7", 64);
    assert_int_equal(payload.len, strlen("{\"company_id\":1}"));
    assert_memory_equal(payload.data, "{\"company_id\":1}", payload.len);
    /* Our payload for company 1 is the sample's, byte for byte, in base64 too. */
    struct config *cfg = load_cfg(NULL);
    struct buf p, sr;
    buf_init(&p, 0);
    buf_init(&sr, 0);
    assert_int_equal(testello_payload(acct_of(cfg), NULL, &p, &err), 0);
    assert_string_equal(p.data, "{\"company_id\":1}");
    struct testello_signing sg;
    assert_int_equal(testello_signing_of(acct_of(cfg), &sg, &err), 0);
    assert_int_equal(testello_sign("s3cr3t", &sg, p.data, &sr, &err), 0);
    assert_non_null(strstr(sr.data, ".eyJjb21wYW55X2lkIjoxfQ=="));
    assert_int_equal(strlen(sr.data), strlen(sample)); /* same shape: hex digest, padded */
    assert_int_equal(testello_decode("no-dot", &sig, &payload, &err), -1);
    buf_free(&sig);
    buf_free(&payload);
    buf_free(&p);
    buf_free(&sr);
    cfg_free(cfg);
}

struct sign_case {
    const char *options; /* account lines */
    const char *payload;
    const char *want;
};

static void test_signing_independent(void **state)
{
    (void)state;
    static const struct sign_case cases[] = {
        /* defaults: HMAC over the base64url payload, hex digest, padded */
        {"", "{\"company_id\":1}",
         "M2Y2MDFiYWZkMmY3NjJmOWNhZmFlODc4MjNlZDgzN2YwMTRkNGRmZDQxNjQ3ODc4MDIwMjc1ODBkNzE1YmE5N"
         "Q==.eyJjb21wYW55X2lkIjoxfQ=="},
        {"", "{\"company_id\":1,\"id\":9236}",
         "MzhlM2MwMmFhZGJkNDMxZjg0NzI0NTEyYmZlODZkNjc1MmJkMWI3OWE1NTc0MWRlNmI0YmI5YzMzZTdiODU5Y"
         "w==.eyJjb21wYW55X2lkIjoxLCJpZCI6OTIzNn0="},
        {"", "{\"company_id\":\"ac>?~\"}",
         "MGRhZDYwYWZjMDRhZGRiMTgzMDAwNjYyZmIwY2JmMGIzNDNiMWU2ODI5YzU3YzRjOGY4M2E2ZjNiZTA5ODI4N"
         "g==.eyJjb21wYW55X2lkIjoiYWM-P34ifQ=="},
        /* the other reading: over the JSON text, standard alphabet */
        {"        sign_over: payload_json\n        base64_alphabet: std\n",
         "{\"company_id\":\"ac>?~\"}",
         "MDg3NzUxZDc0OTkxYzRjNGQ4ZDUxNjQ3ODg2MjAzZTYzYWE4ZDA0NjEyZjJkOWUwNDFkYjE4OGRmMzkxNzdiM"
         "g==.eyJjb21wYW55X2lkIjoiYWM+P34ifQ=="},
        {"        sign_over: payload_json\n        base64_alphabet: std\n", "{\"company_id\":1}",
         "NjE5NWM5ZDcyMWExMmZlYzU5NmYwYzk0MmU3MjA1NTE0OTU5OWE2ZGJjZjUxZjZhNjg5N2E2OTA0YzJjY2E2N"
         "w==.eyJjb21wYW55X2lkIjoxfQ=="},
        /* raw MAC bytes, no padding */
        {"        signature_digest: raw\n        base64_padding: false\n", "{\"company_id\":1}",
         "VsNb84LZllaCCGsTLzyj3AOo1-J49mj7JszfaffrTG8.eyJjb21wYW55X2lkIjoxfQ"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config *cfg = load_cfg(cases[i].options);
        struct testello_signing sg;
        struct ss_err err = {0};
        struct buf out;
        buf_init(&out, 0);
        assert_int_equal(testello_signing_of(acct_of(cfg), &sg, &err), 0);
        assert_int_equal(testello_sign("s3cr3t", &sg, cases[i].payload, &out, &err), 0);
        assert_string_equal(out.data, cases[i].want);
        buf_free(&out);
        cfg_free(cfg);
    }
}

static void test_payload_and_auth(void **state)
{
    (void)state;
    struct config *cfg = load_cfg(NULL);
    struct ss_err err = {0};
    struct buf p;
    buf_init(&p, 0);
    assert_int_equal(testello_payload(acct_of(cfg), "9236", &p, &err), 0);
    assert_string_equal(p.data, "{\"company_id\":1,\"id\":9236}");
    cfg_free(cfg);

    /* The HTTP layer puts it in the query (every call is a GET), per attempt. */
    cfg = load_cfg(NULL);
    struct http_auth auth;
    assert_int_equal(vendor_auth(&testello_vendor, acct_of(cfg), &auth, &err), 0);
    assert_int_equal(auth.place, HTTP_AUTH_QUERY);
    assert_string_equal(auth.name, "signed_request");
    assert_non_null(auth.sign);
    buf_reset(&p);
    assert_int_equal(auth.sign(auth.sign_arg, 0, &p, &err), 0);
    assert_string_equal(p.data, "M2Y2MDFiYWZkMmY3NjJmOWNhZmFlODc4MjNlZDgzN2YwMTRkNGRmZDQxNjQ3OD"
                                "c4MDIwMjc1ODBkNzE1YmE5NQ==.eyJjb21wYW55X2lkIjoxfQ==");
    cfg_free(cfg);

    /* Without company_id the account cannot sign: a configuration error. */
    static const struct cfg_vendor_schema *const schemas[] = {&testello_vendor.config, NULL};
    struct config *c2 = NULL;
    assert_int_equal(cfg_load_string_with("vendors:\n  testello:\n    accounts:\n"
                                          "      - name: x\n        secret: ${TL_TEST_SECRET}\n",
                                          "t.yaml", schemas, 0, &c2, &err),
                     0);
    assert_int_equal(vendor_auth(&testello_vendor, acct_of(c2), &auth, &err), -1);
    assert_int_equal(err.code, SS_ECONFIG);
    assert_non_null(strstr(err.msg, "company_id"));
    assert_null(strstr(err.msg, "s3cr3t"));
    cfg_free(c2);
    buf_free(&p);
}

/* ---- parsing and normalisation ------------------------------------------------- */

static const struct ss_result *find(const struct ss_batch *b, const char *key)
{
    for (size_t i = 0; i < b->n_res; i++)
        if (strcmp(b->res[i].vendor_key, key) == 0)
            return &b->res[i];
    return NULL;
}

static struct scales *load_scales(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/config/scales.yaml", SS_SOURCE_DIR);
    struct scales *s = NULL;
    struct ss_err err = {0};
    if (scales_load(path, &s, &err) != 0)
        fail_msg("scales: %s", err.msg);
    return s;
}

static void test_session_doc(void **state)
{
    (void)state;
    size_t len;
    char *body = slurp("tests/vendors/testello/sessions_show_doc.json", &len);
    struct ss_batch b;
    batch_init(&b);
    struct ss_err err = {0};
    long records = 0;
    assert_int_equal(
        testello_vendor.parse_body(&testello_vendor, "sessions", body, len, &b, &records, &err), 0);
    assert_int_equal(records, 3);
    assert_int_equal(b.n_quar, 0);
    /* No person: the session is the candidate. */
    assert_int_equal(b.n_cand, 1);
    assert_string_equal(b.cand[0].vendor_key, "session:9236");
    assert_null(b.cand[0].email);
    assert_null(strstr(b.cand[0].raw_json, "taken_tests"));
    assert_non_null(strstr(b.cand[0].raw_json, "\"test_bundle_id\":108"));
    assert_int_equal(b.n_res, 3);
    const struct ss_result *r78 = find(&b, "3187"), *estj = find(&b, "3188"),
                           *open = find(&b, "3189");
    assert_non_null(r78);
    assert_non_null(estj);
    assert_non_null(open);
    char when[40];
    ts_format(r78->expires_at, when, sizeof when);
    assert_string_equal(when, "2015-06-30T12:23:29.000000Z");
    assert_string_equal(r78->candidate_key, "session:9236");
    assert_string_equal(r78->stream, "sessions");
    assert_string_equal(r78->assessment_type, "21");
    assert_string_equal(r78->status_label, "true");
    assert_int_equal(r78->has_score, 1);
    assert_true(r78->score == 78.0);
    assert_null(r78->score_label);
    assert_string_equal(estj->status_label, "true");
    assert_int_equal(estj->has_score, 0);
    assert_string_equal(estj->score_label, "ESTJ");
    assert_string_equal(open->status_label, "false");
    assert_int_equal(open->has_score, 0);
    assert_null(open->score_label);
    assert_int_equal(r78->completed_at, TS_NULL); /* the API gives no dates */

    struct scales *sc = load_scales();
    for (size_t i = 0; i < b.n_res; i++)
        norm_result(sc, "testello", &b.res[i]);
    assert_string_equal(r78->status, "completed");
    assert_string_equal(r78->score_scale, "testello");
    assert_true(fabs(r78->score_pct - 78.0) < 1e-9);
    assert_int_equal(r78->passed, -1); /* no catalogue in this body: no pass mark known */
    assert_string_equal(estj->status, "completed");
    assert_null(estj->score_scale);
    assert_true(isnan(estj->score_pct));
    assert_string_equal(estj->score_label, "ESTJ");
    assert_string_equal(open->status, "in_progress");
    assert_null(r78->norm_notes);
    assert_null(estj->norm_notes);
    assert_null(open->norm_notes);
    scales_free(sc);
    batch_free(&b);
    free(body);
}

/* The stored record of a taken test with its catalogue entry: the pass
 * flag comes from the test's own pass_percentage, and renormalize gets it
 * back from the raw JSON alone. */
static void test_pass_percentage(void **state)
{
    (void)state;
    struct scales *sc = load_scales();
    static const struct {
        const char *raw;
        const char *status;
        int passed;
    } cases[] = {
        {"{\"session_id\":9236,\"test\":{\"id\":21,\"name\":{\"en\":\"English\",\"ar\":\"x\"},"
         "\"pass_percentage\":49},\"taken_test\":{\"id\":1,\"score\":\"78.0\",\"done\":true,"
         "\"test_id\":21}}",
         "completed", 1},
        {"{\"session_id\":9236,\"test\":{\"id\":21,\"pass_percentage\":49},"
         "\"taken_test\":{\"id\":2,\"score\":\"45.5\",\"done\":true,\"test_id\":21}}",
         "completed", 0},
        /* an empty pass percentage: no pass mark, never a guess */
        {"{\"session_id\":9236,\"test\":{\"id\":14,\"pass_percentage\":\"\"},"
         "\"taken_test\":{\"id\":3,\"score\":\"99.0\",\"done\":true,\"test_id\":14}}",
         "completed", -1},
        {"{\"session_id\":9236,\"test\":{\"id\":14,\"pass_percentage\":null},"
         "\"taken_test\":{\"id\":4,\"score\":\"99.0\",\"done\":true,\"test_id\":14}}",
         "completed", -1},
        /* a personality type has no pass flag, even where the test has a mark */
        {"{\"session_id\":9236,\"test\":{\"id\":16,\"pass_percentage\":50},"
         "\"taken_test\":{\"id\":5,\"score\":\"ESTJ\",\"done\":true,\"test_id\":16}}",
         "completed", -1},
        /* a session that expired before the test was done */
        {"{\"session_id\":9236,\"session_expired\":true,\"test\":{\"id\":21,"
         "\"pass_percentage\":49},\"taken_test\":{\"id\":6,\"score\":\"\",\"done\":false,"
         "\"test_id\":21}}",
         "expired", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ss_result r;
        result_init(&r);
        struct ss_err err = {0};
        if (testello_vendor.reparse(&testello_vendor, "sessions", cases[i].raw,
                                    strlen(cases[i].raw), &r, &err) != 0)
            fail_msg("case %zu: %s", i, err.msg);
        norm_result(sc, "testello", &r);
        assert_string_equal(r.status, cases[i].status);
        assert_int_equal(r.passed, cases[i].passed);
        if (cases[i].passed >= 0)
            assert_non_null(strstr(r.pass_rule, "pass_percentage"));
        else
            assert_null(r.pass_rule);
        if (i == 0)
            assert_string_equal(r.assessment_name, "English");
        result_clear(&r);
    }
    scales_free(sc);
}

static const char tests_doc[] =
    "{\"data\": [{\"id\": 24, \"name\": {\"en\": \"Numerical Reasoning Test\", \"ar\": "
    "\"\xd8\xa7\xd9\x84\xd8\xa7\xd8\xae\xd8\xaa\xd8\xa8\xd8\xa7\xd8\xb1\"}, \"duration\": 45, "
    "\"pass_percentage\": 49, \"languages\": [\"en\"]}, {\"id\": 16, \"name\": {\"en\": "
    "\"Personality Assessment\", \"ar\": \"x\"}, \"duration\": 30, \"pass_percentage\": \"\", "
    "\"languages\": [\"en\", \"ar\"]}, {\"name\": {\"en\": \"no id\"}}]}";

static void test_catalogue(void **state)
{
    (void)state;
    struct ss_batch b;
    batch_init(&b);
    struct ss_err err = {0};
    long n = 0;
    assert_int_equal(testello_parse_tests(tests_doc, strlen(tests_doc), &b, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(b.n_assess, 2);
    assert_int_equal(b.n_quar, 1); /* the test without an id */
    assert_string_equal(b.assess[0].vendor_key, "Numerical Reasoning Test");
    assert_string_equal(b.assess[0].name, "Numerical Reasoning Test");
    assert_string_equal(b.assess[0].assessment_type, "24");
    /* Arabic name, duration and pass percentage stay in raw_json. */
    assert_non_null(strstr(b.assess[0].raw_json, "\"duration\":45"));
    assert_non_null(strstr(b.assess[0].raw_json, "\"pass_percentage\":49"));
    assert_non_null(strstr(b.assess[0].raw_json, "\"ar\":"));
    assert_string_equal(b.assess[1].name, "Personality Assessment");
    batch_free(&b);
}

static void test_errors_body(void **state)
{
    (void)state;
    static const char body[] = "{\"errors\": [\"Invalid signature\", \"try again\"]}";
    struct ss_batch b;
    batch_init(&b);
    struct ss_err err = {0};
    long n = 0;
    assert_int_equal(
        testello_vendor.parse_body(&testello_vendor, "sessions", body, strlen(body), &b, &n, &err),
        -1);
    assert_non_null(strstr(err.msg, "Invalid signature; try again"));
    assert_int_equal(b.n_res, 0);
    batch_free(&b);
}

/* ---- cursor ------------------------------------------------------------------- */

static void test_cursor(void **state)
{
    (void)state;
    struct tl_follows fs;
    struct ss_err err = {0};
    assert_int_equal(tl_follows_parse(NULL, &fs, &err), 0);
    assert_int_equal(fs.n, 0);
    const char *text = "{\"follow\":[{\"session\":\"9236\",\"expires_at\":\"2015-06-30T12:23:29."
                       "000Z\",\"not_done\":[[\"3189\",\"14\"],[\"3190\",\"\"]]}]}";
    assert_int_equal(tl_follows_parse(text, &fs, &err), 0);
    assert_int_equal(fs.n, 1);
    assert_string_equal(fs.f[0].id, "9236");
    assert_int_equal(fs.f[0].n, 2);
    assert_string_equal(fs.f[0].p[0].id, "3189");
    assert_string_equal(fs.f[0].p[0].test_id, "14");
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(tl_follows_format(&fs, &out, &err), 0);
    assert_string_equal(out.data, text);
    tl_follows_free(&fs);
    assert_int_equal(tl_follows_parse("2020-01-01T00:00:00Z", &fs, &err), -1);
    assert_int_equal(tl_follows_parse("{\"follow\":[{\"session\":1}]}", &fs, &err), -1);
    buf_free(&out);
}

/* ---- the sandbox part, called directly ------------------------------------------- */

struct kv {
    const char *name, *value;
};

static const char *kv_get(void *ctx, const char *name)
{
    for (const struct kv *p = ctx; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p->value;
    return NULL;
}

static int sb_call(void *st, const char *path, const char *sr, struct sb_resp *resp)
{
    static const char *const accounts[] = {"demo", "acme"};
    struct kv q[] = {{"signed_request", sr}, {NULL, NULL}};
    struct sb_auth_req ar = {.method = "GET",
                             .path = path,
                             .body = "",
                             .query = {kv_get, q},
                             .accounts = accounts,
                             .naccounts = 2};
    int ai = sb_testello_vendor.auth(&ar);
    assert_true(ai >= 0);
    struct sb_req req = {.state = st,
                         .method = "GET",
                         .path = path,
                         .body = "",
                         .query = {kv_get, q},
                         .account = accounts[ai],
                         .account_index = ai};
    memset(resp, 0, sizeof *resp);
    buf_init(&resp->body, 0);
    assert_int_equal(sb_testello_vendor.handle(&req, resp), 0);
    return resp->status;
}

static void admin(void *st, const char *what, struct kv *q, struct sb_resp *resp)
{
    struct sb_admin_req req = {
        .what = what, .account_index = 1, .account = "acme", .query = {kv_get, q}};
    memset(resp, 0, sizeof *resp);
    buf_init(&resp->body, 0);
    assert_int_equal(sb_testello_vendor.admin(st, &req, resp), 0);
}

static void sign_for(const char *secret, int over_json, const char *payload, struct buf *out)
{
    struct testello_signing sg = {over_json, 0, SIGN_B64_URL};
    struct ss_err err = {0};
    buf_reset(out);
    assert_int_equal(testello_sign(secret, &sg, payload, out, &err), 0);
}

static void test_sandbox_part(void **state)
{
    (void)state;
    static const char *const accounts[] = {"demo", "acme"};
    struct sb_init in = {.seed = 1, .reports = 200, .accounts = accounts, .naccounts = 2};
    void *st = NULL;
    struct ss_err err = {0};
    assert_int_equal(sb_testello_vendor.init(&in, &st, &err), 0);
    struct sb_resp resp;
    struct buf sr;
    buf_init(&sr, 0);
    /* acme is company 2, secret sandbox-acme. */
    sign_for("sandbox-acme", 0, "{\"company_id\":2}", &sr);
    assert_int_equal(sb_call(st, "/tests", sr.data, &resp), 200);
    assert_non_null(strstr(resp.body.data, "\"pass_percentage\":49"));
    buf_free(&resp.body);
    assert_int_equal(sb_call(st, "/sessions", sr.data, &resp), 200);
    assert_non_null(strstr(resp.body.data, "\"id\":9236"));
    assert_null(strstr(resp.body.data, "taken_tests"));
    buf_free(&resp.body);
    sign_for("sandbox-acme", 0, "{\"company_id\":2,\"id\":9236}", &sr);
    assert_int_equal(sb_call(st, "/sessions/9236", sr.data, &resp), 200);
    assert_non_null(strstr(resp.body.data, "{\"id\":3187,\"score\":\"78.0\",\"done\":true"));
    assert_non_null(strstr(resp.body.data, "{\"id\":3188,\"score\":\"ESTJ\",\"done\":true"));
    assert_non_null(strstr(resp.body.data, "{\"id\":3189,\"score\":\"\",\"done\":false"));
    buf_free(&resp.body);

    /* Bad signatures: the wrong secret, the other reading, another company. */
    sign_for("sandbox-demo", 0, "{\"company_id\":2}", &sr);
    assert_int_equal(sb_call(st, "/tests", sr.data, &resp), 401);
    assert_non_null(strstr(resp.body.data, "{\"errors\":[\"invalid signature\"]}"));
    buf_free(&resp.body);
    sign_for("sandbox-acme", 1, "{\"company_id\":2}", &sr);
    assert_int_equal(sb_call(st, "/tests", sr.data, &resp), 401);
    buf_free(&resp.body);
    assert_int_equal(sb_call(st, "/tests", "garbage", &resp), 401);
    assert_non_null(strstr(resp.body.data, "errors"));
    buf_free(&resp.body);
    /* The switch: now the JSON-text reading is the one accepted. */
    struct kv mode[] = {{"mode", "payload_json"}, {NULL, NULL}};
    admin(st, "signing", mode, &resp);
    assert_int_equal(resp.status, 200);
    buf_free(&resp.body);
    assert_int_equal(sb_call(st, "/tests", sr.data, &resp), 200);
    buf_free(&resp.body);
    sign_for("sandbox-acme", 0, "{\"company_id\":2}", &sr);
    assert_int_equal(sb_call(st, "/tests", sr.data, &resp), 401);
    buf_free(&resp.body);
    struct kv back[] = {{"mode", "payload_base64"}, {NULL, NULL}};
    admin(st, "signing", back, &resp);
    buf_free(&resp.body);

    /* Admin: finish 3189, expire 9236 (then 404 with errors). */
    struct kv fin[] = {{"id", "3189"}, {NULL, NULL}};
    admin(st, "finish", fin, &resp);
    assert_int_equal(resp.status, 200);
    assert_non_null(strstr(resp.body.data, "\"id\":3189"));
    buf_free(&resp.body);
    struct kv exp[] = {{"session", "9236"}, {NULL, NULL}};
    admin(st, "expire", exp, &resp);
    assert_int_equal(resp.status, 200);
    buf_free(&resp.body);
    sign_for("sandbox-acme", 0, "{\"company_id\":2,\"id\":9236}", &sr);
    assert_int_equal(sb_call(st, "/sessions/9236", sr.data, &resp), 404);
    assert_non_null(strstr(resp.body.data, "errors"));
    buf_free(&resp.body);
    struct kv none[] = {{NULL, NULL}};
    admin(st, "expected", none, &resp);
    assert_null(strstr(resp.body.data, "\"3187\""));
    assert_non_null(strstr(resp.body.data, "\"sessions\":[9276"));
    buf_free(&resp.body);
    buf_free(&sr);
    sb_testello_vendor.free_state(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_sample),      cmocka_unit_test(test_signing_independent),
        cmocka_unit_test(test_payload_and_auth), cmocka_unit_test(test_session_doc),
        cmocka_unit_test(test_pass_percentage),  cmocka_unit_test(test_catalogue),
        cmocka_unit_test(test_errors_body),      cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_sandbox_part),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Configuration: the shipped example and sandbox files load with the values
 * they say; defaults and vendor-level inheritance apply; every kind of
 * mistake is an error naming file, line and key; secrets come only from the
 * environment or a file and never appear in a message; the generated
 * reference in docs/ matches the tables. What config.c does with a vendor
 * schema (options, secrets, defaults, streams) is tested on made-up vendors
 * injected with cfg_load_string_with(). No network, no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"

#ifndef SS_SOURCE_DIR
#define SS_SOURCE_DIR "."
#endif

static const char *source_dir(void)
{
    const char *d = getenv("SS_SOURCE_DIR");
    return d && d[0] ? d : SS_SOURCE_DIR;
}

static struct config *load_file(const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", source_dir(), rel);
    struct config *cfg = NULL;
    struct ss_err err = {0};
    int rc = cfg_load(path, &cfg, &err);
    if (rc != 0)
        fail_msg("%s: %s", path, err.msg);
    assert_non_null(cfg);
    return cfg;
}

static struct config *load_ok(const char *yaml)
{
    struct config *cfg = NULL;
    struct ss_err err = {0};
    if (cfg_load_string(yaml, "t.yaml", &cfg, &err) != 0)
        fail_msg("unexpected error: %s", err.msg);
    assert_non_null(cfg);
    return cfg;
}

/* Loads yaml expecting failure; the message must contain every needle. */
static void expect_err_(const char *yaml, ...)
{
    struct config *cfg = NULL;
    struct ss_err err = {0};
    int rc = cfg_load_string(yaml, "t.yaml", &cfg, &err);
    if (rc == 0) {
        cfg_free(cfg);
        fail_msg("loaded, but an error was expected:\n%s", yaml);
    }
    assert_null(cfg);
    assert_int_equal(err.code, SS_ECONFIG);
    va_list ap;
    va_start(ap, yaml);
    for (const char *n; (n = va_arg(ap, const char *));)
        if (!strstr(err.msg, n))
            fail_msg("message \"%s\" lacks \"%s\"", err.msg, n);
    va_end(ap);
}
#define EXPECT_ERR(yaml, ...) expect_err_(yaml, __VA_ARGS__, (const char *)NULL)

static void expect_no_secret(const char *yaml, const char *secret, const char *needle)
{
    struct config *cfg = NULL;
    struct ss_err err = {0};
    assert_int_equal(cfg_load_string(yaml, "t.yaml", &cfg, &err), -1);
    assert_non_null(strstr(err.msg, needle));
    assert_null(strstr(err.msg, secret));
}

/* A valid account on lines 1-5; tests append keys from line 6 on. */
#define HEAD                                                                                       \
    "vendors:\n"                                                                                   \
    "  emmersion:\n"                                                                               \
    "    accounts:\n"                                                                              \
    "      - name: a\n"                                                                            \
    "        api_key: ${SS_T_KEY}\n"

/* ---- made-up vendors: what config.c does with a schema, whichever real
 * vendors exist. acme has every option type and two secrets; bolt has no
 * defaults at all. */

static const char *const acme_streams[] = {"results", "sessions", "people", NULL};
static const char *const acme_default_streams[] = {"results", NULL};
static const char *const acme_secrets[] = {"api_key", "secret", NULL};
static const struct cfg_opt_def acme_opts[] = {
    {"company_id", CFG_OPT_STRING, NULL, NULL, "account id the API wants"},
    {"region", CFG_OPT_STRING, "eu", NULL, "data centre"},
    {"page_limit", CFG_OPT_INT, "50", NULL, "records per page"},
    {"score_scale", CFG_OPT_NUMBER, "1.5", NULL, "multiplier"},
    {"include_retired", CFG_OPT_BOOL, "false", NULL, "also list retired tests"},
    {"api_key_in", CFG_OPT_ENUM, "header", "query|header|body", "where the key goes"},
    {NULL, 0, NULL, NULL, NULL},
};
static const struct cfg_vendor_schema acme_schema = {
    "acme",        "https://api.acme.test/v1",
    acme_streams,  acme_default_streams,
    "3/1, 100/60", acme_secrets,
    acme_opts,
};
static const char *const bolt_streams[] = {"scores", "tests", NULL};
static const char *const bolt_secrets[] = {"api_key", NULL};
static const struct cfg_vendor_schema bolt_schema = {
    "bolt", NULL, bolt_streams, NULL, NULL, bolt_secrets, NULL,
};
static const struct cfg_vendor_schema *const fake_vendors[] = {&acme_schema, &bolt_schema, NULL};

/* A valid acme account on lines 1-6; tests append keys from line 7 on. */
#define ACME_HEAD                                                                                  \
    "vendors:\n"                                                                                   \
    "  acme:\n"                                                                                    \
    "    accounts:\n"                                                                              \
    "      - name: a\n"                                                                            \
    "        api_key: ${SS_T_KEY}\n"                                                               \
    "        secret: ${SS_T_SECRET}\n"

static struct config *load_with(const struct cfg_vendor_schema *const *schemas, const char *yaml)
{
    struct config *cfg = NULL;
    struct ss_err err = {0};
    if (cfg_load_string_with(yaml, "t.yaml", schemas, 0, &cfg, &err) != 0)
        fail_msg("unexpected error: %s", err.msg);
    assert_non_null(cfg);
    return cfg;
}

static void expect_err_w_(const struct cfg_vendor_schema *const *schemas, const char *yaml, ...)
{
    struct config *cfg = NULL;
    struct ss_err err = {0};
    int rc = cfg_load_string_with(yaml, "t.yaml", schemas, 0, &cfg, &err);
    if (rc == 0) {
        cfg_free(cfg);
        fail_msg("loaded, but an error was expected:\n%s", yaml);
    }
    assert_null(cfg);
    assert_int_equal(err.code, SS_ECONFIG);
    va_list ap;
    va_start(ap, yaml);
    for (const char *n; (n = va_arg(ap, const char *));)
        if (!strstr(err.msg, n))
            fail_msg("message \"%s\" lacks \"%s\"", err.msg, n);
    va_end(ap);
}
#define EXPECT_ERR_W(schemas, yaml, ...)                                                           \
    expect_err_w_(schemas, yaml, __VA_ARGS__, (const char *)NULL)

static int setup(void **state)
{
    (void)state;
    setenv("SS_T_KEY", "k-test-1", 1);
    setenv("SS_T_SECRET", "s-test-signing-1", 1);
    unsetenv("DATABASE_URL");
    unsetenv("SS_T_UNSET");
    return 0;
}

static void test_example_yaml(void **state)
{
    (void)state;
    setenv("EMMERSION_API_KEY_ACME", "emm-acme-key", 1);
    setenv("TRUENORTH_API_KEY_ACME", "tn-acme-key", 1);
    setenv("CEPA_API_KEY_ACME", "cepa-acme-key", 1);
    setenv("ETEST_API_KEY_ACME", "etest-acme-key", 1);
    setenv("TESTELLO_SECRET_ACME", "testello-acme-secret", 1);
    struct config *cfg = load_file("config/example.yaml");
    assert_null(cfg->db.url); /* DATABASE_URL unset: embedded cluster */
    /* Resolved against the config's project when it exists there, else as written. */
    size_t dl = strlen(cfg->db.data_dir);
    assert_true(dl >= 13 && strcmp(cfg->db.data_dir + dl - 13, ".scoresync/pg") == 0);
    assert_int_equal(cfg->db.batch_rows, 2000);
    assert_string_equal(cfg->log.level, "info");
    assert_string_equal(cfg->log.format, "text");
    assert_non_null(strstr(cfg->scales_path, "scales.yaml"));
    /* Every vendor of this build has a block, each with its own defaults. */
    assert_int_equal(cfg->n_vendors, 5);
    const struct cfg_vendor *v = cfg_vendor(cfg, "emmersion");
    assert_non_null(v);
    const struct cfg_account *tn = cfg_account(cfg_vendor(cfg, "truenorth"), "acme");
    assert_non_null(tn);
    assert_string_equal(tn->base_url, "https://api.truenorthtest.com/2020q1");
    assert_int_equal(tn->recheck_days, 90);
    const struct cfg_account *ts = cfg_account(cfg_vendor(cfg, "testello"), "acme");
    assert_non_null(ts);
    assert_string_equal(ts->secret, "testello-acme-secret");
    assert_string_equal(cfg_opt(ts, "company_id"), "1");
    assert_int_equal(v->n_accounts, 1);
    const struct cfg_account *a = cfg_account(v, "acme");
    assert_non_null(a);
    assert_null(cfg_account(v, "nobody"));
    assert_string_equal(a->vendor, "emmersion");
    assert_string_equal(a->base_url, "https://api.emmersion.ai/2020q3");
    assert_string_equal(a->api_key, "emm-acme-key");
    assert_string_equal(a->api_key_source, "environment variable EMMERSION_API_KEY_ACME");
    assert_int_equal(a->n_rate, 2);
    assert_int_equal(a->rate[0].requests, 5);
    assert_true(a->rate[0].per_seconds == 1.0);
    assert_int_equal(a->rate[1].requests, 2000);
    assert_true(a->rate[1].per_seconds == 1200.0);
    assert_true(cfg_stream_enabled(a, "scores"));
    assert_true(cfg_stream_enabled(a, "assignments"));
    assert_false(cfg_stream_enabled(a, "groups"));
    assert_true(a->window_initial_days == 30.0);
    assert_true(a->window_min_seconds == 60.0);
    assert_true(a->window_max_days == 365.0);
    assert_int_equal(a->window_target_records, 10000);
    assert_int_equal(a->overlap_minutes, 60);
    assert_string_equal(a->start_date, "2015-01-01");
    assert_int_equal(a->timeout_s, 60);
    assert_int_equal(a->connect_timeout_s, 10);
    assert_int_equal(a->max_attempts, 6);
    assert_int_equal(a->backoff_base_ms, 500);
    assert_int_equal(a->backoff_max_ms, 60000);
    assert_int_equal(a->max_response_bytes, 67108864L);
    assert_int_equal(a->rate_margin_ms, 50);
    assert_null(a->group_ids[0]);
    assert_int_equal(a->page_size, 100);
    cfg_free(cfg);

    /* DATABASE_URL set: the ${DATABASE_URL} in the file picks it up. */
    setenv("DATABASE_URL", "postgresql://u@127.0.0.1/scores", 1);
    cfg = load_file("config/example.yaml");
    assert_string_equal(cfg->db.url, "postgresql://u@127.0.0.1/scores");
    cfg_free(cfg);
    unsetenv("DATABASE_URL");
}

static void test_sandbox_yaml(void **state)
{
    (void)state;
    setenv("SANDBOX_EMMERSION_KEY", "sandbox-demo", 1);
    setenv("SANDBOX_TRUENORTH_KEY", "sandbox-demo", 1);
    setenv("SANDBOX_ETEST_KEY", "sandbox-demo", 1);
    setenv("SANDBOX_TESTELLO_KEY", "sandbox-demo", 1);
    setenv("SANDBOX_CEPA_KEY", "sandbox-demo", 1);
    unsetenv("SCORESYNC_SANDBOX_URL");
    struct config *cfg = load_file("config/sandbox.yaml");
    const struct cfg_account *tn = cfg_account(cfg_vendor(cfg, "truenorth"), "demo");
    assert_non_null(tn);
    assert_string_equal(tn->base_url, "http://127.0.0.1:8090/truenorth/2020q1");
    assert_true(cfg_stream_enabled(tn, "scores"));
    assert_true(cfg_opt_bool(tn, "include_incomplete", 0)); /* the vendor's default */
    const struct cfg_account *a = cfg_account(cfg_vendor(cfg, "emmersion"), "demo");
    assert_non_null(a);
    assert_string_equal(a->base_url, "http://127.0.0.1:8090/emmersion/2020q3");
    assert_string_equal(a->api_key, "sandbox-demo");
    assert_string_equal(a->start_date, "2019-01-01");
    assert_true(cfg_stream_enabled(a, "scores"));
    assert_true(cfg_stream_enabled(a, "assignments"));
    assert_true(a->window_initial_days == 30.0);
    assert_int_equal(a->window_target_records, 1000);
    assert_null(cfg->db.url);
    cfg_free(cfg);

    setenv("SCORESYNC_SANDBOX_URL", "http://127.0.0.1:18123", 1);
    cfg = load_file("config/sandbox.yaml");
    a = cfg_account(cfg_vendor(cfg, "emmersion"), "demo");
    assert_string_equal(a->base_url, "http://127.0.0.1:18123/emmersion/2020q3");
    cfg_free(cfg);
    unsetenv("SCORESYNC_SANDBOX_URL");

    /* The demo key unset is an error naming the variable. */
    unsetenv("SANDBOX_EMMERSION_KEY");
    char path[4096];
    snprintf(path, sizeof path, "%s/config/sandbox.yaml", source_dir());
    struct ss_err err = {0};
    assert_int_equal(cfg_load(path, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "sandbox.yaml:"));
    assert_non_null(strstr(err.msg, "SANDBOX_EMMERSION_KEY is not set"));
}

static void test_defaults(void **state)
{
    (void)state;
    struct config *cfg = load_ok(HEAD);
    assert_null(cfg->db.url);
    /* Resolved against the config's project when it exists there, else as written. */
    size_t dl = strlen(cfg->db.data_dir);
    assert_true(dl >= 13 && strcmp(cfg->db.data_dir + dl - 13, ".scoresync/pg") == 0);
    assert_int_equal(cfg->db.batch_rows, 2000);
    assert_string_equal(cfg->log.level, "info");
    assert_string_equal(cfg->log.format, "text");
    assert_string_equal(cfg->scales_path, "config/scales.yaml");
    assert_string_equal(cfg->migrations_dir, "sql");
    const struct cfg_account *a = cfg_account(cfg_vendor(cfg, "emmersion"), "a");
    assert_non_null(a);
    assert_string_equal(a->base_url, "https://api.emmersion.ai/2020q3");
    assert_string_equal(a->api_key, "k-test-1");
    assert_string_equal(a->api_key_source, "environment variable SS_T_KEY");
    assert_non_null(a->streams);
    assert_string_equal(a->streams[0], "scores");
    assert_null(a->streams[1]);
    assert_true(cfg_stream_enabled(a, "scores"));
    assert_false(cfg_stream_enabled(a, "assignments"));
    assert_int_equal(a->n_rate, 2);
    assert_int_equal(a->rate[0].requests, 5);
    assert_true(a->rate[0].per_seconds == 1.0);
    assert_int_equal(a->rate[1].requests, 2000);
    assert_true(a->rate[1].per_seconds == 1200.0);
    assert_int_equal(a->rate_margin_ms, 50);
    assert_true(a->window_initial_days == 30.0);
    assert_true(a->window_min_seconds == 60.0);
    assert_true(a->window_max_days == 365.0);
    assert_int_equal(a->window_target_records, 10000);
    assert_int_equal(a->overlap_minutes, 60);
    assert_string_equal(a->start_date, "2015-01-01");
    assert_int_equal(a->timeout_s, 60);
    assert_int_equal(a->connect_timeout_s, 10);
    assert_int_equal(a->max_attempts, 6);
    assert_int_equal(a->backoff_base_ms, 500);
    assert_int_equal(a->backoff_max_ms, 60000);
    assert_int_equal(a->max_response_bytes, 67108864L);
    assert_int_equal(a->page_size, 100);
    assert_non_null(a->group_ids);
    assert_null(a->group_ids[0]);
    cfg_free(cfg);

    /* No database.url in the file: $DATABASE_URL is used when set. */
    setenv("DATABASE_URL", "host=127.0.0.1 dbname=x", 1);
    cfg = load_ok(HEAD);
    assert_string_equal(cfg->db.url, "host=127.0.0.1 dbname=x");
    cfg_free(cfg);
    unsetenv("DATABASE_URL");

    /* null means the default. */
    cfg = load_ok("database: {batch_rows: null, url: ~}\n" HEAD "        page_size:\n");
    assert_int_equal(cfg->db.batch_rows, 2000);
    assert_null(cfg->db.url);
    assert_int_equal(cfg->vendors[0].accounts[0].page_size, 100);
    cfg_free(cfg);
}

static void test_inheritance(void **state)
{
    (void)state;
    struct config *cfg = load_ok("vendors:\n"
                                 "  emmersion:\n"
                                 "    base_url: http://127.0.0.1:9/emm/\n"
                                 "    api_key: ${SS_T_KEY}\n"
                                 "    streams: [scores, assignments]\n"
                                 "    window: {initial_days: 10}\n"
                                 "    http: {max_attempts: 3, timeout_s: 5}\n"
                                 "    rate_limits: [{requests: 1, per_seconds: 2}]\n"
                                 "    accounts:\n"
                                 "      - name: a\n"
                                 "      - name: b-2\n"
                                 "        streams: [scores]\n"
                                 "        window: {max_days: 100}\n"
                                 "        http: {max_attempts: 9}\n"
                                 "        group_ids: [g1, g2]\n");
    const struct cfg_vendor *v = cfg_vendor(cfg, "emmersion");
    assert_int_equal(v->n_accounts, 2);
    const struct cfg_account *a = cfg_account(v, "a"), *b = cfg_account(v, "b-2");
    assert_non_null(a);
    assert_non_null(b);
    /* a: everything from the vendor level; the trailing slash is dropped */
    assert_string_equal(a->base_url, "http://127.0.0.1:9/emm");
    assert_string_equal(a->api_key, "k-test-1");
    assert_true(cfg_stream_enabled(a, "assignments"));
    assert_true(a->window_initial_days == 10.0);
    assert_true(a->window_max_days == 365.0);
    assert_int_equal(a->max_attempts, 3);
    assert_int_equal(a->timeout_s, 5);
    assert_int_equal(a->n_rate, 1);
    assert_int_equal(a->rate[0].requests, 1);
    assert_true(a->rate[0].per_seconds == 2.0);
    assert_null(a->group_ids[0]);
    /* b: overrides key by key, mappings merged, lists replaced */
    assert_string_equal(b->base_url, "http://127.0.0.1:9/emm");
    assert_true(cfg_stream_enabled(b, "scores"));
    assert_false(cfg_stream_enabled(b, "assignments"));
    assert_true(b->window_initial_days == 10.0);
    assert_true(b->window_max_days == 100.0);
    assert_int_equal(b->max_attempts, 9);
    assert_int_equal(b->timeout_s, 5);
    assert_int_equal(b->n_rate, 1);
    assert_string_equal(b->group_ids[0], "g1");
    assert_string_equal(b->group_ids[1], "g2");
    assert_null(b->group_ids[2]);
    cfg_free(cfg);

    /* An account-level api_key_file overrides a vendor-level api_key whose
     * variable is unset: the vendor default is never resolved. */
    char tmpl[] = "/tmp/ss_cfg_keyXXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "override\n", 9), 9);
    close(fd);
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "vendors:\n  emmersion:\n    api_key: ${SS_T_UNSET}\n    accounts:\n"
             "      - name: a\n        api_key_file: %s\n",
             tmpl);
    cfg = load_ok(yaml);
    assert_string_equal(cfg->vendors[0].accounts[0].api_key, "override");
    cfg_free(cfg);
    unlink(tmpl);
}

static void test_unknown_keys(void **state)
{
    (void)state;
    EXPECT_ERR("log: {level: info}\ndatabse:\n  url: x\n" HEAD,
               "t.yaml:2: ", "unknown key \"databse\"", "did you mean \"database\"");
    EXPECT_ERR(HEAD "        api_kye: ${SS_T_KEY}\n",
               "t.yaml:6: vendors.emmersion.accounts[0]: unknown key \"api_kye\"",
               "did you mean \"api_key\"");
    EXPECT_ERR(HEAD "        window: {initial_days: 3, maxdays: 4}\n",
               "t.yaml:6: vendors.emmersion.accounts[0].window: unknown key \"maxdays\"",
               "\"max_days\"");
    EXPECT_ERR("vendors:\n  emmersion:\n    acounts: []\n",
               "t.yaml:3: vendors.emmersion: unknown key \"acounts\"", "did you mean \"accounts\"");
    EXPECT_ERR("database:\n  url: x\n  colour: blue\n" HEAD,
               "t.yaml:3: database: unknown key \"colour\"");
    EXPECT_ERR(HEAD "        api_key: ${SS_T_KEY}\n",
               "t.yaml:6: vendors.emmersion.accounts[0]: duplicate key \"api_key\" (first at "
               "line 5)");
}

static void test_wrong_types(void **state)
{
    (void)state;
    EXPECT_ERR("database:\n  batch_rows: lots\n" HEAD,
               "t.yaml:2: database.batch_rows: expected an integer, got \"lots\"");
    EXPECT_ERR("database:\n  batch_rows: 2.5\n" HEAD, "t.yaml:2: database.batch_rows",
               "expected an integer");
    EXPECT_ERR("log: [info]\n" HEAD, "t.yaml:1: log: expected a mapping, got a list");
    EXPECT_ERR("log: {level: loud}\n" HEAD, "t.yaml:1: log.level: expected one of");
    EXPECT_ERR(HEAD "        streams: scores\n",
               "t.yaml:6: vendors.emmersion.accounts[0].streams: expected a list, got a scalar");
    EXPECT_ERR(HEAD "        base_url: {a: 1}\n",
               "t.yaml:6: vendors.emmersion.accounts[0].base_url: expected a string, got a "
               "mapping");
    EXPECT_ERR(HEAD "        base_url: ftp://x\n", "t.yaml:6:", "base_url", "http:// or https://");
    EXPECT_ERR(HEAD "        http: {max_attempts: 50}\n",
               "t.yaml:6: vendors.emmersion.accounts[0].http.max_attempts: must be between 1 "
               "and 20, got 50");
    EXPECT_ERR(HEAD "        http: {timeout_s: 0}\n", "t.yaml:6:", "http.timeout_s",
               "must be between");
    EXPECT_ERR(HEAD "        start_date: 2015-13-01\n", "t.yaml:6:", "start_date",
               "expected a date");
    EXPECT_ERR(HEAD "        streams: [scores, grades]\n",
               "t.yaml:6: vendors.emmersion.accounts[0].streams[1]: unknown stream \"grades\"");
    EXPECT_ERR(HEAD "        streams: []\n", "t.yaml:6:", "streams", "at least one");
    EXPECT_ERR(HEAD "        window: {initial_days: 400}\n",
               "t.yaml:4:", "initial_days (400) exceeds window.max_days");
    EXPECT_ERR("vendors: [emmersion]\n", "t.yaml:1: vendors: expected a mapping");
    EXPECT_ERR("vendors:\n  emmersion:\n    accounts:\n  bad: [\n", "t.yaml:", "YAML syntax");
    EXPECT_ERR("log: {level: info}\n", "t.yaml:1:", "missing required key \"vendors\"");
    EXPECT_ERR("", "t.yaml", "empty");
}

static void test_rate_limits(void **state)
{
    (void)state;
    EXPECT_ERR(HEAD "        rate_limits:\n"
                    "          - {requests: 5, per_seconds: 1}\n"
                    "          - {requests: 2000, per_seconds: abc}\n",
               "t.yaml:8: vendors.emmersion.accounts[0].rate_limits[1].per_seconds: expected a "
               "number, got \"abc\"");
    EXPECT_ERR(HEAD "        rate_limits: [{requests: 0, per_seconds: 1}]\n",
               "t.yaml:6: vendors.emmersion.accounts[0].rate_limits[0].requests: must be "
               "between");
    EXPECT_ERR(HEAD "        rate_limits: [{requests: 5, per_seconds: -1}]\n",
               "t.yaml:6:", "rate_limits[0].per_seconds: must be between");
    EXPECT_ERR(HEAD "        rate_limits: [{requests: 5}]\n",
               "t.yaml:6: vendors.emmersion.accounts[0].rate_limits[0]: missing required key "
               "\"per_seconds\"");
    EXPECT_ERR(HEAD "        rate_limits: [{requests: 5, per_seconds: 1, burst: 2}]\n",
               "rate_limits[0]: unknown key \"burst\"");
    EXPECT_ERR(HEAD "        rate_limits: [5]\n", "rate_limits[0]: expected a mapping");
    EXPECT_ERR(HEAD "        rate_limits: []\n", "t.yaml:6:", "1 to 4 windows, got 0");
    EXPECT_ERR(HEAD "        rate_limits: [{requests: 1, per_seconds: 1}, {requests: 1, "
                    "per_seconds: 1}, {requests: 1, per_seconds: 1}, {requests: 1, per_seconds: "
                    "1}, {requests: 1, per_seconds: 1}]\n",
               "t.yaml:6:", "1 to 4 windows, got 5");
}

/* Commands that call no vendor load the config without the keys. */
static void test_deferred_secrets(void **state)
{
    (void)state;
    unsetenv("EMMERSION_API_KEY_ACME");
    char path[4096];
    snprintf(path, sizeof path, "%s/config/example.yaml", source_dir());
    struct config *cfg = NULL;
    struct ss_err err = {0};
    /* Without the key a normal load fails, naming the variable... */
    assert_int_equal(cfg_load(path, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "EMMERSION_API_KEY_ACME"));
    /* ...and a deferred one succeeds, with the source but no key. */
    err_clear(&err);
    assert_int_equal(cfg_load_ex(path, CFG_DEFER_SECRETS, &cfg, &err), 0);
    const struct cfg_account *a = cfg_account(cfg_vendor(cfg, "emmersion"), "acme");
    assert_non_null(a);
    assert_null(a->api_key);
    assert_string_equal(a->api_key_source, "environment variable EMMERSION_API_KEY_ACME");
    cfg_free(cfg);
    /* Everything else is still checked: a missing api_key is an error. */
    FILE *f = fopen("/tmp/ss_cfg_defer.yaml", "w");
    assert_non_null(f);
    fputs("vendors:\n  emmersion:\n    accounts:\n      - name: a\n", f);
    fclose(f);
    cfg = NULL;
    assert_int_equal(cfg_load_ex("/tmp/ss_cfg_defer.yaml", CFG_DEFER_SECRETS, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "missing api_key"));
    remove("/tmp/ss_cfg_defer.yaml");
}

static void test_secrets(void **state)
{
    (void)state;
    const char *literal = "vendors:\n  emmersion:\n    accounts:\n      - name: a\n"
                          "        api_key: sk-live-TOPSECRET99\n";
    EXPECT_ERR(literal, "t.yaml:5: vendors.emmersion.accounts[0].api_key: secrets must come "
                        "from the environment or a file");
    expect_no_secret(literal, "TOPSECRET99", "secrets must come");
    /* A value that merely contains a reference is still a literal. */
    expect_no_secret("vendors:\n  emmersion:\n    accounts:\n      - name: a\n"
                     "        api_key: Bearer-HIDDEN7-${SS_T_KEY}\n",
                     "HIDDEN7", "secrets must come");
    EXPECT_ERR("vendors:\n  emmersion:\n    accounts:\n      - name: a\n"
               "        api_key: ${SS_T_UNSET:-fallback}\n",
               "t.yaml:5:", "api_key", "cannot have a default");

    const char *unset = "vendors:\n  emmersion:\n    accounts:\n      - name: a\n"
                        "        api_key: ${SS_T_UNSET}\n";
    EXPECT_ERR(unset, "t.yaml:5: vendors.emmersion.accounts[0].api_key",
               "environment variable SS_T_UNSET is not set");
    setenv("SS_T_UNSET", "", 1);
    EXPECT_ERR(unset, "t.yaml:5:", "environment variable SS_T_UNSET is empty");
    setenv("SS_T_UNSET", "line1\nSECRETTAIL", 1);
    expect_no_secret(unset, "SECRETTAIL", "SS_T_UNSET contains a line break");
    expect_no_secret(unset, "line1", "SS_T_UNSET");
    unsetenv("SS_T_UNSET");

    /* Missing entirely, and both given. */
    EXPECT_ERR("vendors:\n  emmersion:\n    accounts:\n      - name: a\n",
               "t.yaml:4: vendors.emmersion.accounts[0]: missing api_key");
    EXPECT_ERR(HEAD "        api_key_file: /nonexistent\n",
               "t.yaml:6:", "give either api_key or api_key_file");
}

static void test_api_key_file(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/ss_cfg_keyXXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "file-key-42\n", 12), 12);
    close(fd);
    assert_int_equal(chmod(tmpl, 0600), 0);
    char yaml[1024], src[1100];
    snprintf(yaml, sizeof yaml,
             "vendors:\n  emmersion:\n    accounts:\n      - name: a\n"
             "        api_key_file: %s\n",
             tmpl);
    struct config *cfg = load_ok(yaml);
    const struct cfg_account *a = &cfg->vendors[0].accounts[0];
    assert_string_equal(a->api_key, "file-key-42");
    snprintf(src, sizeof src, "file %s", tmpl);
    assert_string_equal(a->api_key_source, src);
    cfg_free(cfg);

    /* Group-readable: used, with a warning only. */
    assert_int_equal(chmod(tmpl, 0640), 0);
    cfg = load_ok(yaml);
    assert_string_equal(cfg->vendors[0].accounts[0].api_key, "file-key-42");
    cfg_free(cfg);

    /* Two lines: refused, and neither line appears in the message. */
    FILE *f = fopen(tmpl, "w");
    assert_non_null(f);
    fputs("FIRSTLINE\nSECONDLINE\n", f);
    fclose(f);
    expect_no_secret(yaml, "FIRSTLINE", "more than one line");
    expect_no_secret(yaml, "SECONDLINE", tmpl);
    EXPECT_ERR(yaml, "t.yaml:5: vendors.emmersion.accounts[0].api_key_file");

    /* Empty file. */
    f = fopen(tmpl, "w");
    assert_non_null(f);
    fputs("\n", f);
    fclose(f);
    EXPECT_ERR(yaml, "t.yaml:5:", "is empty");

    unlink(tmpl);
    EXPECT_ERR(yaml, "t.yaml:5:", "cannot read secret file", tmpl);
}

static void test_accounts_and_vendors(void **state)
{
    (void)state;
    EXPECT_ERR(HEAD "      - name: a\n        api_key: ${SS_T_KEY}\n",
               "t.yaml:6: vendors.emmersion.accounts[1].name: duplicate account name \"a\" "
               "(first at line 4)");
    EXPECT_ERR("vendors:\n  emersion:\n    accounts: []\n",
               "t.yaml:2: vendors: unknown vendor \"emersion\"", "did you mean \"emmersion\"");
    EXPECT_ERR("vendors:\n  acme:\n    accounts: []\n", "t.yaml:2:", "unknown vendor \"acme\"");
    EXPECT_ERR("vendors:\n  emmersion:\n    accounts: []\n",
               "t.yaml:3: vendors.emmersion.accounts: needs at least one account");
    EXPECT_ERR("vendors:\n  emmersion:\n", "t.yaml:2:", "vendors.emmersion",
               "expected a mapping with accounts");
    EXPECT_ERR("vendors:\n  emmersion:\n    base_url: http://x\n", "t.yaml:3: vendors.emmersion",
               "missing required key \"accounts\"");
    EXPECT_ERR("vendors:\n  emmersion:\n    accounts:\n      - api_key: ${SS_T_KEY}\n",
               "t.yaml:4: vendors.emmersion.accounts[0]: missing required key \"name\"");
    EXPECT_ERR("vendors:\n  emmersion:\n    accounts:\n      - name: a b\n",
               "t.yaml:4:", "accounts[0].name", "not a valid name");
    EXPECT_ERR("vendors:\n  emmersion:\n    name: x\n    accounts:\n      - name: a\n",
               "t.yaml:3: vendors.emmersion.name", "not at vendor level");
    /* A vendor without a default URL needs one, and two vendors load: with
     * made-up vendors, as which real ones exist changes. */
    EXPECT_ERR_W(fake_vendors,
                 "vendors:\n  bolt:\n    rate_limits: [{requests: 1, per_seconds: 1}]\n"
                 "    accounts:\n      - name: a\n        api_key: ${SS_T_KEY}\n",
                 "t.yaml:5:", "missing base_url");
    struct config *cfg = load_with(fake_vendors, ACME_HEAD "  bolt:\n"
                                                           "    base_url: http://127.0.0.1:9/b\n"
                                                           "    rate_limits: [{requests: 1, "
                                                           "per_seconds: 1}]\n"
                                                           "    accounts:\n      - name: a\n"
                                                           "        api_key: ${SS_T_KEY}\n");
    assert_int_equal(cfg->n_vendors, 2);
    assert_string_equal(cfg->vendors[1].accounts[0].base_url, "http://127.0.0.1:9/b");
    assert_string_equal(cfg->vendors[1].accounts[0].vendor, "bolt");
    cfg_free(cfg);
}

static void test_substitution(void **state)
{
    (void)state;
    setenv("SS_T_HOST", "127.0.0.1:7000", 1);
    unsetenv("SS_T_NOPE");
    struct config *cfg = load_ok("log: {level: \"${SS_T_NOPE:-debug}\"}\n"
                                 "database: {batch_rows: \"${SS_T_NOPE:-250}\"}\n"
                                 "vendors:\n  emmersion:\n"
                                 "    base_url: http://${SS_T_HOST}/x/${SS_T_NOPE:-v1}\n"
                                 "    accounts:\n      - name: a\n"
                                 "        api_key: ${SS_T_KEY}\n");
    assert_string_equal(cfg->log.level, "debug");
    assert_int_equal(cfg->db.batch_rows, 250);
    assert_string_equal(cfg->vendors[0].accounts[0].base_url, "http://127.0.0.1:7000/x/v1");
    cfg_free(cfg);
    EXPECT_ERR(HEAD "        base_url: http://${SS_T_HOST/x\n", "t.yaml:6:", "base_url",
               "malformed variable reference");
    /* An unset variable without a default is empty, and empty is checked. */
    EXPECT_ERR(HEAD "        base_url: ${SS_T_NOPE}\n", "t.yaml:6:", "base_url",
               "must not be empty");
    unsetenv("SS_T_HOST");
}

static void test_file_errors_and_paths(void **state)
{
    (void)state;
    struct config *cfg = NULL;
    struct ss_err err = {0};
    assert_int_equal(cfg_load("/nonexistent/scoresync.yaml", &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/scoresync.yaml"));

    /* Relative paths that exist next to the file or in its parent resolve there. */
    char dir[] = "/tmp/ss_cfg_dirXXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[512], cfgdir[64], file[128];
    snprintf(cfgdir, sizeof cfgdir, "%s/config", dir);
    assert_int_equal(mkdir(cfgdir, 0700), 0);
    snprintf(p, sizeof p, "%s/ss_migr_only_here", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/ss_scales_only_here.yaml", cfgdir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(file, sizeof file, "%s/c.yaml", cfgdir);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("scales: ss_scales_only_here.yaml\nmigrations: ss_migr_only_here\n" HEAD, f);
    fclose(f);
    assert_int_equal(cfg_load(file, &cfg, &err), 0);
    snprintf(p, sizeof p, "%s/ss_scales_only_here.yaml", cfgdir);
    assert_string_equal(cfg->scales_path, p);
    snprintf(p, sizeof p, "%s/../ss_migr_only_here", cfgdir);
    assert_string_equal(cfg->migrations_dir, p);
    assert_string_equal(cfg->path, file);
    cfg_free(cfg);

    /* Errors from a file name that file. */
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("database:\n  batch_rows: many\n" HEAD, f);
    fclose(f);
    assert_int_equal(cfg_load(file, &cfg, &err), -1);
    snprintf(p, sizeof p, "%s:2: database.batch_rows: expected an integer", file);
    assert_non_null(strstr(err.msg, p));

    unlink(file);
    snprintf(p, sizeof p, "%s/ss_scales_only_here.yaml", cfgdir);
    unlink(p);
    rmdir(cfgdir);
    snprintf(p, sizeof p, "%s/ss_migr_only_here", dir);
    rmdir(p);
    rmdir(dir);
}

/* ---- vendor schemas, through made-up vendors --------------------------- */

static void test_schema_defaults(void **state)
{
    (void)state;
    struct config *cfg = load_with(fake_vendors, ACME_HEAD);
    const struct cfg_account *a = cfg_account(cfg_vendor(cfg, "acme"), "a");
    assert_non_null(a);
    assert_ptr_equal(a->schema, &acme_schema);
    assert_string_equal(a->vendor, "acme");
    assert_string_equal(a->base_url, "https://api.acme.test/v1");
    /* default_streams, not all streams */
    assert_string_equal(a->streams[0], "results");
    assert_null(a->streams[1]);
    assert_int_equal(a->n_rate, 2);
    assert_int_equal(a->rate[0].requests, 3);
    assert_true(a->rate[0].per_seconds == 1.0);
    assert_int_equal(a->rate[1].requests, 100);
    assert_true(a->rate[1].per_seconds == 60.0);
    assert_string_equal(a->api_key, "k-test-1");
    assert_string_equal(a->api_key_source, "environment variable SS_T_KEY");
    assert_string_equal(a->secret, "s-test-signing-1");
    assert_string_equal(a->secret_source, "environment variable SS_T_SECRET");
    /* options: declared defaults, typed */
    assert_int_equal(a->n_opts, 6);
    assert_ptr_equal(a->opts[0].def, &acme_opts[0]);
    assert_null(cfg_opt(a, "company_id"));
    assert_string_equal(cfg_opt(a, "region"), "eu");
    assert_string_equal(cfg_opt(a, "page_limit"), "50");
    assert_int_equal(cfg_opt_int(a, "page_limit", -1), 50);
    assert_true(cfg_opt_num(a, "score_scale", 0) == 1.5);
    assert_true(cfg_opt_num(a, "page_limit", 0) == 50.0);
    assert_int_equal(cfg_opt_bool(a, "include_retired", 1), 0);
    assert_string_equal(cfg_opt(a, "api_key_in"), "header");
    /* unset, undeclared or of another type: the fallback */
    assert_int_equal(cfg_opt_int(a, "company_id", 7), 7);
    assert_null(cfg_opt(a, "no_such_option"));
    assert_int_equal(cfg_opt_int(a, "no_such_option", -3), -3);
    assert_int_equal(cfg_opt_int(a, "region", 9), 9);
    assert_int_equal(cfg_opt_bool(a, "region", 1), 1);
    assert_true(cfg_opt_num(a, "api_key_in", 2.5) == 2.5);
    assert_null(cfg_opt(NULL, "region"));
    cfg_free(cfg);

    /* No default streams: all of them. No default URL or limits: required. */
    const char *bolt = "vendors:\n  bolt:\n    base_url: http://127.0.0.1:9\n"
                       "    rate_limits: [{requests: 2, per_seconds: 1}]\n"
                       "    accounts:\n      - name: a\n        api_key: ${SS_T_KEY}\n";
    cfg = load_with(fake_vendors, bolt);
    a = &cfg->vendors[0].accounts[0];
    assert_true(cfg_stream_enabled(a, "scores"));
    assert_true(cfg_stream_enabled(a, "tests"));
    assert_int_equal(a->n_opts, 0);
    assert_null(a->opts);
    assert_null(a->secret);
    assert_null(a->secret_source);
    assert_null(cfg_opt(a, "region"));
    cfg_free(cfg);
    EXPECT_ERR_W(fake_vendors,
                 "vendors:\n  bolt:\n    base_url: http://127.0.0.1:9\n"
                 "    accounts:\n      - name: a\n        api_key: ${SS_T_KEY}\n",
                 "t.yaml:5: vendors.bolt.accounts[0]: missing rate_limits (vendor bolt has no "
                 "default)");
    EXPECT_ERR_W(fake_vendors,
                 "vendors:\n  bolt:\n    rate_limits: [{requests: 2, per_seconds: 1}]\n"
                 "    accounts:\n      - name: a\n        api_key: ${SS_T_KEY}\n",
                 "t.yaml:5: vendors.bolt.accounts[0]: missing base_url (vendor bolt has no "
                 "default)");
    /* null goes back to the vendor's default, not to nothing. */
    cfg = load_with(fake_vendors, ACME_HEAD "        base_url: ~\n        streams:\n");
    a = &cfg->vendors[0].accounts[0];
    assert_string_equal(a->base_url, "https://api.acme.test/v1");
    assert_string_equal(a->streams[0], "results");
    assert_null(a->streams[1]);
    cfg_free(cfg);
}

static void test_schema_options(void **state)
{
    (void)state;
    struct config *cfg = load_with(fake_vendors, "vendors:\n"
                                                 "  acme:\n"
                                                 "    api_key: ${SS_T_KEY}\n"
                                                 "    secret: ${SS_T_SECRET}\n"
                                                 "    region: us\n"
                                                 "    page_limit: 200\n"
                                                 "    include_retired: yes\n"
                                                 "    accounts:\n"
                                                 "      - name: a\n"
                                                 "      - name: b\n"
                                                 "        page_limit: -10\n"
                                                 "        score_scale: 2e1\n"
                                                 "        include_retired: no\n"
                                                 "        api_key_in: query\n"
                                                 "        company_id: 42\n"
                                                 "        region: ~\n");
    const struct cfg_vendor *v = cfg_vendor(cfg, "acme");
    const struct cfg_account *a = cfg_account(v, "a"), *b = cfg_account(v, "b");
    /* a: the vendor level */
    assert_string_equal(cfg_opt(a, "region"), "us");
    assert_int_equal(cfg_opt_int(a, "page_limit", 0), 200);
    assert_int_equal(cfg_opt_bool(a, "include_retired", 0), 1);
    assert_string_equal(cfg_opt(a, "include_retired"), "true");
    assert_true(cfg_opt_num(a, "score_scale", 0) == 1.5);
    assert_null(cfg_opt(a, "company_id"));
    /* b: the account wins key by key; null is the declared default */
    assert_int_equal(cfg_opt_int(b, "page_limit", 0), -10);
    assert_true(cfg_opt_num(b, "score_scale", 0) == 20.0);
    assert_int_equal(cfg_opt_bool(b, "include_retired", 1), 0);
    assert_string_equal(cfg_opt(b, "include_retired"), "false");
    assert_string_equal(cfg_opt(b, "api_key_in"), "query");
    assert_string_equal(cfg_opt(b, "company_id"), "42");
    assert_string_equal(cfg_opt(b, "region"), "eu");
    cfg_free(cfg);

    /* ${...} works in options as in any other non-secret value. */
    setenv("SS_T_REGION", "ap", 1);
    cfg = load_with(fake_vendors, ACME_HEAD "        region: ${SS_T_REGION}\n"
                                            "        page_limit: ${SS_T_NOPE:-75}\n");
    assert_string_equal(cfg_opt(&cfg->vendors[0].accounts[0], "region"), "ap");
    assert_int_equal(cfg_opt_int(&cfg->vendors[0].accounts[0], "page_limit", 0), 75);
    cfg_free(cfg);
    unsetenv("SS_T_REGION");

    /* Wrong types, by option type; file, line and key path as everywhere. */
    EXPECT_ERR_W(fake_vendors, ACME_HEAD "        page_limit: lots\n",
                 "t.yaml:7: vendors.acme.accounts[0].page_limit: expected an integer, got "
                 "\"lots\"");
    EXPECT_ERR_W(fake_vendors, ACME_HEAD "        page_limit: 2.5\n",
                 "t.yaml:7:", "page_limit: expected an integer");
    EXPECT_ERR_W(fake_vendors, ACME_HEAD "        page_limit: 99999999999999999999999\n",
                 "t.yaml:7:", "page_limit: expected an integer");
    EXPECT_ERR_W(fake_vendors, ACME_HEAD "        score_scale: abc\n",
                 "t.yaml:7: vendors.acme.accounts[0].score_scale: expected a number, got "
                 "\"abc\"");
    EXPECT_ERR_W(fake_vendors, ACME_HEAD "        score_scale: .inf\n",
                 "score_scale: expected a number");
    EXPECT_ERR_W(fake_vendors, ACME_HEAD "        include_retired: maybe\n",
                 "t.yaml:7: vendors.acme.accounts[0].include_retired: expected true or false, "
                 "got \"maybe\"");
    EXPECT_ERR_W(fake_vendors, ACME_HEAD "        api_key_in: cookie\n",
                 "t.yaml:7: vendors.acme.accounts[0].api_key_in: expected one of "
                 "query|header|body, got \"cookie\"");
    EXPECT_ERR_W(fake_vendors, ACME_HEAD "        api_key_in: head\n", "expected one of");
    EXPECT_ERR_W(fake_vendors, ACME_HEAD "        region: \"\"\n",
                 "t.yaml:7: vendors.acme.accounts[0].region: must not be empty");
    EXPECT_ERR_W(fake_vendors, ACME_HEAD "        region: [eu, us]\n",
                 "t.yaml:7: vendors.acme.accounts[0].region: expected a string, got a list");
    EXPECT_ERR_W(fake_vendors, ACME_HEAD "        page_limit: {a: 1}\n",
                 "page_limit: expected a scalar, got a mapping");
    /* At vendor level, the path says so. */
    EXPECT_ERR_W(fake_vendors,
                 "vendors:\n  acme:\n    page_limit: x\n    accounts:\n      - name: a\n"
                 "        api_key: ${SS_T_KEY}\n        secret: ${SS_T_SECRET}\n",
                 "t.yaml:3: vendors.acme.page_limit: expected an integer");
    /* Options count for "did you mean", and belong to their vendor only. */
    EXPECT_ERR_W(fake_vendors, ACME_HEAD "        page_limt: 3\n",
                 "t.yaml:7: vendors.acme.accounts[0]: unknown key \"page_limt\"",
                 "did you mean \"page_limit\"");
    EXPECT_ERR_W(fake_vendors,
                 "vendors:\n  bolt:\n    region: eu\n    accounts:\n      - name: a\n",
                 "t.yaml:3: vendors.bolt: unknown key \"region\"");
    EXPECT_ERR_W(fake_vendors, ACME_HEAD "        region: eu\n        region: us\n",
                 "t.yaml:8:", "duplicate key \"region\"");
    /* Options are account keys, not window/http keys. */
    EXPECT_ERR_W(fake_vendors, ACME_HEAD "        http: {page_limit: 3}\n",
                 "t.yaml:7: vendors.acme.accounts[0].http: unknown key \"page_limit\"");
}

static void test_schema_secrets(void **state)
{
    (void)state;
    /* Every secret the vendor takes is required... */
    EXPECT_ERR_W(fake_vendors,
                 "vendors:\n  acme:\n    accounts:\n      - name: a\n"
                 "        api_key: ${SS_T_KEY}\n",
                 "t.yaml:4: vendors.acme.accounts[0]: missing secret (write secret: ${ENV_VAR} "
                 "or secret_file: PATH)");
    /* ...and one it does not take is an error, at either level. */
    EXPECT_ERR_W(fake_vendors,
                 "vendors:\n  bolt:\n    accounts:\n      - name: a\n"
                 "        api_key: ${SS_T_KEY}\n        secret: ${SS_T_SECRET}\n",
                 "t.yaml:6: vendors.bolt.accounts[0].secret: vendor bolt takes no secret "
                 "\"secret\" (it takes: api_key)");
    EXPECT_ERR_W(fake_vendors,
                 "vendors:\n  bolt:\n    secret_file: /x\n    accounts:\n      - name: a\n",
                 "t.yaml:3: vendors.bolt.secret_file: vendor bolt takes no secret \"secret\"");
    EXPECT_ERR_W(fake_vendors, ACME_HEAD "        secret_file: /nonexistent\n",
                 "t.yaml:7:", "give either secret or secret_file");
    EXPECT_ERR_W(fake_vendors,
                 "vendors:\n  acme:\n    accounts:\n      - name: a\n"
                 "        api_key: ${SS_T_KEY}\n        secret: hmac-LITERAL-77\n",
                 "t.yaml:6: vendors.acme.accounts[0].secret: secrets must come from the "
                 "environment or a file: write secret: ${ENV_VAR} or secret_file: PATH");

    /* The second secret from a file, the first inherited from the vendor. */
    char tmpl[] = "/tmp/ss_cfg_secXXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "file-signing-9\n", 15), 15);
    close(fd);
    char yaml[1024], src[1100];
    snprintf(yaml, sizeof yaml,
             "vendors:\n  acme:\n    api_key: ${SS_T_KEY}\n    accounts:\n      - name: a\n"
             "        secret_file: %s\n",
             tmpl);
    struct config *cfg = load_with(fake_vendors, yaml);
    const struct cfg_account *a = &cfg->vendors[0].accounts[0];
    assert_string_equal(a->api_key, "k-test-1");
    assert_string_equal(a->secret, "file-signing-9");
    snprintf(src, sizeof src, "file %s", tmpl);
    assert_string_equal(a->secret_source, src);
    /* Both are registered with redact: no message can carry them. */
    struct ss_err e = {0};
    err_set(&e, SS_EINVAL, "request failed: key=%s sig=%s", a->api_key, a->secret);
    assert_null(strstr(e.msg, "k-test-1"));
    assert_null(strstr(e.msg, "file-signing-9"));
    assert_non_null(strstr(e.msg, "request failed"));
    cfg_free(cfg);
    unlink(tmpl);

    /* Deferred: neither is read, both say where they would come from. */
    unsetenv("SS_T_SECRET");
    cfg = NULL;
    struct ss_err err = {0};
    assert_int_equal(
        cfg_load_string_with(ACME_HEAD, "t.yaml", fake_vendors, CFG_DEFER_SECRETS, &cfg, &err), 0);
    a = &cfg->vendors[0].accounts[0];
    assert_null(a->api_key);
    assert_null(a->secret);
    assert_string_equal(a->api_key_source, "environment variable SS_T_KEY");
    assert_string_equal(a->secret_source, "environment variable SS_T_SECRET");
    cfg_free(cfg);
    EXPECT_ERR_W(fake_vendors, ACME_HEAD, "t.yaml:6: vendors.acme.accounts[0].secret",
                 "environment variable SS_T_SECRET is not set");
}

static void test_schema_vendors_and_streams(void **state)
{
    (void)state;
    EXPECT_ERR_W(fake_vendors, "vendors:\n  acne:\n    accounts: []\n",
                 "t.yaml:2: vendors: unknown vendor \"acne\" (did you mean \"acme\"? known: acme, "
                 "bolt)");
    EXPECT_ERR_W(fake_vendors, "vendors:\n  zzzzzz:\n    accounts: []\n",
                 "unknown vendor \"zzzzzz\" (known: acme, bolt)");
    static const struct cfg_vendor_schema *const none[] = {NULL};
    EXPECT_ERR_W(none, "vendors:\n  acme:\n    accounts: []\n",
                 "unknown vendor \"acme\" (known: none in this build)");
    EXPECT_ERR_W(fake_vendors, ACME_HEAD "  acme:\n    accounts: []\n",
                 "t.yaml:7:", "vendor \"acme\" is listed twice");

    EXPECT_ERR_W(fake_vendors, ACME_HEAD "        streams: [results, scores]\n",
                 "t.yaml:7: vendors.acme.accounts[0].streams[1]: unknown stream \"scores\" for "
                 "acme (known: results, sessions, people)");
    EXPECT_ERR_W(fake_vendors,
                 "vendors:\n  acme:\n    streams: [tests]\n    accounts:\n      - name: a\n",
                 "t.yaml:3: vendors.acme.streams[0]: unknown stream \"tests\"");
    struct config *cfg = load_with(fake_vendors, ACME_HEAD "        streams: [people, sessions]\n");
    const struct cfg_account *a = &cfg->vendors[0].accounts[0];
    assert_false(cfg_stream_enabled(a, "results"));
    assert_true(cfg_stream_enabled(a, "sessions"));
    assert_true(cfg_stream_enabled(a, "people"));
    cfg_free(cfg);

    /* The YAML rate_limits replace the vendor's default whole. */
    cfg =
        load_with(fake_vendors, ACME_HEAD "        rate_limits: [{requests: 9, per_seconds: 3}]\n");
    a = &cfg->vendors[0].accounts[0];
    assert_int_equal(a->n_rate, 1);
    assert_int_equal(a->rate[0].requests, 9);
    assert_true(a->rate[0].per_seconds == 3.0);
    cfg_free(cfg);
}

/* A mistake in a vendor's schema is reported as such, not as the user's. */
static void test_bad_schemas(void **state)
{
    (void)state;
    static const struct cfg_opt_def no_choices[] = {{"mode", CFG_OPT_ENUM, NULL, NULL, "x"},
                                                    {NULL, 0, NULL, NULL, NULL}};
    static const struct cfg_opt_def bad_default[] = {{"n", CFG_OPT_INT, "ten", NULL, "x"},
                                                     {NULL, 0, NULL, NULL, NULL}};
    static const struct cfg_opt_def bad_enum_default[] = {{"m", CFG_OPT_ENUM, "c", "a|b", "x"},
                                                          {NULL, 0, NULL, NULL, NULL}};
    static const struct cfg_opt_def hides[] = {{"page_size", CFG_OPT_INT, NULL, NULL, "x"},
                                               {NULL, 0, NULL, NULL, NULL}};
    static const struct cfg_opt_def twice[] = {{"n", CFG_OPT_INT, NULL, NULL, "x"},
                                               {"n", CFG_OPT_INT, NULL, NULL, "x"},
                                               {NULL, 0, NULL, NULL, NULL}};
    static const char *const token[] = {"token", NULL};
    static const char *const not_a_stream[] = {"grades", NULL};
    static const struct {
        struct cfg_vendor_schema s;
        const char *why;
    } cases[] = {
        {{"zz", NULL, acme_streams, NULL, "1/1", NULL, no_choices},
         "option \"mode\" has no choices"},
        {{"zz", NULL, acme_streams, NULL, "1/1", NULL, bad_default},
         "default of option \"n\": expected an integer, got \"ten\""},
        {{"zz", NULL, acme_streams, NULL, "1/1", NULL, bad_enum_default},
         "default of option \"m\": expected one of a|b"},
        {{"zz", NULL, acme_streams, NULL, "1/1", NULL, hides}, "\"page_size\" hides a common key"},
        {{"zz", NULL, acme_streams, NULL, "1/1", NULL, twice}, "option \"n\" declared twice"},
        {{"zz", NULL, acme_streams, NULL, "1/1", token, NULL}, "unknown secret \"token\""},
        {{"zz", NULL, acme_streams, not_a_stream, "1/1", NULL, NULL},
         "default stream \"grades\" is not among its streams"},
        {{"zz", NULL, NULL, NULL, "1/1", NULL, NULL}, "no streams"},
        {{"zz", "ftp://x", acme_streams, NULL, "1/1", NULL, NULL}, "not an http(s) URL"},
        {{"zz", NULL, acme_streams, NULL, "5 per 1", NULL, NULL}, "rate_limits \"5 per 1\""},
        {{"zz", NULL, acme_streams, NULL, "5/1,", NULL, NULL}, "rate_limits"},
        {{"zz", NULL, acme_streams, NULL, "0/1", NULL, NULL}, "rate_limits"},
        {{"zz", NULL, acme_streams, NULL, "1/1,1/2,1/3,1/4,1/5", NULL, NULL}, "rate_limits"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct cfg_vendor_schema *const one[] = {&cases[i].s, NULL};
        EXPECT_ERR_W(
            one, "vendors:\n  zz:\n    accounts:\n      - name: a\n",
            "t.yaml: vendor \"zz\": bad schema (a bug in its vendor file): ", cases[i].why);
    }
}

/* Every real vendor's schema loads, with its defaults, and is documented. */
static void test_real_schemas(void **state)
{
    (void)state;
    char *ref = NULL;
    size_t reflen = 0;
    FILE *mem = open_memstream(&ref, &reflen);
    assert_non_null(mem);
    cfg_print_reference(mem);
    fclose(mem);
    for (size_t i = 0; cfg_vendor_schemas[i]; i++) {
        const struct cfg_vendor_schema *vs = cfg_vendor_schemas[i];
        char yaml[2048], title[128];
        int n =
            snprintf(yaml, sizeof yaml, "vendors:\n  %s:\n%s%s    accounts:\n      - name: a\n",
                     vs->name, vs->base_url ? "" : "    base_url: http://127.0.0.1:9\n",
                     vs->rate_limits ? "" : "    rate_limits: [{requests: 1, per_seconds: 1}]\n");
        for (const char *const *s = vs->secrets; s && *s; s++)
            n += snprintf(yaml + n, sizeof yaml - (size_t)n, "        %s: ${SS_T_KEY}\n", *s);
        struct config *cfg = load_ok(yaml);
        const struct cfg_account *a = &cfg->vendors[0].accounts[0];
        assert_ptr_equal(a->schema, vs);
        assert_non_null(a->streams[0]);
        for (size_t j = 0; j < a->n_opts; j++)
            if (a->opts[j].def->def)
                assert_non_null(a->opts[j].value);
        cfg_free(cfg);
        snprintf(title, sizeof title, "\n### %s\n", vs->name);
        assert_non_null(strstr(ref, title));
    }
    free(ref);
}

static void test_schema_reference(void **state)
{
    (void)state;
    char *out = NULL;
    size_t outlen = 0;
    FILE *mem = open_memstream(&out, &outlen);
    assert_non_null(mem);
    cfg_print_reference_with(mem, fake_vendors);
    fclose(mem);
    static const char *const needles[] = {
        "| `secret` | secret |",
        "| `streams` | list of strings | the vendor's |",
        "| `rate_limits` | list of rate windows | the vendor's |",
        "## Vendor reference\n",
        "### acme\n\n"
        "- default `base_url`: https://api.acme.test/v1\n"
        "- streams, in sync order: `results` (default), `sessions`, `people`\n"
        "- default `rate_limits`: 3 per 1 s, 100 per 60 s\n"
        "- secrets: `api_key` (or `api_key_file`), `secret` (or `secret_file`)\n\n"
        "| option | type | default | choices | description |\n",
        "| `company_id` | string | none |  | account id the API wants |\n",
        "| `page_limit` | integer | `50` |  | records per page |\n",
        "| `score_scale` | number | `1.5` |  | multiplier |\n",
        "| `include_retired` | boolean | `false` |  | also list retired tests |\n",
        "| `api_key_in` | one of | `header` | `query`, `header`, `body` | where the key goes |\n",
        "### bolt\n\n"
        "- default `base_url`: none, `base_url` is required\n"
        "- streams, in sync order: `scores` (default), `tests` (default)\n"
        "- default `rate_limits`: none, `rate_limits` is required\n"
        "- secrets: `api_key` (or `api_key_file`)\n\n"
        "No options.\n",
    };
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
        if (!strstr(out, needles[i]))
            fail_msg("reference lacks:\n%s", needles[i]);
    free(out);

    out = NULL;
    mem = open_memstream(&out, &outlen);
    static const struct cfg_vendor_schema *const none[] = {NULL};
    cfg_print_reference_with(mem, none);
    fclose(mem);
    assert_non_null(strstr(out, "No vendors in this build.\n"));
    free(out);
}

/* A directory where the file should be says so, not "YAML syntax error". */
static void test_directory_as_config(void **state)
{
    (void)state;
    char dir[] = "/tmp/ss_cfg_isdirXXXXXX", want[64];
    assert_non_null(mkdtemp(dir));
    struct config *cfg = NULL;
    struct ss_err err = {0};
    assert_int_equal(cfg_load(dir, &cfg, &err), -1);
    assert_null(cfg);
    assert_int_equal(err.code, SS_ECONFIG);
    snprintf(want, sizeof want, "%s: is a directory", dir);
    assert_string_equal(err.msg, want);
    assert_int_equal(cfg_load_ex(dir, CFG_DEFER_SECRETS, &cfg, &err), -1);
    assert_string_equal(err.msg, want);
    rmdir(dir);
}

/* docs/config-reference.md is the output of cfg_print_reference(). */
static void test_reference_is_current(void **state)
{
    (void)state;
    char *out = NULL;
    size_t outlen = 0;
    FILE *mem = open_memstream(&out, &outlen);
    assert_non_null(mem);
    cfg_print_reference(mem);
    fclose(mem);
    assert_non_null(strstr(out, "| `api_key` | secret |"));
    assert_non_null(strstr(out, "`http.max_attempts` | integer, 1 to 20 | `6`"));

    char path[4096];
    snprintf(path, sizeof path, "%s/docs/config-reference.md", source_dir());
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *doc = calloc(1, outlen + 2);
    assert_non_null(doc);
    size_t n = fread(doc, 1, outlen + 1, f);
    fclose(f);
    if (n != outlen || memcmp(doc, out, outlen) != 0)
        fail_msg("docs/config-reference.md is stale: run `scoresync config --reference > "
                 "docs/config-reference.md`");
    free(doc);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_example_yaml, setup),
        cmocka_unit_test_setup(test_sandbox_yaml, setup),
        cmocka_unit_test_setup(test_defaults, setup),
        cmocka_unit_test_setup(test_inheritance, setup),
        cmocka_unit_test_setup(test_unknown_keys, setup),
        cmocka_unit_test_setup(test_wrong_types, setup),
        cmocka_unit_test_setup(test_rate_limits, setup),
        cmocka_unit_test_setup(test_secrets, setup),
        cmocka_unit_test_setup(test_api_key_file, setup),
        cmocka_unit_test_setup(test_accounts_and_vendors, setup),
        cmocka_unit_test_setup(test_substitution, setup),
        cmocka_unit_test_setup(test_file_errors_and_paths, setup),
        cmocka_unit_test_setup(test_reference_is_current, setup),
        cmocka_unit_test_setup(test_deferred_secrets, setup),
        cmocka_unit_test_setup(test_schema_defaults, setup),
        cmocka_unit_test_setup(test_schema_options, setup),
        cmocka_unit_test_setup(test_schema_secrets, setup),
        cmocka_unit_test_setup(test_schema_vendors_and_streams, setup),
        cmocka_unit_test_setup(test_bad_schemas, setup),
        cmocka_unit_test_setup(test_real_schemas, setup),
        cmocka_unit_test_setup(test_schema_reference, setup),
        cmocka_unit_test_setup(test_directory_as_config, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Configuration: the shipped example and sandbox files load with the values
 * they say; defaults and vendor-level inheritance apply; every kind of
 * mistake is an error naming file, line and key; secrets come only from the
 * environment or a file and never appear in a message; the generated
 * reference in docs/ matches the tables. No network, no database. */
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

static int setup(void **state)
{
    (void)state;
    setenv("SS_T_KEY", "k-test-1", 1);
    unsetenv("DATABASE_URL");
    unsetenv("SS_T_UNSET");
    return 0;
}

static void test_example_yaml(void **state)
{
    (void)state;
    setenv("EMMERSION_API_KEY_ACME", "emm-acme-key", 1);
    struct config *cfg = load_file("config/example.yaml");
    assert_null(cfg->db.url); /* DATABASE_URL unset: embedded cluster */
    /* Resolved against the config's project when it exists there, else as written. */
    size_t dl = strlen(cfg->db.data_dir);
    assert_true(dl >= 13 && strcmp(cfg->db.data_dir + dl - 13, ".scoresync/pg") == 0);
    assert_int_equal(cfg->db.batch_rows, 5000);
    assert_string_equal(cfg->log.level, "info");
    assert_string_equal(cfg->log.format, "text");
    assert_non_null(strstr(cfg->scales_path, "scales.yaml"));
    assert_int_equal(cfg->n_vendors, 1);
    const struct cfg_vendor *v = cfg_vendor(cfg, "emmersion");
    assert_non_null(v);
    assert_null(cfg_vendor(cfg, "truenorth"));
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
    assert_int_equal(a->window_target_records, 2000);
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
    assert_null(a->company_id);
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
    unsetenv("SCORESYNC_SANDBOX_URL");
    struct config *cfg = load_file("config/sandbox.yaml");
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
    assert_int_equal(cfg->db.batch_rows, 5000);
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
    assert_int_equal(a->window_target_records, 2000);
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
    assert_null(a->company_id);
    cfg_free(cfg);

    /* No database.url in the file: $DATABASE_URL is used when set. */
    setenv("DATABASE_URL", "host=127.0.0.1 dbname=x", 1);
    cfg = load_ok(HEAD);
    assert_string_equal(cfg->db.url, "host=127.0.0.1 dbname=x");
    cfg_free(cfg);
    unsetenv("DATABASE_URL");

    /* null means the default. */
    cfg = load_ok("database: {batch_rows: null, url: ~}\n" HEAD "        page_size:\n");
    assert_int_equal(cfg->db.batch_rows, 5000);
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
                                 "        group_ids: [g1, g2]\n"
                                 "        company_id: 42\n");
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
    assert_string_equal(b->company_id, "42");
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
    EXPECT_ERR("vendors:\n  etest:\n    accounts:\n      - name: a\n"
               "        api_key: ${SS_T_KEY}\n",
               "t.yaml:4:", "missing base_url");
    /* Vendors of a later release validate too, and two vendors load. */
    struct config *cfg = load_ok(HEAD "  truenorth:\n    accounts:\n      - name: a\n"
                                      "        api_key: ${SS_T_KEY}\n");
    assert_int_equal(cfg->n_vendors, 2);
    assert_string_equal(cfg->vendors[1].accounts[0].base_url,
                        "https://api.truenorthtest.com/2020q1");
    assert_string_equal(cfg->vendors[1].accounts[0].vendor, "truenorth");
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

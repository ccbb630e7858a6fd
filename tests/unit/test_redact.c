/* redact: the process-wide secret registry as err_set and log lines apply
 * it, and log lines' escaping of control characters. Log output is read
 * back by pointing stderr at a temporary file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/redact.h"

#define KEY "sk_live_4eC39HqLyjWDarjtT1zdp7dc"

static int reset(void **state)
{
    (void)state;
    redact_reset();
    log_set_json(0);
    log_set_level(LOG_INFO);
    return 0;
}

/* stderr capture */
static char cap_path[64];
static int cap_fd = -1, cap_saved = -1;
static char captured[16384];

static void capture_start(void)
{
    snprintf(cap_path, sizeof cap_path, "/tmp/test_redact_XXXXXX");
    cap_fd = mkstemp(cap_path);
    assert_true(cap_fd >= 0);
    fflush(stderr);
    cap_saved = dup(STDERR_FILENO);
    assert_true(cap_saved >= 0);
    assert_true(dup2(cap_fd, STDERR_FILENO) >= 0);
}

static const char *capture_end(void)
{
    fflush(stderr);
    dup2(cap_saved, STDERR_FILENO);
    close(cap_saved);
    assert_int_equal(lseek(cap_fd, 0, SEEK_SET), 0);
    ssize_t n = read(cap_fd, captured, sizeof captured - 1);
    assert_true(n >= 0);
    captured[n] = '\0';
    close(cap_fd);
    unlink(cap_path);
    return captured;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void apply(const char *in, const char *want)
{
    char s[512];
    snprintf(s, sizeof s, "%s", in);
    redact_apply(s, sizeof s);
    assert_string_equal(s, want);
}

static void test_secrets_masked(void **state)
{
    (void)state;
    redact_add(KEY);
    redact_add("s3cr3t!");
    apply("key=" KEY, "key=***");
    apply(KEY KEY " and " KEY ".", "****** and ***.");
    apply("prefix" KEY "suffix", "prefix***suffix");
    apply("a s3cr3t! b s3cr3t!s3cr3t!", "a *** b ******");
    apply("nothing to see", "nothing to see");
    apply("", "");
    /* The same secret registered twice is kept once and masked the same. */
    redact_add(KEY);
    apply(KEY, "***");
}

static void test_longest_first(void **state)
{
    (void)state;
    /* A shorter secret inside a longer one must not leave the rest readable. */
    redact_add("abcd1234");
    redact_add("abcd1234efgh5678");
    apply("x abcd1234efgh5678 y abcd1234 z", "x *** y *** z");
}

static void test_short_ignored(void **state)
{
    (void)state;
    redact_add("abc");
    redact_add("");
    redact_add(NULL);
    redact_add("abcd"); /* REDACT_MIN_LEN exactly */
    apply("abc abcd abcde", "abc *** ***e");
}

static void test_params(void **state)
{
    (void)state;
    redact_add_param("signed_request");
    redact_add_param("api_key");
    apply("GET https://x/y?signed_request=abc&x=1", "GET https://x/y?signed_request=***&x=1");
    apply("/y?x=1&signed_request=eyJhbGciOi.ZXhhbXBsZQ#frag", "/y?x=1&signed_request=***#frag");
    apply("signed_request=abcdef&x=1", "signed_request=***&x=1"); /* a form body */
    apply("a=1&api_key=zz", "a=1&api_key=**");                    /* short: same length */
    apply("api_key=***", "api_key=***");
    apply("api_key=&x=1", "api_key=&x=1");
    /* Only the whole name: my_api_key is another parameter. */
    apply("my_api_key=visible&api_key=hidden", "my_api_key=visible&api_key=***");
    apply("body: api_key=hidden\nnext", "body: api_key=***\nnext");
    apply("{\"url\":\"/x?api_key=hidden\"}", "{\"url\":\"/x?api_key=***\"}");
    /* A value runs to a URL delimiter or blank: masking too much is safe. */
    apply("/y?api_key=a:b:c, next", "/y?api_key=*** next");
    /* A name without '=' is just a word. */
    apply("api_key missing", "api_key missing");
}

static void test_small_buffer(void **state)
{
    (void)state;
    redact_add("0123456789abcdef");
    /* Text cut by snprintf in the middle of a secret: the tail is masked. */
    char s[16] = "id=0123456789ab"; /* snprintf(s, 16, "id=%s", secret) */
    redact_apply(s, sizeof s);
    assert_string_equal(s, "id=***");
    /* A full buffer whose tail merely starts like a secret, for less than
     * REDACT_MIN_LEN characters, is left alone. */
    char t[8] = "xxxx012";
    redact_apply(t, sizeof t);
    assert_string_equal(t, "xxxx012");
    redact_apply(NULL, 10);
    redact_apply(t, 0);
}

static void test_err_set_redacted(void **state)
{
    (void)state;
    redact_add(KEY);
    redact_add_param("signed_request");
    struct ss_err err = {0};
    assert_int_equal(
        err_set(&err, SS_EHTTP, "POST /v1?signed_request=%s 400 bad key %s", "zzzz", KEY), -1);
    assert_int_equal(err.code, SS_EHTTP);
    assert_string_equal(err.msg, "POST /v1?signed_request=*** 400 bad key ***");
    err_prefix(&err, "vendor/%s", KEY);
    assert_string_equal(err.msg, "vendor/***: POST /v1?signed_request=*** 400 bad key ***");

    /* A message longer than err->msg is cut; a key cut in half is still masked. */
    char pad[sizeof err.msg];
    memset(pad, 'p', sizeof pad);
    pad[sizeof err.msg - 10] = '\0';
    err_set(&err, SS_EINVAL, "%s%s", pad, KEY);
    assert_null(strstr(err.msg, "sk_live"));
    assert_non_null(strstr(err.msg, "***"));
}

static void test_log_lines(void **state)
{
    (void)state;
    redact_add(KEY);
    redact_add_param("api_key");
    capture_start();
    log_warn("retry GET /scores?api_key=%s body %s", "abcdef", "{\"echo\":\"" KEY "\"}");
    log_error("vendor said: line one\nscoresync: error: forged\r\tend\x1b[31m");
    log_info("a\x7f"
             "b");
    log_detail("detail with %s", KEY);
    log_hint("hint");
    log_debug("not shown at info");
    const struct log_ctx ctx = {"emmersion", "acme", "scores"};
    slog_warn(&ctx, "ctx %s", KEY);
    const struct log_ctx part = {NULL, "acme", NULL};
    slog_info(&part, "account only");
    const char *out = capture_end();

    assert_null(strstr(out, KEY));
    assert_null(strstr(out, "abcdef"));
    assert_null(strstr(out, "not shown"));
    assert_non_null(strstr(out, "scoresync: warning: retry GET /scores?api_key=*** body "
                                "{\"echo\":\"***\"}\n"));
    /* One message is one line: control characters are shown, not obeyed. */
    assert_non_null(strstr(out, "scoresync: error: vendor said: line one\\x0ascoresync: error: "
                                "forged\\x0d\\x09end\\x1b[31m\n"));
    assert_non_null(strstr(out, "scoresync: info: a\\x7fb\n"));
    assert_non_null(strstr(out, "scoresync: detail: detail with ***\n"));
    assert_non_null(strstr(out, "scoresync: hint: hint\n"));
    assert_non_null(strstr(out, "scoresync: warning: emmersion/acme scores: ctx ***\n"));
    assert_non_null(strstr(out, "scoresync: info: acme: account only\n"));
    assert_int_equal(count_lines(out), 7);
}

static void test_log_json(void **state)
{
    (void)state;
    redact_add(KEY);
    log_set_json(1);
    capture_start();
    const struct log_ctx ctx = {"emmersion", "acme\"x", NULL};
    slog_error(&ctx, "bad \"key\" %s\nnext\x01", KEY);
    const char *out = capture_end();
    log_set_json(0);
    assert_int_equal(count_lines(out), 1);
    assert_null(strstr(out, KEY));
    assert_non_null(strstr(out, "\"level\":\"error\""));
    assert_non_null(strstr(out, "\"vendor\":\"emmersion\",\"account\":\"acme\\\"x\""));
    assert_null(strstr(out, "\"stream\""));
    assert_non_null(strstr(out, "\"msg\":\"bad \\\"key\\\" ***\\nnext\\u0001\"}\n"));
}

static void test_reset(void **state)
{
    (void)state;
    redact_add(KEY);
    redact_add_param("api_key");
    redact_reset();
    apply(KEY "?api_key=x", KEY "?api_key=x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_secrets_masked, reset),
        cmocka_unit_test_setup(test_longest_first, reset),
        cmocka_unit_test_setup(test_short_ignored, reset),
        cmocka_unit_test_setup(test_params, reset),
        cmocka_unit_test_setup(test_small_buffer, reset),
        cmocka_unit_test_setup(test_err_set_redacted, reset),
        cmocka_unit_test_setup(test_log_lines, reset),
        cmocka_unit_test_setup(test_log_json, reset),
        cmocka_unit_test_setup(test_reset, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

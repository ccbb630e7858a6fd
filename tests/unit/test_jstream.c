/* jstream: every document is fed whole, split at every point, in three
 * pieces (short documents) and one byte at a time, each chunk in its own
 * exact-size allocation (ASan catches a read past a chunk), and each way must
 * yield the same log of callbacks (elements, keys, indices, exact bytes),
 * the same end (counts, bytes) and the same error message. In the documents
 * below a backtick stands for '"' to keep them readable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vendors/jstream.h"

/* ---- a callback log ---- */

struct rec {
    char *s;
    size_t len, cap;
    long stop_at; /* on_element returns -1 at this index; -1 = never */
};

static void rec_put(struct rec *r, const char *p, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        r->cap = (r->len + n + 1) * 2;
        r->s = realloc(r->s, r->cap);
        assert_non_null(r->s);
    }
    memcpy(r->s + r->len, p, n);
    r->len += n;
    r->s[r->len] = '\0';
}

static void rec_printf(struct rec *r, const char *fmt, ...)
{
    char tmp[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof tmp);
    rec_put(r, tmp, (size_t)n);
}

static int on_element(void *arg, const char *key, size_t index, const char *json, size_t len,
                      struct ss_err *err)
{
    struct rec *r = arg;
    if (key)
        rec_printf(r, "E%zu [%s] ", index, key);
    else
        rec_printf(r, "E%zu ", index);
    rec_put(r, json, len);
    rec_put(r, "\n", 1);
    if (r->stop_at >= 0 && (size_t)r->stop_at == index)
        return err_set(err, SS_EINVAL, "stopped at %zu", index);
    return 0;
}

static int on_member(void *arg, const char *key, const char *json, size_t len, struct ss_err *err)
{
    struct rec *r = arg;
    (void)err;
    assert_non_null(key);
    rec_printf(r, "M [%s] ", key);
    rec_put(r, json, len);
    rec_put(r, "\n", 1);
    return 0;
}

static int on_bad(void *arg, const char *key, size_t index, const char *reason, const char *prefix,
                  size_t prefix_len, struct ss_err *err)
{
    struct rec *r = arg;
    (void)err;
    assert_true(prefix_len <= 256);
    assert_true(prefix_len > 0);
    if (key)
        rec_printf(r, "B%zu [%s] %s | ", index, key, reason);
    else
        rec_printf(r, "B%zu %s | ", index, reason);
    rec_put(r, prefix, prefix_len);
    rec_put(r, "\n", 1);
    return 0;
}

/* ---- running documents ---- */

struct cfg {
    const char *container;
    size_t max_element, max_member;
    int max_depth;
    int no_member, no_bad, missing_ok;
    long stop_at;
};

static const struct cfg DEF = {.stop_at = -1};

/* Backticks become '"'. */
static char *J(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    for (char *p = d; *p; p++)
        if (*p == '`')
            *p = '"';
    return d;
}

static struct jstream *make(const struct cfg *c, struct rec *r)
{
    struct jstream_opts o = {
        .container = c->container,
        .max_element = c->max_element,
        .max_member = c->max_member,
        .max_depth = c->max_depth,
        .on_element = on_element,
        .on_member = c->no_member ? NULL : on_member,
        .on_bad = c->no_bad ? NULL : on_bad,
        .arg = r,
    };
    struct jstream *s = jstream_new(&o);
    assert_non_null(s);
    return s;
}

/* Feeds doc cut at cuts[] (ascending), each piece in its own allocation, then
 * finishes; returns the log, ending with how it ended. */
static char *run_cuts(const struct cfg *c, const char *doc, size_t len, const size_t *cuts,
                      size_t ncuts)
{
    struct rec r = {.stop_at = c->stop_at};
    rec_put(&r, "", 0);
    struct jstream *s = make(c, &r);
    struct ss_err err = {0};
    size_t at = 0;
    int rc = 0;
    for (size_t i = 0; i <= ncuts && rc == 0; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        size_t n = to - at;
        char *chunk = malloc(n ? n : 1);
        assert_non_null(chunk);
        memcpy(chunk, doc + at, n);
        rc = jstream_feed(s, chunk, n, &err);
        free(chunk);
        at = to;
    }
    if (rc != 0) {
        assert_true(err.msg[0] != '\0');
        rec_printf(&r, "FEED %s: %s count=%zu\n", err_code_name(err.code), err.msg,
                   jstream_count(s));
        /* Failed stays failed, with the same message. */
        struct ss_err again = {0};
        assert_int_equal(jstream_feed(s, "[", 1, &again), -1);
        assert_string_equal(again.msg, err.msg);
        assert_int_equal(jstream_finish(s, 1, &again), -1);
        assert_string_equal(again.msg, err.msg);
    } else if (jstream_finish(s, c->missing_ok, &err) != 0) {
        assert_int_equal(err.code, SS_EINVAL);
        rec_printf(&r, "FINISH %s count=%zu\n", err.msg, jstream_count(s));
    } else {
        assert_int_equal(jstream_bytes(s), len);
        rec_printf(&r, "OK count=%zu bytes=%zu\n", jstream_count(s), jstream_bytes(s));
    }
    jstream_free(s);
    return r.s;
}

static char *run_whole(const struct cfg *c, const char *doc, size_t len)
{
    return run_cuts(c, doc, len, NULL, 0);
}

/* Every way of cutting must give the whole-document log. */
static void check_raw(const struct cfg *c, const char *doc, size_t len, const char *expected)
{
    char *whole = run_whole(c, doc, len);
    if (strcmp(whole, expected) != 0)
        fail_msg("document:\n%s\ngot:\n%s\nexpected:\n%s", doc, whole, expected);
    for (size_t i = 0; i <= len; i++) {
        char *got = run_cuts(c, doc, len, &i, 1);
        if (strcmp(got, whole) != 0)
            fail_msg("split at %zu:\n%s\nwhole:\n%s", i, got, whole);
        free(got);
    }
    if (len <= 150) {
        for (size_t i = 1; i < len; i++)
            for (size_t j = i + 1; j < len; j++) {
                size_t cuts[2] = {i, j};
                char *got = run_cuts(c, doc, len, cuts, 2);
                if (strcmp(got, whole) != 0)
                    fail_msg("split at %zu,%zu:\n%s\nwhole:\n%s", i, j, got, whole);
                free(got);
            }
    }
    size_t *cuts = malloc((len ? len : 1) * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t i = 0; i + 1 < len; i++)
        cuts[i] = i + 1;
    char *got = run_cuts(c, doc, len, cuts, len ? len - 1 : 0);
    if (strcmp(got, whole) != 0)
        fail_msg("byte at a time:\n%s\nwhole:\n%s", got, whole);
    free(got);
    free(cuts);
    free(whole);
}

static void check(const struct cfg *c, const char *doc_bt, const char *expected_bt)
{
    char *doc = J(doc_bt), *expected = J(expected_bt);
    check_raw(c, doc, strlen(doc), expected);
    free(doc);
    free(expected);
}

/* ---- tests ---- */

static void test_member_array(void **state)
{
    (void)state;
    struct cfg c = DEF;
    c.container = "userScores";
    check(&c,
          "{`total`: 3, `userScores`:[{`id`:1,`s`:`a\\`]}`},{`id`:2,`n`:[1,[2,{`x`:null}]]}, "
          "3, `str`, true, false, null, -1.5e3,0],\n `next`:`tok`}",
          "M [total] 3\n"
          "E0 {`id`:1,`s`:`a\\`]}`}\n"
          "E1 {`id`:2,`n`:[1,[2,{`x`:null}]]}\n"
          "E2 3\n"
          "E3 `str`\n"
          "E4 true\n"
          "E5 false\n"
          "E6 null\n"
          "E7 -1.5e3\n"
          "E8 0\n"
          "M [next] `tok`\n"
          "OK count=9 bytes=135\n");
}

static void test_whitespace(void **state)
{
    (void)state;
    struct cfg c = DEF;
    c.container = "userScores";
    check(&c, " \t\r\n{ `userScores` :\n [ 1 ,\t{ `a` : [ ] } \n] , `x` : `y` }\r\n ",
          "E0 1\nE1 { `a` : [ ] }\nM [x] `y`\nOK count=2 bytes=61\n");
    /* Not JSON whitespace. */
    check(&c, "{`userScores`:[1,\v2]}",
          "E0 1\nFEED invalid input: invalid JSON at byte 17: expected a value, got byte 0x0b "
          "count=1\n");
}

static void test_escapes_unicode(void **state)
{
    (void)state;
    struct cfg c = DEF; /* root object of records: keys decoded */
    check(&c,
          "{`a\\`b`: {`x`:`\\\\`}, `\\u00e9\\ud83d\\ude00`: [`\\\\\\`]`, `é`],"
          " `\\/k\\n`: `q\\u0041\\\\`, `\\ud800x`:`\\b\\f\\r\\t\\/`}",
          "E0 [a`b] {`x`:`\\\\`}\n"
          "E1 [\xc3\xa9\xf0\x9f\x98\x80] [`\\\\\\`]`, `é`]\n"
          "E2 [/k\n] `q\\u0041\\\\`\n"
          "E3 [\xef\xbf\xbdx] `\\b\\f\\r\\t\\/`\n"
          "OK count=4 bytes=105\n");
    /* Brackets and escaped quotes inside strings inside elements. */
    c.container = "data";
    check(&c, "{`data`:[{`k`:`}]{[,:\\``},[`\\\\`,`]`],`\\\\\\\\`]}",
          "E0 {`k`:`}]{[,:\\``}\nE1 [`\\\\`,`]`]\nE2 `\\\\\\\\`\nOK count=3 bytes=45\n");
    /* Bad escapes. */
    check(&c, "{`data`:[`a\\x`]}",
          "FEED invalid input: invalid JSON at byte 12: invalid escape in a string, got 'x' "
          "count=0\n");
    check(&c, "{`data`:[`\\u12G4`]}",
          "FEED invalid input: invalid JSON at byte 14: expected a hex digit in \\u escape, got "
          "'G' count=0\n");
}

static void test_object_container(void **state)
{
    (void)state;
    struct cfg c = DEF;
    c.container = "candidates";
    check(&c,
          "{`count`:2,`candidates`:{`a@x`:{`k`:{`n`:1}},`b\\u0040y`:[1,{}], `c`:`s`},`more`:false}",
          "M [count] 2\n"
          "E0 [a@x] {`k`:{`n`:1}}\n"
          "E1 [b@y] [1,{}]\n"
          "E2 [c] `s`\n"
          "M [more] false\n"
          "OK count=3 bytes=86\n");
    check(&c, "{`candidates`:{}}", "OK count=0 bytes=17\n");
    /* Keys inside elements are not member names of the container. */
    check(&c, "{`candidates`:{`k`:{`candidates`:[1]}}}",
          "E0 [k] {`candidates`:[1]}\nOK count=1 bytes=39\n");
}

static void test_root_containers(void **state)
{
    (void)state;
    struct cfg c = DEF;
    check(&c, "[ {`a`:1} , {`b`:[2]},`s`]",
          "E0 {`a`:1}\nE1 {`b`:[2]}\nE2 `s`\nOK count=3 bytes=26\n");
    check(&c, "[]", "OK count=0 bytes=2\n");
    check(&c, " [ ] ", "OK count=0 bytes=5\n");
    check(&c, "{}", "OK count=0 bytes=2\n");
    check(&c, "{`x`:{`y`:1},`z`:null}", "E0 [x] {`y`:1}\nE1 [z] null\nOK count=2 bytes=22\n");
    check(&c, "`x`",
          "FEED invalid input: invalid JSON at byte 0: expected '[' or '{', got '\"' "
          "count=0\n");
    check(&c, "12",
          "FEED invalid input: invalid JSON at byte 0: expected '[' or '{', got '1' "
          "count=0\n");
    check(&c, "", "FINISH invalid JSON at byte 0: empty body count=0\n");
    check(&c, " \n", "FINISH invalid JSON at byte 2: no value, only whitespace count=0\n");
}

static void test_empty_and_missing(void **state)
{
    (void)state;
    struct cfg c = DEF;
    c.container = "userScores";
    check(&c, "{`userScores`:[]}", "OK count=0 bytes=17\n");
    check(&c, "{`total`:0}",
          "M [total] 0\nFINISH invalid JSON: no member \"userScores\" in the root object "
          "count=0\n");
    check(&c, "{}", "FINISH invalid JSON: no member \"userScores\" in the root object count=0\n");
    check(&c, "{`userScores`:null}",
          "FINISH invalid JSON: null member \"userScores\" in the root object count=0\n");
    /* A near miss is another member. */
    check(&c, "{`userScore`:[1]}",
          "M [userScore] [1]\nFINISH invalid JSON: no member \"userScores\" in the root object "
          "count=0\n");
    c.missing_ok = 1;
    check(&c, "{`total`:0}", "M [total] 0\nOK count=0 bytes=11\n");
    check(&c, "{`userScores`:null}", "OK count=0 bytes=19\n");
    check(&c, "{`userScores` : null , `n`:1}", "M [n] 1\nOK count=0 bytes=29\n");
    /* missing_ok does not excuse a truncated or wrong document. */
    check(&c, "{`total`:0",
          "FINISH invalid JSON at byte 10: truncated before the "
          "root value is closed (depth 1) count=0\n");
    check(&c, "[1]",
          "FEED invalid input: invalid JSON at byte 0: the root is an array; expected "
          "an object with member \"userScores\" count=0\n");
}

static void test_shape_errors(void **state)
{
    (void)state;
    struct cfg c = DEF;
    c.container = "userScores";
    check(&c, "{`userScores`: 5}",
          "FEED invalid input: invalid JSON at byte 15: member \"userScores\" is not an array or "
          "object count=0\n");
    check(&c, "{`userScores`:[1],`userScores`:[2]}",
          "E0 1\nFEED invalid input: invalid JSON at byte 31: member \"userScores\" repeated "
          "count=1\n");
    check(&c, "{`userScores`:nul}",
          "FEED invalid input: invalid JSON at byte 17: invalid literal, got '}' count=0\n");
    check(&c, "`x`",
          "FEED invalid input: invalid JSON at byte 0: expected '{', got '\"' count=0\n");
}

static void test_syntax_errors(void **state)
{
    (void)state;
    struct cfg c = DEF;
    check(&c, "[1 2]",
          "E0 1\nFEED invalid input: invalid JSON at byte 3: expected ',' or ']', "
          "got '2' count=1\n");
    check(&c, "[1,]",
          "E0 1\nFEED invalid input: invalid JSON at byte 3: expected a value, got ']' "
          "count=1\n");
    check(&c, "[}",
          "FEED invalid input: invalid JSON at byte 1: expected a value, got '}' "
          "count=0\n");
    check(&c, "[[1}]",
          "FEED invalid input: invalid JSON at byte 3: expected ',' or ']', got '}' "
          "count=0\n");
    check(&c, "{`a` 1}",
          "FEED invalid input: invalid JSON at byte 5: expected ':', got '1' count=0\n");
    check(&c, "{`a`:1,}",
          "E0 [a] 1\nFEED invalid input: invalid JSON at byte 7: expected a "
          "member name, got '}' count=1\n");
    check(&c, "{1:2}",
          "FEED invalid input: invalid JSON at byte 1: expected a member name or "
          "'}', got '1' count=0\n");
    check(&c, "[{`a`:1]]",
          "FEED invalid input: invalid JSON at byte 7: expected ',' or '}', got "
          "']' count=0\n");
    check(&c, "[tru]",
          "FEED invalid input: invalid JSON at byte 4: invalid literal, got ']' count=0\n");
    check(&c, "[truex]",
          "E0 true\nFEED invalid input: invalid JSON at byte 5: expected ',' or "
          "']', got 'x' count=1\n");
    check(&c, "[12abc]",
          "E0 12\nFEED invalid input: invalid JSON at byte 3: expected ',' or ']', "
          "got 'a' count=1\n");
    check(&c, "[+1]",
          "FEED invalid input: invalid JSON at byte 1: expected a value, got '+' count=0\n");
    /* Trailing data. */
    check(&c, "[1] x",
          "E0 1\nFEED invalid input: invalid JSON at byte 4: trailing data after the "
          "root value, got 'x' count=1\n");
    check(&c, "[1][2]",
          "E0 1\nFEED invalid input: invalid JSON at byte 3: trailing data after "
          "the root value, got '[' count=1\n");
    check(&c, "[1]\n\t ", "E0 1\nOK count=1 bytes=6\n");
    check(&c, "[1]\0", "E0 1\nOK count=1 bytes=3\n"); /* (strlen stops at NUL) */
    char nul[] = "[1] \0";
    char *got = run_whole(&c, nul, sizeof nul - 1);
    assert_string_equal(got, "E0 1\nFEED invalid input: invalid JSON at byte 4: trailing data "
                             "after the root value, got byte 0x00 count=1\n");
    free(got);
}

/* Every proper prefix of a good document is truncated, whatever the cut. */
static void test_truncated(void **state)
{
    (void)state;
    const char *docs[] = {
        "{`n`:-12.5e+3,`userScores`:[{`a`:`x\\`y\\u00e9`,`b`:[true,false,null]},7,`s`],`t`:{}}",
        "{`userScores`:{`k`:[1,[2]],`j`:{}}}",
    };
    for (size_t d = 0; d < 2; d++) {
        char *doc = J(docs[d]);
        size_t len = strlen(doc);
        struct cfg c = DEF;
        c.container = "userScores";
        c.missing_ok = 1;
        char *full = run_whole(&c, doc, len);
        assert_non_null(strstr(full, "OK count="));
        free(full);
        for (size_t k = 0; k < len; k++) {
            char *got = run_whole(&c, doc, k);
            if (!strstr(got, "FINISH invalid JSON at byte ") ||
                (k > 0 && !strstr(got, "truncated")))
                fail_msg("prefix %zu: %s", k, got);
            /* Same at a byte at a time. */
            char *one = malloc(k + 1);
            size_t *cuts = malloc((k + 1) * sizeof *cuts);
            for (size_t i = 0; i + 1 < k; i++)
                cuts[i] = i + 1;
            memcpy(one, doc, k);
            char *got1 = run_cuts(&c, one, k, cuts, k ? k - 1 : 0);
            assert_string_equal(got, got1);
            free(got1);
            free(one);
            free(cuts);
            free(got);
        }
        free(doc);
    }
    struct cfg c = DEF;
    check(&c, "[`abc",
          "FINISH invalid JSON at byte 5: truncated inside a string (depth 1) "
          "count=0\n");
    check(&c, "[{`a`:1}",
          "E0 {`a`:1}\nFINISH invalid JSON at byte 8: truncated before the root "
          "value is closed (depth 1) count=1\n");
    check(&c, "[{`a`:[1",
          "FINISH invalid JSON at byte 8: truncated inside an element (depth 3) "
          "count=0\n");
    check(&c, "[1",
          "FINISH invalid JSON at byte 2: truncated inside an element (depth 1) "
          "count=0\n");
}

static void test_oversize(void **state)
{
    (void)state;
    char big[400];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\0';
    char doc[600], exp[1200];
    snprintf(doc, sizeof doc, "[{`a`:`short`}, {`big`:`%s`}, {`b`:`%.40s`},{`a`:2}]", big, big);
    /* The prefix is the first 256 bytes of the element. */
    snprintf(exp, sizeof exp,
             "E0 {`a`:`short`}\nB1 larger than 40 bytes | {`big`:`%.248s\n"
             "B2 larger than 40 bytes | {`b`:`%.40s`}\nE3 {`a`:2}\nOK count=4 bytes=%zu\n",
             big, big, strlen(doc));
    struct cfg c = DEF;
    c.max_element = 40;
    check(&c, doc, exp);
    /* Exactly at the cap is fine. */
    c.max_element = 9;
    check(&c, "[{`a`:`1`},{`a`:`12`}]",
          "E0 {`a`:`1`}\nB1 larger than 9 bytes | {`a`:`12`}\nOK count=2 bytes=22\n");
    /* A number exactly at the cap ends at the byte after it. */
    c.max_element = 5;
    check(&c, "[12345,123456, 1234567]",
          "E0 12345\nB1 larger than 5 bytes | 123456\nB2 larger than 5 bytes | 1234567\nOK "
          "count=3 bytes=23\n");
    /* Without on_bad it is an error at the byte past the cap, however the body is cut
     * (not the syntax error further on). */
    c.max_element = 9;
    c.no_bad = 1;
    check(&c, "[{`a`:1234567890 x]",
          "FEED too big: element 0 at byte 1: larger than 9 bytes count=0\n");
    c.no_bad = 0;
    /* Without on_bad it is an error, as soon as it is seen. */
    c.no_bad = 1;
    c.container = "r";
    check(&c, "{`r`:{`k1`:1,`k2`:`0123456789`,`k3`:2}}",
          "E0 [k1] 1\nFEED too big: element 1 at byte 18 (member \"k2\"): larger than 9 bytes "
          "count=1\n");
}

static void test_too_deep(void **state)
{
    (void)state;
    struct cfg c = DEF;
    c.max_depth = 3;
    check(&c, "[[[[1]]],[[[[2]]]],{`a`:{`b`:{`c`:{`]`:`[`}}}},[[[[[`]]\\`]]`]]]]],[1]]",
          "E0 [[[1]]]\n"
          "B1 nested deeper than 3 levels | [[[[2]]]]\n"
          "B2 nested deeper than 3 levels | {`a`:{`b`:{`c`:{`]`:`[`}}}}\n"
          "B3 nested deeper than 3 levels | [[[[[`]]\\`]]`]]]]]\n"
          "E4 [1]\n"
          "OK count=5 bytes=70\n");
    /* Deep and big: the prefix is still 256 bytes. */
    char doc[1200], exp[1200], pad[600];
    memset(pad, '7', sizeof pad);
    pad[sizeof pad - 1] = '\0';
    snprintf(doc, sizeof doc, "[[[[[[[%s]]]]]],0]", pad);
    snprintf(exp, sizeof exp,
             "B0 nested deeper than 3 levels | [[[[[[%.250s\nE1 0\nOK count=2 "
             "bytes=%zu\n",
             pad, strlen(doc));
    check(&c, doc, exp);
    /* Skipped deep members; syntax inside a skipped part is not checked. */
    c.container = "d";
    check(&c, "{`m`:[[[[1}]]],`d`:[],`n`:[[[1]]]}", "M [n] [[[1]]]\nOK count=0 bytes=34\n");
    c.no_bad = 1;
    check(&c, "{`d`:[[1],[[[[1]]]]]}",
          "E0 [1]\nFEED too big: element 1 at byte 10: nested "
          "deeper than 3 levels count=1\n");
    /* The default depth is 64. */
    c = DEF;
    char deep[300];
    size_t n = 0;
    deep[n++] = '[';
    for (int i = 0; i < 65; i++)
        deep[n++] = '[';
    for (int i = 0; i < 65; i++)
        deep[n++] = ']';
    deep[n++] = ',';
    for (int i = 0; i < 64; i++)
        deep[n++] = '[';
    for (int i = 0; i < 64; i++)
        deep[n++] = ']';
    deep[n++] = ']';
    deep[n] = '\0';
    char *got = run_whole(&c, deep, n);
    assert_true(strncmp(got, "B0 nested deeper than 64 levels | [[[", 37) == 0);
    assert_non_null(strstr(got, "\nE1 [[[[[["));
    assert_non_null(strstr(got, "OK count=2"));
    free(got);
}

static void test_long_key(void **state)
{
    (void)state;
    size_t kl = 5000;
    char *doc = malloc(2 * kl + 100), *exp = malloc(kl + 200);
    char *key = malloc(kl + 1);
    memset(key, 'k', kl);
    key[kl] = '\0';
    snprintf(doc, 2 * kl + 100, "{`r`:{`a`:1,`%s`:[2],`b`:3},`%s`:4}", key, key);
    snprintf(exp, kl + 200,
             "E0 [a] 1\nB1 [%.4096s] member name longer than 4096 bytes | [2]\nE2 [b] 3\nOK "
             "count=3 bytes=%zu\n",
             key, strlen(doc));
    struct cfg c = DEF;
    c.container = "r";
    char *d = J(doc), *e = J(exp);
    char *got = run_whole(&c, d, strlen(d));
    assert_string_equal(got, e);
    free(got);
    size_t cuts[3] = {30, 2000, 4200};
    got = run_cuts(&c, d, strlen(d), cuts, 3);
    assert_string_equal(got, e);
    free(got);
    free(d);
    free(e);
    free(doc);
    free(exp);
    free(key);
}

static void test_members(void **state)
{
    (void)state;
    struct cfg c = DEF;
    c.container = "items";
    c.max_member = 16;
    check(&c,
          "{`page`:{`next`:`x`},`total`:12,`big`:{`aaaaaaaaaaaaaaaaaaaaaaa`:1},`s`:`a\\`b`,"
          "`arr`:[1,2],`items`:[{`i`:1}],`c`:[ ],`t`:true,`n`:null,`bigs`:`0123456789abcdef`,"
          "`e\\u0041`:-0.5}",
          "M [page] {`next`:`x`}\n"
          "M [total] 12\n"
          "M [s] `a\\`b`\n"
          "M [arr] [1,2]\n"
          "E0 {`i`:1}\n"
          "M [c] [ ]\n"
          "M [t] true\n"
          "M [n] null\n"
          "M [eA] -0.5\n"
          "OK count=1 bytes=176\n");
    /* Without on_member they are read past. */
    c.no_member = 1;
    check(&c, "{`page`:{`next`:`x`},`items`:[1],`t`:[{`a`:`]`}]}", "E0 1\nOK count=1 bytes=49\n");
}

static void test_callback_stop_and_reset(void **state)
{
    (void)state;
    struct cfg c = DEF;
    c.stop_at = 1;
    check(&c, "[10,20,30]", "E0 10\nE1 20\nFEED invalid input: stopped at 1 count=2\n");

    /* reset, then other documents with the same reader; counts and bytes. */
    struct rec r = {.stop_at = 0};
    rec_put(&r, "", 0);
    struct cfg c2 = DEF;
    c2.container = "d";
    struct jstream *s = make(&c2, &r);
    struct ss_err err = {0};
    const char *d1 = "{\"d\":[\"a\",\"b\"]}";
    assert_int_equal(jstream_feed(s, d1, strlen(d1), &err), -1);
    assert_string_equal(err.msg, "stopped at 0");
    assert_int_equal(jstream_count(s), 1);
    assert_int_equal(jstream_bytes(s), strlen(d1));
    assert_int_equal(jstream_finish(s, 0, &err), -1);
    jstream_reset(s);
    assert_int_equal(jstream_count(s), 0);
    assert_int_equal(jstream_bytes(s), 0);
    r.stop_at = -1;
    r.len = 0;
    const char *d2 = "{\"d\":[1,2,3], \"x\":0}";
    assert_int_equal(jstream_feed(s, d2, 7, &err), 0);
    /* A retried attempt: reset mid-document, then the whole body again. */
    jstream_reset(s);
    assert_int_equal(jstream_feed(s, d2, 9, &err), 0);
    assert_int_equal(jstream_feed(s, d2 + 9, strlen(d2) - 9, &err), 0);
    assert_int_equal(jstream_finish(s, 0, &err), 0);
    assert_int_equal(jstream_count(s), 3);
    assert_int_equal(jstream_bytes(s), strlen(d2));
    assert_string_equal(r.s, "E0 1\nE1 2\nE2 3\nM [x] 0\n");
    /* A failed document, then reset clears the failure. */
    jstream_reset(s);
    assert_int_equal(jstream_feed(s, "[", 1, &err), -1);
    assert_int_equal(jstream_feed(s, "{}", 2, NULL), -1);
    jstream_reset(s);
    assert_int_equal(jstream_feed(s, "{}", 2, NULL), 0);
    assert_int_equal(jstream_finish(s, 1, NULL), 0);
    assert_int_equal(jstream_feed(s, NULL, 0, &err), 0);
    jstream_free(s);
    free(r.s);
    jstream_free(NULL);
}

/* A larger generated body at random chunk sizes: every record comes out with
 * its exact bytes, from copied and uncopied paths alike. */
static unsigned long rng_state = 12345;
static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
    return (unsigned)((rng_state >> 33) % n);
}

static void test_generated(void **state)
{
    (void)state;
    struct rec doc = {0}, exp = {0};
    rec_printf(&doc, "{\"meta\":{\"v\":1},\"userScores\":[");
    rec_printf(&exp, "M [meta] {\"v\":1}\n");
    static const char *const pieces[] = {"\\\"", "\\\\", "\\u00e9", "]", "}",  "[",  "{",
                                         ",",    ":",    " ",       "é", "ab", "\\n"};
    size_t nrec = 3000;
    for (size_t i = 0; i < nrec; i++) {
        struct rec e = {0};
        rec_printf(&e, "{\"id\":%zu,\"name\":\"", i);
        unsigned np = rnd(40);
        for (unsigned k = 0; k < np; k++) {
            const char *pc = pieces[rnd(sizeof pieces / sizeof *pieces)];
            rec_put(&e, pc, strlen(pc));
        }
        rec_printf(&e, "\",\"s\":[%u,{\"x\":[true,null,-%u.5e1]}], \"pad\":\"", rnd(1000),
                   rnd(100));
        unsigned pad = rnd(5) == 0 ? 3000 + rnd(5000) : rnd(50);
        for (unsigned k = 0; k < pad; k++)
            rec_put(&e, "p", 1);
        rec_put(&e, "\"}", 2);
        if (i) {
            int nl = (int)rnd(2);
            rec_put(&doc, nl ? ",\n  " : ",", nl ? 4 : 1);
        }
        rec_put(&doc, e.s, e.len);
        rec_printf(&exp, "E%zu ", i);
        rec_put(&exp, e.s, e.len);
        rec_put(&exp, "\n", 1);
        free(e.s);
    }
    rec_printf(&doc, "],\"next\":\"abc\"}");
    rec_printf(&exp, "M [next] \"abc\"\n");
    rec_printf(&exp, "OK count=%zu bytes=%zu\n", nrec, doc.len);

    struct cfg c = DEF;
    c.container = "userScores";
    c.max_member = 1 << 20;
    char *got = run_whole(&c, doc.s, doc.len);
    assert_string_equal(got, exp.s);
    free(got);
    for (int round = 0; round < 6; round++) {
        size_t *cuts = malloc(doc.len * sizeof *cuts), n = 0, at = 0;
        unsigned maxc = round == 0 ? 3 : round == 1 ? 64 : round == 2 ? 1500 : 20000;
        while (1) {
            at += 1 + rnd(maxc);
            if (at >= doc.len)
                break;
            cuts[n++] = at;
        }
        got = run_cuts(&c, doc.s, doc.len, cuts, n);
        assert_string_equal(got, exp.s);
        free(got);
        free(cuts);
    }
    free(doc.s);
    free(exp.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_member_array),    cmocka_unit_test(test_whitespace),
        cmocka_unit_test(test_escapes_unicode), cmocka_unit_test(test_object_container),
        cmocka_unit_test(test_root_containers), cmocka_unit_test(test_empty_and_missing),
        cmocka_unit_test(test_shape_errors),    cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_truncated),       cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_too_deep),        cmocka_unit_test(test_long_key),
        cmocka_unit_test(test_members),         cmocka_unit_test(test_callback_stop_and_reset),
        cmocka_unit_test(test_generated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

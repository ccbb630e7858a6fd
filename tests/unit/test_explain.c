/* explain: `scoresync explain` (cmd_explain) on every label and score in
 * the five seed documents, through --json parsed back with json-c, against
 * the published tables; unknown values and scales exit 5 with known=false,
 * usage errors exit 2. No database is ever opened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#ifndef SS_SOURCE_DIR
#define SS_SOURCE_DIR "."
#endif

static char scales_path[1024];

struct run {
    int rc;
    char out[8192], err[4096];
};

static void slurp_fd(int fd, char *buf, size_t n)
{
    ssize_t got;
    size_t used = 0;
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    while (used + 1 < n && (got = read(fd, buf + used, n - 1 - used)) > 0)
        used += (size_t)got;
    buf[used] = '\0';
}

/* Runs cmd_explain with argv (NULL-terminated) and captures stdout/stderr. */
static void run(struct run *r, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"explain";
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    struct cli_globals g = {0};
    char of[] = "/tmp/test_explain_out_XXXXXX", ef[] = "/tmp/test_explain_err_XXXXXX";
    int ofd = mkstemp(of), efd = mkstemp(ef);
    assert_true(ofd >= 0 && efd >= 0);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(ofd, 1);
    dup2(efd, 2);
    r->rc = cmd_explain(argc, argv, &g);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    slurp_fd(ofd, r->out, sizeof r->out);
    slurp_fd(efd, r->err, sizeof r->err);
    close(ofd);
    close(efd);
    unlink(of);
    unlink(ef);
}

/* explain --json, parsed; the caller puts the object. */
static json_object *run_json(struct run *r, const char *scale, const char *value, const char *skill,
                             const char *vendor)
{
    const char *args[16];
    int n = 0;
    args[n++] = "--scales";
    args[n++] = scales_path;
    args[n++] = "--json";
    args[n++] = "--scale";
    args[n++] = scale;
    if (skill) {
        args[n++] = "--skill";
        args[n++] = skill;
    }
    if (vendor) {
        args[n++] = "--vendor";
        args[n++] = vendor;
    }
    args[n++] = "--";
    args[n++] = value;
    args[n] = NULL;
    run(r, args);
    json_object *o = json_tokener_parse(r->out);
    if (!o)
        print_error("not JSON: [%s] stderr [%s]\n", r->out, r->err);
    assert_non_null(o);
    assert_true(json_object_is_type(o, json_type_object));
    return o;
}

static const char *jget_str(json_object *o, const char *k)
{
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v))
        fail_msg("no key %s", k);
    return v ? json_object_get_string(v) : NULL; /* NULL: JSON null */
}

static int jknown(json_object *o)
{
    json_object *v;
    assert_true(json_object_object_get_ex(o, "known", &v));
    assert_true(json_object_is_type(v, json_type_boolean));
    return json_object_get_boolean(v);
}

static int jnull(json_object *o, const char *k)
{
    json_object *v;
    assert_true(json_object_object_get_ex(o, k, &v));
    return v == NULL;
}

static double jnum(json_object *o, const char *k)
{
    json_object *v;
    assert_true(json_object_object_get_ex(o, k, &v));
    if (!v)
        return NAN;
    return json_object_get_double(v);
}

static void str_or_null(json_object *o, const char *k, const char *want)
{
    const char *got = jget_str(o, k);
    if (!want ? got != NULL : !got || strcmp(got, want) != 0)
        print_error("%s: got %s, want %s\n", k, got ? got : "null", want ? want : "null");
    if (!want)
        assert_null(got);
    else
        assert_string_equal(got, want);
}

struct ok_case {
    const char *scale, *value, *skill, *vendor;
    const char *cefr_lo, *cefr_hi, *actfl_lo, *actfl_hi;
    double low, high, pct; /* NAN = null */
    const char *category;
    const char *rule_has, *source_has;
};

#define N NAN
static const struct ok_case ok_cases[] = {
    /* CEPA (seeds/000): test_cefr / cefr */
    {"cefr", "B2", NULL, "cepa", "B2", "B2", NULL, NULL, N, N, N, NULL, "cefr",
     "Council of Europe"},
    {"cefr", "B2+", NULL, "cepa", "B2+", "B2+", NULL, NULL, N, N, N, NULL, "B2+", "Companion"},
    {"cefr", "B1+", NULL, "cepa", "B1+", "B1+", NULL, NULL, N, N, N, NULL, "B1+", NULL},
    /* TrueNorth / Emmersion (seeds/002-003): cefrSpeakingLevel */
    {"cefr", "B2-C1", "speaking", "emmersion", "B2", "C1", NULL, NULL, N, N, N, NULL, "B2..C1",
     NULL},
    /* eTest (seeds/001) */
    {"cefr", "Pre A1", NULL, "etest", "Pre A1", "Pre A1", NULL, NULL, N, N, N, NULL, NULL, NULL},
    {"cefr", "Pre-A1", NULL, "etest", "Pre A1", "Pre A1", NULL, NULL, N, N, N, NULL, NULL, NULL},
    {"cefr", "A1+", NULL, "etest", "A1+", "A1+", NULL, NULL, N, N, N, NULL, NULL, NULL},
    /* actflSpeakingLevel, through ACTFL's productive column */
    {"actfl", "Advanced Mid - Advanced High", "speaking", "truenorth", "B2+", "C1", "Advanced Mid",
     "Advanced High", N, N, N, NULL,
     "actfl_cefr productive: Advanced Mid -> B2.2 (B2+), Advanced High -> C1 (C1)",
     "Assigning CEFR Ratings"},
    {"actfl", "Advanced Mid - Advanced High", "reading", NULL, "B2", "C1", "Advanced Mid",
     "Advanced High", N, N, N, NULL, "receptive: Advanced Mid -> B2 (B2), Advanced High -> C1.1",
     NULL},
    {"actfl", "Advanced Mid - Advanced High", NULL, NULL, NULL, NULL, "Advanced Mid",
     "Advanced High", N, N, N, NULL, NULL, "ACTFL Proficiency Guidelines"},
    /* CEPA level names (seeds/000): CEPA's table, never ACTFL's */
    {"cepa", "Upper Intermediate", NULL, "cepa", "B2", "B2", NULL, NULL, N, N, N,
     "Upper Intermediate", "cepa_levels", "cepatest.org"},
    {"cepa", "Intermediate", NULL, "cepa", "B1+", "B1+", NULL, NULL, N, N, N, "Intermediate",
     "cepa_levels", NULL},
    {"cepa", "Advance Low", NULL, "cepa", "B2+", "B2+", NULL, NULL, N, N, N, "Advance Low",
     "cepa_levels", NULL},
    /* CEPA scores (seeds/000) */
    {"cepa", "50", NULL, "cepa", "B2", "B2", NULL, NULL, 50, 50, 50, "Upper Intermediate", "43-50",
     "cepatest.org"},
    {"cepa", "71.0", NULL, NULL, "B2+", "B2+", NULL, NULL, 71, 71, 71, "Advance Low", "51-72",
     NULL},
    {"cepa", "49.0", NULL, NULL, "B2", "B2", NULL, NULL, 49, 49, 49, "Upper Intermediate", NULL,
     NULL},
    {"cepa", "35.0", NULL, NULL, "B1+", "B1+", NULL, NULL, 35, 35, 35, "Intermediate", "31-42",
     NULL},
    {"cepa", "37.0", NULL, NULL, "B1+", "B1+", NULL, NULL, 37, 37, 37, "Intermediate", NULL, NULL},
    {"cepa", "56.3", NULL, NULL, "B2+", "B2+", NULL, NULL, 56.3, 56.3, 56.3, "Advance Low", NULL,
     NULL},
    {"cepa", "35.7", NULL, NULL, "B1+", "B1+", NULL, NULL, 35.7, 35.7, 35.7, "Intermediate", NULL,
     NULL},
    {"cepa", "42.5", NULL, NULL, "B1+", "B1+", NULL, NULL, 42.5, 42.5, 42.5, "Intermediate",
     "lower row", NULL},
    /* scores: TrueNorth 8.00, 7.20, NotStarted 0.0; WebCAPE 825 and its placement */
    {"truenorth", "8.00", NULL, "truenorth", NULL, NULL, NULL, NULL, 8, 8, 80, NULL, "truenorth",
     "0-10"},
    {"truenorth", "7.20", NULL, "emmersion", NULL, NULL, NULL, NULL, 7.2, 7.2, 72, NULL, NULL,
     NULL},
    {"truenorth", "0.0", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL, NULL},
    {"webcape", "825", NULL, "emmersion", NULL, NULL, NULL, NULL, 825, 825, 82.5, NULL, "webcape",
     NULL},
    {"webcape", "825.00", NULL, NULL, NULL, NULL, NULL, NULL, 825, 825, 82.5, NULL, NULL, NULL},
    {"webcape", "Semester 4", NULL, NULL, NULL, NULL, NULL, NULL, N, N, N, "Semester 4",
     "placement", NULL},
    /* Testello (seeds/004) */
    {"testello", "78.0", NULL, "testello", NULL, NULL, NULL, NULL, 78, 78, 78, NULL, NULL, NULL},
    {"testello", "ESTJ", NULL, "testello", NULL, NULL, NULL, NULL, N, N, N, "ESTJ", "personality",
     NULL},
    /* eTest CT percentage at the pass mark */
    {"etest_ct", "70", NULL, "etest", NULL, NULL, NULL, NULL, 70, 70, 70, NULL, NULL, NULL},
    /* publisher bands as TrueNorth sends them (seeds/002-003) */
    {"toefl", "25-27", "speaking", "truenorth", "C1", "C1", NULL, NULL, 25, 27, N, NULL,
     "toefl_ibt speaking: 25 >= 25 -> C1", "ETS"},
    {"toefl_ibt", "25-27", "writing", NULL, "C1", "C1", NULL, NULL, 25, 27, N, NULL, NULL, NULL},
    {"ielts", "7 - 7.5", NULL, "truenorth", "C1", "C1", NULL, NULL, 7, 7.5, N, NULL,
     "ielts overall", "British Council"},
    {"ielts", "7 - 7.5", "overall", NULL, "C1", "C1", NULL, NULL, 7, 7.5, N, NULL, NULL, NULL},
    {"toeic", "170-180", "speaking", "truenorth", "B2", "C1", NULL, NULL, 170, 180, N, NULL,
     "170 >= 160 -> B2; 180 >= 180 -> C1", "TOEIC"},
    /* below every cut of a table: known, but no level */
    {"toefl", "25-27", NULL, NULL, NULL, NULL, NULL, NULL, 25, 27, N, NULL, NULL, NULL},
};
#undef N

static void num_or_null(json_object *o, const char *k, double want)
{
    double got = jnum(o, k);
    if (isnan(want)) {
        if (!jnull(o, k))
            print_error("%s: got %g, want null\n", k, got);
        assert_true(jnull(o, k));
    } else {
        assert_false(isnan(got));
        assert_float_equal(got, want, 1e-9);
    }
}

static void test_seed_labels(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
        const struct ok_case *c = &ok_cases[i];
        struct run r;
        json_object *o = run_json(&r, c->scale, c->value, c->skill, c->vendor);
        if (r.rc != EXIT_OK || !jknown(o))
            print_error("case %zu %s \"%s\": rc %d, %s\n", i, c->scale, c->value, r.rc, r.out);
        assert_int_equal(r.rc, EXIT_OK);
        assert_true(jknown(o));
        str_or_null(o, "value", c->value);
        str_or_null(o, "cefr_low", c->cefr_lo);
        str_or_null(o, "cefr_high", c->cefr_hi);
        str_or_null(o, "actfl_low", c->actfl_lo);
        str_or_null(o, "actfl_high", c->actfl_hi);
        num_or_null(o, "low", c->low);
        num_or_null(o, "high", c->high);
        num_or_null(o, "pct", c->pct);
        str_or_null(o, "category", c->category);
        str_or_null(o, "vendor", c->vendor);
        assert_non_null(jget_str(o, "rule"));
        assert_non_null(jget_str(o, "version"));
        assert_int_equal(strlen(jget_str(o, "version")), 12);
        assert_non_null(jget_str(o, "source"));
        if (c->rule_has && !strstr(jget_str(o, "rule"), c->rule_has))
            print_error("rule \"%s\" lacks \"%s\"\n", jget_str(o, "rule"), c->rule_has);
        if (c->rule_has)
            assert_non_null(strstr(jget_str(o, "rule"), c->rule_has));
        if (c->source_has)
            assert_non_null(strstr(jget_str(o, "source"), c->source_has));
        if (c->cefr_lo) { /* ranks agree with the canonical scale */
            json_object *v;
            assert_true(json_object_object_get_ex(o, "cefr_low_rank", &v));
            assert_true(json_object_get_int(v) >= 1 && json_object_get_int(v) <= 12);
        }
        assert_string_equal(r.err, ""); /* a known value says nothing on stderr */
        json_object_put(o);
    }
}

struct bad_case {
    const char *scale, *value, *skill, *msg_has;
};

static void test_unknown(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"cefr", "B7", NULL, "not a CEFR level"},
        {"cefr", "C1-B2", NULL, "descending"},
        {"cefr", "B2 to C1", NULL, "not a CEFR level"},
        {"actfl", "Advanced Medium", NULL, "not an ACTFL level"},
        {"cepa", "Advance Mid", NULL, "cepa_levels"},
        {"cepa", "101", NULL, "outside"},
        {"truenorth", "10.5", NULL, "outside the truenorth scale"},
        {"truenorth", "B2", NULL, "not a number"},
        {"webcape", "1001", NULL, "outside"},
        {"testello", "", NULL, "not done"},
        {"testello", "EXTJ", NULL, "not a number"},
        {"ielts", "7 - 7.5", "speaking", "overall"},
        {"toefl", "31", "reading", "outside"},
        {"toefl", "abc", NULL, "not a TOEFL iBT score"},
        {"toefl", "25", "overall", "no CEFR table"},
        {"toeic", "500", "reading", "outside"},
        {"nosuchscale", "B2", NULL, "unknown scale"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run r;
        json_object *o = run_json(&r, cases[i].scale, cases[i].value, cases[i].skill, NULL);
        if (r.rc != EXIT_UNKNOWN || !strstr(r.err, cases[i].msg_has))
            print_error("case %zu: rc %d, stderr [%s]\n", i, r.rc, r.err);
        assert_int_equal(r.rc, EXIT_UNKNOWN);
        assert_false(jknown(o));
        assert_non_null(strstr(r.err, cases[i].msg_has));
        assert_non_null(strstr(jget_str(o, "message"), cases[i].msg_has));
        assert_true(jnull(o, "cefr_low"));
        assert_true(jnull(o, "actfl_low"));
        json_object_put(o);
    }
}

static void test_text_and_usage(void **state)
{
    (void)state;
    struct run r;
    const char *text[] = {"--scales",
                          scales_path,
                          "--scale",
                          "actfl",
                          "--skill",
                          "speaking",
                          "Advanced Mid - Advanced High",
                          NULL};
    run(&r, text);
    assert_int_equal(r.rc, EXIT_OK);
    assert_non_null(strstr(r.out, "cefr        B2+ .. C1 (ranks 9..10)"));
    assert_non_null(strstr(r.out, "actfl       Advanced Mid .. Advanced High (ranks 8..9)"));
    assert_non_null(strstr(r.out, "rule        actfl_cefr productive: Advanced Mid -> B2.2 (B2+)"));
    assert_non_null(strstr(r.out, "source      ACTFL, Assigning CEFR Ratings"));
    assert_non_null(strstr(r.out, "version     "));

    /* options after VALUE, even after a "+" (stop at the first word) scan as in main.c */
    char *prime[] = {(char *)"scoresync", (char *)"explain", NULL};
    optind = 0;
    while (getopt_long(2, prime, "+h", NULL, NULL) != -1)
        ;
    const char *late[] = {"--scale",  "toeic",     "170-180", "--skill", "speaking",
                          "--scales", scales_path, "--json",  NULL};
    run(&r, late);
    assert_int_equal(r.rc, EXIT_OK);
    assert_non_null(strstr(r.out, "\"cefr_high\":\"C1\""));

    const char *unknown[] = {"--scales", scales_path, "--scale", "cefr", "Z9", NULL};
    run(&r, unknown);
    assert_int_equal(r.rc, EXIT_UNKNOWN);
    assert_non_null(strstr(r.out, "known       no"));
    assert_non_null(strstr(r.err, "\"Z9\" is not a CEFR level"));

    const char *const *usage[] = {
        (const char *[]){"--scales", scales_path, "B2", NULL},              /* no --scale */
        (const char *[]){"--scales", scales_path, "--scale", "cefr", NULL}, /* no value */
        (const char *[]){"--scales", scales_path, "--scale", "cefr", "B2", "C1", NULL},
        (const char *[]){"--scales", scales_path, "--scale", "toeic", "170", NULL}, /* skill */
        (const char *[]){"--scales", scales_path, "--scale", "toefl", "--skill", "oral", "25",
                         NULL},
        (const char *[]){"--scale", "cefr", "--bogus", "B2", NULL},
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        run(&r, usage[i]);
        if (r.rc != EXIT_USAGE)
            print_error("usage case %zu: rc %d\n", i, r.rc);
        assert_int_equal(r.rc, EXIT_USAGE);
        assert_string_equal(r.out, "");
        assert_string_not_equal(r.err, "");
    }
    const char *missing[] = {"--scales", "/nonexistent/scales.yaml", "--scale", "cefr", "B2", NULL};
    run(&r, missing);
    assert_int_equal(r.rc, EXIT_CONFIG);
    assert_non_null(strstr(r.err, "/nonexistent/scales.yaml"));
    const char *help[] = {"--help", NULL};
    run(&r, help);
    assert_int_equal(r.rc, EXIT_OK);
    assert_non_null(strstr(r.out, "Usage: scoresync"));
}

int main(void)
{
    const char *dir = getenv("SS_SOURCE_DIR");
    snprintf(scales_path, sizeof scales_path, "%s/config/scales.yaml",
             dir && *dir ? dir : SS_SOURCE_DIR);
    unsetenv("SCORESYNC_CONFIG");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_labels),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_text_and_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

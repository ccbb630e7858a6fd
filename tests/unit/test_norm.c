/* norm: every level, band and status label in the five seed documents
 * against config/scales.yaml, ranges and their rejects, norm_result on
 * seed-shaped records, scales_version and load errors (file:line: key). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/record.h"
#include "normalize/norm.h"
#include "scales_testlib.h"

#ifndef SS_SOURCE_DIR
#define SS_SOURCE_DIR "."
#endif

static char *config_path(void)
{
    const char *dir = getenv("SS_SOURCE_DIR");
    size_t n;
    char *p;
    if (!dir || !*dir)
        dir = SS_SOURCE_DIR;
    n = strlen(dir) + sizeof "/config/scales.yaml";
    p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/config/scales.yaml", dir);
    return p;
}

static int setup(void **state)
{
    struct ss_err err = {0};
    struct scales *s = NULL;
    char *path = config_path();
    int rc = scales_load(path, &s, &err);
    if (rc != 0)
        print_error("scales_load(%s): %s\n", path, err.msg);
    free(path);
    *state = s;
    return rc;
}

static int teardown(void **state)
{
    scales_free(*state);
    return 0;
}

/* ---- CEFR ------------------------------------------------------------- */

struct lvl_case {
    const char *label;
    const char *lo, *hi; /* expected codes; the ranks come from the table */
};

static void check_cefr(const struct scales *s, const struct lvl_case *c)
{
    int lo = -1, hi = -1;
    int rc = norm_cefr(s, c->label, &lo, &hi);
    if (rc != 0)
        print_error("norm_cefr(\"%s\") failed\n", c->label);
    assert_int_equal(rc, 0);
    assert_string_equal(norm_cefr_code(s, lo), c->lo);
    assert_string_equal(norm_cefr_code(s, hi), c->hi);
}

static void test_cefr_ranks(void **state)
{
    const struct scales *s = *state;
    /* The ordinal scale itself: CV 2020 levels plus the vendors' A1+/C1+. */
    static const char *const order[] = {"Pre A1", "A1", "A1+", "A2", "A2+", "B1",
                                        "B1+",    "B2", "B2+", "C1", "C1+", "C2"};
    for (int i = 0; i < 12; i++) {
        int lo = 0, hi = 0;
        assert_int_equal(norm_cefr(s, order[i], &lo, &hi), 0);
        assert_int_equal(lo, i + 1);
        assert_int_equal(hi, i + 1);
        assert_string_equal(norm_cefr_code(s, i + 1), order[i]);
    }
    assert_null(norm_cefr_code(s, 0));
    assert_null(norm_cefr_code(s, 13));
}

static void test_cefr_seed_labels(void **state)
{
    const struct scales *s = *state;
    static const struct lvl_case cases[] = {
        /* CEPA (seeds/000): test_cefr, cefr of the overall groups */
        {"B2", "B2", "B2"},
        {"B2+", "B2+", "B2+"},
        {"B1+", "B1+", "B1+"},
        /* TrueNorth / Emmersion (seeds/002, 003): cefrSpeakingLevel */
        {"B2-C1", "B2", "C1"},
        /* eTest (seeds/001): Pre A1 since v1.5.5, Pre-A1 before; "CT PRE A1"; A1+ CT */
        {"Pre A1", "Pre A1", "Pre A1"},
        {"Pre-A1", "Pre A1", "Pre A1"},
        {"PRE A1", "Pre A1", "Pre A1"},
        {"A1+", "A1+", "A1+"},
        /* aliases, case and whitespace */
        {"PreA1", "Pre A1", "Pre A1"},
        {"A0", "Pre A1", "Pre A1"},
        {"  b2+ ", "B2+", "B2+"},
        {"pre \t A1", "Pre A1", "Pre A1"},
        {"c1+", "C1+", "C1+"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_cefr(s, &cases[i]);
}

static void test_cefr_ranges(void **state)
{
    const struct scales *s = *state;
    static const struct lvl_case cases[] = {
        {"B2 - C1", "B2", "C1"},
        {"B2\xE2\x80\x93"
         "C1",
         "B2", "C1"},                       /* en dash */
        {"B2 \xE2\x80\x94 C1", "B2", "C1"}, /* em dash */
        {"B2+-C1", "B2+", "C1"},
        {"Pre-A1-A1", "Pre A1", "A1"}, /* the hyphen inside a name is not a split */
        {"Pre A1 - A2", "Pre A1", "A2"},
        {"B2-B2", "B2", "B2"},
        {"a2+ - b1", "A2+", "B1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_cefr(s, &cases[i]);

    static const char *const bad[] = {"B7",  "C1-B2",  "A1-A2-B1", "",  " ",    "-",    "B2-",
                                      "-B2", "B2--C1", "B2 to C1", "B", "A1++", "B2/C1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int lo = 77, hi = 77;
        if (norm_cefr(s, bad[i], &lo, &hi) != -1)
            print_error("norm_cefr(\"%s\") accepted as %d..%d\n", bad[i], lo, hi);
        assert_int_equal(norm_cefr(s, bad[i], &lo, &hi), -1);
        assert_int_equal(lo, 77); /* outputs untouched */
        assert_int_equal(hi, 77);
    }
    int lo, hi;
    assert_int_equal(norm_cefr(s, NULL, &lo, &hi), -1);
}

/* ---- ACTFL ------------------------------------------------------------- */

static void check_actfl(const struct scales *s, const char *label, const char *elo, const char *ehi)
{
    int lo = -1, hi = -1;
    int rc = norm_actfl(s, label, &lo, &hi);
    if (rc != 0)
        print_error("norm_actfl(\"%s\") failed\n", label);
    assert_int_equal(rc, 0);
    assert_string_equal(norm_actfl_code(s, lo), elo);
    assert_string_equal(norm_actfl_code(s, hi), ehi);
}

static void test_actfl(void **state)
{
    const struct scales *s = *state;
    static const char *const order[] = {"Novice Low",       "Novice Mid",       "Novice High",
                                        "Intermediate Low", "Intermediate Mid", "Intermediate High",
                                        "Advanced Low",     "Advanced Mid",     "Advanced High",
                                        "Superior",         "Distinguished"};
    for (int i = 0; i < 11; i++) {
        int lo = 0, hi = 0;
        assert_int_equal(norm_actfl(s, order[i], &lo, &hi), 0);
        assert_int_equal(lo, i + 1);
        assert_int_equal(hi, i + 1);
    }
    /* seeds/002, 003: actflSpeakingLevel */
    check_actfl(s, "Advanced Mid - Advanced High", "Advanced Mid", "Advanced High");
    check_actfl(s, "Advanced Mid-Advanced High", "Advanced Mid", "Advanced High");
    check_actfl(s, "advanced  mid", "Advanced Mid", "Advanced Mid");
    check_actfl(s, "Intermediate High \xE2\x80\x93 Superior", "Intermediate High", "Superior");
    assert_null(norm_actfl_code(s, 0));
    assert_null(norm_actfl_code(s, 12));

    static const char *const bad[] = {
        "Advanced High - Advanced Mid", "Advanced Medium", "Advanced", "B2", "", "Advanced Mid - "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int lo, hi;
        if (norm_actfl(s, bad[i], &lo, &hi) != -1)
            print_error("norm_actfl(\"%s\") accepted\n", bad[i]);
        assert_int_equal(norm_actfl(s, bad[i], &lo, &hi), -1);
    }
}

/* ---- bands --------------------------------------------------------------- */

static void test_bands(void **state)
{
    (void)state;
    static const struct {
        const char *label;
        double lo, hi;
    } ok[] = {
        {"25-27", 25, 27},     /* TOEFL, seeds/002-003 */
        {"7 - 7.5", 7, 7.5},   /* IELTS */
        {"170-180", 170, 180}, /* TOEIC */
        {"6.5", 6.5, 6.5},
        {" 7\xE2\x80\x93"
         "7.5 ",
         7, 7.5},
        {"0", 0, 0},
        {"30-30", 30, 30},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double lo = NAN, hi = NAN;
        int rc = norm_band(ok[i].label, &lo, &hi);
        if (rc != 0)
            print_error("norm_band(\"%s\") failed\n", ok[i].label);
        assert_int_equal(rc, 0);
        assert_true(lo == ok[i].lo);
        assert_true(hi == ok[i].hi);
    }
    static const char *const bad[] = {"abc",   "1-2-3", "",       "  ",  "7-", "-7",
                                      "27-25", "1e3",   "inf",    "nan", "7.", ".5",
                                      "0x10",  "7 7.5", "25-27a", "7,5", "+7", "1234567890123456"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double lo = 1, hi = 2;
        if (norm_band(bad[i], &lo, &hi) != -1)
            print_error("norm_band(\"%s\") accepted as %g..%g\n", bad[i], lo, hi);
        assert_int_equal(norm_band(bad[i], &lo, &hi), -1);
        assert_true(lo == 1 && hi == 2);
    }
    double lo, hi;
    assert_int_equal(norm_band(NULL, &lo, &hi), -1);
}

/* ---- statuses ------------------------------------------------------------- */

static void test_statuses(void **state)
{
    const struct scales *s = *state;
    static const struct {
        const char *vendor, *label, *canon;
    } cases[] = {
        /* seeds/002, 003: the five documented values */
        {"emmersion", "NotStarted", "not_started"},
        {"emmersion", "InProgress", "in_progress"},
        {"emmersion", "ScorePending", "score_pending"},
        {"emmersion", "Completed", "completed"},
        {"emmersion", "NeedsReview", "needs_review"},
        {"truenorth", "NotStarted", "not_started"},
        {"truenorth", "InProgress", "in_progress"},
        {"truenorth", "ScorePending", "score_pending"},
        {"truenorth", "Completed", "completed"},
        {"truenorth", "NeedsReview", "needs_review"},
        /* seeds/000 */
        {"cepa", "completed", "completed"},
        /* seeds/001 */
        {"etest", "complete", "completed"},
        {"etest", "pass", "completed"},
        /* seeds/004: done true/false */
        {"testello", "true", "completed"},
        {"testello", "false", "in_progress"},
        /* case-insensitive, whitespace tolerant, default table */
        {"emmersion", "  COMPLETED ", "completed"},
        {"emmersion", "notstarted", "not_started"},
        {"cepa", "In  Progress", "in_progress"},
        {"cepa", "expired", "expired"},
        {"nosuchvendor", "completed", "completed"},
        /* vendor-specific labels do not leak into other vendors */
        {"cepa", "NotStarted", "unknown"},
        {"emmersion", "true", "unknown"},
        {"emmersion", "Bogus", "unknown"},
        {"emmersion", "", "unknown"},
        {NULL, "completed", "completed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = norm_status(s, cases[i].vendor, cases[i].label);
        if (strcmp(got, cases[i].canon) != 0)
            print_error("norm_status(%s, \"%s\") = %s\n", cases[i].vendor, cases[i].label, got);
        assert_string_equal(got, cases[i].canon);
    }
    assert_string_equal(norm_status(s, "emmersion", NULL), "unknown");
}

static void test_score_scales(void **state)
{
    const struct scales *s = *state;
    struct score_scale sc;
    assert_int_equal(norm_score_scale(s, "emmersion", "TrueNorth", &sc), 0);
    assert_string_equal(sc.name, "truenorth");
    assert_true(sc.min == 0 && sc.max == 10 && sc.linear);
    assert_int_equal(norm_score_scale(s, "truenorth", "webcape", &sc), 0);
    assert_string_equal(sc.name, "webcape");
    assert_true(sc.min == 0 && sc.max == 1000);
    assert_int_equal(norm_score_scale(s, "cepa", "Oral Proficiency Assessment", &sc), 0);
    assert_string_equal(sc.name, "cepa");
    assert_true(sc.max == 100);
    assert_int_equal(norm_score_scale(s, "cepa", NULL, &sc), 0);
    assert_int_equal(norm_score_scale(s, "etest", "CT", &sc), 0);
    assert_int_equal(norm_score_scale(s, "etest", "PT", &sc), -1);
    assert_int_equal(norm_score_scale(s, "emmersion", "Other", &sc), -1);
    assert_int_equal(norm_score_scale(s, "nosuch", "TrueNorth", &sc), -1);
    assert_int_equal(norm_score_scale(s, NULL, "TrueNorth", &sc), -1);
}

/* ---- norm_result ----------------------------------------------------------- */

static struct ss_result *new_result(struct ss_batch *b, const char *type, const char *status,
                                    int has_score, double score)
{
    struct ss_result *r = batch_add_result(b);
    assert_non_null(r);
    r->assessment_type = ss_strdup(type);
    r->status_label = ss_strdup(status);
    r->has_score = has_score;
    r->score = has_score ? score : NAN;
    return r;
}

static int has_note(const struct ss_result *r, const char *text)
{
    return r->norm_notes && strstr(r->norm_notes, text) != NULL;
}

static void test_result_truenorth(void **state)
{
    const struct scales *s = *state;
    struct ss_batch b;
    batch_init(&b);
    /* seeds/002: the TrueNorth English Speaking report */
    struct ss_result *r = new_result(&b, "TrueNorth", "Completed", 1, 8.0);
    r->cefr.label = strdup("B2-C1");
    r->actfl.label = strdup("Advanced Mid - Advanced High");
    r->toefl.label = strdup("25-27");
    r->ielts.label = strdup("7 - 7.5");
    r->toeic.label = strdup("170-180");
    const char *labels[] = {r->cefr.label,  r->actfl.label, r->toefl.label,
                            r->ielts.label, r->toeic.label, r->status_label};

    norm_result(s, "truenorth", r);
    if (r->norm_notes)
        print_error("notes: %s\n", r->norm_notes);
    assert_null(r->norm_notes);
    assert_string_equal(r->status, "completed");
    assert_true(r->has_score);
    assert_float_equal(r->score, 8.0, 1e-12);
    assert_string_equal(r->score_scale, "truenorth");
    assert_float_equal(r->scale_min, 0, 1e-12);
    assert_float_equal(r->scale_max, 10, 1e-12);
    assert_float_equal(r->score_pct, 80.0, 1e-9);
    assert_string_equal(norm_cefr_code(s, r->cefr.low), "B2");
    assert_string_equal(norm_cefr_code(s, r->cefr.high), "C1");
    assert_string_equal(norm_actfl_code(s, r->actfl.low), "Advanced Mid");
    assert_string_equal(norm_actfl_code(s, r->actfl.high), "Advanced High");
    assert_null(r->cefr.rule);
    assert_true(r->toefl.low == 25 && r->toefl.high == 27);
    assert_true(r->ielts.low == 7 && r->ielts.high == 7.5);
    assert_true(r->toeic.low == 170 && r->toeic.high == 180);
    /* the parser's strings are the struct's: same pointers, same text */
    const char *after[] = {r->cefr.label,  r->actfl.label, r->toefl.label,
                           r->ielts.label, r->toeic.label, r->status_label};
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        assert_ptr_equal(labels[i], after[i]);
    assert_string_equal(r->cefr.label, "B2-C1");

    /* seeds/003: English Writing 7.20 */
    struct ss_result *w = new_result(&b, "TrueNorth", "Completed", 1, 7.2);
    norm_result(s, "emmersion", w);
    assert_float_equal(w->score_pct, 72.0, 1e-9);
    batch_free(&b); /* ASan: nothing leaked or double-freed */
}

static void test_result_webcape(void **state)
{
    const struct scales *s = *state;
    struct ss_batch b;
    batch_init(&b);
    struct ss_result *r = new_result(&b, "WebCAPE", "Completed", 1, 825.0);
    r->placement = strdup("Semester 4");
    norm_result(s, "emmersion", r);
    assert_null(r->norm_notes);
    assert_string_equal(r->score_scale, "webcape");
    assert_float_equal(r->score_pct, 82.5, 1e-9);
    assert_int_equal(r->cefr.low, 0); /* no levels on WebCAPE, and no note for absence */
    assert_int_equal(r->actfl.high, 0);
    assert_true(isnan(r->toefl.low) && isnan(r->toeic.high));
    assert_string_equal(r->placement, "Semester 4");
    batch_free(&b);
}

static void test_result_not_started(void **state)
{
    const struct scales *s = *state;
    struct ss_batch b;
    batch_init(&b);
    /* seeds/002: NotStarted carries "score": 0.0 */
    struct ss_result *r = new_result(&b, "TrueNorth", "NotStarted", 1, 0.0);
    norm_result(s, "truenorth", r);
    assert_string_equal(r->status, "not_started");
    assert_false(r->has_score);
    assert_true(isnan(r->score));
    assert_true(isnan(r->score_pct));
    assert_null(r->score_scale);
    assert_null(r->norm_notes);

    /* a real number on an unfinished attempt is dropped too, with a note */
    struct ss_result *p = new_result(&b, "TrueNorth", "ScorePending", 1, 6.5);
    norm_result(s, "emmersion", p);
    assert_string_equal(p->status, "score_pending");
    assert_false(p->has_score);
    assert_true(isnan(p->score_pct));
    assert_true(has_note(p, "dropped"));
    batch_free(&b);
}

static void test_result_out_of_range(void **state)
{
    const struct scales *s = *state;
    struct ss_batch b;
    batch_init(&b);
    struct ss_result *r = new_result(&b, "TrueNorth", "Completed", 1, 12.5);
    norm_result(s, "emmersion", r);
    assert_true(r->has_score);
    assert_float_equal(r->score, 12.5, 1e-12); /* raw kept */
    assert_true(isnan(r->score_pct));
    assert_string_equal(r->score_scale, "truenorth");
    assert_true(has_note(r, "outside"));

    struct ss_result *n = new_result(&b, "WebCAPE", "Completed", 1, -1.0);
    norm_result(s, "emmersion", n);
    assert_true(isnan(n->score_pct));
    assert_true(has_note(n, "outside"));

    /* the edges are inside */
    struct ss_result *e = new_result(&b, "WebCAPE", "Completed", 1, 1000.0);
    norm_result(s, "emmersion", e);
    assert_float_equal(e->score_pct, 100.0, 1e-9);
    assert_null(e->norm_notes);

    /* no scale for the type: score kept, no percentage, a note */
    struct ss_result *u = new_result(&b, "Mystery", "Completed", 1, 5.0);
    norm_result(s, "emmersion", u);
    assert_true(u->has_score);
    assert_null(u->score_scale);
    assert_true(isnan(u->score_pct));
    assert_true(has_note(u, "no score scale"));
    batch_free(&b);
}

static void test_result_unknown_labels(void **state)
{
    const struct scales *s = *state;
    struct ss_batch b;
    batch_init(&b);
    struct ss_result *r = new_result(&b, "TrueNorth", "Weird", 1, 5.0);
    r->cefr.label = strdup("B7");
    r->actfl.label = strdup("Advanced High - Advanced Mid");
    r->toefl.label = strdup("abc");
    r->ielts.label = strdup("1-2-3");
    r->toeic.label = strdup("");
    norm_result(s, "emmersion", r);
    assert_string_equal(r->status, "unknown");
    assert_false(r->has_score); /* not completed */
    assert_int_equal(r->cefr.low, 0);
    assert_int_equal(r->cefr.high, 0);
    assert_int_equal(r->actfl.low, 0);
    assert_int_equal(r->actfl.high, 0);
    assert_true(isnan(r->toefl.low) && isnan(r->toefl.high));
    assert_true(isnan(r->ielts.low) && isnan(r->toeic.low));
    assert_true(has_note(r, "unknown status \"Weird\""));
    assert_true(has_note(r, "unknown CEFR label \"B7\""));
    assert_true(has_note(r, "descending ACTFL range \"Advanced High - Advanced Mid\""));
    assert_true(has_note(r, "unparseable TOEFL band \"abc\""));
    assert_true(has_note(r, "unparseable IELTS band \"1-2-3\""));
    assert_true(has_note(r, "unparseable TOEIC band \"\""));
    assert_string_equal(r->cefr.label, "B7");

    struct ss_result *d = new_result(&b, "TrueNorth", "Completed", 1, 7.0);
    d->cefr.label = strdup("C1-B2");
    norm_result(s, "emmersion", d);
    assert_int_equal(d->cefr.low, 0);
    assert_true(has_note(d, "descending CEFR range \"C1-B2\""));
    assert_float_equal(d->score_pct, 70.0, 1e-9); /* the rest still normalised */

    struct ss_result *n = new_result(&b, NULL, NULL, 0, 0);
    norm_result(s, "emmersion", n);
    assert_string_equal(n->status, "unknown");
    assert_true(has_note(n, "no status"));
    batch_free(&b);
}

static void test_result_cepa(void **state)
{
    const struct scales *s = *state;
    struct ss_batch b;
    batch_init(&b);
    /* seeds/000 GetOverallResultByEmail: Reading & Listening 71.0, B2+, Advance Low */
    struct ss_result *r = new_result(&b, "Reading & Listening", "completed", 1, 71.0);
    r->cefr.label = strdup("B2+");
    r->placement = strdup("Advance Low");
    norm_result(s, "cepa", r);
    assert_null(r->norm_notes);
    assert_string_equal(r->status, "completed");
    assert_string_equal(r->score_scale, "cepa");
    assert_float_equal(r->score_pct, 71.0, 1e-9);
    assert_string_equal(norm_cefr_code(s, r->cefr.low), "B2+");
    assert_null(r->cefr.rule); /* reported directly */

    /* test_cefr missing: the level name stands in, and says so */
    static const struct {
        const char *name, *code;
    } seen[] = {{"Upper Intermediate", "B2"}, {"Advance Low", "B2+"}, {"Intermediate", "B1+"}};
    for (size_t i = 0; i < 3; i++) {
        struct ss_result *f = new_result(&b, "Speaking", "completed", 1, 49.0);
        f->placement = strdup(seen[i].name);
        norm_result(s, "cepa", f);
        assert_string_equal(norm_cefr_code(s, f->cefr.low), seen[i].code);
        assert_string_equal(norm_cefr_code(s, f->cefr.high), seen[i].code);
        assert_non_null(f->cefr.rule);
        assert_non_null(strstr(f->cefr.rule, seen[i].name));
        assert_null(f->cefr.label);
    }
    /* an unknown level name is noted and the score decides, through cepa_scores */
    struct ss_result *u = new_result(&b, "Speaking", "completed", 1, 49.0);
    u->placement = strdup("Wizard");
    norm_result(s, "cepa", u);
    assert_true(has_note(u, "unknown CEPA level \"Wizard\""));
    assert_string_equal(norm_cefr_code(s, u->cefr.low), "B2");
    assert_non_null(strstr(u->cefr.rule, "cepa_scores"));
    assert_non_null(strstr(u->cefr.rule, "Upper Intermediate"));
    /* neither name nor score: nothing derived, nothing invented */
    struct ss_result *z = new_result(&b, "Speaking", "completed", 0, 0);
    z->placement = strdup("Wizard");
    norm_result(s, "cepa", z);
    assert_int_equal(z->cefr.low, 0);
    assert_null(z->cefr.rule);

    /* the fallback is CEPA's alone */
    struct ss_result *o = new_result(&b, "WebCAPE", "Completed", 1, 500.0);
    o->placement = strdup("Intermediate");
    norm_result(s, "emmersion", o);
    assert_int_equal(o->cefr.low, 0);
    assert_null(o->cefr.rule);
    batch_free(&b);
}

static void test_result_etest_testello(void **state)
{
    const struct scales *s = *state;
    struct ss_batch b;
    batch_init(&b);
    struct ss_result *ct = new_result(&b, "CT", "pass", 1, 75.0);
    ct->completed_at = 1700000000000000; /* 2023: the 70 pass mark */
    ct->cefr.label = strdup("Pre-A1");
    norm_result(s, "etest", ct);
    assert_null(ct->norm_notes);
    assert_string_equal(ct->status, "completed");
    assert_float_equal(ct->score_pct, 75.0, 1e-9);
    assert_int_equal(ct->cefr.low, 1);

    struct ss_result *tt = new_result(&b, "English test", "true", 1, 78.0);
    norm_result(s, "testello", tt);
    assert_string_equal(tt->status, "completed");
    assert_string_equal(tt->score_scale, "testello");
    assert_float_equal(tt->score_pct, 78.0, 1e-9);

    /* "ESTJ": a text score, no number, nothing to scale, no note */
    struct ss_result *mb = new_result(&b, "Personality", "true", 0, 0);
    mb->score_label = strdup("ESTJ");
    norm_result(s, "testello", mb);
    assert_null(mb->norm_notes);
    assert_null(mb->score_scale);
    assert_string_equal(mb->score_label, "ESTJ");

    struct ss_result *nd = new_result(&b, "English test", "false", 0, 0);
    norm_result(s, "testello", nd);
    assert_string_equal(nd->status, "in_progress");
    batch_free(&b);
}

/* ---- ACTFL -> CEFR crosswalk, CEPA scores, pass marks in norm_result ---------- */

static struct ss_result *actfl_result(struct ss_batch *b, const char *actfl, const char *skill)
{
    struct ss_result *r = new_result(b, "TrueNorth", "Completed", 1, 8.0);
    r->actfl.label = ss_strdup(actfl);
    r->skill = ss_strdup(skill);
    return r;
}

static void test_result_crosswalk(void **state)
{
    const struct scales *s = *state;
    struct ss_batch b;
    batch_init(&b);
    /* ACTFL 2016, productive column (speaking, writing): AM -> B2.2 = B2+ */
    struct ss_result *r = actfl_result(&b, "Advanced Mid", "speaking");
    norm_result(s, "truenorth", r);
    assert_string_equal(norm_cefr_code(s, r->cefr.low), "B2+");
    assert_string_equal(norm_cefr_code(s, r->cefr.high), "B2+");
    assert_non_null(r->cefr.rule);
    assert_string_equal(r->cefr.rule, "actfl_cefr productive: Advanced Mid -> B2.2 (B2+)");
    assert_null(r->cefr.label); /* derived, not reported */
    assert_null(r->norm_notes);

    /* receptive column (reading, listening): AM -> B2 */
    r = actfl_result(&b, "Advanced Mid", "listening");
    norm_result(s, "emmersion", r);
    assert_string_equal(norm_cefr_code(s, r->cefr.low), "B2");
    assert_string_equal(r->cefr.rule, "actfl_cefr receptive: Advanced Mid -> B2 (B2)");

    /* the seed range, writing: AM -> B2.2 (B2+), AH -> C1 */
    r = actfl_result(&b, "Advanced Mid - Advanced High", "writing");
    norm_result(s, "emmersion", r);
    assert_string_equal(norm_cefr_code(s, r->cefr.low), "B2+");
    assert_string_equal(norm_cefr_code(s, r->cefr.high), "C1");
    assert_non_null(strstr(r->cefr.rule, "Advanced High -> C1 (C1)"));

    /* the sub-level is kept in the rule when it collapses: C1.1 -> C1 */
    r = actfl_result(&b, "Advanced High", "reading");
    norm_result(s, "emmersion", r);
    assert_string_equal(norm_cefr_code(s, r->cefr.low), "C1");
    assert_string_equal(r->cefr.rule, "actfl_cefr receptive: Advanced High -> C1.1 (C1)");

    /* "0" is no CEFR rating, not Pre A1 */
    r = actfl_result(&b, "Novice Mid", "speaking");
    norm_result(s, "emmersion", r);
    assert_int_equal(r->cefr.low, 0);
    assert_null(r->cefr.rule);
    assert_true(has_note(r, "assigns no CEFR rating"));

    /* unknown skill: nothing derived, a note */
    r = actfl_result(&b, "Advanced Mid", NULL);
    norm_result(s, "emmersion", r);
    assert_int_equal(r->cefr.low, 0);
    assert_true(has_note(r, "no CEFR from ACTFL \"Advanced Mid\""));
    r = actfl_result(&b, "Advanced Mid", "grammar");
    norm_result(s, "emmersion", r);
    assert_int_equal(r->cefr.low, 0);
    assert_true(has_note(r, "skill \"grammar\""));

    /* a vendor CEFR label wins; the crosswalk does not run */
    r = actfl_result(&b, "Advanced Mid - Advanced High", "speaking");
    r->cefr.label = strdup("B2-C1");
    norm_result(s, "truenorth", r);
    assert_string_equal(norm_cefr_code(s, r->cefr.low), "B2");
    assert_null(r->cefr.rule);

    /* never CEFR -> ACTFL */
    r = new_result(&b, "TrueNorth", "Completed", 1, 8.0);
    r->cefr.label = strdup("B2+");
    r->skill = strdup("speaking");
    norm_result(s, "truenorth", r);
    assert_int_equal(r->actfl.low, 0);
    assert_int_equal(r->actfl.high, 0);
    assert_null(r->actfl.rule);
    assert_null(r->actfl.label);

    /* renormalising recomputes the rule, it does not keep a stale one */
    r = actfl_result(&b, "Advanced Low", "speaking");
    norm_result(s, "emmersion", r);
    assert_string_equal(norm_cefr_code(s, r->cefr.low), "B2");
    free(r->actfl.label);
    r->actfl.label = strdup("Intermediate High");
    norm_result(s, "emmersion", r);
    assert_string_equal(norm_cefr_code(s, r->cefr.low), "B1+");
    assert_string_equal(r->cefr.rule, "actfl_cefr productive: Intermediate High -> B1.2 (B1+)");
    batch_free(&b);
}

/* seeds/000: CEPA scores without test_cefr or a level name, through cepa_scores. */
static void test_result_cepa_scores(void **state)
{
    const struct scales *s = *state;
    static const struct {
        double score;
        const char *code, *level;
    } cases[] = {
        {50, "B2", "Upper Intermediate"},   {71.0, "B2+", "Advance Low"},
        {49.0, "B2", "Upper Intermediate"}, {35.0, "B1+", "Intermediate"},
        {37.0, "B1+", "Intermediate"},      {56.3, "B2+", "Advance Low"},
        {35.7, "B1+", "Intermediate"},      {42.5, "B1+", "Intermediate"}, /* our rule */
        {0, "A1", "True Beginner"},         {100, "C2", "Proficient"},
    };
    struct ss_batch b;
    batch_init(&b);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ss_result *r = new_result(&b, "Speaking", "completed", 1, cases[i].score);
        norm_result(s, "cepa", r);
        if (!r->cefr.low || strcmp(norm_cefr_code(s, r->cefr.low), cases[i].code) != 0)
            print_error("CEPA %g -> %s\n", cases[i].score, norm_cefr_code(s, r->cefr.low));
        assert_string_equal(norm_cefr_code(s, r->cefr.low), cases[i].code);
        assert_int_equal(r->cefr.low, r->cefr.high);
        assert_non_null(strstr(r->cefr.rule, cases[i].level));
        assert_null(r->actfl.label);
        assert_int_equal(r->actfl.low, 0); /* "Advance Low" is never ACTFL */
    }
    /* a score the table does not cover: noted, not guessed */
    struct ss_result *o = new_result(&b, "Speaking", "completed", 1, 100.5);
    norm_result(s, "cepa", o);
    assert_int_equal(o->cefr.low, 0);
    assert_true(has_note(o, "not in cepa_scores"));
    batch_free(&b);
}

static void test_result_pass_marks(void **state)
{
    const struct scales *s = *state;
    /* eTest v1.5.4, 2022-01-20: CT pass mark 80 -> 70 */
    int64_t day = 86400LL * 1000000;
    int64_t cut = 1642636800LL * 1000000; /* 2022-01-20T00:00:00Z */
    static const struct {
        int64_t off;
        double score;
        int passed;
        const char *mark;
    } cases[] = {
        {0, 70.0, 1, ">= 70"},    {0, 69.9, 0, ">= 70"},  {1, 79.0, 1, ">= 70"},
        {-1, 79.9, 0, ">= 80"},   {-1, 80.0, 1, ">= 80"}, {-10 * 1, 75, 0, ">= 80"},
        {400, 100.0, 1, ">= 70"},
    };
    struct ss_batch b;
    batch_init(&b);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ss_result *r = new_result(&b, "CT", "pass", 1, cases[i].score);
        /* off: whole days, or -1 = the last microsecond before the change */
        r->completed_at = cases[i].off == -1 ? cut - 1 : cut + cases[i].off * day;
        norm_result(s, "etest", r);
        if (r->passed != cases[i].passed)
            print_error("case %zu: passed %d\n", i, r->passed);
        assert_int_equal(r->passed, cases[i].passed);
        assert_non_null(r->pass_rule);
        assert_non_null(strstr(r->pass_rule, cases[i].mark));
    }
    /* no mark without a score, a completed status, a known type or vendor */
    struct ss_result *n = new_result(&b, "CT", "pass", 0, 0);
    n->completed_at = cut;
    norm_result(s, "etest", n);
    assert_int_equal(n->passed, -1);
    assert_null(n->pass_rule);
    n = new_result(&b, "PT", "complete", 1, 90);
    n->completed_at = cut;
    norm_result(s, "etest", n);
    assert_int_equal(n->passed, -1);
    n = new_result(&b, "TrueNorth", "Completed", 1, 9.0);
    n->completed_at = cut;
    norm_result(s, "emmersion", n);
    assert_int_equal(n->passed, -1);
    assert_null(n->pass_rule);
    /* no completion date: the mark is unknown, noted */
    n = new_result(&b, "CT", "pass", 1, 75);
    norm_result(s, "etest", n);
    assert_int_equal(n->passed, -1);
    assert_true(has_note(n, "no pass mark"));
    batch_free(&b);
}

/* norm_result twice (renormalize) gives the same answer. */
static void test_result_idempotent(void **state)
{
    const struct scales *s = *state;
    struct ss_batch b;
    batch_init(&b);
    struct ss_result *r = new_result(&b, "WebCAPE", "Completed", 1, 825.0);
    r->cefr.label = strdup("B1");
    norm_result(s, "emmersion", r);
    norm_result(s, "emmersion", r);
    assert_float_equal(r->score_pct, 82.5, 1e-9);
    assert_int_equal(r->cefr.low, 6);
    assert_null(r->norm_notes);
    batch_free(&b);
}

/* ---- scales_version ------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_version(void **state)
{
    const struct scales *s = *state;
    char *path = config_path();
    size_t len;
    char *text = slurp(path, &len);

    /* the first 12 hex digits of the file's SHA-256 */
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen;
    char want[13];
    assert_int_equal(EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL), 1);
    for (int i = 0; i < 6; i++)
        snprintf(want + 2 * i, 3, "%02x", md[i]);
    assert_string_equal(scales_version(s), want);

    char tmp[] = "/tmp/test_norm_XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    close(fd);
    struct ss_err err = {0};
    struct scales *a = NULL, *c = NULL;
    write_file(tmp, text, len);
    assert_int_equal(scales_load(tmp, &a, &err), 0);
    assert_string_equal(scales_version(a), want); /* same content, same version */

    /* an edit in a table changes it */
    char *edited = malloc(len + 64);
    assert_non_null(edited);
    memcpy(edited, text, len);
    char *p = strstr(edited, "complete: completed");
    assert_non_null(p);
    memcpy(p, "complete: expired  ", strlen("complete: expired  "));
    write_file(tmp, edited, len);
    assert_int_equal(scales_load(tmp, &c, &err), 0);
    assert_string_not_equal(scales_version(c), scales_version(a));
    assert_string_equal(norm_status(c, "cepa", "complete"), "expired");
    assert_int_equal(strlen(scales_version(c)), 12);

    unlink(tmp);
    scales_free(a);
    scales_free(c);
    free(edited);
    free(text);
    free(path);
}

/* ---- load errors ------------------------------------------------------------- */

#define MINI_HEAD                                                                                  \
    "cefr:\n"                                                                                      \
    "  - {code: A1, rank: 1}\n"                                                                    \
    "  - {code: A2, rank: 2}\n"                                                                    \
    "actfl:\n"                                                                                     \
    "  - {code: Novice Low, rank: 1}\n"
#define MINI_STATUSES                                                                              \
    "statuses:\n"                                                                                  \
    "  default:\n"                                                                                 \
    "    completed: completed\n"

static void test_load_errors(void **state)
{
    (void)state;
    struct ss_err err = {0};
    struct scales *s = NULL;
    /* the minimal valid file loads */
    assert_int_equal(scales_load_string(MINI_HEAD MINI_STATUSES, "ok.yaml", &s, &err), 0);
    assert_string_equal(norm_status(s, "x", "Completed"), "completed");
    scales_free(s);

    load_bad(MINI_HEAD MINI_STATUSES "colour: blue\n", "bad.yaml:9: colour:", "unknown key");
    load_bad("cefr:\n  - {code: A1, rank: 1, colour: red}\n" MINI_STATUSES,
             "bad.yaml:2: cefr[0].colour:", "unknown key");
    /* wrong types */
    load_bad("cefr:\n  - {code: A1, rank: 1}\n  - {code: A2, rank: two}\n",
             "bad.yaml:3: cefr[1].rank:", "integer");
    load_bad("cefr:\n  - {code: A1, rank: \"1\"}\n", "bad.yaml:2: cefr[0].rank:", "integer");
    load_bad("cefr:\n  code: A1\n", "bad.yaml:2: cefr:", "expected a list");
    load_bad(MINI_HEAD "statuses:\n  default: [completed]\n",
             "bad.yaml:7: statuses.default:", "expected a mapping");
    load_bad(MINI_HEAD MINI_STATUSES "score_scales:\n  x:\n    T: {name: t, min: 0, max: ten, "
                                     "linear: true}\n",
             "bad.yaml:11: score_scales.x.T.max:", "number");
    load_bad(MINI_HEAD MINI_STATUSES "score_scales:\n  x:\n    T: {name: t, min: 0, max: 1, "
                                     "linear: maybe}\n",
             "score_scales.x.T.linear:", "true or false");
    /* duplicates */
    load_bad("cefr:\n  - {code: A1, rank: 1}\n  - {code: A2, rank: 2}\n  - {code: B1, rank: 2}\n",
             "bad.yaml:4: cefr[2].rank:", "duplicate rank 2");
    load_bad("cefr:\n  - {code: A1, rank: 1}\n  - {code: a1, rank: 2}\n",
             "bad.yaml:3: cefr[1].code", "already names level A1");
    load_bad("cefr:\n  - {code: A1, rank: 1, aliases: [A2]}\n  - {code: A2, rank: 2}\n",
             "cefr[1].code", "already names level A1");
    load_bad(MINI_HEAD "statuses:\n  default:\n    Done: completed\n    done: completed\n",
             "bad.yaml:9: statuses.default.done:", "duplicate label");
    load_bad(MINI_HEAD MINI_STATUSES "cepa_levels:\n  X: A1\n  X: A2\n",
             "bad.yaml:11:", "duplicate key");
    /* semantics */
    load_bad("cefr:\n  - {code: A1, rank: 0}\n", "cefr[0].rank:", "ranks start at 1");
    load_bad("cefr:\n  - {rank: 1}\n", "bad.yaml:2: cefr[0].code:", "missing");
    load_bad(MINI_HEAD "statuses:\n  default:\n    done: finished\n",
             "bad.yaml:8: statuses.default.done:", "not a canonical status");
    load_bad(MINI_HEAD "statuses:\n  emmersion:\n    done: completed\n",
             "statuses.default:", "missing");
    load_bad(MINI_HEAD MINI_STATUSES "cepa_levels:\n  Wizard: Z9\n",
             "bad.yaml:10: cepa_levels.Wizard:", "not a CEFR level");
    load_bad(MINI_HEAD MINI_STATUSES "score_scales:\n  x:\n    T: {name: t, min: 5, max: 1, "
                                     "linear: true}\n",
             "score_scales.x.T.max:", "greater than min");
    load_bad(MINI_HEAD MINI_STATUSES "toefl: [{a: 1}]\n", "bad.yaml:9: toefl:", "unknown key");
    load_bad(MINI_HEAD "actfl_x: 1\n", "actfl_x:", "unknown key");
    load_bad("", "bad.yaml", "empty document");
    load_bad("cefr: [\n", "bad.yaml:", "");
    load_bad(MINI_STATUSES, "cefr:", "missing");

    /* a missing file names the path */
    s = NULL;
    assert_int_equal(scales_load("/nonexistent/scales.yaml", &s, &err), -1);
    assert_null(s);
    assert_int_equal(err.code, SS_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/scales.yaml"));
}

/* ---- a vendor's fallback tables declared in YAML (vendor_levels) ------------- */

#define ACME_TABLES                                                                                \
    "cefr:\n"                                                                                      \
    "  - {code: A1, rank: 1}\n"                                                                    \
    "  - {code: A2, rank: 2}\n"                                                                    \
    "  - {code: B1, rank: 3}\n"                                                                    \
    "actfl:\n"                                                                                     \
    "  - {code: Novice Low, rank: 1}\n"                                                            \
    "statuses:\n"                                                                                  \
    "  default:\n"                                                                                 \
    "    done: completed\n"                                                                        \
    "score_scales:\n"                                                                              \
    "  acme:\n"                                                                                    \
    "    \"*\": {name: acme, min: 0, max: 50, linear: true}\n"                                     \
    "  other:\n"                                                                                   \
    "    \"*\": {name: other, min: 0, max: 50, linear: true}\n"                                    \
    "acme_levels:\n"                                                                               \
    "  Rookie: A1\n"                                                                               \
    "  Pro: B1\n"                                                                                  \
    "acme_scores:\n"                                                                               \
    "  - {min: 0, max: 19, level: Rookie, cefr: A1}\n"                                             \
    "  - {min: 20, max: 34, level: Middling, cefr: A2}\n"                                          \
    "  - {min: 35, max: 50, level: Pro, cefr: B1}\n"

static void test_vendor_levels_yaml(void **state)
{
    (void)state;
    struct ss_err err = {0};
    struct scales *s = NULL;
    struct ss_batch b;
    const char *yaml = ACME_TABLES "vendor_levels:\n"
                                   "  acme:\n"
                                   "    label: ACME\n"
                                   "    level_names: acme_levels\n"
                                   "    score_bands: acme_scores\n";
    if (scales_load_string(yaml, "acme.yaml", &s, &err) != 0)
        print_error("%s\n", err.msg);
    assert_non_null(s);
    batch_init(&b);

    /* the level name first */
    struct ss_result *r = new_result(&b, "Any", "done", 1, 10.0);
    r->placement = strdup("pro");
    norm_result(s, "acme", r);
    assert_string_equal(norm_cefr_code(s, r->cefr.low), "B1");
    assert_non_null(strstr(r->cefr.rule, "acme_levels"));
    /* then the score, with a note naming the vendor's label */
    struct ss_result *u = new_result(&b, "Any", "done", 1, 25.5);
    u->placement = strdup("Wizard");
    norm_result(s, "acme", u);
    assert_true(has_note(u, "unknown ACME level \"Wizard\""));
    assert_string_equal(norm_cefr_code(s, u->cefr.low), "A2");
    assert_non_null(strstr(u->cefr.rule, "acme_scores"));
    assert_non_null(strstr(u->cefr.rule, "Middling"));
    /* a score outside the table is noted, not guessed */
    struct ss_result *o = new_result(&b, "Any", "done", 1, 50.5);
    norm_result(s, "acme", o);
    assert_int_equal(o->cefr.low, 0);
    /* a CEFR label the vendor gave wins */
    struct ss_result *g = new_result(&b, "Any", "done", 1, 40.0);
    g->cefr.label = strdup("A1");
    g->placement = strdup("Pro");
    norm_result(s, "acme", g);
    assert_string_equal(norm_cefr_code(s, g->cefr.low), "A1");
    assert_null(g->cefr.rule);
    /* another vendor does not get acme's tables */
    struct ss_result *x = new_result(&b, "Any", "done", 1, 40.0);
    x->placement = strdup("Pro");
    norm_result(s, "other", x);
    assert_int_equal(x->cefr.low, 0);
    assert_null(x->cefr.rule);
    batch_free(&b);
    scales_free(s);

    /* without vendor_levels the tables load but apply to nobody */
    assert_int_equal(scales_load_string(ACME_TABLES, "acme.yaml", &s, &err), 0);
    batch_init(&b);
    struct ss_result *n = new_result(&b, "Any", "done", 1, 40.0);
    n->placement = strdup("Pro");
    norm_result(s, "acme", n);
    assert_int_equal(n->cefr.low, 0);
    batch_free(&b);
    scales_free(s);

    /* declarations are checked */
    load_bad(ACME_TABLES "vendor_levels:\n  acme:\n    level_names: nope_levels\n",
             "vendor_levels.acme.level_names:", "no level-name table \"nope_levels\"");
    load_bad(ACME_TABLES "vendor_levels:\n  acme:\n    score_bands: acme_levels\n",
             "vendor_levels.acme.score_bands:", "no score-band table");
    load_bad(ACME_TABLES "vendor_levels:\n  acme:\n    label: ACME\n",
             "vendor_levels.acme:", "neither level_names nor score_bands");
    load_bad(ACME_TABLES "vendor_levels:\n  acme:\n    level_name: acme_levels\n",
             "vendor_levels.acme.level_name:", "did you mean \"level_names\"");
    load_bad(ACME_TABLES "vendor_levels:\n  acme:\n    level_names: acme_levels\n"
                         "    sql_table: ref_acme\n",
             "vendor_levels.acme.sql_table:", "needs score_bands");
    load_bad(ACME_TABLES "vendor_levels:\n  acme:\n    score_bands: acme_scores\n"
                         "    sql_table: \"ref_x; DROP TABLE y\"\n",
             "vendor_levels.acme.sql_table:", "not a name");
    load_bad(ACME_TABLES "vendor_levels:\n  acme:\n    score_bands: acme_scores\n"
                         "    sql_table: ref_cefr_levels\n",
             "vendor_levels.acme.sql_table:", "not a name");
    /* the two tables of one name must agree */
    load_bad(ACME_TABLES "nope_levels:\n  X: A1\nnope_scores:\n"
                         "  - {min: 0, max: 1, level: x, cefr: A2}\n",
             "nope_scores[0].cefr:", "\"x\" is A1 in nope_levels");
    load_bad(ACME_TABLES "vendor_levels:\n  acme:\n    score_bands: acme_scores\n"
                         "  other:\n    score_bands: acme_scores\n    sql_table: ref_a\n"
                         "  third:\n    score_bands: acme_scores\n    sql_table: ref_b\n",
             "vendor_levels.third.sql_table:", "already exported to ref_a");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cefr_ranks),
        cmocka_unit_test(test_cefr_seed_labels),
        cmocka_unit_test(test_cefr_ranges),
        cmocka_unit_test(test_actfl),
        cmocka_unit_test(test_bands),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_score_scales),
        cmocka_unit_test(test_result_truenorth),
        cmocka_unit_test(test_result_webcape),
        cmocka_unit_test(test_result_not_started),
        cmocka_unit_test(test_result_out_of_range),
        cmocka_unit_test(test_result_unknown_labels),
        cmocka_unit_test(test_result_cepa),
        cmocka_unit_test(test_result_etest_testello),
        cmocka_unit_test(test_result_crosswalk),
        cmocka_unit_test(test_result_cepa_scores),
        cmocka_unit_test(test_result_pass_marks),
        cmocka_unit_test(test_result_idempotent),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_vendor_levels_yaml),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* scales tables: every published table in config/scales.yaml against the
 * values its publisher printed (docs/scales-sources.md), at every cut score:
 * the minimum maps to its level, just below it to the level under it (or to
 * nothing where the publisher maps nothing). Then the export rows and the
 * loader's checks on the new sections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "normalize/norm.h"
#include "scales_testlib.h"

#ifndef SS_SOURCE_DIR
#define SS_SOURCE_DIR "."
#endif

static int setup(void **state)
{
    struct ss_err err = {0};
    struct scales *s = NULL;
    const char *dir = getenv("SS_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/config/scales.yaml", dir && *dir ? dir : SS_SOURCE_DIR);
    int rc = scales_load(path, &s, &err);
    if (rc != 0)
        print_error("scales_load(%s): %s\n", path, err.msg);
    *state = s;
    return rc;
}

static int teardown(void **state)
{
    scales_free(*state);
    return 0;
}

/* The published tables, typed in from the sources (not read from the YAML). */
struct cut {
    const char *cefr;
    double min;
};

struct table {
    const char *scale, *skill;
    double step;         /* the score step: "min - step" is the next lower score */
    double smin, smax;   /* the skill's score range */
    struct cut cuts[6];  /* highest first; NULL-terminated */
    const char *between; /* unpublished level between the last two cuts, or NULL */
};

static const struct table tables[] = {
    /* ETS TOEFL iBT, CEFR mapping of 0-30 section / 0-120 total scores (RM-15-06) */
    {"toefl", "reading", 1, 0, 30, {{"C1", 24}, {"B2", 18}, {"B1", 4}, {NULL, 0}}, NULL},
    {"toefl", "listening", 1, 0, 30, {{"C1", 22}, {"B2", 17}, {"B1", 9}, {NULL, 0}}, NULL},
    {"toefl",
     "speaking",
     1,
     0,
     30,
     {{"C1", 25}, {"B2", 20}, {"B1", 16}, {"A2", 10}, {NULL, 0}},
     NULL},
    {"toefl",
     "writing",
     1,
     0,
     30,
     {{"C1", 24}, {"B2", 17}, {"B1", 13}, {"A2", 7}, {NULL, 0}},
     NULL},
    {"toefl", "total", 1, 0, 120, {{"C1", 95}, {"B2", 72}, {"B1", 42}, {NULL, 0}}, NULL},
    /* IELTS overall band (British Council / IELTS chart) */
    {"ielts",
     "overall",
     0.5,
     0,
     9,
     {{"C2", 8.5}, {"C1", 7.0}, {"B2", 5.5}, {"B1", 4.0}, {NULL, 0}},
     NULL},
    /* ETS TOEIC correlation tables (2020) */
    {"toeic",
     "listening",
     5,
     5,
     495,
     {{"C1", 490}, {"B2", 400}, {"B1", 275}, {"A2", 110}, {"A1", 60}, {NULL, 0}},
     NULL},
    {"toeic",
     "reading",
     5,
     5,
     495,
     {{"C1", 455}, {"B2", 385}, {"B1", 275}, {"A2", 115}, {"A1", 60}, {NULL, 0}},
     NULL},
    {"toeic",
     "speaking",
     10,
     0,
     200,
     {{"C1", 180}, {"B2", 160}, {"B1", 120}, {"A1", 50}, {NULL, 0}},
     "A2"},
    {"toeic",
     "writing",
     10,
     0,
     200,
     {{"C1", 180}, {"B2", 150}, {"B1", 120}, {"A1", 30}, {NULL, 0}},
     "A2"},
};

static void explain_ok(const struct scales *s, const char *scale, const char *skill, double v,
                       struct norm_explain *x)
{
    char value[32];
    struct ss_err err = {0};
    snprintf(value, sizeof value, "%g", v);
    assert_int_equal(norm_explain(s, scale, value, NULL, skill, x, &err), 0);
    if (!x->known)
        print_error("%s/%s %s: %s\n", scale, skill, value, x->message);
    assert_true(x->known);
}

static void expect(const struct scales *s, const struct norm_explain *x, const char *lo,
                   const char *hi, const char *what, double v)
{
    const char *glo = norm_cefr_code(s, x->cefr_low), *ghi = norm_cefr_code(s, x->cefr_high);
    int ok = lo ? glo && ghi && strcmp(glo, lo) == 0 && strcmp(ghi, hi) == 0 : !glo && !ghi;
    if (!ok)
        print_error("%s %g: got %s..%s, want %s..%s (%s)\n", what, v, glo ? glo : "none",
                    ghi ? ghi : "none", lo ? lo : "none", hi ? hi : "none", x->rule);
    assert_true(ok);
}

static void test_publisher_cuts(void **state)
{
    const struct scales *s = *state;
    struct norm_explain x;
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        const struct table *tb = &tables[t];
        size_t n = 0;
        while (tb->cuts[n].cefr)
            n++;
        for (size_t i = 0; i < n; i++) {
            const struct cut *c = &tb->cuts[i];
            /* the minimum itself */
            explain_ok(s, tb->scale, tb->skill, c->min, &x);
            if (tb->between && i == n - 1)
                expect(s, &x, c->cefr, tb->between, tb->skill, c->min);
            else
                expect(s, &x, c->cefr, c->cefr, tb->skill, c->min);
            /* one step and a tenth below it: the level under it, or nothing */
            double below[2] = {c->min - tb->step, c->min - 0.1};
            for (int k = 0; k < 2; k++) {
                if (below[k] < tb->smin)
                    continue;
                explain_ok(s, tb->scale, tb->skill, below[k], &x);
                if (i + 1 == n)
                    expect(s, &x, NULL, NULL, tb->skill, below[k]);
                else if (tb->between && i + 2 == n)
                    expect(s, &x, tb->cuts[i + 1].cefr, tb->between, tb->skill, below[k]);
                else
                    expect(s, &x, tb->cuts[i + 1].cefr, tb->cuts[i + 1].cefr, tb->skill, below[k]);
            }
        }
        /* the top of the scale is the top level; past either end is unknown */
        explain_ok(s, tb->scale, tb->skill, tb->smax, &x);
        expect(s, &x, tb->cuts[0].cefr, tb->cuts[0].cefr, tb->skill, tb->smax);
        char v[32];
        struct ss_err err = {0};
        snprintf(v, sizeof v, "%g", tb->smax + tb->step);
        assert_int_equal(norm_explain(s, tb->scale, v, NULL, tb->skill, &x, &err), 0);
        assert_false(x.known);
        assert_non_null(strstr(x.message, "outside"));
    }
}

/* CEPA's own table (cepatest.org): whole-number ranges, fractions to the lower row. */
static void test_cepa_cuts(void **state)
{
    const struct scales *s = *state;
    static const struct {
        double min, max;
        const char *level, *cefr;
    } rows[] = {
        {0, 3, "True Beginner", "A1"},        {4, 11, "Beginner", "A1+"},
        {12, 15, "Elementary", "A2"},         {16, 24, "Pre-Intermediate", "A2+"},
        {25, 30, "Intermediate Low", "B1"},   {31, 42, "Intermediate", "B1+"},
        {43, 50, "Upper Intermediate", "B2"}, {51, 72, "Advance Low", "B2+"},
        {73, 80, "Advanced", "C1"},           {81, 90, "Advanced High", "C1+"},
        {91, 100, "Proficient", "C2"},
    };
    struct norm_explain x;
    struct ss_err err = {0};
    char v[32];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        double probes[] = {rows[i].min, rows[i].max, rows[i].max + 0.5};
        for (int k = 0; k < 3; k++) {
            if (probes[k] > 100)
                continue;
            snprintf(v, sizeof v, "%g", probes[k]);
            assert_int_equal(norm_explain(s, "cepa", v, "cepa", NULL, &x, &err), 0);
            assert_true(x.known);
            expect(s, &x, rows[i].cefr, rows[i].cefr, "cepa", probes[k]);
            assert_string_equal(x.category, rows[i].level);
            assert_float_equal(x.pct, probes[k], 1e-9);
            assert_int_equal(x.actfl_low, 0);
        }
        if (rows[i].min > 0) { /* just below the minimum: the row below */
            snprintf(v, sizeof v, "%g", rows[i].min - 0.1);
            assert_int_equal(norm_explain(s, "cepa", v, NULL, NULL, &x, &err), 0);
            expect(s, &x, rows[i - 1].cefr, rows[i - 1].cefr, "cepa", rows[i].min - 0.1);
        }
        /* the level name gives the same CEFR (cepa_levels agrees with cepa_scores) */
        assert_int_equal(norm_explain(s, "cepa", rows[i].level, NULL, NULL, &x, &err), 0);
        assert_true(x.known);
        expect(s, &x, rows[i].cefr, rows[i].cefr, rows[i].level, 0);
    }
    static const char *const bad[] = {"-1", "100.1", "101", "Advance Mid", "Wizard", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(norm_explain(s, "cepa", bad[i], NULL, NULL, &x, &err), 0);
        assert_false(x.known);
        assert_int_equal(x.cefr_low, 0);
    }
}

/* ACTFL 2016, both columns, every row; "0" rows give no CEFR. */
static void test_actfl_columns(void **state)
{
    const struct scales *s = *state;
    static const struct {
        const char *actfl, *rec, *prod; /* canonical codes; NULL = no rating */
        const char *rec_sub, *prod_sub;
    } rows[] = {
        {"Distinguished", "C2", NULL, "C2", NULL},
        {"Superior", "C1", "C2", "C1.2", "C2"},
        {"Advanced High", "C1", "C1", "C1.1", "C1"},
        {"Advanced Mid", "B2", "B2+", "B2", "B2.2"},
        {"Advanced Low", "B1+", "B2", "B1.2", "B2.1"},
        {"Intermediate High", "B1", "B1+", "B1.1", "B1.2"},
        {"Intermediate Mid", "A2", "B1", "A2", "B1.1"},
        {"Intermediate Low", "A1", "A2", "A1.2", "A2"},
        {"Novice High", "A1", "A1", "A1.1", "A1"},
        {"Novice Mid", NULL, NULL, "0", "0"},
        {"Novice Low", NULL, NULL, "0", "0"},
    };
    static const char *const skills[] = {"reading", "listening", "speaking", "writing"};
    struct norm_explain x;
    struct ss_err err = {0};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        for (int k = 0; k < 4; k++) {
            int prod = k >= 2;
            const char *want = prod ? rows[i].prod : rows[i].rec;
            const char *sub = prod ? rows[i].prod_sub : rows[i].rec_sub;
            assert_int_equal(norm_explain(s, "actfl", rows[i].actfl, NULL, skills[k], &x, &err), 0);
            assert_true(x.known);
            assert_string_equal(norm_actfl_code(s, x.actfl_low), rows[i].actfl);
            expect(s, &x, want, want, rows[i].actfl, 0);
            if (want) {
                char r[128];
                snprintf(r, sizeof r, "actfl_cefr %s: %s -> %s (%s)",
                         prod ? "productive" : "receptive", rows[i].actfl, sub, want);
                assert_string_equal(x.rule, r);
            } else {
                assert_non_null(strstr(x.message, "no CEFR"));
            }
        }
    /* without a skill there is no column to read: ACTFL only */
    assert_int_equal(norm_explain(s, "actfl", "Advanced Mid", NULL, NULL, &x, &err), 0);
    assert_true(x.known);
    assert_int_equal(x.cefr_low, 0);
    assert_non_null(strstr(x.message, "--skill"));
    /* one-directional: a CEFR level never yields ACTFL */
    static const char *const cefr[] = {"B2", "B2+", "C1", "A2", "B2-C1"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(norm_explain(s, "cefr", cefr[i], NULL, "speaking", &x, &err), 0);
        assert_true(x.known);
        assert_int_equal(x.actfl_low, 0);
        assert_int_equal(x.actfl_high, 0);
    }
}

/* ---- export ---------------------------------------------------------------- */

struct rows {
    char text[64 * 1024];
    size_t used;
    int count, bad_width, stop_after;
};

static int collect(void *arg, const char *table, const char *const *v, int n)
{
    struct rows *r = arg;
    static const struct {
        const char *table;
        int n;
    } widths[] = {{"ref_cefr_levels", 3},  {"ref_actfl_levels", 2}, {"ref_actfl_cefr", 6},
                  {"ref_test_cefr", 6},    {"ref_cepa_levels", 5},  {"ref_status_map", 3},
                  {"ref_score_scales", 6}, {"ref_pass_marks", 5},   {"ref_sources", 2}};
    int want = -1;
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++)
        if (strcmp(widths[i].table, table) == 0)
            want = widths[i].n;
    if (want != n)
        r->bad_width++;
    int w = snprintf(r->text + r->used, sizeof r->text - r->used, "%s", table);
    r->used += (size_t)w;
    for (int i = 0; i < n; i++) {
        w = snprintf(r->text + r->used, sizeof r->text - r->used, "|%s", v[i] ? v[i] : "NULL");
        r->used += (size_t)w;
    }
    w = snprintf(r->text + r->used, sizeof r->text - r->used, "\n");
    r->used += (size_t)w;
    assert_true(r->used < sizeof r->text - 1);
    r->count++;
    return r->stop_after && r->count >= r->stop_after ? 42 : 0;
}

static int has_row(const struct rows *r, const char *line)
{
    char want[512];
    snprintf(want, sizeof want, "%s\n", line);
    /* at the start of a line */
    for (const char *p = r->text; (p = strstr(p, want)); p++)
        if (p == r->text || p[-1] == '\n')
            return 1;
    return 0;
}

static int count_prefix(const struct rows *r, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = r->text; *p;) {
        if (strncmp(p, prefix, len) == 0)
            n++;
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        p = nl + 1;
    }
    return n;
}

static void test_export(void **state)
{
    const struct scales *s = *state;
    static struct rows r;
    memset(&r, 0, sizeof r);
    assert_int_equal(scales_export(s, collect, &r), 0);
    assert_int_equal(r.bad_width, 0);
    static const char *const want[] = {
        "ref_cefr_levels|Pre A1|Pre-A1|1",
        "ref_cefr_levels|B2+|Vantage plus|9",
        "ref_cefr_levels|C2|Mastery|12",
        "ref_actfl_levels|Advanced Mid|8",
        "ref_actfl_levels|Distinguished|11",
        "ref_actfl_cefr|productive|Advanced Mid|8|B2.2|B2+|9",
        "ref_actfl_cefr|receptive|Advanced Mid|8|B2|B2|8",
        "ref_actfl_cefr|receptive|Superior|10|C1.2|C1|10",
        "ref_actfl_cefr|productive|Novice Mid|2|0|NULL|NULL",
        "ref_test_cefr|toefl_ibt|reading|C1|10|24|30",
        "ref_test_cefr|toefl_ibt|total|B1|6|42|NULL",
        "ref_test_cefr|ielts|overall|C1|10|7|8",
        "ref_test_cefr|ielts|overall|C2|12|8.5|9",
        "ref_test_cefr|toeic|speaking|A1|2|50|NULL",
        "ref_test_cefr|toeic|writing|B2|8|150|NULL",
        "ref_cepa_levels|51|72|B2+|9|Advance Low",
        "ref_cepa_levels|0|3|A1|2|True Beginner",
        "ref_status_map|emmersion|NotStarted|not_started",
        "ref_status_map|testello|true|completed",
        "ref_score_scales|emmersion|WebCAPE|webcape|0|1000|true",
        "ref_score_scales|testello|*|testello|0|100|true",
        "ref_pass_marks|etest|CT|70|2022-01-20T00:00:00Z|NULL",
        "ref_pass_marks|etest|CT|80|NULL|2022-01-20T00:00:00Z",
        "ref_pass_marks|etest|CT (CEFR Pre A1)|60|2022-07-20T00:00:00Z|NULL",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!has_row(&r, want[i]))
            print_error("missing row: %s\n", want[i]);
        assert_true(has_row(&r, want[i]));
    }
    /* what the publishers did not publish is not there */
    assert_int_equal(count_prefix(&r, "ref_test_cefr|toefl_ibt|reading|"), 3);
    assert_int_equal(count_prefix(&r, "ref_test_cefr|toefl_ibt|speaking|"), 4);
    assert_int_equal(count_prefix(&r, "ref_test_cefr|toefl_ibt|reading|C2"), 0);
    assert_int_equal(count_prefix(&r, "ref_test_cefr|toeic|speaking|A2"), 0);
    assert_int_equal(count_prefix(&r, "ref_test_cefr|toeic|writing|A2"), 0);
    assert_int_equal(count_prefix(&r, "ref_test_cefr|toeic|listening|"), 5);
    assert_int_equal(count_prefix(&r, "ref_test_cefr|ielts|"), 4);
    assert_int_equal(count_prefix(&r, "ref_test_cefr|ielts|overall|"), 4);
    assert_int_equal(count_prefix(&r, "ref_actfl_cefr|receptive|"), 11);
    assert_int_equal(count_prefix(&r, "ref_actfl_cefr|productive|"), 10);
    assert_int_equal(count_prefix(&r, "ref_actfl_cefr|productive|Distinguished"), 0);
    assert_int_equal(count_prefix(&r, "ref_cefr_levels|"), 12);
    assert_int_equal(count_prefix(&r, "ref_cepa_levels|"), 11);
    /* every table names its source */
    static const char *const tabs[] = {"cefr",       "actfl",    "actfl_cefr",  "toefl_ibt",
                                       "ielts",      "toeic",    "cepa_scores", "cepa_levels",
                                       "pass_marks", "statuses", "score_scales"};
    for (size_t i = 0; i < sizeof tabs / sizeof tabs[0]; i++) {
        char p[64];
        snprintf(p, sizeof p, "ref_sources|%s|", tabs[i]);
        if (count_prefix(&r, p) != 1)
            print_error("no source for %s\n", tabs[i]);
        assert_int_equal(count_prefix(&r, p), 1);
    }
    assert_non_null(strstr(r.text, "ref_sources|actfl_cefr|ACTFL, Assigning CEFR Ratings"));
    assert_null(strstr(r.text, "e+")); /* plain decimals */

    /* the callback can stop the walk; its value comes back */
    memset(&r, 0, sizeof r);
    r.stop_after = 5;
    assert_int_equal(scales_export(s, collect, &r), 42);
    assert_int_equal(r.count, 5);
}

/* ---- loader checks on the new sections --------------------------------------- */

#define HEAD                                                                                       \
    "cefr:\n"                                                                                      \
    "  - {code: A1, rank: 1}\n"                                                                    \
    "  - {code: A2, rank: 2}\n"                                                                    \
    "  - {code: B1, rank: 3}\n"                                                                    \
    "actfl:\n"                                                                                     \
    "  - {code: Novice Low, rank: 1}\n"                                                            \
    "  - {code: Novice Mid, rank: 2}\n"                                                            \
    "statuses:\n"                                                                                  \
    "  default:\n"                                                                                 \
    "    completed: completed\n"

static void test_load_new_sections(void **state)
{
    (void)state;
    struct ss_err err = {0};
    struct scales *s = NULL;
    const char *ok = HEAD "actfl_cefr:\n"
                          "  productive:\n"
                          "    - {actfl: Novice Mid, cefr: A1.2, code: A1}\n"
                          "    - {actfl: Novice Low, cefr: \"0\"}\n"
                          "toeic:\n"
                          "  speaking:\n"
                          "    scale: {min: 0, max: 200}\n"
                          "    unpublished: [A2]\n"
                          "    levels:\n"
                          "      - {cefr: A1, min: 50}\n"
                          "      - {cefr: B1, min: 120}\n"
                          "pass_marks:\n"
                          "  - {vendor: v, assessment_type: T, pass_mark: 5}\n"
                          "sources:\n"
                          "  toeic: \"ETS\"\n";
    if (scales_load_string(ok, "ok.yaml", &s, &err) != 0)
        print_error("%s\n", err.msg);
    assert_non_null(s);
    struct norm_explain x;
    /* levels given in any order; the unpublished A2 turns 100 into A1-A2 */
    assert_int_equal(norm_explain(s, "toeic", "100", NULL, "speaking", &x, &err), 0);
    assert_int_equal(x.cefr_low, 1);
    assert_int_equal(x.cefr_high, 2);
    assert_non_null(strstr(x.rule, "A2 cut unpublished"));
    assert_string_equal(x.source, "ETS");
    assert_int_equal(norm_explain(s, "toeic", "120", NULL, "speaking", &x, &err), 0);
    assert_int_equal(x.cefr_low, 3);
    assert_int_equal(x.cefr_high, 3);
    /* a toeic without a skill table answers so */
    assert_int_equal(norm_explain(s, "toeic", "120", NULL, "reading", &x, &err), 0);
    assert_false(x.known);
    scales_free(s);

    load_bad(HEAD "actfl_cefr:\n  both: []\n", "bad.yaml:12: actfl_cefr.both:", "receptive");
    load_bad(HEAD "actfl_cefr:\n  receptive:\n    - {actfl: Superior, cefr: C2, code: C2}\n",
             "bad.yaml:13: actfl_cefr.receptive[0].actfl:", "not a level");
    load_bad(HEAD "actfl_cefr:\n  receptive:\n    - {actfl: Novice Low, cefr: \"0\", code: A1}\n",
             "actfl_cefr.receptive[0].code:", "takes no code");
    load_bad(HEAD "actfl_cefr:\n  receptive:\n    - {actfl: Novice Low, cefr: A1.1}\n",
             "actfl_cefr.receptive[0].code:", "missing");
    load_bad(HEAD "actfl_cefr:\n  receptive:\n    - {actfl: Novice Low, cefr: X, code: Z9}\n",
             "actfl_cefr.receptive[0].code:", "not a CEFR level");
    load_bad(HEAD "actfl_cefr:\n  receptive:\n    - {actfl: Novice Low, cefr: A1, code: A1}\n"
                  "    - {actfl: novice low, cefr: A2, code: A2}\n",
             "actfl_cefr.receptive[1].actfl:", "duplicate");
    load_bad(HEAD "ielts:\n  oral:\n    scale: {min: 0, max: 9}\n    levels: []\n",
             "bad.yaml:12: ielts.oral:", "unknown skill");
    load_bad(HEAD "ielts:\n  overall:\n    scale: {min: 0, max: 9}\n    levels: []\n",
             "ielts.overall.levels:", "no levels");
    load_bad(HEAD "ielts:\n  overall:\n    scale: {min: 0, max: 9}\n    levels:\n"
                  "      - {cefr: B1, min: 4}\n      - {cefr: A2, min: 5}\n",
             "ielts.overall.levels:", "rise with the cut score");
    load_bad(HEAD "ielts:\n  overall:\n    scale: {min: 0, max: 9}\n    levels:\n"
                  "      - {cefr: B1, min: 10}\n",
             "ielts.overall.levels[0].min:", "outside the scale");
    load_bad(HEAD "ielts:\n  overall:\n    scale: {min: 0, max: 9}\n    levels:\n"
                  "      - {cefr: B1, min: 4}\n      - {cefr: A2, min: 4}\n",
             "ielts.overall.levels[1]:", "duplicate");
    load_bad(HEAD "ielts:\n  overall:\n    levels:\n      - {cefr: B1, min: 4}\n",
             "ielts.overall.scale:", "missing");
    load_bad(HEAD "ielts:\n  overall:\n    scale: {min: 0, max: 9}\n    unpublished: [B1]\n"
                  "    levels:\n      - {cefr: B1, min: 4}\n",
             "ielts.overall.unpublished[0]:", "published cut");
    load_bad(HEAD "cepa_levels:\n  Beginner: A1\ncepa_scores:\n"
                  "  - {min: 0, max: 3, level: Beginner, cefr: A2}\n",
             "bad.yaml:14: cepa_scores[0].cefr:", "A1 in cepa_levels");
    load_bad(HEAD "cepa_scores:\n  - {min: 0, max: 10, level: X, cefr: A1}\n"
                  "  - {min: 5, max: 20, level: Y, cefr: A2}\n",
             "cepa_scores[1].min:", "overlaps");
    load_bad(HEAD "cepa_scores:\n  - {min: 0, max: 10, level: X}\n",
             "cepa_scores[0].cefr:", "missing");
    load_bad(HEAD "pass_marks:\n  - {vendor: v, assessment_type: T, pass_mark: 5, valid_from: "
                  "\"2022-02-30\"}\n",
             "pass_marks[0].valid_from:", "YYYY-MM-DD");
    load_bad(HEAD "pass_marks:\n  - {vendor: v, assessment_type: T, pass_mark: 5}\n"
                  "  - {vendor: v, assessment_type: t, pass_mark: 6, valid_from: \"2020-01-01\"}\n",
             "pass_marks[1]:", "overlaps");
    load_bad(HEAD "pass_marks:\n  - {vendor: v, assessment_type: T, pass_mark: 5, valid_from: "
                  "\"2022-01-02\", valid_until: \"2022-01-01\"}\n",
             "pass_marks[0].valid_until:", "after valid_from");
    load_bad(HEAD "pass_marks:\n  - {vendor: v, pass_mark: 5}\n",
             "pass_marks[0].assessment_type:", "missing");
    load_bad(HEAD "sources:\n  toefl: ETS\n", "bad.yaml:12: sources.toefl:", "not a table");
}

/* ---- level scales found by name ------------------------------------------------ */

static int count_table(void *arg, const char *table, const char *const *v, int n)
{
    struct rows *r = arg;
    (void)v;
    if (strcmp(table, "ref_zeta_bands") == 0 && n == 5)
        r->count++;
    else if (strncmp(table, "ref_zeta", 8) == 0)
        r->bad_width++;
    return 0;
}

static void test_level_scale_by_name(void **state)
{
    (void)state;
    struct ss_err err = {0};
    struct scales *s = NULL;
    struct norm_explain x;
    /* tables named zeta_levels / zeta_scores, with no vendor_levels at all:
     * `explain zeta` finds them by name */
    const char *zeta = HEAD "zeta_levels:\n  Low: A1\n  High: B1\n"
                            "zeta_scores:\n"
                            "  - {min: 0, max: 9, level: Low, cefr: A1}\n"
                            "  - {min: 10, max: 20, level: High, cefr: B1}\n"
                            "score_scales:\n  zv:\n    \"*\": {name: zeta, min: 0, max: 20, "
                            "linear: true}\n";
    const char *with_vl = "vendor_levels:\n  zv:\n    label: Zeta\n    level_names: zeta_levels\n"
                          "    score_bands: zeta_scores\n    sql_table: ref_zeta_bands\n"
                          "sources:\n  zeta_scores: \"Zeta manual\"\n";
    if (scales_load_string(zeta, "zeta.yaml", &s, &err) != 0)
        print_error("%s\n", err.msg);
    assert_non_null(s);
    assert_int_equal(norm_explain(s, "zeta", "15", NULL, NULL, &x, &err), 0);
    assert_true(x.known);
    assert_int_equal(x.cefr_low, 3);
    assert_string_equal(x.category, "High");
    assert_non_null(strstr(x.rule, "zeta_scores"));
    assert_float_equal(x.pct, 75.0, 1e-9); /* the score scale of the same name */
    assert_int_equal(norm_explain(s, "zeta", "low", NULL, NULL, &x, &err), 0);
    assert_true(x.known);
    assert_int_equal(x.cefr_low, 1);
    assert_non_null(strstr(x.rule, "zeta_levels"));
    assert_int_equal(norm_explain(s, "zeta", "Middle", NULL, NULL, &x, &err), 0);
    assert_false(x.known);
    assert_non_null(strstr(x.message, "zeta_levels"));
    assert_int_equal(norm_explain(s, "zeta", "21", NULL, NULL, &x, &err), 0);
    assert_false(x.known);
    assert_non_null(strstr(x.message, "outside"));
    /* a name with no such tables is no scale */
    assert_int_equal(norm_explain(s, "eta", "1", NULL, NULL, &x, &err), -1);
    /* not exported: no SQL table is declared for them */
    struct rows r;
    memset(&r, 0, sizeof r);
    assert_int_equal(scales_export(s, count_table, &r), 0);
    assert_int_equal(r.count, 0);
    assert_null(scales_band_sql_table(s, 0));
    scales_free(s);

    /* declared for a made-up vendor: the vendor's name is a scale, its label
     * names the tables, and the rows go to the SQL table it names */
    char yaml[2048];
    snprintf(yaml, sizeof yaml, "%s%s", zeta, with_vl);
    if (scales_load_string(yaml, "zeta.yaml", &s, &err) != 0)
        print_error("%s\n", err.msg);
    assert_non_null(s);
    assert_int_equal(norm_explain(s, "zv", "Wizard", NULL, NULL, &x, &err), 0);
    assert_false(x.known);
    assert_non_null(strstr(x.message, "neither a Zeta score (0-20)"));
    assert_int_equal(norm_explain(s, "ZV", "3", NULL, NULL, &x, &err), 0);
    assert_true(x.known);
    assert_int_equal(x.cefr_low, 1);
    assert_string_equal(x.scale, "zv");
    assert_string_equal(x.source, "Zeta manual");
    memset(&r, 0, sizeof r);
    assert_int_equal(scales_export(s, count_table, &r), 0);
    assert_int_equal(r.count, 2);
    assert_int_equal(r.bad_width, 0);
    assert_string_equal(scales_band_sql_table(s, 0), "ref_zeta_bands");
    assert_null(scales_band_sql_table(s, 1));
    /* the unknown-scale message lists it */
    assert_int_equal(norm_explain(s, "nosuch", "1", NULL, NULL, &x, &err), -1);
    assert_non_null(strstr(err.msg, "zv"));
    scales_free(s);

    /* each kind of table has its shape */
    load_bad(HEAD "zeta_scores: {min: 0}\n", "bad.yaml:11: zeta_scores:", "expected a list");
    load_bad(HEAD "zeta_levels: [Low]\n", "bad.yaml:11: zeta_levels:", "expected a mapping");
}

/* A pass mark for one CEFR level (pass_marks[].cefr): it applies only to
 * results at that level, wins over the rows for any level, may overlap their
 * dates but not another row for the same level; its level must exist. */
static void test_pass_mark_level(void **state)
{
    (void)state;
    struct ss_err err = {0};
    struct scales *s = NULL;
    const char *yaml = HEAD "score_scales:\n"
                            "  v:\n"
                            "    T: {name: vt, min: 0, max: 100, linear: true}\n"
                            "pass_marks:\n"
                            "  - {vendor: v, assessment_type: T, pass_mark: 70}\n"
                            "  - {vendor: v, assessment_type: T, cefr: A1, pass_mark: 60, "
                            "valid_from: \"2022-07-20\", note: \"low\"}\n";
    if (scales_load_string(yaml, "ok.yaml", &s, &err) != 0)
        print_error("%s\n", err.msg);
    assert_non_null(s);
    const int64_t before = 1655000000LL * 1000000, after = 1700000000LL * 1000000;
    static const struct {
        const char *level;
        int after;
        int passed;
        const char *rule;
    } cases[] = {
        {"A1", 1, 1, "at CEFR A1 >= 60 from 2022-07-20 (low)"},
        {"a1", 1, 1, "at CEFR A1 >= 60"},
        {"A1", 0, 0, "v T >= 70"}, /* before the level's row: the general one */
        {"A2", 1, 0, "v T >= 70"},
        {NULL, 1, 0, "v T >= 70"},
        {"A1-A2", 1, 0, "v T >= 70"}, /* a range is not the one level */
    };
    struct ss_batch b;
    batch_init(&b);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ss_result *r = batch_add_result(&b);
        assert_non_null(r);
        r->assessment_type = strdup("T");
        r->status_label = strdup("completed");
        r->has_score = 1;
        r->score = 65;
        r->cefr.label = cases[i].level ? strdup(cases[i].level) : NULL;
        r->completed_at = cases[i].after ? after : before;
        norm_result(s, "v", r);
        if (r->passed != cases[i].passed || !r->pass_rule || !strstr(r->pass_rule, cases[i].rule))
            print_error("case %zu: passed %d by %s\n", i, r->passed,
                        r->pass_rule ? r->pass_rule : "(none)");
        assert_int_equal(r->passed, cases[i].passed);
        assert_non_null(strstr(r->pass_rule, cases[i].rule));
    }
    batch_free(&b);
    scales_free(s);

    load_bad(HEAD "pass_marks:\n  - {vendor: v, assessment_type: T, cefr: Z9, pass_mark: 5}\n",
             "pass_marks[0].cefr:", "not a level");
    load_bad(HEAD "pass_marks:\n  - {vendor: v, assessment_type: T, cefr: A1, pass_mark: 5}\n"
                  "  - {vendor: v, assessment_type: T, cefr: a1, pass_mark: 6, "
                  "valid_from: \"2020-01-01\"}\n",
             "pass_marks[1]:", "overlaps");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publisher_cuts),    cmocka_unit_test(test_cepa_cuts),
        cmocka_unit_test(test_actfl_columns),     cmocka_unit_test(test_export),
        cmocka_unit_test(test_load_new_sections), cmocka_unit_test(test_level_scale_by_name),
        cmocka_unit_test(test_pass_mark_level),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

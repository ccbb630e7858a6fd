/* norm: label parsers (CEFR/ACTFL ranges, numeric bands) and norm_result,
 * which turns the labels a vendor parser left in a result into ranks,
 * numbers, a canonical status and a percentage. Pure functions. */
#include "scales_priv.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/timeparse.h"

/* Length of a range separator at p: '-', en dash or em dash (UTF-8); 0 if none. */
static size_t sep_len(const char *p)
{
    if (p[0] == '-')
        return 1;
    if ((unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 &&
        ((unsigned char)p[2] == 0x93 || (unsigned char)p[2] == 0x94))
        return 3;
    return 0;
}

int sc_parse_levels(const struct sc_levels *t, const char *label, int *lo, int *hi)
{
    size_t n;
    int r;
    if (!label)
        return -1;
    n = strlen(label);
    /* The whole label first: some names contain a hyphen ("Pre-A1"). */
    if ((r = sc_level_rank(t, label, n)) > 0) {
        *lo = *hi = r;
        return 0;
    }
    /* Then every separator as a split point; the first one that leaves a
     * known level on both sides wins ("Pre-A1-A1" splits after "Pre-A1"). */
    for (size_t i = 0; i < n; i++) {
        size_t sl = sep_len(label + i);
        if (!sl)
            continue;
        int a = sc_level_rank(t, label, i);
        int b = a ? sc_level_rank(t, label + i + sl, n - i - sl) : 0;
        if (a && b) {
            if (a > b)
                return -2;
            *lo = a;
            *hi = b;
            return 0;
        }
        i += sl - 1;
    }
    return -1;
}

int norm_cefr(const struct scales *s, const char *label, int *lo, int *hi)
{
    int a, b;
    if (sc_parse_levels(&s->cefr, label, &a, &b) != 0)
        return -1;
    *lo = a;
    *hi = b;
    return 0;
}

int norm_actfl(const struct scales *s, const char *label, int *lo, int *hi)
{
    int a, b;
    if (sc_parse_levels(&s->actfl, label, &a, &b) != 0)
        return -1;
    *lo = a;
    *hi = b;
    return 0;
}

static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}

/* digits ['.' digits], by hand: strtod would accept "inf", "0x1p3", "1e9"
 * and depends on the locale's decimal point. */
static int parse_num(const char **pp, double *out)
{
    const char *p = *pp;
    double mant = 0, scale = 1;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (++digits > 15)
            return -1;
        mant = mant * 10 + (*p++ - '0');
    }
    if (digits == 0)
        return -1;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return -1;
        while (*p >= '0' && *p <= '9') {
            if (++digits > 15)
                return -1;
            mant = mant * 10 + (*p++ - '0');
            scale *= 10;
        }
    }
    *out = mant / scale; /* both exact: one rounding */
    *pp = p;
    return 0;
}

int norm_band(const char *label, double *lo, double *hi)
{
    double a, b;
    size_t sl;
    const char *p = label;
    if (!p)
        return -1;
    skip_ws(&p);
    if (parse_num(&p, &a) != 0)
        return -1;
    skip_ws(&p);
    if (*p == '\0') {
        *lo = *hi = a;
        return 0;
    }
    if (!(sl = sep_len(p)))
        return -1;
    p += sl;
    skip_ws(&p);
    if (parse_num(&p, &b) != 0)
        return -1;
    skip_ws(&p);
    if (*p != '\0' || a > b)
        return -1;
    *lo = a;
    *hi = b;
    return 0;
}

static void level_result(const struct sc_levels *t, const char *what, struct ss_level *lv,
                         struct ss_result *r)
{
    int rc;
    if (!lv->label)
        return;
    rc = sc_parse_levels(t, lv->label, &lv->low, &lv->high);
    if (rc == 0)
        return;
    lv->low = lv->high = 0;
    if (rc == -2)
        result_add_note(r, "descending %s range \"%s\"", what, lv->label);
    else
        result_add_note(r, "unknown %s label \"%s\"", what, lv->label);
}

static void band_result(const char *what, struct ss_band *bd, struct ss_result *r)
{
    if (!bd->label) {
        bd->low = bd->high = NAN;
        return;
    }
    if (norm_band(bd->label, &bd->low, &bd->high) != 0) {
        bd->low = bd->high = NAN;
        result_add_note(r, "unparseable %s band \"%s\"", what, bd->label);
    }
}

/* A rule text on the heap for r->cefr.rule (owned by the result). */
static void set_rule(struct ss_level *lv, const char *fmt, ...) SS_PRINTF(2, 3);
static void set_rule(struct ss_level *lv, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    free(lv->rule);
    lv->rule = strdup(buf);
}

/* CEPA without test_cefr: the level name the parser left in r->placement,
 * through cepa_levels; failing that the score, through cepa_scores. Never
 * the ACTFL table, though "Advance Low" looks like an ACTFL level. */
static void cepa_fallback(const struct scales *s, struct ss_result *r)
{
    const struct sc_name_level *e;
    const struct sc_cepa_score *c;
    if (r->cefr.label || r->cefr.low)
        return;
    if (r->placement) {
        if ((e = sc_cepa_level(s, r->placement))) {
            r->cefr.low = e->lo;
            r->cefr.high = e->hi;
            set_rule(&r->cefr, "cepa_levels: \"%s\" -> %s", r->placement, e->cefr);
            return;
        }
        result_add_note(r, "unknown CEPA level \"%s\"", r->placement);
    }
    if (!r->has_score)
        return;
    if (!(c = sc_cepa_score(s, r->score))) {
        result_add_note(r, "CEPA score %g is not in cepa_scores", r->score);
        return;
    }
    r->cefr.low = r->cefr.high = c->rank;
    set_rule(&r->cefr, "cepa_scores: %g in %g-%g \"%s\" -> %s", r->score, c->min, c->max, c->level,
             norm_cefr_code(s, c->rank));
}

/* ACTFL -> CEFR, only where the vendor gave ACTFL and no CEFR; the table is
 * one-directional, so nothing here ever fills r->actfl from r->cefr. */
static void actfl_crosswalk(const struct scales *s, struct ss_result *r)
{
    char rule[384];
    int g;
    if (r->cefr.label || r->cefr.low || !r->actfl.low)
        return;
    if ((g = sc_skill_group(r->skill)) < 0) {
        result_add_note(r,
                        "no CEFR from ACTFL \"%s\": skill %s%s%s is not reading, listening, "
                        "speaking or writing",
                        r->actfl.label, r->skill ? "\"" : "", r->skill ? r->skill : "unknown",
                        r->skill ? "\"" : "");
        return;
    }
    if (sc_crosswalk(s, g, r->actfl.low, r->actfl.high, &r->cefr.low, &r->cefr.high, rule,
                     sizeof rule) != 0) {
        result_add_note(r, "no CEFR from ACTFL \"%s\": %s", r->actfl.label, rule);
        return;
    }
    set_rule(&r->cefr, "%s", rule);
}

/* passed/pass_rule from the pass mark valid on the completion date. */
static void pass_result(const struct scales *s, const char *vendor, struct ss_result *r)
{
    char key[SC_KEY_MAX];
    r->passed = -1;
    r->pass_rule = NULL;
    if (!vendor || !r->has_score || strcmp(r->status, "completed") != 0 || !r->assessment_type ||
        sc_normkey(r->assessment_type, strlen(r->assessment_type), key, sizeof key) != 0)
        return;
    int marked = 0;
    for (size_t i = 0; i < s->n_pass; i++) {
        const struct sc_pass *p = &s->pass[i];
        if (strcmp(p->vendor, vendor) != 0 || strcmp(p->type, key) != 0)
            continue;
        marked = 1;
        if (r->completed_at == TS_NULL || r->completed_at < p->from || r->completed_at >= p->until)
            continue;
        r->passed = r->score >= p->mark;
        r->pass_rule = p->rule;
        return;
    }
    if (marked)
        result_add_note(r, "no pass mark for %s %s on %s", vendor, r->assessment_type,
                        r->completed_at == TS_NULL ? "an unknown completion date"
                                                   : "the completion date");
}

static void score_result(const struct scales *s, const char *vendor, struct ss_result *r)
{
    struct score_scale sc;
    r->score_scale = NULL;
    r->scale_min = r->scale_max = r->score_pct = NAN;
    if (r->has_score && isnan(r->score))
        r->has_score = 0;
    if (r->has_score && strcmp(r->status, "completed") != 0) {
        /* NotStarted carries "score": 0.0; only a real number is worth a note. */
        if (r->score != 0)
            result_add_note(r, "score %g dropped: status %s", r->score, r->status);
        r->has_score = 0;
        r->score = NAN;
    }
    if (!r->has_score)
        return;
    if (norm_score_scale(s, vendor, r->assessment_type, &sc) != 0) {
        result_add_note(r, "no score scale for %s/%s", vendor ? vendor : "?",
                        r->assessment_type ? r->assessment_type : "?");
        return;
    }
    r->score_scale = sc.name;
    r->scale_min = sc.min;
    r->scale_max = sc.max;
    if (r->score < sc.min || r->score > sc.max) {
        result_add_note(r, "score %g outside %s scale [%g, %g]", r->score, sc.name, sc.min, sc.max);
        return;
    }
    if (sc.linear)
        r->score_pct = (r->score - sc.min) * 100.0 / (sc.max - sc.min);
}

void norm_result(const struct scales *s, const char *vendor, struct ss_result *r)
{
    r->status = norm_status(s, vendor, r->status_label);
    if (strcmp(r->status, "unknown") == 0) {
        if (!r->status_label)
            result_add_note(r, "no status");
        else if (strcasecmp(r->status_label, "unknown") != 0)
            result_add_note(r, "unknown status \"%s\"", r->status_label);
    }
    score_result(s, vendor, r);

    pass_result(s, vendor, r);

    /* Derived levels are recomputed from the labels every time (renormalize). */
    r->cefr.low = r->cefr.high = 0;
    r->actfl.low = r->actfl.high = 0;
    free(r->cefr.rule);
    free(r->actfl.rule);
    r->cefr.rule = r->actfl.rule = NULL;
    level_result(&s->cefr, "CEFR", &r->cefr, r);
    level_result(&s->actfl, "ACTFL", &r->actfl, r);
    if (vendor && strcmp(vendor, "cepa") == 0)
        cepa_fallback(s, r);
    actfl_crosswalk(s, r);

    band_result("TOEFL", &r->toefl, r);
    band_result("IELTS", &r->ielts, r);
    band_result("TOEIC", &r->toeic, r);
}

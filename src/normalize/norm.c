/* norm: norm_result, which turns the labels a vendor parser left in a
 * result into ranks, numbers, a canonical status and a percentage, through
 * the lookups of scales.c. Pure functions. */
#include "norm.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/timeparse.h"
#include "scales_priv.h"

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

/* A result without a CEFR label, of a vendor with vendor_levels: the level
 * name the parser left in r->placement, through its level-name table;
 * failing that the score, through its score-band table. Never the ACTFL
 * table, though a vendor's level name may look like an ACTFL level. */
static void vendor_fallback(const struct scales *s, const struct sc_vendor_levels *vl,
                            struct ss_result *r)
{
    const struct sc_name_level *e;
    const struct sc_band *c;
    if (r->cefr.label || r->cefr.low)
        return;
    if (r->placement && vl->names) {
        if ((e = sc_name_find(vl->names, r->placement))) {
            r->cefr.low = e->lo;
            r->cefr.high = e->hi;
            set_rule(&r->cefr, "%s: \"%s\" -> %s", vl->names->name, r->placement, e->cefr);
            return;
        }
        result_add_note(r, "unknown %s level \"%s\"", vl->label, r->placement);
    }
    if (!r->has_score || !vl->bands)
        return;
    if (!(c = sc_band_find(vl->bands, r->score))) {
        result_add_note(r, "%s score %g is not in %s", vl->label, r->score, vl->bands->name);
        return;
    }
    r->cefr.low = r->cefr.high = c->rank;
    set_rule(&r->cefr, "%s: %g in %g-%g \"%s\" -> %s", vl->bands->name, r->score, c->min, c->max,
             c->level, norm_cefr_code(s, c->rank));
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
    int marked = 0, lo = 0, hi = 0;
    /* A row for the result's own (single) CEFR level wins over a row for any. */
    if (r->cefr.label && (sc_parse_levels(&s->cefr, r->cefr.label, &lo, &hi) != 0 || lo != hi))
        lo = 0;
    const struct sc_pass *any = NULL;
    for (size_t i = 0; i < s->n_pass; i++) {
        const struct sc_pass *p = &s->pass[i];
        if (strcmp(p->vendor, vendor) != 0 || strcmp(p->type, key) != 0)
            continue;
        marked = 1;
        if (r->completed_at == TS_NULL || r->completed_at < p->from || r->completed_at >= p->until)
            continue;
        if (p->cefr && p->cefr == lo) {
            any = p;
            break;
        }
        if (!p->cefr && !any)
            any = p;
    }
    if (any) {
        r->passed = r->score >= any->mark;
        r->pass_rule = any->rule;
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

/* A pass the vendor parser decided from a pass mark the vendor sends with
 * the result itself (it sets passed and a static pass_rule: a per-test pass
 * percentage from the vendor's catalogue) stands where scales.yaml decides
 * none, for a completed result with a score. */
static void pass_or_vendor(const struct scales *s, const char *vendor, struct ss_result *r)
{
    int vendor_passed = r->pass_rule ? r->passed : -1;
    const char *vendor_rule = r->pass_rule;
    pass_result(s, vendor, r);
    if (r->passed < 0 && !r->pass_rule && vendor_passed >= 0 && r->has_score &&
        strcmp(r->status, "completed") == 0) {
        r->passed = vendor_passed;
        r->pass_rule = vendor_rule;
    }
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

    pass_or_vendor(s, vendor, r);

    /* Derived levels are recomputed from the labels every time (renormalize). */
    r->cefr.low = r->cefr.high = 0;
    r->actfl.low = r->actfl.high = 0;
    free(r->cefr.rule);
    free(r->actfl.rule);
    r->cefr.rule = r->actfl.rule = NULL;
    level_result(&s->cefr, "CEFR", &r->cefr, r);
    level_result(&s->actfl, "ACTFL", &r->actfl, r);
    const struct sc_vendor_levels *vl = sc_vendor_levels(s, vendor);
    if (vl)
        vendor_fallback(s, vl, r);
    actfl_crosswalk(s, r);

    band_result("TOEFL", &r->toefl, r);
    band_result("IELTS", &r->ielts, r);
    band_result("TOEIC", &r->toeic, r);
}

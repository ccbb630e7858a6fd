/* explain: how one label or score normalises, for `scoresync explain` and
 * for an operator checking a mapping before a run. Reads the same tables as
 * norm_result(); touches nothing else. */
#include "norm.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "scales_priv.h"

static void msg(struct norm_explain *out, const char *fmt, ...) SS_PRINTF(2, 3);
static void msg(struct norm_explain *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
}

static void rule(struct norm_explain *out, const char *fmt, ...) SS_PRINTF(2, 3);
static void rule(struct norm_explain *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->rule, sizeof out->rule, fmt, ap);
    va_end(ap);
}

static void ex_cefr(const struct scales *s, const char *value, struct norm_explain *out)
{
    int rc = sc_parse_levels(&s->cefr, value, &out->cefr_low, &out->cefr_high);
    out->source = sc_source(s, "cefr");
    if (rc != 0) {
        out->cefr_low = out->cefr_high = 0;
        msg(out,
            rc == -2 ? "\"%s\" is a descending CEFR range"
                     : "\"%s\" is not a CEFR level "
                       "or range in the cefr table",
            value);
        return;
    }
    out->known = 1;
    rule(out, "cefr: \"%s\" -> %s..%s (ranks %d..%d)", value, norm_cefr_code(s, out->cefr_low),
         norm_cefr_code(s, out->cefr_high), out->cefr_low, out->cefr_high);
    msg(out, "no ACTFL level is derived from CEFR (ACTFL's alignment is one-directional)");
}

static void ex_actfl(const struct scales *s, const char *value, const char *skill,
                     struct norm_explain *out)
{
    int g, rc = sc_parse_levels(&s->actfl, value, &out->actfl_low, &out->actfl_high);
    out->source = sc_source(s, "actfl");
    if (rc != 0) {
        out->actfl_low = out->actfl_high = 0;
        msg(out,
            rc == -2 ? "\"%s\" is a descending ACTFL range"
                     : "\"%s\" is not an ACTFL "
                       "level or range in the actfl "
                       "table",
            value);
        return;
    }
    out->known = 1;
    rule(out, "actfl: \"%s\" -> %s..%s", value, norm_actfl_code(s, out->actfl_low),
         norm_actfl_code(s, out->actfl_high));
    if (!skill) {
        msg(out, "no CEFR without --skill: ACTFL's receptive (reading, listening) and productive "
                 "(speaking, writing) columns differ");
        return;
    }
    if ((g = sc_skill_group(skill)) < 0) {
        msg(out,
            "skill \"%s\" has no column in actfl_cefr (reading, listening, speaking, "
            "writing)",
            skill);
        return;
    }
    out->source = sc_source(s, "actfl_cefr");
    if (sc_crosswalk(s, g, out->actfl_low, out->actfl_high, &out->cefr_low, &out->cefr_high,
                     out->rule, sizeof out->rule) != 0)
        msg(out, "no CEFR level: %s", out->rule);
}

static const char *test_label(const char *test)
{
    return strcmp(test, "toefl_ibt") == 0 ? "TOEFL iBT"
           : strcmp(test, "ielts") == 0   ? "IELTS"
                                          : "TOEIC";
}

/* Appends "25 >= 24 -> C1" for one end of a band to out->rule. */
static void cut_text(const struct scales *s, const struct sc_test *t, double v, int lo, int hi,
                     const struct sc_cut *row, char *buf, size_t n)
{
    if (!row)
        snprintf(buf, n, "%g below the lowest cut %g (%s): not mapped", v, t->v[t->n - 1].min,
                 norm_cefr_code(s, t->v[t->n - 1].rank));
    else if (lo == hi)
        snprintf(buf, n, "%g >= %g -> %s", v, row->min, norm_cefr_code(s, lo));
    else
        snprintf(buf, n, "%g >= %g -> %s, %s cut unpublished -> %s-%s", v, row->min,
                 norm_cefr_code(s, lo), norm_cefr_code(s, hi), norm_cefr_code(s, lo),
                 norm_cefr_code(s, hi));
}

static void ex_test(const struct scales *s, const char *test, const char *value, const char *skill,
                    struct norm_explain *out)
{
    const struct sc_test *t;
    const struct sc_cut *ra, *rb;
    int alo, ahi, blo, bhi;
    char ta[160], tb[160];
    out->source = sc_source(s, test);
    if (norm_band(value, &out->low, &out->high) != 0) {
        out->low = out->high = NAN;
        msg(out, "\"%s\" is not a %s score or score range", value, test_label(test));
        return;
    }
    if (strcmp(test, "ielts") == 0 && strcasecmp(skill, "overall") != 0) {
        msg(out, "IELTS maps only the overall band to CEFR, not the %s band", skill);
        return;
    }
    if (!(t = sc_test_find(s, test, skill))) {
        msg(out, "%s has no CEFR table for skill \"%s\"", test_label(test), skill);
        return;
    }
    if (sc_test_lookup(t, out->low, &alo, &ahi, &ra) != 0 ||
        sc_test_lookup(t, out->high, &blo, &bhi, &rb) != 0) {
        msg(out, "\"%s\" is outside the %s %s scale %g-%g", value, test_label(test), t->skill,
            t->smin, t->smax);
        return;
    }
    out->known = 1;
    cut_text(s, t, out->low, alo, ahi, ra, ta, sizeof ta);
    if (out->low == out->high) {
        rule(out, "%s %s: %s", test, t->skill, ta);
    } else {
        cut_text(s, t, out->high, blo, bhi, rb, tb, sizeof tb);
        rule(out, "%s %s: %s; %s", test, t->skill, ta, tb);
    }
    /* Half a range below every cut: say nothing rather than guess. */
    if (!ra || !rb) {
        msg(out, "%s maps no CEFR level below %g for %s", test_label(test), t->v[t->n - 1].min,
            t->skill);
        return;
    }
    out->cefr_low = alo;
    out->cefr_high = bhi;
}

/* A number or a number range ("42.5", "35 - 37"); 0 on success. */
static int numeric(const char *value, struct norm_explain *out)
{
    if (norm_band(value, &out->low, &out->high) == 0)
        return 0;
    out->low = out->high = NAN;
    return -1;
}

/* A level scale: a vendor's level-name and score-band tables, found by the
 * scale name (a vendor_levels entry, or the tables <name>_levels and
 * <name>_scores). */
struct level_scale {
    const char *name, *label;
    const struct sc_name_table *names;
    const struct sc_band_table *bands;
};

static int level_scale(const struct scales *s, const char *scale, struct level_scale *ls)
{
    char t[160];
    memset(ls, 0, sizeof *ls);
    for (size_t i = 0; i < s->n_vl; i++)
        if (strcasecmp(s->vl[i].vendor, scale) == 0) {
            ls->name = s->vl[i].vendor;
            ls->label = s->vl[i].label;
            ls->names = s->vl[i].names;
            ls->bands = s->vl[i].bands;
            return 0;
        }
    snprintf(t, sizeof t, "%s_levels", scale);
    ls->names = sc_name_table(s, t);
    snprintf(t, sizeof t, "%s_scores", scale);
    ls->bands = sc_band_table(s, t);
    return ls->names || ls->bands ? 0 : -1;
}

static void ex_level_scale(const struct scales *s, const struct level_scale *ls, const char *value,
                           struct norm_explain *out)
{
    const char *label = ls->label ? ls->label : out->scale;
    if (numeric(value, out) == 0 && ls->bands) {
        const struct sc_band_table *t = ls->bands;
        const struct sc_band *a = sc_band_find(t, out->low), *b = sc_band_find(t, out->high);
        const struct sc_scale *sc = sc_scale_named(s, out->scale);
        out->source = sc_source(s, t->name);
        if (!a || !b) {
            msg(out, "\"%s\" is outside %s's %g-%g score table (%s)", value, label, t->v[0].min,
                t->v[t->n - 1].max, t->name);
            return;
        }
        out->known = 1;
        out->cefr_low = a->rank;
        out->cefr_high = b->rank;
        if (a == b) {
            out->category = a->level;
            rule(out, "%s: %s in %g-%g \"%s\" -> %s%s", t->name, value, a->min, a->max, a->level,
                 norm_cefr_code(s, a->rank),
                 out->high > a->max ? " (between two rows: the lower row, our rule)" : "");
        } else {
            rule(out, "%s: %g in %g-%g \"%s\" -> %s; %g in %g-%g \"%s\" -> %s", t->name, out->low,
                 a->min, a->max, a->level, norm_cefr_code(s, a->rank), out->high, b->min, b->max,
                 b->level, norm_cefr_code(s, b->rank));
        }
        /* the percentage of the score scale of the same name, if linear */
        if (out->low == out->high && sc && sc->linear)
            out->pct = (out->low - sc->min) * 100.0 / (sc->max - sc->min);
        return;
    }
    const struct sc_name_level *e = sc_name_find(ls->names, value);
    const char *tname = ls->names ? ls->names->name : "(no level-name table)";
    out->low = out->high = NAN;
    out->source = ls->names ? sc_source(s, ls->names->name) : NULL;
    if (!e) {
        if (ls->bands)
            msg(out, "\"%s\" is neither a %s score (%g-%g) nor a level name in %s", value, label,
                ls->bands->v[0].min, ls->bands->v[ls->bands->n - 1].max, tname);
        else
            msg(out, "\"%s\" is not a level name in %s", value, tname);
        return;
    }
    out->known = 1;
    out->cefr_low = e->lo;
    out->cefr_high = e->hi;
    out->category = value;
    rule(out, "%s: \"%s\" -> %s", tname, value, e->cefr);
    msg(out, "%s's own level name, not the ACTFL table", label);
}

/* Pass marks of the vendor/type pairs that use this scale, for the message. */
static void pass_note(const struct scales *s, const struct sc_scale *e, double v,
                      struct norm_explain *out)
{
    size_t used = 0;
    for (size_t i = 0; i < s->n_pass; i++) {
        const struct sc_pass *p = &s->pass[i];
        int hit = 0;
        for (size_t j = 0; j < s->n_sc; j++)
            hit |= strcmp(s->sc[j].name, e->name) == 0 && strcmp(s->sc[j].vendor, p->vendor) == 0 &&
                   strcmp(s->sc[j].type, p->type) == 0;
        if (!hit || used >= sizeof out->message - 1)
            continue;
        int w = snprintf(out->message + used, sizeof out->message - used, "%s%s: %s",
                         used ? "; " : "", p->rule, v >= p->mark ? "pass" : "fail");
        if (w > 0)
            used += (size_t)w;
    }
}

static int is_personality(const char *v)
{
    static const char *const pairs[] = {"EI", "SN", "TF", "JP"};
    if (strlen(v) != 4)
        return 0;
    for (int i = 0; i < 4; i++)
        if (!strchr(pairs[i], v[i]))
            return 0;
    return 1;
}

static void ex_score(const struct scales *s, const struct sc_scale *e, const char *value,
                     struct norm_explain *out)
{
    out->source = sc_source(s, "score_scales");
    if (numeric(value, out) == 0) {
        if (out->low < e->min || out->high > e->max) {
            msg(out, "\"%s\" is outside the %s scale %g-%g", value, e->name, e->min, e->max);
            return;
        }
        out->known = 1;
        if (e->linear && out->low == out->high) {
            out->pct = (out->low - e->min) * 100.0 / (e->max - e->min);
            rule(out, "score_scales %s: (%s - %g) / (%g - %g) = %g%%", e->name, value, e->min,
                 e->max, e->min, out->pct);
        } else {
            rule(out, "score_scales %s: %g-%g on %g-%g", e->name, out->low, out->high, e->min,
                 e->max);
        }
        if (out->low == out->high)
            pass_note(s, e, out->low, out);
        return;
    }
    /* Text results a scale declares (score_scales ... text, empty_means). */
    if (e->text == SC_TEXT_PLACEMENT && value[strspn(value, " \t")]) {
        out->known = 1;
        out->category = value;
        rule(out, "score_scales %s: placement \"%s\" kept as the account's label", e->name, value);
        msg(out, "%s placements and their cut points are set per account: no CEFR level", e->name);
        return;
    }
    if (e->text == SC_TEXT_PERSONALITY && is_personality(value)) {
        out->known = 1;
        out->category = value;
        rule(out, "score_scales %s: personality type \"%s\" kept as categorical", e->name, value);
        msg(out, "a personality type is not a score: no percentage, no level");
        return;
    }
    if (e->empty_not_done && !value[strspn(value, " \t")]) {
        msg(out, "an empty %s score means the test is not done: no score", e->name);
        return;
    }
    msg(out, "\"%s\" is not a number on the %s scale (%g-%g)", value, e->name, e->min, e->max);
}

static int no_scale(const struct scales *s, const char *scale, struct ss_err *err)
{
    char names[512] = "cefr, actfl, toefl, ielts, toeic";
    for (size_t i = 0; i < s->n_vl; i++) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, ", %s", s->vl[i].vendor);
    }
    for (size_t i = 0; i < s->n_sc; i++) {
        size_t j, used = strlen(names);
        /* one mention per name: several vendors share a scale */
        for (j = 0; j < i && strcmp(s->sc[j].name, s->sc[i].name) != 0; j++)
            ;
        if (j < i || sc_vendor_levels(s, s->sc[i].name))
            continue;
        snprintf(names + used, sizeof names - used, ", %s", s->sc[i].name);
    }
    return err_set(err, SS_EINVAL, "unknown scale \"%s\" (scales: %s)", scale ? scale : "", names);
}

int norm_explain(const struct scales *s, const char *scale, const char *value, const char *vendor,
                 const char *skill, struct norm_explain *out, struct ss_err *err)
{
    const struct sc_scale *e = NULL;
    struct level_scale ls;
    (void)vendor; /* every table here is vendor-independent; kept for the CLI's echo */
    memset(out, 0, sizeof *out);
    out->low = out->high = out->pct = NAN;
    out->version = scales_version(s);
    if (!scale)
        return no_scale(s, scale, err);
    if (strcasecmp(scale, "cefr") == 0)
        out->scale = "cefr";
    else if (strcasecmp(scale, "actfl") == 0)
        out->scale = "actfl";
    else if (strcasecmp(scale, "toefl") == 0 || strcasecmp(scale, "toefl_ibt") == 0)
        out->scale = "toefl_ibt";
    else if (strcasecmp(scale, "ielts") == 0)
        out->scale = "ielts";
    else if (strcasecmp(scale, "toeic") == 0)
        out->scale = "toeic";
    else if (level_scale(s, scale, &ls) == 0)
        out->scale = ls.name ? ls.name : scale;
    else if ((e = sc_scale_named(s, scale)))
        out->scale = e->name;
    else
        return no_scale(s, scale, err);
    if (!value) {
        msg(out, "no value given");
        return 0;
    }
    if (strcmp(out->scale, "cefr") == 0)
        ex_cefr(s, value, out);
    else if (strcmp(out->scale, "actfl") == 0)
        ex_actfl(s, value, skill, out);
    else if (strcmp(out->scale, "toefl_ibt") == 0)
        ex_test(s, "toefl_ibt", value, skill ? skill : "total", out);
    else if (strcmp(out->scale, "ielts") == 0)
        ex_test(s, "ielts", value, skill ? skill : "overall", out);
    else if (strcmp(out->scale, "toeic") == 0) {
        if (!skill)
            msg(out, "TOEIC maps each skill separately: give a skill (listening, reading, "
                     "speaking, writing)");
        else
            ex_test(s, "toeic", value, skill, out);
    } else if (!e)
        ex_level_scale(s, &ls, value, out);
    else
        ex_score(s, e, value, out);
    return 0;
}

/* export: every row of every mapping table, as text in the column order of
 * the SQL reference tables (scales.h), so the loader can COPY them and BI can
 * join results to the tables that produced them. */
#include "scales_priv.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Plain decimal text: "70", "7.5", never "7e+01" (SQL numeric reads it). */
static const char *num(double v, char buf[40])
{
    if (isnan(v))
        return NULL;
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, 40, "%.0f", v);
        return buf;
    }
    snprintf(buf, 40, "%.6f", v);
    char *e = buf + strlen(buf) - 1;
    while (e > buf && *e == '0')
        *e-- = '\0';
    if (*e == '.')
        *e = '\0';
    return buf;
}

static const char *inum(int v, char buf[40])
{
    snprintf(buf, 40, "%d", v);
    return buf;
}

#define ROW(table, ...)                                                                            \
    do {                                                                                           \
        const char *const row_[] = {__VA_ARGS__};                                                  \
        int rc_ = cb(arg, table, row_, (int)(sizeof row_ / sizeof row_[0]));                       \
        if (rc_ != 0)                                                                              \
            return rc_;                                                                            \
    } while (0)

static int export_levels(const struct scales *s, scales_row_fn cb, void *arg)
{
    char a[40];
    for (size_t i = 0; i < s->cefr.n; i++)
        ROW("ref_cefr_levels", s->cefr.v[i].code, s->cefr.v[i].label, inum(s->cefr.v[i].rank, a));
    for (size_t i = 0; i < s->actfl.n; i++)
        ROW("ref_actfl_levels", s->actfl.v[i].code, inum(s->actfl.v[i].rank, a));
    return 0;
}

static int export_crosswalks(const struct scales *s, scales_row_fn cb, void *arg)
{
    static const char *const gname[] = {"receptive", "productive"};
    char a[40], b[40], c[40];
    for (int g = 0; g < 2; g++)
        for (size_t i = 0; i < s->xw[g].n; i++) {
            const struct sc_xwalk *x = &s->xw[g].v[i];
            ROW("ref_actfl_cefr", gname[g], norm_actfl_code(s, x->actfl), inum(x->actfl, a), x->sub,
                x->cefr ? norm_cefr_code(s, x->cefr) : NULL, x->cefr ? inum(x->cefr, b) : NULL);
        }
    for (size_t i = 0; i < s->n_tests; i++) {
        const struct sc_test *t = &s->tests[i];
        for (size_t j = 0; j < t->n; j++)
            ROW("ref_test_cefr", t->test, t->skill, norm_cefr_code(s, t->v[j].rank),
                inum(t->v[j].rank, a), num(t->v[j].min, b), num(t->v[j].max, c));
    }
    /* score-band tables, each into the SQL table scales.yaml names for it */
    for (size_t i = 0; i < s->n_bands; i++) {
        const struct sc_band_table *t = &s->bands[i];
        for (size_t j = 0; t->sql_table && j < t->n; j++) {
            const struct sc_band *e = &t->v[j];
            ROW(t->sql_table, num(e->min, a), num(e->max, b), norm_cefr_code(s, e->rank),
                inum(e->rank, c), e->level);
        }
    }
    return 0;
}

static int export_vendor_tables(const struct scales *s, scales_row_fn cb, void *arg)
{
    char a[40], b[40], c[40];
    for (size_t i = 0; i < s->n_st; i++)
        for (size_t j = 0; j < s->st[i].n; j++)
            ROW("ref_status_map", s->st[i].vendor, s->st[i].v[j].label, s->st[i].v[j].canon);
    for (size_t i = 0; i < s->n_sc; i++) {
        const struct sc_scale *e = &s->sc[i];
        ROW("ref_score_scales", e->vendor, e->type_label, e->name, num(e->min, a), num(e->max, b),
            e->linear ? "true" : "false");
    }
    for (size_t i = 0; i < s->n_pass; i++) {
        const struct sc_pass *p = &s->pass[i];
        /* Midnight UTC, spelled out: a bare date would take the session's zone. */
        char from[32], until[32];
        snprintf(from, sizeof from, "%sT00:00:00Z", p->from_s);
        snprintf(until, sizeof until, "%sT00:00:00Z", p->until_s);
        /* ref_pass_marks has no level column: a row for one CEFR level says
         * so in its assessment_type, "CT (CEFR Pre A1)". */
        char type[160];
        snprintf(type, sizeof type, "%s%s%s%s", p->type_label, p->cefr_code ? " (CEFR " : "",
                 p->cefr_code ? p->cefr_code : "", p->cefr_code ? ")" : "");
        ROW("ref_pass_marks", p->vendor, type, num(p->mark, c), p->from_s[0] ? from : NULL,
            p->until_s[0] ? until : NULL);
    }
    for (size_t i = 0; i < s->n_src; i++)
        ROW("ref_sources", s->src[i].table, s->src[i].text);
    return 0;
}

int scales_export(const struct scales *s, scales_row_fn cb, void *arg)
{
    int rc;
    if ((rc = export_levels(s, cb, arg)) != 0 || (rc = export_crosswalks(s, cb, arg)) != 0)
        return rc;
    return export_vendor_tables(s, cb, arg);
}

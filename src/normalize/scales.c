/* scales: loading config/scales.yaml (through yamlx, so every node keeps its
 * line for error messages), the label parsers and the table lookups over it.
 * The reading side only: nothing here calls norm.c or explain.c. */
#include "scales_priv.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "../core/timeparse.h"
#include "../core/yamlx.h"

/* The mapping file is small; anything bigger is a mistake, not a table. */
#define SC_FILE_MAX (1024 * 1024)
#define YX_PATH_MAX 256

static const char *const sc_canon[] = {
    "not_started",  "in_progress", "score_pending", "completed",
    "needs_review", "expired",     "unknown",       NULL,
};

/* ---- key normalisation and lookups ---------------------------------- */

int sc_normkey(const char *s, size_t n, char *out, size_t outsz)
{
    size_t o = 0;
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\0')
            break;
        if (isspace(c)) {
            space = o > 0; /* leading whitespace is dropped */
            continue;
        }
        if (space) {
            if (o + 1 >= outsz)
                return -1;
            out[o++] = ' ';
            space = 0;
        }
        if (o + 1 >= outsz)
            return -1;
        out[o++] = (char)tolower(c);
    }
    if (outsz == 0)
        return -1;
    out[o] = '\0';
    return 0;
}

int sc_level_rank(const struct sc_levels *t, const char *s, size_t n)
{
    char key[SC_KEY_MAX];
    if (sc_normkey(s, n, key, sizeof key) != 0 || key[0] == '\0')
        return 0;
    for (size_t i = 0; i < t->n; i++)
        for (size_t j = 0; j < t->v[i].n_names; j++)
            if (strcmp(t->v[i].names[j], key) == 0)
                return t->v[i].rank;
    return 0;
}

/* ---- label parsers ---------------------------------------------------- */

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

static const struct sc_status_map *status_map(const struct scales *s, const char *vendor)
{
    for (size_t i = 0; i < s->n_st; i++)
        if (strcmp(s->st[i].vendor, vendor) == 0)
            return &s->st[i];
    return NULL;
}

static const char *status_find(const struct sc_status_map *m, const char *key)
{
    if (!m)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].key, key) == 0)
            return m->v[i].canon;
    return NULL;
}

const char *norm_status(const struct scales *s, const char *vendor, const char *label)
{
    char key[SC_KEY_MAX];
    if (!label || sc_normkey(label, strlen(label), key, sizeof key) != 0 || key[0] == '\0')
        return "unknown";
    const char *c = vendor ? status_find(status_map(s, vendor), key) : NULL;
    if (!c)
        c = status_find(status_map(s, "default"), key);
    return c ? c : "unknown";
}

int norm_score_scale(const struct scales *s, const char *vendor, const char *assessment_type,
                     struct score_scale *out)
{
    char key[SC_KEY_MAX];
    const struct sc_scale *any = NULL;
    if (!vendor)
        return -1;
    if (!assessment_type ||
        sc_normkey(assessment_type, strlen(assessment_type), key, sizeof key) != 0)
        key[0] = '\0';
    for (size_t i = 0; i < s->n_sc; i++) {
        const struct sc_scale *e = &s->sc[i];
        if (strcmp(e->vendor, vendor) != 0)
            continue;
        if (key[0] && strcmp(e->type, key) == 0) {
            any = e;
            break;
        }
        if (strcmp(e->type, "*") == 0 && !any)
            any = e;
    }
    if (!any)
        return -1;
    out->name = any->name;
    out->min = any->min;
    out->max = any->max;
    out->linear = any->linear;
    return 0;
}

static const char *level_code(const struct sc_levels *t, int rank)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].rank == rank)
            return t->v[i].code;
    return NULL;
}

const char *norm_cefr_code(const struct scales *s, int rank)
{
    return level_code(&s->cefr, rank);
}

const char *norm_actfl_code(const struct scales *s, int rank)
{
    return level_code(&s->actfl, rank);
}

const struct sc_name_table *sc_name_table(const struct scales *s, const char *name)
{
    for (size_t i = 0; name && i < s->n_names; i++)
        if (strcmp(s->names[i].name, name) == 0)
            return &s->names[i];
    return NULL;
}

const struct sc_band_table *sc_band_table(const struct scales *s, const char *name)
{
    for (size_t i = 0; name && i < s->n_bands; i++)
        if (strcmp(s->bands[i].name, name) == 0)
            return &s->bands[i];
    return NULL;
}

const struct sc_name_level *sc_name_find(const struct sc_name_table *t, const char *name)
{
    char key[SC_KEY_MAX];
    if (!t || !name || sc_normkey(name, strlen(name), key, sizeof key) != 0)
        return NULL;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].key, key) == 0)
            return &t->v[i];
    return NULL;
}

const struct sc_band *sc_band_find(const struct sc_band_table *t, double v)
{
    if (!t || t->n == 0 || !(v >= t->v[0].min && v <= t->v[t->n - 1].max))
        return NULL;
    for (size_t i = t->n; i-- > 0;)
        if (v >= t->v[i].min)
            return &t->v[i];
    return NULL;
}

const struct sc_vendor_levels *sc_vendor_levels(const struct scales *s, const char *vendor)
{
    for (size_t i = 0; vendor && i < s->n_vl; i++)
        if (strcmp(s->vl[i].vendor, vendor) == 0)
            return &s->vl[i];
    return NULL;
}

const struct sc_scale *sc_scale_named(const struct scales *s, const char *name)
{
    for (size_t i = 0; name && i < s->n_sc; i++)
        if (strcasecmp(s->sc[i].name, name) == 0)
            return &s->sc[i];
    return NULL;
}

const char *scales_band_sql_table(const struct scales *s, size_t i)
{
    for (size_t k = 0; k < s->n_bands; k++) {
        const char *t = s->bands[k].sql_table;
        size_t j;
        if (!t)
            continue;
        for (j = 0; j < k && !(s->bands[j].sql_table && strcmp(s->bands[j].sql_table, t) == 0); j++)
            ;
        if (j < k)
            continue; /* two band tables into one SQL table: named once */
        if (i-- == 0)
            return t;
    }
    return NULL;
}

const char *scales_version(const struct scales *s)
{
    return s->version;
}

/* ---- freeing --------------------------------------------------------- */

static void levels_free(struct sc_levels *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].code);
        free(t->v[i].label);
        for (size_t j = 0; j < t->v[i].n_names; j++)
            free(t->v[i].names[j]);
        free(t->v[i].names);
    }
    free(t->v);
}

void scales_free(struct scales *s)
{
    if (!s)
        return;
    levels_free(&s->cefr);
    levels_free(&s->actfl);
    for (size_t i = 0; i < s->n_st; i++) {
        for (size_t j = 0; j < s->st[i].n; j++) {
            free(s->st[i].v[j].key);
            free(s->st[i].v[j].label);
        }
        free(s->st[i].v);
        free(s->st[i].vendor);
    }
    free(s->st);
    for (size_t i = 0; i < s->n_sc; i++) {
        free(s->sc[i].vendor);
        free(s->sc[i].type);
        free(s->sc[i].type_label);
        free(s->sc[i].name);
    }
    free(s->sc);
    for (size_t i = 0; i < s->n_names; i++) {
        for (size_t j = 0; j < s->names[i].n; j++) {
            free(s->names[i].v[j].key);
            free(s->names[i].v[j].cefr);
        }
        free(s->names[i].v);
        free(s->names[i].name);
    }
    free(s->names);
    for (int g = 0; g < 2; g++) {
        for (size_t i = 0; i < s->xw[g].n; i++)
            free(s->xw[g].v[i].sub);
        free(s->xw[g].v);
    }
    for (size_t i = 0; i < s->n_tests; i++) {
        free(s->tests[i].skill);
        free(s->tests[i].v);
        free(s->tests[i].unpub);
    }
    free(s->tests);
    for (size_t i = 0; i < s->n_bands; i++) {
        for (size_t j = 0; j < s->bands[i].n; j++)
            free(s->bands[i].v[j].level);
        free(s->bands[i].v);
        free(s->bands[i].name);
    }
    free(s->bands);
    for (size_t i = 0; i < s->n_vl; i++) {
        free(s->vl[i].vendor);
        free(s->vl[i].label);
        free(s->vl[i].sql_table);
    }
    free(s->vl);
    for (size_t i = 0; i < s->n_pass; i++) {
        free(s->pass[i].vendor);
        free(s->pass[i].type);
        free(s->pass[i].type_label);
        free(s->pass[i].rule);
        free(s->pass[i].cefr_code);
    }
    free(s->pass);
    for (size_t i = 0; i < s->n_src; i++) {
        free(s->src[i].table);
        free(s->src[i].text);
    }
    free(s->src);
    free(s);
}

/* ---- loading ----------------------------------------------------------- */

struct ld {
    const struct yx_doc *d;
    struct scales *s;
};

static char *normdup(const char *s)
{
    char key[SC_KEY_MAX];
    if (sc_normkey(s, strlen(s), key, sizeof key) != 0)
        return NULL;
    return strdup(key);
}

static int level_has_name(const struct sc_levels *t, const char *key, const char **code)
{
    for (size_t i = 0; i < t->n; i++)
        for (size_t j = 0; j < t->v[i].n_names; j++)
            if (strcmp(t->v[i].names[j], key) == 0) {
                *code = t->v[i].code;
                return 1;
            }
    return 0;
}

static int add_name(struct ld *l, struct sc_levels *t, struct sc_level *lv, const yaml_node_t *n,
                    const char *path, const char *text)
{
    char key[SC_KEY_MAX];
    const char *other;
    if (sc_normkey(text, strlen(text), key, sizeof key) != 0 || key[0] == '\0')
        return yx_fail(l->d, n, path, "\"%s\" is empty or too long", text);
    /* One name, one level: otherwise a lookup would depend on file order. */
    if (level_has_name(t, key, &other))
        return yx_fail(l->d, n, path, "\"%s\" already names level %s", text, other);
    char **p = realloc(lv->names, (lv->n_names + 1) * sizeof *p);
    if (!p)
        return yx_oom(l->d);
    lv->names = p;
    if (!(lv->names[lv->n_names] = strdup(key)))
        return yx_oom(l->d);
    lv->n_names++;
    return 0;
}

static int cmp_rank(const void *a, const void *b)
{
    const struct sc_level *x = a, *y = b;
    return (x->rank > y->rank) - (x->rank < y->rank);
}

/* cefr / actfl: a list of {code, label, rank, aliases}. */
static int load_levels(struct ld *l, const yaml_node_t *seq, const char *sect, struct sc_levels *t)
{
    char path[YX_PATH_MAX], p[YX_PATH_MAX];
    if (yx_want_type(l->d, seq, YAML_SEQUENCE_NODE, sect) != 0)
        return -1;
    size_t n = yx_len(seq);
    if (n == 0)
        return yx_fail(l->d, seq, sect, "no levels");
    if (!(t->v = calloc(n, sizeof *t->v)))
        return yx_oom(l->d);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *e = yx_item(l->d, seq, i);
        struct sc_level *lv = &t->v[t->n++];
        const yaml_node_t *code = NULL, *rank = NULL, *aliases = NULL;
        yx_path(path, "%s[%zu]", sect, i);
        if (yx_want_type(l->d, e, YAML_MAPPING_NODE, path) != 0 ||
            yx_check_keys(l->d, e, path) != 0)
            return -1;
        for (yaml_node_pair_t *pr = e->data.mapping.pairs.start; pr < e->data.mapping.pairs.top;
             pr++) {
            const yaml_node_t *k = yx_node(l->d, pr->key), *v = yx_node(l->d, pr->value);
            const char *ks = yx_key(k), *str;
            yx_path(p, "%s.%s", path, ks);
            if (strcmp(ks, "code") == 0) {
                code = v;
            } else if (strcmp(ks, "rank") == 0) {
                rank = v;
            } else if (strcmp(ks, "aliases") == 0) {
                aliases = v;
            } else if (strcmp(ks, "label") == 0) {
                if (yx_want_string(l->d, v, p, &str) != 0)
                    return -1;
                if (!(lv->label = strdup(str)))
                    return yx_oom(l->d);
            } else {
                return yx_fail(l->d, k, p, "unknown key (expected code, label, rank, aliases)");
            }
        }
        const char *cs;
        yx_path(p, "%s.code", path);
        if (!code)
            return yx_fail(l->d, e, p, "missing");
        if (yx_want_string(l->d, code, p, &cs) != 0)
            return -1;
        if (!(lv->code = strdup(cs)))
            return yx_oom(l->d);
        if (add_name(l, t, lv, code, p, cs) != 0)
            return -1;
        yx_path(p, "%s.rank", path);
        if (!rank)
            return yx_fail(l->d, e, p, "missing");
        if (yx_want_int(l->d, rank, p, &lv->rank) != 0)
            return -1;
        if (lv->rank < 1)
            return yx_fail(l->d, rank, p, "rank %d: ranks start at 1 (0 means unknown)", lv->rank);
        for (size_t j = 0; j + 1 < t->n; j++)
            if (t->v[j].rank == lv->rank)
                return yx_fail(l->d, rank, p, "duplicate rank %d (also %s[%zu], %s)", lv->rank,
                               sect, j, t->v[j].code);
        if (aliases) {
            yx_path(p, "%s.aliases", path);
            if (yx_want_type(l->d, aliases, YAML_SEQUENCE_NODE, p) != 0)
                return -1;
            for (size_t k = 0; k < yx_len(aliases); k++) {
                char ap[YX_PATH_MAX];
                const yaml_node_t *a = yx_item(l->d, aliases, k);
                const char *as;
                yx_path(ap, "%s.aliases[%zu]", path, k);
                if (yx_want_string(l->d, a, ap, &as) != 0)
                    return -1;
                if (add_name(l, t, lv, a, ap, as) != 0)
                    return -1;
            }
        }
    }
    qsort(t->v, t->n, sizeof *t->v, cmp_rank);
    return 0;
}

static const char *canon_name(const char *v)
{
    for (size_t i = 0; sc_canon[i]; i++)
        if (strcmp(sc_canon[i], v) == 0)
            return sc_canon[i];
    return NULL;
}

/* statuses: {vendor: {label: canonical}}, with a `default` vendor. */
static int load_statuses(struct ld *l, const yaml_node_t *map)
{
    char path[YX_PATH_MAX], p[YX_PATH_MAX];
    int has_default = 0;
    if (yx_want_type(l->d, map, YAML_MAPPING_NODE, "statuses") != 0 ||
        yx_check_keys(l->d, map, "statuses") != 0)
        return -1;
    size_t n = yx_len(map);
    if (!(l->s->st = calloc(n ? n : 1, sizeof *l->s->st)))
        return yx_oom(l->d);
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *vk = yx_node(l->d, pr->key), *vm = yx_node(l->d, pr->value);
        struct sc_status_map *m = &l->s->st[l->s->n_st++];
        yx_path(path, "statuses.%s", yx_key(vk));
        if (!(m->vendor = strdup(yx_key(vk))))
            return yx_oom(l->d);
        has_default |= strcmp(m->vendor, "default") == 0;
        if (yx_want_type(l->d, vm, YAML_MAPPING_NODE, path) != 0 ||
            yx_check_keys(l->d, vm, path) != 0)
            return -1;
        size_t k = yx_len(vm);
        if (!(m->v = calloc(k ? k : 1, sizeof *m->v)))
            return yx_oom(l->d);
        for (yaml_node_pair_t *e = vm->data.mapping.pairs.start; e < vm->data.mapping.pairs.top;
             e++) {
            const yaml_node_t *lk = yx_node(l->d, e->key), *lv = yx_node(l->d, e->value);
            const char *label = yx_key(lk), *cv = NULL, *canon;
            yx_path(p, "%s.%s", path, label);
            if (yx_want_string(l->d, lv, p, &cv) != 0)
                return -1;
            if (!(canon = canon_name(cv)))
                return yx_fail(l->d, lv, p,
                               "\"%s\" is not a canonical status (not_started, in_progress, "
                               "score_pending, completed, needs_review, expired, unknown)",
                               cv);
            char *key = normdup(label);
            if (!key || key[0] == '\0') {
                free(key);
                return yx_fail(l->d, lk, p, "label is empty or too long");
            }
            if (status_find(m, key)) {
                free(key);
                return yx_fail(l->d, lk, p, "duplicate label (labels are case-insensitive)");
            }
            m->v[m->n].key = key;
            m->v[m->n].canon = canon;
            if (!(m->v[m->n++].label = strdup(label)))
                return yx_oom(l->d);
        }
    }
    if (!has_default)
        return yx_fail(l->d, map, "statuses.default", "missing (shared by all vendors)");
    return 0;
}

/* score_scales: {vendor: {type: {name, min, max, linear, text, empty_means}}}. */
static int load_scale(struct ld *l, const yaml_node_t *e, const char *path, struct sc_scale *sc)
{
    char p[YX_PATH_MAX];
    int got_min = 0, got_max = 0, got_lin = 0;
    if (yx_want_type(l->d, e, YAML_MAPPING_NODE, path) != 0 || yx_check_keys(l->d, e, path) != 0)
        return -1;
    for (yaml_node_pair_t *pr = e->data.mapping.pairs.start; pr < e->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = yx_node(l->d, pr->key), *v = yx_node(l->d, pr->value);
        const char *ks = yx_key(k), *str;
        yx_path(p, "%s.%s", path, ks);
        if (strcmp(ks, "name") == 0) {
            if (yx_want_string(l->d, v, p, &str) != 0)
                return -1;
            if (!(sc->name = strdup(str)))
                return yx_oom(l->d);
        } else if (strcmp(ks, "min") == 0) {
            if (yx_want_number(l->d, v, p, &sc->min) != 0)
                return -1;
            got_min = 1;
        } else if (strcmp(ks, "max") == 0) {
            if (yx_want_number(l->d, v, p, &sc->max) != 0)
                return -1;
            got_max = 1;
        } else if (strcmp(ks, "linear") == 0) {
            if (yx_want_bool(l->d, v, p, &sc->linear) != 0)
                return -1;
            got_lin = 1;
        } else if (strcmp(ks, "text") == 0) {
            /* what a value that is not a number means on this scale */
            if (yx_want_string(l->d, v, p, &str) != 0)
                return -1;
            if (strcmp(str, "placement") == 0)
                sc->text = SC_TEXT_PLACEMENT;
            else if (strcmp(str, "personality") == 0)
                sc->text = SC_TEXT_PERSONALITY;
            else
                return yx_fail(l->d, v, p, "expected placement or personality, got \"%s\"", str);
        } else if (strcmp(ks, "empty_means") == 0) {
            if (yx_want_string(l->d, v, p, &str) != 0)
                return -1;
            if (strcmp(str, "not_done") != 0)
                return yx_fail(l->d, v, p, "expected not_done, got \"%s\"", str);
            sc->empty_not_done = 1;
        } else {
            static const char *const keys[] = {"name", "min",         "max", "linear",
                                               "text", "empty_means", NULL};
            return yx_unknown_key(l->d, k, p, keys);
        }
    }
    const char *missing = !sc->name  ? "name"
                          : !got_min ? "min"
                          : !got_max ? "max"
                          : !got_lin ? "linear"
                                     : NULL;
    if (missing) {
        yx_path(p, "%s.%s", path, missing);
        return yx_fail(l->d, e, p, "missing");
    }
    if (!(sc->min < sc->max)) {
        yx_path(p, "%s.max", path);
        return yx_fail(l->d, e, p, "max %g must be greater than min %g", sc->max, sc->min);
    }
    return 0;
}

static int load_score_scales(struct ld *l, const yaml_node_t *map)
{
    char path[YX_PATH_MAX], p[YX_PATH_MAX];
    if (yx_want_type(l->d, map, YAML_MAPPING_NODE, "score_scales") != 0 ||
        yx_check_keys(l->d, map, "score_scales") != 0)
        return -1;
    size_t total = 0;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *vm = yx_node(l->d, pr->value);
        yx_path(path, "score_scales.%s", yx_key(yx_node(l->d, pr->key)));
        if (yx_want_type(l->d, vm, YAML_MAPPING_NODE, path) != 0 ||
            yx_check_keys(l->d, vm, path) != 0)
            return -1;
        total += yx_len(vm);
    }
    if (!(l->s->sc = calloc(total ? total : 1, sizeof *l->s->sc)))
        return yx_oom(l->d);
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        const char *vendor = yx_key(yx_node(l->d, pr->key));
        const yaml_node_t *vm = yx_node(l->d, pr->value);
        size_t first = l->s->n_sc;
        for (yaml_node_pair_t *e = vm->data.mapping.pairs.start; e < vm->data.mapping.pairs.top;
             e++) {
            const yaml_node_t *tk = yx_node(l->d, e->key);
            struct sc_scale *sc = &l->s->sc[l->s->n_sc++];
            yx_path(p, "score_scales.%s.%s", vendor, yx_key(tk));
            if (!(sc->vendor = strdup(vendor)))
                return yx_oom(l->d);
            if (!(sc->type_label = strdup(yx_key(tk))))
                return yx_oom(l->d);
            sc->type = normdup(yx_key(tk));
            if (!sc->type || sc->type[0] == '\0')
                return yx_fail(l->d, tk, p, "assessment type is empty or too long");
            for (size_t j = first; j + 1 < l->s->n_sc; j++)
                if (strcmp(l->s->sc[j].type, sc->type) == 0)
                    return yx_fail(l->d, tk, p, "duplicate assessment type (case-insensitive)");
            if (load_scale(l, yx_node(l->d, e->value), p, sc) != 0)
                return -1;
        }
    }
    return 0;
}

/* <name>_levels: {level name: CEFR code}; the codes must be in `cefr`. */
static int load_name_table(struct ld *l, const yaml_node_t *map, const char *sect,
                           struct sc_name_table *t)
{
    char p[YX_PATH_MAX];
    if (!(t->name = strdup(sect)))
        return yx_oom(l->d);
    if (yx_want_type(l->d, map, YAML_MAPPING_NODE, sect) != 0 ||
        yx_check_keys(l->d, map, sect) != 0)
        return -1;
    if (!(t->v = calloc(yx_len(map) ? yx_len(map) : 1, sizeof *t->v)))
        return yx_oom(l->d);
    yaml_node_t *k, *v;
    for (size_t i = 0; yx_pair(l->d, map, i, &k, &v) == 0; i++) {
        const char *code;
        struct sc_name_level *e = &t->v[t->n++];
        yx_path(p, "%s.%s", sect, yx_key(k));
        if (yx_want_string(l->d, v, p, &code) != 0)
            return -1;
        e->key = normdup(yx_key(k));
        if (!e->key || e->key[0] == '\0')
            return yx_fail(l->d, k, p, "level name is empty or too long");
        for (size_t j = 0; j + 1 < t->n; j++)
            if (strcmp(t->v[j].key, e->key) == 0)
                return yx_fail(l->d, k, p, "duplicate level name (case-insensitive)");
        if (!(e->cefr = strdup(code)))
            return yx_oom(l->d);
        if (sc_parse_levels(&l->s->cefr, code, &e->lo, &e->hi) != 0)
            return yx_fail(l->d, v, p, "\"%s\" is not a CEFR level in the cefr table", code);
    }
    return 0;
}

/* A single CEFR level ("B2+"), not a range: tables map to one level. */
static int want_cefr(struct ld *l, const yaml_node_t *n, const char *path, int *rank)
{
    const char *v;
    int lo, hi;
    if (yx_want_string(l->d, n, path, &v) != 0)
        return -1;
    if (sc_parse_levels(&l->s->cefr, v, &lo, &hi) != 0 || lo != hi)
        return yx_fail(l->d, n, path, "\"%s\" is not a CEFR level in the cefr table", v);
    *rank = lo;
    return 0;
}

/* actfl_cefr: {receptive: [...], productive: [...]}, rows {actfl, cefr, code}. */
static int load_actfl_cefr(struct ld *l, const yaml_node_t *map)
{
    static const char *const groups[] = {"receptive", "productive"};
    static const char *const keys[] = {"actfl", "cefr", "code", NULL};
    char path[YX_PATH_MAX], p[YX_PATH_MAX];
    if (yx_want_type(l->d, map, YAML_MAPPING_NODE, "actfl_cefr") != 0 ||
        yx_check_keys(l->d, map, "actfl_cefr") != 0)
        return -1;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *gk = yx_node(l->d, pr->key), *seq = yx_node(l->d, pr->value);
        int g = strcmp(yx_key(gk), groups[0]) == 0   ? SC_RECEPTIVE
                : strcmp(yx_key(gk), groups[1]) == 0 ? SC_PRODUCTIVE
                                                     : -1;
        yx_path(path, "actfl_cefr.%s", yx_key(gk));
        if (g < 0)
            return yx_fail(l->d, gk, path, "unknown key (expected receptive, productive)");
        if (yx_want_type(l->d, seq, YAML_SEQUENCE_NODE, path) != 0)
            return -1;
        struct sc_xgroup *xg = &l->s->xw[g];
        if (!(xg->v = calloc(yx_len(seq) ? yx_len(seq) : 1, sizeof *xg->v)))
            return yx_oom(l->d);
        for (size_t i = 0; i < yx_len(seq); i++) {
            const yaml_node_t *e = yx_item(l->d, seq, i), *v[3];
            const char *actfl, *sub;
            struct sc_xwalk *x = &xg->v[xg->n++];
            yx_path(p, "%s[%zu]", path, i);
            if (yx_take_keys(l->d, e, p, keys, v) != 0 || yx_need(l->d, e, v[0], p, "actfl") != 0 ||
                yx_need(l->d, e, v[1], p, "cefr") != 0)
                return -1;
            char q[YX_PATH_MAX];
            yx_path(q, "%s.actfl", p);
            int lo, hi;
            if (yx_want_string(l->d, v[0], q, &actfl) != 0)
                return -1;
            if (sc_parse_levels(&l->s->actfl, actfl, &lo, &hi) != 0 || lo != hi)
                return yx_fail(l->d, v[0], q, "\"%s\" is not a level in the actfl table", actfl);
            x->actfl = lo;
            for (size_t j = 0; j + 1 < xg->n; j++)
                if (xg->v[j].actfl == lo)
                    return yx_fail(l->d, v[0], q, "duplicate ACTFL level \"%s\"", actfl);
            yx_path(q, "%s.cefr", p);
            if (yx_want_string(l->d, v[1], q, &sub) != 0)
                return -1;
            if (!(x->sub = strdup(sub)))
                return yx_oom(l->d);
            yx_path(q, "%s.code", p);
            /* "0" is ACTFL's "no CEFR rating": it must not name a level. */
            if (strcmp(sub, "0") == 0) {
                if (v[2] && !yx_is_null(v[2]))
                    return yx_fail(l->d, v[2], q, "a \"0\" cell (no CEFR rating) takes no code");
                x->cefr = 0;
            } else {
                if (yx_need(l->d, e, v[2], p, "code") != 0 || want_cefr(l, v[2], q, &x->cefr) != 0)
                    return -1;
            }
        }
    }
    return 0;
}

static int cmp_cut_desc(const void *a, const void *b)
{
    const struct sc_cut *x = a, *y = b;
    return (x->min < y->min) - (x->min > y->min);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* scale: {min, max} */
static int load_range(struct ld *l, const yaml_node_t *n, const char *path, double *lo, double *hi)
{
    static const char *const keys[] = {"min", "max", NULL};
    const yaml_node_t *v[2];
    char p[YX_PATH_MAX];
    if (yx_take_keys(l->d, n, path, keys, v) != 0 || yx_need(l->d, n, v[0], path, "min") != 0 ||
        yx_need(l->d, n, v[1], path, "max") != 0)
        return -1;
    yx_path(p, "%s.min", path);
    if (yx_want_number(l->d, v[0], p, lo) != 0)
        return -1;
    yx_path(p, "%s.max", path);
    if (yx_want_number(l->d, v[1], p, hi) != 0)
        return -1;
    if (!(*lo < *hi))
        return yx_fail(l->d, v[1], p, "max %g must be greater than min %g", *hi, *lo);
    return 0;
}

/* One skill of a publisher table: {scale, levels, unpublished}. */
static int load_test_skill(struct ld *l, const yaml_node_t *e, const char *path, struct sc_test *t)
{
    static const char *const keys[] = {"scale", "levels", "unpublished", NULL};
    static const char *const cut_keys[] = {"cefr", "min", "max", NULL};
    const yaml_node_t *v[3];
    char p[YX_PATH_MAX], q[YX_PATH_MAX];
    if (yx_take_keys(l->d, e, path, keys, v) != 0 || yx_need(l->d, e, v[0], path, "scale") != 0 ||
        yx_need(l->d, e, v[1], path, "levels") != 0)
        return -1;
    yx_path(p, "%s.scale", path);
    if (load_range(l, v[0], p, &t->smin, &t->smax) != 0)
        return -1;
    yx_path(p, "%s.levels", path);
    if (yx_want_type(l->d, v[1], YAML_SEQUENCE_NODE, p) != 0)
        return -1;
    if (yx_len(v[1]) == 0)
        return yx_fail(l->d, v[1], p, "no levels");
    if (!(t->v = calloc(yx_len(v[1]), sizeof *t->v)))
        return yx_oom(l->d);
    for (size_t i = 0; i < yx_len(v[1]); i++) {
        const yaml_node_t *c = yx_item(l->d, v[1], i), *cv[3];
        struct sc_cut *cut = &t->v[t->n++];
        yx_path(p, "%s.levels[%zu]", path, i);
        if (yx_take_keys(l->d, c, p, cut_keys, cv) != 0 ||
            yx_need(l->d, c, cv[0], p, "cefr") != 0 || yx_need(l->d, c, cv[1], p, "min") != 0)
            return -1;
        yx_path(q, "%s.cefr", p);
        if (want_cefr(l, cv[0], q, &cut->rank) != 0)
            return -1;
        yx_path(q, "%s.min", p);
        if (yx_want_number(l->d, cv[1], q, &cut->min) != 0)
            return -1;
        if (cut->min < t->smin || cut->min > t->smax)
            return yx_fail(l->d, cv[1], q, "%g is outside the scale [%g, %g]", cut->min, t->smin,
                           t->smax);
        cut->max = NAN;
        if (cv[2]) {
            yx_path(q, "%s.max", p);
            if (yx_want_number(l->d, cv[2], q, &cut->max) != 0)
                return -1;
            if (cut->max < cut->min || cut->max > t->smax)
                return yx_fail(l->d, cv[2], q, "%g must lie between min %g and the scale max %g",
                               cut->max, cut->min, t->smax);
        }
        for (size_t j = 0; j + 1 < t->n; j++)
            if (t->v[j].rank == cut->rank || t->v[j].min == cut->min)
                return yx_fail(l->d, c, p, "duplicate level or cut score (also %s.levels[%zu])",
                               path, j);
    }
    qsort(t->v, t->n, sizeof *t->v, cmp_cut_desc);
    /* A higher cut must mean a higher level, or lookups would contradict the table. */
    yx_path(p, "%s.levels", path);
    for (size_t j = 0; j + 1 < t->n; j++)
        if (t->v[j].rank < t->v[j + 1].rank)
            return yx_fail(l->d, v[1], p,
                           "levels must rise with the cut score (%g -> rank %d, %g -> "
                           "rank %d)",
                           t->v[j + 1].min, t->v[j + 1].rank, t->v[j].min, t->v[j].rank);
    if (v[2] && !yx_is_null(v[2])) {
        yx_path(p, "%s.unpublished", path);
        if (yx_want_type(l->d, v[2], YAML_SEQUENCE_NODE, p) != 0)
            return -1;
        if (!(t->unpub = calloc(yx_len(v[2]) ? yx_len(v[2]) : 1, sizeof *t->unpub)))
            return yx_oom(l->d);
        for (size_t i = 0; i < yx_len(v[2]); i++) {
            const yaml_node_t *u = yx_item(l->d, v[2], i);
            int r;
            yx_path(q, "%s[%zu]", p, i);
            if (want_cefr(l, u, q, &r) != 0)
                return -1;
            for (size_t j = 0; j < t->n; j++)
                if (t->v[j].rank == r)
                    return yx_fail(l->d, u, q, "level has a published cut in levels");
            t->unpub[t->n_unpub++] = r;
        }
        qsort(t->unpub, t->n_unpub, sizeof *t->unpub, cmp_int);
    }
    return 0;
}

/* toefl_ibt / ielts / toeic: {skill: {scale, levels, unpublished}}. */
static int load_tests(struct ld *l, const yaml_node_t *map, const char *test)
{
    static const char *const skills[] = {"reading", "listening", "speaking",
                                         "writing", "total",     "overall"};
    char path[YX_PATH_MAX];
    if (yx_want_type(l->d, map, YAML_MAPPING_NODE, test) != 0 ||
        yx_check_keys(l->d, map, test) != 0)
        return -1;
    struct sc_test *nt = realloc(l->s->tests, (l->s->n_tests + yx_len(map) + 1) * sizeof *nt);
    if (!nt)
        return yx_oom(l->d);
    l->s->tests = nt;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *k = yx_node(l->d, pr->key);
        const char *sk = yx_key(k);
        size_t i;
        yx_path(path, "%s.%s", test, sk);
        for (i = 0; i < 6 && strcmp(skills[i], sk) != 0; i++)
            ;
        if (i == 6)
            return yx_fail(l->d, k, path,
                           "unknown skill (expected reading, listening, speaking, writing, total, "
                           "overall)");
        struct sc_test *t = &l->s->tests[l->s->n_tests++];
        memset(t, 0, sizeof *t);
        t->test = test;
        if (!(t->skill = strdup(sk)))
            return yx_oom(l->d);
        if (load_test_skill(l, yx_node(l->d, pr->value), path, t) != 0)
            return -1;
    }
    return 0;
}

/* <name>_scores: [{min, max, level, cefr}], ascending; where <name>_levels
 * exists, every level name both tables use must map to the same CEFR. */
static int load_band_table(struct ld *l, const yaml_node_t *seq, const char *sect,
                           struct sc_band_table *t)
{
    static const char *const keys[] = {"min", "max", "level", "cefr", NULL};
    char p[YX_PATH_MAX], q[YX_PATH_MAX];
    char lname[YX_PATH_MAX];
    if (!(t->name = strdup(sect)))
        return yx_oom(l->d);
    if (yx_want_type(l->d, seq, YAML_SEQUENCE_NODE, sect) != 0)
        return -1;
    /* the sibling table: "x_scores" -> "x_levels" */
    yx_path(lname, "%.*s_levels", (int)(strlen(sect) - strlen("_scores")), sect);
    const struct sc_name_table *names = sc_name_table(l->s, lname);
    if (!(t->v = calloc(yx_len(seq) ? yx_len(seq) : 1, sizeof *t->v)))
        return yx_oom(l->d);
    for (size_t i = 0; i < yx_len(seq); i++) {
        const yaml_node_t *e = yx_item(l->d, seq, i), *v[4];
        struct sc_band *c = &t->v[t->n++];
        const char *level;
        yx_path(p, "%s[%zu]", sect, i);
        if (yx_take_keys(l->d, e, p, keys, v) != 0)
            return -1;
        for (size_t j = 0; keys[j]; j++)
            if (yx_need(l->d, e, v[j], p, keys[j]) != 0)
                return -1;
        yx_path(q, "%s.min", p);
        if (yx_want_number(l->d, v[0], q, &c->min) != 0)
            return -1;
        yx_path(q, "%s.max", p);
        if (yx_want_number(l->d, v[1], q, &c->max) != 0)
            return -1;
        if (c->max < c->min)
            return yx_fail(l->d, v[1], q, "max %g is below min %g", c->max, c->min);
        yx_path(q, "%s.min", p);
        if (i > 0 && !(c->min > t->v[i - 1].max))
            return yx_fail(l->d, v[0], q, "%g overlaps the row above (rows go up, lowest first)",
                           c->min);
        yx_path(q, "%s.level", p);
        if (yx_want_string(l->d, v[2], q, &level) != 0)
            return -1;
        if (!(c->level = strdup(level)))
            return yx_oom(l->d);
        yx_path(q, "%s.cefr", p);
        if (want_cefr(l, v[3], q, &c->rank) != 0)
            return -1;
        /* Two tables from one publisher's page must not disagree. */
        const struct sc_name_level *nl = sc_name_find(names, level);
        if (nl && (nl->lo != c->rank || nl->hi != c->rank))
            return yx_fail(l->d, v[3], q, "\"%s\" is %s in %s", level, nl->cefr, lname);
    }
    return 0;
}

static int parse_date(const char *s, int64_t *out)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d, n = 0;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
        s[4] != '-' || s[7] != '-')
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return -1;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return -1;
    *out = ts_from_civil(y, m, d, 0, 0, 0);
    return 0;
}

static int want_date(struct ld *l, const yaml_node_t *n, const char *path, int64_t *out,
                     char txt[11])
{
    const char *v;
    if (yx_want_string(l->d, n, path, &v) != 0)
        return -1;
    if (parse_date(v, out) != 0)
        return yx_fail(l->d, n, path, "expected a date YYYY-MM-DD, got \"%s\"", v);
    memcpy(txt, v, 11);
    return 0;
}

/* pass_marks: [{vendor, assessment_type, pass_mark, valid_from, valid_until, note,
 * cefr}]; cefr (optional) limits the row to results at that one CEFR level. */
static int load_pass_marks(struct ld *l, const yaml_node_t *seq)
{
    static const char *const keys[] = {
        "vendor", "assessment_type", "pass_mark", "valid_from", "valid_until", "note", "cefr",
        NULL};
    char p[YX_PATH_MAX], q[YX_PATH_MAX];
    if (yx_want_type(l->d, seq, YAML_SEQUENCE_NODE, "pass_marks") != 0)
        return -1;
    if (!(l->s->pass = calloc(yx_len(seq) ? yx_len(seq) : 1, sizeof *l->s->pass)))
        return yx_oom(l->d);
    for (size_t i = 0; i < yx_len(seq); i++) {
        const yaml_node_t *e = yx_item(l->d, seq, i), *v[7];
        struct sc_pass *pm = &l->s->pass[l->s->n_pass++];
        const char *vendor, *type, *note = NULL;
        yx_path(p, "pass_marks[%zu]", i);
        if (yx_take_keys(l->d, e, p, keys, v) != 0)
            return -1;
        for (size_t j = 0; j < 3; j++)
            if (yx_need(l->d, e, v[j], p, keys[j]) != 0)
                return -1;
        yx_path(q, "%s.vendor", p);
        if (yx_want_string(l->d, v[0], q, &vendor) != 0)
            return -1;
        yx_path(q, "%s.assessment_type", p);
        if (yx_want_string(l->d, v[1], q, &type) != 0)
            return -1;
        if (!(pm->vendor = strdup(vendor)) || !(pm->type_label = strdup(type)))
            return yx_oom(l->d);
        if (!(pm->type = normdup(type)) || !pm->type[0])
            return yx_fail(l->d, v[1], q, "assessment type is empty or too long");
        yx_path(q, "%s.pass_mark", p);
        if (yx_want_number(l->d, v[2], q, &pm->mark) != 0)
            return -1;
        pm->from = INT64_MIN;
        pm->until = INT64_MAX;
        yx_path(q, "%s.valid_from", p);
        if (v[3] && want_date(l, v[3], q, &pm->from, pm->from_s) != 0)
            return -1;
        yx_path(q, "%s.valid_until", p);
        if (v[4] && want_date(l, v[4], q, &pm->until, pm->until_s) != 0)
            return -1;
        if (!(pm->from < pm->until))
            return yx_fail(l->d, v[4], q, "must be after valid_from");
        yx_path(q, "%s.note", p);
        if (v[5] && yx_want_string(l->d, v[5], q, &note) != 0)
            return -1;
        yx_path(q, "%s.cefr", p);
        if (v[6]) {
            const char *lv;
            if (yx_want_string(l->d, v[6], q, &lv) != 0)
                return -1;
            /* cefr is loaded first (S_CEFR): the level must be one of its codes. */
            if (!(pm->cefr = sc_level_rank(&l->s->cefr, lv, strlen(lv))))
                return yx_fail(l->d, v[6], q, "\"%s\" is not a level of the cefr table", lv);
            if (!(pm->cefr_code = strdup(lv)))
                return yx_oom(l->d);
        }
        /* Overlapping rows would make the answer depend on file order; a row
         * for one level may overlap the rows for any level. */
        for (size_t j = 0; j + 1 < l->s->n_pass; j++) {
            const struct sc_pass *o = &l->s->pass[j];
            if (strcmp(o->vendor, pm->vendor) == 0 && strcmp(o->type, pm->type) == 0 &&
                o->cefr == pm->cefr && o->from < pm->until && pm->from < o->until)
                return yx_fail(l->d, e, p, "overlaps the dates of pass_marks[%zu]", j);
        }
        const char *lv = pm->cefr_code ? pm->cefr_code : "";
        size_t n = strlen(vendor) + strlen(type) + (note ? strlen(note) : 0) + strlen(lv) + 112;
        if (!(pm->rule = malloc(n)))
            return yx_oom(l->d);
        snprintf(pm->rule, n, "pass_marks: %s %s%s%s >= %g%s%s%s%s%s%s%s", vendor, type,
                 lv[0] ? " at CEFR " : "", lv, pm->mark, pm->from_s[0] ? " from " : "", pm->from_s,
                 pm->until_s[0] ? " until " : "", pm->until_s, note ? " (" : "", note ? note : "",
                 note ? ")" : "");
    }
    return 0;
}

/* Top-level sections with fixed names, in load order; tables named
 * <name>_levels and <name>_scores come in addition. */
enum {
    S_CEFR,
    S_ACTFL,
    S_STATUSES,
    S_SCORE_SCALES,
    S_ACTFL_CEFR,
    S_TOEFL,
    S_IELTS,
    S_TOEIC,
    S_PASS,
    S_VENDOR_LEVELS,
    S_SOURCES,
    S_N
};
/* In enum order, then the two table kinds (for the unknown-key message). */
static const char *const sc_sections[] = {
    "cefr",      "actfl",         "statuses",      "score_scales", "actfl_cefr",
    "toefl_ibt", "ielts",         "toeic",         "pass_marks",   "vendor_levels",
    "sources",   "<name>_levels", "<name>_scores", NULL,
};

static int is_section(const char *name)
{
    for (size_t i = 0; i < S_N; i++)
        if (strcmp(sc_sections[i], name) == 0)
            return 1;
    return 0;
}

/* A top-level "x_levels" / "x_scores" table with a non-empty x (not one of
 * the fixed sections, though vendor_levels ends the same way). */
static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0 && !is_section(s);
}

static int is_table(const struct scales *s, const char *name)
{
    for (size_t i = 0; i < S_N; i++)
        if (i != S_SOURCES && strcmp(sc_sections[i], name) == 0)
            return 1;
    return sc_name_table(s, name) || sc_band_table(s, name);
}

/* sources: {section: citation}. */
static int load_sources(struct ld *l, const yaml_node_t *map)
{
    char p[YX_PATH_MAX];
    yaml_node_t *k, *v;
    if (yx_check_keys(l->d, map, "sources") != 0)
        return -1;
    if (!(l->s->src = calloc(yx_len(map) ? yx_len(map) : 1, sizeof *l->s->src)))
        return yx_oom(l->d);
    for (size_t i = 0; yx_pair(l->d, map, i, &k, &v) == 0; i++) {
        const char *ks = yx_key(k), *text;
        yx_path(p, "sources.%s", ks);
        if (!is_table(l->s, ks))
            return yx_fail(l->d, k, p, "not a table of this file");
        if (yx_want_string(l->d, v, p, &text) != 0)
            return -1;
        struct sc_source *src = &l->s->src[l->s->n_src++];
        if (!(src->table = strdup(ks)) || !(src->text = strdup(text)))
            return yx_oom(l->d);
    }
    return 0;
}

/* An SQL table name export may use: it becomes an identifier in refdata's
 * DELETE and COPY, so only ref_[a-z0-9_]+, and none of the fixed tables. */
static int sql_table_ok(const char *t)
{
    static const char *const fixed[] = {"ref_cefr_levels",    "ref_actfl_levels",
                                        "ref_actfl_cefr",     "ref_test_cefr",
                                        "ref_status_map",     "ref_score_scales",
                                        "ref_pass_marks",     "ref_sources",
                                        "ref_scales_version", NULL};
    size_t n = strlen(t);
    if (n <= 4 || n > 63 || strncmp(t, "ref_", 4) != 0)
        return 0;
    for (size_t i = 4; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
            return 0;
    for (size_t i = 0; fixed[i]; i++)
        if (strcmp(fixed[i], t) == 0)
            return 0;
    return 1;
}

/* vendor_levels: {vendor: {label, level_names, score_bands, sql_table}}. */
static int load_vendor_levels(struct ld *l, const yaml_node_t *map)
{
    static const char *const keys[] = {"label", "level_names", "score_bands", "sql_table", NULL};
    char path[YX_PATH_MAX], q[YX_PATH_MAX];
    yaml_node_t *k, *e;
    if (yx_check_keys(l->d, map, "vendor_levels") != 0)
        return -1;
    if (!(l->s->vl = calloc(yx_len(map) ? yx_len(map) : 1, sizeof *l->s->vl)))
        return yx_oom(l->d);
    for (size_t i = 0; yx_pair(l->d, map, i, &k, &e) == 0; i++) {
        struct sc_vendor_levels *vl = &l->s->vl[l->s->n_vl++];
        const yaml_node_t *v[4];
        const char *str;
        yx_path(path, "vendor_levels.%s", yx_key(k));
        if (!(vl->vendor = strdup(yx_key(k))))
            return yx_oom(l->d);
        if (yx_take_keys(l->d, e, path, keys, v) != 0)
            return -1;
        yx_path(q, "%s.label", path);
        if (v[0] && yx_want_string(l->d, v[0], q, &str) != 0)
            return -1;
        if (!(vl->label = strdup(v[0] ? str : vl->vendor)))
            return yx_oom(l->d);
        yx_path(q, "%s.level_names", path);
        if (v[1]) {
            if (yx_want_string(l->d, v[1], q, &str) != 0)
                return -1;
            if (!(vl->names = sc_name_table(l->s, str)))
                return yx_fail(l->d, v[1], q,
                               "no level-name table \"%s\" (a <name>_levels section)", str);
        }
        yx_path(q, "%s.score_bands", path);
        if (v[2]) {
            if (yx_want_string(l->d, v[2], q, &str) != 0)
                return -1;
            if (!(vl->bands = sc_band_table(l->s, str)))
                return yx_fail(l->d, v[2], q,
                               "no score-band table \"%s\" (a <name>_scores section)", str);
        }
        if (!vl->names && !vl->bands)
            return yx_fail(l->d, e, path, "names neither level_names nor score_bands");
        yx_path(q, "%s.sql_table", path);
        if (v[3]) {
            if (yx_want_string(l->d, v[3], q, &str) != 0)
                return -1;
            if (!vl->bands)
                return yx_fail(l->d, v[3], q, "needs score_bands (the rows it holds)");
            if (!sql_table_ok(str))
                return yx_fail(l->d, v[3], q,
                               "\"%s\" is not a name for a score-band table (ref_[a-z0-9_]+, not "
                               "a fixed reference table)",
                               str);
            if (!(vl->sql_table = strdup(str)))
                return yx_oom(l->d);
            /* the band table is shared; one SQL table for it, whoever names it */
            struct sc_band_table *bt = (struct sc_band_table *)vl->bands;
            if (bt->sql_table && strcmp(bt->sql_table, vl->sql_table) != 0)
                return yx_fail(l->d, v[3], q, "%s is already exported to %s", bt->name,
                               bt->sql_table);
            for (size_t j = 0; j < l->s->n_bands; j++)
                if (&l->s->bands[j] != bt && l->s->bands[j].sql_table &&
                    strcmp(l->s->bands[j].sql_table, vl->sql_table) == 0)
                    return yx_fail(l->d, v[3], q, "%s already holds %s", vl->sql_table,
                                   l->s->bands[j].name);
            bt->sql_table = vl->sql_table;
        }
    }
    return 0;
}

static int load_doc(struct ld *l)
{
    const yaml_node_t *root = yx_root(l->d);
    const yaml_node_t *v[S_N] = {NULL};
    yaml_node_t *k, *val;
    size_t n_names = 0, n_bands = 0;
    if (!root)
        return err_set(l->d->err, SS_ECONFIG, "%s: empty document", l->d->file);
    if (yx_want_type(l->d, root, YAML_MAPPING_NODE, "(top level)") != 0 ||
        yx_check_keys(l->d, root, "(top level)") != 0)
        return -1;
    for (size_t i = 0; yx_pair(l->d, root, i, &k, &val) == 0; i++) {
        const char *ks = yx_key(k);
        size_t j;
        for (j = 0; j < S_N && strcmp(sc_sections[j], ks) != 0; j++)
            ;
        if (j < S_N)
            v[j] = val;
        else if (has_suffix(ks, "_levels"))
            n_names++;
        else if (has_suffix(ks, "_scores"))
            n_bands++;
        else
            return yx_unknown_key(l->d, k, ks, sc_sections);
    }
    /* Sized once: vendor_levels keeps pointers into these arrays. */
    if (!(l->s->names = calloc(n_names ? n_names : 1, sizeof *l->s->names)) ||
        !(l->s->bands = calloc(n_bands ? n_bands : 1, sizeof *l->s->bands)))
        return yx_oom(l->d);
    /* Section by section, so a broken table is reported before a missing one;
     * the levels first, since every other table refers to them. */
    if (!v[S_CEFR])
        return yx_fail(l->d, root, "cefr", "missing");
    if (load_levels(l, v[S_CEFR], "cefr", &l->s->cefr) != 0)
        return -1;
    if (!v[S_ACTFL])
        return yx_fail(l->d, root, "actfl", "missing");
    if (load_levels(l, v[S_ACTFL], "actfl", &l->s->actfl) != 0)
        return -1;
    if (!v[S_STATUSES])
        return yx_fail(l->d, root, "statuses", "missing");
    if (load_statuses(l, v[S_STATUSES]) != 0)
        return -1;
    if (v[S_SCORE_SCALES] && load_score_scales(l, v[S_SCORE_SCALES]) != 0)
        return -1;
    /* level-name tables before score-band tables, which are checked against them */
    for (size_t i = 0; yx_pair(l->d, root, i, &k, &val) == 0; i++)
        if (has_suffix(yx_key(k), "_levels") &&
            load_name_table(l, val, yx_key(k), &l->s->names[l->s->n_names++]) != 0)
            return -1;
    for (size_t i = 0; yx_pair(l->d, root, i, &k, &val) == 0; i++)
        if (has_suffix(yx_key(k), "_scores") &&
            load_band_table(l, val, yx_key(k), &l->s->bands[l->s->n_bands++]) != 0)
            return -1;
    if (v[S_ACTFL_CEFR] && load_actfl_cefr(l, v[S_ACTFL_CEFR]) != 0)
        return -1;
    if (v[S_TOEFL] && load_tests(l, v[S_TOEFL], "toefl_ibt") != 0)
        return -1;
    if (v[S_IELTS] && load_tests(l, v[S_IELTS], "ielts") != 0)
        return -1;
    if (v[S_TOEIC] && load_tests(l, v[S_TOEIC], "toeic") != 0)
        return -1;
    if (v[S_PASS] && load_pass_marks(l, v[S_PASS]) != 0)
        return -1;
    if (v[S_VENDOR_LEVELS] && load_vendor_levels(l, v[S_VENDOR_LEVELS]) != 0)
        return -1;
    if (v[S_SOURCES] && load_sources(l, v[S_SOURCES]) != 0)
        return -1;
    return 0;
}

/* ---- lookups over the crosswalk and publisher tables -------------------- */

const struct sc_test *sc_test_find(const struct scales *s, const char *test, const char *skill)
{
    if (!test || !skill)
        return NULL;
    for (size_t i = 0; i < s->n_tests; i++)
        if (strcmp(s->tests[i].test, test) == 0 && strcasecmp(s->tests[i].skill, skill) == 0)
            return &s->tests[i];
    return NULL;
}

int sc_test_lookup(const struct sc_test *t, double v, int *lo, int *hi, const struct sc_cut **row)
{
    if (!(v >= t->smin && v <= t->smax))
        return -1;
    *lo = *hi = 0;
    *row = NULL;
    for (size_t i = 0; i < t->n; i++) {
        if (v < t->v[i].min)
            continue;
        int above = i > 0 ? t->v[i - 1].rank : INT_MAX;
        *lo = *hi = t->v[i].rank;
        *row = &t->v[i];
        /* A level between this cut and the next published one whose own cut
         * is unknown: the score may be at either. */
        for (size_t u = 0; u < t->n_unpub; u++)
            if (t->unpub[u] > *lo && t->unpub[u] < above)
                *hi = t->unpub[u];
        break;
    }
    return 0;
}

const struct sc_xwalk *sc_xwalk_find(const struct scales *s, int group, int actfl_rank)
{
    if (group != SC_RECEPTIVE && group != SC_PRODUCTIVE)
        return NULL;
    for (size_t i = 0; i < s->xw[group].n; i++)
        if (s->xw[group].v[i].actfl == actfl_rank)
            return &s->xw[group].v[i];
    return NULL;
}

const char *sc_source(const struct scales *s, const char *table)
{
    for (size_t i = 0; i < s->n_src; i++)
        if (strcmp(s->src[i].table, table) == 0)
            return s->src[i].text;
    return NULL;
}

int sc_skill_group(const char *skill)
{
    if (!skill)
        return -1;
    if (strcasecmp(skill, "speaking") == 0 || strcasecmp(skill, "writing") == 0 ||
        strcasecmp(skill, "productive") == 0)
        return SC_PRODUCTIVE;
    if (strcasecmp(skill, "reading") == 0 || strcasecmp(skill, "listening") == 0 ||
        strcasecmp(skill, "receptive") == 0)
        return SC_RECEPTIVE;
    return -1;
}
static int digest(const char *data, size_t len, char out[13], struct ss_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 6)
        return err_set(err, SS_ENOMEM, "SHA-256 of the scales failed");
    for (int i = 0; i < 6; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

static int load_buf(const char *data, size_t len, const char *name, struct scales **out,
                    struct ss_err *err)
{
    struct yx_doc d;
    int rc = -1;
    struct scales *s = calloc(1, sizeof *s);
    struct ld l = {&d, s};

    *out = NULL;
    memset(&d, 0, sizeof d);
    if (!s) {
        err_set(err, SS_ENOMEM, "%s: out of memory loading the scales", name);
        goto out;
    }
    if (yx_load_string(&d, data, len, name, err) != 0)
        goto out;
    if (load_doc(&l) != 0 || digest(data, len, s->version, err) != 0)
        goto out;
    *out = s;
    s = NULL;
    rc = 0;
out:
    yx_doc_free(&d);
    scales_free(s);
    return rc;
}

int scales_load_string(const char *yaml, const char *name, struct scales **out, struct ss_err *err)
{
    return load_buf(yaml, strlen(yaml), name ? name : "(string)", out, err);
}

int scales_load(const char *path, struct scales **out, struct ss_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    *out = NULL;
    if (yx_read_file(path, SC_FILE_MAX, &buf, &len, err) != 0)
        return -1;
    int rc = load_buf(buf, len, path, out, err);
    free(buf);
    return rc;
}

int sc_crosswalk(const struct scales *s, int group, int lo, int hi, int *clo, int *chi, char *rule,
                 size_t n)
{
    static const char *const gname[] = {"receptive", "productive"};
    const struct sc_xwalk *a = sc_xwalk_find(s, group, lo), *b = sc_xwalk_find(s, group, hi);
    if (!a || !b || !a->cefr || !b->cefr) {
        snprintf(rule, n, "actfl_cefr %s: %s%s%s assigns no CEFR rating",
                 group == SC_PRODUCTIVE ? gname[1] : gname[0], norm_actfl_code(s, lo),
                 lo != hi ? " - " : "", lo != hi ? norm_actfl_code(s, hi) : "");
        return -1;
    }
    *clo = a->cefr;
    *chi = b->cefr;
    if (a == b)
        snprintf(rule, n, "actfl_cefr %s: %s -> %s (%s)", gname[group],
                 norm_actfl_code(s, a->actfl), a->sub, norm_cefr_code(s, a->cefr));
    else
        snprintf(rule, n, "actfl_cefr %s: %s -> %s (%s), %s -> %s (%s)", gname[group],
                 norm_actfl_code(s, a->actfl), a->sub, norm_cefr_code(s, a->cefr),
                 norm_actfl_code(s, b->actfl), b->sub, norm_cefr_code(s, b->cefr));
    return 0;
}

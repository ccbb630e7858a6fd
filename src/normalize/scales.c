/* scales: loading config/scales.yaml (libyaml document API, so every node
 * keeps its line for error messages) and the table lookups over it. */
#include "scales_priv.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <yaml.h>

/* The mapping file is small; anything bigger is a mistake, not a table. */
#define SC_FILE_MAX (1024 * 1024)
#define SC_PATH_MAX 256

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

const struct sc_name_level *sc_cepa_level(const struct scales *s, const char *name)
{
    char key[SC_KEY_MAX];
    if (!name || sc_normkey(name, strlen(name), key, sizeof key) != 0)
        return NULL;
    for (size_t i = 0; i < s->n_cepa; i++)
        if (strcmp(s->cepa[i].key, key) == 0)
            return &s->cepa[i];
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
        for (size_t j = 0; j < s->st[i].n; j++)
            free(s->st[i].v[j].key);
        free(s->st[i].v);
        free(s->st[i].vendor);
    }
    free(s->st);
    for (size_t i = 0; i < s->n_sc; i++) {
        free(s->sc[i].vendor);
        free(s->sc[i].type);
        free(s->sc[i].name);
    }
    free(s->sc);
    for (size_t i = 0; i < s->n_cepa; i++) {
        free(s->cepa[i].key);
        free(s->cepa[i].cefr);
    }
    free(s->cepa);
    free(s);
}

/* ---- loading ----------------------------------------------------------- */

struct ld {
    const char *file;
    yaml_document_t *doc;
    struct scales *s;
    struct ss_err *err;
};

/* Key paths for messages ("cefr[3].rank"); a long one is cut, never overrun. */
static void pfmt(char out[SC_PATH_MAX], const char *fmt, ...) SS_PRINTF(2, 3);
static void pfmt(char out[SC_PATH_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, SC_PATH_MAX, fmt, ap);
    va_end(ap);
}

static unsigned long node_line(const yaml_node_t *n)
{
    return n ? (unsigned long)n->start_mark.line + 1 : 0;
}

/* "file:line: key.path: message" -- the PgBouncer way: say where. */
static int ld_fail(struct ld *l, const yaml_node_t *n, const char *path, const char *fmt, ...)
    SS_PRINTF(4, 5);
static int ld_fail(struct ld *l, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(l->err, SS_ECONFIG, "%s:%lu: %s: %s", l->file, node_line(n), path, msg);
}

static int ld_oom(struct ld *l)
{
    return err_set(l->err, SS_ENOMEM, "%s: out of memory loading the scales", l->file);
}

static yaml_node_t *node(struct ld *l, int id)
{
    return yaml_document_get_node(l->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A mapping key's text; check_keys() has made sure keys are scalars. */
static const char *kstr(const yaml_node_t *n)
{
    const char *v = scalar(n);
    return v ? v : "";
}

static int is_null(const yaml_node_t *n)
{
    if (!n)
        return 1;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *v = scalar(n);
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static int want_type(struct ld *l, const yaml_node_t *n, yaml_node_type_t t, const char *path)
{
    static const char *const names[] = {"nothing", "a string", "a list", "a mapping"};
    if (n && n->type == t)
        return 0;
    return ld_fail(l, n, path, "expected %s", names[t]);
}

static int want_string(struct ld *l, const yaml_node_t *n, const char *path, const char **out)
{
    if (want_type(l, n, YAML_SCALAR_NODE, path) != 0)
        return -1;
    if (is_null(n))
        return ld_fail(l, n, path, "expected a string, not null");
    *out = scalar(n);
    return 0;
}

/* Numbers and booleans must be plain scalars: "3" in quotes is a string. */
static int want_int(struct ld *l, const yaml_node_t *n, const char *path, int *out)
{
    const char *v = scalar(n);
    char *end;
    if (!v || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !v[0])
        return ld_fail(l, n, path, "expected an integer");
    errno = 0;
    long x = strtol(v, &end, 10);
    if (*end || errno || x < INT_MIN || x > INT_MAX)
        return ld_fail(l, n, path, "expected an integer, got \"%s\"", v);
    *out = (int)x;
    return 0;
}

static int want_number(struct ld *l, const yaml_node_t *n, const char *path, double *out)
{
    const char *v = scalar(n);
    char *end;
    if (!v || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !v[0])
        return ld_fail(l, n, path, "expected a number");
    errno = 0;
    double x = strtod(v, &end);
    if (*end || errno || !isfinite(x))
        return ld_fail(l, n, path, "expected a number, got \"%s\"", v);
    *out = x;
    return 0;
}

static int want_bool(struct ld *l, const yaml_node_t *n, const char *path, int *out)
{
    const char *v = scalar(n);
    if (v && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0) {
            *out = 0;
            return 0;
        }
    }
    return ld_fail(l, n, path, "expected true or false");
}

/* Checks a mapping's keys are strings and unique (libyaml keeps duplicates). */
static int check_keys(struct ld *l, const yaml_node_t *map, const char *path)
{
    char p[SC_PATH_MAX];
    for (yaml_node_pair_t *a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top;
         a++) {
        const yaml_node_t *k = node(l, a->key);
        if (!scalar(k) || is_null(k))
            return ld_fail(l, k, path, "keys must be strings");
        for (yaml_node_pair_t *b = map->data.mapping.pairs.start; b < a; b++)
            if (strcmp(kstr(node(l, b->key)), kstr(k)) == 0) {
                pfmt(p, "%s.%s", path, kstr(k));
                return ld_fail(l, k, p, "duplicate key (first on line %lu)",
                               node_line(node(l, b->key)));
            }
    }
    return 0;
}

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
        return ld_fail(l, n, path, "\"%s\" is empty or too long", text);
    /* One name, one level: otherwise a lookup would depend on file order. */
    if (level_has_name(t, key, &other))
        return ld_fail(l, n, path, "\"%s\" already names level %s", text, other);
    char **p = realloc(lv->names, (lv->n_names + 1) * sizeof *p);
    if (!p)
        return ld_oom(l);
    lv->names = p;
    if (!(lv->names[lv->n_names] = strdup(key)))
        return ld_oom(l);
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
    char path[SC_PATH_MAX], p[SC_PATH_MAX];
    if (want_type(l, seq, YAML_SEQUENCE_NODE, sect) != 0)
        return -1;
    size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (n == 0)
        return ld_fail(l, seq, sect, "no levels");
    if (!(t->v = calloc(n, sizeof *t->v)))
        return ld_oom(l);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *e = node(l, seq->data.sequence.items.start[i]);
        struct sc_level *lv = &t->v[t->n++];
        const yaml_node_t *code = NULL, *rank = NULL, *aliases = NULL;
        pfmt(path, "%s[%zu]", sect, i);
        if (want_type(l, e, YAML_MAPPING_NODE, path) != 0 || check_keys(l, e, path) != 0)
            return -1;
        for (yaml_node_pair_t *pr = e->data.mapping.pairs.start; pr < e->data.mapping.pairs.top;
             pr++) {
            const yaml_node_t *k = node(l, pr->key), *v = node(l, pr->value);
            const char *ks = kstr(k), *str;
            pfmt(p, "%s.%s", path, ks);
            if (strcmp(ks, "code") == 0) {
                code = v;
            } else if (strcmp(ks, "rank") == 0) {
                rank = v;
            } else if (strcmp(ks, "aliases") == 0) {
                aliases = v;
            } else if (strcmp(ks, "label") == 0) {
                if (want_string(l, v, p, &str) != 0)
                    return -1;
                if (!(lv->label = strdup(str)))
                    return ld_oom(l);
            } else {
                return ld_fail(l, k, p, "unknown key (expected code, label, rank, aliases)");
            }
        }
        const char *cs;
        pfmt(p, "%s.code", path);
        if (!code)
            return ld_fail(l, e, p, "missing");
        if (want_string(l, code, p, &cs) != 0)
            return -1;
        if (!(lv->code = strdup(cs)))
            return ld_oom(l);
        if (add_name(l, t, lv, code, p, cs) != 0)
            return -1;
        pfmt(p, "%s.rank", path);
        if (!rank)
            return ld_fail(l, e, p, "missing");
        if (want_int(l, rank, p, &lv->rank) != 0)
            return -1;
        if (lv->rank < 1)
            return ld_fail(l, rank, p, "rank %d: ranks start at 1 (0 means unknown)", lv->rank);
        for (size_t j = 0; j + 1 < t->n; j++)
            if (t->v[j].rank == lv->rank)
                return ld_fail(l, rank, p, "duplicate rank %d (also %s[%zu], %s)", lv->rank, sect,
                               j, t->v[j].code);
        if (aliases) {
            pfmt(p, "%s.aliases", path);
            if (want_type(l, aliases, YAML_SEQUENCE_NODE, p) != 0)
                return -1;
            for (yaml_node_item_t *it = aliases->data.sequence.items.start;
                 it < aliases->data.sequence.items.top; it++) {
                char ap[SC_PATH_MAX];
                const yaml_node_t *a = node(l, *it);
                const char *as;
                pfmt(ap, "%s.aliases[%td]", path, it - aliases->data.sequence.items.start);
                if (want_string(l, a, ap, &as) != 0)
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
    char path[SC_PATH_MAX], p[SC_PATH_MAX];
    int has_default = 0;
    if (want_type(l, map, YAML_MAPPING_NODE, "statuses") != 0 ||
        check_keys(l, map, "statuses") != 0)
        return -1;
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (!(l->s->st = calloc(n ? n : 1, sizeof *l->s->st)))
        return ld_oom(l);
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *vk = node(l, pr->key), *vm = node(l, pr->value);
        struct sc_status_map *m = &l->s->st[l->s->n_st++];
        pfmt(path, "statuses.%s", kstr(vk));
        if (!(m->vendor = strdup(kstr(vk))))
            return ld_oom(l);
        has_default |= strcmp(m->vendor, "default") == 0;
        if (want_type(l, vm, YAML_MAPPING_NODE, path) != 0 || check_keys(l, vm, path) != 0)
            return -1;
        size_t k = (size_t)(vm->data.mapping.pairs.top - vm->data.mapping.pairs.start);
        if (!(m->v = calloc(k ? k : 1, sizeof *m->v)))
            return ld_oom(l);
        for (yaml_node_pair_t *e = vm->data.mapping.pairs.start; e < vm->data.mapping.pairs.top;
             e++) {
            const yaml_node_t *lk = node(l, e->key), *lv = node(l, e->value);
            const char *label = kstr(lk), *cv = NULL, *canon;
            pfmt(p, "%s.%s", path, label);
            if (want_string(l, lv, p, &cv) != 0)
                return -1;
            if (!(canon = canon_name(cv)))
                return ld_fail(l, lv, p,
                               "\"%s\" is not a canonical status (not_started, in_progress, "
                               "score_pending, completed, needs_review, expired, unknown)",
                               cv);
            char *key = normdup(label);
            if (!key || key[0] == '\0') {
                free(key);
                return ld_fail(l, lk, p, "label is empty or too long");
            }
            if (status_find(m, key)) {
                free(key);
                return ld_fail(l, lk, p, "duplicate label (labels are case-insensitive)");
            }
            m->v[m->n].key = key;
            m->v[m->n++].canon = canon;
        }
    }
    if (!has_default)
        return ld_fail(l, map, "statuses.default", "missing (shared by all vendors)");
    return 0;
}

/* score_scales: {vendor: {type: {name, min, max, linear}}}. */
static int load_scale(struct ld *l, const yaml_node_t *e, const char *path, struct sc_scale *sc)
{
    char p[SC_PATH_MAX];
    int got_min = 0, got_max = 0, got_lin = 0;
    if (want_type(l, e, YAML_MAPPING_NODE, path) != 0 || check_keys(l, e, path) != 0)
        return -1;
    for (yaml_node_pair_t *pr = e->data.mapping.pairs.start; pr < e->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = node(l, pr->key), *v = node(l, pr->value);
        const char *ks = kstr(k), *str;
        pfmt(p, "%s.%s", path, ks);
        if (strcmp(ks, "name") == 0) {
            if (want_string(l, v, p, &str) != 0)
                return -1;
            if (!(sc->name = strdup(str)))
                return ld_oom(l);
        } else if (strcmp(ks, "min") == 0) {
            if (want_number(l, v, p, &sc->min) != 0)
                return -1;
            got_min = 1;
        } else if (strcmp(ks, "max") == 0) {
            if (want_number(l, v, p, &sc->max) != 0)
                return -1;
            got_max = 1;
        } else if (strcmp(ks, "linear") == 0) {
            if (want_bool(l, v, p, &sc->linear) != 0)
                return -1;
            got_lin = 1;
        } else {
            return ld_fail(l, k, p, "unknown key (expected name, min, max, linear)");
        }
    }
    const char *missing = !sc->name  ? "name"
                          : !got_min ? "min"
                          : !got_max ? "max"
                          : !got_lin ? "linear"
                                     : NULL;
    if (missing) {
        pfmt(p, "%s.%s", path, missing);
        return ld_fail(l, e, p, "missing");
    }
    if (!(sc->min < sc->max)) {
        pfmt(p, "%s.max", path);
        return ld_fail(l, e, p, "max %g must be greater than min %g", sc->max, sc->min);
    }
    return 0;
}

static int load_score_scales(struct ld *l, const yaml_node_t *map)
{
    char path[SC_PATH_MAX], p[SC_PATH_MAX];
    if (want_type(l, map, YAML_MAPPING_NODE, "score_scales") != 0 ||
        check_keys(l, map, "score_scales") != 0)
        return -1;
    size_t total = 0;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *vm = node(l, pr->value);
        pfmt(path, "score_scales.%s", kstr(node(l, pr->key)));
        if (want_type(l, vm, YAML_MAPPING_NODE, path) != 0 || check_keys(l, vm, path) != 0)
            return -1;
        total += (size_t)(vm->data.mapping.pairs.top - vm->data.mapping.pairs.start);
    }
    if (!(l->s->sc = calloc(total ? total : 1, sizeof *l->s->sc)))
        return ld_oom(l);
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        const char *vendor = kstr(node(l, pr->key));
        const yaml_node_t *vm = node(l, pr->value);
        size_t first = l->s->n_sc;
        for (yaml_node_pair_t *e = vm->data.mapping.pairs.start; e < vm->data.mapping.pairs.top;
             e++) {
            const yaml_node_t *tk = node(l, e->key);
            struct sc_scale *sc = &l->s->sc[l->s->n_sc++];
            pfmt(p, "score_scales.%s.%s", vendor, kstr(tk));
            if (!(sc->vendor = strdup(vendor)))
                return ld_oom(l);
            sc->type = normdup(kstr(tk));
            if (!sc->type || sc->type[0] == '\0')
                return ld_fail(l, tk, p, "assessment type is empty or too long");
            for (size_t j = first; j + 1 < l->s->n_sc; j++)
                if (strcmp(l->s->sc[j].type, sc->type) == 0)
                    return ld_fail(l, tk, p, "duplicate assessment type (case-insensitive)");
            if (load_scale(l, node(l, e->value), p, sc) != 0)
                return -1;
        }
    }
    return 0;
}

/* cepa_levels: {level name: CEFR code}; the codes must be in `cefr`. */
static int load_cepa_levels(struct ld *l, const yaml_node_t *map)
{
    char p[SC_PATH_MAX];
    if (want_type(l, map, YAML_MAPPING_NODE, "cepa_levels") != 0 ||
        check_keys(l, map, "cepa_levels") != 0)
        return -1;
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (!(l->s->cepa = calloc(n ? n : 1, sizeof *l->s->cepa)))
        return ld_oom(l);
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *k = node(l, pr->key), *v = node(l, pr->value);
        const char *code;
        struct sc_name_level *e = &l->s->cepa[l->s->n_cepa++];
        pfmt(p, "cepa_levels.%s", kstr(k));
        if (want_string(l, v, p, &code) != 0)
            return -1;
        e->key = normdup(kstr(k));
        if (!e->key || e->key[0] == '\0')
            return ld_fail(l, k, p, "level name is empty or too long");
        for (size_t j = 0; j + 1 < l->s->n_cepa; j++)
            if (strcmp(l->s->cepa[j].key, e->key) == 0)
                return ld_fail(l, k, p, "duplicate level name (case-insensitive)");
        if (!(e->cefr = strdup(code)))
            return ld_oom(l);
        if (sc_parse_levels(&l->s->cefr, code, &e->lo, &e->hi) != 0)
            return ld_fail(l, v, p, "\"%s\" is not a CEFR level in the cefr table", code);
    }
    return 0;
}

/* Sections a later issue fills in (crosswalks, publisher tables). */
static int load_reserved(struct ld *l, const yaml_node_t *n, const char *path)
{
    if (is_null(n))
        return 0;
    if ((n->type == YAML_SEQUENCE_NODE &&
         n->data.sequence.items.top == n->data.sequence.items.start) ||
        (n->type == YAML_MAPPING_NODE && n->data.mapping.pairs.top == n->data.mapping.pairs.start))
        return 0;
    return ld_fail(l, n, path, "reserved for a later version; must be empty");
}

static int load_doc(struct ld *l)
{
    const yaml_node_t *root = yaml_document_get_root_node(l->doc);
    const yaml_node_t *cefr = NULL, *actfl = NULL, *st = NULL, *sc = NULL, *cepa = NULL;
    static const char *const reserved[] = {"actfl_cefr", "toefl", "ielts", "toeic", NULL};
    if (!root)
        return err_set(l->err, SS_ECONFIG, "%s: empty document", l->file);
    if (want_type(l, root, YAML_MAPPING_NODE, "(top level)") != 0 ||
        check_keys(l, root, "(top level)") != 0)
        return -1;
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *k = node(l, pr->key), *v = node(l, pr->value);
        const char *ks = kstr(k);
        int res = 0;
        for (size_t i = 0; reserved[i]; i++)
            if (strcmp(ks, reserved[i]) == 0)
                res = 1;
        if (res) {
            if (load_reserved(l, v, ks) != 0)
                return -1;
        } else if (strcmp(ks, "cefr") == 0) {
            cefr = v;
        } else if (strcmp(ks, "actfl") == 0) {
            actfl = v;
        } else if (strcmp(ks, "statuses") == 0) {
            st = v;
        } else if (strcmp(ks, "score_scales") == 0) {
            sc = v;
        } else if (strcmp(ks, "cepa_levels") == 0) {
            cepa = v;
        } else {
            return ld_fail(l, k, ks,
                           "unknown key (expected cefr, actfl, statuses, score_scales, "
                           "cepa_levels, actfl_cefr, toefl, ielts, toeic)");
        }
    }
    /* Section by section, so a broken table is reported before a missing one. */
    if (!cefr)
        return ld_fail(l, root, "cefr", "missing");
    if (load_levels(l, cefr, "cefr", &l->s->cefr) != 0)
        return -1;
    if (!actfl)
        return ld_fail(l, root, "actfl", "missing");
    if (load_levels(l, actfl, "actfl", &l->s->actfl) != 0)
        return -1;
    if (!st)
        return ld_fail(l, root, "statuses", "missing");
    if (load_statuses(l, st) != 0)
        return -1;
    if (sc && load_score_scales(l, sc) != 0)
        return -1;
    if (cepa && load_cepa_levels(l, cepa) != 0)
        return -1;
    return 0;
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
    yaml_parser_t parser;
    yaml_document_t doc;
    int have_parser = 0, have_doc = 0, rc = -1;
    struct scales *s = calloc(1, sizeof *s);
    struct ld l = {name, &doc, s, err};

    *out = NULL;
    if (!s) {
        err_set(err, SS_ENOMEM, "%s: out of memory loading the scales", name);
        goto out;
    }
    if (!yaml_parser_initialize(&parser)) {
        err_set(err, SS_ENOMEM, "%s: cannot initialise the YAML parser", name);
        goto out;
    }
    have_parser = 1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!yaml_parser_load(&parser, &doc)) {
        err_set(err, SS_ECONFIG, "%s:%lu: %s%s%s", name,
                (unsigned long)parser.problem_mark.line + 1,
                parser.problem ? parser.problem : "YAML syntax error", parser.context ? " " : "",
                parser.context ? parser.context : "");
        goto out;
    }
    have_doc = 1;
    if (load_doc(&l) != 0 || digest(data, len, s->version, err) != 0)
        goto out;
    *out = s;
    s = NULL;
    rc = 0;
out:
    if (have_doc)
        yaml_document_delete(&doc);
    if (have_parser)
        yaml_parser_delete(&parser);
    scales_free(s);
    return rc;
}

int scales_load_string(const char *yaml, const char *name, struct scales **out, struct ss_err *err)
{
    return load_buf(yaml, strlen(yaml), name ? name : "(string)", out, err);
}

int scales_load(const char *path, struct scales **out, struct ss_err *err)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t len = 0;
    int rc = -1;

    *out = NULL;
    if (!(f = fopen(path, "rb"))) {
        err_set(err, SS_EIO, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (!(buf = malloc(SC_FILE_MAX + 1))) {
        err_set(err, SS_ENOMEM, "%s: out of memory reading the scales", path);
        goto out;
    }
    len = fread(buf, 1, SC_FILE_MAX + 1, f);
    if (ferror(f)) {
        err_set(err, SS_EIO, "%s: read error", path);
        goto out;
    }
    if (len > SC_FILE_MAX) {
        err_set(err, SS_ETOOBIG, "%s: larger than %d bytes", path, SC_FILE_MAX);
        goto out;
    }
    rc = load_buf(buf, len, path, out, err);
out:
    if (f)
        fclose(f);
    free(buf);
    return rc;
}

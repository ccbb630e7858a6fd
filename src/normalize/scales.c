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
#include <strings.h>

#include <openssl/evp.h>
#include <yaml.h>

#include "../core/timeparse.h"

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
    for (size_t i = 0; i < s->n_cepa; i++) {
        free(s->cepa[i].key);
        free(s->cepa[i].cefr);
    }
    free(s->cepa);
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
    for (size_t i = 0; i < s->n_cepa_sc; i++)
        free(s->cepa_sc[i].level);
    free(s->cepa_sc);
    for (size_t i = 0; i < s->n_pass; i++) {
        free(s->pass[i].vendor);
        free(s->pass[i].type);
        free(s->pass[i].type_label);
        free(s->pass[i].rule);
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
            m->v[m->n].canon = canon;
            if (!(m->v[m->n++].label = strdup(label)))
                return ld_oom(l);
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
            if (!(sc->type_label = strdup(kstr(tk))))
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

/* Sequence/mapping sizes, for the allocations below. */
static size_t seq_len(const yaml_node_t *n)
{
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static size_t map_len(const yaml_node_t *n)
{
    return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

/* A single CEFR level ("B2+"), not a range: tables map to one level. */
static int want_cefr(struct ld *l, const yaml_node_t *n, const char *path, int *rank)
{
    const char *v;
    int lo, hi;
    if (want_string(l, n, path, &v) != 0)
        return -1;
    if (sc_parse_levels(&l->s->cefr, v, &lo, &hi) != 0 || lo != hi)
        return ld_fail(l, n, path, "\"%s\" is not a CEFR level in the cefr table", v);
    *rank = lo;
    return 0;
}

/* Looks up the keys of a flow mapping like {actfl: .., cefr: ..}: every key
 * must be one of names[]; vals[i] receives the value node (or NULL). */
static int take_keys(struct ld *l, const yaml_node_t *e, const char *path, const char *const *names,
                     const yaml_node_t **vals)
{
    char p[SC_PATH_MAX], list[SC_PATH_MAX] = "";
    size_t n = 0;
    if (want_type(l, e, YAML_MAPPING_NODE, path) != 0 || check_keys(l, e, path) != 0)
        return -1;
    for (n = 0; names[n]; n++) {
        vals[n] = NULL;
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", n ? ", " : "", names[n]);
    }
    for (yaml_node_pair_t *pr = e->data.mapping.pairs.start; pr < e->data.mapping.pairs.top; pr++) {
        const char *ks = kstr(node(l, pr->key));
        size_t i;
        for (i = 0; names[i] && strcmp(names[i], ks) != 0; i++)
            ;
        if (!names[i]) {
            pfmt(p, "%s.%s", path, ks);
            return ld_fail(l, node(l, pr->key), p, "unknown key (expected %s)", list);
        }
        vals[i] = node(l, pr->value);
    }
    return 0;
}

static int need(struct ld *l, const yaml_node_t *e, const yaml_node_t *v, const char *path,
                const char *key)
{
    char p[SC_PATH_MAX];
    if (v)
        return 0;
    pfmt(p, "%s.%s", path, key);
    return ld_fail(l, e, p, "missing");
}

/* actfl_cefr: {receptive: [...], productive: [...]}, rows {actfl, cefr, code}. */
static int load_actfl_cefr(struct ld *l, const yaml_node_t *map)
{
    static const char *const groups[] = {"receptive", "productive"};
    static const char *const keys[] = {"actfl", "cefr", "code", NULL};
    char path[SC_PATH_MAX], p[SC_PATH_MAX];
    if (want_type(l, map, YAML_MAPPING_NODE, "actfl_cefr") != 0 ||
        check_keys(l, map, "actfl_cefr") != 0)
        return -1;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *gk = node(l, pr->key), *seq = node(l, pr->value);
        int g = strcmp(kstr(gk), groups[0]) == 0   ? SC_RECEPTIVE
                : strcmp(kstr(gk), groups[1]) == 0 ? SC_PRODUCTIVE
                                                   : -1;
        pfmt(path, "actfl_cefr.%s", kstr(gk));
        if (g < 0)
            return ld_fail(l, gk, path, "unknown key (expected receptive, productive)");
        if (want_type(l, seq, YAML_SEQUENCE_NODE, path) != 0)
            return -1;
        struct sc_xgroup *xg = &l->s->xw[g];
        if (!(xg->v = calloc(seq_len(seq) ? seq_len(seq) : 1, sizeof *xg->v)))
            return ld_oom(l);
        for (size_t i = 0; i < seq_len(seq); i++) {
            const yaml_node_t *e = node(l, seq->data.sequence.items.start[i]), *v[3];
            const char *actfl, *sub;
            struct sc_xwalk *x = &xg->v[xg->n++];
            pfmt(p, "%s[%zu]", path, i);
            if (take_keys(l, e, p, keys, v) != 0 || need(l, e, v[0], p, "actfl") != 0 ||
                need(l, e, v[1], p, "cefr") != 0)
                return -1;
            char q[SC_PATH_MAX];
            pfmt(q, "%s.actfl", p);
            int lo, hi;
            if (want_string(l, v[0], q, &actfl) != 0)
                return -1;
            if (sc_parse_levels(&l->s->actfl, actfl, &lo, &hi) != 0 || lo != hi)
                return ld_fail(l, v[0], q, "\"%s\" is not a level in the actfl table", actfl);
            x->actfl = lo;
            for (size_t j = 0; j + 1 < xg->n; j++)
                if (xg->v[j].actfl == lo)
                    return ld_fail(l, v[0], q, "duplicate ACTFL level \"%s\"", actfl);
            pfmt(q, "%s.cefr", p);
            if (want_string(l, v[1], q, &sub) != 0)
                return -1;
            if (!(x->sub = strdup(sub)))
                return ld_oom(l);
            pfmt(q, "%s.code", p);
            /* "0" is ACTFL's "no CEFR rating": it must not name a level. */
            if (strcmp(sub, "0") == 0) {
                if (v[2] && !is_null(v[2]))
                    return ld_fail(l, v[2], q, "a \"0\" cell (no CEFR rating) takes no code");
                x->cefr = 0;
            } else {
                if (need(l, e, v[2], p, "code") != 0 || want_cefr(l, v[2], q, &x->cefr) != 0)
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
    char p[SC_PATH_MAX];
    if (take_keys(l, n, path, keys, v) != 0 || need(l, n, v[0], path, "min") != 0 ||
        need(l, n, v[1], path, "max") != 0)
        return -1;
    pfmt(p, "%s.min", path);
    if (want_number(l, v[0], p, lo) != 0)
        return -1;
    pfmt(p, "%s.max", path);
    if (want_number(l, v[1], p, hi) != 0)
        return -1;
    if (!(*lo < *hi))
        return ld_fail(l, v[1], p, "max %g must be greater than min %g", *hi, *lo);
    return 0;
}

/* One skill of a publisher table: {scale, levels, unpublished}. */
static int load_test_skill(struct ld *l, const yaml_node_t *e, const char *path, struct sc_test *t)
{
    static const char *const keys[] = {"scale", "levels", "unpublished", NULL};
    static const char *const cut_keys[] = {"cefr", "min", "max", NULL};
    const yaml_node_t *v[3];
    char p[SC_PATH_MAX], q[SC_PATH_MAX];
    if (take_keys(l, e, path, keys, v) != 0 || need(l, e, v[0], path, "scale") != 0 ||
        need(l, e, v[1], path, "levels") != 0)
        return -1;
    pfmt(p, "%s.scale", path);
    if (load_range(l, v[0], p, &t->smin, &t->smax) != 0)
        return -1;
    pfmt(p, "%s.levels", path);
    if (want_type(l, v[1], YAML_SEQUENCE_NODE, p) != 0)
        return -1;
    if (seq_len(v[1]) == 0)
        return ld_fail(l, v[1], p, "no levels");
    if (!(t->v = calloc(seq_len(v[1]), sizeof *t->v)))
        return ld_oom(l);
    for (size_t i = 0; i < seq_len(v[1]); i++) {
        const yaml_node_t *c = node(l, v[1]->data.sequence.items.start[i]), *cv[3];
        struct sc_cut *cut = &t->v[t->n++];
        pfmt(p, "%s.levels[%zu]", path, i);
        if (take_keys(l, c, p, cut_keys, cv) != 0 || need(l, c, cv[0], p, "cefr") != 0 ||
            need(l, c, cv[1], p, "min") != 0)
            return -1;
        pfmt(q, "%s.cefr", p);
        if (want_cefr(l, cv[0], q, &cut->rank) != 0)
            return -1;
        pfmt(q, "%s.min", p);
        if (want_number(l, cv[1], q, &cut->min) != 0)
            return -1;
        if (cut->min < t->smin || cut->min > t->smax)
            return ld_fail(l, cv[1], q, "%g is outside the scale [%g, %g]", cut->min, t->smin,
                           t->smax);
        cut->max = NAN;
        if (cv[2]) {
            pfmt(q, "%s.max", p);
            if (want_number(l, cv[2], q, &cut->max) != 0)
                return -1;
            if (cut->max < cut->min || cut->max > t->smax)
                return ld_fail(l, cv[2], q, "%g must lie between min %g and the scale max %g",
                               cut->max, cut->min, t->smax);
        }
        for (size_t j = 0; j + 1 < t->n; j++)
            if (t->v[j].rank == cut->rank || t->v[j].min == cut->min)
                return ld_fail(l, c, p, "duplicate level or cut score (also %s.levels[%zu])", path,
                               j);
    }
    qsort(t->v, t->n, sizeof *t->v, cmp_cut_desc);
    /* A higher cut must mean a higher level, or lookups would contradict the table. */
    pfmt(p, "%s.levels", path);
    for (size_t j = 0; j + 1 < t->n; j++)
        if (t->v[j].rank < t->v[j + 1].rank)
            return ld_fail(l, v[1], p,
                           "levels must rise with the cut score (%g -> rank %d, %g -> "
                           "rank %d)",
                           t->v[j + 1].min, t->v[j + 1].rank, t->v[j].min, t->v[j].rank);
    if (v[2] && !is_null(v[2])) {
        pfmt(p, "%s.unpublished", path);
        if (want_type(l, v[2], YAML_SEQUENCE_NODE, p) != 0)
            return -1;
        if (!(t->unpub = calloc(seq_len(v[2]) ? seq_len(v[2]) : 1, sizeof *t->unpub)))
            return ld_oom(l);
        for (size_t i = 0; i < seq_len(v[2]); i++) {
            const yaml_node_t *u = node(l, v[2]->data.sequence.items.start[i]);
            int r;
            pfmt(q, "%s[%zu]", p, i);
            if (want_cefr(l, u, q, &r) != 0)
                return -1;
            for (size_t j = 0; j < t->n; j++)
                if (t->v[j].rank == r)
                    return ld_fail(l, u, q, "level has a published cut in levels");
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
    char path[SC_PATH_MAX];
    if (want_type(l, map, YAML_MAPPING_NODE, test) != 0 || check_keys(l, map, test) != 0)
        return -1;
    struct sc_test *nt = realloc(l->s->tests, (l->s->n_tests + map_len(map) + 1) * sizeof *nt);
    if (!nt)
        return ld_oom(l);
    l->s->tests = nt;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *k = node(l, pr->key);
        const char *sk = kstr(k);
        size_t i;
        pfmt(path, "%s.%s", test, sk);
        for (i = 0; i < 6 && strcmp(skills[i], sk) != 0; i++)
            ;
        if (i == 6)
            return ld_fail(l, k, path,
                           "unknown skill (expected reading, listening, speaking, writing, total, "
                           "overall)");
        struct sc_test *t = &l->s->tests[l->s->n_tests++];
        memset(t, 0, sizeof *t);
        t->test = test;
        if (!(t->skill = strdup(sk)))
            return ld_oom(l);
        if (load_test_skill(l, node(l, pr->value), path, t) != 0)
            return -1;
    }
    return 0;
}

/* cepa_scores: [{min, max, level, cefr}], ascending and consistent with cepa_levels. */
static int load_cepa_scores(struct ld *l, const yaml_node_t *seq)
{
    static const char *const keys[] = {"min", "max", "level", "cefr", NULL};
    char p[SC_PATH_MAX], q[SC_PATH_MAX];
    if (want_type(l, seq, YAML_SEQUENCE_NODE, "cepa_scores") != 0)
        return -1;
    if (!(l->s->cepa_sc = calloc(seq_len(seq) ? seq_len(seq) : 1, sizeof *l->s->cepa_sc)))
        return ld_oom(l);
    for (size_t i = 0; i < seq_len(seq); i++) {
        const yaml_node_t *e = node(l, seq->data.sequence.items.start[i]), *v[4];
        struct sc_cepa_score *c = &l->s->cepa_sc[l->s->n_cepa_sc++];
        const char *level;
        pfmt(p, "cepa_scores[%zu]", i);
        if (take_keys(l, e, p, keys, v) != 0)
            return -1;
        for (size_t j = 0; keys[j]; j++)
            if (need(l, e, v[j], p, keys[j]) != 0)
                return -1;
        pfmt(q, "%s.min", p);
        if (want_number(l, v[0], q, &c->min) != 0)
            return -1;
        pfmt(q, "%s.max", p);
        if (want_number(l, v[1], q, &c->max) != 0)
            return -1;
        if (c->max < c->min)
            return ld_fail(l, v[1], q, "max %g is below min %g", c->max, c->min);
        pfmt(q, "%s.min", p);
        if (i > 0 && !(c->min > l->s->cepa_sc[i - 1].max))
            return ld_fail(l, v[0], q, "%g overlaps the row above (rows go up, lowest first)",
                           c->min);
        pfmt(q, "%s.level", p);
        if (want_string(l, v[2], q, &level) != 0)
            return -1;
        if (!(c->level = strdup(level)))
            return ld_oom(l);
        pfmt(q, "%s.cefr", p);
        if (want_cefr(l, v[3], q, &c->rank) != 0)
            return -1;
        /* Two tables from one vendor page must not disagree. */
        const struct sc_name_level *nl = sc_cepa_level(l->s, level);
        if (nl && (nl->lo != c->rank || nl->hi != c->rank))
            return ld_fail(l, v[3], q, "\"%s\" is %s in cepa_levels", level, nl->cefr);
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
    if (want_string(l, n, path, &v) != 0)
        return -1;
    if (parse_date(v, out) != 0)
        return ld_fail(l, n, path, "expected a date YYYY-MM-DD, got \"%s\"", v);
    memcpy(txt, v, 11);
    return 0;
}

/* pass_marks: [{vendor, assessment_type, pass_mark, valid_from, valid_until, note}]. */
static int load_pass_marks(struct ld *l, const yaml_node_t *seq)
{
    static const char *const keys[] = {
        "vendor", "assessment_type", "pass_mark", "valid_from", "valid_until", "note", NULL};
    char p[SC_PATH_MAX], q[SC_PATH_MAX];
    if (want_type(l, seq, YAML_SEQUENCE_NODE, "pass_marks") != 0)
        return -1;
    if (!(l->s->pass = calloc(seq_len(seq) ? seq_len(seq) : 1, sizeof *l->s->pass)))
        return ld_oom(l);
    for (size_t i = 0; i < seq_len(seq); i++) {
        const yaml_node_t *e = node(l, seq->data.sequence.items.start[i]), *v[6];
        struct sc_pass *pm = &l->s->pass[l->s->n_pass++];
        const char *vendor, *type, *note = NULL;
        pfmt(p, "pass_marks[%zu]", i);
        if (take_keys(l, e, p, keys, v) != 0)
            return -1;
        for (size_t j = 0; j < 3; j++)
            if (need(l, e, v[j], p, keys[j]) != 0)
                return -1;
        pfmt(q, "%s.vendor", p);
        if (want_string(l, v[0], q, &vendor) != 0)
            return -1;
        pfmt(q, "%s.assessment_type", p);
        if (want_string(l, v[1], q, &type) != 0)
            return -1;
        if (!(pm->vendor = strdup(vendor)) || !(pm->type_label = strdup(type)))
            return ld_oom(l);
        if (!(pm->type = normdup(type)) || !pm->type[0])
            return ld_fail(l, v[1], q, "assessment type is empty or too long");
        pfmt(q, "%s.pass_mark", p);
        if (want_number(l, v[2], q, &pm->mark) != 0)
            return -1;
        pm->from = INT64_MIN;
        pm->until = INT64_MAX;
        pfmt(q, "%s.valid_from", p);
        if (v[3] && want_date(l, v[3], q, &pm->from, pm->from_s) != 0)
            return -1;
        pfmt(q, "%s.valid_until", p);
        if (v[4] && want_date(l, v[4], q, &pm->until, pm->until_s) != 0)
            return -1;
        if (!(pm->from < pm->until))
            return ld_fail(l, v[4], q, "must be after valid_from");
        pfmt(q, "%s.note", p);
        if (v[5] && want_string(l, v[5], q, &note) != 0)
            return -1;
        /* Overlapping rows would make the answer depend on file order. */
        for (size_t j = 0; j + 1 < l->s->n_pass; j++) {
            const struct sc_pass *o = &l->s->pass[j];
            if (strcmp(o->vendor, pm->vendor) == 0 && strcmp(o->type, pm->type) == 0 &&
                o->from < pm->until && pm->from < o->until)
                return ld_fail(l, e, p, "overlaps the dates of pass_marks[%zu]", j);
        }
        size_t n = strlen(vendor) + strlen(type) + (note ? strlen(note) : 0) + 96;
        if (!(pm->rule = malloc(n)))
            return ld_oom(l);
        snprintf(pm->rule, n, "pass_marks: %s %s >= %g%s%s%s%s%s%s%s", vendor, type, pm->mark,
                 pm->from_s[0] ? " from " : "", pm->from_s, pm->until_s[0] ? " until " : "",
                 pm->until_s, note ? " (" : "", note ? note : "", note ? ")" : "");
    }
    return 0;
}

static const char *const sc_sections[] = {
    "cefr",      "actfl", "statuses", "score_scales", "cepa_levels", "cepa_scores", "actfl_cefr",
    "toefl_ibt", "ielts", "toeic",    "pass_marks",   "sources",     NULL,
};

/* sources: {section: citation}. */
static int load_sources(struct ld *l, const yaml_node_t *map)
{
    char p[SC_PATH_MAX];
    if (want_type(l, map, YAML_MAPPING_NODE, "sources") != 0 || check_keys(l, map, "sources") != 0)
        return -1;
    if (!(l->s->src = calloc(map_len(map) ? map_len(map) : 1, sizeof *l->s->src)))
        return ld_oom(l);
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *k = node(l, pr->key);
        const char *ks = kstr(k), *text;
        size_t i;
        pfmt(p, "sources.%s", ks);
        for (i = 0; sc_sections[i] && strcmp(sc_sections[i], ks) != 0; i++)
            ;
        if (!sc_sections[i] || strcmp(ks, "sources") == 0)
            return ld_fail(l, k, p, "not a table of this file");
        if (want_string(l, node(l, pr->value), p, &text) != 0)
            return -1;
        struct sc_source *src = &l->s->src[l->s->n_src++];
        if (!(src->table = strdup(ks)) || !(src->text = strdup(text)))
            return ld_oom(l);
    }
    return 0;
}

static int load_doc(struct ld *l)
{
    const yaml_node_t *root = yaml_document_get_root_node(l->doc);
    const yaml_node_t *v[12] = {NULL};
    if (!root)
        return err_set(l->err, SS_ECONFIG, "%s: empty document", l->file);
    if (want_type(l, root, YAML_MAPPING_NODE, "(top level)") != 0 ||
        check_keys(l, root, "(top level)") != 0)
        return -1;
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *k = node(l, pr->key);
        const char *ks = kstr(k);
        size_t i;
        for (i = 0; sc_sections[i] && strcmp(sc_sections[i], ks) != 0; i++)
            ;
        if (!sc_sections[i])
            return ld_fail(l, k, ks,
                           "unknown key (expected cefr, actfl, statuses, score_scales, "
                           "cepa_levels, cepa_scores, actfl_cefr, toefl_ibt, ielts, toeic, "
                           "pass_marks, sources)");
        v[i] = node(l, pr->value);
    }
    /* Section by section, so a broken table is reported before a missing one;
     * the levels first, since every other table refers to them. */
    if (!v[0])
        return ld_fail(l, root, "cefr", "missing");
    if (load_levels(l, v[0], "cefr", &l->s->cefr) != 0)
        return -1;
    if (!v[1])
        return ld_fail(l, root, "actfl", "missing");
    if (load_levels(l, v[1], "actfl", &l->s->actfl) != 0)
        return -1;
    if (!v[2])
        return ld_fail(l, root, "statuses", "missing");
    if (load_statuses(l, v[2]) != 0)
        return -1;
    if (v[3] && load_score_scales(l, v[3]) != 0)
        return -1;
    if (v[4] && load_cepa_levels(l, v[4]) != 0)
        return -1;
    if (v[5] && load_cepa_scores(l, v[5]) != 0)
        return -1;
    if (v[6] && load_actfl_cefr(l, v[6]) != 0)
        return -1;
    if (v[7] && load_tests(l, v[7], "toefl_ibt") != 0)
        return -1;
    if (v[8] && load_tests(l, v[8], "ielts") != 0)
        return -1;
    if (v[9] && load_tests(l, v[9], "toeic") != 0)
        return -1;
    if (v[10] && load_pass_marks(l, v[10]) != 0)
        return -1;
    if (v[11] && load_sources(l, v[11]) != 0)
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

const struct sc_cepa_score *sc_cepa_score(const struct scales *s, double v)
{
    if (s->n_cepa_sc == 0 || !(v >= s->cepa_sc[0].min && v <= s->cepa_sc[s->n_cepa_sc - 1].max))
        return NULL;
    for (size_t i = s->n_cepa_sc; i-- > 0;)
        if (v >= s->cepa_sc[i].min)
            return &s->cepa_sc[i];
    return NULL;
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

/* yamlx: libyaml document helpers shared by the YAML loaders (yamlx.h). */
#include "yamlx.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- loading ---------------------------------------------------------- */

int yx_read_file(const char *path, size_t max, char **buf, size_t *len, struct ss_err *err)
{
    FILE *f = NULL;
    char *b = NULL;
    size_t n;
    int rc = -1;

    *buf = NULL;
    *len = 0;
    if (!(f = fopen(path, "rb"))) {
        err_set(err, SS_EIO, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    /* One byte more than allowed tells "exactly max" from "too big". */
    if (max == SIZE_MAX || !(b = malloc(max + 1))) {
        err_set(err, SS_ENOMEM, "%s: out of memory reading the file", path);
        goto out;
    }
    n = fread(b, 1, max + 1, f);
    if (ferror(f)) {
        err_set(err, SS_EIO, "%s: read error", path);
        goto out;
    }
    if (n > max) {
        err_set(err, SS_ETOOBIG, "%s: larger than %zu bytes", path, max);
        goto out;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    b = NULL;
    rc = 0;
out:
    if (f)
        fclose(f);
    free(b);
    return rc;
}

int yx_load_string(struct yx_doc *d, const char *data, size_t len, const char *name,
                   struct ss_err *err)
{
    yaml_parser_t parser;
    memset(d, 0, sizeof *d);
    d->file = name;
    d->err = err;
    if (!yaml_parser_initialize(&parser))
        return err_set(err, SS_ENOMEM, "%s: cannot initialise the YAML parser", name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!yaml_parser_load(&parser, &d->doc)) {
        err_set(err, SS_ECONFIG, "%s:%lu: YAML syntax error: %s%s%s", name,
                (unsigned long)parser.problem_mark.line + 1, parser.problem ? parser.problem : "?",
                parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return -1;
    }
    d->loaded = 1;
    yaml_parser_delete(&parser);
    return 0;
}

int yx_load_file(struct yx_doc *d, const char *path, size_t max, struct ss_err *err)
{
    char *buf;
    size_t len;
    memset(d, 0, sizeof *d);
    if (yx_read_file(path, max, &buf, &len, err) != 0)
        return -1;
    int rc = yx_load_string(d, buf, len, path, err);
    free(buf);
    return rc;
}

void yx_doc_free(struct yx_doc *d)
{
    if (d && d->loaded) {
        yaml_document_delete(&d->doc);
        d->loaded = 0;
    }
}

/* ---- nodes ------------------------------------------------------------ */

yaml_node_t *yx_root(const struct yx_doc *d)
{
    /* libyaml takes a non-const document but only reads it here */
    return d->loaded ? yaml_document_get_root_node((yaml_document_t *)&d->doc) : NULL;
}

yaml_node_t *yx_node(const struct yx_doc *d, int id)
{
    return d->loaded ? yaml_document_get_node((yaml_document_t *)&d->doc, id) : NULL;
}

unsigned long yx_line(const yaml_node_t *n)
{
    return n ? (unsigned long)n->start_mark.line + 1 : 0;
}

const char *yx_kind(const yaml_node_t *n)
{
    if (!n)
        return "nothing";
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return "a scalar";
    }
}

const char *yx_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

const char *yx_key(const yaml_node_t *n)
{
    const char *v = yx_scalar(n);
    return v ? v : "";
}

int yx_is_null(const yaml_node_t *n)
{
    if (!n)
        return 1;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *v = yx_scalar(n);
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

size_t yx_len(const yaml_node_t *n)
{
    if (n && n->type == YAML_SEQUENCE_NODE)
        return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (n && n->type == YAML_MAPPING_NODE)
        return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    return 0;
}

yaml_node_t *yx_item(const struct yx_doc *d, const yaml_node_t *seq, size_t i)
{
    if (!seq || seq->type != YAML_SEQUENCE_NODE || i >= yx_len(seq))
        return NULL;
    return yx_node(d, seq->data.sequence.items.start[i]);
}

int yx_pair(const struct yx_doc *d, const yaml_node_t *map, size_t i, yaml_node_t **key,
            yaml_node_t **val)
{
    if (!map || map->type != YAML_MAPPING_NODE || i >= yx_len(map))
        return -1;
    *key = yx_node(d, map->data.mapping.pairs.start[i].key);
    *val = yx_node(d, map->data.mapping.pairs.start[i].value);
    return 0;
}

yaml_node_t *yx_map_get(const struct yx_doc *d, const yaml_node_t *map, const char *key)
{
    yaml_node_t *k, *v;
    for (size_t i = 0; yx_pair(d, map, i, &k, &v) == 0; i++) {
        const char *ks = yx_scalar(k);
        if (ks && strcmp(ks, key) == 0)
            return v;
    }
    return NULL;
}

/* ---- key paths -------------------------------------------------------- */

void yx_path(char out[YX_PATH_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, YX_PATH_MAX, fmt, ap);
    va_end(ap);
}

size_t yx_path_key(char *p, const char *key)
{
    size_t n = strlen(p);
    snprintf(p + n, YX_PATH_MAX - n, n ? ".%s" : "%s", key);
    return n;
}

size_t yx_path_idx(char *p, size_t i)
{
    size_t n = strlen(p);
    snprintf(p + n, YX_PATH_MAX - n, "[%zu]", i);
    return n;
}

/* ---- strict scalars ------------------------------------------------------ */

int yx_text_int(const char *s, long long *out)
{
    char *end;
    if (!s || !s[0])
        return -1;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (*end || errno)
        return -1;
    *out = x;
    return 0;
}

int yx_text_number(const char *s, double *out)
{
    char *end;
    if (!s || !s[0])
        return -1;
    errno = 0;
    double x = strtod(s, &end);
    if (*end || errno || !isfinite(x))
        return -1;
    *out = x;
    return 0;
}

int yx_text_bool(const char *s, int *out)
{
    if (!s)
        return -1;
    if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0) {
        *out = 1;
        return 0;
    }
    if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0) {
        *out = 0;
        return 0;
    }
    return -1;
}

/* Numbers and booleans must be plain scalars: "3" in quotes is a string. */
static const char *plain(const yaml_node_t *n)
{
    const char *v = yx_scalar(n);
    return v && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? v : NULL;
}

int yx_int(const yaml_node_t *n, long long *out)
{
    return yx_text_int(plain(n), out);
}

int yx_number(const yaml_node_t *n, double *out)
{
    return yx_text_number(plain(n), out);
}

int yx_bool(const yaml_node_t *n, int *out)
{
    return yx_text_bool(plain(n), out);
}

/* ---- reporting checks ---------------------------------------------------- */

int yx_fail(const struct yx_doc *d, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (path && path[0])
        return err_set(d->err, SS_ECONFIG, "%s:%lu: %s: %s", d->file, yx_line(n), path, msg);
    return err_set(d->err, SS_ECONFIG, "%s:%lu: %s", d->file, yx_line(n), msg);
}

int yx_oom(const struct yx_doc *d)
{
    return err_set(d->err, SS_ENOMEM, "%s: out of memory", d->file);
}

int yx_want_type(const struct yx_doc *d, const yaml_node_t *n, yaml_node_type_t t, const char *path)
{
    static const char *const names[] = {"nothing", "a string", "a list", "a mapping"};
    if (n && n->type == t)
        return 0;
    return yx_fail(d, n, path, "expected %s", (unsigned)t < 4 ? names[t] : "?");
}

int yx_want_string(const struct yx_doc *d, const yaml_node_t *n, const char *path, const char **out)
{
    if (yx_want_type(d, n, YAML_SCALAR_NODE, path) != 0)
        return -1;
    if (yx_is_null(n))
        return yx_fail(d, n, path, "expected a string, not null");
    *out = yx_scalar(n);
    return 0;
}

int yx_want_int(const struct yx_doc *d, const yaml_node_t *n, const char *path, int *out)
{
    long long x;
    if (!plain(n) || !plain(n)[0])
        return yx_fail(d, n, path, "expected an integer");
    if (yx_int(n, &x) != 0 || x < INT_MIN || x > INT_MAX)
        return yx_fail(d, n, path, "expected an integer, got \"%s\"", plain(n));
    *out = (int)x;
    return 0;
}

int yx_want_number(const struct yx_doc *d, const yaml_node_t *n, const char *path, double *out)
{
    if (!plain(n) || !plain(n)[0])
        return yx_fail(d, n, path, "expected a number");
    if (yx_number(n, out) != 0)
        return yx_fail(d, n, path, "expected a number, got \"%s\"", plain(n));
    return 0;
}

int yx_want_bool(const struct yx_doc *d, const yaml_node_t *n, const char *path, int *out)
{
    if (yx_bool(n, out) != 0)
        return yx_fail(d, n, path, "expected true or false");
    return 0;
}

int yx_check_keys(const struct yx_doc *d, const yaml_node_t *map, const char *path)
{
    char p[YX_PATH_MAX];
    yaml_node_t *k, *v, *k2, *v2;
    if (yx_want_type(d, map, YAML_MAPPING_NODE, path) != 0)
        return -1;
    for (size_t i = 0; yx_pair(d, map, i, &k, &v) == 0; i++) {
        if (!yx_scalar(k) || yx_is_null(k))
            return yx_fail(d, k, path, "keys must be strings");
        for (size_t j = 0; j < i && yx_pair(d, map, j, &k2, &v2) == 0; j++)
            if (strcmp(yx_key(k2), yx_key(k)) == 0) {
                yx_path(p, "%s%s%s", path ? path : "", path && path[0] ? "." : "", yx_key(k));
                return yx_fail(d, k, p, "duplicate key (first on line %lu)", yx_line(k2));
            }
    }
    return 0;
}

int yx_need(const struct yx_doc *d, const yaml_node_t *parent, const yaml_node_t *v,
            const char *path, const char *key)
{
    char p[YX_PATH_MAX];
    if (v)
        return 0;
    yx_path(p, "%s", path ? path : "");
    yx_path_key(p, key);
    return yx_fail(d, parent, p, "missing");
}

/* ---- unknown keys ---------------------------------------------------------- */

size_t yx_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return SIZE_MAX;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

void yx_suggest_try(struct yx_suggest *s, const char *word, const char *cand)
{
    size_t d = yx_edit_distance(word, cand);
    size_t limit = strlen(cand) / 3 + 1;
    if (d <= limit && d < s->dist) {
        s->best = cand;
        s->dist = d;
    }
}

const char *yx_suggest(const char *word, const char *const *names)
{
    struct yx_suggest s = {NULL, SIZE_MAX};
    for (size_t i = 0; names && names[i]; i++)
        yx_suggest_try(&s, word, names[i]);
    return s.best;
}

int yx_unknown_key(const struct yx_doc *d, const yaml_node_t *k, const char *path,
                   const char *const *names)
{
    char list[512] = "";
    const char *best = yx_suggest(yx_key(k), names);
    if (best)
        return yx_fail(d, k, path, "unknown key \"%s\" (did you mean \"%s\"?)", yx_key(k), best);
    for (size_t i = 0; names && names[i]; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
    }
    return yx_fail(d, k, path, "unknown key (expected %s)", list);
}

int yx_take_keys(const struct yx_doc *d, const yaml_node_t *map, const char *path,
                 const char *const *names, const yaml_node_t **vals)
{
    char p[YX_PATH_MAX];
    yaml_node_t *k, *v;
    if (yx_check_keys(d, map, path) != 0)
        return -1;
    for (size_t n = 0; names[n]; n++)
        vals[n] = NULL;
    for (size_t i = 0; yx_pair(d, map, i, &k, &v) == 0; i++) {
        size_t j;
        for (j = 0; names[j] && strcmp(names[j], yx_key(k)) != 0; j++)
            ;
        if (!names[j]) {
            yx_path(p, "%s", path ? path : "");
            yx_path_key(p, yx_key(k));
            return yx_unknown_key(d, k, p, names);
        }
        vals[j] = v;
    }
    return 0;
}

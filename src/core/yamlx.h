/* yamlx: ready for use */
/* yamlx: the libyaml document helpers every YAML loader here needs, written
 * once: loading with "file:line" errors, node access, strict scalars, key
 * paths for messages and unknown-key checks with a "did you mean".
 *
 * Errors read "file:line: key.path: message" (PgBouncer style) and carry
 * SS_ECONFIG (SS_EIO for an unreadable file, SS_ENOMEM, SS_ETOOBIG).
 *
 * Ownership: struct yx_doc is caller storage; yx_load_*() fill it and
 * yx_doc_free() releases what they allocated (safe on a zeroed or failed
 * doc). Every node and string returned points into the document and lives
 * until yx_doc_free(). doc->file and doc->err are borrowed: they must outlive
 * the doc. yx_read_file() returns a heap buffer the caller free()s. */
#ifndef SS_YAMLX_H
#define SS_YAMLX_H

#include <stddef.h>
#include <yaml.h>

#include "err.h"

/* Key paths ("a.b[2].c") are cut at this size, never overrun. */
#define YX_PATH_MAX 256

struct yx_doc {
    yaml_document_t doc;
    const char *file;   /* name used in messages (borrowed) */
    struct ss_err *err; /* where yx_fail() and the yx_want_*() report (borrowed) */
    int loaded;         /* doc holds a document to delete */
};

/* ---- loading ---------------------------------------------------------- */

/* Reads a whole file of at most max bytes into *buf (NUL-terminated, caller
 * frees) and *len. SS_EIO naming the path, SS_ETOOBIG over max. */
int yx_read_file(const char *path, size_t max, char **buf, size_t *len,
                 struct ss_err *err) SS_MUSTCHECK;
/* Parses data[0..len) as one YAML document into d; name is used in messages
 * and must outlive d. A syntax error reads "name:line: YAML syntax error: ...".
 * An empty input loads (yx_root() is then NULL). */
int yx_load_string(struct yx_doc *d, const char *data, size_t len, const char *name,
                   struct ss_err *err) SS_MUSTCHECK;
/* yx_read_file() + yx_load_string(), with path as the name. */
int yx_load_file(struct yx_doc *d, const char *path, size_t max, struct ss_err *err) SS_MUSTCHECK;
void yx_doc_free(struct yx_doc *d);

/* ---- nodes ------------------------------------------------------------ */

yaml_node_t *yx_root(const struct yx_doc *d);
/* The node of id in d, or NULL. */
yaml_node_t *yx_node(const struct yx_doc *d, int id);
/* 1-based line of n for messages; 0 for NULL. */
unsigned long yx_line(const yaml_node_t *n);
/* "a mapping", "a list", "a scalar"; "nothing" for NULL. */
const char *yx_kind(const yaml_node_t *n);
/* A scalar's text, or NULL if n is not a scalar. */
const char *yx_scalar(const yaml_node_t *n);
/* A mapping key's text: like yx_scalar() but "" instead of NULL. */
const char *yx_key(const yaml_node_t *n);
/* NULL, or a plain ~ / null / Null / NULL / empty scalar. */
int yx_is_null(const yaml_node_t *n);
/* Items of a list or pairs of a mapping; 0 for anything else. */
size_t yx_len(const yaml_node_t *n);
/* The i-th item of a list, or NULL. */
yaml_node_t *yx_item(const struct yx_doc *d, const yaml_node_t *seq, size_t i);
/* The i-th pair of a mapping into *key and *val; -1 if out of range. */
int yx_pair(const struct yx_doc *d, const yaml_node_t *map, size_t i, yaml_node_t **key,
            yaml_node_t **val);
/* The value of the first scalar key equal to key in a mapping, or NULL. */
yaml_node_t *yx_map_get(const struct yx_doc *d, const yaml_node_t *map, const char *key);

/* ---- key paths for messages -------------------------------------------- */

/* printf into out (YX_PATH_MAX bytes). */
void yx_path(char out[YX_PATH_MAX], const char *fmt, ...) SS_PRINTF(2, 3);
/* Appends ".key" (or "key" to an empty path) / "[i]"; returns the old length,
 * so `p[old] = '\0'` pops it again. p holds YX_PATH_MAX bytes. */
size_t yx_path_key(char *p, const char *key);
size_t yx_path_idx(char *p, size_t i);

/* ---- strict scalars (no error reporting) --------------------------------- */

/* Whole-string decimal integer / finite number / bool. 0 or -1. Text forms
 * take any string (e.g. after ${ENV} expansion); node forms also require a
 * plain scalar, so "3" in quotes is a string, not a number. */
int yx_text_int(const char *s, long long *out);
int yx_text_number(const char *s, double *out);
int yx_text_bool(const char *s, int *out); /* true/yes, false/no */
int yx_int(const yaml_node_t *n, long long *out);
int yx_number(const yaml_node_t *n, double *out);
int yx_bool(const yaml_node_t *n, int *out);

/* ---- checks that report through d->err ----------------------------------- */

/* Sets "file:line: path: message" (or "file:line: message" when path is NULL
 * or empty) as SS_ECONFIG; returns -1. */
int yx_fail(const struct yx_doc *d, const yaml_node_t *n, const char *path, const char *fmt, ...)
    SS_PRINTF(4, 5);
/* "file: out of memory" as SS_ENOMEM; returns -1. */
int yx_oom(const struct yx_doc *d);

/* "expected a string|a list|a mapping" unless n has type t. */
int yx_want_type(const struct yx_doc *d, const yaml_node_t *n, yaml_node_type_t t,
                 const char *path);
/* A non-null scalar's text into *out. */
int yx_want_string(const struct yx_doc *d, const yaml_node_t *n, const char *path,
                   const char **out);
int yx_want_int(const struct yx_doc *d, const yaml_node_t *n, const char *path, int *out);
int yx_want_number(const struct yx_doc *d, const yaml_node_t *n, const char *path, double *out);
int yx_want_bool(const struct yx_doc *d, const yaml_node_t *n, const char *path, int *out);
/* A mapping whose keys are non-null scalars, each once ("duplicate key
 * (first on line N)"; libyaml itself keeps duplicates). */
int yx_check_keys(const struct yx_doc *d, const yaml_node_t *map, const char *path);
/* "missing" at path.key when v is NULL (parent gives the line). */
int yx_need(const struct yx_doc *d, const yaml_node_t *parent, const yaml_node_t *v,
            const char *path, const char *key);

/* ---- unknown keys ---------------------------------------------------------- */

/* Levenshtein distance; SIZE_MAX for strings over 40 bytes (keys are short). */
size_t yx_edit_distance(const char *a, const char *b);
/* Running "did you mean": feed candidates, read best (NULL if none close,
 * i.e. within strlen(candidate) / 3 + 1 edits). Start with {NULL, SIZE_MAX}. */
struct yx_suggest {
    const char *best;
    size_t dist;
};
void yx_suggest_try(struct yx_suggest *s, const char *word, const char *cand);
/* The closest of the NULL-terminated names to word, or NULL. */
const char *yx_suggest(const char *word, const char *const *names);
/* Reports key node k (at path, which already ends in the key) as
 * `unknown key "k" (did you mean "x"?)`, or `unknown key (expected a, b, c)`
 * when no name is close. Returns -1. */
int yx_unknown_key(const struct yx_doc *d, const yaml_node_t *k, const char *path,
                   const char *const *names);
/* Checks map (see yx_check_keys) and looks up its keys: each must be one of
 * the NULL-terminated names (else yx_unknown_key); vals[i] receives the value
 * of names[i] or NULL. */
int yx_take_keys(const struct yx_doc *d, const yaml_node_t *map, const char *path,
                 const char *const *names, const yaml_node_t **vals);

#endif

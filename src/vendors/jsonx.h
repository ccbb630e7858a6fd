/* jsonx: typed field readers for vendor record parsers. A reader that finds a
 * field of the wrong type (or a required one missing) fills a jx_fail naming
 * the field and why, so the record can be quarantined with that reason while
 * the run goes on. Strings returned are malloc'd copies owned by the caller. */
#ifndef SS_JSONX_H
#define SS_JSONX_H

#include <json-c/json.h>
#include <stdint.h>
#include "../core/err.h"

struct jx_fail {
    char field[64];
    char reason[256];
};

/* Parses a whole document: trailing garbage, nesting deeper than 128 (above
 * jstream's per-element 64, so any element jstream hands over parses) or a
 * truncated body are errors (SS_EINVAL). *out is freed with json_object_put. */
int jx_parse(const char *data, size_t len, json_object **out, struct ss_err *err) SS_MUSTCHECK;

/* Optional string: absent or null -> *out = NULL. Numbers are not strings.
 * The whole string is kept (json-c gives its length); each U+0000 in it
 * ("\u0000") becomes U+FFFD, since neither a C string nor PostgreSQL text
 * holds NUL: "Jo\u0000hn" is "Jo\uFFFDhn", never "Jo". A lone surrogate
 * is U+FFFD already (json-c). Invalid UTF-8 is passed on (the loader writes
 * U+FFFD for it in text columns). For ids use jx_id. */
int jx_str(json_object *o, const char *key, int required, char **out, struct jx_fail *f);
/* An id: a string that is exact, so two different ids never read as one. A
 * U+0000, a U+FFFD (what json-c makes of a lone surrogate such as
 * "\ud800", and of nothing else the vendor would send in an id) or bytes
 * that are not UTF-8 fail it with the field and why: the record is
 * quarantined rather than stored under an id that another could share. */
int jx_id(json_object *o, const char *key, int required, char **out, struct jx_fail *f);
/* The check of jx_id on a value: 0, or -1 with why (n bytes). */
int jx_id_problem(json_object *v, char *why, size_t n);
/* Number: absent/null -> *present = 0. A string is a type error. */
int jx_num(json_object *o, const char *key, int required, double *out, int *present,
           struct jx_fail *f);
/* Timestamp string (timeparse.h); absent/null -> TS_NULL. */
int jx_time(json_object *o, const char *key, int required, int64_t *out, struct jx_fail *f);
/* .NET duration string; absent/null -> TS_NULL. */
int jx_duration(json_object *o, const char *key, int64_t *out, struct jx_fail *f);
/* Array or object member of the given type, or NULL if absent/null. */
int jx_typed(json_object *o, const char *key, json_type type, json_object **out, struct jx_fail *f);

/* Compact JSON text of o, malloc'd. */
char *jx_dump(json_object *o);

#endif

#include "jsonx.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/record.h"
#include "../core/timeparse.h"

/* Above jstream's per-element limit (64, its elements' own brackets), so
 * every element jstream hands over parses here; a deeper one was already
 * quarantined alone by jstream. */
#define JX_MAX_DEPTH 128

int jx_parse(const char *data, size_t len, json_object **out, struct ss_err *err)
{
    *out = NULL;
    if (len > INT32_MAX)
        return err_set(err, SS_ETOOBIG, "JSON body of %zu bytes is too large", len);
    json_tokener *tok = json_tokener_new_ex(JX_MAX_DEPTH);
    if (!tok)
        return err_set(err, SS_ENOMEM, "out of memory");
    json_object *o = json_tokener_parse_ex(tok, data, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    int rc = 0;
    if (jerr == json_tokener_continue) {
        rc =
            err_set(err, SS_EINVAL, "malformed JSON: body ends early (truncated at byte %zu)", len);
    } else if (jerr != json_tokener_success || !o) {
        rc = err_set(err, SS_EINVAL, "malformed JSON at byte %zu: %s", used,
                     json_tokener_error_desc(jerr));
    } else {
        while (used < len && strchr(" \t\r\n", data[used]))
            used++;
        if (used != len)
            rc = err_set(err, SS_EINVAL, "malformed JSON: unexpected data after byte %zu", used);
    }
    json_tokener_free(tok);
    if (rc) {
        json_object_put(o);
        return rc;
    }
    *out = o;
    return 0;
}

static int fail(struct jx_fail *f, const char *key, const char *fmt, ...) SS_PRINTF(3, 4);
static int fail(struct jx_fail *f, const char *key, const char *fmt, ...)
{
    if (f) {
        va_list ap;
        va_start(ap, fmt);
        snprintf(f->field, sizeof f->field, "%s", key);
        vsnprintf(f->reason, sizeof f->reason, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const char *type_name(json_object *v)
{
    return v ? json_type_to_name(json_object_get_type(v)) : "null";
}

/* Looks key up; returns 1 present and non-null, 0 absent or null. */
static int lookup(json_object *o, const char *key, json_object **v)
{
    *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object))
        return 0;
    if (!json_object_object_get_ex(o, key, v) || *v == NULL)
        return 0;
    return 1;
}

/* The string's full text (json-c keeps its length), each U+0000 written as
 * U+FFFD: a C string, and PostgreSQL text, cannot hold NUL. */
static char *copy_str(json_object *v)
{
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v), nul = 0;
    for (size_t i = 0; i < len; i++)
        nul += s[i] == '\0';
    char *out = malloc(len + 2 * nul + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\0') {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

int jx_str(json_object *o, const char *key, int required, char **out, struct jx_fail *f)
{
    json_object *v;
    *out = NULL;
    if (!lookup(o, key, &v))
        return required ? fail(f, key, "required field is missing or null") : 0;
    if (!json_object_is_type(v, json_type_string))
        return fail(f, key, "expected a string, got %s", type_name(v));
    *out = copy_str(v);
    return *out ? 0 : fail(f, key, "out of memory");
}

/* Length of the valid UTF-8 sequence at p (no overlongs, no surrogates,
 * <= U+10FFFF) within n bytes, or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t len = c >= 0xC2 && c <= 0xDF   ? 2
                 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4
                                          : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F) || (c == 0xF0 && p[1] < 0x90) ||
        (c == 0xF4 && p[1] > 0x8F))
        return 0;
    return len;
}

int jx_id_problem(json_object *v, char *why, size_t n)
{
    if (!v || !json_object_is_type(v, json_type_string)) {
        snprintf(why, n, "expected a string, got %s", type_name(v));
        return -1;
    }
    const unsigned char *s = (const unsigned char *)json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    for (size_t i = 0; i < len;) {
        size_t u = utf8_seq(s + i, len - i);
        if (s[i] == 0) {
            snprintf(why, n,
                     "id contains U+0000 at byte %zu (two ids differing after it would "
                     "read as one)",
                     i);
            return -1;
        }
        if (u == 0) {
            snprintf(why, n, "id is not valid UTF-8 (byte 0x%02x at %zu)", s[i], i);
            return -1;
        }
        if (u == 3 && s[i] == 0xEF && s[i + 1] == 0xBF && s[i + 2] == 0xBD) {
            snprintf(why, n,
                     "id contains U+FFFD at byte %zu (a lone surrogate or an invalid "
                     "byte, so two different ids could read as one)",
                     i);
            return -1;
        }
        i += u;
    }
    return 0;
}

int jx_id(json_object *o, const char *key, int required, char **out, struct jx_fail *f)
{
    json_object *v;
    *out = NULL;
    if (!lookup(o, key, &v))
        return required ? fail(f, key, "required field is missing or null") : 0;
    char why[200];
    if (jx_id_problem(v, why, sizeof why) != 0)
        return fail(f, key, "%s", why);
    *out = strdup(json_object_get_string(v));
    return *out ? 0 : fail(f, key, "out of memory");
}

int jx_num(json_object *o, const char *key, int required, double *out, int *present,
           struct jx_fail *f)
{
    json_object *v;
    *present = 0;
    *out = NAN;
    if (!lookup(o, key, &v))
        return required ? fail(f, key, "required field is missing or null") : 0;
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return fail(f, key, "expected a number, got %s", type_name(v));
    double d = json_object_get_double(v);
    if (!isfinite(d))
        return fail(f, key, "number is not finite");
    *out = d;
    *present = 1;
    return 0;
}

int jx_time(json_object *o, const char *key, int required, int64_t *out, struct jx_fail *f)
{
    json_object *v;
    *out = TS_NULL;
    if (!lookup(o, key, &v))
        return required ? fail(f, key, "required field is missing or null") : 0;
    if (!json_object_is_type(v, json_type_string))
        return fail(f, key, "expected a timestamp string, got %s", type_name(v));
    struct ss_err e = {0};
    if (ts_parse(json_object_get_string(v), 0, out, &e) != 0)
        return fail(f, key, "%s", e.msg);
    return 0;
}

int jx_duration(json_object *o, const char *key, int64_t *out, struct jx_fail *f)
{
    json_object *v;
    *out = TS_NULL;
    if (!lookup(o, key, &v))
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return fail(f, key, "expected a duration string, got %s", type_name(v));
    struct ss_err e = {0};
    if (duration_parse(json_object_get_string(v), out, &e) != 0)
        return fail(f, key, "%s", e.msg);
    return 0;
}

int jx_typed(json_object *o, const char *key, json_type type, json_object **out, struct jx_fail *f)
{
    json_object *v;
    *out = NULL;
    if (!lookup(o, key, &v))
        return 0;
    if (!json_object_is_type(v, type)) {
        return fail(f, key, "expected %s, got %s", json_type_to_name(type), type_name(v));
    }
    *out = v;
    return 0;
}

char *jx_dump(json_object *o)
{
    const char *s =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    return s ? strdup(s) : NULL;
}

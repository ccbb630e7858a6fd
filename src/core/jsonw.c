/* jsonw: streaming JSON writer with automatic commas and string escaping. */
#include "jsonw.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int jsonw_str(struct buf *b, const char *s)
{
    if (!s)
        return buf_append(b, "null", 4, NULL);
    if (buf_append(b, "\"", 1, NULL) != 0)
        return -1;
    /* Copy runs of plain bytes at once; escape only what JSON requires. */
    const char *run = s;
    const unsigned char *p = (const unsigned char *)s;
    for (; *p; p++) {
        char esc[8];
        const char *e;
        if (*p >= 0x20 && *p != '"' && *p != '\\')
            continue;
        switch (*p) {
        case '"':
            e = "\\\"";
            break;
        case '\\':
            e = "\\\\";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\t':
            e = "\\t";
            break;
        case '\r':
            e = "\\r";
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            e = esc;
            break;
        }
        if (buf_append(b, run, (size_t)((const char *)p - run), NULL) != 0 ||
            buf_append(b, e, strlen(e), NULL) != 0)
            return -1;
        run = (const char *)p + 1;
    }
    if (buf_append(b, run, (size_t)((const char *)p - run), NULL) != 0 ||
        buf_append(b, "\"", 1, NULL) != 0)
        return -1;
    return 0;
}

void jw_init(struct jsonw *w, struct buf *b)
{
    memset(w, 0, sizeof *w);
    w->b = b;
}

static void emit(struct jsonw *w, const char *s, size_t n)
{
    if (!w->failed && buf_append(w->b, s, n, NULL) != 0)
        w->failed = 1;
}

/* Before a value: the comma that separates it from the previous member. */
static void before_value(struct jsonw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth > 0) {
        uint32_t bit = 1u << (w->depth - 1);
        if (w->comma & bit)
            emit(w, ",", 1);
        w->comma |= bit;
    }
}

void jw_open(struct jsonw *w, char c)
{
    if (w->depth >= JSONW_MAX_DEPTH || (c != '{' && c != '[')) {
        w->failed = 1;
        return;
    }
    before_value(w);
    emit(w, &c, 1);
    w->depth++;
    w->comma &= ~(1u << (w->depth - 1));
}

void jw_close(struct jsonw *w, char c)
{
    if (w->depth == 0 || (c != '}' && c != ']')) {
        w->failed = 1;
        return;
    }
    w->depth--;
    w->after_key = 0;
    emit(w, &c, 1);
}

void jw_key(struct jsonw *w, const char *key)
{
    before_value(w);
    if (!w->failed && jsonw_str(w->b, key) != 0)
        w->failed = 1;
    emit(w, ":", 1);
    w->after_key = 1;
}

void jw_str(struct jsonw *w, const char *s)
{
    before_value(w);
    if (!w->failed && jsonw_str(w->b, s) != 0)
        w->failed = 1;
}

void jw_raw(struct jsonw *w, const char *json)
{
    before_value(w);
    emit(w, json, strlen(json));
}

static void vrawf(struct jsonw *w, const char *fmt, va_list ap) SS_PRINTF(2, 0);
static void vrawf(struct jsonw *w, const char *fmt, va_list ap)
{
    char tmp[512];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    before_value(w);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        w->failed = 1;
        return;
    }
    emit(w, tmp, (size_t)n);
}

void jw_rawf(struct jsonw *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vrawf(w, fmt, ap);
    va_end(ap);
}

void jw_null(struct jsonw *w)
{
    jw_raw(w, "null");
}

void jw_bool(struct jsonw *w, int v)
{
    jw_raw(w, v ? "true" : "false");
}

void jw_int(struct jsonw *w, long long v)
{
    jw_rawf(w, "%lld", v);
}

void jw_kstr(struct jsonw *w, const char *key, const char *s)
{
    jw_key(w, key);
    jw_str(w, s);
}

void jw_knull(struct jsonw *w, const char *key)
{
    jw_key(w, key);
    jw_null(w);
}

void jw_kbool(struct jsonw *w, const char *key, int v)
{
    jw_key(w, key);
    jw_bool(w, v);
}

void jw_kint(struct jsonw *w, const char *key, long long v)
{
    jw_key(w, key);
    jw_int(w, v);
}

void jw_kraw(struct jsonw *w, const char *key, const char *json)
{
    jw_key(w, key);
    jw_raw(w, json);
}

void jw_krawf(struct jsonw *w, const char *key, const char *fmt, ...)
{
    va_list ap;
    jw_key(w, key);
    va_start(ap, fmt);
    vrawf(w, fmt, ap);
    va_end(ap);
}

/* buf: growable byte buffer with a hard cap. */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit ? limit : SIZE_MAX;
}

static size_t buf_limit(const struct buf *b)
{
    return b->limit ? b->limit : SIZE_MAX;
}

/* Makes room for `extra` more bytes plus the NUL terminator. */
static int buf_reserve(struct buf *b, size_t extra, struct ss_err *err)
{
    size_t limit = buf_limit(b);
    if (extra > limit || b->len > limit - extra)
        return err_set(err, SS_ETOOBIG, "buffer limit of %zu bytes exceeded", limit);
    size_t need = b->len + extra;
    if (need == SIZE_MAX)
        return err_set(err, SS_ETOOBIG, "buffer size overflow");
    need += 1;
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            ncap = need;
            break;
        }
        ncap *= 2;
    }
    /* No point allocating far beyond what the cap allows. */
    if (limit != SIZE_MAX && ncap > limit + 1 && need <= limit + 1)
        ncap = limit + 1;
    char *p = realloc(b->data, ncap);
    if (!p)
        return err_set(err, SS_ENOMEM, "out of memory growing buffer to %zu bytes", ncap);
    b->data = p;
    b->cap = ncap;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n, struct ss_err *err)
{
    if (buf_reserve(b, n, err) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_appendf(struct buf *b, struct ss_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return err_set(err, SS_EINVAL, "bad format string");
    if (buf_reserve(b, (size_t)n, err) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int buf_append_copy_escaped(struct buf *b, const char *s, struct ss_err *err)
{
    /* Count first so a cap failure leaves the buffer unchanged. */
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += (*p == '\\' || *p == '\t' || *p == '\n' || *p == '\r') ? 2 : 1;
    if (buf_reserve(b, n, err) != 0)
        return -1;
    char *o = b->data + b->len;
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '\\':
            *o++ = '\\';
            *o++ = '\\';
            break;
        case '\t':
            *o++ = '\\';
            *o++ = 't';
            break;
        case '\n':
            *o++ = '\\';
            *o++ = 'n';
            break;
        case '\r':
            *o++ = '\\';
            *o++ = 'r';
            break;
        default:
            *o++ = *p;
        }
    }
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

char *buf_steal(struct buf *b)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1); /* callers get a string even when nothing was appended */
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

int arr_grow(void **arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap > SIZE_MAX / size)
        return -1;
    void *p = realloc(*arr, ncap * size);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

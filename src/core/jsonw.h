/* jsonw: a small streaming JSON writer into a struct buf (capped). It puts
 * the commas between members itself and escapes every string, so callers
 * write structure, not punctuation. Failure is sticky: after the first
 * failed append (the buffer's cap, or out of memory) every call does nothing
 * and `failed` stays set, so a renderer checks once at the end.
 *
 * Ownership: the writer borrows the buffer (the caller owns and frees it);
 * strings passed in are copied, never kept. */
#ifndef SS_JSONW_H
#define SS_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define JSONW_MAX_DEPTH 32

struct jsonw {
    struct buf *b;
    int failed;     /* set by the first failed append or misuse; sticky */
    unsigned depth; /* open containers */
    uint32_t comma; /* bit d: the container at depth d holds a member already */
    int after_key;  /* a key was written; the next value belongs to it */
};

void jw_init(struct jsonw *w, struct buf *b);

/* Containers: c is '{' or '[' to open, '}' or ']' to close. */
void jw_open(struct jsonw *w, char c);
void jw_close(struct jsonw *w, char c);
/* An object member's key; the next value call writes its value. */
void jw_key(struct jsonw *w, const char *key);

/* Values (in an array, or after jw_key). */
void jw_str(struct jsonw *w, const char *s); /* NULL writes null */
void jw_null(struct jsonw *w);
void jw_bool(struct jsonw *w, int v);
void jw_int(struct jsonw *w, long long v);
/* A value already in JSON form (a number such as 8.00, a nested document). */
void jw_raw(struct jsonw *w, const char *json);
/* The same, formatted; the result must fit in 512 bytes. */
void jw_rawf(struct jsonw *w, const char *fmt, ...) SS_PRINTF(2, 3);

/* key + value in one call. */
void jw_kstr(struct jsonw *w, const char *key, const char *s);
void jw_knull(struct jsonw *w, const char *key);
void jw_kbool(struct jsonw *w, const char *key, int v);
void jw_kint(struct jsonw *w, const char *key, long long v);
void jw_kraw(struct jsonw *w, const char *key, const char *json);
void jw_krawf(struct jsonw *w, const char *key, const char *fmt, ...) SS_PRINTF(3, 4);

/* Appends s as a JSON string literal with quotes (null when s is NULL):
 * ", \ and control characters escaped; other bytes (UTF-8) as they are.
 * Returns -1 when the buffer's cap is reached (the buffer may then hold a
 * partial literal). */
int jsonw_str(struct buf *b, const char *s) SS_MUSTCHECK;

#endif

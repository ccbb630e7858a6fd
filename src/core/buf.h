/* buf: a growable byte buffer with a hard size cap (curl's dynbuf idea), so
 * a server that lies about or inflates its response cannot exhaust memory.
 * The buffer owns `data`; release with buf_free(). data is always
 * NUL-terminated when len > 0 or after buf_reset(). */
#ifndef SS_BUF_H
#define SS_BUF_H

#include <stddef.h>
#include "err.h"

struct buf {
    char *data;
    size_t len;
    size_t cap;   /* allocated bytes */
    size_t limit; /* maximum len; 0 means SIZE_MAX */
};

void buf_init(struct buf *b, size_t limit);
/* Appends n bytes; returns -1 (SS_ETOOBIG or SS_ENOMEM) without changing the
 * buffer if the limit would be passed. */
int buf_append(struct buf *b, const void *p, size_t n, struct ss_err *err) SS_MUSTCHECK;
int buf_appendf(struct buf *b, struct ss_err *err, const char *fmt, ...) SS_PRINTF(3, 4);
/* Appends s as COPY text-format field content (escapes \, tab, newline, CR). */
int buf_append_copy_escaped(struct buf *b, const char *s, struct ss_err *err) SS_MUSTCHECK;
void buf_reset(struct buf *b); /* len = 0, keeps memory */
void buf_free(struct buf *b);
/* Hands ownership of data to the caller (free() it); leaves b empty. */
char *buf_steal(struct buf *b);

/* Grows the malloc'd array *arr (n elements in use, *cap allocated, each
 * `size` bytes) so one more fits, doubling from 16; the caller owns *arr.
 * -1 on out of memory (then *arr and *cap are unchanged). */
int arr_grow(void **arr, size_t n, size_t *cap, size_t size) SS_MUSTCHECK;

#endif

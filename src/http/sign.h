/* sign: the few cryptographic pieces vendor signing and webhook checks need:
 * HMAC-SHA256 and SHA-256 (OpenSSL), lowercase hex, base64 in both RFC 4648
 * alphabets with or without padding, and a constant-time comparison.
 *
 * Ownership: functions writing to a struct buf APPEND to it (the caller owns
 * and frees the buf; its cap, if any, applies and gives SS_ETOOBIG). Fixed
 * size results go to caller arrays of SIGN_SHA256_LEN bytes. Nothing here
 * allocates anything the caller must free besides the buf's own data. On
 * failure a buf is left as it was. */
#ifndef SS_SIGN_H
#define SS_SIGN_H

#include <stddef.h>
#include "../core/buf.h"
#include "../core/err.h"

#define SIGN_SHA256_LEN 32

/* HMAC-SHA256(key, msg) into out. key may be empty. */
int sign_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                     unsigned char out[SIGN_SHA256_LEN], struct ss_err *err) SS_MUSTCHECK;

/* SHA-256 of p[0..n) into out. */
int sign_sha256(const void *p, size_t n, unsigned char out[SIGN_SHA256_LEN],
                struct ss_err *err) SS_MUSTCHECK;

/* Appends the lowercase hex of p[0..n) (2n characters). */
int sign_hex(struct buf *out, const void *p, size_t n, struct ss_err *err) SS_MUSTCHECK;

/* Base64 options for sign_base64_encode(), or-ed together. */
enum {
    SIGN_B64_STD = 0,   /* RFC 4648 section 4: '+' '/' with '=' padding */
    SIGN_B64_URL = 1,   /* section 5: '-' '_' instead of '+' '/' */
    SIGN_B64_NOPAD = 2, /* strip the trailing '=' */
};

/* Appends the base64 of p[0..n) (text, NUL-terminated by buf). */
int sign_base64_encode(struct buf *out, const void *p, size_t n, int flags,
                       struct ss_err *err) SS_MUSTCHECK;

/* Appends the bytes s[0..n) decodes to. Accepts either alphabet (not both in
 * one text) with or without padding; rejects anything else (whitespace,
 * misplaced or excess '=', a dangling character, non-zero unused bits:
 * every byte string has one accepted spelling per alphabet and padding, so a
 * signature cannot be varied). SS_EINVAL names the offset of the problem. */
int sign_base64_decode(struct buf *out, const char *s, size_t n, struct ss_err *err) SS_MUSTCHECK;

/* 1 when a[0..alen) equals b[0..blen), else 0. Time depends only on the
 * lengths (which are not secret: a MAC's length is public), never on where
 * the contents differ. */
int sign_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

#endif

/* sign: HMAC/SHA-256 via OpenSSL; hex and base64 by hand (the OpenSSL
 * base64 BIOs know one alphabet and tolerate whitespace we must refuse). */
#include "sign.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

int sign_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                     unsigned char out[SIGN_SHA256_LEN], struct ss_err *err)
{
    if (key_len > INT_MAX)
        return err_set(err, SS_EINVAL, "HMAC key too long (%zu bytes)", key_len);
    unsigned int len = 0;
    /* A NULL key means "reuse the last one" to OpenSSL: give it an empty one. */
    if (!HMAC(EVP_sha256(), key_len ? key : "", (int)key_len, msg_len ? msg : (const void *)"",
              msg_len, out, &len) ||
        len != SIGN_SHA256_LEN)
        return err_set(err, SS_EINVAL, "HMAC-SHA256 failed in OpenSSL");
    return 0;
}

int sign_sha256(const void *p, size_t n, unsigned char out[SIGN_SHA256_LEN], struct ss_err *err)
{
    unsigned int len = 0;
    if (!EVP_Digest(n ? p : "", n, out, &len, EVP_sha256(), NULL) || len != SIGN_SHA256_LEN)
        return err_set(err, SS_EINVAL, "SHA-256 failed in OpenSSL");
    return 0;
}

int sign_hex(struct buf *out, const void *p, size_t n, struct ss_err *err)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *in = p;
    char chunk[128];
    size_t used = 0, start = out->len;
    for (size_t i = 0; i < n; i++) {
        chunk[used++] = digits[in[i] >> 4];
        chunk[used++] = digits[in[i] & 15];
        if (used == sizeof chunk || i + 1 == n) {
            if (buf_append(out, chunk, used, err) != 0)
                goto fail;
            used = 0;
        }
    }
    if (n == 0 && buf_append(out, "", 0, err) != 0) /* still a (empty) string */
        goto fail;
    return 0;
fail:
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return -1;
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sign_base64_encode(struct buf *out, const void *p, size_t n, int flags, struct ss_err *err)
{
    const char *a = (flags & SIGN_B64_URL) ? b64_url : b64_std;
    int pad = !(flags & SIGN_B64_NOPAD);
    const unsigned char *in = p;
    size_t start = out->len;
    char q[4];
    for (size_t i = 0; i < n; i += 3) {
        size_t left = n - i;
        unsigned v = (unsigned)in[i] << 16;
        if (left > 1)
            v |= (unsigned)in[i + 1] << 8;
        if (left > 2)
            v |= in[i + 2];
        q[0] = a[(v >> 18) & 63];
        q[1] = a[(v >> 12) & 63];
        q[2] = left > 1 ? a[(v >> 6) & 63] : '=';
        q[3] = left > 2 ? a[v & 63] : '=';
        size_t k = 4;
        if (!pad)
            k = left > 2 ? 4 : left + 1;
        if (buf_append(out, q, k, err) != 0)
            goto fail;
    }
    if (n == 0 && buf_append(out, "", 0, err) != 0)
        goto fail;
    return 0;
fail:
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return -1;
}

/* Value of c in either alphabet, -1 if in neither; *url says which (0 std,
 * 1 url, -1 both: letters and digits). */
static int b64_value(unsigned char c, int *url)
{
    *url = -1;
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    *url = c == '-' || c == '_';
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int sign_base64_decode(struct buf *out, const char *s, size_t n, struct ss_err *err)
{
    size_t start = out->len;
    /* Padding: at most two '=' at the very end, and only to a multiple of 4. */
    size_t data_len = n;
    while (data_len > 0 && s[data_len - 1] == '=' && n - data_len < 2)
        data_len--;
    size_t npad = n - data_len;
    if (npad && (n % 4 != 0 || (data_len % 4) + npad != 4)) {
        err_set(err, SS_EINVAL, "base64: bad padding at offset %zu", data_len);
        goto fail;
    }
    if (data_len % 4 == 1) {
        err_set(err, SS_EINVAL, "base64: dangling character at offset %zu", data_len - 1);
        goto fail;
    }
    int alphabet = -1;
    unsigned acc = 0;
    int bits = 0;
    unsigned char chunk[96];
    size_t used = 0;
    for (size_t i = 0; i < data_len; i++) {
        int url;
        int v = b64_value((unsigned char)s[i], &url);
        if (v < 0) {
            err_set(err, SS_EINVAL, "base64: invalid character at offset %zu", i);
            goto fail;
        }
        if (url >= 0) {
            if (alphabet >= 0 && alphabet != url) {
                err_set(err, SS_EINVAL, "base64: both alphabets mixed at offset %zu", i);
                goto fail;
            }
            alphabet = url;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            chunk[used++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
            if (used == sizeof chunk) {
                if (buf_append(out, chunk, used, err) != 0)
                    goto fail;
                used = 0;
            }
        }
    }
    if (acc != 0) { /* the unused low bits of the last character */
        err_set(err, SS_EINVAL, "base64: non-zero trailing bits at offset %zu", data_len - 1);
        goto fail;
    }
    if (buf_append(out, chunk, used, err) != 0)
        goto fail;
    return 0;
fail:
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return -1;
}

int sign_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return 0;
    if (alen == 0)
        return 1;
    return CRYPTO_memcmp(a, b, alen) == 0;
}

/* sign: HMAC-SHA256 and SHA-256 against published vectors, hex, base64 in
 * both alphabets with and without padding, strict decoding, and the
 * constant-time comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "http/sign.h"

static void hex_of(const unsigned char *p, size_t n, char *out)
{
    struct buf b;
    buf_init(&b, 0);
    struct ss_err err = {0};
    assert_int_equal(sign_hex(&b, p, n, &err), 0);
    assert_int_equal(b.len, 2 * n);
    memcpy(out, b.data, b.len + 1);
    buf_free(&b);
}

static void check_hmac(const void *key, size_t klen, const char *msg, const char *want_hex)
{
    unsigned char mac[SIGN_SHA256_LEN];
    char hex[2 * SIGN_SHA256_LEN + 1];
    struct ss_err err = {0};
    assert_int_equal(sign_hmac_sha256(key, klen, msg, strlen(msg), mac, &err), 0);
    hex_of(mac, sizeof mac, hex);
    assert_string_equal(hex, want_hex);
}

static void test_hmac_rfc4231(void **state)
{
    (void)state;
    /* Test case 1: key = 20 bytes of 0x0b, data = "Hi There". */
    unsigned char k1[20];
    memset(k1, 0x0b, sizeof k1);
    check_hmac(k1, sizeof k1, "Hi There",
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* Test case 2: key = "Jefe". */
    check_hmac("Jefe", 4, "what do ya want for nothing?",
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_hmac_openssl_cli(void **state)
{
    (void)state;
    /* Computed with: echo -n 'msg' | openssl dgst -sha256 -hmac 'key'  (OpenSSL 3.0.19) */
    check_hmac("key", 3, "msg", "2d93cbc1be167bcb1637a4a23cbff01a7878f0c50ee833954ea5221bb1b8c628");
    /* An empty key and message are valid input, not an OpenSSL "reuse the key". */
    unsigned char mac[SIGN_SHA256_LEN];
    struct ss_err err = {0};
    assert_int_equal(sign_hmac_sha256(NULL, 0, NULL, 0, mac, &err), 0);
}

static void test_sha256(void **state)
{
    (void)state;
    unsigned char d[SIGN_SHA256_LEN];
    char hex[2 * SIGN_SHA256_LEN + 1];
    struct ss_err err = {0};
    /* FIPS 180-2 "abc" and the empty string. */
    assert_int_equal(sign_sha256("abc", 3, d, &err), 0);
    hex_of(d, sizeof d, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(sign_sha256(NULL, 0, d, &err), 0);
    hex_of(d, sizeof d, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_hex(void **state)
{
    (void)state;
    const unsigned char in[] = {0x00, 0x0f, 0xa5, 0xff};
    char hex[16];
    hex_of(in, sizeof in, hex);
    assert_string_equal(hex, "000fa5ff");
    /* Appends, and leaves the buffer alone when its cap is hit. */
    struct buf b;
    buf_init(&b, 5);
    struct ss_err err = {0};
    assert_int_equal(sign_hex(&b, in, 1, &err), 0);
    assert_int_equal(sign_hex(&b, in, 2, &err), -1);
    assert_int_equal(err.code, SS_ETOOBIG);
    assert_string_equal(b.data, "00");
    buf_free(&b);
}

static char *enc(const char *in, int flags)
{
    static char out[64];
    struct buf b;
    buf_init(&b, 0);
    struct ss_err err = {0};
    assert_int_equal(sign_base64_encode(&b, in, strlen(in), flags, &err), 0);
    assert_non_null(b.data);
    snprintf(out, sizeof out, "%s", b.data);
    buf_free(&b);
    return out;
}

static void test_base64_rfc4648(void **state)
{
    (void)state;
    /* RFC 4648 section 10. */
    static const char *const v[][3] = {
        {"", "", ""},
        {"f", "Zg==", "Zg"},
        {"fo", "Zm8=", "Zm8"},
        {"foo", "Zm9v", "Zm9v"},
        {"foob", "Zm9vYg==", "Zm9vYg"},
        {"fooba", "Zm9vYmE=", "Zm9vYmE"},
        {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        assert_string_equal(enc(v[i][0], SIGN_B64_STD), v[i][1]);
        assert_string_equal(enc(v[i][0], SIGN_B64_URL), v[i][1]); /* no 62/63 here */
        assert_string_equal(enc(v[i][0], SIGN_B64_NOPAD), v[i][2]);
        assert_string_equal(enc(v[i][0], SIGN_B64_URL | SIGN_B64_NOPAD), v[i][2]);
    }
    /* Values 62 and 63: where the alphabets differ. */
    assert_string_equal(enc("\xfb\xff\xbf", SIGN_B64_STD), "+/+/");
    assert_string_equal(enc("\xfb\xff\xbf", SIGN_B64_URL), "-_-_");
    assert_string_equal(enc("\xfb\xff", SIGN_B64_STD), "+/8=");
    assert_string_equal(enc("\xfb\xff", SIGN_B64_URL | SIGN_B64_NOPAD), "-_8");
}

/* Decodes s; returns the length, or -1 (and checks the error code). */
static long dec(const char *s, char *out, size_t cap)
{
    struct buf b;
    buf_init(&b, 0);
    struct ss_err err = {0};
    int rc = sign_base64_decode(&b, s, strlen(s), &err);
    long n = -1;
    if (rc == 0) {
        assert_true(b.len < cap);
        memcpy(out, b.data, b.len);
        out[b.len] = '\0';
        n = (long)b.len;
    } else {
        assert_int_equal(err.code, SS_EINVAL);
        assert_non_null(strstr(err.msg, "offset"));
        assert_int_equal(b.len, 0);
    }
    buf_free(&b);
    return n;
}

static void test_base64_decode(void **state)
{
    (void)state;
    char out[64];
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
        const int flags[] = {SIGN_B64_STD, SIGN_B64_URL, SIGN_B64_NOPAD,
                             SIGN_B64_URL | SIGN_B64_NOPAD};
        for (size_t f = 0; f < 4; f++) {
            char e[32];
            snprintf(e, sizeof e, "%s", enc(plain[i], flags[f]));
            assert_int_equal(dec(e, out, sizeof out), (long)strlen(plain[i]));
            assert_string_equal(out, plain[i]);
        }
    }
    /* Round trip of every byte value through both alphabets. */
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    for (int flags = 0; flags < 4; flags++) {
        struct buf e, d;
        buf_init(&e, 0);
        buf_init(&d, 0);
        struct ss_err err = {0};
        assert_int_equal(sign_base64_encode(&e, all, sizeof all, flags, &err), 0);
        assert_int_equal(sign_base64_decode(&d, e.data, e.len, &err), 0);
        assert_int_equal(d.len, sizeof all);
        assert_memory_equal(d.data, all, sizeof all);
        buf_free(&e);
        buf_free(&d);
    }
    assert_int_equal(dec("+/+/", out, sizeof out), 3);
    assert_int_equal(dec("-_-_", out, sizeof out), 3);
    assert_memory_equal(out, "\xfb\xff\xbf", 3);

    /* Garbage. */
    assert_int_equal(dec("Zm9v!", out, sizeof out), -1); /* not base64 */
    assert_int_equal(dec("Zm9 v", out, sizeof out), -1); /* whitespace */
    assert_int_equal(dec("Zm9v\n", out, sizeof out), -1);
    assert_int_equal(dec("Z", out, sizeof out), -1); /* one dangling character */
    assert_int_equal(dec("Zm9vY", out, sizeof out), -1);
    assert_int_equal(dec("Zg=", out, sizeof out), -1);   /* padding short of 4 */
    assert_int_equal(dec("Zg===", out, sizeof out), -1); /* too much padding */
    assert_int_equal(dec("Zm9v====", out, sizeof out), -1);
    assert_int_equal(dec("Zm8==", out, sizeof out), -1);
    assert_int_equal(dec("Z=g=", out, sizeof out), -1); /* '=' inside */
    assert_int_equal(dec("=", out, sizeof out), -1);
    assert_int_equal(dec("Zh==", out, sizeof out), -1); /* non-zero unused bits */
    assert_int_equal(dec("Zm9=", out, sizeof out), -1);
    assert_int_equal(dec("+/-_", out, sizeof out), -1);     /* alphabets mixed */
    assert_int_equal(dec("Zg==Zg==", out, sizeof out), -1); /* padding in the middle */

    /* Appends to what the buffer holds; a failure leaves that intact. */
    struct buf b;
    buf_init(&b, 0);
    struct ss_err err = {0};
    assert_int_equal(buf_append(&b, "x:", 2, &err), 0);
    assert_int_equal(sign_base64_decode(&b, "Zm9v", 4, &err), 0);
    assert_int_equal(sign_base64_decode(&b, "Zm9v!!!!", 8, &err), -1);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "x:foo");
    buf_free(&b);
}

static void test_ct_equal(void **state)
{
    (void)state;
    assert_int_equal(sign_ct_equal("abcdef", 6, "abcdef", 6), 1);
    assert_int_equal(sign_ct_equal("abcdef", 6, "abcdeg", 6), 0);
    assert_int_equal(sign_ct_equal("xbcdef", 6, "abcdef", 6), 0);
    assert_int_equal(sign_ct_equal("abcdef", 6, "abcde", 5), 0); /* a prefix is not equal */
    assert_int_equal(sign_ct_equal("", 0, "", 0), 1);
    assert_int_equal(sign_ct_equal(NULL, 0, NULL, 0), 1);
    /* Binary data: embedded NULs compare like any byte. */
    assert_int_equal(sign_ct_equal("a\0b", 3, "a\0c", 3), 0);
    assert_int_equal(sign_ct_equal("a\0b", 3, "a\0b", 3), 1);

    /* The use it is for: a webhook signature in hex, checked against ours. */
    unsigned char mac[SIGN_SHA256_LEN];
    struct ss_err err = {0};
    assert_int_equal(sign_hmac_sha256("key", 3, "msg", 3, mac, &err), 0);
    struct buf h;
    buf_init(&h, 0);
    assert_int_equal(sign_hex(&h, mac, sizeof mac, &err), 0);
    const char *theirs = "2d93cbc1be167bcb1637a4a23cbff01a7878f0c50ee833954ea5221bb1b8c628";
    assert_int_equal(sign_ct_equal(h.data, h.len, theirs, strlen(theirs)), 1);
    buf_free(&h);
}

static void test_testello_shape(void **state)
{
    (void)state;
    /* base64(hex(HMAC(secret, payload))) "." base64(payload): only the
     * building blocks are fixed here; the vendor picks alphabet and padding. */
    const char *secret = "key", *payload = "msg";
    unsigned char mac[SIGN_SHA256_LEN];
    struct ss_err err = {0};
    struct buf hex, out;
    buf_init(&hex, 0);
    buf_init(&out, 0);
    assert_int_equal(sign_hmac_sha256(secret, 3, payload, 3, mac, &err), 0);
    assert_int_equal(sign_hex(&hex, mac, sizeof mac, &err), 0);
    assert_int_equal(sign_base64_encode(&out, hex.data, hex.len, SIGN_B64_URL, &err), 0);
    assert_int_equal(buf_append(&out, ".", 1, &err), 0);
    assert_int_equal(sign_base64_encode(&out, payload, 3, SIGN_B64_URL, &err), 0);
    const char *dot = strchr(out.data, '.');
    assert_non_null(dot);
    assert_string_equal(dot + 1, "bXNn");
    struct buf back;
    buf_init(&back, 0);
    assert_int_equal(sign_base64_decode(&back, out.data, (size_t)(dot - out.data), &err), 0);
    assert_string_equal(back.data, hex.data);
    buf_free(&back);
    buf_free(&hex);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_rfc4231),   cmocka_unit_test(test_hmac_openssl_cli),
        cmocka_unit_test(test_sha256),         cmocka_unit_test(test_hex),
        cmocka_unit_test(test_base64_rfc4648), cmocka_unit_test(test_base64_decode),
        cmocka_unit_test(test_ct_equal),       cmocka_unit_test(test_testello_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

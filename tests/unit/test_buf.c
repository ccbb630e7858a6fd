/* buf: the size cap (a failed append leaves the buffer unchanged), COPY
 * text-format escaping, formatted appends, reset and steal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static void test_cap(void **state)
{
    (void)state;
    struct buf b;
    struct ss_err err = {0};
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, "12345", 5, &err), 0);
    assert_int_equal(buf_append(&b, "6789", 4, &err), 0);
    assert_int_equal(b.len, 9);
    assert_int_equal(buf_append(&b, "AB", 2, &err), -1);
    assert_int_equal(err.code, SS_ETOOBIG);
    assert_int_equal(b.len, 9);
    assert_string_equal(b.data, "123456789");
    assert_int_equal(buf_append(&b, "0", 1, &err), 0); /* exactly at the cap is fine */
    assert_string_equal(b.data, "1234567890");
    assert_int_equal(buf_append(&b, "x", 1, &err), -1);
    assert_int_equal(buf_append(&b, "", 0, &err), 0);
    assert_int_equal(buf_appendf(&b, &err, "%d", 1), -1);
    assert_int_equal(err.code, SS_ETOOBIG);
    assert_string_equal(b.data, "1234567890");
    buf_free(&b);

    /* A single append larger than the cap, and a size that would overflow. */
    buf_init(&b, 4);
    assert_int_equal(buf_append(&b, "hello", 5, &err), -1);
    assert_null(b.data);
    assert_int_equal(buf_append(&b, "hi", 2, &err), 0);
    assert_int_equal(buf_append(&b, "hi", (size_t)-1, &err), -1);
    assert_string_equal(b.data, "hi");
    buf_free(&b);
}

static void test_growth_unlimited(void **state)
{
    (void)state;
    struct buf b;
    struct ss_err err = {0};
    buf_init(&b, 0);
    char chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_append(&b, chunk, sizeof chunk, &err), 0);
    assert_int_equal(b.len, 1000000);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[b.len], '\0');
    assert_int_equal(b.data[999999], 'a');
    buf_free(&b);
}

static void test_copy_escape(void **state)
{
    (void)state;
    struct buf b;
    struct ss_err err = {0};
    buf_init(&b, 0);
    assert_int_equal(buf_append_copy_escaped(&b, "a\\b\tc\nd\re", &err), 0);
    assert_string_equal(b.data, "a\\\\b\\tc\\nd\\re");
    assert_int_equal(b.len, strlen("a\\\\b\\tc\\nd\\re"));
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    /* Everything else passes through, UTF-8 included. */
    assert_int_equal(buf_append_copy_escaped(&b, "Çağrı \"q\" 'x' |,;", &err), 0);
    assert_string_equal(b.data, "Çağrı \"q\" 'x' |,;");
    buf_reset(&b);
    assert_int_equal(buf_append_copy_escaped(&b, "", &err), 0);
    assert_int_equal(b.len, 0);
    buf_free(&b);

    /* The escaped length counts against the cap, and failure changes nothing. */
    buf_init(&b, 5);
    assert_int_equal(buf_append(&b, "ab", 2, &err), 0);
    assert_int_equal(buf_append_copy_escaped(&b, "\t\t", &err), -1); /* 4 bytes escaped */
    assert_int_equal(err.code, SS_ETOOBIG);
    assert_string_equal(b.data, "ab");
    assert_int_equal(buf_append_copy_escaped(&b, "\t", &err), 0);
    assert_string_equal(b.data, "ab\\t");
    buf_free(&b);
}

static void test_appendf(void **state)
{
    (void)state;
    struct buf b;
    struct ss_err err = {0};
    buf_init(&b, 0);
    assert_int_equal(buf_appendf(&b, &err, "%s=%d", "n", 42), 0);
    assert_int_equal(buf_appendf(&b, &err, ";%05.1f", 3.5), 0);
    assert_string_equal(b.data, "n=42;003.5");
    assert_int_equal(b.len, strlen("n=42;003.5"));
    buf_free(&b);
}

static void test_steal(void **state)
{
    (void)state;
    struct buf b;
    struct ss_err err = {0};
    buf_init(&b, 100);
    assert_int_equal(buf_append(&b, "payload", 7, &err), 0);
    char *s = buf_steal(&b);
    assert_string_equal(s, "payload");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    free(s);
    /* The buffer is usable again with its limit intact. */
    assert_int_equal(buf_append(&b, "again", 5, &err), 0);
    assert_string_equal(b.data, "again");
    buf_free(&b);
    /* Stealing an empty buffer still yields a string the caller frees. */
    buf_init(&b, 0);
    s = buf_steal(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap),         cmocka_unit_test(test_growth_unlimited),
        cmocka_unit_test(test_copy_escape), cmocka_unit_test(test_appendf),
        cmocka_unit_test(test_steal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

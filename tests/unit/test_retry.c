/* retry: Retry-After forms, the backoff schedule with full jitter, caps,
 * exhaustion and which outcomes are retried. Pure functions, no clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>

#include "http/retry.h"

#define SEC 1000000LL
#define MS  1000LL

/* 2015-10-21T07:28:00Z and 1994-11-06T08:49:37Z, from GNU date -u. */
#define T2015 (1445412480LL * SEC)
#define T1994 (784111777LL * SEC)

static int64_t ra(const char *v, int64_t now)
{
    int64_t d = -42;
    int rc = retry_after_parse(v, now, &d);
    if (rc != 0)
        print_error("retry_after_parse(\"%s\") failed\n", v);
    assert_int_equal(rc, 0);
    return d;
}

static void test_retry_after_seconds(void **state)
{
    (void)state;
    assert_true(ra("120", T2015) == 120 * SEC);
    assert_true(ra("0", T2015) == 0);
    assert_true(ra("7", 0) == 7 * SEC);
    assert_true(ra(" 7 ", 0) == 7 * SEC);
    assert_true(ra("99999999999999999999999", 0) > 0); /* saturates, never wraps */
}

static void test_retry_after_dates(void **state)
{
    (void)state;
    assert_true(ra("Wed, 21 Oct 2015 07:28:00 GMT", T2015 - 30 * SEC) == 30 * SEC);
    assert_true(ra("Wed, 21 Oct 2015 07:28:00 GMT", T2015 - 1) == 1);
    assert_true(ra("Sun, 06 Nov 1994 08:49:37 GMT", T1994 - 5 * SEC) == 5 * SEC);
    assert_true(ra("Sunday, 06-Nov-94 08:49:37 GMT", T1994 - 5 * SEC) == 5 * SEC);
    assert_true(ra("Sun Nov  6 08:49:37 1994", T1994 - 5 * SEC) == 5 * SEC);
    assert_true(ra("Sun Nov 16 08:49:37 1994", T1994) == 10 * 86400 * SEC);
    /* Dates in the past mean "now". */
    assert_true(ra("Wed, 21 Oct 2015 07:28:00 GMT", T2015 + 3600 * SEC) == 0);
    assert_true(ra("Sun, 06 Nov 1994 08:49:37 GMT", T1994) == 0);
}

static void test_retry_after_garbage(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "   ",
        "abc",
        "12a",
        "-5",
        "1.5",
        "Wed, 21 Oct 2015 07:28:00",
        "Wed, 21 Oct 2015 07:28:00 UTC",
        "Wed, 32 Oct 2015 07:28:00 GMT",
        "Wed, 29 Feb 2015 07:28:00 GMT",
        "Wed, 21 Foo 2015 07:28:00 GMT",
        "Xyz, 21 Oct 2015 07:28:00 GMT",
        "Wed, 21 Oct 2015 25:28:00 GMT",
        "Wed, 21 Oct 2015 07:28:00 GMT trailing",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov  6 08:49:37",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t d = -42;
        if (retry_after_parse(bad[i], T2015, &d) != -1)
            print_error("accepted \"%s\" as %lld\n", bad[i], (long long)d);
        assert_int_equal(retry_after_parse(bad[i], T2015, &d), -1);
        assert_true(d == -42);
    }
    int64_t d;
    assert_int_equal(retry_after_parse(NULL, 0, &d), -1);
}

static void test_backoff_growth_and_cap(void **state)
{
    (void)state;
    const struct retry_policy p = {.max_attempts = 20, .base_us = 100 * MS, .max_us = 1 * SEC};
    /* rnd = 0.5 gives exactly half the ceiling: 50, 100, 200, 400 ms, then capped. */
    assert_true(retry_delay(&p, 1, -1, 0.5) == 50 * MS);
    assert_true(retry_delay(&p, 2, -1, 0.5) == 100 * MS);
    assert_true(retry_delay(&p, 3, -1, 0.5) == 200 * MS);
    assert_true(retry_delay(&p, 4, -1, 0.5) == 400 * MS);
    assert_true(retry_delay(&p, 5, -1, 0.5) == 500 * MS); /* ceiling 1.6 s capped to 1 s */
    assert_true(retry_delay(&p, 19, -1, 0.5) == 500 * MS);
    /* Huge attempt numbers do not overflow. */
    const struct retry_policy big = {.max_attempts = 1000, .base_us = SEC, .max_us = 60 * SEC};
    for (int a = 1; a < 1000; a++) {
        int64_t d = retry_delay(&big, a, -1, 0.999);
        assert_true(d >= 0 && d < 60 * SEC);
    }
}

static void test_jitter_bounds(void **state)
{
    (void)state;
    const struct retry_policy p = {.max_attempts = 10, .base_us = 100 * MS, .max_us = 5 * SEC};
    for (int a = 1; a < 10; a++) {
        int64_t top = 100 * MS << (a - 1);
        if (top > 5 * SEC)
            top = 5 * SEC;
        assert_true(retry_delay(&p, a, -1, 0.0) == 0);
        int64_t prev = -1;
        for (double r = 0.0; r < 1.0; r += 0.0625) {
            int64_t d = retry_delay(&p, a, -1, r);
            assert_true(d >= 0 && d < top);
            assert_true(d >= prev); /* monotone in rnd: jitter spans the whole range */
            prev = d;
        }
        assert_true(retry_delay(&p, a, -1, 0.9999) > top * 99 / 100);
        /* Out-of-range rnd is clamped, never beyond the ceiling. */
        assert_true(retry_delay(&p, a, -1, 1.0) < top);
        assert_true(retry_delay(&p, a, -1, -3.0) == 0);
    }
}

static void test_retry_after_capped(void **state)
{
    (void)state;
    const struct retry_policy p = {.max_attempts = 3, .base_us = 100 * MS, .max_us = 30 * SEC};
    assert_true(retry_delay(&p, 1, 7 * SEC, 0.3) == 7 * SEC); /* used as given, no jitter */
    assert_true(retry_delay(&p, 1, 0, 0.3) == 0);
    assert_true(retry_delay(&p, 2, 3600 * SEC, 0.3) == 30 * SEC);
}

static void test_exhaustion(void **state)
{
    (void)state;
    const struct retry_policy p = {.max_attempts = 3, .base_us = 100 * MS, .max_us = SEC};
    assert_true(retry_delay(&p, 1, -1, 0.5) >= 0);
    assert_true(retry_delay(&p, 2, -1, 0.5) >= 0);
    assert_true(retry_delay(&p, 3, -1, 0.5) == -1); /* 3 attempts = 2 retries */
    assert_true(retry_delay(&p, 3, 5 * SEC, 0.5) == -1);
    const struct retry_policy once = {.max_attempts = 1, .base_us = 100 * MS, .max_us = SEC};
    assert_true(retry_delay(&once, 1, -1, 0.5) == -1);
}

static void test_retryable_set(void **state)
{
    (void)state;
    for (long s = 100; s < 600; s++) {
        int want = s == 408 || s == 425 || s == 429 || (s >= 500 && s != 501);
        if (retry_is_retryable(s, 0) != want)
            print_error("status %ld\n", s);
        assert_int_equal(retry_is_retryable(s, 0), want);
    }
    assert_true(retry_is_retryable(0, 1));
    assert_false(retry_is_retryable(404, 0));
    assert_false(retry_is_retryable(401, 0));
    assert_false(retry_is_retryable(200, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after_seconds), cmocka_unit_test(test_retry_after_dates),
        cmocka_unit_test(test_retry_after_garbage), cmocka_unit_test(test_backoff_growth_and_cap),
        cmocka_unit_test(test_jitter_bounds),       cmocka_unit_test(test_retry_after_capped),
        cmocka_unit_test(test_exhaustion),          cmocka_unit_test(test_retryable_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

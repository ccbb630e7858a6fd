/* ratelimit: the sliding-window limiter driven by a fake clock. A greedy
 * client acquires as fast as allowed; we then check every span of every
 * window against the limit and that each wait was the shortest legal one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/clock.h"
#include "http/ratelimit.h"

#define SEC 1000000LL

/* Acquires n slots greedily on a fake clock; returns the send times. */
static int64_t *acquire(struct rate_limiter *rl, size_t n, struct fake_clock *fc)
{
    struct ss_clock clk = clock_fake(fc);
    int64_t *t = malloc(n * sizeof *t);
    assert_non_null(t);
    for (size_t i = 0; i < n; i++) {
        int64_t d = rl_delay(rl, clk.now_us(clk.ctx));
        assert_true(d >= 0);
        if (d > 0)
            clk.sleep_us(clk.ctx, d);
        assert_true(rl_delay(rl, clk.now_us(clk.ctx)) == 0); /* the wait was enough */
        t[i] = clk.now_us(clk.ctx);
        rl_record(rl, t[i]);
    }
    return t;
}

/* No half-open span of `span` holds more than `limit` sends, and each send
 * that had to wait was exactly at the earliest instant some window allowed. */
static void check_window(const int64_t *t, size_t n, uint32_t limit, int64_t span)
{
    for (size_t i = 0; i + limit < n; i++)
        if (t[i + limit] - t[i] < span) {
            print_error("%u+1 sends within %lld us at index %zu\n", limit, (long long)span, i);
            fail();
        }
}

static void check_tight(const int64_t *t, size_t n, const struct rl_window *w, size_t nw,
                        int64_t margin)
{
    for (size_t i = 1; i < n; i++) {
        if (t[i] == t[i - 1])
            continue; /* did not wait */
        int64_t earliest = t[i - 1];
        for (size_t k = 0; k < nw; k++)
            if (i >= w[k].limit && t[i - w[k].limit] + w[k].period_us + margin > earliest)
                earliest = t[i - w[k].limit] + w[k].period_us + margin;
        assert_true(t[i] == earliest);
    }
}

static void test_two_windows_never_exceeded(void **state)
{
    (void)state;
    const struct rl_window w[] = {{5, 1 * SEC}, {2000, 1200 * SEC}};
    struct rate_limiter *rl = rl_new(w, 2, 0);
    assert_non_null(rl);
    struct fake_clock fc = {.now = 1000};
    const size_t n = 6000;
    int64_t *t = acquire(rl, n, &fc);
    check_window(t, n, 5, SEC);
    check_window(t, n, 2000, 1200 * SEC);
    check_tight(t, n, w, 2, 0);
    /* The short window bites at once: the 6th send waits a full second. */
    assert_true(t[4] == 1000 && t[5] == 1000 + SEC);
    /* The long window: the 2001st send waits for the first to age out. */
    assert_true(t[2000] == t[0] + 1200 * SEC);
    free(t);
    rl_free(rl);
}

static double long_run_rate(const struct rl_window *w, size_t nw, size_t n)
{
    struct rate_limiter *rl = rl_new(w, nw, 0);
    assert_non_null(rl);
    struct fake_clock fc = {0};
    int64_t *t = acquire(rl, n, &fc);
    for (size_t k = 0; k < nw; k++)
        check_window(t, n, w[k].limit, w[k].period_us);
    double rate = (double)(n - 1) / ((double)(t[n - 1] - t[0]) / SEC);
    free(t);
    rl_free(rl);
    return rate;
}

static void test_long_run_rate_is_binding_limit(void **state)
{
    (void)state;
    /* 2000/1200s (1.667/s) binds over 5/s. */
    const struct rl_window a[] = {{5, 1 * SEC}, {2000, 1200 * SEC}};
    double ra = long_run_rate(a, 2, 200001);
    double want = 2000.0 / 1200.0;
    assert_true(ra > want * 0.99 && ra < want * 1.01);
    /* 5/s binds when the long window is generous. */
    const struct rl_window b[] = {{5, 1 * SEC}, {100000, 1200 * SEC}};
    double rb = long_run_rate(b, 2, 20001);
    assert_true(rb > 5 * 0.99 && rb < 5 * 1.01);
}

static void test_margin(void **state)
{
    (void)state;
    const struct rl_window w[] = {{2, 1 * SEC}};
    struct rate_limiter *rl = rl_new(w, 1, 250000);
    assert_non_null(rl);
    rl_record(rl, 0);
    rl_record(rl, 100000);
    assert_true(rl_delay(rl, 100000) == 1250000 - 100000);
    assert_true(rl_delay(rl, 1249999) == 1);
    assert_true(rl_delay(rl, 1250000) == 0);
    rl_free(rl);

    rl = rl_new(w, 1, 250000);
    struct fake_clock fc = {0};
    int64_t *t = acquire(rl, 1000, &fc);
    check_window(t, 1000, 2, 1250000);
    check_tight(t, 1000, w, 1, 250000);
    free(t);
    rl_free(rl);
}

static void test_block_until(void **state)
{
    (void)state;
    const struct rl_window w[] = {{5, 1 * SEC}};
    struct rate_limiter *rl = rl_new(w, 1, 0);
    assert_non_null(rl);
    assert_true(rl_delay(rl, 0) == 0);
    rl_block_until(rl, 7 * SEC);
    assert_true(rl_delay(rl, 0) == 7 * SEC);
    assert_true(rl_delay(rl, 6 * SEC) == 1 * SEC);
    assert_true(rl_delay(rl, 7 * SEC) == 0);
    rl_block_until(rl, 3 * SEC); /* an earlier block never shortens a later one */
    assert_true(rl_delay(rl, 0) == 7 * SEC);
    /* Window and block combine: the later wins. */
    for (int i = 0; i < 5; i++)
        rl_record(rl, 6500000);
    assert_true(rl_delay(rl, 7 * SEC) == 500000);
    rl_free(rl);

    /* A limiter with no windows still honours a block. */
    rl = rl_new(NULL, 0, 0);
    assert_non_null(rl);
    assert_true(rl_delay(rl, 5) == 0);
    rl_block_until(rl, 10);
    assert_true(rl_delay(rl, 5) == 5);
    rl_free(rl);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    const struct rl_window zero_limit[] = {{0, SEC}};
    const struct rl_window zero_period[] = {{5, 0}};
    const struct rl_window ok[] = {{5, SEC}};
    assert_null(rl_new(zero_limit, 1, 0));
    assert_null(rl_new(zero_period, 1, 0));
    assert_null(rl_new(ok, 1, -1));
    assert_null(rl_new(NULL, 1, 0));
    assert_true(rl_delay(NULL, 0) == 0);
    rl_record(NULL, 0);
    rl_free(NULL);
}

/* A server's admission: the same verdict as rl_delay, recorded only when
 * allowed, so no span ever holds more than the limit of admitted requests. */
static void test_try_acquire(void **state)
{
    (void)state;
    const struct rl_window w[] = {{5, 1 * SEC}, {20, 10 * SEC}};
    struct rate_limiter *rl = rl_new(w, 2, 0);
    assert_non_null(rl);
    for (int i = 0; i < 5; i++)
        assert_true(rl_try_acquire(rl, 0) == 0);
    /* Refused: the wait, and nothing recorded (asking again says the same). */
    assert_true(rl_try_acquire(rl, 0) == SEC);
    assert_true(rl_try_acquire(rl, 400000) == 600000);
    assert_true(rl_delay(rl, 400000) == 600000);
    assert_true(rl_try_acquire(rl, SEC) == 0);
    rl_free(rl);

    /* Requests arriving every 30 ms for a minute: what is admitted keeps
     * both windows, and every refusal had a full window. */
    rl = rl_new(w, 2, 0);
    assert_non_null(rl);
    int64_t *t = malloc(2000 * sizeof *t);
    assert_non_null(t);
    size_t n = 0;
    for (int64_t now = 0; now < 60 * SEC; now += 30000) {
        int64_t d = rl_delay(rl, now);
        int64_t got = rl_try_acquire(rl, now);
        assert_true(got == d);
        if (got == 0)
            t[n++] = now;
    }
    check_window(t, n, 5, SEC);
    check_window(t, n, 20, 10 * SEC);
    assert_true(n == 20 * 6); /* the long window binds: 20 per 10 s */
    free(t);
    rl_free(rl);

    /* A block counts as well. */
    rl = rl_new(w, 1, 0);
    rl_block_until(rl, 5 * SEC);
    assert_true(rl_try_acquire(rl, 2 * SEC) == 3 * SEC);
    assert_true(rl_try_acquire(rl, 5 * SEC) == 0);
    rl_free(rl);
    assert_true(rl_try_acquire(NULL, 0) == 0);
}

/* A 1 us margin gives closed spans: requests at t and t + period are in the
 * same span (the sandbox's strictest reading). */
static void test_closed_span(void **state)
{
    (void)state;
    const struct rl_window w[] = {{2, 1 * SEC}};
    struct rate_limiter *rl = rl_new(w, 1, 1);
    assert_non_null(rl);
    assert_true(rl_try_acquire(rl, 0) == 0);
    assert_true(rl_try_acquire(rl, 500000) == 0);
    assert_true(rl_try_acquire(rl, SEC) == 1);
    assert_true(rl_try_acquire(rl, SEC + 1) == 0);
    rl_free(rl);
}

static void test_retry_after(void **state)
{
    (void)state;
    assert_int_equal(rl_retry_after_s(-5), 1);
    assert_int_equal(rl_retry_after_s(0), 1);
    assert_int_equal(rl_retry_after_s(1), 1);
    assert_int_equal(rl_retry_after_s(SEC), 1);
    assert_int_equal(rl_retry_after_s(SEC + 1), 2);
    assert_int_equal(rl_retry_after_s(700 * SEC - 3), 700);
    assert_int_equal(rl_retry_after_s(1200 * SEC + 1), 1201);
}

static void test_count_recent(void **state)
{
    (void)state;
    const struct rl_window w[] = {{3, 1 * SEC}, {10, 100 * SEC}};
    struct rate_limiter *rl = rl_new(w, 2, 0);
    assert_non_null(rl);
    assert_int_equal(rl_count_recent(rl, 0, SEC), 0);
    int64_t at[] = {0, 500000, SEC, 1500000};
    for (size_t i = 0; i < 4; i++)
        rl_record(rl, at[i]);
    /* Closed: 0.5 s is exactly one span before 1.5 s. */
    assert_int_equal(rl_count_recent(rl, 1500000, SEC), 3);
    assert_int_equal(rl_count_recent(rl, 1500000, SEC - 1), 2);
    assert_int_equal(rl_count_recent(rl, 1500000, 10 * SEC), 4);
    assert_int_equal(rl_count_recent(rl, 9 * SEC, SEC), 0);
    /* Only the largest window's last 10 are remembered. */
    for (int i = 0; i < 20; i++)
        rl_record(rl, 2 * SEC);
    assert_int_equal(rl_count_recent(rl, 2 * SEC, 10 * SEC), 10);
    rl_free(rl);
    assert_int_equal(rl_count_recent(NULL, 0, SEC), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_windows_never_exceeded),
        cmocka_unit_test(test_long_run_rate_is_binding_limit),
        cmocka_unit_test(test_margin),
        cmocka_unit_test(test_block_until),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_try_acquire),
        cmocka_unit_test(test_closed_span),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_count_recent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

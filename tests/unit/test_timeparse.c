/* timeparse: vendor timestamp and duration formats, checked against epoch
 * values computed independently (GNU date -u), plus strict rejection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "core/timeparse.h"

#define S(x) ((int64_t)(x)*1000000LL)

static int64_t parse_ok(const char *s, int def_off)
{
    struct ss_err err = {0};
    int64_t t = 0;
    int rc = ts_parse(s, def_off, &t, &err);
    if (rc != 0)
        print_error("ts_parse(\"%s\") failed: %s\n", s, err.msg);
    assert_int_equal(rc, 0);
    return t;
}

static void parse_bad(const char *s)
{
    struct ss_err err = {0};
    int64_t t = 12345;
    if (ts_parse(s, 0, &t, &err) == 0)
        print_error("ts_parse(\"%s\") accepted as %lld\n", s, (long long)t);
    assert_int_equal(ts_parse(s, 0, &t, &err), -1);
    assert_int_equal(err.code, SS_EINVAL);
    assert_true(err.msg[0] != '\0');
    assert_true(t == 12345); /* output untouched on failure */
}

static void test_vendor_examples(void **state)
{
    (void)state;
    /* 7 fraction digits, rounded to the microsecond as PostgreSQL reads them. */
    assert_true(parse_ok("2019-09-10T16:29:29.9074258+00:00", 0) == S(1568132969) + 907426);
    assert_true(parse_ok("2019-09-10T16:29:29.9074251Z", 0) == S(1568132969) + 907425);
    assert_true(parse_ok("2019-09-10T16:29:29.9999996Z", 0) == S(1568132970)); /* carries */
    assert_true(parse_ok("2019-09-10T16:29:29.9999994Z", 0) == S(1568132969) + 999999);
    assert_true(parse_ok("2019-09-10T16:29:29.5Z", 0) == S(1568132969) + 500000);
    assert_true(parse_ok("2019-09-10T16:29:29.000001Z", 0) == S(1568132969) + 1);
    assert_true(parse_ok("2019-09-10T16:29:29.123456789Z", 0) ==
                S(1568132969) + 123457); /* rounded */
    assert_true(parse_ok("2019-09-10T16:29:29Z", 0) == S(1568132969));
    assert_true(parse_ok("2019-09-10t16:29:29z", 0) == S(1568132969));
    /* CEPA: space separator, no zone -> default offset. */
    assert_true(parse_ok("2022-02-02 02:00:00", 0) == S(1643767200));
    assert_true(parse_ok("2022-02-02 05:00:00", 180) == S(1643767200)); /* Istanbul, UTC+3 */
}

static void test_offsets(void **state)
{
    (void)state;
    assert_true(parse_ok("2019-09-10T16:30:00+05:30", 0) == S(1568113200));
    assert_true(parse_ok("2019-09-10T03:00:00-08:00", 0) == S(1568113200));
    assert_true(parse_ok("2019-09-10T03:00:00-0800", 0) == S(1568113200));
    assert_true(parse_ok("2019-09-10T11:00:00Z", 0) == S(1568113200));
    /* An explicit zone wins over the default. */
    assert_true(parse_ok("2019-09-10T11:00:00Z", 120) == S(1568113200));
    assert_true(parse_ok("2019-09-10T11:00:00+00:00", -300) == S(1568113200));
    /* Offset crossing midnight back into the previous day. */
    assert_true(parse_ok("2019-09-11T00:30:00+13:30", 0) == S(1568113200));
}

static void test_bare_date_and_leap_years(void **state)
{
    (void)state;
    assert_true(parse_ok("2020-02-29", 0) == S(1582934400));
    assert_true(parse_ok("2020-02-29", 600) == S(1582934400)); /* bare date is UTC midnight */
    assert_true(parse_ok("2000-02-29T12:00:00Z", 0) == S(951825600));
    assert_true(parse_ok("1969-12-31T23:59:59Z", 0) == S(-1));
    assert_true(parse_ok("1900-03-01", 0) == S(-2203891200LL));
    assert_true(parse_ok("2100-02-28", 0) == S(4107456000LL));
    assert_true(ts_from_civil(2019, 9, 10, 16, 29, 29) == S(1568132969));
    parse_bad("1900-02-29"); /* divisible by 100, not 400 */
    parse_bad("2100-02-29");
    parse_bad("2019-02-29");
}

static void test_rejects(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "2019-13-01",
        "2019-00-10",
        "2019-02-30",
        "2019-04-31",
        "2019-01-00",
        "2019-09-10T24:00:00Z",
        "2019-09-10T16:60:00Z",
        "2019-09-10T16:29:60Z",
        "2019-09-10T16:29:29Zjunk",
        "2019-09-10T16:29:29.Z",
        "2019-09-10T16:29:29.1234567890Z",
        "2019-09-10T16:29:29+24:00",
        "2019-09-10T16:29:29+05:60",
        "2019-09-10T16:29:29+5",
        "2019-09-10 ",
        " 2019-09-10",
        "2019-09-10X16:29:29",
        "2019-9-10",
        "19-09-10",
        "2019/09/10",
        "not a date",
        "2019-09-10T16",
        "2019-09-10T16:29:29 +00:00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        parse_bad(bad[i]);
    struct ss_err err = {0};
    int64_t t;
    assert_int_equal(ts_parse(NULL, 0, &t, &err), -1);
}

static void test_format_round_trip(void **state)
{
    (void)state;
    char out[40];
    ts_format(S(1568132969) + 907425, out, sizeof out);
    assert_string_equal(out, "2019-09-10T16:29:29.907425Z");
    ts_format(S(1582934400), out, sizeof out);
    assert_string_equal(out, "2020-02-29T00:00:00.000000Z");
    ts_format(S(-1) + 1, out, sizeof out); /* before the epoch: floor, not truncation */
    assert_string_equal(out, "1969-12-31T23:59:59.000001Z");
    ts_format(TS_NULL, out, sizeof out);
    assert_string_equal(out, "");

    /* Round trip over a spread of instants, negative and leap days included. */
    for (int64_t t = S(-2203891200LL) + 7; t < S(4107456000LL); t += S(7777777) + 123457) {
        ts_format(t, out, sizeof out);
        assert_int_equal(strlen(out), 27);
        assert_true(parse_ok(out, 0) == t);
    }
    /* Text order equals time order. */
    char a[40], b[40];
    ts_format(S(1568132969), a, sizeof a);
    ts_format(S(1568132969) + 1, b, sizeof b);
    assert_true(strcmp(a, b) < 0);
}

static void test_cli(void **state)
{
    (void)state;
    struct ss_err err = {0};
    int64_t t;
    assert_int_equal(ts_parse_cli("2020-01-31", &t, &err), 0);
    assert_true(t == ts_from_civil(2020, 1, 31, 0, 0, 0));
    assert_int_equal(ts_parse_cli("2020-01-31T10:00:00+01:00", &t, &err), 0);
    assert_true(t == ts_from_civil(2020, 1, 31, 9, 0, 0));
    assert_int_equal(ts_parse_cli("yesterday", &t, &err), -1);
}

static int64_t dur_ok(const char *s)
{
    struct ss_err err = {0};
    int64_t d = 0;
    int rc = duration_parse(s, &d, &err);
    if (rc != 0)
        print_error("duration_parse(\"%s\") failed: %s\n", s, err.msg);
    assert_int_equal(rc, 0);
    return d;
}

static void test_durations(void **state)
{
    (void)state;
    assert_true(dur_ok("00:02:49.6832460") == 169683246);
    assert_true(dur_ok("00:02:49.6832469") == 169683247); /* rounded, as PostgreSQL */
    assert_true(dur_ok("00:00:43.8013049") == 43801305);
    assert_true(dur_ok("00:00:00") == 0);
    assert_true(dur_ok("1.02:03:04") == S(86400 + 2 * 3600 + 3 * 60 + 4));
    assert_true(dur_ok("10.00:00:00.5") == S(864000) + 500000);
    assert_true(dur_ok("23:59:59.9999999") == S(86400)); /* rounds up to the next second */
    assert_true(dur_ok("1:00:00") == S(3600));

    const char *bad[] = {"",         "-00:02:49", "-1.02:03:04",  "garbage",   "00:02",
                         "00:60:00", "24:00:00",  "00:00:60",     "00:02:49.", "00:02:49.12345678",
                         "1.",       "00:02:49x", "1.2.03:04:05", "00:2:49",   "123:00:00",
                         " 00:00:01"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct ss_err err = {0};
        int64_t d = 777;
        if (duration_parse(bad[i], &d, &err) == 0)
            print_error("duration_parse(\"%s\") accepted as %lld\n", bad[i], (long long)d);
        assert_int_equal(duration_parse(bad[i], &d, &err), -1);
        assert_int_equal(err.code, SS_EINVAL);
        assert_true(d == 777);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vendor_examples),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_bare_date_and_leap_years),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

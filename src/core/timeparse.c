/* timeparse: strict hand-written parsers, no strptime/timegm, so the result
 * never depends on the process's TZ or locale. */
#include "timeparse.h"

#include <math.h>
#include <stdlib.h>

#include <stdio.h>
#include <string.h>

#define US_PER_S   1000000LL
#define US_PER_DAY (86400LL * US_PER_S)

/* Howard Hinnant's days_from_civil: days since 1970-01-01, proleptic Gregorian. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

int64_t ts_from_civil(int y, int mon, int d, int h, int mi, int s)
{
    return (days_from_civil(y, mon, d) * 86400LL + h * 3600LL + mi * 60LL + s) * US_PER_S;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads exactly n digits at *p into *v; advances *p. */
static int digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit((*p)[i]))
            return -1;
        x = x * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *v = x;
    return 0;
}

/* Reads 1..maxd fraction digits after the '.', rounded to the microsecond
 * exactly as PostgreSQL reads the same text (ParseFractionalSecond:
 * rint(strtod("0.<digits>") * 1e6)), so a stored time equals
 * (raw->>'field')::timestamptz: ".9074258" -> 907426. May give 1000000. */
static int fraction(const char **p, int maxd, int64_t *us)
{
    char text[16] = "0.";
    int n = 0;
    while (is_digit(**p)) {
        if (++n > maxd)
            return -1;
        text[1 + n] = **p;
        (*p)++;
    }
    if (n == 0)
        return -1;
    text[2 + n] = '\0';
    *us = (int64_t)rint(strtod(text, NULL) * 1000000.0);
    return 0;
}

static int bad(struct ss_err *err, const char *what, const char *s, const char *why)
{
    return err_set(err, SS_EINVAL, "invalid %s \"%.64s\": %s", what, s, why);
}

int ts_parse(const char *s, int default_offset_min, int64_t *out_us, struct ss_err *err)
{
    if (!s || !*s)
        return err_set(err, SS_EINVAL, "invalid timestamp: empty");
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    int64_t frac = 0;
    int offset_min = 0;

    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return bad(err, "timestamp", s, "expected YYYY-MM-DD");
    if (mo < 1 || mo > 12)
        return bad(err, "timestamp", s, "month out of range");
    if (d < 1 || d > days_in_month(y, mo))
        return bad(err, "timestamp", s, "day out of range");
    if (*p == '\0')
        goto done; /* bare date: midnight UTC */
    if (*p != 'T' && *p != 't' && *p != ' ')
        return bad(err, "timestamp", s, "expected 'T' or ' ' after the date");
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
        return bad(err, "timestamp", s, "expected hh:mm");
    if (*p == ':') {
        p++;
        if (digits(&p, 2, &sec))
            return bad(err, "timestamp", s, "expected two-digit seconds");
        if (*p == '.' || *p == ',') {
            p++;
            if (fraction(&p, 9, &frac))
                return bad(err, "timestamp", s, "expected 1 to 9 fraction digits");
        }
    }
    if (h > 23 || mi > 59 || sec > 59)
        return bad(err, "timestamp", s, "time of day out of range");

    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        int oh, om = 0;
        if (digits(&p, 2, &oh))
            return bad(err, "timestamp", s, "expected offset hh:mm");
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &om))
                return bad(err, "timestamp", s, "expected offset hh:mm");
        } else if (is_digit(*p)) {
            if (digits(&p, 2, &om))
                return bad(err, "timestamp", s, "expected offset hhmm");
        }
        if (oh > 23 || om > 59)
            return bad(err, "timestamp", s, "offset out of range");
        offset_min = sign * (oh * 60 + om);
    } else {
        offset_min = default_offset_min; /* no zone given: the vendor's local time */
    }
    if (*p != '\0')
        return bad(err, "timestamp", s, "trailing characters");

done:
    *out_us = ts_from_civil(y, mo, d, h, mi, sec) + frac - (int64_t)offset_min * 60 * US_PER_S;
    return 0;
}

void ts_format(int64_t us, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return;
    if (us == TS_NULL) {
        out[0] = '\0';
        return;
    }
    struct ts_parts p;
    ts_split(us, &p);
    snprintf(out, outlen, "%04lld-%02d-%02dT%02d:%02d:%02d.%06dZ", (long long)p.year, p.month,
             p.day, p.hour, p.minute, p.second, p.micro);
}

void ts_split(int64_t us, struct ts_parts *p)
{
    /* Floor division so instants before 1970 still split correctly. */
    int64_t days = us / US_PER_DAY;
    int64_t rem = us % US_PER_DAY;
    if (rem < 0) {
        rem += US_PER_DAY;
        days--;
    }
    civil_from_days(days, &p->year, &p->month, &p->day);
    int64_t secs = rem / US_PER_S;
    p->hour = (int)(secs / 3600);
    p->minute = (int)(secs / 60 % 60);
    p->second = (int)(secs % 60);
    p->micro = (int)(rem % US_PER_S);
}

int duration_parse(const char *s, int64_t *out_us, struct ss_err *err)
{
    if (!s || !*s)
        return err_set(err, SS_EINVAL, "invalid duration: empty");
    const char *p = s;
    if (*p == '-')
        return bad(err, "duration", s, "negative");
    if (!is_digit(*p))
        return bad(err, "duration", s, "expected [d.]hh:mm:ss[.fffffff]");
    /* The leading number is days if a '.' follows it, else hours. */
    int64_t lead = 0;
    int nd = 0;
    while (is_digit(*p)) {
        if (++nd > 8)
            return bad(err, "duration", s, "number too long");
        lead = lead * 10 + (*p++ - '0');
    }
    int64_t days = 0, hours;
    if (*p == '.') {
        days = lead;
        p++;
        int hh;
        if (!is_digit(p[0]))
            return bad(err, "duration", s, "expected hours after days");
        if (is_digit(p[1]) ? digits(&p, 2, &hh) : digits(&p, 1, &hh))
            return bad(err, "duration", s, "expected hours");
        hours = hh;
    } else {
        if (nd > 2)
            return bad(err, "duration", s, "expected at most two hour digits");
        hours = lead;
    }
    int mi, sec;
    int64_t frac = 0;
    if (*p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &sec))
        return bad(err, "duration", s, "expected hh:mm:ss");
    if (*p == '.') {
        p++;
        if (fraction(&p, 7, &frac))
            return bad(err, "duration", s, "expected 1 to 7 fraction digits");
    }
    if (*p != '\0')
        return bad(err, "duration", s, "trailing characters");
    if (hours > 23 || mi > 59 || sec > 59)
        return bad(err, "duration", s, "field out of range");
    *out_us = ((days * 24 + hours) * 3600 + mi * 60 + sec) * US_PER_S + frac;
    return 0;
}

int ts_parse_cli(const char *s, int64_t *out_us, struct ss_err *err)
{
    return ts_parse(s, 0, out_us, err);
}

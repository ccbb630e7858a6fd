/* retry: Retry-After parsing and the backoff schedule. Pure functions. */
#include "retry.h"

#include <string.h>
#include <strings.h>

#include "../core/timeparse.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Reads 1..maxn digits; returns digits read (0 on none). */
static int num(const char **p, int maxn, int *v)
{
    int n = 0, x = 0;
    while (n < maxn && is_digit(**p)) {
        x = x * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    *v = x;
    return n;
}

static int month_of(const char *p)
{
    static const char *const mons[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; i++)
        if (strncmp(p, mons[i], 3) == 0)
            return i + 1;
    return 0;
}

/* Matches a weekday name (short or long) at *p; advances past it. */
static int weekday(const char **p, int long_form)
{
    static const char *const days[7][2] = {
        {"Mon", "Monday"}, {"Tue", "Tuesday"},  {"Wed", "Wednesday"}, {"Thu", "Thursday"},
        {"Fri", "Friday"}, {"Sat", "Saturday"}, {"Sun", "Sunday"}};
    for (int i = 0; i < 7; i++) {
        const char *d = days[i][long_form];
        size_t n = strlen(d);
        if (strncmp(*p, d, n) == 0) {
            *p += n;
            return 0;
        }
    }
    return -1;
}

static int hms(const char **p, int *h, int *mi, int *s)
{
    if (num(p, 2, h) != 2 || *(*p)++ != ':' || num(p, 2, mi) != 2 || *(*p)++ != ':' ||
        num(p, 2, s) != 2)
        return -1;
    return (*h > 23 || *mi > 59 || *s > 60) ? -1 : 0;
}

static int valid_date(int y, int m, int d)
{
    static const int dm[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > dm[m - 1])
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

/* The three HTTP-date forms of RFC 9110 section 5.6.7. */
static int http_date(const char *p, const char *end, int64_t *out_us)
{
    int y, m, d, h, mi, s;
    const char *sh = p, *lo = p, *q;
    int short_ok = weekday(&sh, 0) == 0, long_ok = weekday(&lo, 1) == 0;
    if (short_ok && *sh == ',') {
        q = sh;
        /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
        q++;
        if (*q++ != ' ' || num(&q, 2, &d) != 2 || *q++ != ' ' || !(m = month_of(q)))
            return -1;
        q += 3;
        if (*q++ != ' ' || num(&q, 4, &y) != 4 || *q++ != ' ' || hms(&q, &h, &mi, &s) ||
            strncmp(q, " GMT", 4) != 0)
            return -1;
        q += 4;
    } else if (long_ok && *lo == ',') {
        q = lo;
        /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
        q++;
        if (*q++ != ' ' || num(&q, 2, &d) != 2 || *q++ != '-' || !(m = month_of(q)))
            return -1;
        q += 3;
        if (*q++ != '-' || num(&q, 2, &y) != 2 || *q++ != ' ' || hms(&q, &h, &mi, &s) ||
            strncmp(q, " GMT", 4) != 0)
            return -1;
        q += 4;
        y += y < 70 ? 2000 : 1900; /* two-digit years: pick the nearer century */
    } else if (short_ok && *sh == ' ') {
        q = sh;
        /* asctime: "Sun Nov  6 08:49:37 1994" */
        q++;
        if (!(m = month_of(q)))
            return -1;
        q += 3;
        if (*q++ != ' ')
            return -1;
        if (*q == ' ')
            q++;
        if (num(&q, 2, &d) < 1 || *q++ != ' ' || hms(&q, &h, &mi, &s) || *q++ != ' ' ||
            num(&q, 4, &y) != 4)
            return -1;
    } else {
        return -1;
    }
    if (q != end || !valid_date(y, m, d))
        return -1;
    if (s == 60)
        s = 59; /* a leap second: close enough for a wait */
    *out_us = ts_from_civil(y, m, d, h, mi, s);
    return 0;
}

int retry_after_parse(const char *value, int64_t now_wall_us, int64_t *delay_us)
{
    if (!value)
        return -1;
    const char *p = value;
    while (is_space(*p))
        p++;
    const char *end = p + strlen(p);
    while (end > p && (is_space(end[-1]) || end[-1] == '\r' || end[-1] == '\n'))
        end--;
    if (p == end)
        return -1;
    if (is_digit(*p)) {
        int64_t secs = 0;
        for (const char *q = p; q < end; q++) {
            if (!is_digit(*q))
                return -1;
            /* Saturate: absurd values are capped by retry_delay anyway. */
            if (secs < INT64_MAX / 10000000)
                secs = secs * 10 + (*q - '0');
        }
        *delay_us = secs * 1000000;
        return 0;
    }
    int64_t at;
    if (http_date(p, end, &at) != 0)
        return -1;
    *delay_us = at > now_wall_us ? at - now_wall_us : 0;
    return 0;
}

int retry_is_retryable(long status, int transport_error)
{
    if (transport_error)
        return 1;
    if (status == 408 || status == 425 || status == 429)
        return 1;
    /* 501 Not Implemented will not change on a retry. */
    return status >= 500 && status <= 599 && status != 501;
}

int64_t retry_delay(const struct retry_policy *p, int attempt, int64_t retry_after_us, double rnd)
{
    if (attempt < 1 || attempt >= p->max_attempts)
        return -1;
    /* max_us <= 0 means no cap. */
    int64_t cap = p->max_us > 0 ? p->max_us : INT64_MAX;
    if (retry_after_us >= 0)
        return retry_after_us < cap ? retry_after_us : cap;
    int64_t top = p->base_us > 0 ? p->base_us : 0;
    for (int i = 1; i < attempt && top < cap; i++)
        top = top > cap / 2 ? cap : top * 2;
    if (top > cap)
        top = cap;
    if (!(rnd >= 0.0)) /* also catches NaN */
        rnd = 0.0;
    if (rnd >= 1.0)
        rnd = 0.999999999;
    return (int64_t)(rnd * (double)top); /* full jitter: uniform in [0, top) */
}

/* retry: the one place that decides whether and when a failed request is
 * tried again (curl's --retry idea): timeouts, connection errors, 408, 429 and
 * 5xx retry; 429 waits for Retry-After (seconds or an HTTP date) when given;
 * otherwise exponential backoff with full jitter, capped. */
#ifndef SS_RETRY_H
#define SS_RETRY_H

#include <stdint.h>

struct retry_policy {
    int max_attempts; /* total attempts including the first, >= 1 */
    int64_t base_us;  /* first backoff */
    int64_t max_us;   /* cap for one wait (also caps Retry-After) */
};

/* Parses a Retry-After value: delta-seconds ("120") or an HTTP-date
 * ("Wed, 21 Oct 2015 07:28:00 GMT", also RFC 850 and asctime forms).
 * now_wall_us is the current wall time. Dates in the past give 0.
 * Returns 0 and sets *delay_us, or -1 if unparseable. */
int retry_after_parse(const char *value, int64_t now_wall_us, int64_t *delay_us);

/* Is this outcome worth another attempt? transport_error != 0 means no HTTP
 * status was received (timeout, reset, partial body). */
int retry_is_retryable(long status, int transport_error);

/* Delay before attempt number `attempt` (1 = the first retry). rnd is a
 * uniform random number in [0,1) (injected for tests). retry_after_us < 0
 * means the server gave none. Returns -1 if attempts are exhausted. */
int64_t retry_delay(const struct retry_policy *p, int attempt, int64_t retry_after_us, double rnd);

#endif

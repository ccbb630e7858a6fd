/* ratelimit: several windows at once ("5 per second AND 2,000 per 20
 * minutes"), in their strictest reading: never more than N requests in ANY
 * span of P seconds, sliding. Kept as a ring of the last N send times per
 * window (the exact form of a token bucket whose burst equals its limit).
 * Time is passed in, so tests use a fake clock. A client waits (rl_delay, then
 * rl_record); a server that answers 429 instead asks rl_try_acquire(). Not
 * thread-safe: callers share a limiter under their own lock.
 *
 * Ownership: rl_new() returns a limiter freed with rl_free(). */
#ifndef SS_RATELIMIT_H
#define SS_RATELIMIT_H

#include <stdint.h>
#include <stddef.h>

struct rl_window {
    uint32_t limit;    /* requests ... */
    int64_t period_us; /* ... per this span */
};

struct rate_limiter;

/* margin_us is added to every period (jitter between our clock and the
 * server's). Returns NULL on bad arguments or out of memory. */
struct rate_limiter *rl_new(const struct rl_window *w, size_t n, int64_t margin_us);
void rl_free(struct rate_limiter *rl);

/* Microseconds to wait before a request may be sent at `now_us`; 0 = now. */
int64_t rl_delay(const struct rate_limiter *rl, int64_t now_us);
/* Records a request sent at now_us (call only when rl_delay() returned 0). */
void rl_record(struct rate_limiter *rl, int64_t now_us);
/* Tells the limiter the server refused us: nothing may be sent before until_us. */
void rl_block_until(struct rate_limiter *rl, int64_t until_us);

/* For a server: would a request at now_us exceed a window (or a block)? If
 * not, records it and returns 0; if so, records nothing and returns the
 * microseconds until it would be allowed (> 0). */
int64_t rl_try_acquire(struct rate_limiter *rl, int64_t now_us);
/* The Retry-After value for a wait: whole seconds, rounded up, at least 1. */
long rl_retry_after_s(int64_t wait_us);
/* Recorded requests at times t with now_us - span_us <= t <= now_us, for
 * statistics. Only the last `limit` requests of the largest window are
 * remembered, so the count is at most that limit. */
uint32_t rl_count_recent(const struct rate_limiter *rl, int64_t now_us, int64_t span_us);

#endif

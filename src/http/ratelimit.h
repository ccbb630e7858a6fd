/* ratelimit: several windows at once ("5 per second AND 2,000 per 20
 * minutes"), in their strictest reading: never more than N requests in ANY
 * span of P seconds, sliding. Kept as a ring of the last N send times per
 * window (the exact form of a token bucket whose burst equals its limit).
 * Time is passed in, so tests use a fake clock.
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

#endif

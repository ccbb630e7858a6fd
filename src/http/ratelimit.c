/* ratelimit: exact sliding-window limiter. For a window of N requests per
 * span L, a new request at t is allowed iff the N-th most recent send was at
 * or before t - L; then no half-open span of length L holds more than N. */
#include "ratelimit.h"

#include <stdlib.h>

/* Above this a ring would be wasteful; no vendor allows that many (the
 * sandbox scales 2,000 per 20 minutes by up to 1000 for load tests). */
#define RL_MAX_LIMIT 4000000u

struct rl_ring {
    uint32_t limit;
    int64_t span_us; /* period + margin */
    int64_t *times;  /* the last `limit` send times, oldest at `head` once full */
    uint32_t count;
    uint32_t head;
};

struct rate_limiter {
    struct rl_ring *rings;
    size_t n;
    int64_t blocked_until;
};

struct rate_limiter *rl_new(const struct rl_window *w, size_t n, int64_t margin_us)
{
    if ((n > 0 && !w) || margin_us < 0)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (w[i].limit == 0 || w[i].limit > RL_MAX_LIMIT || w[i].period_us <= 0 ||
            w[i].period_us > INT64_MAX / 4 - margin_us)
            return NULL;
    struct rate_limiter *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->blocked_until = INT64_MIN;
    if (n > 0) {
        rl->rings = calloc(n, sizeof *rl->rings);
        if (!rl->rings)
            goto fail;
    }
    rl->n = n;
    for (size_t i = 0; i < n; i++) {
        rl->rings[i].limit = w[i].limit;
        rl->rings[i].span_us = w[i].period_us + margin_us;
        rl->rings[i].times = calloc(w[i].limit, sizeof(int64_t));
        if (!rl->rings[i].times)
            goto fail;
    }
    return rl;
fail:
    rl_free(rl);
    return NULL;
}

void rl_free(struct rate_limiter *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < rl->n; i++)
        free(rl->rings[i].times);
    free(rl->rings);
    free(rl);
}

int64_t rl_delay(const struct rate_limiter *rl, int64_t now_us)
{
    if (!rl)
        return 0;
    int64_t wait = 0;
    if (rl->blocked_until > now_us)
        wait = rl->blocked_until - now_us;
    for (size_t i = 0; i < rl->n; i++) {
        const struct rl_ring *r = &rl->rings[i];
        if (r->count < r->limit)
            continue;
        int64_t oldest = r->times[r->head];
        int64_t w = oldest + r->span_us - now_us;
        if (w > wait)
            wait = w;
    }
    return wait;
}

void rl_record(struct rate_limiter *rl, int64_t now_us)
{
    if (!rl)
        return;
    for (size_t i = 0; i < rl->n; i++) {
        struct rl_ring *r = &rl->rings[i];
        if (r->count < r->limit) {
            r->times[(r->head + r->count) % r->limit] = now_us;
            r->count++;
        } else {
            r->times[r->head] = now_us; /* overwrite the oldest */
            r->head = (r->head + 1) % r->limit;
        }
    }
}

void rl_block_until(struct rate_limiter *rl, int64_t until_us)
{
    if (rl && until_us > rl->blocked_until)
        rl->blocked_until = until_us;
}

int64_t rl_try_acquire(struct rate_limiter *rl, int64_t now_us)
{
    int64_t wait = rl_delay(rl, now_us);
    if (wait > 0)
        return wait;
    rl_record(rl, now_us);
    return 0;
}

long rl_retry_after_s(int64_t wait_us)
{
    if (wait_us <= 1000000)
        return 1;
    return (long)((wait_us - 1) / 1000000 + 1);
}

uint32_t rl_count_recent(const struct rate_limiter *rl, int64_t now_us, int64_t span_us)
{
    if (!rl || rl->n == 0)
        return 0;
    const struct rl_ring *r = &rl->rings[0];
    for (size_t i = 1; i < rl->n; i++)
        if (rl->rings[i].limit > r->limit)
            r = &rl->rings[i];
    /* Newest first; stop at the first one outside the span. */
    uint32_t n = 0;
    for (uint32_t k = r->count; k > 0; k--) {
        int64_t t = r->times[(r->head + k - 1) % r->limit];
        if (t > now_us)
            continue; /* recorded "in the future": not in this span */
        if (now_us - t > span_us)
            break;
        n++;
    }
    return n;
}

/* clock: time as a replaceable dependency. The rate limiter and retry logic
 * take a clock so unit tests drive them with a fake one and never sleep. */
#ifndef SS_CLOCK_H
#define SS_CLOCK_H

#include <stdint.h>

struct ss_clock {
    int64_t (*now_us)(void *ctx);            /* monotonic microseconds */
    void (*sleep_us)(void *ctx, int64_t us); /* may return early on signals */
    void *ctx;
};

/* CLOCK_MONOTONIC and nanosleep. Static storage; never freed. */
const struct ss_clock *clock_system(void);

/* A fake clock for tests: sleep advances `now` instantly. */
struct fake_clock {
    int64_t now;
    int64_t slept_total;
    int sleeps;
};
struct ss_clock clock_fake(struct fake_clock *fc);

/* Wall clock in microseconds since the Unix epoch (for timestamps, Retry-After dates). */
int64_t clock_wall_us(void);

#endif

/* clock: system, fake and wall clocks. */
#include "clock.h"

#include <time.h>

static int64_t sys_now_us(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sys_sleep_us(void *ctx, int64_t us)
{
    (void)ctx;
    if (us <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000};
    /* Returning early on a signal is allowed; callers recheck the limiter. */
    nanosleep(&ts, NULL);
}

static const struct ss_clock system_clock = {sys_now_us, sys_sleep_us, NULL};

const struct ss_clock *clock_system(void)
{
    return &system_clock;
}

static int64_t fake_now_us(void *ctx)
{
    return ((struct fake_clock *)ctx)->now;
}

static void fake_sleep_us(void *ctx, int64_t us)
{
    struct fake_clock *fc = ctx;
    if (us < 0)
        us = 0;
    fc->now += us;
    fc->slept_total += us;
    fc->sleeps++;
}

struct ss_clock clock_fake(struct fake_clock *fc)
{
    struct ss_clock c = {fake_now_us, fake_sleep_us, fc};
    return c;
}

int64_t clock_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

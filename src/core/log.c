/* log: leveled lines on stderr, text or one JSON object per line. A mutex
 * keeps lines whole when libmicrohttpd threads log too. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "timeparse.h"

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static enum log_level log_level = LOG_INFO;
static int log_json;
/* Whether the last log_msg() was printed: detail/hint lines follow it. */
static int log_last_shown = 1;

static const char *const level_names[] = {"debug", "info", "warning", "error"};

void log_set_level(enum log_level lvl)
{
    pthread_mutex_lock(&log_mu);
    log_level = lvl;
    pthread_mutex_unlock(&log_mu);
}

enum log_level log_get_level(void)
{
    pthread_mutex_lock(&log_mu);
    enum log_level l = log_level;
    pthread_mutex_unlock(&log_mu);
    return l;
}

void log_set_json(int on)
{
    pthread_mutex_lock(&log_mu);
    log_json = on != 0;
    pthread_mutex_unlock(&log_mu);
}

/* Writes s as a JSON string body (without quotes). */
static void json_escape(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
}

/* Caller holds log_mu. */
static void log_emit(const char *level, const char *fmt, va_list ap)
{
    char msg[4096];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (log_json) {
        char ts[40];
        ts_format(clock_wall_us(), ts, sizeof ts);
        fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts, level);
        json_escape(stderr, msg);
        fputs("\"}\n", stderr);
    } else {
        fprintf(stderr, "scoresync: %s: %s\n", level, msg);
    }
    fflush(stderr);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    if (lvl < LOG_DEBUG || lvl > LOG_ERROR)
        lvl = LOG_ERROR;
    pthread_mutex_lock(&log_mu);
    log_last_shown = lvl >= log_level;
    if (log_last_shown) {
        va_list ap;
        va_start(ap, fmt);
        log_emit(level_names[lvl], fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&log_mu);
}

void log_detail(const char *fmt, ...)
{
    pthread_mutex_lock(&log_mu);
    if (log_last_shown) {
        va_list ap;
        va_start(ap, fmt);
        log_emit("detail", fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&log_mu);
}

void log_hint(const char *fmt, ...)
{
    pthread_mutex_lock(&log_mu);
    if (log_last_shown) {
        va_list ap;
        va_start(ap, fmt);
        log_emit("hint", fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&log_mu);
}

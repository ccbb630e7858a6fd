/* log: leveled lines on stderr, text or one JSON object per line. A mutex
 * keeps lines whole when libmicrohttpd threads log too. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "clock.h"
#include "redact.h"
#include "timeparse.h"

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static enum log_level log_level = LOG_INFO;
static int log_json;
/* Whether the last log_msg() was printed: detail/hint lines follow it. */
static int log_last_shown = 1;

static const char *const level_names[] = {"debug", "info", "warning", "error"};

/* The status line (log_status): its text, already escaped and redacted,
 * whether it is on the screen, and whether stderr is a terminal (-1: not
 * asked yet). */
static char status_text[1024];
static int status_shown;
static int status_tty = -1;

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

/* Text lines: control characters shown as \xNN, so a vendor string with a
 * newline cannot start a line of its own. */
static void text_escape(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
}

/* "vendor/account stream", leaving out what is NULL; redacted like the
 * message (an account name is config text, and config holds keys). */
static void ctx_prefix(const struct log_ctx *c, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s%s%s", c->vendor ? c->vendor : "", c->vendor && c->account ? "/" : "",
             c->account ? c->account : "", (c->vendor || c->account) && c->stream ? " " : "",
             c->stream ? c->stream : "");
    redact_apply(out, cap);
}

/* Caller holds log_mu. */
static int status_on(void)
{
    if (status_tty < 0)
        status_tty = isatty(STDERR_FILENO);
    return status_tty == 1 && !log_json && log_level <= LOG_INFO;
}

/* Caller holds log_mu. Cut to the terminal's width (at a UTF-8 boundary):
 * a line that wraps could not be redrawn in place. Bytes >= columns, so
 * the cut line never wraps. */
static void status_draw(void)
{
    size_t n = strlen(status_text);
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && n >= ws.ws_col) {
        n = (size_t)ws.ws_col - 1;
        while (n > 0 && ((unsigned char)status_text[n] & 0xc0) == 0x80)
            n--;
    }
    fputc('\r', stderr);
    fwrite(status_text, 1, n, stderr);
    fputs("\033[K", stderr);
    fflush(stderr);
}

/* Caller holds log_mu. */
static void log_emit(const char *level, const struct log_ctx *c, const char *fmt, va_list ap)
{
    char msg[4096];
    vsnprintf(msg, sizeof msg, fmt, ap);
    redact_apply(msg, sizeof msg);
    if (log_json) {
        char ts[40];
        ts_format(clock_wall_us(), ts, sizeof ts);
        fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, level);
        const char *names[] = {"vendor", "account", "stream"};
        const char *vals[] = {c ? c->vendor : NULL, c ? c->account : NULL, c ? c->stream : NULL};
        for (int i = 0; i < 3; i++) {
            if (!vals[i])
                continue;
            char v[512];
            snprintf(v, sizeof v, "%s", vals[i]);
            redact_apply(v, sizeof v);
            fprintf(stderr, ",\"%s\":\"", names[i]);
            json_escape(stderr, v);
            fputc('"', stderr);
        }
        fputs(",\"msg\":\"", stderr);
        json_escape(stderr, msg);
        fputs("\"}\n", stderr);
    } else {
        if (status_shown)
            fputs("\r\033[K", stderr); /* the line goes where the status was */
        fprintf(stderr, "scoresync: %s: ", level);
        if (c && (c->vendor || c->account || c->stream)) {
            char pre[512];
            ctx_prefix(c, pre, sizeof pre);
            text_escape(stderr, pre);
            fputs(": ", stderr);
        }
        text_escape(stderr, msg);
        fputc('\n', stderr);
        if (status_shown)
            status_draw();
    }
    fflush(stderr);
}

/* A leveled line (c may be NULL); remembers whether it was shown, for the
 * detail and hint lines that follow it. */
static void log_vmsg(const struct log_ctx *c, enum log_level lvl, const char *fmt, va_list ap)
{
    if (lvl < LOG_DEBUG || lvl > LOG_ERROR)
        lvl = LOG_ERROR;
    pthread_mutex_lock(&log_mu);
    log_last_shown = lvl >= log_level;
    if (log_last_shown)
        log_emit(level_names[lvl], c, fmt, ap);
    pthread_mutex_unlock(&log_mu);
}

/* A follow-up line of the last one, shown only if that one was. */
static void log_vfollow(const char *kind, const char *fmt, va_list ap)
{
    pthread_mutex_lock(&log_mu);
    if (log_last_shown)
        log_emit(kind, NULL, fmt, ap);
    pthread_mutex_unlock(&log_mu);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(NULL, lvl, fmt, ap);
    va_end(ap);
}

void log_ctx_msg(const struct log_ctx *c, enum log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(c, lvl, fmt, ap);
    va_end(ap);
}

void log_detail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vfollow("detail", fmt, ap);
    va_end(ap);
}

void log_hint(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vfollow("hint", fmt, ap);
    va_end(ap);
}

int log_status_enabled(void)
{
    pthread_mutex_lock(&log_mu);
    int on = status_on();
    pthread_mutex_unlock(&log_mu);
    return on;
}

void log_status(const char *line)
{
    pthread_mutex_lock(&log_mu);
    if (status_on()) {
        char msg[sizeof status_text];
        snprintf(msg, sizeof msg, "%s", line);
        redact_apply(msg, sizeof msg);
        /* Escaped as text_escape() does: a control character cannot move
         * the cursor. */
        size_t o = 0;
        for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
            if (*p < 0x20 || *p == 0x7f) {
                if (o + 5 >= sizeof status_text)
                    break;
                o += (size_t)snprintf(status_text + o, sizeof status_text - o, "\\x%02x", *p);
            } else {
                if (o + 1 >= sizeof status_text)
                    break;
                status_text[o++] = (char)*p;
            }
        }
        status_text[o] = '\0';
        status_shown = 1;
        status_draw();
    }
    pthread_mutex_unlock(&log_mu);
}

void log_status_end(void)
{
    pthread_mutex_lock(&log_mu);
    if (status_shown) {
        fputc('\n', stderr);
        fflush(stderr);
        status_shown = 0;
    }
    pthread_mutex_unlock(&log_mu);
}

/* log: leveled logging to stderr with context, PostgreSQL-tools style:
 *   scoresync: error: vendor/account scores: 2020-01-01 .. 2020-01-08: HTTP 503
 *   scoresync: detail: ...
 *   scoresync: hint: ...
 * Every line goes through redact_apply() (core/redact.h), and control
 * characters in text lines are escaped, so vendor text cannot forge a line. */
#ifndef SS_LOG_H
#define SS_LOG_H

#include "err.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* When set, lines are JSON objects (for log shippers); default is text. */
void log_set_json(int on);

void log_msg(enum log_level lvl, const char *fmt, ...) SS_PRINTF(2, 3);
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
/* Follow-up lines for the last error, as pg_log_error_detail/hint do. */
void log_detail(const char *fmt, ...) SS_PRINTF(1, 2);
void log_hint(const char *fmt, ...) SS_PRINTF(1, 2);

/* Context carried by the object a message is about (PgBouncer's
 * slog_info(client, ...)): text lines start "vendor/account stream: ", JSON
 * lines get "vendor", "account" and "stream" fields. Any member may be NULL.
 * The strings are borrowed for the call. */
struct log_ctx {
    const char *vendor;
    const char *account;
    const char *stream;
};
void log_ctx_msg(const struct log_ctx *c, enum log_level lvl, const char *fmt, ...) SS_PRINTF(3, 4);
#define slog_debug(c, ...) log_ctx_msg(c, LOG_DEBUG, __VA_ARGS__)
#define slog_info(c, ...)  log_ctx_msg(c, LOG_INFO, __VA_ARGS__)
#define slog_warn(c, ...)  log_ctx_msg(c, LOG_WARN, __VA_ARGS__)
#define slog_error(c, ...) log_ctx_msg(c, LOG_ERROR, __VA_ARGS__)

/* A live status line (a backfill's progress). Only when stderr is a
 * terminal, the format is text and the level shows info lines: log_status()
 * draws `line` in place ('\r', cleared to the end of the line, cut to the
 * terminal's width), every ordinary line logged meanwhile is printed above
 * it (the status line is cleared, the line printed, the status redrawn),
 * and log_status_end() leaves the last one standing with a newline.
 * Anywhere else both do nothing, and the caller logs ordinary lines
 * instead: log_status_enabled() says which. One status line per process:
 * the last call's. `line` is redacted and escaped like a log line. */
int log_status_enabled(void);
void log_status(const char *line);
void log_status_end(void);

#endif

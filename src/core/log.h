/* log: leveled logging to stderr with context, PostgreSQL-tools style:
 *   scoresync: error: emmersion/acme scores window 2020-01-01..2020-01-08: HTTP 503
 *   scoresync: detail: ...
 *   scoresync: hint: ...
 * Secrets must never be passed here; http.c redacts the Authorization header. */
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

#endif

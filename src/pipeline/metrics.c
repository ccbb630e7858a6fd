/* metrics: sync_runs and checkpoints -> a Prometheus text file. */
#include "metrics.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/buf.h"
#include "../core/clock.h"
#include "../core/timeparse.h"

/* The last finished run of each (account, stream, mode), its last ok run,
 * and the sync checkpoint. Columns are used by index below. */
static const char metrics_sql[] =
    "SELECT a.vendor, a.account, r.stream, r.mode, r.status, "     /* 0-4 */
    "r.results_inserted, r.results_updated, r.results_unchanged, " /* 5-7 */
    "r.quarantined, r.requests, r.retries, r.status_429, "         /* 8-11 */
    "extract(epoch FROM r.finished_at - r.started_at)::float8, "   /* 12 */
    "extract(epoch FROM r.finished_at)::float8, "                  /* 13 */
    "(SELECT extract(epoch FROM max(s.finished_at))::float8 FROM sync_runs s "
    " WHERE s.account_id = r.account_id AND s.stream = r.stream AND s.mode = r.mode "
    " AND s.status = 'ok'), " /* 14 */
    "c.cursor "               /* 15 */
    "FROM (SELECT DISTINCT ON (account_id, stream, mode) * FROM sync_runs "
    "      WHERE status <> 'running' ORDER BY account_id, stream, mode, id DESC) r "
    "JOIN vendor_accounts a ON a.id = r.account_id "
    "LEFT JOIN checkpoints c ON c.account_id = r.account_id AND c.stream = r.stream "
    " AND r.mode = 'sync' "
    "ORDER BY a.vendor, a.account, r.stream, r.mode";

enum { C_STATUS = 4, C_FINISHED = 13, C_LAST_OK = 14, C_CURSOR = 15 };

struct series {
    const char *name, *help;
    int col;             /* column of the value; -1: computed */
    const char *outcome; /* extra label outcome="..." */
};

static const struct series series[] = {
    {"scoresync_last_run_results", "Results the last finished run loaded, by outcome.", 5, "new"},
    {"scoresync_last_run_results", NULL, 6, "updated"},
    {"scoresync_last_run_results", NULL, 7, "unchanged"},
    {"scoresync_last_run_quarantined", "Records the last finished run quarantined.", 8, NULL},
    {"scoresync_last_run_requests", "HTTP requests the last finished run sent.", 9, NULL},
    {"scoresync_last_run_retries", "Retried requests of the last finished run.", 10, NULL},
    {"scoresync_last_run_http_429", "HTTP 429 answers the last finished run received.", 11, NULL},
    {"scoresync_last_run_duration_seconds", "How long the last finished run took.", 12, NULL},
    {"scoresync_last_run_ok", "1 when the last finished run ended ok, else 0.", -1, NULL},
    {"scoresync_last_run_finished_timestamp_seconds", "When the last finished run ended.",
     C_FINISHED, NULL},
    {"scoresync_last_success_timestamp_seconds", "When the last ok run ended.", C_LAST_OK, NULL},
    {"scoresync_checkpoint_lag_seconds",
     "How far the sync checkpoint is behind now (date-windowed streams).", -2, NULL},
};

/* A label value: backslash, double quote and newline escaped. */
static int put_label(struct buf *b, const char *name, const char *v, struct ss_err *err)
{
    if (buf_appendf(b, err, "%s=\"", name) != 0)
        return -1;
    for (const char *p = v; *p; p++) {
        const char *e = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
        if (e ? buf_append(b, e, 2, err) : buf_append(b, p, 1, err))
            return -1;
    }
    return buf_append(b, "\"", 1, err);
}

/* The value of series s for row i; 0 = none (no sample written). */
static int value(PGresult *r, int i, const struct series *s, double now_s, double *out)
{
    if (s->col == -1) {
        *out = strcmp(PQgetvalue(r, i, C_STATUS), "ok") == 0;
        return 1;
    }
    if (s->col == -2) {
        int64_t us;
        struct ss_err e = {0};
        if (PQgetisnull(r, i, C_CURSOR) || ts_parse(PQgetvalue(r, i, C_CURSOR), 0, &us, &e) != 0)
            return 0; /* no checkpoint, or not a time (a page token) */
        *out = now_s - (double)us / 1e6;
        return 1;
    }
    if (PQgetisnull(r, i, s->col))
        return 0;
    *out = strtod(PQgetvalue(r, i, s->col), NULL);
    return 1;
}

static int render_runs(struct buf *b, PGresult *r, struct ss_err *err)
{
    double now_s = (double)clock_wall_us() / 1e6;
    int n = PQntuples(r);
    for (size_t k = 0; k < sizeof series / sizeof series[0]; k++) {
        const struct series *s = &series[k];
        if (s->help &&
            buf_appendf(b, err, "# HELP %s %s\n# TYPE %s gauge\n", s->name, s->help, s->name) != 0)
            return -1;
        for (int i = 0; i < n; i++) {
            double v;
            if (!value(r, i, s, now_s, &v))
                continue;
            if (buf_appendf(b, err, "%s{", s->name) != 0 ||
                put_label(b, "vendor", PQgetvalue(r, i, 0), err) != 0 ||
                buf_append(b, ",", 1, err) != 0 ||
                put_label(b, "account", PQgetvalue(r, i, 1), err) != 0 ||
                buf_append(b, ",", 1, err) != 0 ||
                put_label(b, "stream", PQgetvalue(r, i, 2), err) != 0 ||
                buf_append(b, ",", 1, err) != 0 ||
                put_label(b, "mode", PQgetvalue(r, i, 3), err) != 0 ||
                (s->outcome && (buf_append(b, ",", 1, err) != 0 ||
                                put_label(b, "outcome", s->outcome, err) != 0)) ||
                buf_appendf(b, err, "} %.17g\n", v) != 0)
                return -1;
        }
    }
    return 0;
}

char *metrics_render(struct db *db, const struct metrics_proc *proc, struct ss_err *err)
{
    struct buf b;
    buf_init(&b, 64u << 20);
    PGresult *r = NULL;
    if (db_exec(db, metrics_sql, 0, NULL, PGRES_TUPLES_OK, &r, err) != 0)
        goto fail;
    if (render_runs(&b, r, err) != 0)
        goto fail;
    if (proc &&
        (buf_appendf(&b, err,
                     "# HELP scoresync_process_exit_code Exit status of the scoresync run that "
                     "wrote this file.\n# TYPE scoresync_process_exit_code gauge\n"
                     "scoresync_process_exit_code{command=\"%s\"} %d\n",
                     proc->command, proc->exit_code) != 0 ||
         buf_appendf(&b, err,
                     "# HELP scoresync_process_duration_seconds Run time of that run.\n"
                     "# TYPE scoresync_process_duration_seconds gauge\n"
                     "scoresync_process_duration_seconds{command=\"%s\"} %.3f\n",
                     proc->command, proc->duration_s) != 0))
        goto fail;
    if (buf_appendf(&b, err,
                    "# HELP scoresync_metrics_written_timestamp_seconds When this file was "
                    "written.\n# TYPE scoresync_metrics_written_timestamp_seconds gauge\n"
                    "scoresync_metrics_written_timestamp_seconds %.3f\n",
                    (double)clock_wall_us() / 1e6) != 0)
        goto fail;
    PQclear(r);
    return buf_steal(&b);
fail:
    PQclear(r);
    buf_free(&b);
    return NULL;
}

int metrics_write(struct db *db, const char *path, const struct metrics_proc *proc,
                  struct ss_err *err)
{
    char *text = metrics_render(db, proc, err);
    if (!text)
        return err_prefix(err, "metrics file %s", path);
    char tmp[PATH_MAX];
    int rc = -1;
    FILE *f = NULL;
    int w = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (w < 0 || (size_t)w >= sizeof tmp) {
        err_set(err, SS_EIO, "metrics file %s: path too long", path);
        goto out;
    }
    f = fopen(tmp, "w");
    if (!f) {
        err_set(err, SS_EIO, "metrics file %s: %s", tmp, strerror(errno));
        goto out;
    }
    size_t len = strlen(text);
    int bad = fwrite(text, 1, len, f) != len;
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    f = NULL;
    if (bad) {
        err_set(err, SS_EIO, "metrics file %s: %s", tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        err_set(err, SS_EIO, "metrics file %s: rename: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    free(text);
    return rc;
}

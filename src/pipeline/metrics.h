/* metrics: a Prometheus text-format file (node_exporter's textfile collector
 * reads such files) written at the end of a sync or backfill. Its values
 * come from sync_runs and checkpoints, not from the process's memory, so the
 * file describes every account and stream the database knows (whichever
 * process ran them) and always matches what `scoresync status` shows.
 *
 * Per vendor, account, stream and mode (sync|backfill), the last finished
 * run: results new/updated/unchanged, quarantined, requests, retries, 429s,
 * duration, whether it was ok and when it finished; the last ok run's time;
 * and for sync mode the lag of the checkpoint behind now. Plus the writing
 * process's command and exit status.
 *
 * The file is replaced atomically (a temporary file in the same directory,
 * then rename), so a collector never reads half of it. */
#ifndef SS_METRICS_H
#define SS_METRICS_H

#include "../core/err.h"
#include "../load/db.h"

struct metrics_proc {
    const char *command; /* "sync" or "backfill" */
    int exit_code;       /* what the process is about to exit with */
    double duration_s;   /* the process's run time */
};

/* Renders the metrics (malloc'd text for the caller to free()). */
char *metrics_render(struct db *db, const struct metrics_proc *proc, struct ss_err *err);

/* Renders and writes path atomically. */
int metrics_write(struct db *db, const char *path, const struct metrics_proc *proc,
                  struct ss_err *err) SS_MUSTCHECK;

#endif

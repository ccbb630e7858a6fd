/* plan: what `scoresync backfill` of a date range will send, and how long the
 * rate limits make it, before it runs (`scoresync plan backfill`).
 *
 * Not a formula: the estimate drives the real window pager (vendors/pager.h,
 * plain arithmetic) with the account's real window settings over a model of
 * how the stream's records spread over time, answering each window the way
 * the vendor would (records in it, too big for max_response_bytes or not).
 * So it follows the same adaptive sizing, splits and widening as the
 * backfill. The model comes from:
 *   stored   where the stream's checkpoints say the range was read before,
 *            the stored results at their times by the date its windows
 *            filter on (load/density.h);
 *   sampled  elsewhere, a few windows spread over the rest of the range, read
 *            with the vendor's real extractor through the account's HTTP
 *            client, rate limiter and request ledger (so other runs count
 *            them), counted and dropped (nothing loaded); each sample's
 *            results, repeated, stand for the rest of its stretch.
 * The request count then goes through a rate limiter with the account's
 * windows, preloaded with what any process of the account was granted
 * recently (the request ledger) and the samples: the duration the limits alone impose (a
 * lower bound: response times and loading come on top).
 *
 * Only streams read in date windows can be planned (vendor_ops.plan says
 * which); plan_backfill() refuses the others before sending anything.
 *
 * Ownership: a plan_model owns its pieces (plan_model_free); a plan_result
 * owns its streams (plan_result_free) and borrows the config. */
#ifndef SS_PLAN_H
#define SS_PLAN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "../config/config.h"
#include "../load/db.h"
#include "../vendors/vendor.h"

/* ---- the model and the simulation (pure: no I/O) ------------------------- */

/* `records` spread evenly over [from, to), `bytes` each in a response. */
struct plan_piece {
    int64_t from, to;
    double records;
    double bytes;
};

struct plan_model {
    struct plan_piece *p; /* sorted by from, not overlapping once sealed */
    size_t n, cap;
    double *cum_rec, *cum_bytes; /* prefix sums, n + 1 (plan_model_seal) */
};

void plan_model_init(struct plan_model *m);
void plan_model_free(struct plan_model *m);
/* Adds a piece (ignored when to <= from or records <= 0). Pieces must not
 * overlap, except identical spans (records at one instant), which add up.
 * -1 out of memory. */
int plan_model_add(struct plan_model *m, int64_t from, int64_t to, double records,
                   double bytes_per_record) SS_MUSTCHECK;
/* Sorts the pieces and builds the sums; call before plan_model_count. */
int plan_model_seal(struct plan_model *m) SS_MUSTCHECK;
/* Records in [from, to) and their bytes (bytes may be NULL). */
double plan_model_count(const struct plan_model *m, int64_t from, int64_t to, double *bytes);

/* What the pager would do. */
struct plan_sim {
    long requests;  /* windows read, splits included */
    long windows;   /* windows completed */
    long splits;    /* responses over max_response_bytes, read again smaller */
    double records; /* records the completed windows hold */
    int failed;     /* the backfill would stop at `why` (a window still too big at its minimum) */
    char why[256];
};

/* Runs pager_window_init/pager_next/pager_done for a backfill ctx (acct,
 * since, until, now, and cursor when resuming) over m; a window is too big
 * when its bytes pass acct->max_response_bytes. */
int plan_simulate(const struct vendor_ctx *ctx, const struct plan_model *m, struct plan_sim *out,
                  struct ss_err *err) SS_MUSTCHECK;

/* Requests some run of the account sent, `age_us` ago. */
struct plan_sent {
    long requests;
    int64_t age_us;
};

/* Microseconds from now until the last of `requests` may be sent under the
 * account's rate limits (rate[], rate_margin_ms), when `sent` (n entries)
 * were sent before: each entry as if all at its time, as a run's limiter
 * replays them. held[i] (may be NULL; CFG_MAX_WINDOWS entries) gets how
 * many of those count against window i now. */
int64_t plan_duration(const struct cfg_account *a, const struct plan_sent *sent, size_t n,
                      long requests, long *held);

/* ---- a plan of one account ----------------------------------------------- */

struct plan_request {
    const struct vendor_ops *vendor;
    const struct cfg_account *acct;
    const char *stream;   /* NULL = the account's enabled streams */
    int64_t since, until; /* as given to backfill (until TS_NULL = open, i.e. now) */
    int samples;          /* sampled windows over what is not stored (0 = 8) */
    volatile sig_atomic_t *stop;
};

struct plan_stream {
    char name[64];
    struct vendor_plan how;
    const char *source; /* "stored", "sampled" or "stored+sampled" */
    double covered;     /* share of the range read before */
    long sample_windows, sample_requests;
    double sample_records;
    /* Share of the unstored part the samples read, and the relative
     * uncertainty of the records estimated there (0 when read whole): the
     * spread of the samples' densities over the square root of their
     * number, for the part not read; -1 unknown (one sample). Bursts the samples missed are not in
     * it: a window that meets one may be split, which no sample foresaw. */
    double sampled_share, uncertainty;
    struct plan_sim sim; /* the whole range */
    /* A backfill of exactly this range has progress: where it resumes and
     * what running it again sends from there. */
    int resumes;
    char resume_at[40];
    struct plan_sim rest;
};

struct plan_result {
    int64_t now, until; /* until: the range's end (now when open or later) */
    struct plan_stream *streams;
    size_t n_streams;
    int unsupported; /* streams that cannot be planned (their why is set; nothing sent) */
    long requests;   /* all streams, the whole range */
    long sample_requests;
    /* The account's budget now: per rate window, requests any process was
     * granted within it (the request ledger), and how many processes. */
    long held[CFG_MAX_WINDOWS];
    long holders;        /* processes whose grants are in the ledger's window now */
    int64_t duration_us; /* `requests` at the limits, after the held budget and the samples */
};

/* Plans a backfill of rq->acct: checks every stream can be planned (else
 * res->unsupported > 0, nothing sent, returns 0), reads what is stored,
 * samples the rest, simulates and times it. -1 with err when the database
 * or the vendor failed (a sample). */
int plan_backfill(struct db *db, const struct plan_request *rq, struct plan_result *res,
                  struct ss_err *err) SS_MUSTCHECK;
void plan_result_free(struct plan_result *res);

#endif

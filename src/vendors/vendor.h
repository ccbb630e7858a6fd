/* vendor: the one interface every vendor implements (curl's Curl_ssl idea):
 * a struct of function pointers and tables per vendor, one file per vendor,
 * one registry table in registry.c. Nothing outside src/vendors/ (and the
 * sandbox) names a vendor; a test greps for it.
 *
 * What a vendor file holds: its vendor_ops (name, streams, config schema,
 * auth kind, status map), the requests it sends, and the parse of one
 * record. What it does not hold: threads, retries, paging arithmetic, SQL.
 * Those are the vendor kit beside it:
 *   fetch.h     one request -> status mapped -> records streamed to a parser
 *   pager.h     date windows (adaptive, recheck), offset/limit, page tokens
 *   prefetch.h  reads page N+1 while page N loads, for any pager
 *   jstream.h   the streaming JSON reader fetch feeds from curl
 *
 * An extractor reads a stream from where the stored checkpoint says and
 * hands batches, plus the cursor each completes, to ctx->emit, which
 * normalises and loads them and moves the checkpoint in one transaction.
 * The pipeline owns everything in the ctx; the extractor borrows it. */
#ifndef SS_VENDOR_H
#define SS_VENDOR_H

#include <signal.h>
#include <stdint.h>
#include "../config/config.h"
#include "../core/err.h"
#include "../core/log.h"
#include "../core/record.h"
#include "../http/http.h"

/* A kind of record the vendor lists. */
struct vendor_stream {
    const char *name; /* "scores": config `streams:` and checkpoints use it */
    /* Carries less than the main stream: its rows are inserted when new but
     * never overwrite a candidate or another stream's result. */
    int supplementary;
    /* Stored results of this stream that may still change without their
     * window moving are re-read each sync: those whose canonical status is
     * in recheck_statuses (NULL-terminated; NULL = none), found by
     * recheck_column ("completed_at" or "started_at"), newer than
     * recheck_days of the account. */
    const char *const *recheck_statuses;
    const char *recheck_column;
};

/* A decoded document of a result or group (vendor_ctx.document): kind
 * "result" (owner_key = the result's vendor_key) or "group" (owner_key =
 * "<candidate vendor_key>/<group vendor_key>"). All borrowed by the call. */
struct vendor_document {
    const char *kind;
    const char *owner_key;
    const char *file_name; /* may be NULL */
    const char *mime;      /* may be NULL */
    const unsigned char *content;
    size_t size;
    unsigned char sha256[32];        /* of content */
    unsigned char source_sha256[32]; /* raw_sha256 of the record it renders */
};

struct vendor_ctx {
    const struct vendor_ops *vendor;
    const struct vendor_stream *stream;
    const struct cfg_account *acct;
    struct http_client *http;
    const struct http_auth *auth; /* the account's credentials (vendor_auth()) */
    struct log_ctx log;           /* vendor, account, stream: for slog_*() */
    const char *cursor;           /* stored checkpoint of this stream, NULL if none */
    int backfill;                 /* 1: read [since, until] regardless of the checkpoint */
    int64_t since, until;         /* backfill bounds (TS_NULL = open); until also caps sync */
    int64_t now;                  /* wall-clock "now", fixed at run start */
    size_t part_records;          /* hand a batch over after this many results (0 = 1000) */
    /* Loads b (and empties it) and, when cursor != NULL, stores cursor as the
     * stream's checkpoint in the same transaction. */
    int (*emit)(void *sink, struct ss_batch *b, const char *cursor, struct ss_err *err);
    void *sink;
    /* Progress for the log: the page/window just loaded and the share done. */
    void (*progress)(void *sink, const char *what, long records, double fraction_done);
    volatile sig_atomic_t *stop; /* set on SIGINT/SIGTERM: end after the current page */
    /* Times (ascending, us) of stored results to re-read (see
     * vendor_stream.recheck_*). May be empty. */
    const int64_t *recheck;
    size_t n_recheck;
    long recheck_max;      /* at most this many re-check requests per run (0 = 100) */
    long pages;            /* incremented per page/window read */
    long recheck_requests; /* requests spent on re-checks this run */
    /* What the database behind emit knows, for an extractor that reads a
     * list page by page itself (not through prefetch_run): call these only
     * from the thread that calls emit. NULL when not available.
     * changed: results and candidates this stream's emits have inserted or
     * updated so far; the same before and after a page = the page held
     * nothing new or changed (offset/token lists: caught up). */
    long (*changed)(void *sink);
    /* stored_keys: vendor_keys of this stream's stored results whose
     * canonical status is in `statuses` and whose latest date
     * (completed_at, else started_at, else assigned_at) is within `days`,
     * unfinished ones first, newest first, at most `max`: results to re-read
     * one by one. keys[i] is such a result's vendor_key, cands[i] its
     * candidate's: malloc'd arrays of *n malloc'd strings (caller frees). */
    int (*stored_keys)(void *sink, const char *const *statuses, int days, long max, char ***keys,
                       char ***cands, size_t *n, struct ss_err *err);
    /* Documents a vendor renders for a result or group (PDF reports), kept
     * once per owner in the database behind emit. Like changed() and
     * stored_keys(), call these only from the thread that calls emit (the
     * connection is emit's, used between two emits). NULL when not
     * available; `docs` is their first argument.
     * document_current: 1 when the stored document of (kind, owner_key) was
     * rendered from the record whose digest is source_sha256 (no need to
     * fetch it again), 0 when there is none or an older one, -1 with err.
     * document: stores d (insert, or update when anything differs; an
     * identical row is not rewritten). */
    int (*document_current)(void *docs, const char *kind, const char *owner_key,
                            const unsigned char source_sha256[32], struct ss_err *err);
    int (*document)(void *docs, const struct vendor_document *d, struct ss_err *err);
    void *docs;
};

/* HTTP statuses a vendor documents, and what they mean for a fetch. */
enum vendor_outcome {
    VO_OK = 0,    /* a page of records */
    VO_EMPTY,     /* no content: a page with no records (204) */
    VO_AUTH,      /* the key or signature was refused: an account problem */
    VO_NOT_FOUND, /* the thing asked for does not exist (any more) */
    VO_ERROR,     /* anything else: the stream fails with the vendor's message */
};
struct vendor_status {
    long status; /* 0 terminates the table */
    enum vendor_outcome outcome;
};

/* How the vendor wants its credentials (http_auth, built per account). */
enum vendor_auth_kind {
    VA_BEARER,  /* Authorization: Bearer <api_key> */
    VA_API_KEY, /* api_key in a header/query/form field chosen by the vendor's config */
    VA_SIGNED,  /* a signature computed per attempt by vendor_ops.sign */
};

/* What `scoresync plan` needs to know about a stream (vendor_ops.plan). */
struct vendor_plan {
    /* 1: extract() reads a backfill with pager_window_init() and the
     * account's window settings, one request per window (page_res.records
     * = this stream's results in it), and sends nothing else: plan can
     * simulate that pager. 0: `why` says how the stream is read instead. */
    int windowed;
    /* The date its windows filter on, as a results column: "completed_at",
     * "started_at" or "assigned_at". */
    const char *column;
    /* 1: the stream's stored results are exactly what its windows return,
     * so stored ones give the density; 0: they are not (plan samples). */
    int stored;
    const char *why; /* windowed == 0: "an offset-paged list read whole each run" */
};

struct vendor_ops {
    const char *name;                    /* "emmersion" */
    const char *title;                   /* "Emmersion Enterprise API 2020q3" */
    const struct vendor_stream *streams; /* terminated by name == NULL, in sync order */
    /* Embedded (not a pointer) so the registry can list &ops.config as the
     * config schema in a static table. */
    struct cfg_vendor_schema config;
    const struct vendor_status *statuses; /* NULL = 2xx ok, 204 empty, 401/403 auth */
    enum vendor_auth_kind auth;
    /* VA_API_KEY: where the key goes; filled from the account's config. */
    int (*auth_setup)(const struct cfg_account *a, struct http_auth *out, struct ss_err *err);
    /* VA_SIGNED: computes the credential for one attempt (http_auth.sign). */
    int (*sign)(void *acct /* const struct cfg_account * */, int64_t now_wall_us, struct buf *out,
                struct ss_err *err);
    /* A vendor that is another's API in a different version (TrueNorth
     * 2020q1 is Emmersion 2020q3's family): opaque to all but its file. */
    const void *variant;
    /* Reads one stream into ctx->emit. Returns 0 when the range is done (or
     * *ctx->stop was set), -1 with err when the stream failed; what was
     * emitted before the failure stays loaded. */
    int (*extract)(struct vendor_ctx *ctx, struct ss_err *err);
    /* Parses one whole response body of stream into b, through the same
     * streaming path extract() uses (fixtures, fuzzing, the conformance
     * test): *records = records seen; -1 when the body as a whole is unusable. */
    int (*parse_body)(const struct vendor_ops *v, const char *stream, const char *body, size_t len,
                      struct ss_batch *b, long *records, struct ss_err *err);
    /* Re-parses one stored raw record (results.raw) of stream into r, for
     * `renormalize`, without calling the vendor. r is zeroed by the caller
     * with batch-like defaults (TS_NULL times, NAN bands). */
    int (*reparse)(const struct vendor_ops *v, const char *stream, const char *raw, size_t len,
                   struct ss_result *r, struct ss_err *err);
    /* `scoresync check`: the cheapest authenticated request the vendor
     * offers, proving the account's credentials (ctx holds vendor, acct,
     * http, auth and log; no stream, cursor or sink). 0 = accepted; -1 with
     * err->code SS_EAUTH when the credentials were refused, another code
     * when the vendor could not be reached or failed. NULL = no cheap call
     * known for this vendor (check says so and does not call it). */
    int (*check)(struct vendor_ctx *ctx, struct ss_err *err);
    /* `scoresync plan`: how a backfill of stream reads it (struct
     * vendor_plan), so plan can simulate it. NULL = no stream of this
     * vendor can be planned. */
    void (*plan)(const struct vendor_ops *v, const struct cfg_account *a, const char *stream,
                 struct vendor_plan *out);
};

/* NULL-terminated registry (registry.c). */
extern const struct vendor_ops *const vendor_registry[];
const struct vendor_ops *vendor_find(const char *name);
const struct vendor_stream *vendor_stream(const struct vendor_ops *v, const char *name);
/* Builds the account's http_auth (kept in *out; strings borrowed from acct). */
int vendor_auth(const struct vendor_ops *v, const struct cfg_account *acct, struct http_auth *out,
                struct ss_err *err);

#endif

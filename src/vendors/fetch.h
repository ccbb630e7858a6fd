/* fetch: how a vendor file reads one page. It sends the request through the
 * account's HTTP client (rate limit, retries, credentials per attempt), maps
 * the status through the vendor's table, and streams the body through
 * jstream: each record is handed to the vendor's parse() as soon as it has
 * arrived, into the page's batch, and the batch goes to the loader in parts
 * while the body is still coming. A 200 whose body is malformed or cut short
 * is retried within the request's one retry budget.
 *
 * A part handed over before a retry stays loaded; the retry reads its
 * records again and the loader finds them unchanged, so nothing is lost or
 * counted twice in the database. */
#ifndef SS_FETCH_H
#define SS_FETCH_H

#include <json-c/json.h>
#include <stddef.h>
#include "pager.h"
#include "vendor.h"

/* Where a page's records go: the current batch, handed over in parts of
 * ctx->part_records (prefetch.c implements flush). */
struct page_out {
    struct ss_batch *b;
    size_t part_records;
    /* Hands *b over (cursor-less part) and puts an empty batch in *b. */
    int (*flush)(void *arg, struct ss_batch **b, struct ss_err *err);
    void *flush_arg;
    /* The page is read again from its first byte (a retried attempt):
     * records handed over before come again. May be NULL. */
    void (*restart)(void *flush_arg);
};

/* The vendor's parser of one record. `key` is the member name when the
 * records are an object's members, else NULL; `index` its position. A record
 * that cannot be loaded goes to quarantine in out (with field and reason):
 * return 0. Return -1 only when reading must stop (out of memory). */
typedef int (*fetch_parse_fn)(void *arg, const char *key, size_t index, const char *json,
                              size_t len, struct ss_batch *out, struct ss_err *err);
/* Another member of the response's root object (page token, total). */
typedef int (*fetch_member_fn)(void *arg, const char *key, const char *json, size_t len,
                               struct page_res *res, struct ss_err *err);

struct fetch_req {
    const char *method; /* "GET", "POST" */
    const char *path;   /* appended to the account's base_url: "/scores" */
    const char *query;  /* "a=1&b=2", already encoded, or NULL */
    const char *body;   /* may be NULL */
    size_t body_len;
    const char *content_type; /* of body; NULL = application/json when a body is given */
    const char *container;    /* root member holding the records; NULL = the root */
    int container_kind;       /* JSTREAM_ARRAY, JSTREAM_OBJECT, 0 = either (jstream.h) */
    int missing_ok;           /* a response without the container is an empty page */
    fetch_parse_fn parse;
    fetch_member_fn member; /* may be NULL */
    /* Called when an attempt starts over (a retry): forget per-page counts. */
    void (*restart)(void *arg); /* may be NULL */
    void *arg;
    const char *what; /* for messages: "POST /scores [2020-01-01 .. 2020-01-08]" */
};

/* Reads one page into out. Returns 0 with res->records set (and whatever
 * member() filled), or -1: err->code SS_ETOOBIG (also res->too_big) when the
 * body passed max_response_bytes, SS_EAUTH when the vendor refused the
 * credentials, SS_EHTTP/SS_EINVAL otherwise. VO_NOT_FOUND statuses return
 * -1 with SS_EHTTP and res->records = 0 unless the caller expects them. */
int vendor_fetch(struct vendor_ctx *ctx, const struct fetch_req *fr, struct page_out *out,
                 struct page_res *res, struct ss_err *err) SS_MUSTCHECK;

/* What every record parser needs for a record it cannot key by its own id. */

/* "<parent>/sha256:<16 hex>" from the record's bytes as received: the same
 * across runs and window boundaries, so a re-read updates the same
 * quarantine row. */
void fetch_raw_locator(const char *parent, const char *json, size_t len, char *out, size_t n);
/* Quarantines the record text json[0..len) (bytes as received, NUL-safe)
 * under key; field may be NULL or "" (the whole record). */
int fetch_quarantine_text(struct ss_batch *b, const char *key, const char *json, size_t len,
                          const char *field, const char *reason, struct ss_err *err) SS_MUSTCHECK;
/* The same under fetch_raw_locator(parent, ...): for a record that is not
 * even JSON, not an object, or has no usable id. */
int fetch_quarantine_raw(struct ss_batch *b, const char *parent, const char *json, size_t len,
                         const char *field, const char *reason, struct ss_err *err) SS_MUSTCHECK;

/* The opening of an element callback that makes a candidate (and, when r
 * is not NULL, a result) from one element: parses json; an element that is
 * not JSON is quarantined whole under fetch_raw_locator(parent, ...).
 * Returns 0 with *obj (the caller's to json_object_put()) and fresh batch
 * entries; 1 when the element was quarantined (the callback returns 0);
 * -1 with err (out of memory, or the quarantine failed; nothing to free). */
int fetch_open_element(struct ss_batch *b, const char *parent, const char *json, size_t len,
                       json_object **obj, struct ss_candidate **c, struct ss_result **r,
                       struct ss_err *err) SS_MUSTCHECK;

/* The same parse path over a whole body in memory (unit tests, fuzzing,
 * fixtures): records into b (no parts), *records = elements seen. -1 when
 * the body as a whole is unusable (malformed, truncated, no container). */
int vendor_parse_body(const struct fetch_req *fr, const char *body, size_t len, struct ss_batch *b,
                      long *records, struct ss_err *err) SS_MUSTCHECK;

#endif

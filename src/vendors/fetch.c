/* fetch: one page, streamed from curl through jstream into the vendor's
 * parser, with the vendor's status table deciding what a status means. */
#include "fetch.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "jsonx.h"
#include "jstream.h"

/* What the stream callbacks share for one page. */
struct fstate {
    const struct fetch_req *fr;
    struct page_out *out; /* NULL: whole-body parse into b */
    struct ss_batch *b;
    struct page_res *res;
    struct jstream *js;
    const struct vendor_status *statuses;
    long status;
};

static enum vendor_outcome outcome_of(const struct vendor_status *t, long status)
{
    for (; t && t->status; t++)
        if (t->status == status)
            return t->outcome;
    if (status == 204)
        return VO_EMPTY;
    if (status >= 200 && status < 300)
        return VO_OK;
    if (status == 401 || status == 403)
        return VO_AUTH;
    if (status == 404)
        return VO_NOT_FOUND;
    return VO_ERROR;
}

static int on_element(void *arg, const char *key, size_t index, const char *json, size_t len,
                      struct ss_err *err)
{
    struct fstate *s = arg;
    if (s->fr->parse(s->fr->arg, key, index, json, len, s->b, err) != 0)
        return -1;
    if (s->out && (s->b->n_res >= s->out->part_records || s->b->n_cand >= s->out->part_records)) {
        if (s->out->flush(s->out->flush_arg, &s->out->b, err) != 0)
            return -1;
        s->b = s->out->b;
    }
    return 0;
}

static int on_member(void *arg, const char *key, const char *json, size_t len, struct ss_err *err)
{
    struct fstate *s = arg;
    return s->fr->member ? s->fr->member(s->fr->arg, key, json, len, s->res, err) : 0;
}

/* A record too big or too deep to keep: quarantined by position, and the
 * rest of the response still loads. */
static int on_bad(void *arg, const char *key, size_t index, const char *reason, const char *prefix,
                  size_t prefix_len, struct ss_err *err)
{
    struct fstate *s = arg;
    char loc[300], raw[300];
    if (key)
        snprintf(loc, sizeof loc, "%s", key);
    else
        snprintf(loc, sizeof loc, "%s[%zu]", s->fr->container ? s->fr->container : "", index);
    snprintf(raw, sizeof raw, "%.*s", (int)(prefix_len < 256 ? prefix_len : 256), prefix);
    return batch_add_quarantine(s->b, loc, NULL, reason, raw, err);
}

static struct jstream *open_stream(struct fstate *s)
{
    struct jstream_opts o;
    memset(&o, 0, sizeof o);
    o.container = s->fr->container;
    o.kind = s->fr->container_kind;
    o.on_element = on_element;
    o.on_member = on_member;
    o.on_bad = on_bad;
    o.arg = s;
    return jstream_new(&o);
}

static int sink_begin(void *arg, long status, struct ss_err *err)
{
    struct fstate *s = arg;
    (void)err;
    s->status = status;
    jstream_reset(s->js);
    /* What an earlier attempt parsed but did not hand over is read again. */
    batch_reset(s->b);
    if (s->fr->restart)
        s->fr->restart(s->fr->arg);
    if (s->out && s->out->restart)
        s->out->restart(s->out->flush_arg);
    return 0;
}

static int sink_data(void *arg, const char *p, size_t n, struct ss_err *err)
{
    struct fstate *s = arg;
    if (outcome_of(s->statuses, s->status) == VO_EMPTY)
        return 0;
    if (jstream_feed(s->js, p, n, err) != 0)
        /* A callback failure (out of memory, loader gone) is fatal; bad JSON
         * is decided at the end, so the attempt is retried. */
        return err->code == SS_EINVAL ? 0 : -1;
    return 0;
}

static int sink_end(void *arg, struct ss_err *err)
{
    struct fstate *s = arg;
    if (outcome_of(s->statuses, s->status) == VO_EMPTY)
        return 0;
    if (jstream_finish(s->js, s->fr->missing_ok, err) != 0)
        return 1; /* malformed or cut short: ask again */
    return 0;
}

int vendor_fetch(struct vendor_ctx *ctx, const struct fetch_req *fr, struct page_out *out,
                 struct page_res *res, struct ss_err *err)
{
    const struct cfg_account *a = ctx->acct;
    struct buf url;
    buf_init(&url, 0);
    int rc = -1;
    struct fstate s;
    memset(&s, 0, sizeof s);
    s.fr = fr;
    s.out = out;
    s.b = out->b;
    s.res = res;
    s.statuses = ctx->vendor ? ctx->vendor->statuses : NULL;
    s.js = open_stream(&s);
    if (!s.js || buf_appendf(&url, err, "%s%s%s%s", a->base_url, fr->path, fr->query ? "?" : "",
                             fr->query ? fr->query : "") != 0) {
        err_set(err, SS_ENOMEM, "out of memory");
        goto out;
    }
    char ctype[160] = "";
    const char *headers[3] = {"Accept: application/json", NULL, NULL};
    if (fr->body) {
        snprintf(ctype, sizeof ctype, "Content-Type: %s",
                 fr->content_type ? fr->content_type : "application/json");
        headers[1] = ctype;
    }
    struct http_sink sink = {sink_begin, sink_data, sink_end, &s};
    struct http_request hr = {fr->method,   url.data,  headers, fr->body,
                              fr->body_len, ctx->auth, &sink};
    struct http_response resp;
    memset(&resp, 0, sizeof resp);
    const char *what = fr->what ? fr->what : fr->path;
    if (http_do(ctx->http, &hr, &resp, err) != 0) {
        if (err->code == SS_ETOOBIG)
            res->too_big = 1;
        err_prefix(err, "%s", what);
        http_response_free(&resp);
        goto out;
    }
    switch (outcome_of(s.statuses, resp.status)) {
    case VO_OK:
    case VO_EMPTY:
        res->records = (long)jstream_count(s.js);
        out->b = s.b;
        rc = 0;
        break;
    case VO_AUTH:
        err_set(err, SS_EAUTH,
                "%s: HTTP %ld: the vendor refused this account's credentials; "
                "check %s",
                what, resp.status, a->api_key_source ? a->api_key_source : "api_key");
        break;
    case VO_NOT_FOUND:
    case VO_ERROR:
        err_set(err, SS_EHTTP, "%s: HTTP %ld: %.300s", what, resp.status,
                resp.body.data ? resp.body.data : "");
        break;
    }
    http_response_free(&resp);
out:
    out->b = s.b ? s.b : out->b;
    jstream_free(s.js);
    buf_free(&url);
    return rc;
}

int vendor_parse_body(const struct fetch_req *fr, const char *body, size_t len, struct ss_batch *b,
                      long *records, struct ss_err *err)
{
    struct fstate s;
    memset(&s, 0, sizeof s);
    struct page_res res;
    memset(&res, 0, sizeof res);
    s.fr = fr;
    s.b = b;
    s.res = &res;
    s.js = open_stream(&s);
    *records = 0;
    if (!s.js)
        return err_set(err, SS_ENOMEM, "out of memory");
    int rc =
        jstream_feed(s.js, body, len, err) == 0 && jstream_finish(s.js, fr->missing_ok, err) == 0
            ? 0
            : -1;
    *records = (long)jstream_count(s.js);
    jstream_free(s.js);
    return rc;
}

void fetch_raw_locator(const char *parent, const char *json, size_t len, char *out, size_t n)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)json, len, md);
    snprintf(out, n, "%s/sha256:%02x%02x%02x%02x%02x%02x%02x%02x", parent, md[0], md[1], md[2],
             md[3], md[4], md[5], md[6], md[7]);
}

int fetch_quarantine_text(struct ss_batch *b, const char *key, const char *json, size_t len,
                          const char *field, const char *reason, struct ss_err *err)
{
    char *raw = strndup(json, len);
    if (!raw)
        return err_set(err, SS_ENOMEM, "out of memory");
    int rc = batch_add_quarantine(b, key, field && *field ? field : NULL, reason, raw, err);
    free(raw);
    return rc;
}

int fetch_quarantine_raw(struct ss_batch *b, const char *parent, const char *json, size_t len,
                         const char *field, const char *reason, struct ss_err *err)
{
    char loc[256];
    fetch_raw_locator(parent, json, len, loc, sizeof loc);
    return fetch_quarantine_text(b, loc, json, len, field, reason, err);
}

int fetch_open_element(struct ss_batch *b, const char *parent, const char *json, size_t len,
                       json_object **obj, struct ss_candidate **c, struct ss_result **r,
                       struct ss_err *err)
{
    *obj = NULL;
    struct ss_err perr = {0};
    if (jx_parse(json, len, obj, &perr) != 0)
        return fetch_quarantine_raw(b, parent, json, len, NULL, perr.msg, err) == 0 ? 1 : -1;
    *c = batch_add_candidate(b);
    if (r)
        *r = *c ? batch_add_result(b) : NULL;
    if (!*c || (r && !*r)) {
        if (*c)
            batch_drop_last_candidate(b);
        json_object_put(*obj);
        *obj = NULL;
        return err_set(err, SS_ENOMEM, "out of memory");
    }
    return 0;
}

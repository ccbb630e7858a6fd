/* sandbox server: libmicrohttpd with a thread per connection. Everything
 * vendor-neutral lives here: routing by prefix, calling the vendor's auth
 * hook, the rate limits (one sliding-window limiter from http/ratelimit per
 * vendor and account, with the windows the vendor declares), fault injection
 * from a seeded PRNG, and the /_sandbox/ admin endpoints. Shared mutable
 * state (limiters, PRNGs, counters) is under one mutex; vendor data is
 * read-only after init (or locked by the vendor), so handlers run in
 * parallel. */
#include "sandbox.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "../core/clock.h"
#include "../core/jsonw.h"
#include "../core/log.h"
#include "../http/ratelimit.h"
#include "sb_data.h"
#include "sb_vendor.h"

/* The vendors the sandbox serves: one line per vendor. */
// clang-format off
static const struct sb_vendor *const sb_vendors[] = {
    &sb_emmersion_vendor,
    &sb_truenorth_vendor,
    &sb_cepa_vendor,
    &sb_etest_vendor,
    &sb_testello_vendor,
};
// clang-format on
#define SB_NVENDORS (sizeof sb_vendors / sizeof sb_vendors[0])

#define SB_MAX_LIMIT     4000000L /* requests per window after scaling: caps rate_scale */
#define SB_UNLIMITED_LOG 4096     /* requests remembered without limits, for peak stats */
#define SB_PEAK_SPAN_US  1000000LL

/* One vendor and account. */
struct sb_acct {
    /* The vendor's scaled windows; without limits a 1 s window of
     * SB_UNLIMITED_LOG that only records, so peak_1s is still measured. */
    struct rate_limiter *rl;
    uint64_t rng;
    int storm_left;
    long accepted, rate_limited, injected_429, injected_5xx, slow, truncated, malformed;
    long peak_1s;
};

struct sandbox {
    struct MHD_Daemon *daemon;
    struct sandbox_opts o;
    char *accounts_buf;
    const char **accounts;
    size_t naccounts;
    void *vstate[SB_NVENDORS];
    struct sb_acct *acct; /* [vendor * naccounts + account] */
    pthread_mutex_t lock;
    /* Each vendor's windows scaled by rate_scale. */
    struct rl_window win[SB_NVENDORS][SB_MAX_WINDOWS];
    size_t nwin[SB_NVENDORS];
    int port;
    const struct ss_clock *clock;
};

struct conn_req {
    struct buf body;
    int too_big;
};

/* What admission decided for one request. */
struct verdict {
    int status;       /* 0 = go ahead; else answer this (429 or 5xx) */
    long retry_after; /* seconds, for 429 */
    int slow, truncate, malformed, malformed_kind;
};

/* ---- helpers shared with vendor files ---------------------------------------- */

const char *sb_param(const struct sb_params *p, const char *name)
{
    return p && p->get ? p->get(p->ctx, name) : NULL;
}

int sb_account_by_key(const struct sb_auth_req *r, const char *key)
{
    size_t pl = strlen(SANDBOX_KEY_PREFIX);
    if (!key || strncmp(key, SANDBOX_KEY_PREFIX, pl) != 0)
        return -1;
    for (size_t i = 0; i < r->naccounts; i++)
        if (strcmp(r->accounts[i], key + pl) == 0)
            return (int)i;
    return -1;
}

int sb_auth_bearer(const struct sb_auth_req *r)
{
    const char *h = sb_param(&r->header, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return -1;
    h += 7;
    while (*h == ' ')
        h++;
    return sb_account_by_key(r, h);
}

void sb_resp_error(struct sb_resp *resp, int status, const char *msg)
{
    buf_reset(&resp->body);
    resp->status = status;
    resp->content_type = "application/json; charset=utf-8";
    struct jsonw w;
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    jw_key(&w, "errors");
    jw_open(&w, '[');
    jw_str(&w, msg);
    jw_close(&w, ']');
    jw_close(&w, '}');
    if (w.failed)
        buf_reset(&resp->body);
}

/* ---- options ------------------------------------------------------------------- */

void sandbox_opts_default(struct sandbox_opts *o)
{
    memset(o, 0, sizeof *o);
    o->bind = "127.0.0.1";
    o->port = 0;
    o->seed = 1;
    o->reports = 2000;
    o->accounts = "demo";
    o->rate_scale = 1.0;
    o->faults.storm_len = 3;
    o->faults.slow_ms = 2000;
}

void sandbox_set_clock(struct sandbox *sb, const struct ss_clock *clock)
{
    pthread_mutex_lock(&sb->lock);
    sb->clock = clock ? clock : clock_system();
    pthread_mutex_unlock(&sb->lock);
}

int sandbox_port(const struct sandbox *sb)
{
    return sb ? sb->port : 0;
}

/* ---- rate limits and faults --------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ULL;
    return sb_mix64(*s);
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

static int limits_on(const struct sandbox *sb, size_t vi)
{
    return !sb->o.no_limits && sb->nwin[vi] > 0;
}

static void admit(struct sandbox *sb, size_t vi, struct sb_acct *a, struct verdict *v)
{
    const struct sandbox_faults *f = &sb->o.faults;
    memset(v, 0, sizeof *v);
    pthread_mutex_lock(&sb->lock);
    int64_t now = sb->clock->now_us(sb->clock->ctx);
    if (limits_on(sb, vi)) {
        int64_t w = rl_try_acquire(a->rl, now);
        if (w > 0) {
            a->rate_limited++;
            v->status = 429;
            v->retry_after = rl_retry_after_s(w);
            goto out;
        }
    } else {
        rl_record(a->rl, now);
    }
    a->accepted++;
    long in_span = (long)rl_count_recent(a->rl, now, SB_PEAK_SPAN_US);
    if (in_span > a->peak_1s)
        a->peak_1s = in_span;

    /* Always the same number of draws, so the sequence does not depend on
     * which faults are switched on. */
    double u[6];
    for (int i = 0; i < 6; i++)
        u[i] = rng_unit(&a->rng);
    if (a->storm_left > 0 || u[0] < f->p_429) {
        a->storm_left =
            a->storm_left > 0 ? a->storm_left - 1 : (f->storm_len > 1 ? f->storm_len - 1 : 0);
        a->injected_429++;
        v->status = 429;
        v->retry_after = 1;
        goto out;
    }
    if (u[1] < f->p_5xx) {
        static const int codes[] = {500, 502, 503};
        a->injected_5xx++;
        v->status = codes[(int)(u[5] * 3) % 3];
        goto out;
    }
    if ((v->slow = u[2] < f->p_slow))
        a->slow++;
    if ((v->truncate = u[3] < f->p_truncate))
        a->truncated++;
    else if ((v->malformed = u[4] < f->p_malformed))
        a->malformed++;
    v->malformed_kind = u[5] < 0.5;
out:
    pthread_mutex_unlock(&sb->lock);
}

/* ---- responses ----------------------------------------------------------------- */

struct short_body {
    char *data;
    size_t served; /* bytes actually sent; the declared size is larger */
};

static ssize_t short_reader(void *cls, uint64_t pos, char *out, size_t max)
{
    struct short_body *sbd = cls;
    if (pos >= sbd->served)
        return MHD_CONTENT_READER_END_OF_STREAM; /* MHD closes: the client sees a short body */
    size_t n = sbd->served - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(out, sbd->data + pos, n);
    return (ssize_t)n;
}

static void short_free(void *cls)
{
    struct short_body *sbd = cls;
    free(sbd->data);
    free(sbd);
}

static enum MHD_Result send_resp(struct MHD_Connection *c, struct sb_resp *resp, long retry_after,
                                 int truncate, const char *challenge)
{
    struct MHD_Response *r = NULL;
    size_t len = resp->body.len;
    if (truncate && len > 1) {
        struct short_body *sbd = malloc(sizeof *sbd);
        if (sbd) {
            sbd->served = len / 2;
            sbd->data = buf_steal(&resp->body);
            r = MHD_create_response_from_callback(len, 64 * 1024, short_reader, sbd, short_free);
            if (!r)
                short_free(sbd);
        }
    } else if (len > 0) {
        char *data = buf_steal(&resp->body);
        r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
        if (!r)
            free(data);
    } else {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!r)
        return MHD_NO;
    if (resp->content_type && len > 0)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    if (resp->allow[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
    if (resp->status == 429) {
        char ra[32];
        snprintf(ra, sizeof ra, "%ld", retry_after > 0 ? retry_after : 1);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (challenge)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return rc;
}

/* ---- admin --------------------------------------------------------------------- */

static int find_account(const struct sandbox *sb, const char *name)
{
    for (size_t i = 0; name && i < sb->naccounts; i++)
        if (strcmp(sb->accounts[i], name) == 0)
            return (int)i;
    return -1;
}

static void admin_stats(struct sandbox *sb, struct sb_resp *resp)
{
    struct jsonw w;
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    pthread_mutex_lock(&sb->lock);
    for (size_t v = 0; v < SB_NVENDORS; v++) {
        jw_key(&w, sb_vendors[v]->name);
        jw_open(&w, '{');
        for (size_t i = 0; i < sb->naccounts; i++) {
            const struct sb_acct *a = &sb->acct[v * sb->naccounts + i];
            jw_key(&w, sb->accounts[i]);
            jw_open(&w, '{');
            jw_kint(&w, "accepted", a->accepted);
            jw_kint(&w, "sent_429", a->rate_limited + a->injected_429);
            jw_kint(&w, "rate_limited", a->rate_limited);
            jw_kint(&w, "injected_429", a->injected_429);
            jw_kint(&w, "injected_5xx", a->injected_5xx);
            jw_kint(&w, "slow", a->slow);
            jw_kint(&w, "truncated", a->truncated);
            jw_kint(&w, "malformed", a->malformed);
            jw_kint(&w, "peak_1s", a->peak_1s);
            /* One "limit_<span>" per window: limit_1s, limit_1200s, ... */
            for (size_t k = 0; k < sb->nwin[v]; k++) {
                const struct rl_window *wi = &sb->win[v][k];
                char key[48];
                if (wi->period_us % 1000000 == 0)
                    snprintf(key, sizeof key, "limit_%llds", (long long)(wi->period_us / 1000000));
                else
                    snprintf(key, sizeof key, "limit_%lldms", (long long)(wi->period_us / 1000));
                jw_kint(&w, key, wi->limit);
            }
            jw_kbool(&w, "limits", limits_on(sb, v));
            jw_close(&w, '}');
        }
        jw_close(&w, '}');
    }
    pthread_mutex_unlock(&sb->lock);
    jw_close(&w, '}');
    if (w.failed) {
        sb_resp_error(resp, 500, "out of memory");
        return;
    }
    resp->status = 200;
    resp->content_type = "application/json; charset=utf-8";
}

/* Request values through libmicrohttpd, for vendor code that must not see it. */
static const char *conn_header(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_HEADER_KIND, name);
}

static const char *conn_query(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static void admin(struct sandbox *sb, struct MHD_Connection *c, const char *rest,
                  struct sb_resp *resp)
{
    if (strcmp(rest, "health") == 0) {
        resp->status = 200;
        resp->content_type = "application/json; charset=utf-8";
        if (buf_append(&resp->body, "{\"ok\":true}", 11, NULL) != 0)
            sb_resp_error(resp, 500, "out of memory");
        return;
    }
    if (strcmp(rest, "stats") == 0) {
        admin_stats(sb, resp);
        return;
    }
    /* <vendor>/<what>?account=A */
    for (size_t v = 0; v < SB_NVENDORS; v++) {
        size_t n = strlen(sb_vendors[v]->name);
        if (strncmp(rest, sb_vendors[v]->name, n) != 0 || rest[n] != '/' || !sb_vendors[v]->admin)
            continue;
        const char *acct = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "account");
        int ai = acct ? find_account(sb, acct) : (sb->naccounts == 1 ? 0 : -1);
        if (ai < 0) {
            sb_resp_error(resp, acct ? 404 : 400,
                          acct ? "unknown account" : "account=NAME is required");
            return;
        }
        struct sb_admin_req req = {
            .what = rest + n + 1,
            .account_index = ai,
            .account = sb->accounts[ai],
            .query = {conn_query, c},
        };
        if (sb_vendors[v]->admin(sb->vstate[v], &req, resp) != 0 || !resp->status)
            sb_resp_error(resp, 500, "admin query failed");
        return;
    }
    sb_resp_error(resp, 404, "Not Found");
}

/* ---- request handling ------------------------------------------------------------ */

static enum MHD_Result handle(struct sandbox *sb, struct MHD_Connection *c, const char *url,
                              const char *method, struct conn_req *cr)
{
    struct sb_resp resp;
    memset(&resp, 0, sizeof resp);
    buf_init(&resp.body, SB_MAX_RESPONSE);
    struct verdict v;
    memset(&v, 0, sizeof v);
    const char *acct_name = "-";
    enum MHD_Result rc;
    size_t vi = SB_NVENDORS; /* the vendor, once the prefix has matched */
    size_t plen = 0;

    if (strncmp(url, "/_sandbox/", 10) == 0) {
        admin(sb, c, url + 10, &resp);
        goto send;
    }
    for (vi = 0; vi < SB_NVENDORS; vi++) {
        plen = strlen(sb_vendors[vi]->version_prefix);
        if (strncmp(url, sb_vendors[vi]->version_prefix, plen) == 0 &&
            (url[plen] == '/' || url[plen] == '\0'))
            break;
    }
    if (vi == SB_NVENDORS) {
        sb_resp_error(&resp, 404, "Not Found");
        goto send;
    }
    const struct sb_vendor *vd = sb_vendors[vi];
    /* Path after the prefix, without a trailing slash (the doc's curl
     * examples use both forms). */
    char path[256];
    snprintf(path, sizeof path, "%s", url[plen] ? url + plen : "/");
    size_t pl = strlen(path);
    while (pl > 1 && path[pl - 1] == '/')
        path[--pl] = '\0';
    const char *body = cr->body.data ? cr->body.data : "";
    struct sb_auth_req areq = {
        .method = method,
        .path = path,
        .body = body,
        .body_len = cr->body.len,
        .header = {conn_header, c},
        .query = {conn_query, c},
        .accounts = sb->accounts,
        .naccounts = sb->naccounts,
    };
    int ai = vd->auth ? vd->auth(&areq) : -1;
    if (ai < 0 || (size_t)ai >= sb->naccounts) {
        resp.status = 401; /* no body, as the vendors do */
        goto send;
    }
    acct_name = sb->accounts[ai];
    admit(sb, vi, &sb->acct[vi * sb->naccounts + (size_t)ai], &v);
    if (v.status) {
        if (v.status == 429) {
            sb_resp_error(&resp, 429, "Too Many Requests");
        } else {
            sb_resp_error(&resp, v.status, "The server encountered an error; retry later.");
        }
        goto send;
    }
    if (cr->too_big) {
        sb_resp_error(&resp, 413, "Request body too large");
        goto send;
    }
    struct sb_req req = {
        .state = sb->vstate[vi],
        .method = method,
        .path = path,
        .body = body,
        .body_len = cr->body.len,
        .query = {conn_query, c},
        .account = acct_name,
        .account_index = ai,
    };
    if (vd->handle(&req, &resp) != 0 || resp.status == 0)
        sb_resp_error(&resp, 500, "internal error");
    if (v.slow && sb->o.faults.slow_ms > 0) {
        struct timespec ts = {sb->o.faults.slow_ms / 1000,
                              (long)(sb->o.faults.slow_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    if (resp.status == 200 && v.malformed && resp.body.len > 2) {
        if (v.malformed_kind) {
            resp.body.len /= 2; /* JSON cut in half */
            resp.body.data[resp.body.len] = '\0';
        } else {
            /* A stray brace in front: "{{...". */
            if (buf_append(&resp.body, " ", 1, NULL) == 0) {
                memmove(resp.body.data + 1, resp.body.data, resp.body.len - 1);
                resp.body.data[0] = '{';
            }
        }
    }
send:
    if (!sb->o.quiet)
        log_info("sandbox: %s %s [%s] -> %d (%zu bytes)%s%s%s", method, url, acct_name, resp.status,
                 resp.body.len, v.slow ? " slow" : "",
                 v.truncate && resp.status == 200 ? " truncated" : "",
                 v.malformed && resp.status == 200 ? " malformed" : "");
    rc = send_resp(c, &resp, v.retry_after, v.truncate && resp.status == 200,
                   resp.status == 401 && vi < SB_NVENDORS ? sb_vendors[vi]->auth_challenge : NULL);
    buf_free(&resp.body);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct sandbox *sb = cls;
    struct conn_req *cr = *con_cls;
    if (!cr) {
        cr = calloc(1, sizeof *cr);
        if (!cr)
            return MHD_NO;
        buf_init(&cr->body, SB_MAX_BODY);
        *con_cls = cr;
        return MHD_YES;
    }
    if (*upload_size) {
        /* Past the cap the rest is read and dropped; the answer is 413. */
        if (!cr->too_big && buf_append(&cr->body, upload, *upload_size, NULL) != 0)
            cr->too_big = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    return handle(sb, c, url, method, cr);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct conn_req *cr = *con_cls;
    if (cr) {
        buf_free(&cr->body);
        free(cr);
        *con_cls = NULL;
    }
}

/* ---- lifecycle ------------------------------------------------------------------ */

static int split_accounts(struct sandbox *sb, const char *list, struct ss_err *err)
{
    sb->accounts_buf = strdup(list && *list ? list : "demo");
    if (!sb->accounts_buf)
        return err_set(err, SS_ENOMEM, "out of memory");
    size_t n = 1;
    for (const char *p = sb->accounts_buf; *p; p++)
        n += *p == ',';
    sb->accounts = calloc(n, sizeof *sb->accounts);
    if (!sb->accounts)
        return err_set(err, SS_ENOMEM, "out of memory");
    char *save = NULL;
    for (char *t = strtok_r(sb->accounts_buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (!*t)
            continue;
        for (const char *q = t; *q; q++)
            if (!(*q == '-' || *q == '_' || *q == '.' || (*q >= '0' && *q <= '9') ||
                  (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
                return err_set(err, SS_EINVAL,
                               "account name \"%s\": use letters, digits, '-', '_' or '.'", t);
        if (find_account(sb, t) >= 0)
            return err_set(err, SS_EINVAL, "account \"%s\" given twice", t);
        sb->accounts[sb->naccounts++] = t;
    }
    if (sb->naccounts == 0)
        return err_set(err, SS_EINVAL, "no account names in \"%s\"", list);
    return 0;
}

static long scaled(long base, double scale)
{
    double v = (double)base * scale + 0.5;
    return v < 1 ? 1 : (long)v;
}

int sandbox_start(const struct sandbox_opts *o, struct sandbox **out, struct ss_err *err)
{
    struct sandbox *sb = calloc(1, sizeof *sb);
    *out = NULL;
    if (!sb)
        return err_set(err, SS_ENOMEM, "out of memory");
    if (pthread_mutex_init(&sb->lock, NULL) != 0) {
        free(sb);
        return err_set(err, SS_ENOMEM, "cannot create a mutex");
    }
    sb->o = *o;
    sb->clock = clock_system();
    if (!sb->o.bind || !*sb->o.bind)
        sb->o.bind = "127.0.0.1";
    if (split_accounts(sb, o->accounts, err) != 0)
        goto fail;
    sb->o.accounts = NULL; /* the caller's string is not kept */
    if (!(o->rate_scale > 0)) {
        err_set(err, SS_EINVAL, "rate scale must be > 0");
        goto fail;
    }
    for (size_t v = 0; v < SB_NVENDORS; v++) {
        const struct sb_vendor *vd = sb_vendors[v];
        sb->nwin[v] = vd->nlimits < SB_MAX_WINDOWS ? vd->nlimits : SB_MAX_WINDOWS;
        for (size_t k = 0; k < sb->nwin[v]; k++) {
            long lim = scaled((long)vd->limits[k].limit, o->rate_scale);
            if (!o->no_limits && lim > SB_MAX_LIMIT) {
                err_set(err, SS_EINVAL, "rate scale %g is too large for %s (use --no-limits)",
                        o->rate_scale, vd->name);
                goto fail;
            }
            sb->win[v][k].limit = (uint32_t)(lim > SB_MAX_LIMIT ? SB_MAX_LIMIT : lim);
            sb->win[v][k].period_us = vd->limits[k].period_us;
        }
    }
    sb->acct = calloc(SB_NVENDORS * sb->naccounts, sizeof *sb->acct);
    if (!sb->acct) {
        err_set(err, SS_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t v = 0; v < SB_NVENDORS; v++) {
        for (size_t i = 0; i < sb->naccounts; i++) {
            struct sb_acct *a = &sb->acct[v * sb->naccounts + i];
            /* A 1 us margin makes every span closed, the strictest reading:
             * requests at t and at t + span fall in the same span. */
            static const struct rl_window track = {SB_UNLIMITED_LOG, SB_PEAK_SPAN_US};
            a->rl = limits_on(sb, v) ? rl_new(sb->win[v], sb->nwin[v], 1) : rl_new(&track, 1, 0);
            if (!a->rl) {
                err_set(err, SS_ENOMEM, "%s: cannot create the rate limiter (limits %s)",
                        sb_vendors[v]->name, limits_on(sb, v) ? "too large?" : "off");
                goto fail;
            }
            a->rng = sb_hash3(o->seed ^ 0xfa017ULL, sb_str_hash(sb_vendors[v]->name),
                              sb_str_hash(sb->accounts[i]));
        }
    }
    struct sb_init in = {
        .seed = o->seed,
        .reports = o->reports,
        .accounts = sb->accounts,
        .naccounts = sb->naccounts,
        .p_bad_record = o->faults.p_bad_record,
        .quiet = o->quiet,
    };
    for (size_t v = 0; v < SB_NVENDORS; v++) {
        if (sb_vendors[v]->init(&in, &sb->vstate[v], err) != 0) {
            sb->vstate[v] = NULL;
            goto fail;
        }
    }

    struct sockaddr_in sa4;
    struct sockaddr_in6 sa6;
    struct sockaddr *sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    memset(&sa4, 0, sizeof sa4);
    memset(&sa6, 0, sizeof sa6);
    if (o->port < 0 || o->port > 65535) {
        err_set(err, SS_EINVAL, "port %d out of range", o->port);
        goto fail;
    }
    if (inet_pton(AF_INET, sb->o.bind, &sa4.sin_addr) == 1) {
        sa4.sin_family = AF_INET;
        sa4.sin_port = htons((uint16_t)o->port);
        sa = (struct sockaddr *)&sa4;
    } else if (inet_pton(AF_INET6, sb->o.bind, &sa6.sin6_addr) == 1) {
        sa6.sin6_family = AF_INET6;
        sa6.sin6_port = htons((uint16_t)o->port);
        sa = (struct sockaddr *)&sa6;
        flags |= MHD_USE_IPv6;
    } else {
        err_set(err, SS_EINVAL, "bind address \"%s\" is not an IPv4 or IPv6 address", sb->o.bind);
        goto fail;
    }
    sb->daemon =
        MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, sb, MHD_OPTION_SOCK_ADDR,
                         sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed, sb,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
    if (!sb->daemon) {
        err_set(err, SS_EIO, "cannot listen on %s port %d (in use?)", sb->o.bind, o->port);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(sb->daemon, MHD_DAEMON_INFO_BIND_PORT);
    sb->port = info ? info->port : o->port;
    *out = sb;
    return 0;
fail:
    sandbox_stop(sb);
    return -1;
}

void sandbox_stop(struct sandbox *sb)
{
    if (!sb)
        return;
    if (sb->daemon)
        MHD_stop_daemon(sb->daemon);
    for (size_t v = 0; v < SB_NVENDORS; v++)
        if (sb->vstate[v])
            sb_vendors[v]->free_state(sb->vstate[v]);
    if (sb->acct)
        for (size_t i = 0; i < SB_NVENDORS * sb->naccounts; i++)
            rl_free(sb->acct[i].rl);
    free(sb->acct);
    free(sb->accounts);
    free(sb->accounts_buf);
    pthread_mutex_destroy(&sb->lock);
    free(sb);
}

void sandbox_print_vendors(void *file)
{
    FILE *f = file;
    for (size_t i = 0; i < SB_NVENDORS; i++) {
        const struct sb_vendor *v = sb_vendors[i];
        fputs(v->help ? v->help : "", f);
        fprintf(f, "                      limits per account:");
        for (size_t j = 0; j < v->nlimits; j++)
            fprintf(f, "%s %u per %.0f s", j ? "," : "", (unsigned)v->limits[j].limit,
                    (double)v->limits[j].period_us / 1e6);
        fprintf(f, "%s\n", v->nlimits ? "" : " none");
    }
}

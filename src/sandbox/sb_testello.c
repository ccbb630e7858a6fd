/* sb_testello: the Testello API v1 as the sandbox serves it
 * (/work/shared/seeds/004_*.txt), under /testello/api/v1:
 *   GET tests          the catalogue (English and Arabic names, duration,
 *                      languages, pass_percentage that may be empty)
 *   GET sessions       the *active* sessions, without their taken tests
 *   GET sessions/:id   one active session with taken_tests; an expired or
 *                      unknown one is 404 {"errors": [...]}
 * Every call must carry signed_request = base64(sig) "." base64(payload)
 * (query parameter, or form field of a POST). The payload's company_id
 * names the account (account i of --accounts is company i + 1) and its
 * secret is "sandbox-<account>". The signature is verified in one of the
 * two readings the seed allows, chosen by an admin switch: the HMAC-SHA256
 * of the base64 payload as sent (default) or of the JSON text; as the
 * lowercase hex digest (the seed's sample) or the raw MAC, in either base64
 * alphabet. A bad one is refused: 401 {"errors": ["..."]}.
 *
 * Data: the seed's sessions 9236 (taken tests 3187 "78.0", 3188 "ESTJ",
 * 3189 not done) and 9276 for every account, plus generated sessions
 * (--reports / 40, at most 200), deterministic from (seed, account). Admin
 * switches finish a taken test and expire a session, between two syncs.
 * State changes are under the part's own mutex. */
#include <ctype.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/jsonw.h"
#include "../http/sign.h"
#include "sb_data.h"
#include "sb_vendor.h"

#define TS_MAX_TAKEN 4
#define TS_MAX_TESTS 4

struct ts_test {
    long id;
    const char *en, *ar;
    int duration;
    const char *pass; /* JSON text: 49, null, "" */
    const char *languages;
    int personality;
};

/* The seed's two tests, and those its sessions name. */
static const struct ts_test ts_catalogue[] = {
    {24, "Numerical Reasoning Test", "الاختبار العددي", 45, "49", "[\"en\"]", 0},
    {16, "Personality Assessment", "تقييم الشخصيه", 30, "50", "[\"en\",\"ar\"]", 1},
    {21, "English Placement Test", "اختبار تحديد المستوى", 60, "60", "[\"en\"]", 0},
    {14, "Verbal Reasoning Test", "الاختبار اللفظي", 40, "\"\"", "[\"en\",\"ar\"]", 0},
    {3, "Personality Type Indicator", "مؤشر نوع الشخصية", 25, "null", "[\"en\"]", 1},
    {45, "Listening Test", "اختبار الاستماع", 35, "70", "[\"en\"]", 0},
    {12, "Grammar Test", "اختبار القواعد", 20, "55", "[\"en\",\"ar\"]", 0},
};
#define TS_NCAT (sizeof ts_catalogue / sizeof ts_catalogue[0])

struct ts_taken {
    long id, test_id;
    int done;
    char score[16];
};

struct ts_session {
    long id;
    int quantity;
    char expires_at[32];
    long bundle; /* 0 = none (null) */
    long tests[TS_MAX_TESTS];
    int ntests;
    char token[24];
    struct ts_taken taken[TS_MAX_TAKEN];
    int ntaken;
    int expired;
};

struct ts_acct {
    struct ts_session *s;
    size_t n;
};

struct ts_state {
    pthread_mutex_t mu;
    struct ts_acct *acct;
    size_t naccounts;
    const char *const *accounts;
    int sign_json; /* the switch: 1 = HMAC over the JSON text */
};

static const struct ts_test *cat_find(long id)
{
    for (size_t i = 0; i < TS_NCAT; i++)
        if (ts_catalogue[i].id == id)
            return &ts_catalogue[i];
    return NULL;
}

static const char *const ts_types[] = {"ESTJ", "INFP", "ENTP", "ISFJ", "INTJ", "ESFP"};

/* A finished score for a taken test of `test`. */
static void score_of(const struct ts_test *t, uint64_t h, char *out, size_t n)
{
    if (t && t->personality)
        snprintf(out, n, "%s", ts_types[h % 6]);
    else
        snprintf(out, n, "%lu.%s", (unsigned long)(30 + h % 71), (h >> 8) % 2 ? "5" : "0");
}

static void token_of(uint64_t h, char *out, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i;
    for (i = 0; i + 1 < n && i < 22; i++) {
        out[i] = a[h & 63];
        h = sb_mix64(h + i);
    }
    out[i] = '\0';
}

static int gen_account(struct ts_acct *a, uint64_t seed, const char *name, long reports)
{
    long extra = reports / 40;
    if (extra > 200)
        extra = 200;
    if (extra < 0)
        extra = 0;
    a->n = 2 + (size_t)extra;
    a->s = calloc(a->n, sizeof *a->s);
    if (!a->s)
        return -1;
    /* The seed's session 9236 and 9276, as documented. */
    struct ts_session *s = &a->s[0];
    s->id = 9236;
    s->quantity = 16;
    snprintf(s->expires_at, sizeof s->expires_at, "2015-06-30T12:23:29.000Z");
    s->bundle = 108;
    s->ntests = 4;
    s->tests[0] = 21, s->tests[1] = 14, s->tests[2] = 3, s->tests[3] = 45;
    snprintf(s->token, sizeof s->token, "SYn54JcpC_baf8jCq8BJKw");
    s->ntaken = 3;
    s->taken[0] = (struct ts_taken){3187, 21, 1, "78.0"};
    s->taken[1] = (struct ts_taken){3188, 3, 1, "ESTJ"};
    s->taken[2] = (struct ts_taken){3189, 14, 0, ""};
    s = &a->s[1];
    s->id = 9276;
    s->quantity = 1;
    snprintf(s->expires_at, sizeof s->expires_at, "2015-07-10T11:13:02.000Z");
    s->ntests = 1;
    s->tests[0] = 12;
    snprintf(s->token, sizeof s->token, "e8vBdsDzEBkVpXLZLMYM3A");
    uint64_t acct_h = sb_hash3(seed, sb_str_hash("testello"), sb_str_hash(name));
    for (size_t k = 2; k < a->n; k++) {
        s = &a->s[k];
        uint64_t h = sb_hash3(acct_h, k, 1);
        s->id = 20000 + (long)k * 7;
        s->quantity = 1 + (int)(h % 10);
        snprintf(s->expires_at, sizeof s->expires_at, "2031-%02d-%02dT%02d:00:00.000Z",
                 1 + (int)((h >> 8) % 12), 1 + (int)((h >> 16) % 28), (int)((h >> 24) % 24));
        s->bundle = (h >> 32) % 3 == 0 ? 100 + (long)(h % 50) : 0;
        s->ntests = 1 + (int)((h >> 36) % 3);
        for (int j = 0; j < s->ntests; j++)
            s->tests[j] = ts_catalogue[(h >> (40 + 4 * j)) % TS_NCAT].id;
        token_of(sb_hash3(acct_h, k, 2), s->token, sizeof s->token);
        s->ntaken = (int)(sb_hash3(acct_h, k, 3) % (TS_MAX_TAKEN + 1));
        for (int j = 0; j < s->ntaken; j++) {
            uint64_t g = sb_hash3(acct_h, k, 10 + (uint64_t)j);
            struct ts_taken *t = &s->taken[j];
            t->id = 50000 + (long)k * 10 + j;
            t->test_id = s->tests[g % (uint64_t)s->ntests];
            t->done = g % 10 < 7;
            if (t->done)
                score_of(cat_find(t->test_id), g >> 8, t->score, sizeof t->score);
        }
    }
    return 0;
}

/* ---- signatures ------------------------------------------------------------ */

/* Decodes %XX and '+' of a form value. */
static void form_decode(const char *s, size_t n, struct buf *out)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
                   isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            c = (char)strtol(hex, NULL, 16);
            i += 2;
        }
        if (buf_append(out, &c, 1, NULL) != 0)
            return;
    }
}

/* signed_request of a request: the query parameter, or the form field of a
 * body. Returns the text in out (empty when absent). */
static void signed_request_of(const struct sb_params *q, const char *body, struct buf *out)
{
    const char *v = sb_param(q, "signed_request");
    if (v) {
        if (buf_append(out, v, strlen(v), NULL) != 0)
            buf_reset(out);
        return;
    }
    for (const char *p = body; p && *p;) {
        size_t n = strcspn(p, "&");
        if (n > 15 && strncmp(p, "signed_request=", 15) == 0) {
            form_decode(p + 15, n - 15, out);
            return;
        }
        p += n;
        if (*p == '&')
            p++;
    }
}

/* The payload's company_id -> account index, or -1. */
static int company_account(const char *payload, size_t len, size_t naccounts)
{
    json_object *o = NULL, *v;
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return -1;
    o = json_tokener_parse_ex(tok, payload, (int)len);
    json_tokener_free(tok);
    long id = -1;
    if (o && json_object_object_get_ex(o, "company_id", &v)) {
        if (json_object_is_type(v, json_type_int))
            id = (long)json_object_get_int64(v);
        else if (json_object_is_type(v, json_type_string) && *json_object_get_string(v))
            id = strtol(json_object_get_string(v), NULL, 10);
    }
    json_object_put(o);
    return id >= 1 && (size_t)id <= naccounts ? (int)id - 1 : -1;
}

/* Checks signed_request; 0 and the account, or -1 with why. */
static int verify(const char *sr, const char *const *accounts, size_t naccounts, int sign_json,
                  int *account, char *why, size_t n)
{
    struct buf sig, payload, hex;
    buf_init(&sig, 4096);
    buf_init(&payload, 65536);
    buf_init(&hex, 0);
    struct ss_err e = {0};
    int rc = -1;
    const char *dot = strchr(sr, '.');
    unsigned char mac[SIGN_SHA256_LEN];
    if (!*sr) {
        snprintf(why, n, "signed_request is missing");
        goto out;
    }
    if (!dot || sign_base64_decode(&sig, sr, (size_t)(dot - sr), &e) != 0 ||
        sign_base64_decode(&payload, dot + 1, strlen(dot + 1), &e) != 0 || !payload.data) {
        snprintf(why, n, "signed_request is not signature.payload in base64");
        goto out;
    }
    *account = company_account(payload.data, payload.len, naccounts);
    if (*account < 0) {
        snprintf(why, n, "unknown company_id");
        goto out;
    }
    char secret[256];
    snprintf(secret, sizeof secret, "%s%s", SANDBOX_KEY_PREFIX, accounts[*account]);
    const char *msg = sign_json ? payload.data : dot + 1;
    size_t mlen = sign_json ? payload.len : strlen(dot + 1);
    if (sign_hmac_sha256(secret, strlen(secret), msg, mlen, mac, &e) != 0 ||
        sign_hex(&hex, mac, sizeof mac, &e) != 0) {
        snprintf(why, n, "internal error");
        goto out;
    }
    if (!sign_ct_equal(sig.data, sig.len, hex.data, hex.len) &&
        !sign_ct_equal(sig.data, sig.len, mac, sizeof mac)) {
        snprintf(why, n, "invalid signature");
        goto out;
    }
    rc = 0;
out:
    buf_free(&sig);
    buf_free(&payload);
    buf_free(&hex);
    return rc;
}

/* The account named by the payload (the signature is checked in handle(),
 * which answers a bad one with {"errors": [...]}); the first account's
 * budget when none is named. */
static int ts_auth(const struct sb_auth_req *r)
{
    struct buf sr, payload;
    buf_init(&sr, 65536);
    buf_init(&payload, 65536);
    int ai = -1;
    signed_request_of(&r->query, r->body, &sr);
    const char *dot = sr.data ? strchr(sr.data, '.') : NULL;
    struct ss_err e = {0};
    if (dot && sign_base64_decode(&payload, dot + 1, strlen(dot + 1), &e) == 0 && payload.data)
        ai = company_account(payload.data, payload.len, r->naccounts);
    buf_free(&sr);
    buf_free(&payload);
    /* No company named: still answered by handle(), with the reason. */
    return ai >= 0 || r->naccounts == 0 ? ai : 0;
}

/* ---- responses ------------------------------------------------------------- */

static void w_test(struct jsonw *w, const struct ts_test *t)
{
    jw_open(w, '{');
    jw_kint(w, "id", t->id);
    jw_key(w, "name");
    jw_open(w, '{');
    jw_kstr(w, "en", t->en);
    jw_kstr(w, "ar", t->ar);
    jw_close(w, '}');
    jw_kint(w, "duration", t->duration);
    jw_kraw(w, "pass_percentage", t->pass);
    jw_kraw(w, "languages", t->languages);
    jw_close(w, '}');
}

static void w_session(struct jsonw *w, const struct ts_session *s, int with_taken)
{
    jw_open(w, '{');
    jw_kint(w, "id", s->id);
    jw_kint(w, "quantity", s->quantity);
    jw_kstr(w, "expires_at", s->expires_at);
    if (s->bundle)
        jw_kint(w, "test_bundle_id", s->bundle);
    else
        jw_knull(w, "test_bundle_id");
    jw_krawf(w, "link", "\"http://testello.com/take_test/%s\"", s->token);
    jw_key(w, "test_ids");
    jw_open(w, '[');
    for (int j = 0; j < s->ntests; j++)
        jw_int(w, s->tests[j]);
    jw_close(w, ']');
    if (with_taken) {
        jw_key(w, "taken_tests");
        jw_open(w, '[');
        for (int j = 0; j < s->ntaken; j++) {
            const struct ts_taken *t = &s->taken[j];
            jw_open(w, '{');
            jw_kint(w, "id", t->id);
            jw_kstr(w, "score", t->done ? t->score : "");
            jw_kbool(w, "done", t->done);
            jw_krawf(w, "link", "\"http://testello.com/start_test/%s%ld\"", s->token, t->id);
            jw_kint(w, "test_id", t->test_id);
            jw_close(w, '}');
        }
        jw_close(w, ']');
    }
    jw_close(w, '}');
}

static int ts_handle(const struct sb_req *req, struct sb_resp *resp)
{
    struct ts_state *st = req->state;
    struct buf sr;
    buf_init(&sr, 65536);
    char why[128];
    int ai = -1;
    signed_request_of(&req->query, req->body, &sr);
    pthread_mutex_lock(&st->mu);
    int sign_json = st->sign_json;
    pthread_mutex_unlock(&st->mu);
    int ok = verify(sr.data ? sr.data : "", st->accounts, st->naccounts, sign_json, &ai, why,
                    sizeof why) == 0;
    buf_free(&sr);
    if (!ok || ai != req->account_index) {
        sb_resp_error(resp, 401, ok ? "company_id does not match" : why);
        return 0;
    }
    if (strcmp(req->method, "GET") != 0) {
        sb_resp_error(resp, 405, "Method Not Allowed");
        snprintf(resp->allow, sizeof resp->allow, "GET");
        return 0;
    }
    struct jsonw w;
    jw_init(&w, &resp->body);
    const struct ts_acct *a = &st->acct[ai];
    long sid = -1;
    if (strcmp(req->path, "/tests") == 0) {
        jw_open(&w, '{');
        jw_key(&w, "data");
        jw_open(&w, '[');
        for (size_t i = 0; i < TS_NCAT; i++)
            w_test(&w, &ts_catalogue[i]);
        jw_close(&w, ']');
        jw_close(&w, '}');
    } else if (strcmp(req->path, "/sessions") == 0) {
        pthread_mutex_lock(&st->mu);
        jw_open(&w, '{');
        jw_key(&w, "data");
        jw_open(&w, '[');
        for (size_t i = 0; i < a->n; i++)
            if (!a->s[i].expired)
                w_session(&w, &a->s[i], 0);
        jw_close(&w, ']');
        jw_close(&w, '}');
        pthread_mutex_unlock(&st->mu);
    } else if (sscanf(req->path, "/sessions/%ld", &sid) == 1 && sid >= 0) {
        pthread_mutex_lock(&st->mu);
        const struct ts_session *s = NULL;
        for (size_t i = 0; i < a->n && !s; i++)
            if (a->s[i].id == sid && !a->s[i].expired)
                s = &a->s[i];
        if (s) {
            jw_open(&w, '{');
            jw_key(&w, "data");
            jw_open(&w, '[');
            w_session(&w, s, 1);
            jw_close(&w, ']');
            jw_close(&w, '}');
        }
        pthread_mutex_unlock(&st->mu);
        if (!s) {
            sb_resp_error(resp, 404, "Session not found");
            return 0;
        }
    } else {
        sb_resp_error(resp, 404, "Not Found");
        return 0;
    }
    if (w.failed)
        return -1;
    resp->status = 200;
    resp->content_type = "application/json; charset=utf-8";
    return 0;
}

/* ---- admin -------------------------------------------------------------------- */

static int admin_expected(const struct ts_acct *a, struct jsonw *w)
{
    jw_open(w, '{');
    static const char *const keys[] = {"ids", "done", "not_done", "expired_not_done"};
    for (int k = 0; k < 4; k++) {
        jw_key(w, keys[k]);
        jw_open(w, '[');
        for (size_t i = 0; i < a->n; i++) {
            const struct ts_session *s = &a->s[i];
            for (int j = 0; j < s->ntaken; j++) {
                const struct ts_taken *t = &s->taken[j];
                int in = k == 0   ? !s->expired
                         : k == 1 ? !s->expired && t->done
                         : k == 2 ? !s->expired && !t->done
                                  : s->expired && !t->done;
                if (in) {
                    char id[32];
                    snprintf(id, sizeof id, "%ld", t->id);
                    jw_str(w, id);
                }
            }
        }
        jw_close(w, ']');
    }
    jw_key(w, "sessions");
    jw_open(w, '[');
    for (size_t i = 0; i < a->n; i++)
        if (!a->s[i].expired)
            jw_int(w, a->s[i].id);
    jw_close(w, ']');
    jw_close(w, '}');
    return 0;
}

/* Finishes taken test `id` (or the first one not done of an active session). */
static int admin_finish(struct ts_acct *a, const struct sb_admin_req *req, struct jsonw *w,
                        struct sb_resp *resp)
{
    const char *idp = sb_param(&req->query, "id");
    long id = idp ? strtol(idp, NULL, 10) : -1;
    for (size_t i = 0; i < a->n; i++) {
        struct ts_session *s = &a->s[i];
        for (int j = 0; j < s->ntaken; j++) {
            struct ts_taken *t = &s->taken[j];
            if (s->expired || t->done || (id >= 0 && t->id != id))
                continue;
            t->done = 1;
            score_of(cat_find(t->test_id), (uint64_t)t->id * 2654435761u, t->score,
                     sizeof t->score);
            jw_open(w, '{');
            jw_key(w, "finished");
            jw_open(w, '[');
            jw_open(w, '{');
            jw_kint(w, "id", t->id);
            jw_kint(w, "session", s->id);
            jw_kint(w, "test_id", t->test_id);
            jw_kstr(w, "score", t->score);
            jw_close(w, '}');
            jw_close(w, ']');
            jw_close(w, '}');
            return 0;
        }
    }
    sb_resp_error(resp, 404, "no such taken test not done in an active session");
    return 1;
}

/* Expires session `session` (or the first active one with a test not done). */
static int admin_expire(struct ts_acct *a, const struct sb_admin_req *req, struct jsonw *w,
                        struct sb_resp *resp)
{
    const char *sp = sb_param(&req->query, "session");
    long id = sp ? strtol(sp, NULL, 10) : -1;
    for (size_t i = 0; i < a->n; i++) {
        struct ts_session *s = &a->s[i];
        int open = 0;
        for (int j = 0; j < s->ntaken; j++)
            open |= !s->taken[j].done;
        if (s->expired || (id >= 0 ? s->id != id : !open))
            continue;
        s->expired = 1;
        jw_open(w, '{');
        jw_kint(w, "expired", s->id);
        jw_key(w, "not_done");
        jw_open(w, '[');
        for (int j = 0; j < s->ntaken; j++)
            if (!s->taken[j].done)
                jw_int(w, s->taken[j].id);
        jw_close(w, ']');
        jw_close(w, '}');
        return 0;
    }
    sb_resp_error(resp, 404, "no such active session");
    return 1;
}

static int ts_admin(void *state, const struct sb_admin_req *req, struct sb_resp *resp)
{
    struct ts_state *st = state;
    struct ts_acct *a = &st->acct[req->account_index];
    struct jsonw w;
    jw_init(&w, &resp->body);
    int done = 0;
    pthread_mutex_lock(&st->mu);
    if (strcmp(req->what, "expected") == 0) {
        admin_expected(a, &w);
    } else if (strcmp(req->what, "finish") == 0) {
        done = admin_finish(a, req, &w, resp);
    } else if (strcmp(req->what, "expire") == 0) {
        done = admin_expire(a, req, &w, resp);
    } else if (strcmp(req->what, "signing") == 0) {
        const char *m = sb_param(&req->query, "mode");
        if (m && strcmp(m, "payload_json") == 0)
            st->sign_json = 1;
        else if (m && strcmp(m, "payload_base64") == 0)
            st->sign_json = 0;
        else if (m) {
            sb_resp_error(resp, 400, "mode is payload_base64 or payload_json");
            done = 1;
        }
        if (!done) {
            jw_open(&w, '{');
            jw_kstr(&w, "signing", st->sign_json ? "payload_json" : "payload_base64");
            jw_close(&w, '}');
        }
    } else {
        sb_resp_error(resp, 404, "Not Found");
        done = 1;
    }
    pthread_mutex_unlock(&st->mu);
    if (done)
        return 0;
    if (w.failed)
        return -1;
    resp->status = 200;
    resp->content_type = "application/json; charset=utf-8";
    return 0;
}

/* ---- lifecycle -------------------------------------------------------------- */

static void ts_free(void *state)
{
    struct ts_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->naccounts; i++)
        free(st->acct[i].s);
    free(st->acct);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static int ts_init(const struct sb_init *in, void **state, struct ss_err *err)
{
    struct ts_state *st = calloc(1, sizeof *st);
    if (!st || pthread_mutex_init(&st->mu, NULL) != 0) {
        free(st);
        return err_set(err, SS_ENOMEM, "out of memory");
    }
    st->naccounts = in->naccounts;
    st->accounts = in->accounts;
    st->acct = calloc(in->naccounts ? in->naccounts : 1, sizeof *st->acct);
    if (!st->acct) {
        ts_free(st);
        return err_set(err, SS_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < in->naccounts; i++)
        if (gen_account(&st->acct[i], in->seed, in->accounts[i], in->reports) != 0) {
            ts_free(st);
            return err_set(err, SS_ENOMEM, "out of memory");
        }
    *state = st;
    return 0;
}

const struct sb_vendor sb_testello_vendor = {
    .name = "testello",
    .version_prefix = "/testello/api/v1",
    .help = "  /testello/api/v1    Testello: GET tests, sessions (active only), sessions/:id;\n"
            "                      signed_request with company_id = account's position (1..),\n"
            "                      secret sandbox-<account>; bad signatures 401 {\"errors\"}\n"
            "  /_sandbox/testello/expected?account=A    taken tests a full sync must load\n"
            "  /_sandbox/testello/finish?account=A[&id=T]    finish a taken test now\n"
            "  /_sandbox/testello/expire?account=A[&session=S]    expire a session now\n"
            "  /_sandbox/testello/signing?account=A&mode=payload_base64|payload_json\n"
            "                      which reading of the signature is verified\n",
    .limits = {{5, 1000000LL}, {2000, 1200000000LL}},
    .nlimits = 2,
    .auth = ts_auth,
    .auth_challenge = NULL,
    .init = ts_init,
    .free_state = ts_free,
    .handle = ts_handle,
    .admin = ts_admin,
};

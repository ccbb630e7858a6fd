/* sb_etest: the DynEd eTest API as the sandbox serves it, to OUR contract
 * (docs/vendors/etest.md): the vendor publishes only a changelog
 * (seeds/001). Under /etest/v1:
 *   GET /candidates   the organisation's candidates (uic filter with its
 *                     sub-organisations), page/limit or offset/limit, the PT
 *                     date filter pt_date_from/pt_date_to (dates inclusive or
 *                     timestamps), each with the PT stored on it
 *   GET /ct/results   certification test results with correct / incorrect /
 *                     answered totals, same paging and uic filter
 * in {"status","message","data":[...],"total","page","limit"} envelopes.
 * Auth: "Authorization: Bearer <key>", "X-Api-Key: <key>" or ?api_key=<key>
 * (the client's auth options choose one).
 *
 * Data, deterministic from (seed, account): an organisation tree U100 >
 * U110 > U111, U100 > U120 > U121; candidates with hide flags "0"/"1", PT
 * levels with plus levels and both Pre A1 spellings ("Pre-A1" before
 * v1.5.5, 2022-04-26), CT results on both sides of the pass-mark changes
 * (and four fixed ones: A2 75 in 2021 and 2023, Pre A1 65 before and after
 * 2022-07-20), bad records with --fault-bad-record.
 *
 * Admin: expected (what a full sync loads), move (a candidate changes
 * organisation), hide, rename (a parameter, path or field gets another
 * name: the client must follow through its config, and the old name is
 * refused with 400).
 *
 * Threading: requests take a read lock; move, hide and rename the write lock. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/jsonw.h"
#include "../core/log.h"
#include "../core/timeparse.h"
#include "sb_data.h"
#include "sb_vendor.h"

static const char *const json_ctype = "application/json; charset=utf-8";

/* ---- organisations and levels ------------------------------------------------ */

static const struct {
    const char *code;
    int parent; /* -1: root */
} uics[] = {
    {"U100", -1}, {"U110", 0}, {"U111", 1}, {"U120", 0}, {"U121", 3},
};
#define N_UICS ((int)(sizeof uics / sizeof uics[0]))

static int uic_index(const char *code)
{
    for (int i = 0; i < N_UICS; i++)
        if (strcmp(uics[i].code, code) == 0)
            return i;
    return -1;
}

/* u is `filter` or below it (ETAPI-25: search inherits). */
static int uic_under(int u, int filter)
{
    for (; u >= 0; u = uics[u].parent)
        if (u == filter)
            return 1;
    return 0;
}

static const char *const levels[] = {"Pre A1", "A1",  "A1+", "A2",  "A2+",
                                     "B1",     "B1+", "B2",  "B2+", "C1"};
#define N_LEVELS   10
#define LV_PRE_A1  0
#define LV_A2      3
#define LV_B1_PLUS 6

static const char *const given[] = {"Ayu",  "Budi", "Chen",  "Dewi", "Eko",  "Fitri",
                                    "Gita", "Hadi", "Intan", "Joko", "Kiki", "Lina"};
static const char *const family[] = {"Santoso", "Wijaya", "Lim",    "Pratama", "Halim",
                                     "Nguyen",  "Tanaka", "Kusuma", "Ong",     "Putri"};

/* ---- data ------------------------------------------------------------------------ */

struct et_cand {
    int64_t pt_date; /* us, TS_NULL when no PT */
    uint8_t uic, hide, pt_level, bad;
};

struct et_ct {
    int64_t date;
    uint32_t cand;
    uint8_t uic, level, score, answered, bad;
};

struct et_acct {
    uint64_t key;
    struct et_cand *c;
    size_t nc;
    struct et_ct *t;
    size_t nt;
};

/* Names a client must use: default -> current (rename). */
enum {
    N_PATH_CANDIDATES,
    N_PATH_CT,
    N_P_UIC,
    N_P_PAGE,
    N_P_LIMIT,
    N_P_OFFSET,
    N_P_FROM,
    N_P_TO,
    N_F_DATA,
    N_F_TOTAL,
    N_F_ID,
    N_F_EMAIL,
    N_F_FIRST,
    N_F_LAST,
    N_F_USERNAME,
    N_F_UIC,
    N_F_HIDE,
    N_F_PT_TOKEN,
    N_F_PT_LEVEL,
    N_F_PT_DATE,
    N_F_PT_STATUS,
    N_F_TOKEN,
    N_F_CANDIDATE_ID,
    N_F_LEVEL,
    N_F_SCORE,
    N_F_STATUS,
    N_F_TEST_DATE,
    N_F_CORRECT,
    N_F_INCORRECT,
    N_F_ANSWERS,
    N_NAMES
};
static const char *const default_names[N_NAMES] = {
    "/candidates",
    "/ct/results",
    "uic",
    "page",
    "limit",
    "offset",
    "pt_date_from",
    "pt_date_to",
    "data",
    "total",
    "id",
    "email",
    "first_name",
    "last_name",
    "username",
    "uic",
    "hide",
    "pt_token",
    "pt_level",
    "pt_date",
    "pt_status",
    "token",
    "candidate_id",
    "level",
    "score",
    "status",
    "test_date",
    "total_correct",
    "total_in_correct",
    "total_answers",
};
#define NAME_MAX_LEN 64
#define MAX_LIMIT    100 /* the API's page-size limit (v1.3.3) */

struct et_state {
    struct et_acct *acct;
    size_t naccounts;
    char names[N_NAMES][NAME_MAX_LEN];
    pthread_rwlock_t lock;
};

static const int64_t DAY_US = 86400LL * 1000000LL;

static int64_t civil(int y, int m, int d, int h, int mi)
{
    return ts_from_civil(y, m, d, h, mi, 0);
}

static int bad_draw(uint64_t h, double p)
{
    return p > 0 && (double)(h % 1000000) < p * 1000000.0;
}

static int acct_generate(uint64_t seed, const char *name, long reports, double p_bad,
                         struct et_acct *a, struct ss_err *err)
{
    a->key = sb_hash3(seed, sb_str_hash("etest"), sb_str_hash(name));
    long total = reports < 20 ? 20 : reports;
    a->nc = (size_t)(total / 2);
    a->c = calloc(a->nc, sizeof *a->c);
    if (!a->c)
        return err_set(err, SS_ENOMEM, "etest/%s: out of memory", name);
    const int64_t t0 = civil(2020, 7, 1, 0, 0), span = civil(2024, 6, 30, 0, 0) - t0;
    size_t npt = 0;
    for (size_t i = 0; i < a->nc; i++) {
        struct et_cand *c = &a->c[i];
        uint64_t h = sb_hash3(a->key, 1, i);
        c->uic = (uint8_t)(h % N_UICS);
        c->hide = (h >> 8) % 10 == 0;
        c->pt_level = (uint8_t)((h >> 16) % N_LEVELS);
        c->pt_date = (h >> 24) % 100 < 85
                         ? t0 + (int64_t)((h >> 32) % (uint64_t)(span / 1000000)) * 1000000
                         : TS_NULL;
        c->bad = c->pt_date != TS_NULL && bad_draw(sb_hash3(a->key, 2, i), p_bad);
    }
    /* Fixed cases: both Pre A1 spellings, a plus level, a hidden
     * candidate, one in U111 to move. */
    static const struct {
        int y, m, d, level, uic, hide;
    } fixed[] = {
        {2021, 5, 5, LV_PRE_A1, 2, 0},  /* "Pre-A1" (before v1.5.5) */
        {2023, 1, 10, LV_PRE_A1, 1, 0}, /* "Pre A1" */
        {2022, 6, 1, LV_B1_PLUS, 3, 1}, /* hidden, plus level */
        {2021, 9, 30, LV_A2, 2, 0},     /* in U111: the one `move` moves */
    };
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0] && k < a->nc; k++) {
        struct et_cand *c = &a->c[k];
        c->pt_date = civil(fixed[k].y, fixed[k].m, fixed[k].d, 9, 30);
        c->pt_level = (uint8_t)fixed[k].level;
        c->uic = (uint8_t)fixed[k].uic;
        c->hide = (uint8_t)fixed[k].hide;
        c->bad = 0;
    }
    for (size_t i = 0; i < a->nc; i++)
        npt += a->c[i].pt_date != TS_NULL;
    a->nt = (size_t)total > npt + 10 ? (size_t)total - npt : 10;
    a->t = calloc(a->nt, sizeof *a->t);
    if (!a->t)
        return err_set(err, SS_ENOMEM, "etest/%s: out of memory", name);
    for (size_t i = 0; i < a->nt; i++) {
        struct et_ct *t = &a->t[i];
        uint64_t h = sb_hash3(a->key, 3, i);
        t->cand = (uint32_t)(h % a->nc);
        t->uic = a->c[t->cand].uic;
        t->level = (uint8_t)((h >> 20) % N_LEVELS);
        t->score = (uint8_t)(40 + (h >> 28) % 61);
        t->answered = (uint8_t)(40 + (h >> 36) % 11);
        t->date = t0 + (int64_t)((h >> 40) % (uint64_t)(span / 1000000)) * 1000000;
        t->bad = bad_draw(sb_hash3(a->key, 4, i), p_bad);
    }
    /* The pass-mark changes: 80 -> 70 on 2022-01-20 (v1.5.4), Pre A1 60
     * from 2022-07-20 (v1.6.3). */
    static const struct {
        int y, m, d, level, score;
    } ct_fixed[] = {
        {2021, 6, 15, LV_A2, 75},    /* fails: 80 */
        {2023, 3, 10, LV_A2, 75},    /* passes: 70 */
        {2022, 3, 1, LV_PRE_A1, 65}, /* fails: 70 */
        {2022, 9, 1, LV_PRE_A1, 65}, /* passes: 60 */
    };
    for (size_t k = 0; k < sizeof ct_fixed / sizeof ct_fixed[0] && k < a->nt; k++) {
        struct et_ct *t = &a->t[k];
        t->date = civil(ct_fixed[k].y, ct_fixed[k].m, ct_fixed[k].d, 10, 0);
        t->level = (uint8_t)ct_fixed[k].level;
        t->score = (uint8_t)ct_fixed[k].score;
        t->bad = 0;
    }
    return 0;
}

/* ---- rendering ----------------------------------------------------------------------- */

static void put_time(struct jsonw *w, const char *key, int64_t us)
{
    struct ts_parts p;
    char s[40];
    if (us == TS_NULL) {
        jw_knull(w, key);
        return;
    }
    ts_split(us, &p);
    snprintf(s, sizeof s, "%04lld-%02d-%02d %02d:%02d:%02d", (long long)p.year, p.month, p.day,
             p.hour, p.minute, p.second);
    jw_kstr(w, key, s);
}

static void cand_id(size_t i, char *out, size_t n)
{
    snprintf(out, n, "%zu", 1000 + i);
}

static void token(const struct et_acct *a, int kind, size_t i, char *out, size_t n)
{
    uint64_t h = sb_hash3(a->key, 0x70 + (uint64_t)kind, i);
    snprintf(out, n, "%s%06llX%zu", kind ? "CT" : "PT", (unsigned long long)(h & 0xffffff), i);
}

/* The PT level as the API wrote it on that day: "Pre-A1" until v1.5.5. */
static const char *pt_level_text(const struct et_cand *c)
{
    if (c->pt_level == LV_PRE_A1 && c->pt_date < civil(2022, 4, 26, 0, 0))
        return "Pre-A1";
    return levels[c->pt_level];
}

static void put_person(struct jsonw *w, const struct et_state *st, const struct et_acct *a,
                       size_t i)
{
    uint64_t h = sb_hash3(a->key, 5, i);
    const char *g = given[h % 12], *f = family[(h >> 8) % 10];
    char email[128], user[96];
    snprintf(user, sizeof user, "%c%s%zu", g[0] + 32 * (g[0] < 'a'), f, 1000 + i);
    for (char *p = user; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    snprintf(email, sizeof email, "%s@example.org", user);
    jw_kstr(w, st->names[N_F_EMAIL], email);
    jw_kstr(w, st->names[N_F_FIRST], g);
    jw_kstr(w, st->names[N_F_LAST], f);
    jw_kstr(w, st->names[N_F_USERNAME], user);
}

static void render_cand(struct jsonw *w, const struct et_state *st, const struct et_acct *a,
                        size_t i)
{
    const struct et_cand *c = &a->c[i];
    char tok[48];
    jw_open(w, '{');
    jw_kint(w, st->names[N_F_ID], (long long)(1000 + i)); /* a number here, text in CTs */
    put_person(w, st, a, i);
    jw_kstr(w, st->names[N_F_UIC], uics[c->uic].code);
    jw_kstr(w, st->names[N_F_HIDE], c->hide ? "1" : "0"); /* v1.4.6 */
    jw_kstr(w, "registered_from", i % 3 ? "etest" : "dashboard");
    if (c->pt_date != TS_NULL) {
        token(a, 0, i, tok, sizeof tok);
        jw_kstr(w, st->names[N_F_PT_TOKEN], tok);
        jw_kstr(w, st->names[N_F_PT_LEVEL], pt_level_text(c));
        if (c->bad)
            jw_kstr(w, st->names[N_F_PT_DATE], "31/13/2021 25:61");
        else
            put_time(w, st->names[N_F_PT_DATE], c->pt_date);
        jw_kstr(w, st->names[N_F_PT_STATUS], "complete");
    } else {
        jw_knull(w, st->names[N_F_PT_TOKEN]);
        jw_knull(w, st->names[N_F_PT_LEVEL]);
        jw_knull(w, st->names[N_F_PT_DATE]);
        jw_knull(w, st->names[N_F_PT_STATUS]);
    }
    jw_close(w, '}');
}

/* The vendor's own verdict, by the marks in force on the day. */
static int ct_passed(const struct et_ct *t)
{
    int mark = t->date < civil(2022, 1, 20, 0, 0) ? 80 : 70;
    if (t->level == LV_PRE_A1 && t->date >= civil(2022, 7, 20, 0, 0))
        mark = 60;
    return t->score >= mark;
}

static void render_ct(struct jsonw *w, const struct et_state *st, const struct et_acct *a, size_t i)
{
    const struct et_ct *t = &a->t[i];
    char tok[48], cid[24];
    token(a, 1, i, tok, sizeof tok);
    cand_id(t->cand, cid, sizeof cid);
    int correct = (t->score * t->answered + 50) / 100;
    jw_open(w, '{');
    jw_kstr(w, st->names[N_F_TOKEN], tok);
    jw_kstr(w, st->names[N_F_CANDIDATE_ID], cid);
    put_person(w, st, a, t->cand);
    jw_kstr(w, st->names[N_F_UIC], uics[t->uic].code);
    jw_kstr(w, st->names[N_F_LEVEL], levels[t->level]);
    if (t->bad)
        jw_kstr(w, st->names[N_F_SCORE], "seventy");
    else if (i % 2)
        jw_krawf(w, st->names[N_F_SCORE], "\"%d\"", t->score); /* text since v1.4.6 */
    else
        jw_kint(w, st->names[N_F_SCORE], t->score);
    jw_kstr(w, st->names[N_F_STATUS], ct_passed(t) ? "pass" : "fail");
    put_time(w, st->names[N_F_TEST_DATE], t->date);
    jw_kint(w, st->names[N_F_CORRECT], correct);
    jw_kint(w, st->names[N_F_INCORRECT], t->answered - correct);
    jw_kint(w, st->names[N_F_ANSWERS], t->answered);
    jw_close(w, '}');
}

static int finish(struct jsonw *w, struct sb_resp *resp)
{
    if (w->failed) {
        buf_reset(&resp->body);
        sb_resp_error(resp, 500, "The sandbox cannot build a response this large.");
        return 0;
    }
    resp->status = 200;
    resp->content_type = json_ctype;
    return 0;
}

/* ---- requests -------------------------------------------------------------------------- */

/* A request's filter and page. */
struct et_query {
    int uic; /* -1: none */
    long offset, limit, page;
    int64_t from, to; /* TS_NULL: open */
};

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    if (!s || !*s)
        return -1;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* A bound: a date (a `to` date covers its whole day) or a timestamp. */
static int parse_bound(const char *s, int upper, int64_t *out)
{
    struct ss_err e = {0};
    if (ts_parse(s, 0, out, &e) != 0)
        return -1;
    if (upper && strlen(s) == 10)
        *out += DAY_US - 1;
    return 0;
}

/* Reads the query; answers 400 and returns -1 when it is wrong, including
 * a default name that was renamed. */
static int read_query(const struct et_state *st, const struct sb_req *req, int dates,
                      struct et_query *q, struct sb_resp *resp)
{
    char msg[160];
    static const int params[] = {N_P_UIC, N_P_PAGE, N_P_LIMIT, N_P_OFFSET, N_P_FROM, N_P_TO};
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        int k = params[i];
        if (strcmp(st->names[k], default_names[k]) != 0 &&
            sb_param(&req->query, default_names[k])) {
            snprintf(msg, sizeof msg, "unknown parameter \"%s\"", default_names[k]);
            sb_resp_error(resp, 400, msg);
            return -1;
        }
    }
    memset(q, 0, sizeof *q);
    q->uic = -1;
    q->from = q->to = TS_NULL;
    const char *u = sb_param(&req->query, st->names[N_P_UIC]);
    const char *pg = sb_param(&req->query, st->names[N_P_PAGE]);
    const char *lm = sb_param(&req->query, st->names[N_P_LIMIT]);
    const char *of = sb_param(&req->query, st->names[N_P_OFFSET]);
    const char *fr = sb_param(&req->query, st->names[N_P_FROM]);
    const char *to = sb_param(&req->query, st->names[N_P_TO]);
    q->limit = 20;
    q->page = 1;
    if (u && (q->uic = uic_index(u)) < 0) {
        /* An organisation the key may not see (v1.4.7, ETAPI-34). */
        sb_resp_error(resp, 403, "organisation not found or not accessible");
        return -1;
    }
    if (lm && parse_long(lm, 1, MAX_LIMIT, &q->limit) != 0) {
        snprintf(msg, sizeof msg, "%s: 1 to %d", st->names[N_P_LIMIT], MAX_LIMIT);
        sb_resp_error(resp, 400, msg);
        return -1;
    }
    if (pg && parse_long(pg, 1, 100000000L, &q->page) != 0) {
        sb_resp_error(resp, 400, "page: a whole number from 1");
        return -1;
    }
    q->offset = (q->page - 1) * q->limit;
    if (of && parse_long(of, 0, 2000000000L, &q->offset) != 0) {
        sb_resp_error(resp, 400, "offset: a whole number from 0");
        return -1;
    }
    if ((fr || to) && !dates) {
        sb_resp_error(resp, 400, "no date filter on this list");
        return -1;
    }
    if ((fr && parse_bound(fr, 0, &q->from) != 0) || (to && parse_bound(to, 1, &q->to) != 0)) {
        sb_resp_error(resp, 400, "dates: YYYY-MM-DD or an ISO 8601 timestamp");
        return -1;
    }
    return 0;
}

static void open_envelope(struct jsonw *w, const struct et_state *st)
{
    jw_open(w, '{');
    jw_kstr(w, "status", "success");
    jw_kstr(w, "message", "OK");
    jw_key(w, st->names[N_F_DATA]);
    jw_open(w, '[');
}

static void close_envelope(struct jsonw *w, const struct et_state *st, const struct et_query *q,
                           long total)
{
    jw_close(w, ']');
    jw_kint(w, st->names[N_F_TOTAL], total);
    jw_kint(w, "page", q->offset / q->limit + 1);
    jw_kint(w, "limit", q->limit);
    jw_close(w, '}');
}

static int h_candidates(const struct et_state *st, const struct et_acct *a,
                        const struct sb_req *req, struct sb_resp *resp)
{
    struct et_query q;
    if (read_query(st, req, 1, &q, resp) != 0)
        return 0;
    struct jsonw w;
    jw_init(&w, &resp->body);
    open_envelope(&w, st);
    long total = 0;
    for (size_t i = 0; i < a->nc; i++) {
        const struct et_cand *c = &a->c[i];
        if (q.uic >= 0 && !uic_under(c->uic, q.uic))
            continue;
        if ((q.from != TS_NULL || q.to != TS_NULL) &&
            (c->pt_date == TS_NULL || (q.from != TS_NULL && c->pt_date < q.from) ||
             (q.to != TS_NULL && c->pt_date > q.to)))
            continue;
        if (total >= q.offset && total < q.offset + q.limit)
            render_cand(&w, st, a, i);
        total++;
    }
    close_envelope(&w, st, &q, total);
    return finish(&w, resp);
}

static int h_ct(const struct et_state *st, const struct et_acct *a, const struct sb_req *req,
                struct sb_resp *resp)
{
    struct et_query q;
    if (read_query(st, req, 0, &q, resp) != 0)
        return 0;
    struct jsonw w;
    jw_init(&w, &resp->body);
    open_envelope(&w, st);
    long total = 0;
    for (size_t i = 0; i < a->nt; i++) {
        if (q.uic >= 0 && !uic_under(a->t[i].uic, q.uic))
            continue;
        if (total >= q.offset && total < q.offset + q.limit)
            render_ct(&w, st, a, i);
        total++;
    }
    close_envelope(&w, st, &q, total);
    return finish(&w, resp);
}

static int et_handle(const struct sb_req *req, struct sb_resp *resp)
{
    struct et_state *st = req->state;
    pthread_rwlock_rdlock(&st->lock);
    const struct et_acct *a = &st->acct[req->account_index];
    int rc = 0, route = -1;
    if (strcmp(req->path, st->names[N_PATH_CANDIDATES]) == 0)
        route = 0;
    else if (strcmp(req->path, st->names[N_PATH_CT]) == 0)
        route = 1;
    if (route < 0) {
        sb_resp_error(resp, 404, "Not Found");
    } else if (strcmp(req->method, "GET") != 0) {
        snprintf(resp->allow, sizeof resp->allow, "GET");
        sb_resp_error(resp, 405, "Method Not Allowed");
    } else {
        rc = route == 0 ? h_candidates(st, a, req, resp) : h_ct(st, a, req, resp);
    }
    pthread_rwlock_unlock(&st->lock);
    return rc;
}

/* Bearer (the default), a bare key in X-Api-Key, or ?api_key=. */
static int et_auth(const struct sb_auth_req *r)
{
    int ai = sb_auth_bearer(r);
    if (ai < 0)
        ai = sb_account_by_key(r, sb_param(&r->header, "X-Api-Key"));
    if (ai < 0)
        ai = sb_account_by_key(r, sb_param(&r->query, "api_key"));
    return ai;
}

/* ---- admin ------------------------------------------------------------------------------- */

/* Result keys as a sync stores them: "pt/<token>", "ct/<token>". */
static int admin_expected(const struct et_state *st, const struct et_acct *a,
                          const struct sb_admin_req *req, struct sb_resp *resp)
{
    const char *u = sb_param(&req->query, "uic");
    int filter = u ? uic_index(u) : -1;
    if (u && filter < 0) {
        sb_resp_error(resp, 400, "unknown uic");
        return 0;
    }
    char tok[48], key[64];
    struct jsonw w;
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    long ncand = 0, hidden = 0, npt = 0, nct = 0, nbad = 0;
    for (int list = 0; list < 4; list++) {
        static const char *const names[] = {"ids", "pt_ids", "ct_ids", "bad_ids"};
        jw_key(&w, names[list]);
        jw_open(&w, '[');
        for (size_t i = 0; i < a->nc && list != 2; i++) {
            const struct et_cand *c = &a->c[i];
            if ((filter >= 0 && !uic_under(c->uic, filter)) || c->pt_date == TS_NULL ||
                (list == 3) != (c->bad != 0))
                continue;
            token(a, 0, i, tok, sizeof tok);
            snprintf(key, sizeof key, "pt/%s", tok);
            jw_str(&w, key);
        }
        for (size_t i = 0; i < a->nt && list != 1; i++) {
            const struct et_ct *t = &a->t[i];
            if ((filter >= 0 && !uic_under(t->uic, filter)) || (list == 3) != (t->bad != 0))
                continue;
            token(a, 1, i, tok, sizeof tok);
            snprintf(key, sizeof key, "ct/%s", tok);
            jw_str(&w, key);
        }
        jw_close(&w, ']');
    }
    for (size_t i = 0; i < a->nc; i++) {
        if (filter >= 0 && !uic_under(a->c[i].uic, filter))
            continue;
        ncand++;
        hidden += a->c[i].hide;
        npt += a->c[i].pt_date != TS_NULL && !a->c[i].bad;
        nbad += a->c[i].pt_date != TS_NULL && a->c[i].bad;
    }
    for (size_t i = 0; i < a->nt; i++) {
        if (filter >= 0 && !uic_under(a->t[i].uic, filter))
            continue;
        nct += !a->t[i].bad;
        nbad += a->t[i].bad;
    }
    jw_kint(&w, "candidates", ncand);
    jw_kint(&w, "hidden", hidden);
    jw_kint(&w, "pt", npt);
    jw_kint(&w, "ct", nct);
    jw_kint(&w, "bad", nbad);
    jw_close(&w, '}');
    return finish(&w, resp);
}

static long cand_arg(const struct et_acct *a, const struct sb_admin_req *req, long def)
{
    const char *s = sb_param(&req->query, "candidate");
    long id;
    if (!s)
        return def < (long)a->nc ? def : -1;
    if (parse_long(s, 1000, 1000 + (long)a->nc - 1, &id) != 0)
        return -1;
    return id - 1000;
}

/* The candidate (default: the fixed one in U111) moves to `to` (default
 * U120): ETAPI-46, ETAPI-55. Caller holds the write lock. */
static int admin_move(struct et_acct *a, const struct sb_admin_req *req, struct sb_resp *resp)
{
    long i = cand_arg(a, req, 3);
    const char *to = sb_param(&req->query, "to");
    int u = uic_index(to ? to : "U120");
    if (i < 0 || u < 0) {
        sb_resp_error(resp, 400, "candidate=ID (1000..) and to=UIC (U100, U110, U111, U120, U121)");
        return 0;
    }
    int from = a->c[i].uic;
    a->c[i].uic = (uint8_t)u;
    struct jsonw w;
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    jw_kint(&w, "candidate", 1000 + i);
    jw_kstr(&w, "from", uics[from].code);
    jw_kstr(&w, "to", uics[u].code);
    jw_close(&w, '}');
    return finish(&w, resp);
}

static int admin_hide(struct et_acct *a, const struct sb_admin_req *req, struct sb_resp *resp)
{
    long i = cand_arg(a, req, -1), v = 1;
    const char *vs = sb_param(&req->query, "value");
    if (i < 0 || (vs && parse_long(vs, 0, 1, &v) != 0)) {
        sb_resp_error(resp, 400, "candidate=ID and value=0|1");
        return 0;
    }
    a->c[i].hide = (uint8_t)v;
    struct jsonw w;
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    jw_kint(&w, "candidate", 1000 + i);
    jw_kint(&w, "hide", v);
    jw_close(&w, '}');
    return finish(&w, resp);
}

/* from=<default name>&to=<new name> (no `to`: back to the default). For
 * every account: the API changed, not one customer. */
static int admin_rename(struct et_state *st, const struct sb_admin_req *req, struct sb_resp *resp)
{
    const char *from = sb_param(&req->query, "from"), *to = sb_param(&req->query, "to");
    int k = -1, n = 0;
    for (int i = 0; from && i < N_NAMES; i++)
        if (strcmp(default_names[i], from) == 0) {
            if (k < 0)
                k = i;
            n++;
        }
    /* "uic" is both a parameter and a field: kind=field picks the field. */
    const char *kind = sb_param(&req->query, "kind");
    if (n > 1 && kind && strcmp(kind, "field") == 0)
        k = N_F_UIC;
    if (k < 0 || (to && (!*to || strlen(to) >= NAME_MAX_LEN))) {
        sb_resp_error(resp, 400, "from=<a default name> [to=<new name>] [kind=field]");
        return 0;
    }
    snprintf(st->names[k], NAME_MAX_LEN, "%s", to ? to : default_names[k]);
    struct jsonw w;
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    jw_kstr(&w, "from", default_names[k]);
    jw_kstr(&w, "to", st->names[k]);
    jw_close(&w, '}');
    return finish(&w, resp);
}

static int et_admin(void *state, const struct sb_admin_req *req, struct sb_resp *resp)
{
    struct et_state *st = state;
    struct et_acct *a = &st->acct[req->account_index];
    int rc;
    if (strcmp(req->what, "expected") == 0) {
        pthread_rwlock_rdlock(&st->lock);
        rc = admin_expected(st, a, req, resp);
    } else if (strcmp(req->what, "move") == 0) {
        pthread_rwlock_wrlock(&st->lock);
        rc = admin_move(a, req, resp);
    } else if (strcmp(req->what, "hide") == 0) {
        pthread_rwlock_wrlock(&st->lock);
        rc = admin_hide(a, req, resp);
    } else if (strcmp(req->what, "rename") == 0) {
        pthread_rwlock_wrlock(&st->lock);
        rc = admin_rename(st, req, resp);
    } else {
        sb_resp_error(resp, 404, "Not Found");
        return 0;
    }
    pthread_rwlock_unlock(&st->lock);
    return rc;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static void et_free(void *state)
{
    struct et_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->naccounts; i++) {
        free(st->acct[i].c);
        free(st->acct[i].t);
    }
    pthread_rwlock_destroy(&st->lock);
    free(st->acct);
    free(st);
}

static int et_init(const struct sb_init *in, void **state, struct ss_err *err)
{
    if (in->reports < 0 || in->reports > 5000000L)
        return err_set(err, SS_EINVAL, "etest: reports must be 0..5000000, not %ld", in->reports);
    struct et_state *st = calloc(1, sizeof *st);
    if (!st || !(st->acct = calloc(in->naccounts ? in->naccounts : 1, sizeof *st->acct))) {
        free(st);
        return err_set(err, SS_ENOMEM, "out of memory");
    }
    if (pthread_rwlock_init(&st->lock, NULL) != 0) {
        free(st->acct);
        free(st);
        return err_set(err, SS_ENOMEM, "cannot create a lock");
    }
    st->naccounts = in->naccounts;
    for (int k = 0; k < N_NAMES; k++)
        snprintf(st->names[k], NAME_MAX_LEN, "%s", default_names[k]);
    for (size_t i = 0; i < in->naccounts; i++) {
        if (acct_generate(in->seed, in->accounts[i], in->reports, in->p_bad_record, &st->acct[i],
                          err) != 0) {
            et_free(st);
            return -1;
        }
        if (!in->quiet)
            log_info("sandbox: etest/%s: %zu candidates, %zu CT results", in->accounts[i],
                     st->acct[i].nc, st->acct[i].nt);
    }
    *state = st;
    return 0;
}

const struct sb_vendor sb_etest_vendor = {
    .name = "etest",
    .version_prefix = "/etest/v1",
    .help = "  /etest/v1           DynEd eTest (our contract, docs/vendors/etest.md):\n"
            "                      GET /candidates (uic, page/offset, limit <= 100,\n"
            "                      pt_date_from/pt_date_to), GET /ct/results\n"
            "  /_sandbox/etest/expected?account=A[&uic=U]   what a full sync must load\n"
            "  /_sandbox/etest/move?account=A[&candidate=ID][&to=UIC]   a candidate moves\n"
            "  /_sandbox/etest/hide?account=A&candidate=ID[&value=0|1]\n"
            "  /_sandbox/etest/rename?account=A&from=NAME[&to=NEW][&kind=field]\n"
            "                      a parameter, path or field is renamed (old name: 400)\n",
    /* Not published; the same as the other vendors' documented limits. */
    .limits = {{5, 1000000LL}, {2000, 1200LL * 1000000LL}},
    .nlimits = 2,
    .auth = et_auth,
    .auth_challenge = "Bearer",
    .init = et_init,
    .free_state = et_free,
    .handle = et_handle,
    .admin = et_admin,
};

/* sb_cepa: CEPA Test API v2 as the sandbox serves it (seeds/000), under
 * /cepa/api/v2: GetTests, GetCandidates (limit, offset, sort ASC/DESC,
 * reports), GetCandidateByEmail, GetTestByToken, GetOverallResultByEmail,
 * GetSingleResultByPDF, GetOverallResultByPDF.
 * A method is the path (/cepa/api/v2/GetCandidates) or ?method=...; the key
 * is the api_key query parameter or an api_key header ("sandbox-<account>").
 *
 * Data per account: `reports` candidates in registration order, each with
 * one test or a full set (reading & listening, speaking, writing: an overall
 * group), statuses assigned/started/completed, Turkish names (Ç, ğ, İ, ı, ş)
 * and mixed-case e-mails. Dates are Turkish local time (UTC+3), as the seed
 * writes them without a zone. GetCandidates serves at most 500 per page
 * whatever limit asks (the real maximum is unknown; clients must not take a
 * short page for the end).
 *
 * Admin (GET /_sandbox/cepa/<what>?account=A):
 *   expected           {"ids": every token a full sync must load}
 *   add&n=K            K new candidates now (newest: top of a DESC list)
 *   arrivals&n=K&pages=P  K new candidates after each of the next P
 *                      GetCandidates pages served at an offset > 0 (P = 10):
 *                      the list shifts between two page requests of a sync
 *   complete&n=K       the K oldest unfinished tests complete: {"tokens": [...]}
 *   rescore&n=K        the K oldest completed tests are re-scored (+7)
 *   pdf_stats          {"single": N, "overall": N}: PDF requests served
 *   pdf_lie&token=T    GetSingleResultByPDF of T says a size one too large
 *                      (no token: off)
 *
 * GetSingleResultByPDF (completed tests) and GetOverallResultByPDF (complete
 * groups) send a small generated PDF naming the token and its score(s), so
 * a re-score changes it; the base64 is written with "\/" as PHP does.
 *
 * Threading: a read-write lock; admin changes and arrivals take it for
 * writing. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/jsonw.h"
#include "../core/log.h"
#include "../core/timeparse.h"
#include "../http/sign.h"
#include "sb_data.h"
#include "sb_vendor.h"

#define CC_PAGE_MAX   500
#define CC_TZ_SECONDS (3 * 3600)   /* Turkey, UTC+3 */
#define CC_BASE_TIME  1609459200LL /* 2021-01-01T00:00:00Z */

enum { CC_ASSIGNED = 0, CC_STARTED, CC_COMPLETED };
enum { CC_RL = 0, CC_ORAL, CC_WRITING, CC_NTESTS };

static const char *const cc_test_names[CC_NTESTS] = {"Reading & Listening Comprehension Assessment",
                                                     "Oral Proficiency Assessment",
                                                     "Writing Communication Assessment"};
static const char *const cc_short_names[CC_NTESTS] = {"Reading & Listening", "Speaking", "Writing"};
static const int cc_test_ids[CC_NTESTS] = {1, 3, 4};
static const char *const cc_status[] = {"assigned", "started", "completed"};
static const char *const cc_categories[] = {"Pre-Employment Assessment",
                                            "General Employee Assessment"};

/* CEPA's published score table (config/scales.yaml cepa_scores). */
static const struct {
    int min;
    const char *level, *cefr;
} cc_bands[] = {
    {0, "True Beginner", "A1"},       {4, "Beginner", "A1+"},         {12, "Elementary", "A2"},
    {16, "Pre-Intermediate", "A2+"},  {25, "Intermediate Low", "B1"}, {31, "Intermediate", "B1+"},
    {43, "Upper Intermediate", "B2"}, {51, "Advance Low", "B2+"},     {73, "Advanced", "C1"},
    {81, "Advanced High", "C1+"},     {91, "Proficient", "C2"},
};
#define CC_NBANDS (sizeof cc_bands / sizeof cc_bands[0])

static int cc_band(double score)
{
    int b = 0;
    for (size_t i = 0; i < CC_NBANDS; i++)
        if (score >= cc_bands[i].min)
            b = (int)i;
    return b;
}

static const char *const cc_given[] = {"Çağla", "Ayşe", "İbrahim", "Işıl", "Gökhan", "Şule",
                                       "Ömer",  "Eda",  "Barış",   "Müge", "Doğan",  "Ilgın",
                                       "Şükrü", "Gül",  "Özge",    "İpek"};
static const char *const cc_given_ascii[] = {"cagla", "ayse", "ibrahim", "isil", "gokhan", "sule",
                                             "omer",  "eda",  "baris",   "muge", "dogan",  "ilgin",
                                             "sukru", "gul",  "ozge",    "ipek"};
static const char *const cc_family[] = {"Yılmaz", "Kılıç", "Şahin",  "Çelik", "Öztürk",  "Doğan",
                                        "Aydın",  "Güneş", "Koç",    "Işık",  "Erdoğan", "Çakır",
                                        "Yıldız", "Aksoy", "Şimşek", "Kaya"};
static const char *const cc_family_ascii[] = {
    "yilmaz", "kilic", "sahin",   "celik", "ozturk", "dogan", "aydin",  "gunes",
    "koc",    "isik",  "erdogan", "cakir", "yildiz", "aksoy", "simsek", "kaya"};
static const char *const cc_domains[] = {"example.com", "Example.COM", "sirket.com.tr",
                                         "Posta.Example.org"};

static const char *const cc_statement_titles[10] = {"Speaking Global Description",
                                                    "Overall Spoken Communication",
                                                    "Interactional Listening Ability",
                                                    "Pronunciation",
                                                    "Fluency",
                                                    "Grammatical Accuracy",
                                                    "Vocabulary Range",
                                                    "Communication Strategies",
                                                    "Sociocultural Competency",
                                                    "Workplace Communication Strategies"};

struct cc_test {
    uint32_t token;
    uint8_t kind;   /* CC_RL.. */
    uint8_t status; /* CC_ASSIGNED.. */
    uint8_t score;  /* 0..100 */
    uint8_t category;
    uint8_t no_global;               /* global_cefr null */
    int64_t assign, login, complete; /* unix s UTC, 0 = none */
};

struct cc_cand {
    uint32_t first; /* into tests */
    uint8_t ntests;
    int64_t registered;
};

struct cc_acct {
    uint64_t key;
    struct cc_cand *c;
    size_t n, cap;
    struct cc_test *t;
    size_t nt, capt;
    long arrivals;      /* new candidates after a GetCandidates page at offset > 0 */
    long arrival_pages; /* ... for this many more such pages */
    uint32_t pdf_lie;   /* GetSingleResultByPDF of this token sends a wrong size (0 = none) */
    atomic_long pdf_single, pdf_overall; /* PDF requests served */
};

struct cc_state {
    pthread_rwlock_t lock;
    struct cc_acct *acct;
    size_t naccounts;
    const char *const *names;
};

/* ---- data ------------------------------------------------------------------ */

static int cc_add(struct cc_acct *a)
{
    size_t i = a->n;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 1024;
        struct cc_cand *p = realloc(a->c, cap * sizeof *p);
        if (!p)
            return -1;
        a->c = p;
        a->cap = cap;
    }
    if (a->nt + CC_NTESTS > a->capt) {
        size_t cap = a->capt ? a->capt * 2 : 2048;
        struct cc_test *p = realloc(a->t, cap * sizeof *p);
        if (!p)
            return -1;
        a->t = p;
        a->capt = cap;
    }
    uint64_t h = sb_hash3(a->key, 0xcec0, i);
    struct cc_cand *c = &a->c[a->n++];
    c->first = (uint32_t)a->nt;
    c->ntests = (h % 3 == 0) ? CC_NTESTS : 1;
    c->registered = CC_BASE_TIME + (int64_t)i * 600;
    for (int k = 0; k < c->ntests; k++) {
        uint64_t ht = sb_hash3(a->key, 0x7e57, a->nt);
        struct cc_test *t = &a->t[a->nt];
        memset(t, 0, sizeof *t);
        t->token = (uint32_t)(100000 + a->nt);
        t->kind = (uint8_t)(c->ntests == CC_NTESTS ? k : (int)((h >> 8) % CC_NTESTS));
        unsigned r = (unsigned)(ht % 10);
        t->status = r < 8 ? CC_COMPLETED : r == 8 ? CC_STARTED : CC_ASSIGNED;
        t->score = (uint8_t)((ht >> 16) % 101);
        t->category = (uint8_t)((ht >> 24) & 1);
        t->no_global = c->ntests != CC_NTESTS;
        t->assign = c->registered + 3600;
        if (t->status >= CC_STARTED)
            t->login = t->assign + 86400 + (int64_t)((ht >> 32) % 3600);
        if (t->status == CC_COMPLETED)
            t->complete = t->login + 1800 + (int64_t)((ht >> 40) % 3600);
        a->nt++;
    }
    return 0;
}

static int cc_init(const struct sb_init *in, void **state, struct ss_err *err)
{
    if (in->reports < 0 || in->reports > 5000000L)
        return err_set(err, SS_EINVAL, "cepa: reports must be 0..5000000, not %ld", in->reports);
    struct cc_state *st = calloc(1, sizeof *st);
    if (!st || !(st->acct = calloc(in->naccounts ? in->naccounts : 1, sizeof *st->acct))) {
        free(st);
        return err_set(err, SS_ENOMEM, "out of memory");
    }
    pthread_rwlock_init(&st->lock, NULL);
    st->naccounts = in->naccounts;
    st->names = in->accounts;
    for (size_t i = 0; i < in->naccounts; i++) {
        struct cc_acct *a = &st->acct[i];
        a->key = sb_hash3(in->seed, sb_str_hash("cepa"), sb_str_hash(in->accounts[i]));
        for (long k = 0; k < in->reports; k++)
            if (cc_add(a) != 0)
                return err_set(err, SS_ENOMEM, "out of memory");
    }
    *state = st;
    return 0;
}

static void cc_free(void *state)
{
    struct cc_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->naccounts; i++) {
        free(st->acct[i].c);
        free(st->acct[i].t);
    }
    free(st->acct);
    pthread_rwlock_destroy(&st->lock);
    free(st);
}

/* ---- rendering ------------------------------------------------------------- */

static void cc_date(int64_t unix_s, char *out, size_t n)
{
    struct ts_parts p;
    ts_split((unix_s + CC_TZ_SECONDS) * 1000000LL, &p);
    snprintf(out, n, "%04d-%02d-%02d %02d:%02d:%02d", (int)p.year, p.month, p.day, p.hour, p.minute,
             p.second);
}

static void cc_kdate(struct jsonw *w, const char *key, int64_t unix_s)
{
    if (!unix_s) {
        jw_knull(w, key);
        return;
    }
    char d[32];
    cc_date(unix_s, d, sizeof d);
    jw_kstr(w, key, d);
}

/* e-mail of candidate i: its index makes it unique and findable; the case
 * varies. */
static void cc_email(const struct cc_acct *a, size_t i, char *out, size_t n)
{
    uint64_t h = sb_hash3(a->key, 0xe3a1, i);
    size_t g = h % 16, f = (h >> 4) % 16;
    int n0 = snprintf(out, n, "%s.%s.%zu@%s", cc_given_ascii[g], cc_family_ascii[f], i,
                      cc_domains[(h >> 8) % 4]);
    if (n0 > 0 && ((h >> 12) & 1))
        out[0] = (char)(out[0] - 'a' + 'A'); /* "Cagla.yilmaz.12@..." */
    if (n0 > 0 && ((h >> 13) & 1)) {
        char *dot = strchr(out, '.');
        if (dot && dot[1] >= 'a' && dot[1] <= 'z')
            dot[1] = (char)(dot[1] - 'a' + 'A');
    }
}

/* The candidate an e-mail names (any case), or -1. */
static long cc_find(const struct cc_acct *a, const char *email)
{
    const char *at = email ? strchr(email, '@') : NULL;
    if (!at)
        return -1;
    const char *p = at;
    while (p > email && p[-1] >= '0' && p[-1] <= '9')
        p--;
    if (p == at)
        return -1;
    size_t i = strtoul(p, NULL, 10);
    if (i >= a->n)
        return -1;
    char e[160];
    cc_email(a, i, e, sizeof e);
    return strcasecmp(e, email) == 0 ? (long)i : -1;
}

static void cc_reports(struct jsonw *w, const struct cc_test *t)
{
    int b = cc_band(t->score);
    char text[400];
    jw_key(w, "reports");
    jw_open(w, '{');
    snprintf(text, sizeof text,
             "The candidate performs at %s level: can handle %s tasks with the accuracy expected "
             "there.",
             cc_bands[b].level, b >= 7 ? "complex" : "everyday");
    jw_kstr(w, "rationale", text);
    snprintf(text, sizeof text, "The candidate at %s has %s communication skills.",
             cc_bands[b].cefr, b >= 7 ? "good" : "basic");
    jw_kstr(w, "global_description", text);
    jw_key(w, "statements");
    jw_open(w, '{');
    for (int i = 0; i < 10; i++) {
        char k[8];
        snprintf(k, sizeof k, "%d", i + 1);
        jw_key(w, k);
        jw_open(w, '{');
        jw_kstr(w, "title", cc_statement_titles[i]);
        snprintf(text, sizeof text, "%s at level %d.", cc_statement_titles[i], b + 1);
        jw_kstr(w, "description", text);
        jw_close(w, '}');
    }
    jw_close(w, '}');
    jw_close(w, '}');
}

static void cc_test_json(struct jsonw *w, const struct cc_test *t, int reports)
{
    char tok[16];
    snprintf(tok, sizeof tok, "%u", t->token);
    int done = t->status == CC_COMPLETED;
    int b = cc_band(t->score);
    jw_open(w, '{');
    jw_kstr(w, "token", tok);
    jw_kstr(w, "test", cc_test_names[t->kind]);
    jw_kstr(w, "status", cc_status[t->status]);
    jw_kstr(w, "token_issuer", "Sandbox HR");
    jw_kstr(w, "test_category", cc_categories[t->category]);
    jw_kbool(w, "security_check", done);
    if (done)
        jw_kint(w, "test_score", t->score);
    else
        jw_knull(w, "test_score");
    if (done && !t->no_global)
        jw_kstr(w, "global_cefr", cc_bands[b].cefr);
    else
        jw_knull(w, "global_cefr");
    jw_kstr(w, "test_cefr", done ? cc_bands[b].cefr : NULL);
    jw_kstr(w, "test_level", done ? cc_bands[b].level : NULL);
    cc_kdate(w, "complete_date", t->complete);
    cc_kdate(w, "login_date", t->login);
    cc_kdate(w, "assign_date", t->assign);
    if (reports && done)
        cc_reports(w, t);
    jw_close(w, '}');
}

/* The candidate object's members (without braces). */
static void cc_person(struct jsonw *w, const struct cc_acct *a, size_t i)
{
    uint64_t h = sb_hash3(a->key, 0xe3a1, i);
    char id[24];
    snprintf(id, sizeof id, "*******%04u", (unsigned)(h % 10000));
    jw_kstr(w, "ID", id);
    jw_kstr(w, "name", cc_given[h % 16]);
    jw_kstr(w, "lastname", cc_family[(h >> 4) % 16]);
}

static void cc_tests_array(struct jsonw *w, const struct cc_acct *a, size_t i, int reports)
{
    const struct cc_cand *c = &a->c[i];
    jw_key(w, "tests");
    jw_open(w, '[');
    for (int k = 0; k < c->ntests; k++)
        cc_test_json(w, &a->t[c->first + (size_t)k], reports);
    jw_close(w, ']');
}

static void cc_head(struct jsonw *w, const char *method, const char *account)
{
    jw_open(w, '{');
    jw_kstr(w, "request", "GET");
    jw_kstr(w, "method", method);
    jw_kbool(w, "login", 1);
    char issuer[96];
    snprintf(issuer, sizeof issuer, "%s COMPANY", account);
    jw_kstr(w, "issuer", issuer);
}

static int cc_json_done(struct jsonw *w, struct sb_resp *resp)
{
    if (w->failed) {
        sb_resp_error(resp, 500, "response too large");
        return 0;
    }
    resp->status = 200;
    resp->content_type = "application/json; charset=utf-8";
    return 0;
}

static int cc_bool(const char *s)
{
    return s && (strcmp(s, "true") == 0 || strcmp(s, "1") == 0);
}

static int get_candidates(struct cc_state *st, const struct sb_req *req, struct sb_resp *resp)
{
    struct cc_acct *a = &st->acct[req->account_index];
    const char *ls = sb_param(&req->query, "limit"), *os = sb_param(&req->query, "offset");
    const char *sort = sb_param(&req->query, "sort");
    long limit = ls ? strtol(ls, NULL, 10) : 10, offset = os ? strtol(os, NULL, 10) : 0;
    if (limit < 0 || offset < 0 ||
        (sort && strcasecmp(sort, "ASC") != 0 && strcasecmp(sort, "DESC") != 0)) {
        sb_resp_error(resp, 400, "bad limit, offset or sort");
        return 0;
    }
    if (limit > CC_PAGE_MAX)
        limit = CC_PAGE_MAX;
    int asc = sort && strcasecmp(sort, "ASC") == 0;
    int reports = cc_bool(sb_param(&req->query, "reports"));
    pthread_rwlock_rdlock(&st->lock);
    struct jsonw w;
    jw_init(&w, &resp->body);
    cc_head(&w, "GetCandidates", req->account);
    jw_kint(&w, "count", (long long)a->n);
    jw_kint(&w, "offset", offset);
    jw_key(&w, "candidates");
    jw_open(&w, '{');
    for (long p = offset; p < offset + limit && (size_t)p < a->n; p++) {
        size_t i = asc ? (size_t)p : a->n - 1 - (size_t)p;
        char e[160];
        cc_email(a, i, e, sizeof e);
        jw_key(&w, e);
        jw_open(&w, '[');
        jw_open(&w, '{');
        cc_person(&w, a, i);
        cc_tests_array(&w, a, i, reports);
        jw_close(&w, '}');
        jw_close(&w, ']');
    }
    jw_close(&w, '}');
    jw_close(&w, '}');
    pthread_rwlock_unlock(&st->lock);
    if (offset > 0) {
        /* The list shifts between two page requests of a sync. */
        pthread_rwlock_wrlock(&st->lock);
        if (a->arrival_pages > 0) {
            a->arrival_pages--;
            for (long k = 0; k < a->arrivals; k++)
                if (cc_add(a) != 0)
                    break;
        }
        pthread_rwlock_unlock(&st->lock);
    }
    return cc_json_done(&w, resp);
}

static int get_candidate(struct cc_state *st, const struct sb_req *req, struct sb_resp *resp,
                         int overall)
{
    struct cc_acct *a = &st->acct[req->account_index];
    const char *email = sb_param(&req->query, "email");
    int reports = cc_bool(sb_param(&req->query, "reports"));
    pthread_rwlock_rdlock(&st->lock);
    long i = cc_find(a, email);
    if (i < 0) {
        pthread_rwlock_unlock(&st->lock);
        sb_resp_error(resp, 404, "candidate not found");
        return 0;
    }
    char e[160];
    cc_email(a, (size_t)i, e, sizeof e);
    struct jsonw w;
    jw_init(&w, &resp->body);
    const struct cc_cand *c = &a->c[i];
    if (!overall) {
        cc_head(&w, "GetCandidateByEmail", req->account);
        cc_person(&w, a, (size_t)i);
        jw_kstr(&w, "email", e);
        cc_tests_array(&w, a, (size_t)i, reports);
        jw_close(&w, '}');
        pthread_rwlock_unlock(&st->lock);
        return cc_json_done(&w, resp);
    }
    jw_open(&w, '{');
    jw_kstr(&w, "request", "GET");
    jw_kstr(&w, "method", "GetOverallResultByEmail");
    jw_kbool(&w, "login", 1);
    jw_kstr(&w, "email", e);
    jw_kstr(&w, "test_issuer", "SANDBOX SIDE");
    uint64_t h = sb_hash3(a->key, 0xe3a1, (uint64_t)i);
    jw_kstr(&w, "name", cc_given[h % 16]);
    jw_kstr(&w, "lastname", cc_family[(h >> 4) % 16]);
    cc_kdate(&w, "registration_date", c->registered);
    jw_key(&w, "groups");
    jw_open(&w, '[');
    int all = c->ntests == CC_NTESTS;
    for (int k = 0; all && k < c->ntests; k++)
        all = a->t[c->first + (size_t)k].status == CC_COMPLETED;
    if (all) {
        double sum = 0;
        for (int k = 0; k < CC_NTESTS; k++)
            sum += a->t[c->first + (size_t)k].score;
        double score = (double)(long)(sum / 3.0 * 10.0 + 0.5) / 10.0;
        int b = cc_band(score);
        jw_open(&w, '{');
        char id[24];
        snprintf(id, sizeof id, "%ld", 1000 + i);
        jw_kstr(&w, "id", id);
        jw_krawf(&w, "score", "%.1f", score);
        jw_kstr(&w, "cefr", cc_bands[b].cefr);
        jw_kstr(&w, "cefr_level", cc_bands[b].level);
        cc_kdate(&w, "assign_date", a->t[c->first].assign);
        jw_key(&w, "tests");
        jw_open(&w, '[');
        for (int k = 0; k < CC_NTESTS; k++) {
            const struct cc_test *t = &a->t[c->first + (size_t)k];
            char tok[16], mode[4], sc[16];
            snprintf(tok, sizeof tok, "%u", t->token);
            snprintf(mode, sizeof mode, "%d", cc_test_ids[t->kind]);
            snprintf(sc, sizeof sc, "%d.0", t->score);
            int tb = cc_band(t->score);
            jw_open(&w, '{');
            jw_kstr(&w, "token", tok);
            jw_kstr(&w, "test_mode", mode);
            jw_kstr(&w, "test_name", cc_short_names[t->kind]);
            jw_kstr(&w, "test_score", sc);
            jw_kstr(&w, "test_cefr", cc_bands[tb].cefr);
            jw_kstr(&w, "test_cefr_level", cc_bands[tb].level);
            cc_kdate(&w, "complete_date", t->complete);
            jw_close(&w, '}');
        }
        jw_close(&w, ']');
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    jw_close(&w, '}');
    pthread_rwlock_unlock(&st->lock);
    return cc_json_done(&w, resp);
}

static int get_test(struct cc_state *st, const struct sb_req *req, struct sb_resp *resp)
{
    struct cc_acct *a = &st->acct[req->account_index];
    const char *ts = sb_param(&req->query, "token");
    unsigned long tok = ts ? strtoul(ts, NULL, 10) : 0;
    pthread_rwlock_rdlock(&st->lock);
    if (tok < 100000 || tok - 100000 >= a->nt) {
        pthread_rwlock_unlock(&st->lock);
        sb_resp_error(resp, 404, "token not found");
        return 0;
    }
    struct jsonw w;
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    jw_kstr(&w, "request", "GET");
    jw_kstr(&w, "method", "GetTestByToken");
    jw_kbool(&w, "login", 1);
    jw_kstr(&w, "token", ts);
    jw_key(&w, "tests");
    jw_open(&w, '[');
    cc_test_json(&w, &a->t[tok - 100000], cc_bool(sb_param(&req->query, "reports")));
    jw_close(&w, ']');
    jw_close(&w, '}');
    pthread_rwlock_unlock(&st->lock);
    return cc_json_done(&w, resp);
}

/* A small PDF of a test's (or a group's) report: deterministic bytes that
 * name the token and score, so a re-score changes them. */
static void cc_pdf_bytes(struct buf *pdf, const char *title, const char *who, const char *line)
{
    struct ss_err e = {0};
    /* The binary comment marks the file as binary, as real PDF writers do. */
    if (buf_appendf(pdf, &e, "%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n") != 0 ||
        buf_appendf(pdf, &e,
                    "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                    "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
                    "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                    "/Contents 4 0 R >> endobj\n4 0 obj << >> stream\nBT /F1 14 Tf 72 780 Td "
                    "(CEPA Test - %s) Tj ET\nBT /F1 11 Tf 72 750 Td (%s) Tj ET\n"
                    "BT /F1 11 Tf 72 730 Td (%s) Tj ET\n",
                    title, who, line) != 0)
        return;
    for (int i = 0; i < 10; i++)
        if (buf_appendf(pdf, &e, "BT /F1 9 Tf 72 %d Td (%s) Tj ET\n", 700 - 14 * i,
                        cc_statement_titles[i]) != 0)
            return;
    (void)buf_appendf(pdf, &e, "endstream endobj\ntrailer << /Root 1 0 R >>\n%%%%EOF\n");
}

/* GetSingleResultByPDF (token) and GetOverallResultByPDF (email, overall_id):
 * {request, method, login, token, mime, file, size, content}; content is
 * the base64 of the file with "/" written "\/" (PHP's json_encode). */
static int get_pdf(struct cc_state *st, const struct sb_req *req, struct sb_resp *resp, int overall)
{
    struct cc_acct *a = &st->acct[req->account_index];
    char title[128], who[160], line[256], file[200], tokname[160];
    long long lie = 0;
    struct buf pdf, b64;
    buf_init(&pdf, 0);
    buf_init(&b64, 0);
    pthread_rwlock_rdlock(&st->lock);
    if (!overall) {
        atomic_fetch_add(&a->pdf_single, 1);
        const char *ts = sb_param(&req->query, "token");
        unsigned long tok = ts ? strtoul(ts, NULL, 10) : 0;
        const struct cc_test *t =
            tok >= 100000 && tok - 100000 < a->nt ? &a->t[tok - 100000] : NULL;
        if (!t || t->status != CC_COMPLETED) {
            pthread_rwlock_unlock(&st->lock);
            sb_resp_error(resp, 404, t ? "test not completed" : "token not found");
            return 0;
        }
        size_t ci = 0;
        while (ci + 1 < a->n && a->c[ci + 1].first <= t - a->t)
            ci++;
        uint64_t h = sb_hash3(a->key, 0xe3a1, ci);
        int b = cc_band(t->score);
        snprintf(title, sizeof title, "%s Score Report", cc_test_names[t->kind]);
        snprintf(who, sizeof who, "Token %u, candidate %s %s", t->token, cc_given_ascii[h % 16],
                 cc_family_ascii[(h >> 4) % 16]);
        snprintf(line, sizeof line, "Score %d, CEFR %s, %s", t->score, cc_bands[b].cefr,
                 cc_bands[b].level);
        snprintf(file, sizeof file, "%u-%s-%s-Score-Report.pdf", t->token, cc_given_ascii[h % 16],
                 cc_family_ascii[(h >> 4) % 16]);
        snprintf(tokname, sizeof tokname, "%u", t->token);
        lie = a->pdf_lie == t->token;
    } else {
        atomic_fetch_add(&a->pdf_overall, 1);
        const char *email = sb_param(&req->query, "email");
        const char *ids = sb_param(&req->query, "overall_id");
        long i = cc_find(a, email);
        const struct cc_cand *c = i >= 0 ? &a->c[i] : NULL;
        int all = c && c->ntests == CC_NTESTS;
        for (int k = 0; all && k < CC_NTESTS; k++)
            all = a->t[c->first + (size_t)k].status == CC_COMPLETED;
        if (!all || (ids && strtol(ids, NULL, 10) != 1000 + i)) {
            pthread_rwlock_unlock(&st->lock);
            sb_resp_error(resp, 404, "no overall result");
            return 0;
        }
        uint64_t h = sb_hash3(a->key, 0xe3a1, (uint64_t)i);
        snprintf(title, sizeof title, "Overall Score Report %ld", 1000 + i);
        snprintf(who, sizeof who, "Candidate %s %s", cc_given_ascii[h % 16],
                 cc_family_ascii[(h >> 4) % 16]);
        snprintf(line, sizeof line, "Scores %d / %d / %d", a->t[c->first].score,
                 a->t[c->first + 1].score, a->t[c->first + 2].score);
        snprintf(file, sizeof file, "%s-%s-Overall-Score-Report.pdf", cc_given_ascii[h % 16],
                 cc_family_ascii[(h >> 4) % 16]);
        cc_email(a, (size_t)i, tokname, sizeof tokname);
    }
    pthread_rwlock_unlock(&st->lock);
    cc_pdf_bytes(&pdf, title, who, line);
    struct ss_err e = {0};
    if (!pdf.len || sign_base64_encode(&b64, pdf.data, pdf.len, SIGN_B64_STD, &e) != 0) {
        buf_free(&pdf);
        buf_free(&b64);
        sb_resp_error(resp, 500, "out of memory");
        return 0;
    }
    struct jsonw w;
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    jw_kstr(&w, "request", "GET");
    jw_kstr(&w, "method", overall ? "GetOverallResultByPDF" : "GetSingleResultByPDF");
    jw_kbool(&w, "login", 1);
    jw_kstr(&w, "token", tokname);
    jw_kstr(&w, "mime", "application/pdf");
    jw_kstr(&w, "file", file);
    jw_kint(&w, "size", (long long)pdf.len + lie);
    jw_key(&w, "content");
    struct buf esc;
    buf_init(&esc, 0);
    int ok = buf_append(&esc, "\"", 1, &e) == 0;
    for (size_t k = 0; ok && k < b64.len; k++)
        ok = b64.data[k] == '/' ? buf_append(&esc, "\\/", 2, &e) == 0
                                : buf_append(&esc, &b64.data[k], 1, &e) == 0;
    ok = ok && buf_append(&esc, "\"", 1, &e) == 0;
    jw_raw(&w, ok ? esc.data : "null");
    jw_close(&w, '}');
    buf_free(&esc);
    buf_free(&pdf);
    buf_free(&b64);
    return cc_json_done(&w, resp);
}

static int get_tests(struct cc_state *st, const struct sb_req *req, struct sb_resp *resp)
{
    struct cc_acct *a = &st->acct[req->account_index];
    long done[CC_NTESTS][2] = {{0}}, used[CC_NTESTS] = {0};
    pthread_rwlock_rdlock(&st->lock);
    for (size_t i = 0; i < a->nt; i++) {
        used[a->t[i].kind]++;
        if (a->t[i].status == CC_COMPLETED)
            done[a->t[i].kind][a->t[i].category]++;
    }
    pthread_rwlock_unlock(&st->lock);
    struct jsonw w;
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    jw_kstr(&w, "request", "GET");
    jw_kstr(&w, "method", "GetTests");
    jw_kbool(&w, "login", 1);
    jw_key(&w, "tests");
    jw_open(&w, '{');
    for (int k = 0; k < CC_NTESTS; k++) {
        jw_key(&w, cc_test_names[k]);
        jw_open(&w, '{');
        jw_kint(&w, "id", cc_test_ids[k]);
        jw_kint(&w, "available_token", 100000);
        jw_kint(&w, "used_tokens", used[k]);
        jw_key(&w, "categories");
        jw_open(&w, '{');
        for (int c = 0; c < 2; c++) {
            jw_key(&w, cc_categories[c]);
            jw_open(&w, '{');
            jw_kint(&w, "completed_tests", done[k][c]);
            jw_close(&w, '}');
        }
        jw_close(&w, '}');
        jw_close(&w, '}');
    }
    jw_close(&w, '}');
    jw_close(&w, '}');
    return cc_json_done(&w, resp);
}

static int cc_handle(const struct sb_req *req, struct sb_resp *resp)
{
    struct cc_state *st = req->state;
    if (strcmp(req->method, "GET") != 0) {
        snprintf(resp->allow, sizeof resp->allow, "GET");
        sb_resp_error(resp, 405, "Method Not Allowed");
        return 0;
    }
    const char *m = req->path[0] == '/' ? req->path + 1 : req->path;
    if (!*m)
        m = sb_param(&req->query, "method");
    if (!m)
        m = "";
    if (strcmp(m, "GetCandidates") == 0)
        return get_candidates(st, req, resp);
    if (strcmp(m, "GetCandidateByEmail") == 0)
        return get_candidate(st, req, resp, 0);
    if (strcmp(m, "GetOverallResultByEmail") == 0)
        return get_candidate(st, req, resp, 1);
    if (strcmp(m, "GetTestByToken") == 0)
        return get_test(st, req, resp);
    if (strcmp(m, "GetTests") == 0)
        return get_tests(st, req, resp);
    if (strcmp(m, "GetSingleResultByPDF") == 0)
        return get_pdf(st, req, resp, 0);
    if (strcmp(m, "GetOverallResultByPDF") == 0)
        return get_pdf(st, req, resp, 1);
    sb_resp_error(resp, 404, "no such method");
    return 0;
}

static int cc_auth(const struct sb_auth_req *r)
{
    const char *k = sb_param(&r->query, "api_key");
    if (!k)
        k = sb_param(&r->header, "api_key");
    return sb_account_by_key(r, k);
}

/* ---- admin ----------------------------------------------------------------- */

static int cc_admin(void *state, const struct sb_admin_req *req, struct sb_resp *resp)
{
    struct cc_state *st = state;
    struct cc_acct *a = &st->acct[req->account_index];
    const char *ns = sb_param(&req->query, "n");
    long n = ns ? strtol(ns, NULL, 10) : 1;
    struct jsonw w;
    jw_init(&w, &resp->body);
    if (strcmp(req->what, "expected") == 0) {
        pthread_rwlock_rdlock(&st->lock);
        jw_open(&w, '{');
        jw_kint(&w, "candidates", (long long)a->n);
        jw_key(&w, "ids");
        jw_open(&w, '[');
        for (size_t i = 0; i < a->nt; i++)
            jw_rawf(&w, "\"%u\"", a->t[i].token);
        jw_close(&w, ']');
        jw_close(&w, '}');
        pthread_rwlock_unlock(&st->lock);
        return cc_json_done(&w, resp);
    }
    if (strcmp(req->what, "pdf_stats") == 0) {
        jw_open(&w, '{');
        jw_kint(&w, "single", atomic_load(&a->pdf_single));
        jw_kint(&w, "overall", atomic_load(&a->pdf_overall));
        jw_close(&w, '}');
        return cc_json_done(&w, resp);
    }
    if (strcmp(req->what, "pdf_lie") == 0) {
        const char *ts = sb_param(&req->query, "token");
        pthread_rwlock_wrlock(&st->lock);
        a->pdf_lie = ts ? (uint32_t)strtoul(ts, NULL, 10) : 0;
        jw_open(&w, '{');
        jw_kint(&w, "token", a->pdf_lie);
        jw_close(&w, '}');
        pthread_rwlock_unlock(&st->lock);
        return cc_json_done(&w, resp);
    }
    int add = strcmp(req->what, "add") == 0, arr = strcmp(req->what, "arrivals") == 0;
    int comp = strcmp(req->what, "complete") == 0, resc = strcmp(req->what, "rescore") == 0;
    if (!add && !arr && !comp && !resc) {
        sb_resp_error(resp, 404, "Not Found");
        return 0;
    }
    pthread_rwlock_wrlock(&st->lock);
    jw_open(&w, '{');
    if (arr) {
        const char *ps = sb_param(&req->query, "pages");
        a->arrivals = n > 0 ? n : 0;
        a->arrival_pages = ps ? strtol(ps, NULL, 10) : 10;
        jw_kint(&w, "arrivals", a->arrivals);
        jw_kint(&w, "pages", a->arrival_pages);
    } else if (add) {
        long k = 0;
        while (k < n && cc_add(a) == 0)
            k++;
        jw_kint(&w, "added", k);
    } else {
        /* The oldest candidates: deepest in a DESC list. */
        jw_key(&w, "tokens");
        jw_open(&w, '[');
        long k = 0;
        for (size_t i = 0; i < a->nt && k < n; i++) {
            struct cc_test *t = &a->t[i];
            if (comp && t->status != CC_COMPLETED) {
                if (!t->login)
                    t->login = t->assign + 86400;
                t->complete = t->login + 2400;
                t->status = CC_COMPLETED;
            } else if (resc && t->status == CC_COMPLETED) {
                t->score = (uint8_t)((t->score + 7) % 101);
            } else {
                continue;
            }
            jw_open(&w, '{');
            jw_krawf(&w, "token", "\"%u\"", t->token);
            jw_kint(&w, "score", t->score);
            jw_close(&w, '}');
            k++;
        }
        jw_close(&w, ']');
    }
    jw_close(&w, '}');
    pthread_rwlock_unlock(&st->lock);
    return cc_json_done(&w, resp);
}

const struct sb_vendor sb_cepa_vendor = {
    .name = "cepa",
    .version_prefix = "/cepa/api/v2",
    .help =
        "  /cepa/api/v2        CEPA Test: /GetTests /GetCandidates /GetCandidateByEmail\n"
        "                      /GetTestByToken /GetOverallResultByEmail\n"
        "                      /GetSingleResultByPDF /GetOverallResultByPDF (or ?method=)\n"
        "  /_sandbox/cepa/expected?account=A        what a full sync must load\n"
        "  /_sandbox/cepa/add?account=A&n=K         K new candidates now\n"
        "  /_sandbox/cepa/arrivals?account=A&n=K&pages=P  K new candidates after P later pages\n"
        "  /_sandbox/cepa/complete?account=A&n=K    complete the K oldest unfinished tests\n"
        "  /_sandbox/cepa/rescore?account=A&n=K     re-score the K oldest completed tests\n"
        "  /_sandbox/cepa/pdf_stats?account=A       PDF requests served (single, overall)\n"
        "  /_sandbox/cepa/pdf_lie?account=A&token=T GetSingleResultByPDF of T lies about size\n",
    /* Undocumented. The client's default is stricter (2/s, 1,000/hour); the
     * sandbox allows what config/sandbox.yaml asks, so the demo is quick. */
    .limits = {{20, 1000000LL}, {20000, 3600LL * 1000000LL}},
    .nlimits = 2,
    .auth = cc_auth,
    .auth_challenge = NULL,
    .init = cc_init,
    .free_state = cc_free,
    .handle = cc_handle,
    .admin = cc_admin,
};

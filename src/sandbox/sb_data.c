/* sb_data: deterministic generation of users and score reports. */
#include "sb_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/timeparse.h"

#define TICKS_PER_DAY (86400LL * SB_TICKS_PER_SEC)
#define TICKS_PER_MIN (60LL * SB_TICKS_PER_SEC)

/* Salts so every derived value has its own hash stream. */
enum {
    K_REPORT_ID = 1,
    K_USER_ID,
    K_GROUP_ID,
    K_USER_COUNT,
    K_KIND,
    K_SCORE,
    K_TIME,
    K_TIME2,
    K_DELAY,
    K_BAD,
    K_NAMES,
    K_USER_FLAGS,
    K_GROUPS,
};

uint64_t sb_mix64(uint64_t x)
{
    /* splitmix64 finaliser: cheap and well mixed. */
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t sb_hash3(uint64_t key, uint64_t a, uint64_t b)
{
    return sb_mix64(sb_mix64(key ^ sb_mix64(a)) ^ (b * 0xd6e8feb86659fd93ULL));
}

uint64_t sb_str_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then mixed */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return sb_mix64(h);
}

void sb_uuid(uint64_t key, uint64_t kind, uint64_t idx, char out[37])
{
    uint64_t a = sb_hash3(key, kind, idx);
    uint64_t b = sb_hash3(key, kind + 0x1000, idx);
    snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)((a >> 16) & 0xffff), (unsigned)(a & 0xfff),
             (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
             (unsigned long long)(b & 0xffffffffffffULL));
}

void sb_fmt_ticks(int64_t ticks, char *out, size_t n)
{
    /* .NET writes 7 fraction digits: split the microseconds, keep the 7th. */
    int64_t us = ticks / SB_TICKS_PER_US;
    int64_t sub = ticks % SB_TICKS_PER_US;
    if (sub < 0) {
        sub += SB_TICKS_PER_US;
        us--;
    }
    struct ts_parts p;
    ts_split(us, &p);
    snprintf(out, n, "%04lld-%02d-%02dT%02d:%02d:%02d.%06d%lld+00:00", (long long)p.year, p.month,
             p.day, p.hour, p.minute, p.second, p.micro, (long long)sub);
}

void sb_fmt_duration(int64_t ticks, char *out, size_t n)
{
    if (ticks < 0)
        ticks = 0;
    int64_t secs = ticks / SB_TICKS_PER_SEC;
    long long frac = (long long)(ticks % SB_TICKS_PER_SEC);
    int64_t days = secs / 86400;
    if (days > 0)
        snprintf(out, n, "%lld.%02d:%02d:%02d.%07lld", (long long)days, (int)(secs / 3600 % 24),
                 (int)(secs / 60 % 60), (int)(secs % 60), frac);
    else
        snprintf(out, n, "%02d:%02d:%02d.%07lld", (int)(secs / 3600), (int)(secs / 60 % 60),
                 (int)(secs % 60), frac);
}

/* ---- time distribution -------------------------------------------------- */

/* 2019-01 .. 2026-10: growth, a school-year rhythm, a dead spring 2020 and a
 * busy autumn 2021, so clients meet both sparse and dense stretches. */
#define NMONTHS 94

struct months {
    int64_t start[NMONTHS + 1]; /* ticks */
    double cum[NMONTHS];        /* cumulative weights, last = 1 */
};

static void months_init(struct months *mo)
{
    static const double season[12] = {1.3, 1.1, 1.0, 1.0, 1.2, 0.6, 0.4, 1.5, 1.6, 1.1, 1.0, 0.5};
    double total = 0, w[NMONTHS];
    for (int i = 0; i <= NMONTHS; i++) {
        int y = 2019 + i / 12, m = 1 + i % 12;
        mo->start[i] = ts_from_civil(y, m, 1, 0, 0, 0) * SB_TICKS_PER_US;
    }
    for (int i = 0; i < NMONTHS; i++) {
        w[i] = (1.0 + i / 40.0) * season[i % 12];
        if (i == 15 || i == 16) /* 2020-04, 2020-05 */
            w[i] *= 0.05;
        if (i == 32) /* 2021-09 */
            w[i] *= 4.0;
        total += w[i];
    }
    double acc = 0;
    for (int i = 0; i < NMONTHS; i++) {
        acc += w[i] / total;
        mo->cum[i] = acc;
    }
    mo->cum[NMONTHS - 1] = 1.0;
}

static double unit(uint64_t h)
{
    return (double)(h >> 11) * 0x1.0p-53;
}

static int64_t random_time(const struct months *mo, uint64_t h1, uint64_t h2)
{
    double u = unit(h1);
    int lo = 0, hi = NMONTHS - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (mo->cum[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    int64_t len = mo->start[lo + 1] - mo->start[lo];
    return mo->start[lo] + (int64_t)(h2 % (uint64_t)len);
}

/* ---- generation --------------------------------------------------------- */

static int cmp_completed(const void *a, const void *b)
{
    const struct sb_report *x = a, *y = b;
    if (x->completed != y->completed)
        return x->completed < y->completed ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_assigned_rep(const void *a, const void *b)
{
    const struct sb_report *x = a, *y = b;
    if (x->assigned != y->assigned)
        return x->assigned < y->assigned ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

struct apos {
    int64_t t;
    uint32_t pos;
};

static int cmp_apos(const void *a, const void *b)
{
    const struct apos *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int cmp_uid(const void *a, const void *b)
{
    const struct sb_uid_entry *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return x->user < y->user ? -1 : x->user > y->user;
}

static int is_truenorth(int assessment)
{
    return assessment <= SB_AS_ES_SPEAKING;
}

/* A sum of three uniforms: scores bunch in the middle, as real ones do. */
static uint16_t gen_score(uint64_t key, uint32_t i, int assessment)
{
    uint64_t s = sb_hash3(key, K_SCORE, i);
    if (is_truenorth(assessment)) {
        unsigned v = (unsigned)(s % 34 + (s >> 16) % 34 + (s >> 32) % 34);
        return (uint16_t)(v > 100 ? 100 : v);
    }
    unsigned v = (unsigned)(s % 334 + (s >> 16) % 334 + (s >> 32) % 334);
    return (uint16_t)(v > 1000 ? 1000 : v);
}

/* Fills everything about report i except the times that depend on order. */
static void gen_report(uint64_t key, const struct months *mo, uint32_t i, uint32_t user,
                       double p_bad, struct sb_report *r)
{
    uint64_t h = sb_hash3(key, K_KIND, i);
    unsigned ra = (unsigned)(h % 100), rs = (unsigned)((h >> 8) % 100);
    memset(r, 0, sizeof *r);
    r->index = i;
    r->user = user;
    r->assessment = ra < 30   ? SB_AS_EN_SPEAKING
                    : ra < 45 ? SB_AS_EN_WRITING
                    : ra < 60 ? SB_AS_ES_SPEAKING
                    : ra < 85 ? SB_AS_EN_GRAMMAR
                              : SB_AS_ES_GRAMMAR;
    r->status = rs < 75   ? SB_ST_COMPLETED
                : rs < 85 ? SB_ST_NOT_STARTED
                : rs < 92 ? SB_ST_IN_PROGRESS
                : rs < 96 ? SB_ST_SCORE_PENDING
                          : SB_ST_NEEDS_REVIEW;
    if (r->status == SB_ST_COMPLETED) {
        r->score = gen_score(key, i, r->assessment);
        if (p_bad > 0) {
            uint64_t hb = sb_hash3(key, K_BAD, i);
            if (unit(hb) < p_bad) {
                r->bad = (uint8_t)(1 + (hb >> 3) % 4);
                if (r->bad == SB_BAD_CEFR && !is_truenorth(r->assessment))
                    r->bad = SB_BAD_SCORE_TYPE;
            }
        }
    }
    int64_t t = random_time(mo, sb_hash3(key, K_TIME, i), sb_hash3(key, K_TIME2, i));
    r->completed = r->started = r->assigned = SB_NONE;
    switch (r->status) {
    case SB_ST_NOT_STARTED:
        r->assigned = t;
        break;
    case SB_ST_IN_PROGRESS:
        r->started = t;
        break;
    default:
        r->completed = t;
        break;
    }
}

static int64_t gen_duration(uint64_t key, const struct sb_report *r)
{
    uint64_t h = sb_hash3(key, K_DELAY, r->index);
    int64_t lo = 2, span = 14; /* minutes */
    if (r->assessment == SB_AS_EN_WRITING) {
        lo = 10;
        span = 30;
    } else if (!is_truenorth(r->assessment)) {
        lo = 1;
        span = 44;
    }
    return lo * TICKS_PER_MIN + (int64_t)(h % (uint64_t)(span * TICKS_PER_MIN));
}

static int64_t gen_delay(uint64_t key, const struct sb_report *r)
{
    uint64_t h = sb_hash3(key, K_DELAY + 100, r->index);
    /* A third start within the hour, the rest within two weeks. */
    if (h % 3 == 0)
        return (int64_t)((h >> 8) % (uint64_t)(60 * TICKS_PER_MIN));
    return (int64_t)((h >> 8) % (uint64_t)(14 * TICKS_PER_DAY));
}

int sb_data_generate(uint64_t seed, const char *account, long reports, double p_bad_record,
                     struct sb_dataset *ds, struct ss_err *err)
{
    memset(ds, 0, sizeof *ds);
    if (reports < 0 || reports > 50000000L)
        return err_set(err, SS_EINVAL, "reports must be 0..50000000, not %ld", reports);
    size_t n = (size_t)reports;
    struct months mo;
    months_init(&mo);
    int64_t range_start = mo.start[0];
    struct apos *ap = NULL;
    ds->key = sb_hash3(seed, sb_str_hash(account), 0x5b);
    ds->nreports = n;
    ds->reports = calloc(n ? n : 1, sizeof *ds->reports);
    ds->users = calloc(n ? n : 1, sizeof *ds->users);
    ds->by_user = calloc(n ? n : 1, sizeof *ds->by_user);
    ds->by_assigned = calloc(n ? n : 1, sizeof *ds->by_assigned);
    ap = calloc(n ? n : 1, sizeof *ap);
    if (!ds->reports || !ds->users || !ds->by_user || !ds->by_assigned || !ap)
        goto nomem;

    /* Users own runs of consecutive generation indexes; 1..6 reports each,
     * three on average. Completed-type reports fill the array from the
     * front, the others from the back. */
    static const unsigned cum_counts[6] = {22, 44, 64, 79, 91, 100};
    size_t front = 0, back = n, i = 0;
    uint32_t u = 0;
    while (i < n) {
        uint64_t h = sb_hash3(ds->key, K_USER_COUNT, u);
        unsigned r = (unsigned)(h % 100), cnt = 1;
        while (cnt < 6 && r >= cum_counts[cnt - 1])
            cnt++;
        struct sb_user *us = &ds->users[u];
        uint64_t f = sb_hash3(ds->key, K_USER_FLAGS, u);
        if (f % 10 == 0)
            us->flags |= SB_U_NO_UID;
        if ((f >> 8) % 100 < 15)
            us->flags |= SB_U_NO_STUDENT;
        else if ((f >> 16) % 2 == 0)
            us->flags |= SB_U_SID_IS_UID;
        /* Without an email the user must have been created by uniqueIdentifier. */
        if (!(us->flags & SB_U_NO_UID) && (f >> 24) % 100 < 5)
            us->flags |= SB_U_NO_EMAIL;
        uint64_t g = sb_hash3(ds->key, K_GROUPS, u);
        for (int k = 0; k < SB_NGROUPS; k++)
            if ((g >> (8 * k)) % 100 < 30)
                us->groups |= (uint8_t)(1u << k);
        for (unsigned k = 0; k < cnt && i < n; k++, i++) {
            struct sb_report tmp;
            gen_report(ds->key, &mo, (uint32_t)i, u, p_bad_record, &tmp);
            if (tmp.completed != SB_NONE)
                ds->reports[front++] = tmp;
            else
                ds->reports[--back] = tmp;
            us->count++;
        }
        u++;
    }
    ds->nusers = u;
    ds->ncompleted = front;
    qsort(ds->reports, front, sizeof *ds->reports, cmp_completed);
    qsort(ds->reports + front, n - front, sizeof *ds->reports, cmp_assigned_rep);

    /* Strictly increasing at microsecond resolution, then derive the
     * earlier times backwards from completed. */
    int64_t prev_us = INT64_MIN;
    for (size_t k = 0; k < front; k++) {
        struct sb_report *r = &ds->reports[k];
        int64_t us = r->completed / SB_TICKS_PER_US;
        if (prev_us != INT64_MIN && us <= prev_us)
            r->completed = (prev_us + 1) * SB_TICKS_PER_US + r->completed % SB_TICKS_PER_US;
        prev_us = r->completed / SB_TICKS_PER_US;
        r->started = r->completed - gen_duration(ds->key, r);
        int64_t a = r->started - gen_delay(ds->key, r);
        r->assigned = a < range_start ? (r->started < range_start ? r->started : range_start) : a;
    }
    for (size_t k = front; k < n; k++) {
        struct sb_report *r = &ds->reports[k];
        if (r->status == SB_ST_IN_PROGRESS) {
            int64_t a = r->started - gen_delay(ds->key, r);
            r->assigned =
                a < range_start ? (r->started < range_start ? r->started : range_start) : a;
        }
    }

    /* Positions grouped by user (counting sort keeps them ascending). */
    uint32_t acc = 0;
    for (size_t k = 0; k < ds->nusers; k++) {
        ds->users[k].first = acc;
        acc += ds->users[k].count;
        ds->users[k].count = 0;
    }
    for (size_t k = 0; k < n; k++) {
        struct sb_user *us = &ds->users[ds->reports[k].user];
        ds->by_user[us->first + us->count++] = (uint32_t)k;
    }

    for (size_t k = 0; k < n; k++) {
        ap[k].t = ds->reports[k].assigned;
        ap[k].pos = (uint32_t)k;
    }
    qsort(ap, n, sizeof *ap, cmp_apos);
    for (size_t k = 0; k < n; k++)
        ds->by_assigned[k] = ap[k].pos;

    struct sb_user *shrunk = realloc(ds->users, (ds->nusers ? ds->nusers : 1) * sizeof *shrunk);
    if (shrunk)
        ds->users = shrunk;
    ds->uid_index = calloc(ds->nusers ? ds->nusers : 1, sizeof *ds->uid_index);
    if (!ds->uid_index)
        goto nomem;
    for (size_t k = 0; k < ds->nusers; k++) {
        char id[37];
        sb_user_id(ds, (uint32_t)k, id);
        ds->uid_index[k].h = sb_str_hash(id);
        ds->uid_index[k].user = (uint32_t)k;
    }
    qsort(ds->uid_index, ds->nusers, sizeof *ds->uid_index, cmp_uid);
    free(ap);
    return 0;
nomem:
    free(ap);
    sb_data_free(ds);
    return err_set(err, SS_ENOMEM, "out of memory generating %ld reports", reports);
}

void sb_data_free(struct sb_dataset *ds)
{
    if (!ds)
        return;
    free(ds->reports);
    free(ds->users);
    free(ds->by_user);
    free(ds->by_assigned);
    free(ds->uid_index);
    free(ds->by_started);
    memset(ds, 0, sizeof *ds);
}

size_t sb_data_completed_bound(const struct sb_dataset *ds, int64_t us, int strict)
{
    size_t lo = 0, hi = ds->ncompleted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t v = ds->reports[mid].completed / SB_TICKS_PER_US;
        if (strict ? v <= us : v < us)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Binary search over an index of positions sorted by the started time (or
 * else the assigned time). */
static size_t index_bound(const struct sb_dataset *ds, const uint32_t *idx, size_t n, int started,
                          int64_t us, int strict)
{
    size_t lo = 0, hi = idx ? n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct sb_report *r = &ds->reports[idx[mid]];
        int64_t v = (started ? r->started : r->assigned) / SB_TICKS_PER_US;
        if (strict ? v <= us : v < us)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t sb_data_assigned_bound(const struct sb_dataset *ds, int64_t us, int strict)
{
    return index_bound(ds, ds->by_assigned, ds->nreports, 0, us, strict);
}

int sb_data_index_started(struct sb_dataset *ds, struct ss_err *err)
{
    size_t n = 0;
    for (size_t k = 0; k < ds->nreports; k++)
        n += ds->reports[k].started != SB_NONE;
    struct apos *ap = calloc(n ? n : 1, sizeof *ap);
    uint32_t *idx = calloc(n ? n : 1, sizeof *idx);
    if (!ap || !idx) {
        free(ap);
        free(idx);
        return err_set(err, SS_ENOMEM, "out of memory indexing %zu reports", ds->nreports);
    }
    size_t j = 0;
    for (size_t k = 0; k < ds->nreports; k++) {
        if (ds->reports[k].started == SB_NONE)
            continue;
        ap[j].t = ds->reports[k].started;
        ap[j].pos = (uint32_t)k;
        j++;
    }
    /* Ties (same tick) break by position, which is deterministic too. */
    qsort(ap, n, sizeof *ap, cmp_apos);
    for (size_t k = 0; k < n; k++)
        idx[k] = ap[k].pos;
    free(ap);
    free(ds->by_started);
    ds->by_started = idx;
    ds->nstarted = n;
    return 0;
}

size_t sb_data_started_bound(const struct sb_dataset *ds, int64_t us, int strict)
{
    return index_bound(ds, ds->by_started, ds->nstarted, 1, us, strict);
}

void sb_data_complete(struct sb_dataset *ds, size_t pos, int64_t completed)
{
    struct sb_report *r = &ds->reports[pos];
    r->status = SB_ST_COMPLETED;
    r->score = gen_score(ds->key, r->index, r->assessment);
    r->bad = SB_BAD_NONE;
    r->completed = completed;
}

long sb_data_find_user_id(const struct sb_dataset *ds, const char *user_id)
{
    uint64_t h = sb_str_hash(user_id);
    size_t lo = 0, hi = ds->nusers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ds->uid_index[mid].h < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < ds->nusers && ds->uid_index[lo].h == h; lo++) {
        char id[37];
        sb_user_id(ds, ds->uid_index[lo].user, id);
        if (strcmp(id, user_id) == 0)
            return (long)ds->uid_index[lo].user;
    }
    return -1;
}

#define UID_BASE 1000000UL

long sb_data_find_unique(const struct sb_dataset *ds, const char *unique_id)
{
    char *end;
    if (!unique_id[0] || unique_id[0] < '1' || unique_id[0] > '9')
        return -1;
    unsigned long v = strtoul(unique_id, &end, 10);
    if (*end || v < UID_BASE || v - UID_BASE >= ds->nusers)
        return -1;
    uint32_t u = (uint32_t)(v - UID_BASE);
    if (ds->users[u].flags & SB_U_NO_UID)
        return -1;
    return (long)u;
}

void sb_report_id(const struct sb_dataset *ds, uint32_t index, char out[37])
{
    sb_uuid(ds->key, K_REPORT_ID, index, out);
}

void sb_user_id(const struct sb_dataset *ds, uint32_t user, char out[37])
{
    sb_uuid(ds->key, K_USER_ID, user, out);
}

void sb_group_id(const struct sb_dataset *ds, int group, char out[37])
{
    sb_uuid(ds->key, K_GROUP_ID, (uint64_t)group, out);
}

const char *sb_group_name(int group)
{
    static const char *const names[SB_NGROUPS] = {"English speaking", "grammar", "New Group",
                                                  "Only WebCAPE", "Evening class"};
    return group >= 0 && group < SB_NGROUPS ? names[group] : NULL;
}

int sb_user_unique(const struct sb_dataset *ds, uint32_t user, char *out, size_t n)
{
    if (ds->users[user].flags & SB_U_NO_UID)
        return 0;
    snprintf(out, n, "%lu", UID_BASE + user);
    return 1;
}

int sb_user_student(const struct sb_dataset *ds, uint32_t user, char *out, size_t n)
{
    uint8_t f = ds->users[user].flags;
    if (f & SB_U_NO_STUDENT)
        return 0;
    if ((f & SB_U_SID_IS_UID) && !(f & SB_U_NO_UID))
        return sb_user_unique(ds, user, out, n);
    snprintf(out, n, "S%07lu", (unsigned long)((user * 7919UL + 13) % 10000000UL));
    return 1;
}

struct name {
    const char *text, *slug;
};

static const struct name given_names[] = {
    {"John", "john"},        {"Jenny", "jenny"}, {"José", "jose"},       {"Zoë", "zoe"},
    {"Łukasz", "lukasz"},    {"أحمد", "ahmad"},  {"李雷", "lilei"},      {"Maria", "maria"},
    {"Fatima", "fatima"},    {"Mateo", "mateo"}, {"Søren", "soren"},     {"Ngọc Anh", "ngocanh"},
    {"Emma 🙂", "emma"},   {"Олег", "oleg"},   {"Siobhán", "siobhan"}, {"Priya", "priya"},
    {"D'Angelo", "dangelo"}, {"Yuki", "yuki"},   {"Chloé", "chloe"},     {"Mohammed", "mohammed"},
};

static const struct name surnames[] = {
    {"Smith", "smith"},
    {"Doe", "doe"},
    {"García", "garcia"},
    {"Müller", "muller"},
    {"Kowalski", "kowalski"},
    {"O'Brien", "obrien"},
    {"李", "li"},
    {"Nguyễn", "nguyen"},
    {"Ørsted", "orsted"},
    {"El-Sayed", "elsayed"},
    {"王", "wang"},
    {"O\"Neil\\Test", "oneil"},
    {"Johnson-Smith", "johnsonsmith"},
    {"Haddad", "haddad"},
    {"Petrović", "petrovic"},
    {"Tanaka", "tanaka"},
};

void sb_user_names(const struct sb_dataset *ds, uint32_t user, struct sb_user_names *n)
{
    uint64_t h = sb_hash3(ds->key, K_NAMES, user);
    const struct name *g = &given_names[h % (sizeof given_names / sizeof given_names[0])];
    const struct name *s = &surnames[(h >> 16) % (sizeof surnames / sizeof surnames[0])];
    n->given = g->text;
    n->surname = s->text;
    n->email[0] = '\0';
    if (!(ds->users[user].flags & SB_U_NO_EMAIL))
        snprintf(n->email, sizeof n->email, "%s.%s.%u@example.com", g->slug, s->slug, user);
    if (n->email[0] && (h >> 40) % 2 == 0)
        snprintf(n->username, sizeof n->username, "%s", n->email);
    else if (!n->email[0])
        sb_user_unique(ds, user, n->username, sizeof n->username);
    else
        snprintf(n->username, sizeof n->username, "%s-%s-%u", g->slug, s->slug, user);
}

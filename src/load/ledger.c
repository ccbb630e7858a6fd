/* ledger: asks scoresync_request_grant() for each request over a connection
 * of its own, and refuses to let a request go while the ledger is away. */
#include "ledger.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/log.h"

struct ledger {
    struct db *db;
    char *prefix;
    char account[24];
    char limits[256];  /* "{25,10000}" */
    char periods[256]; /* "{1000,1200000}" (ms) */
    char margin[24];   /* ms */
    int64_t give_up_us;
    int holder;
    int64_t down_since; /* monotonic us of the first failure in a row; 0 = up */
    struct ledger_stats st;
};

static int64_t mono_us(void)
{
    return clock_system()->now_us(NULL);
}

/* Per session, so a reconnect sets them again: an ask never hangs on a lock
 * or a stuck server for long; a failed ask is retried, then gives up. */
static int session_setup(struct ledger *l, struct ss_err *err)
{
    PGresult *res = NULL;
    if (db_exec(
            l->db,
            "SELECT set_config('lock_timeout', '5s', false), "
            "set_config('statement_timeout', '10s', false), pg_backend_pid(), "
            "to_regprocedure('scoresync_request_grant(bigint,int[],int[],int,int)') IS NOT NULL",
            0, NULL, PGRES_TUPLES_OK, &res, err) != 0)
        return -1;
    l->holder = (int)strtol(PQgetvalue(res, 0, 2), NULL, 10);
    int have = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    PQclear(res);
    if (!have)
        return err_set(err, SS_EDB,
                       "the database has no request ledger (scoresync_request_grant, migration "
                       "008): run `scoresync migrate`");
    return 0;
}

/* "{a,b,...}" of n values into out (a parameter value, not SQL). */
static int int_array(char *out, size_t cap, const int64_t *v, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(out + len, cap - len, "%s%" PRId64, i ? "," : "{", v[i]);
        if (w < 0 || (size_t)w >= cap - len)
            return -1;
        len += (size_t)w;
    }
    return snprintf(out + len, cap - len, "}") == 1 ? 0 : -1;
}

int ledger_open(struct db *db, const struct ledger_opts *o, struct ledger **out, struct ss_err *err)
{
    *out = NULL;
    if (!o->windows || o->n_windows == 0 || o->n_windows > 16 || o->margin_us < 0)
        return err_set(err, SS_EINVAL, "request ledger: no windows or a negative margin");
    int64_t lim[16], per[16];
    for (size_t i = 0; i < o->n_windows; i++) {
        const struct ledger_window *w = &o->windows[i];
        if (w->limit < 1 || w->limit > INT_MAX || w->period_us < 1 ||
            w->period_us > (int64_t)INT_MAX * 1000 - 999)
            return err_set(err, SS_EINVAL, "request ledger: window %zu (%ld per %" PRId64 " us)",
                           i + 1, w->limit, w->period_us);
        lim[i] = w->limit;
        per[i] = (w->period_us + 999) / 1000; /* rounded up: never a looser window */
    }
    struct ledger *l = calloc(1, sizeof *l);
    if (!l)
        return err_set(err, SS_ENOMEM, "out of memory");
    l->prefix = strdup(o->log_prefix ? o->log_prefix : "ledger");
    l->give_up_us = o->give_up_us > 0 ? o->give_up_us : LEDGER_GIVE_UP_US;
    snprintf(l->account, sizeof l->account, "%" PRId64, o->account_id);
    snprintf(l->margin, sizeof l->margin, "%" PRId64, (o->margin_us + 999) / 1000);
    if (!l->prefix || int_array(l->limits, sizeof l->limits, lim, o->n_windows) != 0 ||
        int_array(l->periods, sizeof l->periods, per, o->n_windows) != 0) {
        ledger_close(l);
        return err_set(err, SS_ENOMEM, "out of memory");
    }
    if (db_clone(db, &l->db, err) != 0 || session_setup(l, err) != 0) {
        err_prefix(err, "opening the request ledger");
        ledger_close(l);
        return -1;
    }
    *out = l;
    return 0;
}

void ledger_close(struct ledger *l)
{
    if (!l)
        return;
    if (l->db)
        log_debug("%s: request ledger: %ld grants, %ld waits for the budget, %ld failed asks",
                  l->prefix, l->st.grants, l->st.waits, l->st.failures);
    db_close(l->db);
    free(l->prefix);
    free(l);
}

static int ask(struct ledger *l, int64_t *wait_us, struct ss_err *err)
{
    const char *params[] = {l->account, l->limits, l->periods, l->margin};
    PGresult *res = NULL;
    if (db_exec(l->db,
                "SELECT scoresync_request_grant($1::bigint, $2::int[], $3::int[], $4::int, 1)", 4,
                params, PGRES_TUPLES_OK, &res, err) != 0)
        return -1;
    *wait_us = (int64_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

/* A connection the server or the network dropped is opened again at once. */
static int reconnect(struct ledger *l, struct ss_err *err)
{
    PGconn *c = db_conn(l->db);
    if (PQstatus(c) == CONNECTION_OK)
        return -1; /* the connection is fine; the statement failed */
    PQreset(c);
    if (PQstatus(c) != CONNECTION_OK)
        return err_set(err, SS_EDB, "reconnecting: %s", PQerrorMessage(c));
    return session_setup(l, err);
}

int ledger_acquire(struct ledger *l, int64_t *wait_us, struct ss_err *err)
{
    *wait_us = 0;
    struct ss_err e = {0};
    int rc = ask(l, wait_us, &e);
    if (rc != 0 && reconnect(l, &e) == 0)
        rc = ask(l, wait_us, &e);
    if (rc == 0) {
        if (l->down_since) {
            log_info("%s: the request ledger answers again", l->prefix);
            l->down_since = 0;
        }
        if (*wait_us > 0)
            l->st.waits++;
        else
            l->st.grants++;
        return 0;
    }
    l->st.failures++;
    int64_t now = mono_us();
    if (!l->down_since) {
        l->down_since = now;
        log_warn("%s: the request ledger does not answer (%s); requests wait for it, at most "
                 "%.0f s",
                 l->prefix, e.msg, (double)l->give_up_us / 1e6);
    }
    int64_t left = l->down_since + l->give_up_us - now;
    if (left <= 0)
        return err_set(err, SS_EDB,
                       "the request ledger has not answered for %.0f s (%s): no request is sent "
                       "without it, since other processes may share the account's limits",
                       (double)(now - l->down_since) / 1e6, e.msg);
    *wait_us = left < LEDGER_RETRY_US ? left : LEDGER_RETRY_US;
    return 0;
}

void ledger_block(struct ledger *l, int64_t block_us)
{
    char ms[24];
    snprintf(ms, sizeof ms, "%" PRId64, block_us > 0 ? (block_us + 999) / 1000 : 0);
    const char *params[] = {l->account, ms};
    struct ss_err e = {0};
    if (db_exec(l->db, "SELECT scoresync_request_block($1::bigint, $2::bigint)", 2, params,
                PGRES_TUPLES_OK, NULL, &e) != 0)
        log_warn("%s: could not tell the request ledger about the vendor's 429: %s", l->prefix,
                 e.msg);
}

int64_t ledger_admit(void *ledger, struct ss_err *err)
{
    int64_t wait = 0;
    if (ledger_acquire(ledger, &wait, err) != 0)
        return -1;
    return wait;
}

void ledger_refused(void *ledger, int64_t block_us)
{
    ledger_block(ledger, block_us);
}

const struct ledger_stats *ledger_stats(const struct ledger *l)
{
    return &l->st;
}

int ledger_holder(const struct ledger *l)
{
    return l->holder;
}

int ledger_recent(struct db *db, int64_t account_id, int64_t horizon_us, struct ledger_sent **out,
                  size_t *n, long *holders, struct ss_err *err)
{
    *out = NULL;
    *n = 0;
    *holders = 0;
    char acct[32], horizon[32];
    snprintf(acct, sizeof acct, "%" PRId64, account_id);
    snprintf(horizon, sizeof horizon, "%" PRId64, horizon_us);
    const char *params[] = {acct, horizon};
    PGresult *res;
    if (db_exec(db,
                "WITH t AS (SELECT clock_timestamp() AS now), g AS (SELECT at, holder "
                "FROM request_ledger, t WHERE account_id = $1::bigint "
                "AND at > t.now - $2::bigint * interval '1 microsecond') "
                "SELECT count(*), (extract(epoch FROM t.now - at) * 1e6)::bigint, "
                "(SELECT count(DISTINCT holder) FROM g) FROM g, t GROUP BY at, t.now ORDER BY at",
                2, params, PGRES_TUPLES_OK, &res, err) != 0)
        return err_prefix(err, "reading the request ledger");
    int rows = PQntuples(res);
    if (rows > 0 && !(*out = malloc((size_t)rows * sizeof **out))) {
        PQclear(res);
        return err_set(err, SS_ENOMEM, "out of memory");
    }
    for (int i = 0; i < rows; i++) {
        (*out)[i].requests = strtol(PQgetvalue(res, i, 0), NULL, 10);
        (*out)[i].age_us = strtoll(PQgetvalue(res, i, 1), NULL, 10);
    }
    if (rows > 0)
        *holders = strtol(PQgetvalue(res, 0, 2), NULL, 10);
    *n = (size_t)rows;
    PQclear(res);
    return 0;
}

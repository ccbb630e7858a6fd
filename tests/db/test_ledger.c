/* test_ledger: the request ledger (sql/008_request_ledger.sql) and its client
 * (load/ledger.h) against a real server. Two connections play two processes
 * ("holders") sharing one account's budget: whatever order they ask in, no
 * span of P + margin ever holds more than L grants, the waits returned are
 * exact, and rows past every window are pruned. */
#include "dbtest.c"

#include <inttypes.h>
#include <pthread.h>
#include <time.h>

#include "core/log.h"
#include "load/ledger.h"

struct lg {
    struct dbt *t; /* first member: dbt_teardown frees through it */
    struct db *h2; /* the second holder */
    int64_t acct;
    char acct_s[24];
};

static int lg_setup(void **state)
{
    if (dbt_setup(state) != 0)
        return -1;
    struct dbt *t = *state;
    struct lg *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->t = t;
    struct loader *l = dbt_migrated_loader(t->db, "vendor", "acct", &x->acct);
    loader_free(l);
    snprintf(x->acct_s, sizeof x->acct_s, "%" PRId64, x->acct);
    struct ss_err err = {0};
    if (db_clone(t->db, &x->h2, &err) != 0)
        fail_msg("db_clone: %s", err.msg);
    *state = x;
    return 0;
}

static int lg_teardown(void **state)
{
    struct lg *x = *state;
    db_close(x->h2);
    void *inner = x->t;
    free(x);
    return dbt_teardown(&inner);
}

/* One call of scoresync_request_grant on holder db: 0 granted, > 0 wait. */
static int64_t grant(struct db *db, const char *acct, const char *limits, const char *periods_ms,
                     const char *margin_ms, const char *n)
{
    const char *p[] = {acct, limits, periods_ms, margin_ms, n};
    char *v = dbt_val(db,
                      "SELECT scoresync_request_grant($1::bigint, $2::int[], $3::int[], $4::int, "
                      "$5::int)",
                      5, p);
    int64_t w = strtoll(v, NULL, 10);
    free(v);
    return w;
}

/* The server's clock, in us since the epoch. */
static int64_t server_us(struct db *db)
{
    char *v =
        dbt_val(db, "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint", 0, NULL);
    int64_t t = strtoll(v, NULL, 10);
    free(v);
    return t;
}

static long ledger_rows(struct db *db, const char *acct)
{
    const char *p[] = {acct};
    char *v =
        dbt_val(db, "SELECT count(*) FROM request_ledger WHERE account_id = $1::bigint", 1, p);
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

/* Most grants of the account found in any half-open span [at, at + span_ms). */
static long busiest_span(struct db *db, const char *acct, int span_ms)
{
    char ms[16];
    snprintf(ms, sizeof ms, "%d", span_ms);
    const char *p[] = {acct, ms};
    char *v =
        dbt_val(db,
                "SELECT coalesce(max(c), 0) FROM (SELECT (SELECT count(*) FROM request_ledger b "
                "WHERE b.account_id = a.account_id AND b.at >= a.at "
                "AND b.at < a.at + $2::int * interval '1 ms') AS c "
                "FROM request_ledger a WHERE a.account_id = $1::bigint) s",
                2, p);
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

static void sleep_us(int64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Runs a parameterised statement, failing the test on error. */
static void exec_params(struct db *db, const char *sql, int n, const char *const *p)
{
    PGresult *r = PQexecParams(db_conn(db), sql, n, NULL, p, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

static int pid_of(struct db *db)
{
    return PQbackendPID(db_conn(db));
}

/* Three grants fill 3 per 400 ms (+20 ms margin); the fourth is told to wait
 * exactly until the first leaves the span, and is granted after that wait. */
static void test_wait_is_exact(void **state)
{
    struct lg *x = *state;
    struct db *a = x->t->db, *b = x->h2;
    assert_int_equal(grant(a, x->acct_s, "{3}", "{400}", "20", "1"), 0);
    assert_int_equal(grant(b, x->acct_s, "{3}", "{400}", "20", "1"), 0);
    assert_int_equal(grant(a, x->acct_s, "{3}", "{400}", "20", "1"), 0);
    const char *p[] = {x->acct_s};
    char *v = dbt_val(a,
                      "SELECT (extract(epoch FROM min(at)) * 1000000)::bigint FROM request_ledger "
                      "WHERE account_id = $1::bigint",
                      1, p);
    int64_t first = strtoll(v, NULL, 10);
    free(v);
    int64_t before = server_us(b);
    int64_t w = grant(b, x->acct_s, "{3}", "{400}", "20", "1");
    int64_t after = server_us(b);
    /* The answer was computed at some instant between before and after. */
    assert_true(w > 0);
    assert_true(w >= first + 420000 - after);
    assert_true(w <= first + 420000 - before + 1);
    assert_int_equal(ledger_rows(a, x->acct_s), 3); /* a wait records nothing */

    /* Both holders' grants count in the one budget. */
    char pids[64];
    snprintf(pids, sizeof pids, "%d,%d", pid_of(a) < pid_of(b) ? pid_of(a) : pid_of(b),
             pid_of(a) < pid_of(b) ? pid_of(b) : pid_of(a));
    assert_sql_eq(a, pids,
                  "SELECT string_agg(h::text, ',' ORDER BY h) FROM (SELECT DISTINCT holder AS h "
                  "FROM request_ledger WHERE account_id = $1::bigint) s",
                  x->acct_s);
    sleep_us(w);
    assert_int_equal(grant(b, x->acct_s, "{3}", "{400}", "20", "1"), 0);
}

/* One holder of the concurrent test: asks as fast as it is allowed. */
struct holder {
    struct db *db;
    const char *acct;
    int64_t run_us;
    long got, waits, errors;
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *holder_run(void *arg)
{
    struct holder *h = arg;
    const char *p[] = {h->acct, "{5,100000}", "{200,60000}", "10", "1"};
    int64_t t0 = mono_us();
    while (mono_us() - t0 < h->run_us) {
        /* The long window keeps every row for the check afterwards. */
        PGresult *r = PQexecParams(db_conn(h->db),
                                   "SELECT scoresync_request_grant($1::bigint, $2::int[], "
                                   "$3::int[], $4::int, $5::int)",
                                   5, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            h->errors++;
            PQclear(r);
            break;
        }
        int64_t w = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        if (w == 0) {
            h->got++;
        } else {
            h->waits++;
            sleep_us(w);
        }
    }
    return NULL;
}

/* Two holders asking at the same time, each as fast as it is allowed, for
 * 1.2 s: never more than L in any span of P + margin across both, both are
 * served, and the budget is used (each wait ends when a slot opens). */
static void test_two_holders_never_exceed(void **state)
{
    struct lg *x = *state;
    struct holder h[2] = {{x->t->db, x->acct_s, 1200000, 0, 0, 0},
                          {x->h2, x->acct_s, 1200000, 0, 0, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, holder_run, &h[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(h[0].errors + h[1].errors, 0);
    long total = h[0].got + h[1].got;
    assert_true(h[0].got > 0 && h[1].got > 0);
    assert_true(h[0].waits > 0 && h[1].waits > 0);
    assert_int_equal(ledger_rows(x->t->db, x->acct_s), total);
    assert_true(busiest_span(x->t->db, x->acct_s, 210) <= 5);
    assert_true(busiest_span(x->t->db, x->acct_s, 200) <= 5);
    /* 1.2 s holds 5 per 210 ms about 5.7 times: at least 80% of that. */
    long ideal = 5 * 1200000 / 210000;
    print_message("two holders: %ld + %ld grants in 1.2 s (ideal %ld), %ld + %ld waits\n", h[0].got,
                  h[1].got, ideal, h[0].waits, h[1].waits);
    assert_true(total >= ideal * 8 / 10);
}

/* All windows at once, blocks of n > 1, a block larger than a window, and
 * giving unused grants back. */
static void test_windows_and_blocks(void **state)
{
    struct lg *x = *state;
    struct db *a = x->t->db;
    /* 4 per 100 ms and 6 per 2 s, no margin. */
    assert_int_equal(grant(a, x->acct_s, "{4,6}", "{100,2000}", "0", "2"), 0);
    assert_int_equal(ledger_rows(a, x->acct_s), 2);
    assert_int_equal(grant(a, x->acct_s, "{4,6}", "{100,2000}", "0", "2"), 0);
    int64_t w = grant(a, x->acct_s, "{4,6}", "{100,2000}", "0", "2");
    assert_true(w > 0 && w <= 100000); /* the short window is full */
    sleep_us(w);
    assert_int_equal(grant(a, x->acct_s, "{4,6}", "{100,2000}", "0", "2"), 0);
    assert_int_equal(ledger_rows(a, x->acct_s), 6);
    /* The long window is full now: the wait is until the first pair leaves it. */
    w = grant(a, x->acct_s, "{4,6}", "{100,2000}", "0", "1");
    assert_true(w > 1500000 && w <= 2000000);

    /* A block larger than a window can never be granted: refused. */
    const char *p[] = {x->acct_s};
    PGresult *r = PQexecParams(db_conn(a),
                               "SELECT scoresync_request_grant($1::bigint, '{4,6}', '{100,2000}', "
                               "0, 5)",
                               1, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    assert_non_null(strstr(PQresultErrorMessage(r), "exceeds the window"));
    PQclear(r);

    /* One of the last pair was not sent: given back, it frees its slot. */
    assert_sql_eq(a, "1", "SELECT scoresync_request_release($1::bigint, 1)", x->acct_s);
    assert_int_equal(ledger_rows(a, x->acct_s), 5);
    /* Another connection's grants are not this one's to give back. */
    assert_sql_eq(x->h2, "0", "SELECT scoresync_request_release($1::bigint, 3)", x->acct_s);
    assert_int_equal(grant(a, x->acct_s, "{4,6}", "{100,2000}", "0", "1"), 0);
}

/* Rows past the longest window anyone declared are pruned on the next grant;
 * a caller with a short window does not prune what a longer one still counts. */
static void test_prune_keeps_longest(void **state)
{
    struct lg *x = *state;
    struct db *a = x->t->db;
    char other[24];
    snprintf(other, sizeof other, "%" PRId64, x->acct + 1);
    const char *ins = "INSERT INTO request_ledger (account_id, at, holder) "
                      "SELECT $1::bigint, clock_timestamp() - s * interval '1 ms', 0 "
                      "FROM unnest($2::int[]) s";
    /* 3 h, 1 h, 3 s and 10 ms ago on the account. */
    const char *p1[] = {x->acct_s, "{10800000,3600000,3000,10}"};
    exec_params(a, ins, 2, p1);
    /* A 2 h window: the 3 h row goes, the rest stays. */
    assert_int_equal(grant(a, x->acct_s, "{100}", "{7200000}", "0", "1"), 0);
    assert_int_equal(ledger_rows(a, x->acct_s), 4);
    assert_sql_eq(a, "7200000",
                  "SELECT keep_ms FROM request_ledger_accounts WHERE account_id = $1::bigint",
                  x->acct_s);
    /* A 1 s window on the same account: the 1 h row stays (the 2 h caller counts it). */
    assert_int_equal(grant(x->h2, x->acct_s, "{100}", "{1000}", "50", "1"), 0);
    assert_int_equal(ledger_rows(a, x->acct_s), 5);
    assert_sql_eq(a, "7200000",
                  "SELECT keep_ms FROM request_ledger_accounts WHERE account_id = $1::bigint",
                  x->acct_s);

    /* Another account only ever asked with 1 s + 50 ms: its 3 s row goes. */
    const char *p2[] = {other, "{3000,10}"};
    exec_params(a, ins, 2, p2);
    assert_int_equal(grant(a, other, "{100}", "{1000}", "50", "1"), 0);
    assert_int_equal(ledger_rows(a, other), 2);
    assert_sql_eq(a, "1050",
                  "SELECT keep_ms FROM request_ledger_accounts WHERE account_id = $1::bigint",
                  other);
    assert_int_equal(ledger_rows(a, x->acct_s), 5); /* accounts are separate */
}

/* A vendor's 429 blocks every holder; a shorter block later does not shorten it. */
static void test_block(void **state)
{
    struct lg *x = *state;
    exec_params(x->t->db, "SELECT scoresync_request_block($1::bigint, 300)", 1,
                (const char *[]){x->acct_s});
    int64_t w = grant(x->h2, x->acct_s, "{100}", "{1000}", "0", "1");
    assert_true(w > 200000 && w <= 300000);
    exec_params(x->t->db, "SELECT scoresync_request_block($1::bigint, 10)", 1,
                (const char *[]){x->acct_s});
    w = grant(x->h2, x->acct_s, "{100}", "{1000}", "0", "1");
    assert_true(w > 150000);
    sleep_us(w);
    assert_int_equal(grant(x->h2, x->acct_s, "{100}", "{1000}", "0", "1"), 0);
}

/* A slot that opens goes to the holder that has waited longest, even when
 * another asks first; a waiter that does not come back within 50 ms of when
 * it said it would is passed over. One request per 300 ms. */
static void test_first_come_first_served(void **state)
{
    struct lg *x = *state;
    struct db *a = x->t->db, *b = x->h2;
    assert_int_equal(grant(a, x->acct_s, "{1}", "{300}", "0", "1"), 0);
    int64_t wb = grant(b, x->acct_s, "{1}", "{300}", "0", "1"); /* b waits first */
    int64_t wa = grant(a, x->acct_s, "{1}", "{300}", "0", "1"); /* then a */
    assert_true(wb > 0 && wa > 0 && wa <= wb);
    assert_sql_eq(a, "2",
                  "SELECT count(*) FROM request_ledger_waiters WHERE account_id = $1::bigint",
                  x->acct_s);
    sleep_us(wa);
    /* a is back first, but b has waited longer and is due: a asks again in 1 ms. */
    int64_t w = grant(a, x->acct_s, "{1}", "{300}", "0", "1");
    assert_true(w > 0 && w <= 2000);
    assert_int_equal(grant(b, x->acct_s, "{1}", "{300}", "0", "1"), 0);
    w = grant(a, x->acct_s, "{1}", "{300}", "0", "1");
    assert_true(w > 250000); /* the next slot */
    char pid[16];
    snprintf(pid, sizeof pid, "%d", pid_of(a));
    assert_sql_eq(a, pid, "SELECT string_agg(holder::text, ',') FROM request_ledger_waiters");

    /* a never comes back for its slot: 50 ms after it, b may take it. */
    sleep_us(w + 40000);
    w = grant(b, x->acct_s, "{1}", "{300}", "0", "1");
    assert_true(w > 0 && w <= 12000); /* a still has its turn */
    sleep_us(25000);
    assert_int_equal(grant(b, x->acct_s, "{1}", "{300}", "0", "1"), 0);
}

/* The C client: grants carry its own connection's pid; a connection the
 * server dropped is reopened at once; a ledger that stays broken fails the
 * request after give_up_us, never lets it through. */
static void test_client(void **state)
{
    struct lg *x = *state;
    struct ss_err err = {0};
    const struct ledger_window w[] = {{3, 300000}};
    const struct ledger_opts o = {
        .account_id = x->acct,
        .windows = w,
        .n_windows = 1,
        .margin_us = 0,
        .give_up_us = 300000,
        .log_prefix = "test/acct",
    };
    struct ledger *l = NULL;
    assert_int_equal(ledger_open(x->t->db, &o, &l, &err), 0);
    int64_t wait = -1;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ledger_acquire(l, &wait, &err), 0);
        assert_int_equal(wait, 0);
    }
    assert_int_equal(ledger_acquire(l, &wait, &err), 0);
    assert_true(wait > 0 && wait <= 300000);
    assert_true(ledger_admit(l, &err) > 0); /* the http hook says the same */
    assert_int_equal(ledger_stats(l)->grants, 3);
    char pid[16];
    snprintf(pid, sizeof pid, "%d", ledger_holder(l));
    assert_sql_eq(x->t->db, "3", "SELECT count(*) FROM request_ledger WHERE holder = $1::int", pid);

    /* The server drops the ledger's connection: the next ask reconnects. */
    assert_sql_eq(x->t->db, "t", "SELECT pg_terminate_backend($1::int)", pid);
    /* (Past the slot and the 50 ms its old connection, a waiter, keeps its turn.) */
    sleep_us(wait + 60000);
    assert_int_equal(ledger_acquire(l, &wait, &err), 0);
    assert_int_equal(wait, 0);
    assert_true(ledger_holder(l) != atoi(pid));
    assert_int_equal(ledger_stats(l)->failures, 0);

    /* The ledger breaks for good: asks wait, then the request fails unsent. */
    dbt_exec(x->t->db, "ALTER FUNCTION scoresync_request_grant(bigint, int[], int[], int, int) "
                       "RENAME TO gone");
    int64_t t0 = server_us(x->t->db), waited = 0;
    int rc;
    while ((rc = ledger_acquire(l, &wait, &err)) == 0) {
        assert_true(wait > 0 && wait <= LEDGER_RETRY_US);
        sleep_us(wait);
        waited += wait;
        assert_true(waited < 5000000);
    }
    assert_int_equal(rc, -1);
    assert_true(server_us(x->t->db) - t0 >= 300000);
    assert_non_null(strstr(err.msg, "no request is sent without it"));
    assert_true(ledger_stats(l)->failures >= 2);
    ledger_close(l);

    /* A database without the ledger is refused when opening. */
    assert_int_equal(ledger_open(x->t->db, &o, &l, &err), -1);
    assert_non_null(strstr(err.msg, "scoresync migrate"));
}

/* ledger_recent: what every holder was granted in the window, oldest first,
 * with ages by the server's clock; nothing of another account or older. */
static void test_recent(void **state)
{
    struct lg *x = *state;
    struct ss_err err = {0};
    struct ledger_sent *r = NULL;
    size_t n = 7;
    long holders = -1;
    if (ledger_recent(x->t->db, x->acct, 60000000, &r, &n, &holders, &err) != 0)
        fail_msg("ledger_recent: %s", err.msg);
    assert_int_equal(n, 0);
    assert_null(r);
    assert_int_equal(holders, 0);
    assert_int_equal(grant(x->t->db, x->acct_s, "{100}", "{60000}", "0", "2"), 0);
    sleep_us(20000);
    assert_int_equal(grant(x->h2, x->acct_s, "{100}", "{60000}", "0", "1"), 0);
    /* Another account's grant and an old one are not counted. */
    const char *p[] = {x->acct_s};
    char *v = dbt_val(x->t->db,
                      "INSERT INTO request_ledger (account_id, at, holder) "
                      "VALUES ($1::bigint + 1, clock_timestamp(), 1), "
                      "($1::bigint, clock_timestamp() - interval '2 hours', 1) RETURNING 1",
                      1, p);
    free(v);
    assert_int_equal(ledger_recent(x->t->db, x->acct, 60000000, &r, &n, &holders, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(holders, 2);
    assert_int_equal(r[0].requests, 2); /* the block of two, stamped at once */
    assert_int_equal(r[1].requests, 1);
    assert_true(r[0].age_us > r[1].age_us && r[1].age_us >= 0);
    assert_true(r[0].age_us - r[1].age_us >= 20000 && r[0].age_us < 60000000);
    free(r);
    /* A horizon shorter than the gap sees only the later grant. */
    int64_t horizon = 15000;
    assert_int_equal(ledger_recent(x->t->db, x->acct, horizon, &r, &n, &holders, &err), 0);
    assert_true(n <= 1);
    free(r);
}

int main(void)
{
    log_set_level(LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wait_is_exact, lg_setup, lg_teardown),
        cmocka_unit_test_setup_teardown(test_two_holders_never_exceed, lg_setup, lg_teardown),
        cmocka_unit_test_setup_teardown(test_windows_and_blocks, lg_setup, lg_teardown),
        cmocka_unit_test_setup_teardown(test_prune_keeps_longest, lg_setup, lg_teardown),
        cmocka_unit_test_setup_teardown(test_block, lg_setup, lg_teardown),
        cmocka_unit_test_setup_teardown(test_first_come_first_served, lg_setup, lg_teardown),
        cmocka_unit_test_setup_teardown(test_client, lg_setup, lg_teardown),
        cmocka_unit_test_setup_teardown(test_recent, lg_setup, lg_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

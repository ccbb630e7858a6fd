/* scoresync status: checkpoints, recent runs, quarantine and unknown labels. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/clock.h"
#include "../core/jsonw.h"
#include "../core/log.h"
#include "../core/timeparse.h"
#include "../load/runs.h"
#include "../vendors/vendor.h"
#include "common.h"

/* Results no sync will read again: unfinished (per the vendor stream's
 * re-check statuses) and older than the account's recheck_days. Their final
 * state can only come from a backfill over their dates. */
static int print_unfinished_past(const struct config *cfg, struct db *db)
{
    int shown = 0;
    printf("\nUnfinished results past the re-check horizon (recheck_days; no longer re-read)\n");
    for (size_t i = 0; i < cfg->n_vendors; i++) {
        const struct vendor_ops *v = vendor_find(cfg->vendors[i].name);
        for (const struct vendor_stream *vs = v ? v->streams : NULL; vs && vs->name; vs++) {
            if (!vs->recheck_statuses)
                continue;
            for (size_t j = 0; j < cfg->vendors[i].n_accounts; j++) {
                const struct cfg_account *a = &cfg->vendors[i].accounts[j];
                long n = 0;
                char oldest[64];
                struct ss_err err = {0};
                if (load_unfinished_past(db, v->name, a->name, vs->name, vs->recheck_column,
                                         vs->recheck_statuses, a->recheck_days, &n, oldest,
                                         sizeof oldest, &err) != 0) {
                    log_error("%s", err.msg);
                    return -1;
                }
                if (n == 0)
                    continue;
                printf("  %s/%s %s: %ld results (%s by %s, the oldest %s); a backfill over "
                       "their dates reads them again\n",
                       v->name, a->name, vs->name, n, "unfinished",
                       strcmp(vs->recheck_column, "started_at") == 0 ? "start" : "completion",
                       oldest);
                shown++;
            }
        }
    }
    if (!shown)
        printf("  (none)\n");
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: scoresync [--config FILE] status [--runs N] [--json] [--check [--max-age D]]\n"
            "\n"
            "Shows each stream's checkpoint, the last runs, open quarantine records,\n"
            "labels the mapping tables do not know (results loaded with null ordinals)\n"
            "and unfinished results too old to be re-read (recheck_days).\n"
            "\n"
            "  --runs N    how many recent runs to list (default 10)\n"
            "  --json      one JSON document instead: every configured account with, per\n"
            "              enabled stream, its checkpoint, last sync run (status, times,\n"
            "              error, counts), last success and health\n"
            "  --check     exit 0 when the last sync of every enabled stream of every\n"
            "              configured account ended ok within --max-age, else exit 6\n"
            "              with one line per problem (failed, stale, never synced)\n"
            "  --max-age D with --check: 26h (default), 90m, 1h30m, 2d, 45s or seconds\n"
            "  -h, --help  show this help\n");
}

/* Prints a result as an aligned table. */
static void print_table(const char *title, PGresult *r)
{
    int nf = PQnfields(r), nt = PQntuples(r);
    int w[32] = {0};
    if (nf > 32)
        nf = 32;
    for (int j = 0; j < nf; j++) {
        w[j] = (int)strlen(PQfname(r, j));
        for (int i = 0; i < nt; i++) {
            int l = PQgetlength(r, i, j);
            if (l > w[j])
                w[j] = l > 60 ? 60 : l;
        }
    }
    printf("\n%s\n", title);
    for (int j = 0; j < nf; j++)
        printf("%s%-*s", j ? "  " : "  ", w[j], PQfname(r, j));
    printf("\n");
    for (int i = 0; i < nt; i++) {
        for (int j = 0; j < nf; j++)
            printf("%s%-*.*s", j ? "  " : "  ", w[j], 60, PQgetvalue(r, i, j));
        printf("\n");
    }
    if (nt == 0)
        printf("  (none)\n");
}

/* ---- status --json / --check: monitoring ----------------------------------- */

/* "26h", "90m", "1h30m", "2d", "45s" or plain seconds -> seconds; -1 if bad. */
static double parse_duration_s(const char *s)
{
    double total = 0;
    int parts = 0;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || v < 0)
            return -1;
        double unit = 1;
        switch (*end) {
        case 'd':
            unit = 86400;
            end++;
            break;
        case 'h':
            unit = 3600;
            end++;
            break;
        case 'm':
            unit = 60;
            end++;
            break;
        case 's':
            end++;
            break;
        case '\0':
            if (parts)
                return -1; /* "1h30": say the unit */
            break;
        default:
            return -1;
        }
        total += v * unit;
        parts++;
        s = end;
    }
    return parts ? total : -1;
}

/* The sync checkpoint and the last finished *sync* run of one configured
 * stream (a backfill does not stand in for the nightly sync), its last ok
 * run and whether one is running now. Column order is used below. */
static const char stream_health_sql[] =
    "SELECT c.cursor, " /* 0 */
    "to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "r.id, r.status, " /* 2-3 */
    "to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "to_char(r.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), " /* 5 */
    "extract(epoch FROM now() - r.finished_at)::float8, r.error, "                  /* 6-7 */
    "r.results_inserted, r.results_updated, r.results_unchanged, r.quarantined, "   /* 8-11 */
    "r.requests, r.retries, r.status_429, "                                         /* 12-14 */
    "(SELECT to_char(max(s.finished_at) AT TIME ZONE 'UTC', "
    "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM sync_runs s WHERE s.account_id = a.id "
    "  AND s.stream = $3 AND s.mode = 'sync' AND s.status = 'ok'), " /* 15 */
    "(SELECT count(*) FROM sync_runs s WHERE s.account_id = a.id AND s.stream = $3 "
    "  AND s.status = 'running' AND s.started_at > now() - interval '1 day') " /* 16 */
    "FROM (SELECT $1::text AS vendor, $2::text AS account) k "
    "LEFT JOIN vendor_accounts a ON a.vendor = k.vendor AND a.account = k.account "
    "LEFT JOIN checkpoints c ON c.account_id = a.id AND c.stream = $3 "
    "LEFT JOIN LATERAL (SELECT * FROM sync_runs r WHERE r.account_id = a.id AND r.stream = $3 "
    "  AND r.mode = 'sync' AND r.status <> 'running' ORDER BY r.id DESC LIMIT 1) r ON true";

static const char account_counts_sql[] =
    "SELECT (SELECT count(*) FROM results r WHERE r.account_id = a.id), "
    "(SELECT count(*) FROM quarantine q WHERE q.account_id = a.id AND q.resolved_at IS NULL) "
    "FROM vendor_accounts a WHERE a.vendor = $1 AND a.account = $2";

static const char *col(PGresult *r, int j)
{
    return PQgetisnull(r, 0, j) ? NULL : PQgetvalue(r, 0, j);
}

static void jw_kcount(struct jsonw *w, const char *key, PGresult *r, int j)
{
    jw_kint(w, key, PQgetisnull(r, 0, j) ? 0 : atoll(PQgetvalue(r, 0, j)));
}

/* Health of every enabled stream of every configured account: JSON into w
 * (when w != NULL) and one line per problem into problems. Returns the
 * number of problems, or -1 on a database error. */
static int status_health(const struct config *cfg, struct db *db, double max_age_s, struct jsonw *w,
                         struct buf *problems, int *n_streams)
{
    int n_problems = 0;
    struct ss_err err = {0};
    *n_streams = 0;
    if (w) {
        jw_key(w, "accounts");
        jw_open(w, '[');
    }
    for (size_t i = 0; i < cfg->n_vendors; i++) {
        const struct vendor_ops *v = vendor_find(cfg->vendors[i].name);
        for (size_t j = 0; j < cfg->vendors[i].n_accounts; j++) {
            const struct cfg_account *a = &cfg->vendors[i].accounts[j];
            const char *params[] = {cfg->vendors[i].name, a->name, NULL};
            PGresult *r = NULL;
            if (w) {
                jw_open(w, '{');
                jw_kstr(w, "vendor", cfg->vendors[i].name);
                jw_kstr(w, "account", a->name);
                if (db_exec(db, account_counts_sql, 2, params, PGRES_TUPLES_OK, &r, &err) != 0)
                    goto db_fail;
                jw_kint(w, "results", PQntuples(r) ? atoll(PQgetvalue(r, 0, 0)) : 0);
                jw_kint(w, "quarantine_open", PQntuples(r) ? atoll(PQgetvalue(r, 0, 1)) : 0);
                PQclear(r);
                r = NULL;
                jw_key(w, "streams");
                jw_open(w, '[');
            }
            for (const struct vendor_stream *vs = v ? v->streams : NULL; vs && vs->name; vs++) {
                if (!cfg_stream_enabled(a, vs->name))
                    continue;
                (*n_streams)++;
                params[2] = vs->name;
                if (db_exec(db, stream_health_sql, 3, params, PGRES_TUPLES_OK, &r, &err) != 0)
                    goto db_fail;
                const char *status = col(r, 3), *finished = col(r, 5), *error = col(r, 7);
                double age = col(r, 6) ? atof(col(r, 6)) : 0;
                char problem[1400] = "";
                if (!status)
                    snprintf(problem, sizeof problem, "never synced");
                else if (strcmp(status, "ok") != 0)
                    snprintf(problem, sizeof problem, "last sync %s (finished %s): %.1000s", status,
                             finished ? finished : "?", error ? error : "no error recorded");
                else if (age > max_age_s)
                    snprintf(problem, sizeof problem,
                             "stale: last sync finished %s, %.0f s ago (max age %.0f s)",
                             finished ? finished : "?", age, max_age_s);
                if (problem[0]) {
                    n_problems++;
                    struct ss_err berr = {0};
                    if (buf_appendf(problems, &berr, "%s/%s %s: %s\n", cfg->vendors[i].name,
                                    a->name, vs->name, problem) != 0)
                        log_warn("%s", berr.msg);
                }
                if (w) {
                    jw_open(w, '{');
                    jw_kstr(w, "stream", vs->name);
                    jw_kstr(w, "checkpoint", col(r, 0));
                    jw_kstr(w, "checkpoint_updated_at", col(r, 1));
                    jw_kstr(w, "last_success_at", col(r, 15));
                    jw_kbool(w, "running", col(r, 16) && atoll(col(r, 16)) > 0);
                    jw_kbool(w, "healthy", !problem[0]);
                    if (problem[0])
                        jw_kstr(w, "problem", problem);
                    else
                        jw_knull(w, "problem");
                    jw_key(w, "last_run");
                    if (!status) {
                        jw_null(w);
                    } else {
                        jw_open(w, '{');
                        jw_kint(w, "id", atoll(col(r, 2)));
                        jw_kstr(w, "status", status);
                        jw_kstr(w, "started_at", col(r, 4));
                        jw_kstr(w, "finished_at", finished);
                        jw_krawf(w, "age_seconds", "%.0f", age);
                        jw_kstr(w, "error", error);
                        jw_kcount(w, "results_new", r, 8);
                        jw_kcount(w, "results_updated", r, 9);
                        jw_kcount(w, "results_unchanged", r, 10);
                        jw_kcount(w, "quarantined", r, 11);
                        jw_kcount(w, "requests", r, 12);
                        jw_kcount(w, "retries", r, 13);
                        jw_kcount(w, "status_429", r, 14);
                        jw_close(w, '}');
                    }
                    jw_close(w, '}');
                }
                PQclear(r);
                r = NULL;
            }
            if (w) {
                jw_close(w, ']');
                jw_close(w, '}');
            }
            continue;
        db_fail:
            PQclear(r);
            log_error("%s", err.msg);
            log_hint("has `scoresync migrate` been run?");
            return -1;
        }
    }
    if (w)
        jw_close(w, ']');
    return n_problems;
}

/* status --json and/or --check. */
static int status_monitor(const struct config *cfg, struct db *db, int json, int check,
                          double max_age_s)
{
    struct buf problems, out;
    buf_init(&problems, 1u << 20);
    buf_init(&out, 64u << 20);
    struct jsonw w;
    jw_init(&w, &out);
    int n_streams = 0, rc = EXIT_OK;
    if (json) {
        char now[40];
        ts_format(clock_wall_us(), now, sizeof now);
        jw_open(&w, '{');
        jw_kstr(&w, "generated_at", now);
        jw_krawf(&w, "max_age_seconds", "%.0f", max_age_s);
    }
    int n = status_health(cfg, db, max_age_s, json ? &w : NULL, &problems, &n_streams);
    if (n < 0) {
        rc = EXIT_FATAL;
        goto out;
    }
    if (json) {
        jw_kbool(&w, "healthy", n == 0);
        jw_kint(&w, "problems", n);
        jw_close(&w, '}');
        if (w.failed) {
            log_error("status --json: the document did not fit in memory");
            rc = EXIT_FATAL;
            goto out;
        }
        printf("%s\n", out.data);
    }
    if (check) {
        if (!json) {
            if (problems.len)
                fputs(problems.data, stdout);
            if (n == 0)
                printf("ok: %d stream%s of the configured accounts synced ok within %.0f s\n",
                       n_streams, n_streams == 1 ? "" : "s", max_age_s);
        }
        if (n > 0)
            rc = EXIT_UNHEALTHY;
    }
out:
    buf_free(&problems);
    buf_free(&out);
    return rc;
}

int cmd_status(int argc, char **argv, const struct cli_globals *g)
{
    static const struct option opts[] = {
        {"runs", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'},
        {"check", no_argument, NULL, 'k'},      {"max-age", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    const char *runs = "10";
    int json = 0, check = 0;
    double max_age_s = 26 * 3600;
    int c;
    optind = 0; /* re-initialise getopt after main.c's "+" scan (see cli.h) */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'r') {
            runs = optarg;
        } else if (c == 'j') {
            json = 1;
        } else if (c == 'k') {
            check = 1;
        } else if (c == 'm') {
            max_age_s = parse_duration_s(optarg);
            if (max_age_s <= 0) {
                log_error("--max-age: expected a duration such as 26h, 90m or 3600, got \"%s\"",
                          optarg);
                return EXIT_USAGE;
            }
        } else if (c == 'h') {
            usage(stdout);
            return EXIT_OK;
        } else {
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    struct config *cfg;
    struct db *db;
    int rc = cli_open(g, CFG_DEFER_SECRETS, &cfg, NULL, &db);
    if (rc != EXIT_OK)
        return rc;
    if (json || check) {
        rc = status_monitor(cfg, db, json, check, max_age_s);
        goto out;
    }
    static const struct {
        const char *title, *sql;
        int nparams;
    } q[] = {
        {"Checkpoints",
         "SELECT a.vendor, a.account, c.stream, c.cursor, c.updated_at::timestamp(0) AS updated "
         "FROM checkpoints c JOIN vendor_accounts a ON a.id = c.account_id ORDER BY 1, 2, 3",
         0},
        {"Recent runs",
         "SELECT r.id, a.vendor, a.account, r.stream, r.mode, r.status, "
         "r.started_at::timestamp(0) AS started, "
         "(r.finished_at - r.started_at)::interval(0) AS took, r.results_inserted AS new, "
         "r.results_updated AS updated, r.results_unchanged AS unchanged, r.quarantined, "
         "r.requests, r.status_429 AS \"429s\", left(r.error, 60) AS error "
         "FROM sync_runs r JOIN vendor_accounts a ON a.id = r.account_id "
         "ORDER BY r.id DESC LIMIT $1::int",
         1},
        {"Quarantine (unresolved)",
         "SELECT a.vendor, a.account, q.stream, q.record_key, q.field, left(q.reason, 60) AS "
         "reason, q.seen_count FROM quarantine q JOIN vendor_accounts a ON a.id = q.account_id "
         "WHERE q.resolved_at IS NULL ORDER BY q.last_seen_at DESC LIMIT 50",
         0},
        {"Labels the mapping tables do not know (extend config/scales.yaml, then renormalize)",
         "SELECT vendor, issue, label, results, last_seen_at::timestamp(0) AS last_seen "
         "FROM bi_unknown_labels ORDER BY results DESC, vendor, label LIMIT 50",
         0},
        /* A vendor stores `expired` for what it can no longer serve (a
         * session that expired with tests not done). */
        {"Results that expired unfinished (the vendor no longer serves them; the last 50)",
         "SELECT a.vendor, a.account, r.stream, r.vendor_key AS result, c.vendor_key AS "
         "candidate, r.assessment_name AS assessment, r.expires_at::timestamp(0) AS expires, "
         "r.updated_at::timestamp(0) AS seen_expired FROM results r "
         "JOIN vendor_accounts a ON a.id = r.account_id JOIN candidates c ON c.id = "
         "r.candidate_id WHERE r.status = 'expired' ORDER BY r.updated_at DESC, r.id LIMIT 50",
         0},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        PGresult *res = NULL;
        struct ss_err err = {0};
        const char *params[] = {runs};
        if (db_exec(db, q[i].sql, q[i].nparams, params, PGRES_TUPLES_OK, &res, &err) != 0) {
            log_error("%s", err.msg);
            log_hint("has `scoresync migrate` been run?");
            rc = EXIT_FATAL;
            goto out;
        }
        print_table(q[i].title, res);
        PQclear(res);
    }
    if (print_unfinished_past(cfg, db) != 0)
        rc = EXIT_FATAL;
out:
    db_close(db);
    cfg_free(cfg);
    return rc;
}

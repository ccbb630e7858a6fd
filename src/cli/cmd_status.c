/* scoresync status: checkpoints, recent runs, quarantine and unknown labels. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../core/log.h"
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
    fprintf(f, "Usage: scoresync [--config FILE] status [--runs N]\n"
               "\n"
               "Shows each stream's checkpoint, the last runs, open quarantine records,\n"
               "labels the mapping tables do not know (results loaded with null ordinals)\n"
               "and unfinished results too old to be re-read (recheck_days).\n"
               "\n"
               "  --runs N    how many recent runs to list (default 10)\n"
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

int cmd_status(int argc, char **argv, const struct cli_globals *g)
{
    static const struct option opts[] = {{"runs", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *runs = "10";
    int c;
    optind = 0; /* re-initialise getopt after main.c's "+" scan (see cli.h) */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'r') {
            runs = optarg;
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

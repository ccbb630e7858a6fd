/* scoresync sync / backfill: extract, normalise and load. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "../core/redact.h"
#include "../core/timeparse.h"
#include "../http/http.h"
#include "../load/migrate.h"
#include "../load/refdata.h"
#include "../pipeline/metrics.h"
#include "../pipeline/pipeline.h"
#include "../vendors/vendor.h"
#include "common.h"

/* The vendors and their streams, from the registry. */
static void print_vendors(FILE *f)
{
    fprintf(f, "\nVendors (streams):\n");
    for (size_t i = 0; vendor_registry[i]; i++) {
        const struct vendor_ops *v = vendor_registry[i];
        fprintf(f, "  %-12s %s (", v->name, v->title);
        for (const struct vendor_stream *s = v->streams; s->name; s++)
            fprintf(f, "%s%s", s == v->streams ? "" : ", ", s->name);
        fprintf(f, ")\n");
    }
}

static void usage(FILE *f, int backfill)
{
    if (backfill)
        fprintf(f,
                "Usage: scoresync [--config FILE] backfill --vendor V --since DATE [--until DATE]\n"
                "                 [--account A] [--stream S] [--jobs N] [--dry-run]\n"
                "\n"
                "Loads every result in [since, until] (by the date the vendor's stream filters\n"
                "on: completion, start or assignment), whatever\n"
                "the stored checkpoint says. Progress has a checkpoint of its own, so a killed\n"
                "backfill started again with the same arguments resumes where it stopped.\n"
                "\n"
                "  --vendor V     vendor to read (required; listed below)\n"
                "  --since DATE   start, YYYY-MM-DD or an ISO 8601 timestamp (required)\n"
                "  --until DATE   end (default: now)\n"
                "  --account A    only this account (default: every account of the vendor)\n"
                "  --stream S     only this stream (default: the account's enabled streams)\n"
                "  --metrics-file PATH  write Prometheus metrics there at the end (atomically;\n"
                "                 default: the config's metrics_file)\n"
                "  --jobs N       back-fill up to N accounts at once (default 1)\n"
                "  --dry-run      extract and normalise, report what would be inserted, updated\n"
                "                 and quarantined; write nothing but the run record\n"
                "  -h, --help     show this help\n");
    else
        fprintf(f, "Usage: scoresync [--config FILE] sync [--vendor V] [--account A] [--stream S]\n"
                   "                 [--jobs N] [--dry-run]\n"
                   "\n"
                   "Incremental sync: for each configured account and enabled stream, reads what\n"
                   "changed since the stored checkpoint (minus overlap_minutes) and upserts it.\n"
                   "Unchanged rows are not rewritten. Safe to run again or to kill: the next\n"
                   "run resumes from the last committed checkpoint.\n"
                   "\n"
                   "  --vendor V    only this vendor (default: every configured vendor)\n"
                   "  --account A   only this account\n"
                   "  --stream S    only this stream (the vendor's, listed below)\n"
                   "  --metrics-file PATH  write Prometheus metrics there at the end (atomically;\n"
                   "                default: the config's metrics_file)\n"
                   "  --jobs N      sync up to N accounts at once (default 1; each account has\n"
                   "                its own vendor budget)\n"
                   "  --dry-run     extract and normalise, report what would be inserted, updated\n"
                   "                and quarantined; write nothing but the run record\n"
                   "  -h, --help    show this help\n"
                   "\n"
                   "An account that fails (refused key, vendor down) does not stop the others.\n"
                   "Exit status: 0 every stream ok; 4 some failed or the run was interrupted\n"
                   "but something was committed; 1 something failed and nothing was\n"
                   "committed (database unreachable, key refused); 2 usage; 3 configuration.\n");
    print_vendors(f);
}

/* The account's error without the "vendor/account" its message starts with
 * (the verdict line names the account already). */
static const char *account_error(const struct sync_account_summary *a, const char *who)
{
    const char *m = a->err.msg;
    size_t n = strlen(who);
    if (strncmp(m, who, n) == 0 && (m[n] == ':' || m[n] == ' ')) {
        m += n;
        m += strspn(m, ": ");
    }
    return *m ? m : "failed";
}

/* One verdict line per account on stdout (the run's log is on stderr), as
 * `check` prints them: "vendor/account: ok, 2 streams, results ...". */
static void print_accounts(const struct sync_summary *sum)
{
    for (size_t i = 0; i < sum->n_accounts; i++) {
        const struct sync_account_summary *a = &sum->accounts[i];
        char who[256], line[2048];
        snprintf(who, sizeof who, "%s/%s", a->vendor, a->account);
        if (!a->started) {
            snprintf(line, sizeof line, "%s: not started: the run was interrupted first", who);
        } else if (a->streams_failed && a->streams_ok == 0 && a->commits == 0) {
            snprintf(line, sizeof line, "%s: failed: %s", who, account_error(a, who));
        } else {
            const struct load_counts *k = &a->total.counts;
            char counts[512];
            snprintf(counts, sizeof counts,
                     "results %ld new, %ld updated, %ld quarantined, %ld requests, %ld 429s",
                     k->res_inserted, k->res_updated, k->quarantined, a->total.requests,
                     a->total.status_429);
            if (a->streams_failed)
                snprintf(line, sizeof line, "%s: partial: %s; %d stream%s ok, %d failed, %s", who,
                         account_error(a, who), a->streams_ok, a->streams_ok == 1 ? "" : "s",
                         a->streams_failed, counts);
            else
                snprintf(line, sizeof line, "%s: %s, %d stream%s, %s", who,
                         a->interrupted ? "interrupted" : "ok", a->streams_ok,
                         a->streams_ok == 1 ? "" : "s", counts);
        }
        redact_apply(line, sizeof line); /* config names and vendor text, like every log line */
        printf("%s\n", line);
    }
    fflush(stdout);
}

static int run(int argc, char **argv, const struct cli_globals *g, int backfill)
{
    static const struct option opts[] = {
        {"vendor", required_argument, NULL, 'V'}, {"account", required_argument, NULL, 'a'},
        {"stream", required_argument, NULL, 's'}, {"since", required_argument, NULL, 'S'},
        {"until", required_argument, NULL, 'U'},  {"metrics-file", required_argument, NULL, 'M'},
        {"dry-run", no_argument, NULL, 'n'},      {"jobs", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    struct sync_request rq;
    memset(&rq, 0, sizeof rq);
    rq.since = rq.until = TS_NULL;
    rq.backfill = backfill;
    const char *metrics_file = NULL;
    int64_t started_us = clock_wall_us();
    struct ss_err err = {0};
    int c;
    optind = 0; /* re-initialise getopt after main.c's "+" scan (see cli.h) */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'V':
            rq.vendor = optarg;
            break;
        case 'a':
            rq.account = optarg;
            break;
        case 's':
            rq.stream = optarg;
            break;
        case 'M':
            metrics_file = optarg;
            break;
        case 'n':
            rq.dry_run = 1;
            break;
        case 'j': {
            long j;
            if (cli_long_arg("jobs", optarg, 1, 64, &j) != 0)
                return EXIT_USAGE;
            rq.jobs = (int)j;
            break;
        }
        case 'S':
        case 'U':
            if (!backfill && c == 'S') {
                log_error("sync has no --since; use `scoresync backfill --since DATE`");
                return EXIT_USAGE;
            }
            if (cli_time_arg(c == 'S' ? "since" : "until", optarg,
                             c == 'S' ? &rq.since : &rq.until) != 0)
                return EXIT_USAGE;
            break;
        case 'h':
            usage(stdout, backfill);
            return EXIT_OK;
        default:
            usage(stderr, backfill);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        log_error("unexpected argument \"%s\"", argv[optind]);
        usage(stderr, backfill);
        return EXIT_USAGE;
    }
    if (backfill && (!rq.vendor || rq.since == TS_NULL)) {
        log_error("backfill needs --vendor and --since");
        usage(stderr, backfill);
        return EXIT_USAGE;
    }
    if (rq.since != TS_NULL && rq.until != TS_NULL && rq.until < rq.since) {
        log_error("--until is before --since");
        return EXIT_USAGE;
    }

    struct config *cfg;
    struct db *db;
    struct scales *sc;
    int rc = cli_open(g, 0, &cfg, &sc, &db);
    if (rc != EXIT_OK)
        return rc;
    if (migrate_check(db, cli_migrations_dir(cfg), &err) != 0) {
        log_error("%s", err.msg);
        log_hint("run `scoresync migrate` first");
        rc = EXIT_FATAL;
        goto out;
    }
    /* The ref_* tables BI joins against follow config/scales.yaml. */
    if (refdata_load(db, sc, &err) < 0) {
        log_warn("%s", err.msg);
        log_detail("results still load; the ref_* tables keep their previous version");
        err_clear(&err);
    }
    if (http_global_init(&err) != 0) {
        log_error("%s", err.msg);
        rc = EXIT_FATAL;
        goto out;
    }
    rq.stop = cli_stop_on_signals();
    struct sync_summary sum;
    int prc = pipeline_sync(cfg, db, sc, &rq, &sum, &err);
    http_global_cleanup();
    const struct load_counts *k = &sum.total.counts;
    if (rq.dry_run)
        log_info("dry run: would insert %ld results, update %ld (%ld unchanged), quarantine %ld; "
                 "nothing written; %d stream%s ok, %d failed; %ld requests, %ld retries, %ld 429s",
                 k->res_inserted, k->res_updated, k->res_unchanged, k->quarantined, sum.streams_ok,
                 sum.streams_ok == 1 ? "" : "s", sum.streams_failed, sum.total.requests,
                 sum.total.retries, sum.total.status_429);
    else
        log_info("done: %d stream%s ok, %d failed; results %ld new, %ld updated, %ld unchanged; "
                 "%ld quarantined; %ld requests, %ld retries, %ld 429s",
                 sum.streams_ok, sum.streams_ok == 1 ? "" : "s", sum.streams_failed,
                 k->res_inserted, k->res_updated, k->res_unchanged, k->quarantined,
                 sum.total.requests, sum.total.retries, sum.total.status_429);
    if (rq.jobs > 1 || sum.n_accounts > 1)
        print_accounts(&sum);
    sync_summary_free(&sum);
    if (prc != 0) {
        if (sum.streams_ok == 0 && sum.streams_failed == 0) {
            log_error("%s", err.msg);
            rc = err.code == SS_ECONFIG ? EXIT_CONFIG : EXIT_FATAL;
        } else if (sum.commits > 0 || sum.streams_ok > 0) {
            /* Something is loaded (a stream, or the windows a failed stream
             * committed before it failed): the next run resumes from there. */
            log_warn("partial: %d stream%s failed; what was committed stays and the next run "
                     "resumes",
                     sum.streams_failed, sum.streams_failed == 1 ? "" : "s");
            rc = EXIT_PARTIAL;
        } else {
            rc = EXIT_FATAL;
        }
    } else if (sum.interrupted) {
        log_warn("interrupted: stopped after the last committed batch; run again to resume");
        rc = EXIT_PARTIAL;
    }
    if (!metrics_file)
        metrics_file = cfg->metrics_file;
    if (metrics_file) {
        const struct metrics_proc mp = {backfill ? "backfill" : "sync", rc,
                                        (double)(clock_wall_us() - started_us) / 1e6};
        struct ss_err merr = {0};
        if (metrics_write(db, metrics_file, &mp, &merr) != 0)
            log_warn("%s", merr.msg); /* the run's own outcome stands */
        else
            log_debug("metrics written to %s", metrics_file);
    }
out:
    scales_free(sc);
    db_close(db);
    cfg_free(cfg);
    return rc;
}

int cmd_sync(int argc, char **argv, const struct cli_globals *g)
{
    return run(argc, argv, g, 0);
}

int cmd_backfill(int argc, char **argv, const struct cli_globals *g)
{
    return run(argc, argv, g, 1);
}

/* scoresync renormalize: re-apply config/scales.yaml to stored results from
 * their raw JSON. Never talks to a vendor. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../load/migrate.h"
#include "../pipeline/renormalize.h"
#include "../vendors/vendor.h"
#include "common.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: scoresync [--config FILE] renormalize [--vendor V] [--account A] [--all]\n"
            "                 [--dry-run] [--batch-rows N]\n"
            "\n"
            "Re-normalises stored results after config/scales.yaml changed: each result's\n"
            "stored raw JSON is parsed again and mapped with the current tables (status,\n"
            "score scale and percentage, CEFR/ACTFL ranks and rules, bands, pass/fail,\n"
            "notes). No vendor is contacted. First the SQL reference tables (ref_*) are\n"
            "reloaded from the scales file. Only rows whose values change are rewritten,\n"
            "in transactions of %d rows; a row whose raw cannot be parsed again is\n"
            "reported and left as it is.\n"
            "\n"
            "  --vendor V        only this vendor's results\n"
            "  --account A       only this account's results\n"
            "  --all             every result, not only those normalised with another\n"
            "                    version of the scales file\n"
            "  --dry-run         count what would change, change nothing\n"
            "  --batch-rows N    rows per transaction (default %d)\n"
            "  -h, --help        show this help\n"
            "\n"
            "Exit status: 0 ok (rows that cannot be re-parsed are counted, not fatal),\n"
            "1 fatal, 2 usage, 3 config, 4 interrupted.\n",
            RENORM_BATCH_ROWS, RENORM_BATCH_ROWS);
}

int cmd_renormalize(int argc, char **argv, const struct cli_globals *g)
{
    static const struct option opts[] = {{"vendor", required_argument, NULL, 'V'},
                                         {"account", required_argument, NULL, 'a'},
                                         {"all", no_argument, NULL, 'A'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {"batch-rows", required_argument, NULL, 'b'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct renorm_request rq;
    memset(&rq, 0, sizeof rq);
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
        case 'A':
            rq.all = 1;
            break;
        case 'n':
            rq.dry_run = 1;
            break;
        case 'b':
            if (cli_long_arg("batch-rows", optarg, 1, 1000000, &rq.batch_rows) != 0)
                return EXIT_USAGE;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        log_error("unexpected argument \"%s\"", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (rq.vendor && !vendor_find(rq.vendor)) {
        log_error("--vendor: unknown vendor \"%s\"", rq.vendor);
        return EXIT_USAGE;
    }

    struct config *cfg = NULL;
    struct db *db = NULL;
    struct scales *sc = NULL;
    struct ss_err err = {0};
    int rc = cli_load_config(g, CFG_DEFER_SECRETS, &cfg);
    if (rc == EXIT_OK)
        rc = cli_load_scales(cfg, &sc);
    if (rc == EXIT_OK)
        rc = cli_connect(cfg, &db);
    if (rc != EXIT_OK)
        goto out;
    if (migrate_check(db, cli_migrations_dir(cfg), &err) != 0) {
        log_error("%s", err.msg);
        log_hint("run `scoresync migrate` first");
        rc = EXIT_FATAL;
        goto out;
    }
    rq.stop = cli_stop_on_signals();
    struct renorm_counts n;
    int prc = renormalize_run(db, sc, &rq, &n, &err);
    printf("renormalize%s: scales %s: %ld examined, %ld changed, %ld unchanged, %ld failed to "
           "re-parse (left unchanged), %ld skipped (rewritten by a concurrent sync); %ld carry "
           "notes\n",
           rq.dry_run ? " (dry run, nothing written)" : "", scales_version(sc), n.examined,
           n.changed, n.unchanged, n.failed, n.skipped, n.noted);
    fflush(stdout);
    if (prc != 0) {
        log_error("%s", err.msg);
        rc = EXIT_FATAL;
    } else if (n.interrupted) {
        log_warn("interrupted: the batches so far are committed; run again to finish");
        rc = EXIT_PARTIAL;
    }
    if (n.noted > 0)
        log_info("%ld results carry notes (unknown labels ...): see bi_unknown_labels or "
                 "`scoresync status`",
                 n.noted);
out:
    scales_free(sc);
    db_close(db);
    cfg_free(cfg);
    return rc;
}

/* scoresync check: is this deployment able to run? The configuration (with
 * its secrets), the database (reachable, migrations applied), and per
 * account the cheapest authenticated request its vendor offers
 * (vendor_ops.check), so a wrong or expired key shows before the nightly
 * sync. One verdict line per account. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "../http/http.h"
#include "../load/load.h"
#include "../load/migrate.h"
#include "../pipeline/account.h"
#include "../vendors/vendor.h"
#include "common.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: scoresync [--config FILE] check [--vendor V] [--account A]\n"
               "\n"
               "Validates the configuration (secrets included), connects to the database and\n"
               "checks its migrations, then makes the cheapest authenticated request of each\n"
               "account's vendor to prove its credentials. Prints one line per account:\n"
               "  ok          the vendor accepted the credentials\n"
               "  key refused the vendor refused them (the line says where the key comes from)\n"
               "  failed      the vendor could not be reached or answered with an error\n"
               "  unverified  no cheap authenticated request is known for this vendor\n"
               "\n"
               "  --vendor V   only this vendor's accounts\n"
               "  --account A  only accounts with this name\n"
               "  -h, --help   show this help\n"
               "\n"
               "Exit status: 0 all good (unverified accounts included); 6 an account's key was\n"
               "refused or its vendor failed; 1 the database is unreachable or behind its\n"
               "migrations; 3 configuration (file, environment, secrets); 2 usage.\n"
               "Each check sends one request, counted against the account's rate limits.\n");
}

/* One account: 0 ok or unverified, -1 refused or failed. */
static int check_account(struct loader *ld, const struct vendor_ops *v, const struct cfg_account *a)
{
    struct ss_err err = {0};
    char who[160];
    snprintf(who, sizeof who, "%s/%s", a->vendor, a->name);
    if (!v) {
        printf("%s: unverified: this build does not support vendor %s\n", who, a->vendor);
        return 0;
    }
    if (!v->check) {
        printf("%s: unverified: no cheap authenticated request is known for %s (key from %s)\n",
               who, v->name, a->api_key_source ? a->api_key_source : "?");
        return 0;
    }
    /* A verdict, not a sync: a couple of tries at most. */
    struct cfg_account capped = *a; /* shallow: only the retry budget differs */
    if (capped.max_attempts > 2)
        capped.max_attempts = 2;
    /* Through the request ledger when the database is there: the check's
     * request counts against the account like any run's. */
    struct account_io io;
    memset(&io, 0, sizeof io);
    int64_t account_id = 0;
    int rc = -1;
    if ((ld && load_account(ld, v->name, a->name, &account_id, &err) != 0) ||
        account_io_open(&io, ld ? loader_db(ld) : NULL, v, &capped, account_id, &err) != 0) {
        printf("%s: failed: %s\n", who, err.msg);
        goto out;
    }
    struct vendor_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.vendor = v;
    ctx.acct = a;
    ctx.http = io.http;
    ctx.auth = &io.auth;
    ctx.log = (struct log_ctx){v->name, a->name, NULL};
    ctx.now = clock_wall_us();
    int64_t t0 = clock_wall_us();
    if (v->check(&ctx, &err) == 0) {
        printf("%s: ok: credentials accepted (key from %s, %.0f ms)\n", who,
               a->api_key_source ? a->api_key_source : "?", (double)(clock_wall_us() - t0) / 1e3);
        rc = 0;
    } else if (err.code == SS_EAUTH) {
        printf("%s: key refused: %s\n", who, err.msg);
    } else {
        printf("%s: failed: %s\n", who, err.msg);
    }
out:
    account_io_close(&io);
    return rc;
}

int cmd_check(int argc, char **argv, const struct cli_globals *g)
{
    static const struct option opts[] = {{"vendor", required_argument, NULL, 'V'},
                                         {"account", required_argument, NULL, 'a'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *vendor = NULL, *account = NULL;
    int c;
    optind = 0; /* re-initialise getopt after main.c's "+" scan (see cli.h) */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'V') {
            vendor = optarg;
        } else if (c == 'a') {
            account = optarg;
        } else if (c == 'h') {
            usage(stdout);
            return EXIT_OK;
        } else {
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        log_error("unexpected argument \"%s\"", argv[optind]);
        return EXIT_USAGE;
    }
    struct config *cfg = NULL;
    struct db *db = NULL;
    struct ss_err err = {0};
    int rc = cli_load_config(g, 0, &cfg);
    if (rc != EXIT_OK)
        return rc;
    printf("config %s: ok\n", cfg->path ? cfg->path : "");

    int db_bad = 0, bad = 0, matched = 0;
    if (cli_connect(cfg, &db) != EXIT_OK) {
        printf("database: unreachable (see the error above)\n");
        db_bad = 1;
    } else if (migrate_check(db, cli_migrations_dir(cfg), &err) != 0) {
        printf("database: reachable, but %s; run `scoresync migrate`\n", err.msg);
        db_bad = 1;
    } else {
        printf("database: ok, migrations up to date\n");
    }
    struct loader *ld = NULL;
    if (!db_bad && !(ld = loader_new(db, &err)))
        log_warn("%s; the checks' requests are not counted in the request ledger", err.msg);

    if (http_global_init(&err) != 0) {
        log_error("%s", err.msg);
        rc = EXIT_FATAL;
        goto out;
    }
    for (size_t i = 0; i < cfg->n_vendors; i++) {
        const struct cfg_vendor *cv = &cfg->vendors[i];
        if (vendor && strcmp(vendor, cv->name) != 0)
            continue;
        for (size_t j = 0; j < cv->n_accounts; j++) {
            if (account && strcmp(account, cv->accounts[j].name) != 0)
                continue;
            matched++;
            if (check_account(ld, vendor_find(cv->name), &cv->accounts[j]) != 0)
                bad++;
        }
    }
    http_global_cleanup();
    if (!matched) {
        log_error("no configured account matches%s%s%s%s", vendor ? " vendor " : "",
                  vendor ? vendor : "", account ? " account " : "", account ? account : "");
        rc = EXIT_USAGE;
    } else if (db_bad) {
        rc = EXIT_FATAL;
    } else if (bad) {
        rc = EXIT_UNHEALTHY;
    }
out:
    loader_free(ld);
    db_close(db);
    cfg_free(cfg);
    return rc;
}

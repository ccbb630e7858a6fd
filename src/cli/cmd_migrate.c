/* scoresync migrate: apply the SQL migrations in order. */
#include <getopt.h>
#include <stdio.h>

#include "../core/log.h"
#include "../load/migrate.h"
#include "common.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: scoresync [--config FILE] migrate [--dir DIR] [--check]\n"
               "\n"
               "Applies pending migrations (sql/NNN_name.sql) in order, each in its own\n"
               "transaction, recorded with a checksum in schema_migrations. A migration edited\n"
               "after it was applied is refused. Concurrent runs wait for each other.\n"
               "\n"
               "  --dir DIR   migrations directory (default: config `migrations`, else ./sql)\n"
               "  --check     apply nothing; exit 1 if migrations are pending or edited\n"
               "  -h, --help  show this help\n");
}

int cmd_migrate(int argc, char **argv, const struct cli_globals *g)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"check", no_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    int check = 0, c;
    optind = 0; /* re-initialise getopt after main.c's "+" scan (see cli.h) */
    while ((c = getopt_long(argc, argv, "d:kh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'k':
            check = 1;
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
        log_error("migrate takes no arguments (got \"%s\")", argv[optind]);
        return EXIT_USAGE;
    }
    struct config *cfg;
    struct db *db;
    int rc = cli_open(g, CFG_DEFER_SECRETS, &cfg, NULL, &db);
    if (rc != EXIT_OK)
        return rc;
    if (!dir)
        dir = cli_migrations_dir(cfg);
    struct ss_err err = {0};
    if (check) {
        if (migrate_check(db, dir, &err) != 0) {
            log_error("%s", err.msg);
            rc = EXIT_FATAL;
        } else {
            log_info("schema is up to date");
        }
        goto out;
    }
    int applied = 0;
    if (migrate_run(db, dir, &applied, &err) != 0) {
        log_error("%s", err.msg);
        rc = EXIT_FATAL;
        goto out;
    }
    log_info("%d migration%s applied; schema is up to date", applied, applied == 1 ? "" : "s");
out:
    db_close(db);
    cfg_free(cfg);
    return rc;
}

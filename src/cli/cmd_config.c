/* scoresync config: check a configuration, or print the key reference. */
#include <getopt.h>
#include <stdio.h>

#include "../core/log.h"
#include "common.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: scoresync [--config FILE] config [--check] [--reference]\n"
               "\n"
               "  --check      load and validate the configuration (default), then list the\n"
               "               accounts, their streams and where each secret comes from\n"
               "               (never the secret itself)\n"
               "  --reference  print every configuration key with its type, default and\n"
               "               meaning (Markdown; docs/config-reference.md is this output)\n"
               "  -h, --help   show this help\n");
}

static void print_summary(const struct config *cfg)
{
    printf("%s: ok\n", cfg->path ? cfg->path : "configuration");
    printf("database: %s\n",
           cfg->db.url ? "database.url / DATABASE_URL" : "embedded cluster (no database.url)");
    for (size_t i = 0; i < cfg->n_vendors; i++) {
        const struct cfg_vendor *v = &cfg->vendors[i];
        for (size_t j = 0; j < v->n_accounts; j++) {
            const struct cfg_account *a = &v->accounts[j];
            printf("%s/%s: %s, streams", v->name, a->name, a->base_url ? a->base_url : "?");
            for (char **s = a->streams; s && *s; s++)
                printf(" %s", *s);
            printf(", limits");
            for (int k = 0; k < a->n_rate; k++)
                printf(" %d/%gs", a->rate[k].requests, a->rate[k].per_seconds);
            printf(", key from %s\n", a->api_key_source ? a->api_key_source : "nowhere");
        }
    }
}

int cmd_config(int argc, char **argv, const struct cli_globals *g)
{
    static const struct option opts[] = {{"check", no_argument, NULL, 'c'},
                                         {"reference", no_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int reference = 0, c;
    optind = 0; /* re-initialise getopt after main.c's "+" scan (see cli.h) */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'r') {
            reference = 1;
        } else if (c == 'c') {
            reference = 0;
        } else if (c == 'h') {
            usage(stdout);
            return EXIT_OK;
        } else {
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (reference) {
        cfg_print_reference(stdout);
        return EXIT_OK;
    }
    struct config *cfg = NULL;
    int rc = cli_load_config(g, 0, &cfg);
    if (rc != EXIT_OK)
        return rc;
    print_summary(cfg);
    cfg_free(cfg);
    return EXIT_OK;
}

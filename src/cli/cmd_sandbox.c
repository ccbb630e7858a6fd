/* scoresync sandbox: runs the bundled vendor sandbox until SIGINT/SIGTERM. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"
#include "../sandbox/sandbox.h"
#include "cli.h"
#include "common.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: scoresync sandbox [OPTIONS]\n\n"
               "Runs the stand-in vendor APIs over HTTP with deterministic data, each\n"
               "vendor's own rate limits (per vendor and account) and optional injected\n"
               "faults. The API key for account A is \"sandbox-A\" (Authorization: Bearer).\n"
               "Vendors and admin endpoints (admin: no key, GET; also /_sandbox/health and\n"
               "/_sandbox/stats):\n");
    sandbox_print_vendors(f);
    fprintf(f, "\n"
               "Options:\n"
               "  --port P              port to listen on (default 0: a free port)\n"
               "  --bind ADDR           address to bind (default 127.0.0.1)\n"
               "  --port-file FILE      write the port number to FILE once listening\n"
               "  --seed S              data seed (default 1)\n"
               "  --reports N           score reports per account (default 2000)\n"
               "  --accounts a,b        account names (default demo)\n"
               "  --rate-scale X        multiply every vendor's rate limits (default 1: as\n"
               "                        documented, listed above)\n"
               "  --no-limits           no rate limits for any vendor\n"
               "  --fault-5xx P         share of requests answered 500/502/503\n"
               "  --fault-429 P         share of requests that start a 429 storm\n"
               "  --storm-len N         requests per 429 storm (default 3)\n"
               "  --fault-slow P        share of requests delayed by --slow-ms\n"
               "  --slow-ms MS          delay of a slow request (default 2000)\n"
               "  --fault-truncate P    share of bodies cut short (Content-Length lies)\n"
               "  --fault-malformed P   share of 200 bodies with broken JSON\n"
               "  --fault-bad-record P  share of completed records with bad data\n"
               "  --quiet               no per-request log\n"
               "  -h, --help            show this help\n\n"
               "Runs until SIGINT or SIGTERM. Exit status: 0 ok, 1 fatal, 2 usage.\n");
}

static int parse_prob(const char *name, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0.0 && v <= 1.0)) {
        log_error("--%s: expected a probability between 0 and 1, not \"%s\"", name, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Written to a temporary name and renamed, so a reader never sees half a file. */
static int write_port_file(const char *path, int port)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        log_error("--port-file: path too long");
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        log_error("cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    int bad = fprintf(f, "%d\n", port) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        log_error("cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

enum {
    O_PORT = 256,
    O_BIND,
    O_SEED,
    O_REPORTS,
    O_ACCOUNTS,
    O_RATE_SCALE,
    O_NO_LIMITS,
    O_5XX,
    O_429,
    O_STORM_LEN,
    O_SLOW,
    O_SLOW_MS,
    O_TRUNCATE,
    O_MALFORMED,
    O_BAD_RECORD,
    O_PORT_FILE,
    O_QUIET,
};

int cmd_sandbox(int argc, char **argv, const struct cli_globals *g)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, O_PORT},
        {"bind", required_argument, NULL, O_BIND},
        {"seed", required_argument, NULL, O_SEED},
        {"reports", required_argument, NULL, O_REPORTS},
        {"accounts", required_argument, NULL, O_ACCOUNTS},
        {"rate-scale", required_argument, NULL, O_RATE_SCALE},
        {"no-limits", no_argument, NULL, O_NO_LIMITS},
        {"fault-5xx", required_argument, NULL, O_5XX},
        {"fault-429", required_argument, NULL, O_429},
        {"storm-len", required_argument, NULL, O_STORM_LEN},
        {"fault-slow", required_argument, NULL, O_SLOW},
        {"slow-ms", required_argument, NULL, O_SLOW_MS},
        {"fault-truncate", required_argument, NULL, O_TRUNCATE},
        {"fault-malformed", required_argument, NULL, O_MALFORMED},
        {"fault-bad-record", required_argument, NULL, O_BAD_RECORD},
        {"port-file", required_argument, NULL, O_PORT_FILE},
        {"quiet", no_argument, NULL, O_QUIET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sandbox_opts o;
    sandbox_opts_default(&o);
    const char *port_file = NULL;
    long v;
    int c;
    optind = 0; /* re-initialise getopt after main.c's "+" scan (see cli.h) */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case O_PORT:
            bad = cli_long_arg("port", optarg, 0, 65535, &v);
            o.port = (int)v;
            break;
        case O_BIND:
            o.bind = optarg;
            break;
        case O_SEED: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-') {
                log_error("--seed: expected a whole number, not \"%s\"", optarg);
                bad = 1;
            }
            o.seed = (uint64_t)s;
            break;
        }
        case O_REPORTS:
            bad = cli_long_arg("reports", optarg, 0, 50000000L, &o.reports);
            break;
        case O_ACCOUNTS:
            o.accounts = optarg;
            break;
        case O_RATE_SCALE: {
            char *end;
            errno = 0;
            o.rate_scale = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o.rate_scale > 0 && o.rate_scale <= 1000)) {
                log_error("--rate-scale: expected a number above 0 and at most 1000, not \"%s\"",
                          optarg);
                bad = 1;
            }
            break;
        }
        case O_NO_LIMITS:
            o.no_limits = 1;
            break;
        case O_5XX:
            bad = parse_prob("fault-5xx", optarg, &o.faults.p_5xx);
            break;
        case O_429:
            bad = parse_prob("fault-429", optarg, &o.faults.p_429);
            break;
        case O_STORM_LEN:
            bad = cli_long_arg("storm-len", optarg, 1, 1000000, &v);
            o.faults.storm_len = (int)v;
            break;
        case O_SLOW:
            bad = parse_prob("fault-slow", optarg, &o.faults.p_slow);
            break;
        case O_SLOW_MS:
            bad = cli_long_arg("slow-ms", optarg, 0, 600000, &v);
            o.faults.slow_ms = (int)v;
            break;
        case O_TRUNCATE:
            bad = parse_prob("fault-truncate", optarg, &o.faults.p_truncate);
            break;
        case O_MALFORMED:
            bad = parse_prob("fault-malformed", optarg, &o.faults.p_malformed);
            break;
        case O_BAD_RECORD:
            bad = parse_prob("fault-bad-record", optarg, &o.faults.p_bad_record);
            break;
        case O_PORT_FILE:
            port_file = optarg;
            break;
        case O_QUIET:
            o.quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
        if (bad)
            return EXIT_USAGE;
    }
    if (optind < argc) {
        log_error("unexpected argument \"%s\"", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (g && g->quiet)
        o.quiet = 1;

    /* Block the stop signals before any server thread exists, so all of
     * them inherit the mask and sigwait() below is the only receiver. */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old);

    struct sandbox *sb = NULL;
    struct ss_err err;
    err_clear(&err);
    int rc = EXIT_OK;
    if (sandbox_start(&o, &sb, &err) != 0) {
        log_error("sandbox: %s", err.msg);
        rc = err.code == SS_EINVAL ? EXIT_USAGE : EXIT_FATAL;
        goto out;
    }
    int port = sandbox_port(sb);
    const char *host = o.bind && *o.bind ? o.bind : "127.0.0.1";
    if (strchr(host, ':'))
        printf("sandbox listening on http://[%s]:%d\n", host, port);
    else
        printf("sandbox listening on http://%s:%d\n", host, port);
    fflush(stdout);
    if (port_file && write_port_file(port_file, port) != 0) {
        rc = EXIT_FATAL;
        goto out;
    }
    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    if (!o.quiet)
        log_info("sandbox: signal %d, stopping", sig);
out:
    sandbox_stop(sb);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* scoresync plan backfill: before a long backfill, how many requests it
 * needs and how long the account's rate limits make it (pipeline/plan.h
 * does the work; this file parses and prints). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/jsonw.h"
#include "../core/log.h"
#include "../core/timeparse.h"
#include "../http/http.h"
#include "../load/migrate.h"
#include "../pipeline/plan.h"
#include "../vendors/vendor.h"
#include "common.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: scoresync [--config FILE] plan backfill --vendor V [--account A]\n"
               "                 --since DATE [--until DATE] [--stream S] [--samples N] [--json]\n"
               "\n"
               "Estimates what `scoresync backfill` with the same arguments will send, before\n"
               "it runs: the requests per stream and the time the account's rate limits make\n"
               "it take, counting the budget other runs of the account hold now. The estimate\n"
               "runs the backfill's own window pager, with the account's window settings,\n"
               "over how the stream's results spread over time:\n"
               "  stored   where the range was read before (the stream's sync or backfill\n"
               "           checkpoints cover it): the stored results, by the date the\n"
               "           stream's windows filter on;\n"
               "  sampled  elsewhere: a few windows spread over the rest, read from the vendor\n"
               "           (counted, not loaded). Those requests are printed; they count\n"
               "           against the account's limits like any other.\n"
               "The duration is a lower bound: the limits alone, without response times.\n"
               "Only streams read in date windows can be planned.\n"
               "\n"
               "  --vendor V    vendor (required)\n"
               "  --account A   account (required when the vendor has several)\n"
               "  --since DATE  start, YYYY-MM-DD or an ISO 8601 timestamp (required)\n"
               "  --until DATE  end (default: now)\n"
               "  --stream S    only this stream (default: the account's enabled streams)\n"
               "  --samples N   strata sampled where nothing is stored, one window each, plus\n"
               "                a probe (default 8, 1..64)\n"
               "  --json        one JSON document on stdout\n"
               "  -h, --help    show this help\n"
               "\n"
               "Exit status: 0 planned; 2 usage, or a stream that is not read in date windows\n"
               "(the message says how it is read); 3 configuration (unknown vendor or\n"
               "account, secrets); 1 the database or the vendor failed.\n");
}

/* "3 h 25 min", "12.5 s". */
static void human_duration(int64_t us, char *out, size_t n)
{
    double s = (double)us / 1e6;
    if (s < 60)
        snprintf(out, n, "%.1f s", s);
    else if (s < 3600)
        snprintf(out, n, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
    else if (s < 86400 * 2)
        snprintf(out, n, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60, 60));
    else
        snprintf(out, n, "%.1f days", s / 86400);
}

static void human_bytes(double b, char *out, size_t n)
{
    if (b >= 1024.0 * 1024)
        snprintf(out, n, "%.1f MiB", b / (1024.0 * 1024));
    else if (b >= 1024)
        snprintf(out, n, "%.1f KiB", b / 1024);
    else
        snprintf(out, n, "%.0f bytes", b);
}

/* A share as "37%"; "over 99%" rather than a rounded "100%" that is not whole. */
static void percent(double share, char *out, size_t n)
{
    if (share < 1 && share > 0.99)
        snprintf(out, n, "over 99%%");
    else
        snprintf(out, n, "%.0f%%", 100 * share);
}

static void print_text(const struct plan_request *rq, const struct plan_result *res)
{
    const struct cfg_account *a = rq->acct;
    char s0[40], s1[40], cap[32], dur[48];
    ts_format(rq->since, s0, sizeof s0);
    ts_format(res->until, s1, sizeof s1);
    human_bytes((double)a->max_response_bytes, cap, sizeof cap);
    printf("plan: backfill %s/%s %s .. %s%s\n", rq->vendor->name, a->name, s0, s1,
           rq->until == TS_NULL || rq->until > res->now ? " (now)" : "");
    printf("windows: initial %g days, min %g s, max %g days, target %d records, responses up "
           "to %s\n",
           a->window_initial_days, a->window_min_seconds, a->window_max_days,
           a->window_target_records, cap);
    for (size_t i = 0; i < res->n_streams; i++) {
        const struct plan_stream *ps = &res->streams[i];
        const struct plan_sim *sm = &ps->sim;
        printf("%s: %ld requests (%ld windows, %ld split for size), about %.0f records\n", ps->name,
               sm->requests, sm->windows, sm->splits, sm->records);
        if (ps->covered > 0) {
            char share[16];
            percent(ps->covered, share, sizeof share);
            printf("%s: density stored for %s of the range (read before, by %s)\n", ps->name, share,
                   ps->how.column);
        }
        if (ps->sample_windows > 0) {
            char unc[64] = "";
            if (ps->uncertainty < 0)
                snprintf(unc, sizeof unc, ", uncertainty unknown (one sample)");
            else if (ps->sampled_share < 1)
                snprintf(unc, sizeof unc, ", records +-%.*f%%", ps->uncertainty < 0.01 ? 1 : 0,
                         100 * ps->uncertainty);
            char share[16];
            percent(ps->sampled_share, share, sizeof share);
            printf("%s: density sampled%s: %ld windows read %s of it (%ld requests, %.0f "
                   "records)%s\n",
                   ps->name, ps->covered > 0 ? " for the rest" : "", ps->sample_windows, share,
                   ps->sample_requests, ps->sample_records, unc);
            if (ps->uncertainty < 0 || ps->uncertainty > 0.1)
                printf("%s: more --samples narrow the estimate\n", ps->name);
        }
        if (sm->failed)
            printf("%s: the backfill would stop after %ld requests: %s\n", ps->name, sm->requests,
                   sm->why);
        if (ps->resumes && ps->rest.requests == 0)
            printf("%s: this exact backfill already finished (checkpoint %s): running it again "
                   "sends nothing; another --since/--until reads the range again\n",
                   ps->name, ps->resume_at);
        else if (ps->resumes)
            printf("%s: this exact backfill stopped at %s: running it again resumes there, "
                   "%ld requests\n",
                   ps->name, ps->resume_at, ps->rest.requests);
    }
    /* Through the request ledger, so runs starting now count them; sync_runs
     * has no row for them (its mode is sync or backfill). */
    printf("samples: %ld requests sent by this plan%s\n", res->sample_requests,
           res->sample_requests ? " (in the account's request ledger, like a run's)" : "");
    printf("budget now:%s", a->n_rate ? "" : " no rate limits configured,");
    for (int i = 0; i < a->n_rate; i++)
        printf("%s %ld of %d per %g s held", i ? "," : "", res->held[i], a->rate[i].requests,
               a->rate[i].per_seconds);
    printf(" by %ld process%s of the account (request ledger)\n", res->holders,
           res->holders == 1 ? "" : "es");
    human_duration(res->duration_us, dur, sizeof dur);
    printf("duration: at least %s for %ld requests at the rate limits (a lower bound: "
           "response times and loading come on top)\n",
           dur, res->requests);
}

static void json_sim(struct jsonw *w, const struct plan_sim *s)
{
    jw_kint(w, "requests", s->requests);
    jw_kint(w, "windows", s->windows);
    jw_kint(w, "splits", s->splits);
    jw_kint(w, "records", llround(s->records));
    jw_kbool(w, "fails", s->failed);
    if (s->failed)
        jw_kstr(w, "fails_because", s->why);
}

static int print_json(const struct plan_request *rq, const struct plan_result *res)
{
    const struct cfg_account *a = rq->acct;
    struct buf b;
    buf_init(&b, 0);
    struct jsonw w;
    jw_init(&w, &b);
    char t[40];
    jw_open(&w, '{');
    jw_kstr(&w, "vendor", rq->vendor->name);
    jw_kstr(&w, "account", a->name);
    ts_format(rq->since, t, sizeof t);
    jw_kstr(&w, "since", t);
    ts_format(res->until, t, sizeof t);
    jw_kstr(&w, "until", t);
    jw_key(&w, "window");
    jw_open(&w, '{');
    jw_krawf(&w, "initial_days", "%.17g", a->window_initial_days);
    jw_krawf(&w, "min_seconds", "%.17g", a->window_min_seconds);
    jw_krawf(&w, "max_days", "%.17g", a->window_max_days);
    jw_kint(&w, "target_records", a->window_target_records);
    jw_kint(&w, "max_response_bytes", a->max_response_bytes);
    jw_close(&w, '}');
    jw_key(&w, "streams");
    jw_open(&w, '[');
    for (size_t i = 0; i < res->n_streams; i++) {
        const struct plan_stream *ps = &res->streams[i];
        jw_open(&w, '{');
        jw_kstr(&w, "stream", ps->name);
        jw_kbool(&w, "supported", ps->how.windowed);
        if (!ps->how.windowed) {
            jw_kstr(&w, "why", ps->how.why);
            jw_close(&w, '}');
            continue;
        }
        jw_kstr(&w, "source", ps->source);
        jw_krawf(&w, "covered", "%.4f", ps->covered);
        json_sim(&w, &ps->sim);
        jw_kint(&w, "sample_windows", ps->sample_windows);
        jw_kint(&w, "sample_requests", ps->sample_requests);
        jw_kint(&w, "sample_records", llround(ps->sample_records));
        jw_krawf(&w, "sampled_share", "%.4f", ps->sampled_share);
        if (ps->uncertainty < 0)
            jw_knull(&w, "uncertainty");
        else
            jw_krawf(&w, "uncertainty", "%.4f", ps->uncertainty);
        jw_key(&w, "resume");
        if (ps->resumes) {
            jw_open(&w, '{');
            jw_kstr(&w, "at", ps->resume_at);
            json_sim(&w, &ps->rest);
            jw_close(&w, '}');
        } else {
            jw_null(&w);
        }
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    if (!res->unsupported) {
        jw_kint(&w, "requests", res->requests);
        jw_kint(&w, "sample_requests", res->sample_requests);
        jw_key(&w, "limits");
        jw_open(&w, '[');
        for (int i = 0; i < a->n_rate; i++) {
            jw_open(&w, '{');
            jw_kint(&w, "requests", a->rate[i].requests);
            jw_krawf(&w, "per_seconds", "%.17g", a->rate[i].per_seconds);
            jw_kint(&w, "held", res->held[i]);
            jw_close(&w, '}');
        }
        jw_close(&w, ']');
        jw_kint(&w, "holders", (long long)res->holders);
        jw_krawf(&w, "duration_seconds", "%.3f", (double)res->duration_us / 1e6);
        jw_kbool(&w, "duration_is_lower_bound", 1);
    }
    jw_close(&w, '}');
    int rc = 0;
    if (w.failed) {
        log_error("out of memory writing the plan");
        rc = -1;
    } else {
        printf("%s\n", b.data);
    }
    buf_free(&b);
    return rc;
}

/* The account to plan, or an exit code. */
static int find_account(const struct config *cfg, const char *vendor, const char *account,
                        const struct cfg_account **out)
{
    const struct cfg_vendor *cv = NULL;
    for (size_t i = 0; i < cfg->n_vendors; i++)
        if (strcmp(cfg->vendors[i].name, vendor) == 0)
            cv = &cfg->vendors[i];
    if (!cv) {
        log_error("vendor \"%s\" is not configured", vendor);
        return EXIT_CONFIG;
    }
    if (!account && cv->n_accounts != 1) {
        log_error("vendor %s has %zu accounts: choose one with --account", vendor, cv->n_accounts);
        return EXIT_USAGE;
    }
    for (size_t j = 0; j < cv->n_accounts; j++)
        if (!account || strcmp(cv->accounts[j].name, account) == 0) {
            *out = &cv->accounts[j];
            return EXIT_OK;
        }
    log_error("vendor %s has no account \"%s\"", vendor, account);
    return EXIT_CONFIG;
}

int cmd_plan(int argc, char **argv, const struct cli_globals *g)
{
    static const struct option opts[] = {{"vendor", required_argument, NULL, 'V'},
                                         {"account", required_argument, NULL, 'a'},
                                         {"since", required_argument, NULL, 'S'},
                                         {"until", required_argument, NULL, 'U'},
                                         {"stream", required_argument, NULL, 's'},
                                         {"samples", required_argument, NULL, 'n'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct plan_request rq;
    memset(&rq, 0, sizeof rq);
    rq.since = rq.until = TS_NULL;
    const char *vendor = NULL, *account = NULL;
    int json = 0;
    struct ss_err err = {0};
    int c;
    optind = 0; /* re-initialise getopt after main.c's "+" scan (see cli.h) */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'V':
            vendor = optarg;
            break;
        case 'a':
            account = optarg;
            break;
        case 's':
            rq.stream = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'n': {
            long n;
            if (cli_long_arg("samples", optarg, 1, 64, &n) != 0)
                return EXIT_USAGE;
            rq.samples = (int)n;
            break;
        }
        case 'S':
        case 'U':
            if (cli_time_arg(c == 'S' ? "since" : "until", optarg,
                             c == 'S' ? &rq.since : &rq.until) != 0)
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
    if (optind >= argc || strcmp(argv[optind], "backfill") != 0) {
        if (optind < argc)
            log_error("plan: unknown plan \"%s\" (only `plan backfill`)", argv[optind]);
        else
            log_error("plan: what to plan? `scoresync plan backfill ...`");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (optind + 1 < argc) {
        log_error("unexpected argument \"%s\"", argv[optind + 1]);
        return EXIT_USAGE;
    }
    if (!vendor || rq.since == TS_NULL) {
        log_error("plan backfill needs --vendor and --since");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (rq.until != TS_NULL && rq.until <= rq.since) {
        log_error("--until is not after --since");
        return EXIT_USAGE;
    }

    struct config *cfg = NULL;
    struct db *db = NULL;
    int rc = cli_load_config(g, 0, &cfg);
    if (rc != EXIT_OK)
        return rc;
    if ((rc = find_account(cfg, vendor, account, &rq.acct)) != EXIT_OK)
        goto out;
    rq.vendor = vendor_find(vendor);
    if (!rq.vendor) {
        log_error("vendor \"%s\" is not supported by this build", vendor);
        rc = EXIT_CONFIG;
        goto out;
    }
    if ((rc = cli_connect(cfg, &db)) != EXIT_OK)
        goto out;
    if (migrate_check(db, cli_migrations_dir(cfg), &err) != 0) {
        log_error("%s", err.msg);
        log_hint("run `scoresync migrate` first");
        rc = EXIT_FATAL;
        goto out;
    }
    if (http_global_init(&err) != 0) {
        log_error("%s", err.msg);
        rc = EXIT_FATAL;
        goto out;
    }
    rq.stop = cli_stop_on_signals();
    struct plan_result res;
    int prc = plan_backfill(db, &rq, &res, &err);
    http_global_cleanup();
    if (prc != 0) {
        log_error("%s/%s: %s", vendor, rq.acct->name, err.msg);
        rc = err.code == SS_EINVAL ? EXIT_USAGE : err.code == SS_ECONFIG ? EXIT_CONFIG : EXIT_FATAL;
        if (res.sample_requests)
            log_detail("%ld sample requests were sent", res.sample_requests);
    } else if (res.unsupported) {
        /* Nothing was sent. */
        for (size_t i = 0; i < res.n_streams; i++)
            if (!res.streams[i].how.windowed)
                log_error("%s/%s %s: cannot plan: not read in date windows: %s", vendor,
                          rq.acct->name, res.streams[i].name, res.streams[i].how.why);
        log_hint("plan supports streams read in date windows; --stream picks one");
        if (json)
            print_json(&rq, &res);
        rc = EXIT_USAGE;
    } else if (json ? print_json(&rq, &res) != 0 : (print_text(&rq, &res), 0)) {
        rc = EXIT_FATAL;
    }
    plan_result_free(&res);
out:
    db_close(db);
    cfg_free(cfg);
    return rc;
}

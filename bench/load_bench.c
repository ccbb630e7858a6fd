/* load_bench: load_batch() alone against the psql \copy yardstick, measured
 * in the same run on the same server.
 *
 * Generates N synthetic Emmersion-shaped results (one candidate each, ~1.5 KB
 * of raw JSON, half of them with four sub-scores), creates a fresh database,
 * migrates it and loads the results in batches of B:
 *   1. new         every row inserted
 *   2. unchanged   the same batches again (nothing may be rewritten)
 *   3. 10% changed every tenth result has a new score and raw JSON
 * and checks the counts load_batch() reports. The yardstick is psql \copy of
 * the same rows (vendor_key, status, score, completed_at, cefr_label, raw
 * jsonb) into a bare table.
 *
 *   load_bench URL [N] [B]     URL: a libpq URL of a server (any database)
 *
 * Not built by CMake; see bench/CMakeLists.txt or compile by hand against
 * libscoresync_core.a. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "core/record.h"
#include "core/timeparse.h"
#include "load/db.h"
#include "load/load.h"
#include "load/migrate.h"

#ifndef SS_SOURCE_DIR
#define SS_SOURCE_DIR "."
#endif

#define BENCH_DB "ss_load_bench"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "load_bench: %s: %s\n", what, msg);
    exit(1);
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        die("strdup", "out of memory");
    return p;
}

static const char *const desc =
    "Individuals at this level can express themselves freely and spontaneously, and for the "
    "most part accurately, on concrete topics and on most complex issues. They can usually "
    "support their opinion and develop hypotheses on topics of particular interest or "
    "personal expertise.";
static const char *const actfl_desc =
    "ACTFL Overall Speaking Guideline: Speakers at the Advanced High sublevel perform all "
    "Advanced-level tasks with linguistic ease, confidence, and competence. They are "
    "consistently able to explain in detail and narrate fully and accurately in all time "
    "frames.";
static const char *const cefr_desc =
    "CEFR Overall Production Description: Can give clear, detailed descriptions and "
    "presentations on complex subjects, integrating sub-themes, developing particular points "
    "and rounding off with an appropriate conclusion.";

/* Fills result i of the batch (and its candidate); version changes score and raw. */
static void make_row(struct ss_batch *b, long i, int version)
{
    char key[64], ckey[64], raw[4096], email[96];
    snprintf(key, sizeof key, "ua-%08lx-4fb8-4667-a2cf-%012lx", i, i * 7919);
    snprintf(ckey, sizeof ckey, "user-%08lx-22c5-458a-b2b2-%012lx", i, i * 104729);
    snprintf(email, sizeof email, "Candidate.%ld@Example.com", i);
    int webcape = i % 2;
    double score = webcape ? 300 + (double)((i * 37 + version * 11) % 700)
                           : (double)((i + version) % 100) / 10.0;
    int64_t completed = 1577836800000000LL + (int64_t)i * 61000000LL + 123456;

    struct ss_candidate *c = batch_add_candidate(b);
    struct ss_result *r = batch_add_result(b);
    if (!c || !r)
        die("batch", "out of memory");
    c->vendor_key = xstrdup(ckey);
    c->email = xstrdup(email);
    c->given_name = xstrdup("Given");
    c->family_name = xstrdup("Family");
    c->username = xstrdup(email);
    char sid[32];
    snprintf(sid, sizeof sid, "%ld", 1000000 + i);
    c->student_id = xstrdup(sid);
    snprintf(raw, sizeof raw,
             "{\"userId\":\"%s\",\"givenName\":\"Given\",\"surname\":\"Family\","
             "\"username\":\"%s\",\"email\":\"%s\",\"studentId\":\"%s\","
             "\"uniqueIdentifier\":null}",
             ckey, email, email, sid);
    c->raw_json = xstrdup(raw);

    r->vendor_key = xstrdup(key);
    r->candidate_key = xstrdup(ckey);
    r->assessment_name = xstrdup(webcape ? "English Grammar" : "English Speaking");
    r->assessment_type = xstrdup(webcape ? "WebCAPE" : "TrueNorth");
    r->assessment_version = xstrdup("A.20.01");
    r->status = xstrdup("completed");
    r->status_label = xstrdup("Completed");
    r->started_at = completed - 169683246;
    r->completed_at = completed;
    r->duration_us = 169683246;
    r->has_score = 1;
    r->score = score;
    r->score_scale = xstrdup(webcape ? "webcape" : "truenorth");
    r->scale_min = 0;
    r->scale_max = webcape ? 1000 : 10;
    r->score_pct = webcape ? score / 10 : score * 10;
    if (webcape) {
        r->placement = xstrdup("Semester 4");
        const char *names[] = {"grammar", "listening", "reading", "vocabulary"};
        for (int k = 0; k < 4; k++) {
            struct ss_subscore *s = result_add_subscore(r);
            if (!s)
                die("subscore", "out of memory");
            s->name = xstrdup(names[k]);
            s->value = (double)((i + k + version) % 16);
            s->max = 16;
        }
    } else {
        r->cefr.label = xstrdup("B2-C1");
        r->cefr.low = 4;
        r->cefr.high = 5;
        r->actfl.label = xstrdup("Advanced Mid - Advanced High");
        r->actfl.low = 8;
        r->actfl.high = 9;
        r->toefl.label = xstrdup("25-27");
        r->toefl.low = 25;
        r->toefl.high = 27;
    }
    char ts_c[48], ts_s[48];
    ts_format(completed, ts_c, sizeof ts_c);
    ts_format(completed - 169683246, ts_s, sizeof ts_s);
    snprintf(raw, sizeof raw,
             "{\"userAssessmentId\":\"%s\",\"assessmentType\":\"%s\",\"assessmentName\":\"%s\","
             "\"status\":\"Completed\",\"started\":\"%s\",\"completed\":\"%s\","
             "\"duration\":\"00:02:49.6832460\",\"score\":%.2f,\"placement\":%s,"
             "\"proficiencyLevelDescription\":\"%s\",\"actflSpeakingLevel\":\"Advanced Mid - "
             "Advanced High\",\"actflDescription\":\"%s\",\"cefrSpeakingLevel\":\"B2-C1\","
             "\"cefrDescription\":\"%s\",\"toeflSpeakingLevel\":\"25-27\","
             "\"ieltsSpeakingLevel\":\"7 - 7.5\",\"toeicSpeakingLevel\":\"170-180\","
             "\"diagnosticInfo\":[\"fluency %ld\",\"pronunciation\"],\"openResponses\":[],"
             "\"subScores\":{\"reading\":{\"correct\":1,\"total\":2},\"grammar\":{\"correct\":"
             "%ld,\"total\":16}},\"assessmentVersion\":\"A.20.01\",\"certificateUrl\":null}",
             key, r->assessment_type, r->assessment_name, ts_s, ts_c, score,
             webcape ? "\"Semester 4\"" : "null", desc, actfl_desc, cefr_desc, i % 97,
             (i + version) % 16);
    r->raw_json = xstrdup(raw);
}

/* One result in ten (pairs, so both kinds: with and without sub-scores). */
static int is_changed(long i)
{
    return (i / 2) % 10 == 0;
}

/* Rows [from, to) with the changing tenth at `changed_version`. */
static void make_batch(struct ss_batch *b, long from, long to, int changed_version)
{
    batch_reset(b);
    for (long i = from; i < to; i++)
        make_row(b, i, is_changed(i) ? changed_version : 0);
}

static PGconn *connect_db(const char *url, const char *dbname)
{
    const char *keys[] = {"dbname", dbname ? "dbname" : NULL, NULL};
    const char *vals[] = {url, dbname, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c) != CONNECTION_OK)
        die("connect", PQerrorMessage(c));
    return c;
}

static void exec_or_die(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        die(sql, PQerrorMessage(c));
    PQclear(r);
}

/* conninfo of the bench database: the server's URL with dbname replaced. */
static char *bench_conninfo(const char *url)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &errmsg);
    if (!opts)
        die("url", errmsg ? errmsg : "?");
    size_t cap = 4096, len = 0;
    char *out = calloc(1, cap);
    for (PQconninfoOption *o = opts; o->keyword && out; o++) {
        const char *v = strcmp(o->keyword, "dbname") == 0 ? BENCH_DB : o->val;
        if (!v)
            continue;
        len += (size_t)snprintf(out + len, cap - len, "%s='%s' ", o->keyword, v);
        if (len >= cap)
            die("url", "too long");
    }
    PQconninfoFree(opts);
    return out;
}

/* psql \copy of the same result rows into a bare table: the yardstick. */
static double copy_yardstick(const char *conninfo, long n)
{
    char path[] = "/tmp/load_bench_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        die("mkstemp", "failed");
    FILE *f = fdopen(fd, "w");
    struct ss_batch b;
    batch_init(&b);
    for (long from = 0; from < n; from += 5000) {
        long to = from + 5000 < n ? from + 5000 : n;
        make_batch(&b, from, to, 0);
        for (size_t i = 0; i < b.n_res; i++) {
            const struct ss_result *r = &b.res[i];
            char ts[48];
            ts_format(r->completed_at, ts, sizeof ts);
            /* The generated JSON has no tab, newline or backslash. */
            fprintf(f, "%ld\t%s\t%s\t%.15g\t%s\t%s\t%s\n", from + (long)i, r->vendor_key, r->status,
                    r->score, ts, r->cefr.label ? r->cefr.label : "\\N", r->raw_json);
        }
    }
    batch_free(&b);
    fclose(f);
    PGconn *c = connect_db(conninfo, NULL);
    exec_or_die(c, "DROP TABLE IF EXISTS copy_bench; CREATE TABLE copy_bench (id bigint, "
                   "vendor_key text, status text, score numeric, completed_at timestamptz, "
                   "cefr_label text, raw jsonb)");
    PQfinish(c);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "psql -X -q \"%s\" -c \"\\copy copy_bench FROM '%s'\"", conninfo,
             path);
    double t0 = now_s();
    if (system(cmd) != 0)
        die("psql \\copy", cmd);
    double dt = now_s() - t0;
    unlink(path);
    return (double)n / dt;
}

struct phase {
    const char *name;
    int version;
    long ins, upd, unch;
    double rate;
};

static void run_phase(struct loader *l, int64_t acct, long n, long bsz, struct phase *p,
                      double *gen_s)
{
    struct ss_batch b;
    batch_init(&b);
    struct load_counts c = {0};
    double load_s = 0;
    *gen_s = 0;
    for (long from = 0; from < n; from += bsz) {
        long to = from + bsz < n ? from + bsz : n;
        double g0 = now_s();
        make_batch(&b, from, to, p->version);
        double t0 = now_s();
        *gen_s += t0 - g0;
        char cursor[32];
        snprintf(cursor, sizeof cursor, "%ld", to);
        struct ss_err err = {0};
        if (load_batch(l, acct, 0, "scores", &b, cursor, "bench-1", &c, &err) != 0)
            die("load_batch", err.msg);
        load_s += now_s() - t0;
    }
    batch_free(&b);
    p->ins = c.res_inserted;
    p->upd = c.res_updated;
    p->unch = c.res_unchanged;
    p->rate = (double)n / load_s;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: load_bench URL [N] [BATCH]\n");
        return 2;
    }
    const char *url = argv[1];
    long n = argc > 2 ? atol(argv[2]) : 100000;
    long bsz = argc > 3 ? atol(argv[3]) : 5000;
    if (n <= 0 || bsz <= 0)
        die("usage", "N and BATCH must be positive");

    PGconn *admin = connect_db(url, NULL);
    exec_or_die(admin, "DROP DATABASE IF EXISTS " BENCH_DB);
    exec_or_die(admin, "CREATE DATABASE " BENCH_DB);
    PQfinish(admin);
    char *conninfo = bench_conninfo(url);

    struct ss_err err = {0};
    struct db *db = NULL;
    if (db_connect(conninfo, &db, &err) != 0)
        die("db_connect", err.msg);
    int applied = 0;
    const char *src = getenv("SS_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/sql", src && *src ? src : SS_SOURCE_DIR);
    if (migrate_run(db, dir, &applied, &err) != 0)
        die("migrate", err.msg);
    struct loader *l = loader_new(db, &err);
    int64_t acct = 0;
    if (!l || load_account(l, "emmersion", "bench", &acct, &err) != 0)
        die("loader", err.msg);

    double copy_rate = copy_yardstick(conninfo, n);
    struct phase ph[] = {
        {"new", 0, 0, 0, 0, 0}, {"unchanged", 0, 0, 0, 0, 0}, {"10% changed", 1, 0, 0, 0, 0}};
    long n_changed = 0;
    for (long i = 0; i < n; i++)
        n_changed += is_changed(i);
    long want[3][3] = {{n, 0, 0}, {0, 0, n}, {0, n_changed, n - n_changed}};
    int bad = 0;
    double gen = 0;
    printf("load_bench: %ld results, batches of %ld, psql \\copy yardstick %.0f rows/s\n", n, bsz,
           copy_rate);
    for (int i = 0; i < 3; i++) {
        run_phase(l, acct, n, bsz, &ph[i], &gen);
        int ok = ph[i].ins == want[i][0] && ph[i].upd == want[i][1] && ph[i].unch == want[i][2];
        bad |= !ok;
        printf("  %-12s %8.0f rows/s = %.2f x copy  (inserted %ld, updated %ld, unchanged %ld%s)"
               "  [generating rows: %.2fs, excluded]\n",
               ph[i].name, ph[i].rate, ph[i].rate / copy_rate, ph[i].ins, ph[i].upd, ph[i].unch,
               ok ? "" : " -- WRONG COUNTS", gen);
    }
    loader_free(l);
    db_close(db);
    free(conninfo);
    return bad ? 1 : 0;
}

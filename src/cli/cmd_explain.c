/* scoresync explain: how one label or score normalises through the mapping
 * tables (norm_explain), so an operator can check a mapping before a run.
 * Reads config/scales.yaml (or --scales, or the config's scales path) and
 * never opens a database. */
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../config/config.h"
#include "../normalize/norm.h"
#include "cli.h"
#include "common.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: scoresync [--config FILE] explain --scale SCALE VALUE [--vendor V]\n"
               "                 [--skill SKILL] [--json] [--scales FILE]\n"
               "\n"
               "Shows how one label or score normalises: CEFR and ACTFL low/high, the numeric\n"
               "band or score, percentage, category, the rule and table that decided it, its\n"
               "published source and the tables' version. No database is touched.\n"
               "\n"
               "Scales: cefr, actfl (--skill picks ACTFL's receptive or productive CEFR column),\n"
               "  toefl (toefl_ibt; --skill reading|listening|speaking|writing|total, default\n"
               "  total), ielts (overall band only), toeic (--skill listening|reading|speaking|\n"
               "  writing, required), each vendor table of scales.yaml's vendor_levels (a score\n"
               "  or one of that vendor's level names), and each score scale in score_scales.\n"
               "VALUE may be a range: \"B2-C1\", \"Advanced Mid - Advanced High\", \"25-27\".\n"
               "\n"
               "  --scale SCALE  the scale to read VALUE on\n"
               "  --vendor V     the vendor the value came from (shown; tables are shared)\n"
               "  --skill SKILL  reading, listening, speaking, writing, total or overall\n"
               "  --json         one JSON object on stdout\n"
               "  --scales FILE  mapping tables (default: the config's, else config/scales.yaml)\n"
               "  -h, --help     show this help\n"
               "\n"
               "Exit status: 0 known, 5 value or scale not in the tables, 2 usage, 3 tables.\n");
}

static int valid_skill(const char *s)
{
    static const char *const ok[] = {"reading", "listening", "speaking",
                                     "writing", "total",     "overall"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcasecmp(s, ok[i]) == 0)
            return 1;
    return 0;
}

static int load_tables(const struct cli_globals *g, const char *path, struct scales **sc)
{
    struct ss_err err = {0};
    struct config *cfg = NULL;
    int rc;
    if (path || (!g->config_path && !getenv("SCORESYNC_CONFIG"))) {
        if (!path)
            path = "config/scales.yaml";
        if (scales_load(path, sc, &err) != 0) {
            fprintf(stderr, "scoresync explain: %s\n", err.msg);
            return EXIT_CONFIG;
        }
        return EXIT_OK;
    }
    if ((rc = cli_load_config(g, CFG_DEFER_SECRETS, &cfg)) != EXIT_OK)
        return rc;
    rc = cli_load_scales(cfg, sc);
    cfg_free(cfg);
    return rc;
}

static json_object *jstr(const char *s)
{
    return s && *s ? json_object_new_string(s) : NULL;
}

static json_object *jrank(int r)
{
    return r ? json_object_new_int(r) : NULL;
}

static json_object *jnum(double v)
{
    return isnan(v) ? NULL : json_object_new_double(v);
}

static void print_json(const struct scales *sc, const struct norm_explain *x, const char *scale,
                       const char *value, const char *vendor, const char *skill)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "scale", json_object_new_string(x->scale ? x->scale : scale));
    json_object_object_add(o, "value", json_object_new_string(value));
    json_object_object_add(o, "vendor", jstr(vendor));
    json_object_object_add(o, "skill", jstr(skill));
    json_object_object_add(o, "known", json_object_new_boolean(x->known));
    json_object_object_add(o, "message", jstr(x->message));
    json_object_object_add(o, "cefr_low", jstr(norm_cefr_code(sc, x->cefr_low)));
    json_object_object_add(o, "cefr_high", jstr(norm_cefr_code(sc, x->cefr_high)));
    json_object_object_add(o, "cefr_low_rank", jrank(x->cefr_low));
    json_object_object_add(o, "cefr_high_rank", jrank(x->cefr_high));
    json_object_object_add(o, "actfl_low", jstr(norm_actfl_code(sc, x->actfl_low)));
    json_object_object_add(o, "actfl_high", jstr(norm_actfl_code(sc, x->actfl_high)));
    json_object_object_add(o, "actfl_low_rank", jrank(x->actfl_low));
    json_object_object_add(o, "actfl_high_rank", jrank(x->actfl_high));
    json_object_object_add(o, "low", jnum(x->low));
    json_object_object_add(o, "high", jnum(x->high));
    json_object_object_add(o, "pct", jnum(x->pct));
    json_object_object_add(o, "category", jstr(x->category));
    json_object_object_add(o, "rule", jstr(x->rule));
    json_object_object_add(o, "source", jstr(x->source));
    json_object_object_add(o, "version", jstr(x->version));
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

static void print_levels(const char *name, const char *lo, const char *hi, int rlo, int rhi)
{
    if (!lo || !hi)
        printf("%-11s -\n", name);
    else if (rlo == rhi)
        printf("%-11s %s (rank %d)\n", name, lo, rlo);
    else
        printf("%-11s %s .. %s (ranks %d..%d)\n", name, lo, hi, rlo, rhi);
}

static void print_text(const struct scales *sc, const struct norm_explain *x, const char *value,
                       const char *vendor, const char *skill)
{
    printf("%-11s %s%s%s%s\n", "scale", x->scale, skill ? " (skill " : "", skill ? skill : "",
           skill ? ")" : "");
    if (vendor)
        printf("%-11s %s\n", "vendor", vendor);
    printf("%-11s \"%s\"\n", "value", value);
    printf("%-11s %s\n", "known", x->known ? "yes" : "no");
    print_levels("cefr", norm_cefr_code(sc, x->cefr_low), norm_cefr_code(sc, x->cefr_high),
                 x->cefr_low, x->cefr_high);
    print_levels("actfl", norm_actfl_code(sc, x->actfl_low), norm_actfl_code(sc, x->actfl_high),
                 x->actfl_low, x->actfl_high);
    if (isnan(x->low))
        printf("%-11s -\n", "band/score");
    else if (x->low == x->high)
        printf("%-11s %g\n", "band/score", x->low);
    else
        printf("%-11s %g .. %g\n", "band/score", x->low, x->high);
    if (isnan(x->pct))
        printf("%-11s -\n", "percentage");
    else
        printf("%-11s %g\n", "percentage", x->pct);
    printf("%-11s %s\n", "category", x->category ? x->category : "-");
    printf("%-11s %s\n", "rule", x->rule[0] ? x->rule : "-");
    if (x->message[0])
        printf("%-11s %s\n", "note", x->message);
    printf("%-11s %s\n", "source", x->source ? x->source : "-");
    printf("%-11s %s\n", "version", x->version ? x->version : "-");
}

int cmd_explain(int argc, char **argv, const struct cli_globals *g)
{
    static const struct option opts[] = {{"scale", required_argument, NULL, 's'},
                                         {"vendor", required_argument, NULL, 'V'},
                                         {"skill", required_argument, NULL, 'k'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"scales", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *scale = NULL, *vendor = NULL, *skill = NULL, *file = NULL;
    int json = 0, c, rc;
    struct scales *sc = NULL;
    struct norm_explain x;
    struct ss_err err = {0};

    /* 0, not 1: glibc then re-reads the ordering, so options may follow VALUE
     * even after main.c's "+" (stop at the command) scan. */
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            scale = optarg;
            break;
        case 'V':
            vendor = optarg;
            break;
        case 'k':
            skill = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'f':
            file = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!scale || optind != argc - 1) {
        fprintf(stderr, "scoresync explain: %s\n",
                !scale ? "--scale is required" : "give exactly one VALUE");
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *value = argv[optind];
    if (skill && !valid_skill(skill)) {
        fprintf(stderr,
                "scoresync explain: unknown skill \"%s\" (reading, listening, speaking, "
                "writing, total, overall)\n",
                skill);
        return EXIT_USAGE;
    }
    if (strcasecmp(scale, "toeic") == 0 && !skill) {
        fprintf(stderr, "scoresync explain: TOEIC maps each skill separately: give --skill "
                        "listening|reading|speaking|writing\n");
        return EXIT_USAGE;
    }
    if ((rc = load_tables(g, file, &sc)) != EXIT_OK)
        return rc;
    if (norm_explain(sc, scale, value, vendor, skill, &x, &err) != 0) {
        fprintf(stderr, "scoresync explain: %s\n", err.msg);
        if (json) {
            memset(&x, 0, sizeof x);
            x.low = x.high = x.pct = NAN;
            snprintf(x.message, sizeof x.message, "%.255s", err.msg);
            x.version = scales_version(sc);
            print_json(sc, &x, scale, value, vendor, skill);
        }
        rc = EXIT_UNKNOWN;
        goto out;
    }
    if (json)
        print_json(sc, &x, scale, value, vendor, skill);
    else
        print_text(sc, &x, value, vendor, skill);
    rc = EXIT_OK;
    if (!x.known) {
        fprintf(stderr, "scoresync explain: %s\n",
                x.message[0] ? x.message : "the value is not in the tables");
        rc = EXIT_UNKNOWN;
    }
out:
    scales_free(sc);
    return rc;
}

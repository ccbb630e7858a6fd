/* config: YAML configuration, PgBouncer style. One table per section of
 * {key, type, offset, default, range, doc} drives parsing, defaults,
 * validation and cfg_print_reference(); nothing else knows the key names.
 *
 * Accounts inherit: table defaults, then the vendor-level keys (every key
 * under vendors.<name> except `accounts`), then the account's own keys. Each
 * level is applied in turn onto the same struct, so a later level overrides an
 * earlier one key by key (lists are replaced whole, mappings merged). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "../core/log.h"
#include "secrets_priv.h"

#define PATH_CAP 256

/* ---- vendors this release knows ---------------------------------------- */

static const char *const emm_streams[] = {"scores", "assignments", NULL};
static const char *const tn_streams[] = {"scores", NULL};

/* streams == NULL: not checked here (the vendor lands in a later release). */
static const struct vendor_def {
    const char *name;
    const char *base_url; /* documented production URL, NULL if none */
    const char *const *streams;
} vendor_defs[] = {
    {"emmersion", "https://api.emmersion.ai/2020q3", emm_streams},
    {"truenorth", "https://api.truenorthtest.com/2020q1", tn_streams},
    {"cepa", "https://cepatest.org/api/v2", NULL},
    {"etest", NULL, NULL},
    {"testello", NULL, NULL},
};
#define N_VENDOR_DEFS (sizeof vendor_defs / sizeof vendor_defs[0])

/* ---- the tables -------------------------------------------------------- */

enum key_type {
    KT_STRING,
    KT_ENUM, /* string out of aux: "a|b|c" */
    KT_PATH, /* string, resolved as documented in cfg_print_reference() */
    KT_INT,
    KT_LONG,
    KT_DOUBLE,
    KT_SECRET,      /* "${ENV}" only; resolved after all levels are applied */
    KT_SECRET_FILE, /* path of a file holding the secret */
    KT_STRLIST,     /* NULL-terminated char ** */
    KT_RATELIST,    /* list of {requests, per_seconds} into cfg_account.rate */
    KT_MAP,         /* nested section, aux is its table, same base struct */
    KT_VENDORS,     /* the vendors mapping */
};

enum {
    KF_REQUIRED = 1 << 0,     /* must be present (account level) */
    KF_NULLABLE = 1 << 1,     /* empty or null leaves NULL */
    KF_URL = 1 << 2,          /* http(s)://, trailing slash dropped */
    KF_DATE = 1 << 3,         /* YYYY-MM-DD */
    KF_IDENT = 1 << 4,        /* [A-Za-z0-9_-]+ */
    KF_ACCOUNT_ONLY = 1 << 5, /* not valid as a vendor-level default */
    KF_NONEMPTY = 1 << 6,     /* lists: at least one item */
    KF_STREAMS = 1 << 7,      /* list items are stream names of the vendor */
};

struct cfg_key {
    const char *name;
    enum key_type type;
    size_t off;
    const char *def; /* default in YAML-ish text; NULL: none */
    double min, max; /* numbers: inclusive range */
    unsigned flags;
    const void *aux;
    const char *doc;
};

/* The secret being assembled for one account, resolved when all levels are in. */
struct secret_spec {
    enum { SPEC_NONE, SPEC_ENV, SPEC_FILE } kind;
    char *ref; /* variable name or file path */
    int line;
    char path[PATH_CAP];
};

struct acct_build {
    struct cfg_account a;
    struct secret_spec key;
    const struct vendor_def *vd;
};

#define AOFF(f) offsetof(struct acct_build, a.f)
#define COFF(f) offsetof(struct config, f)

static const struct cfg_key rate_keys[] = {
    {"requests", KT_INT, offsetof(struct cfg_rate_window, requests), NULL, 1, 1000000, KF_REQUIRED,
     NULL, "at most this many requests ..."},
    {"per_seconds", KT_DOUBLE, offsetof(struct cfg_rate_window, per_seconds), NULL, 0.001, 86400,
     KF_REQUIRED, NULL, "... in any span of this many seconds"},
    {NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL},
};

static const struct cfg_key window_keys[] = {
    {"initial_days", KT_DOUBLE, AOFF(window_initial_days), "30", 0.0001, 36500, 0, NULL,
     "size of the first date window a read asks for"},
    {"min_seconds", KT_DOUBLE, AOFF(window_min_seconds), "60", 1, 31536000, 0, NULL,
     "windows are never split below this; a full window this small is an error"},
    {"max_days", KT_DOUBLE, AOFF(window_max_days), "365", 0.0001, 36500, 0, NULL,
     "windows never grow beyond this"},
    {"target_records", KT_INT, AOFF(window_target_records), "2000", 1, 1000000, 0, NULL,
     "windows returning more are split, those under half of it widened"},
    {NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL},
};

static const struct cfg_key http_keys[] = {
    {"timeout_s", KT_INT, AOFF(timeout_s), "60", 1, 3600, 0, NULL,
     "whole-request timeout, seconds"},
    {"connect_timeout_s", KT_INT, AOFF(connect_timeout_s), "10", 1, 600, 0, NULL,
     "connection timeout, seconds"},
    {"max_attempts", KT_INT, AOFF(max_attempts), "6", 1, 20, 0, NULL,
     "tries per request, the first included (408, 429, 5xx and transport errors retry)"},
    {"backoff_base_ms", KT_INT, AOFF(backoff_base_ms), "500", 1, 600000, 0, NULL,
     "first retry delay; exponential backoff with full jitter after it"},
    {"backoff_max_ms", KT_INT, AOFF(backoff_max_ms), "60000", 1, 3600000, 0, NULL,
     "cap on one retry wait, a server's Retry-After included"},
    {"max_response_bytes", KT_LONG, AOFF(max_response_bytes), "67108864", 1024, 4294967296.0, 0,
     NULL, "a larger response body is refused (the window is split instead)"},
    {NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL},
};

static const struct cfg_key account_keys[] = {
    {"name", KT_STRING, AOFF(name), NULL, 0, 0, KF_REQUIRED | KF_IDENT | KF_ACCOUNT_ONLY, NULL,
     "account name, unique within the vendor; letters, digits, `_` and `-`"},
    {"base_url", KT_STRING, AOFF(base_url), NULL, 0, 0, KF_URL, NULL,
     "API root; default: the vendor's documented URL (table above)"},
    {"api_key", KT_SECRET, offsetof(struct acct_build, key), NULL, 0, 0, 0, NULL,
     "API key, written as `${ENV_VAR}`; a literal key in the file is refused"},
    {"api_key_file", KT_SECRET_FILE, offsetof(struct acct_build, key), NULL, 0, 0, 0, NULL,
     "or: a file holding the key (one trailing newline is stripped); warns if group/world "
     "readable"},
    {"streams", KT_STRLIST, AOFF(streams), "scores", 0, 0, KF_NONEMPTY | KF_STREAMS, NULL,
     "streams to sync, in the vendor's order (emmersion: scores, assignments)"},
    {"start_date", KT_STRING, AOFF(start_date), "2015-01-01", 0, 0, KF_DATE, NULL,
     "where the first sync of a stream begins (YYYY-MM-DD, UTC)"},
    {"overlap_minutes", KT_INT, AOFF(overlap_minutes), "60", 0, 525600, 0, NULL,
     "an incremental sync re-reads this much before the checkpoint"},
    {"recheck_days", KT_INT, AOFF(recheck_days), "30", 0, 36500, 0, NULL,
     "results still pending scoring (or in review) that finished this recently are read again "
     "each sync, since their completion date does not move when the vendor scores them"},
    {"window", KT_MAP, 0, NULL, 0, 0, 0, window_keys, "date windowing of windowed streams"},
    {"rate_limits", KT_RATELIST, AOFF(rate), "5/1, 2000/1200", 0, 0, 0, NULL,
     "1 to 4 windows `{requests: N, per_seconds: S}`, all enforced"},
    {"rate_margin_ms", KT_INT, AOFF(rate_margin_ms), "50", 0, 60000, 0, NULL,
     "added to every rate window's span, for network jitter"},
    {"http", KT_MAP, 0, NULL, 0, 0, 0, http_keys, "HTTP client settings"},
    {"group_ids", KT_STRLIST, AOFF(group_ids), "", 0, 0, 0, NULL,
     "only these vendor groups (empty: all)"},
    {"company_id", KT_STRING, AOFF(company_id), NULL, 0, 0, KF_NULLABLE, NULL,
     "vendor account id where the API wants one (Testello, CEPA)"},
    {"page_size", KT_INT, AOFF(page_size), "100", 1, 10000, 0, NULL,
     "records per page for paged APIs"},
    {NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL},
};

static const struct cfg_key database_keys[] = {
    {"url", KT_STRING, COFF(db.url), NULL, 0, 0, KF_NULLABLE, NULL,
     "libpq URL or conninfo, usually `${DATABASE_URL}`; empty: $DATABASE_URL, else the "
     "embedded local cluster"},
    {"data_dir", KT_PATH, COFF(db.data_dir), ".scoresync/pg", 0, 0, 0, NULL,
     "where the embedded cluster lives"},
    {"batch_rows", KT_INT, COFF(db.batch_rows), "5000", 1, 1000000, 0, NULL,
     "records per load transaction, at most"},
    {NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL},
};

static const struct cfg_key log_keys[] = {
    {"level", KT_ENUM, COFF(log.level), "info", 0, 0, 0, "debug|info|warn|error",
     "least severe level printed"},
    {"format", KT_ENUM, COFF(log.format), "text", 0, 0, 0, "text|json",
     "`json`: one JSON object per line"},
    {NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL},
};

static const struct cfg_key top_keys[] = {
    {"database", KT_MAP, 0, NULL, 0, 0, 0, database_keys, "PostgreSQL"},
    {"log", KT_MAP, 0, NULL, 0, 0, 0, log_keys, "logging"},
    {"scales", KT_PATH, COFF(scales_path), "config/scales.yaml", 0, 0, 0, NULL,
     "score scale and level mapping tables"},
    {"migrations", KT_PATH, COFF(migrations_dir), "sql", 0, 0, 0, NULL,
     "directory of NNN_name.sql migrations"},
    {"vendors", KT_VENDORS, 0, NULL, 0, 0, KF_REQUIRED, NULL,
     "one mapping per vendor: emmersion, truenorth, cepa, etest, testello"},
    {NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL},
};

/* ---- loader state and messages ----------------------------------------- */

struct loader {
    const char *file;     /* name used in messages */
    const char *base_dir; /* the config file's directory; NULL for strings */
    yaml_document_t doc;
    struct ss_err *err;
    int flags; /* CFG_DEFER_SECRETS */
};

enum level { LV_PLAIN, LV_VENDOR };

static int line_of(const yaml_node_t *n)
{
    return n ? (int)n->start_mark.line + 1 : 0;
}

SS_PRINTF(4, 5)
static int ld_error(struct loader *L, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (path && path[0])
        return err_set(L->err, SS_ECONFIG, "%s:%d: %s: %s", L->file, line_of(n), path, msg);
    return err_set(L->err, SS_ECONFIG, "%s:%d: %s", L->file, line_of(n), msg);
}

static int oom(struct loader *L)
{
    return err_set(L->err, SS_ENOMEM, "%s: out of memory", L->file);
}

static size_t path_push_key(char *p, const char *key)
{
    size_t n = strlen(p);
    snprintf(p + n, PATH_CAP - n, n ? ".%s" : "%s", key);
    return n;
}

static size_t path_push_idx(char *p, size_t i)
{
    size_t n = strlen(p);
    snprintf(p + n, PATH_CAP - n, "[%zu]", i);
    return n;
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return "a scalar";
    }
}

static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *v = (const char *)n->data.scalar.value;
    return !v[0] || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
           !strcmp(v, "NULL");
}

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* Edit distance, for "did you mean" (short keys only). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return SIZE_MAX;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

struct suggest {
    const char *best;
    size_t dist;
};

static void suggest_try(struct suggest *s, const char *word, const char *cand)
{
    size_t d = edit_distance(word, cand);
    size_t limit = strlen(cand) / 3 + 1;
    if (d <= limit && d < s->dist) {
        s->best = cand;
        s->dist = d;
    }
}

static int unknown_key(struct loader *L, const yaml_node_t *k, const char *path,
                       const struct cfg_key *tab, const char *extra)
{
    struct suggest s = {NULL, SIZE_MAX};
    for (const struct cfg_key *e = tab; e->name; e++)
        suggest_try(&s, scalar(k), e->name);
    if (extra)
        suggest_try(&s, scalar(k), extra);
    char hint[96] = "";
    if (s.best)
        snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", s.best);
    return ld_error(L, k, path, "unknown key \"%s\"%s", scalar(k), hint);
}

/* The value node of `key` in mapping m, or NULL. */
static yaml_node_t *map_get(struct loader *L, const yaml_node_t *m, const char *key)
{
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&L->doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp(scalar(k), key) == 0)
            return yaml_document_get_node(&L->doc, p->value);
    }
    return NULL;
}

/* ---- value setters ----------------------------------------------------- */

static void free_list(char **l)
{
    if (!l)
        return;
    for (char **p = l; *p; p++)
        free(*p);
    free(l);
}

static void free_spec(struct secret_spec *s)
{
    free(s->ref);
    memset(s, 0, sizeof *s);
}

static int set_string(char **slot, const char *v)
{
    char *c = v ? strdup(v) : NULL;
    if (v && !c)
        return -1;
    free(*slot);
    *slot = c;
    return 0;
}

/* Splits "a, b" into a NULL-terminated list; "" gives an empty list. */
static char **split_list(const char *s)
{
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    char **l = calloc(n + 1, sizeof *l);
    if (!l)
        return NULL;
    size_t i = 0;
    while (*s) {
        while (*s == ' ')
            s++;
        size_t len = strcspn(s, ",");
        size_t t = len;
        while (t > 0 && s[t - 1] == ' ')
            t--;
        if (t > 0 && !(l[i++] = strndup(s, t))) {
            free_list(l);
            return NULL;
        }
        s += len + (s[len] == ',');
    }
    return l;
}

static int parse_rates(const char *s, struct cfg_account *a)
{
    a->n_rate = 0;
    while (*s && a->n_rate < CFG_MAX_WINDOWS) {
        char *end;
        long req = strtol(s, &end, 10);
        if (*end != '/')
            return -1;
        double per = strtod(end + 1, &end);
        a->rate[a->n_rate].requests = (int)req;
        a->rate[a->n_rate].per_seconds = per;
        a->n_rate++;
        s = end + strspn(end, ", ");
    }
    return 0;
}

/* Sets every key of a table to its default. Programmer errors in a default
 * (a typo in the table) abort: the tests load every table. */
static int set_defaults(const struct cfg_key *tab, void *base)
{
    char *b = base;
    for (const struct cfg_key *e = tab; e->name; e++) {
        switch (e->type) {
        case KT_STRING:
        case KT_ENUM:
        case KT_PATH:
            if (set_string((char **)(b + e->off), e->def) != 0)
                return -1;
            break;
        case KT_INT:
            *(int *)(b + e->off) = e->def ? atoi(e->def) : 0;
            break;
        case KT_LONG:
            *(long *)(b + e->off) = e->def ? atol(e->def) : 0;
            break;
        case KT_DOUBLE:
            *(double *)(b + e->off) = e->def ? strtod(e->def, NULL) : 0;
            break;
        case KT_SECRET:
        case KT_SECRET_FILE:
            free_spec((struct secret_spec *)(b + e->off));
            break;
        case KT_STRLIST: {
            char **l = split_list(e->def ? e->def : "");
            if (!l)
                return -1;
            free_list(*(char ***)(b + e->off));
            *(char ***)(b + e->off) = l;
            break;
        }
        case KT_RATELIST:
            if (parse_rates(e->def, &((struct acct_build *)base)->a) != 0)
                abort();
            break;
        case KT_MAP:
            if (set_defaults(e->aux, base) != 0)
                return -1;
            break;
        case KT_VENDORS:
            break;
        }
    }
    return 0;
}

/* Relative paths: the working directory if the path exists there, else the
 * config file's directory, else its parent (the project root when configs
 * live in config/); if none exists, as written (relative to the working
 * directory). */
static char *resolve_path(struct loader *L, const char *p)
{
    if (p[0] == '/' || !L->base_dir || access(p, F_OK) == 0)
        return strdup(p);
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s/%s", L->base_dir, p);
    if (access(buf, F_OK) == 0)
        return strdup(buf);
    snprintf(buf, sizeof buf, "%s/../%s", L->base_dir, p);
    if (access(buf, F_OK) == 0)
        return strdup(buf);
    return strdup(p);
}

static int valid_ident(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return 0;
    return 1;
}

static int valid_date(const char *s)
{
    int y, m, d;
    char tail;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return 0;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return y >= 1970 && m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1];
}

static int enum_has(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

/* A scalar with ${...} expanded; NULL after an error. Caller frees. */
static char *expanded(struct loader *L, const yaml_node_t *n, const char *path, const char *what)
{
    if (n->type != YAML_SCALAR_NODE) {
        ld_error(L, n, path, "expected %s, got %s", what, node_kind(n));
        return NULL;
    }
    char *v = sec_expand(scalar(n), L->err);
    if (!v)
        err_prefix(L->err, "%s:%d: %s", L->file, line_of(n), path);
    return v;
}

static int apply_map(struct loader *L, const yaml_node_t *m, const struct cfg_key *tab, void *base,
                     char *path, enum level lv, const char *skip, const struct vendor_def *vd);
static int apply_vendors(struct loader *L, const yaml_node_t *n, struct config *cfg, char *path);

static int apply_string(struct loader *L, const struct cfg_key *e, const yaml_node_t *n, void *base,
                        char *path)
{
    int rc = -1;
    char **slot = (char **)((char *)base + e->off);
    char *v = expanded(L, n, path, "a string");
    if (!v)
        return -1;
    if (!v[0]) {
        if (e->flags & KF_NULLABLE) {
            free(*slot);
            *slot = NULL;
            rc = 0;
        } else {
            ld_error(L, n, path, "must not be empty");
        }
        goto out;
    }
    if (e->type == KT_ENUM && !enum_has(e->aux, v)) {
        ld_error(L, n, path, "expected one of %s, got \"%s\"", (const char *)e->aux, v);
        goto out;
    }
    if ((e->flags & KF_IDENT) && (!valid_ident(v) || strlen(v) > 64)) {
        ld_error(L, n, path, "\"%s\" is not a valid name (1-64 of A-Z a-z 0-9 _ -)", v);
        goto out;
    }
    if ((e->flags & KF_DATE) && !valid_date(v)) {
        ld_error(L, n, path, "expected a date YYYY-MM-DD, got \"%s\"", v);
        goto out;
    }
    if (e->flags & KF_URL) {
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
            ld_error(L, n, path, "expected an http:// or https:// URL, got \"%s\"", v);
            goto out;
        }
        size_t len = strlen(v);
        while (len > 8 && v[len - 1] == '/')
            v[--len] = '\0';
    }
    if (e->type == KT_PATH) {
        char *r = resolve_path(L, v);
        free(v);
        v = r;
        if (!v) {
            oom(L);
            goto out;
        }
    }
    free(*slot);
    *slot = v;
    v = NULL;
    rc = 0;
out:
    free(v);
    return rc;
}

static int apply_number(struct loader *L, const struct cfg_key *e, const yaml_node_t *n, void *base,
                        char *path)
{
    int rc = -1;
    const char *what = e->type == KT_DOUBLE ? "a number" : "an integer";
    char *v = expanded(L, n, path, what);
    if (!v)
        return -1;
    char *end;
    errno = 0;
    double d;
    if (e->type == KT_DOUBLE) {
        d = strtod(v, &end);
    } else {
        long long ll = strtoll(v, &end, 10);
        d = (double)ll;
    }
    if (!v[0] || *end || errno == ERANGE || !isfinite(d)) {
        ld_error(L, n, path, "expected %s, got \"%s\"", what, v);
        goto out;
    }
    if (d < e->min || d > e->max) {
        ld_error(L, n, path, "must be between %g and %g, got %s", e->min, e->max, v);
        goto out;
    }
    char *slot = (char *)base + e->off;
    if (e->type == KT_INT)
        *(int *)slot = (int)d;
    else if (e->type == KT_LONG)
        *(long *)slot = (long)strtoll(v, NULL, 10);
    else
        *(double *)slot = d;
    rc = 0;
out:
    free(v);
    return rc;
}

static int apply_secret(struct loader *L, const struct cfg_key *e, const yaml_node_t *n, void *base,
                        char *path)
{
    struct secret_spec *spec = (struct secret_spec *)((char *)base + e->off);
    char *name = NULL, *v = NULL;
    int rc = -1;
    if (n->type != YAML_SCALAR_NODE)
        return ld_error(L, n, path, "expected a string, got %s", node_kind(n));
    if (e->type == KT_SECRET) {
        switch (sec_classify(scalar(n), &name)) {
        case SEC_ENV:
            break;
        case SEC_ENV_DEFAULT:
            ld_error(L, n, path, "a secret cannot have a default; write ${%s}", name);
            goto out;
        case SEC_LITERAL:
            /* Never echo the value: it may be a real key. */
            ld_error(L, n, path,
                     "secrets must come from the environment or a file: write "
                     "%s: ${ENV_VAR} or %s_file: PATH",
                     e->name, e->name);
            goto out;
        }
        free_spec(spec);
        spec->kind = SPEC_ENV;
        spec->ref = name;
        name = NULL;
    } else {
        if (!(v = expanded(L, n, path, "a path")))
            goto out;
        if (!v[0]) {
            ld_error(L, n, path, "must not be empty");
            goto out;
        }
        char *r = resolve_path(L, v);
        if (!r) {
            oom(L);
            goto out;
        }
        free_spec(spec);
        spec->kind = SPEC_FILE;
        spec->ref = r;
    }
    spec->line = line_of(n);
    snprintf(spec->path, sizeof spec->path, "%s", path);
    rc = 0;
out:
    free(name);
    free(v);
    return rc;
}

static int known_stream(const struct vendor_def *vd, const char *s)
{
    if (!vd || !vd->streams)
        return 1;
    for (const char *const *p = vd->streams; *p; p++)
        if (strcmp(*p, s) == 0)
            return 1;
    return 0;
}

static int apply_strlist(struct loader *L, const struct cfg_key *e, const yaml_node_t *n,
                         void *base, char *path, const struct vendor_def *vd)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return ld_error(L, n, path, "expected a list, got %s", node_kind(n));
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (cnt == 0 && (e->flags & KF_NONEMPTY))
        return ld_error(L, n, path, "must list at least one item");
    char **l = calloc(cnt + 1, sizeof *l);
    if (!l)
        return oom(L);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = yaml_document_get_node(&L->doc, n->data.sequence.items.start[i]);
        size_t saved = path_push_idx(path, i);
        char *v = expanded(L, it, path, "a string");
        int bad = !v;
        if (v && !v[0])
            bad = ld_error(L, it, path, "must not be empty");
        if (v && !bad && (e->flags & KF_STREAMS) && !known_stream(vd, v))
            bad = ld_error(L, it, path, "unknown stream \"%s\" for %s", v, vd->name);
        for (size_t j = 0; v && !bad && j < i; j++)
            if (strcmp(l[j], v) == 0)
                bad = ld_error(L, it, path, "\"%s\" is listed twice", v);
        path[saved] = '\0';
        if (bad) {
            free(v);
            free_list(l);
            return -1;
        }
        l[i] = v;
    }
    char ***slot = (char ***)((char *)base + e->off);
    free_list(*slot);
    *slot = l;
    return 0;
}

static int apply_ratelist(struct loader *L, const yaml_node_t *n, void *base, char *path)
{
    struct cfg_account *a = &((struct acct_build *)base)->a;
    if (n->type != YAML_SEQUENCE_NODE)
        return ld_error(L, n, path, "expected a list of {requests, per_seconds}, got %s",
                        node_kind(n));
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (cnt == 0 || cnt > CFG_MAX_WINDOWS)
        return ld_error(L, n, path, "must list 1 to %d windows, got %zu", CFG_MAX_WINDOWS, cnt);
    struct cfg_rate_window w[CFG_MAX_WINDOWS];
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = yaml_document_get_node(&L->doc, n->data.sequence.items.start[i]);
        size_t saved = path_push_idx(path, i);
        memset(&w[i], 0, sizeof w[i]);
        if (apply_map(L, it, rate_keys, &w[i], path, LV_PLAIN, NULL, NULL) != 0)
            return -1;
        path[saved] = '\0';
    }
    memcpy(a->rate, w, cnt * sizeof w[0]);
    a->n_rate = (int)cnt;
    return 0;
}

static int apply_value(struct loader *L, const struct cfg_key *e, const yaml_node_t *n, void *base,
                       char *path, enum level lv, const struct vendor_def *vd)
{
    if (is_null(n) && e->type != KT_VENDORS) {
        /* null means "the default" (for nullable strings that is NULL). */
        if (e->flags & KF_REQUIRED)
            return ld_error(L, n, path, "must not be null");
        struct cfg_key one[2] = {*e, {0}};
        if (set_defaults(one, base) != 0)
            return oom(L);
        return 0;
    }
    switch (e->type) {
    case KT_STRING:
    case KT_ENUM:
    case KT_PATH:
        return apply_string(L, e, n, base, path);
    case KT_INT:
    case KT_LONG:
    case KT_DOUBLE:
        return apply_number(L, e, n, base, path);
    case KT_SECRET:
    case KT_SECRET_FILE:
        return apply_secret(L, e, n, base, path);
    case KT_STRLIST:
        return apply_strlist(L, e, n, base, path, vd);
    case KT_RATELIST:
        return apply_ratelist(L, n, base, path);
    case KT_MAP:
        return apply_map(L, n, e->aux, base, path, lv, NULL, vd);
    case KT_VENDORS:
        return apply_vendors(L, n, base, path);
    }
    return 0;
}

/* Applies a mapping's keys from table tab onto base. `skip` is a key the
 * caller handles itself (vendor-level `accounts`). */
static int apply_map(struct loader *L, const yaml_node_t *m, const struct cfg_key *tab, void *base,
                     char *path, enum level lv, const char *skip, const struct vendor_def *vd)
{
    if (m->type != YAML_MAPPING_NODE)
        return ld_error(L, m, path, "expected a mapping, got %s", node_kind(m));
    unsigned seen = 0;
    const yaml_node_t *secret_node = NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&L->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&L->doc, p->value);
        if (k->type != YAML_SCALAR_NODE)
            return ld_error(L, k, path, "keys must be plain strings, got %s", node_kind(k));
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = yaml_document_get_node(&L->doc, q->key);
            if (k2->type == YAML_SCALAR_NODE && strcmp(scalar(k2), scalar(k)) == 0)
                return ld_error(L, k, path, "duplicate key \"%s\" (first at line %d)", scalar(k),
                                line_of(k2));
        }
        if (skip && strcmp(scalar(k), skip) == 0)
            continue;
        const struct cfg_key *e = tab;
        while (e->name && strcmp(e->name, scalar(k)) != 0)
            e++;
        if (!e->name)
            return unknown_key(L, k, path, tab, skip);
        size_t saved = path_push_key(path, e->name);
        if (lv == LV_VENDOR && (e->flags & KF_ACCOUNT_ONLY)) {
            ld_error(L, k, path, "belongs inside accounts[], not at vendor level");
            return -1;
        }
        if (e->type == KT_SECRET || e->type == KT_SECRET_FILE) {
            if (secret_node) {
                ld_error(L, k, path, "give either %s or %s, not both", scalar(secret_node),
                         scalar(k));
                return -1;
            }
            secret_node = k;
        }
        if (apply_value(L, e, v, base, path, lv, vd) != 0)
            return -1;
        path[saved] = '\0';
        seen |= 1u << (e - tab);
    }
    if (lv == LV_PLAIN)
        for (const struct cfg_key *e = tab; e->name; e++)
            if ((e->flags & KF_REQUIRED) && !(seen & (1u << (e - tab))))
                return ld_error(L, m, path, "missing required key \"%s\"", e->name);
    return 0;
}

/* ---- accounts and vendors ---------------------------------------------- */

static void account_free(struct cfg_account *a)
{
    free(a->vendor);
    free(a->name);
    free(a->base_url);
    sec_free(a->api_key);
    free(a->api_key_source);
    free(a->company_id);
    free_list(a->streams);
    free_list(a->group_ids);
    free(a->start_date);
    memset(a, 0, sizeof *a);
}

static int resolve_secret(struct loader *L, struct acct_build *b, const yaml_node_t *acct,
                          const char *acct_path)
{
    struct secret_spec *s = &b->key;
    struct cfg_account *a = &b->a;
    char src[PATH_CAP + 64];
    if (s->kind == SPEC_NONE)
        return ld_error(L, acct, acct_path,
                        "missing api_key (write api_key: ${ENV_VAR} or api_key_file: PATH)");
    if (L->flags & CFG_DEFER_SECRETS) {
        snprintf(src, sizeof src, "%s %s", s->kind == SPEC_ENV ? "environment variable" : "file",
                 s->ref);
    } else if (s->kind == SPEC_ENV) {
        if (sec_from_env(s->ref, &a->api_key, L->err) != 0)
            return err_prefix(L->err, "%s:%d: %s (account %s)", L->file, s->line, s->path, a->name);
        snprintf(src, sizeof src, "environment variable %s", s->ref);
    } else {
        int loose = 0;
        if (sec_from_file(s->ref, &a->api_key, &loose, L->err) != 0)
            return err_prefix(L->err, "%s:%d: %s (account %s)", L->file, s->line, s->path, a->name);
        if (loose)
            log_warn("%s:%d: %s: secret file %s is readable by group or others; chmod 600 it",
                     L->file, s->line, s->path, s->ref);
        snprintf(src, sizeof src, "file %s", s->ref);
    }
    if (!(a->api_key_source = strdup(src)))
        return oom(L);
    return 0;
}

/* Cross-key checks once every level is in. */
static int check_account(struct loader *L, struct acct_build *b, const yaml_node_t *acct,
                         const char *p)
{
    struct cfg_account *a = &b->a;
    if (!a->base_url)
        return ld_error(L, acct, p, "missing base_url (%s has no default)", a->vendor);
    if (a->window_initial_days > a->window_max_days)
        return ld_error(L, acct, p, "window.initial_days (%g) exceeds window.max_days (%g)",
                        a->window_initial_days, a->window_max_days);
    if (a->window_min_seconds > a->window_initial_days * 86400)
        return ld_error(L, acct, p, "window.min_seconds (%g) exceeds window.initial_days (%g)",
                        a->window_min_seconds, a->window_initial_days);
    if (a->backoff_base_ms > a->backoff_max_ms)
        return ld_error(L, acct, p, "http.backoff_base_ms (%d) exceeds http.backoff_max_ms (%d)",
                        a->backoff_base_ms, a->backoff_max_ms);
    return 0;
}

static int load_account(struct loader *L, const struct vendor_def *vd, const yaml_node_t *vmap,
                        const yaml_node_t *item, char *path, struct cfg_account *out)
{
    struct acct_build b;
    int rc = -1;
    memset(&b, 0, sizeof b);
    b.vd = vd;
    if (set_defaults(account_keys, &b) != 0 || !(b.a.vendor = strdup(vd->name)) ||
        (vd->base_url && set_string(&b.a.base_url, vd->base_url) != 0)) {
        oom(L);
        goto out;
    }
    /* The vendor level is applied with its own path, so errors point there. */
    char vpath[PATH_CAP];
    snprintf(vpath, sizeof vpath, "%s", path);
    char *br = strrchr(vpath, '.');
    if (br)
        *br = '\0'; /* "vendors.x.accounts[0]" -> "vendors.x" */
    if (apply_map(L, vmap, account_keys, &b, vpath, LV_VENDOR, "accounts", vd) != 0)
        goto out;
    if (apply_map(L, item, account_keys, &b, path, LV_PLAIN, NULL, vd) != 0)
        goto out;
    if (check_account(L, &b, item, path) != 0 || resolve_secret(L, &b, item, path) != 0)
        goto out;
    *out = b.a;
    memset(&b.a, 0, sizeof b.a);
    rc = 0;
out:
    account_free(&b.a);
    free_spec(&b.key);
    return rc;
}

static int load_vendor(struct loader *L, const struct vendor_def *vd, const yaml_node_t *vmap,
                       char *path, struct cfg_vendor *v)
{
    if (!(v->name = strdup(vd->name)))
        return oom(L);
    if (is_null(vmap) || vmap->type != YAML_MAPPING_NODE)
        return ld_error(L, vmap, path, "expected a mapping with accounts, got %s",
                        is_null(vmap) ? "nothing" : node_kind(vmap));
    /* Vendor-level keys are checked once up front, so their errors come first
     * even when accounts are missing. */
    struct acct_build scratch;
    memset(&scratch, 0, sizeof scratch);
    int bad = set_defaults(account_keys, &scratch) != 0 ? oom(L) : 0;
    if (!bad)
        bad = apply_map(L, vmap, account_keys, &scratch, path, LV_VENDOR, "accounts", vd);
    account_free(&scratch.a);
    free_spec(&scratch.key);
    if (bad)
        return -1;
    yaml_node_t *accts = map_get(L, vmap, "accounts");
    if (!accts)
        return ld_error(L, vmap, path, "missing required key \"accounts\"");
    size_t saved = path_push_key(path, "accounts");
    if (accts->type != YAML_SEQUENCE_NODE)
        return ld_error(L, accts, path, "expected a list, got %s", node_kind(accts));
    size_t cnt = (size_t)(accts->data.sequence.items.top - accts->data.sequence.items.start);
    if (cnt == 0)
        return ld_error(L, accts, path, "needs at least one account");
    if (!(v->accounts = calloc(cnt, sizeof *v->accounts)))
        return oom(L);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = yaml_document_get_node(&L->doc, accts->data.sequence.items.start[i]);
        size_t s2 = path_push_idx(path, i);
        if (load_account(L, vd, vmap, it, path, &v->accounts[i]) != 0)
            return -1;
        v->n_accounts++;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(v->accounts[j].name, v->accounts[i].name) != 0)
                continue;
            path_push_key(path, "name");
            const yaml_node_t *first =
                yaml_document_get_node(&L->doc, accts->data.sequence.items.start[j]);
            return ld_error(L, map_get(L, it, "name"), path,
                            "duplicate account name \"%s\" (first at line %d)", v->accounts[i].name,
                            line_of(map_get(L, first, "name")));
        }
        path[s2] = '\0';
    }
    path[saved] = '\0';
    return 0;
}

static int apply_vendors(struct loader *L, const yaml_node_t *n, struct config *cfg, char *path)
{
    if (is_null(n) || n->type != YAML_MAPPING_NODE)
        return ld_error(L, n, path, "expected a mapping of vendor names, got %s",
                        is_null(n) ? "nothing" : node_kind(n));
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (cnt == 0)
        return ld_error(L, n, path, "needs at least one vendor");
    if (!(cfg->vendors = calloc(cnt, sizeof *cfg->vendors)))
        return oom(L);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
        yaml_node_t *k = yaml_document_get_node(&L->doc, p->key);
        const struct vendor_def *vd = NULL;
        for (size_t j = 0; k->type == YAML_SCALAR_NODE && j < N_VENDOR_DEFS; j++)
            if (strcmp(vendor_defs[j].name, scalar(k)) == 0)
                vd = &vendor_defs[j];
        if (!vd) {
            if (k->type != YAML_SCALAR_NODE)
                return ld_error(L, k, path, "vendor names must be strings");
            struct suggest s = {NULL, SIZE_MAX};
            for (size_t j = 0; j < N_VENDOR_DEFS; j++)
                suggest_try(&s, scalar(k), vendor_defs[j].name);
            char hint[64] = "";
            if (s.best)
                snprintf(hint, sizeof hint, "did you mean \"%s\"? ", s.best);
            return ld_error(L, k, path,
                            "unknown vendor \"%s\" (%sknown: emmersion, truenorth, cepa, etest, "
                            "testello)",
                            scalar(k), hint);
        }
        for (size_t j = 0; j < cfg->n_vendors; j++)
            if (strcmp(cfg->vendors[j].name, vd->name) == 0)
                return ld_error(L, k, path, "vendor \"%s\" is listed twice", vd->name);
        size_t saved = path_push_key(path, vd->name);
        cfg->n_vendors++;
        if (load_vendor(L, vd, yaml_document_get_node(&L->doc, p->value), path, &cfg->vendors[i]) !=
            0)
            return -1;
        path[saved] = '\0';
    }
    return 0;
}

/* ---- entry points ------------------------------------------------------ */

static int load_parser(yaml_parser_t *parser, const char *name, const char *base_dir, int flags,
                       struct config **out, struct ss_err *err)
{
    struct loader L;
    struct config *cfg = NULL;
    int rc = -1, have_doc = 0;
    char path[PATH_CAP] = "";

    memset(&L, 0, sizeof L);
    L.file = name;
    L.base_dir = base_dir;
    L.err = err;
    L.flags = flags;
    *out = NULL;
    if (!yaml_parser_load(parser, &L.doc)) {
        err_set(err, SS_ECONFIG, "%s:%d: YAML syntax error: %s%s%s", name,
                (int)parser->problem_mark.line + 1, parser->problem ? parser->problem : "?",
                parser->context ? " " : "", parser->context ? parser->context : "");
        goto out;
    }
    have_doc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&L.doc);
    if (!root || is_null(root)) {
        err_set(err, SS_ECONFIG, "%s: the configuration is empty", name);
        goto out;
    }
    if (!(cfg = calloc(1, sizeof *cfg)) || !(cfg->path = strdup(name)) ||
        set_defaults(top_keys, cfg) != 0) {
        oom(&L);
        goto out;
    }
    if (apply_map(&L, root, top_keys, cfg, path, LV_PLAIN, NULL, NULL) != 0)
        goto out;
    /* An empty database.url means "from the environment, else embedded". */
    const char *env_url = getenv("DATABASE_URL");
    if (!cfg->db.url && env_url && env_url[0] && set_string(&cfg->db.url, env_url) != 0) {
        oom(&L);
        goto out;
    }
    *out = cfg;
    cfg = NULL;
    rc = 0;
out:
    if (have_doc)
        yaml_document_delete(&L.doc);
    cfg_free(cfg);
    return rc;
}

int cfg_load(const char *path, struct config **out, struct ss_err *err)
{
    return cfg_load_ex(path, 0, out, err);
}

int cfg_load_ex(const char *path, int flags, struct config **out, struct ss_err *err)
{
    yaml_parser_t parser;
    int rc = -1;
    char *dir = NULL;
    FILE *f = fopen(path, "rb");
    *out = NULL;
    if (!f)
        return err_set(err, SS_ECONFIG, "cannot open configuration %s: %s", path, strerror(errno));
    if (!(dir = strdup(path))) {
        fclose(f);
        return err_set(err, SS_ENOMEM, "out of memory");
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        strcpy(dir, ".");
    if (!yaml_parser_initialize(&parser)) {
        err_set(err, SS_ENOMEM, "out of memory");
        goto out;
    }
    yaml_parser_set_input_file(&parser, f);
    rc = load_parser(&parser, path, dir, flags, out, err);
    yaml_parser_delete(&parser);
out:
    fclose(f);
    free(dir);
    return rc;
}

int cfg_load_string(const char *yaml, const char *name, struct config **out, struct ss_err *err)
{
    yaml_parser_t parser;
    *out = NULL;
    if (!yaml_parser_initialize(&parser))
        return err_set(err, SS_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, strlen(yaml));
    int rc = load_parser(&parser, name ? name : "<string>", NULL, 0, out, err);
    yaml_parser_delete(&parser);
    return rc;
}

void cfg_free(struct config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_vendors; i++) {
        struct cfg_vendor *v = &cfg->vendors[i];
        for (size_t j = 0; j < v->n_accounts; j++)
            account_free(&v->accounts[j]);
        free(v->accounts);
        free(v->name);
    }
    free(cfg->vendors);
    free(cfg->path);
    free(cfg->db.url);
    free(cfg->db.data_dir);
    free(cfg->log.level);
    free(cfg->log.format);
    free(cfg->scales_path);
    free(cfg->migrations_dir);
    free(cfg);
}

const struct cfg_vendor *cfg_vendor(const struct config *cfg, const char *name)
{
    for (size_t i = 0; cfg && i < cfg->n_vendors; i++)
        if (strcmp(cfg->vendors[i].name, name) == 0)
            return &cfg->vendors[i];
    return NULL;
}

const struct cfg_account *cfg_account(const struct cfg_vendor *v, const char *name)
{
    for (size_t i = 0; v && i < v->n_accounts; i++)
        if (strcmp(v->accounts[i].name, name) == 0)
            return &v->accounts[i];
    return NULL;
}

int cfg_stream_enabled(const struct cfg_account *a, const char *stream)
{
    if (!a || !a->streams)
        return 0;
    for (char **p = a->streams; *p; p++)
        if (strcmp(*p, stream) == 0)
            return 1;
    return 0;
}

/* ---- reference --------------------------------------------------------- */

static const char *type_name(const struct cfg_key *e)
{
    switch (e->type) {
    case KT_STRING:
        return e->flags & KF_URL ? "URL" : e->flags & KF_DATE ? "date" : "string";
    case KT_ENUM:
        return "one of";
    case KT_PATH:
        return "path";
    case KT_INT:
    case KT_LONG:
        return "integer";
    case KT_DOUBLE:
        return "number";
    case KT_SECRET:
        return "secret";
    case KT_SECRET_FILE:
        return "path";
    case KT_STRLIST:
        return "list of strings";
    case KT_RATELIST:
        return "list of rate windows";
    case KT_MAP:
        return "mapping";
    case KT_VENDORS:
        return "mapping";
    }
    return "?";
}

static void print_table(FILE *f, const char *prefix, const struct cfg_key *tab)
{
    fprintf(f, "| key | type | default | description |\n|---|---|---|---|\n");
    for (const struct cfg_key *e = tab; e->name; e++) {
        char type[96], def[64], range[64] = "";
        if (e->type == KT_ENUM) {
            /* A '|' would end the Markdown table cell. */
            size_t n = (size_t)snprintf(type, sizeof type, "one of `");
            for (const char *c = e->aux; *c && n + 5 < sizeof type; c++)
                n += (size_t)(*c == '|' ? snprintf(type + n, sizeof type - n, "`, `")
                                        : snprintf(type + n, sizeof type - n, "%c", *c));
            snprintf(type + n, sizeof type - n, "`");
        } else
            snprintf(type, sizeof type, "%s", type_name(e));
        if (e->type == KT_INT || e->type == KT_LONG || e->type == KT_DOUBLE)
            snprintf(range, sizeof range, ", %.15g to %.15g", e->min, e->max);
        if (e->flags & KF_REQUIRED)
            snprintf(def, sizeof def, "required");
        else if (e->type == KT_STRLIST && e->def)
            snprintf(def, sizeof def, "`[%s]`", e->def);
        else if (e->type == KT_MAP)
            snprintf(def, sizeof def, "see below");
        else if (e->flags & KF_URL)
            snprintf(def, sizeof def, "the vendor's");
        else if (e->type == KT_RATELIST)
            snprintf(def, sizeof def, "%s (requests/seconds)", e->def);
        else if (e->def)
            snprintf(def, sizeof def, "`%s`", e->def);
        else
            snprintf(def, sizeof def, "none");
        fprintf(f, "| `%s%s` | %s%s | %s | %s |\n", prefix, e->name, type, range, def, e->doc);
    }
    fprintf(f, "\n");
}

void cfg_print_reference(void *file)
{
    FILE *f = file;
    fprintf(f, "# Configuration reference\n"
               "\n"
               "Generated from the key tables in `src/config/config.c` by\n"
               "`cfg_print_reference()`; `tests/unit/test_config.c` fails when this file and\n"
               "the tables disagree. Examples: `config/example.yaml` (production) and\n"
               "`config/sandbox.yaml` (the bundled sandbox).\n"
               "\n"
               "## Rules\n"
               "\n"
               "- Unknown keys, values of the wrong type or out of range, and missing required\n"
               "  keys are errors naming the file, the line and the key path, e.g.\n"
               "  `config/x.yaml:12: vendors.emmersion.accounts[0].rate_limits[1].per_seconds:\n"
               "  expected a number, got \"abc\"`.\n"
               "- `null` (or an empty value) means the key's default.\n"
               "- `${NAME}` and `${NAME:-default}` are replaced from the environment anywhere in\n"
               "  a non-secret value (shell `:-` rules: unset or empty takes the default, and\n"
               "  without a default becomes empty).\n"
               "- Secrets (`api_key`) are written exactly as `${ENV_VAR}`, with no default, or\n"
               "  given as `api_key_file: PATH`. A literal secret in the file is an error, and so\n"
               "  is an unset or empty variable; messages name the variable, never the value.\n"
               "  A secret file has one trailing newline stripped; a file readable by group or\n"
               "  others is used with a warning.\n"
               "- Relative paths (`scales`, `migrations`, `database.data_dir`, `api_key_file`)\n"
               "  are taken from the working directory if they exist there, else from the\n"
               "  config file's directory, else from that directory's parent (the project root\n"
               "  when the file lives in `config/`); if none exists, as written.\n"
               "- An empty or unset `database.url` falls back to `$DATABASE_URL`, and without\n"
               "  that to the embedded local cluster in `database.data_dir`.\n"
               "\n"
               "## Top level\n\n");
    print_table(f, "", top_keys);
    fprintf(f, "## database\n\n");
    print_table(f, "database.", database_keys);
    fprintf(f, "## log\n\n");
    print_table(f, "log.", log_keys);
    fprintf(f, "## vendors\n\n"
               "| vendor | default base_url | streams |\n|---|---|---|\n");
    for (size_t i = 0; i < N_VENDOR_DEFS; i++) {
        const struct vendor_def *vd = &vendor_defs[i];
        fprintf(f, "| `%s` | %s | ", vd->name, vd->base_url ? vd->base_url : "none: required");
        for (const char *const *s = vd->streams; s && *s; s++)
            fprintf(f, "%s`%s`", s == vd->streams ? "" : ", ", *s);
        fprintf(f, "%s |\n", vd->streams ? "" : "not checked yet");
    }
    fprintf(f, "\n"
               "This release syncs emmersion; the others are validated and land later.\n"
               "Each vendor is a mapping with `accounts`, a list of at least one account.\n"
               "Every account key below may also be written directly under `vendors.<vendor>`\n"
               "(except `name`): it is then the default for that vendor's accounts, which may\n"
               "override it key by key (lists are replaced whole, `window` and `http` merged).\n"
               "\n"
               "### vendors.&lt;vendor&gt;.accounts[]\n\n");
    print_table(f, "", account_keys);
    fprintf(f, "### window\n\n");
    print_table(f, "window.", window_keys);
    fprintf(f, "### http\n\n");
    print_table(f, "http.", http_keys);
    fprintf(f, "### rate_limits[]\n\n");
    print_table(f, "", rate_keys);
}

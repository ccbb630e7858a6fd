/* config: YAML configuration, PgBouncer style. One table per section of
 * {key, type, offset, default, range, doc} drives parsing, defaults,
 * validation and cfg_print_reference(); nothing else knows the key names.
 * What is vendor-specific (names, default URL, streams, rate limits, secrets,
 * options) comes from the schemas the vendor files declare
 * (cfg_vendor_schemas); this file names no vendor.
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/redact.h"
#include "../core/yamlx.h"
#include "secrets_priv.h"

/* A configuration is a few kilobytes; this catches a path to the wrong file. */
#define CFG_FILE_MAX (4 * 1024 * 1024)

/* ---- secrets: the slots an account has; a schema says which it takes ---- */

struct secret_slot {
    const char *name; /* YAML key; "<name>_file" is its file form */
    size_t val_off;   /* char * in struct cfg_account: the value */
    size_t src_off;   /* char * in struct cfg_account: where it came from */
};

static const struct secret_slot secret_slots[] = {
    {"api_key", offsetof(struct cfg_account, api_key),
     offsetof(struct cfg_account, api_key_source)},
    {"secret", offsetof(struct cfg_account, secret), offsetof(struct cfg_account, secret_source)},
};
#define N_SECRET_SLOTS (sizeof secret_slots / sizeof secret_slots[0])

/* ---- the tables -------------------------------------------------------- */

enum key_type {
    KT_STRING,
    KT_ENUM, /* string out of aux: "a|b|c" */
    KT_PATH, /* string, resolved as documented in cfg_print_reference() */
    KT_INT,
    KT_LONG,
    KT_DOUBLE,
    KT_SECRET,      /* "${ENV}" only; resolved after all levels are applied; aux: slot */
    KT_SECRET_FILE, /* path of a file holding the secret; aux: slot */
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
    KF_VENDOR = 1 << 8,       /* default comes from the vendor's schema */
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
    unsigned long line;
    char path[YX_PATH_MAX];
};

struct acct_build {
    struct cfg_account a; /* a.schema is set before anything is applied */
    struct secret_spec sec[N_SECRET_SLOTS];
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
    {"target_records", KT_INT, AOFF(window_target_records), "10000", 1, 1000000, 0, NULL,
     "records wanted per window: the next window is sized by the last one's density toward "
     "it; requests are the scarce resource and memory no longer grows with a response, so "
     "large accounts want few large responses (about 11 requests per 100,000 reports)"},
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
    {"base_url", KT_STRING, AOFF(base_url), NULL, 0, 0, KF_URL | KF_VENDOR, NULL,
     "API root; default: the vendor's documented URL (its section below)"},
    {"api_key", KT_SECRET, offsetof(struct acct_build, sec[0]), NULL, 0, 0, 0, &secret_slots[0],
     "API key, written as `${ENV_VAR}`; a literal key in the file is refused"},
    {"api_key_file", KT_SECRET_FILE, offsetof(struct acct_build, sec[0]), NULL, 0, 0, 0,
     &secret_slots[0],
     "or: a file holding the key (one trailing newline is stripped); warns if group/world "
     "readable"},
    {"secret", KT_SECRET, offsetof(struct acct_build, sec[1]), NULL, 0, 0, 0, &secret_slots[1],
     "second secret (a signing key), written like `api_key`; only for vendors that take one"},
    {"secret_file", KT_SECRET_FILE, offsetof(struct acct_build, sec[1]), NULL, 0, 0, 0,
     &secret_slots[1], "or: a file holding it, as `api_key_file`"},
    {"streams", KT_STRLIST, AOFF(streams), NULL, 0, 0, KF_NONEMPTY | KF_STREAMS | KF_VENDOR, NULL,
     "streams to sync (run in the vendor's order); names and default: the vendor's section"},
    {"start_date", KT_STRING, AOFF(start_date), "2015-01-01", 0, 0, KF_DATE, NULL,
     "where the first sync of a stream begins (YYYY-MM-DD, UTC)"},
    {"overlap_minutes", KT_INT, AOFF(overlap_minutes), "60", 0, 525600, 0, NULL,
     "an incremental sync re-reads this much before the checkpoint"},
    {"recheck_days", KT_INT, AOFF(recheck_days), "30", 0, 36500, 0, NULL,
     "results not final yet (the vendor's stream says which statuses, by completion or start "
     "date) that are this recent are read again each sync, since the vendor does not move "
     "their date when it scores or finishes them; older ones are listed by `status`"},
    {"recheck_max_requests", KT_INT, AOFF(recheck_max_requests), "100", 1, 100000, 0, NULL,
     "at most this many requests per run go to those re-reads (the rest wait for the next run)"},
    {"window", KT_MAP, 0, NULL, 0, 0, 0, window_keys, "date windowing of windowed streams"},
    {"rate_limits", KT_RATELIST, AOFF(rate), NULL, 0, 0, KF_VENDOR, NULL,
     "1 to 4 windows `{requests: N, per_seconds: S}`, all enforced"},
    {"rate_margin_ms", KT_INT, AOFF(rate_margin_ms), "50", 0, 60000, 0, NULL,
     "added to every rate window's span, for network jitter"},
    {"http", KT_MAP, 0, NULL, 0, 0, 0, http_keys, "HTTP client settings"},
    {"group_ids", KT_STRLIST, AOFF(group_ids), "", 0, 0, 0, NULL,
     "only these vendor groups (empty: all)"},
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
    {"batch_rows", KT_INT, COFF(db.batch_rows), "2000", 1, 1000000, 0, NULL,
     "records per load transaction, at most; also what a response is handed to the loader in "
     "while it streams, so memory grows with it (three such parts are alive at once)"},
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
    {"metrics_file", KT_PATH, COFF(metrics_file), NULL, 0, 0, KF_NULLABLE, NULL,
     "Prometheus text file rewritten (atomically) at the end of every sync and backfill; "
     "unset: none (`--metrics-file` overrides)"},
    {"vendors", KT_VENDORS, 0, NULL, 0, 0, KF_REQUIRED, NULL,
     "one mapping per vendor (see the vendor reference below)"},
    {NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL},
};

/* ---- loader state and messages ----------------------------------------- */

struct loader {
    struct yx_doc d;      /* the document, its name for messages and L->d.err */
    const char *file;     /* = d.file */
    const char *base_dir; /* the config file's directory; NULL for strings */
    struct ss_err *err;   /* = d.err */
    int flags;            /* CFG_DEFER_SECRETS */
    const struct cfg_vendor_schema *const *schemas;
};

enum level { LV_PLAIN, LV_VENDOR };

/* vs: the vendor whose options are also valid here, or NULL. */
static int unknown_key(struct loader *L, const yaml_node_t *k, const char *path,
                       const struct cfg_key *tab, const char *extra,
                       const struct cfg_vendor_schema *vs)
{
    struct yx_suggest s = {NULL, SIZE_MAX};
    for (const struct cfg_key *e = tab; e->name; e++)
        yx_suggest_try(&s, yx_key(k), e->name);
    if (extra)
        yx_suggest_try(&s, yx_key(k), extra);
    for (const struct cfg_opt_def *o = vs ? vs->opts : NULL; o && o->key; o++)
        yx_suggest_try(&s, yx_key(k), o->key);
    char hint[96] = "";
    if (s.best)
        snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", s.best);
    return yx_fail(&L->d, k, path, "unknown key \"%s\"%s", yx_key(k), hint);
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

/* Parses "requests/seconds, ..." (a schema's rate_limits) with the ranges of
 * rate_keys; -1 if malformed. */
static int parse_rates(const char *s, struct cfg_rate_window *w, int *n)
{
    *n = 0;
    s += strspn(s, " ");
    while (*s) {
        char *end;
        if (*n == CFG_MAX_WINDOWS)
            return -1;
        errno = 0;
        long req = strtol(s, &end, 10);
        if (end == s || *end != '/' || errno || req < rate_keys[0].min || req > rate_keys[0].max)
            return -1;
        const char *p = end + 1;
        double per = strtod(p, &end);
        if (end == p || !isfinite(per) || per < rate_keys[1].min || per > rate_keys[1].max)
            return -1;
        w[*n].requests = (int)req;
        w[*n].per_seconds = per;
        (*n)++;
        s = end + strspn(end, " ");
        if (*s == ',') {
            s += 1 + strspn(s + 1, " ");
            if (!*s)
                return -1; /* "5/1," */
        } else if (*s) {
            return -1;
        }
    }
    return *n > 0 ? 0 : -1;
}

static char **copy_list(const char *const *l)
{
    size_t n = 0;
    while (l && l[n])
        n++;
    char **c = calloc(n + 1, sizeof *c);
    for (size_t i = 0; c && i < n; i++)
        if (!(c[i] = strdup(l[i]))) {
            free_list(c);
            return NULL;
        }
    return c;
}

/* A KF_VENDOR key's default: from the account's schema (checked by
 * check_schema, so the rate text parses). Absent there: unset, and
 * check_account() asks for it. */
static int vendor_default(const struct cfg_key *e, struct acct_build *b)
{
    const struct cfg_vendor_schema *vs = b->a.schema;
    switch (e->type) {
    case KT_STRING:
        return set_string(&b->a.base_url, vs->base_url);
    case KT_STRLIST: {
        char **l = copy_list(vs->default_streams ? vs->default_streams : vs->streams);
        if (!l)
            return -1;
        free_list(b->a.streams);
        b->a.streams = l;
        return 0;
    }
    case KT_RATELIST:
        b->a.n_rate = 0;
        if (vs->rate_limits && parse_rates(vs->rate_limits, b->a.rate, &b->a.n_rate) != 0)
            abort();
        return 0;
    default:
        abort(); /* a table typo: KF_VENDOR on a key without a vendor default */
    }
}

/* Sets every key of a table to its default. Programmer errors in a default
 * (a typo in the table) abort: the tests load every table. */
static int set_defaults(const struct cfg_key *tab, void *base)
{
    char *b = base;
    for (const struct cfg_key *e = tab; e->name; e++) {
        if (e->flags & KF_VENDOR) {
            if (vendor_default(e, base) != 0)
                return -1;
            continue;
        }
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
            abort(); /* always KF_VENDOR */
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

/* ---- vendor options ---------------------------------------------------- */

/* Checks text v against option o. 0: *canon is the value to store (malloc'd;
 * booleans become "true"/"false"); 1: invalid, why says so; -1: no memory. */
static int opt_parse(const struct cfg_opt_def *o, const char *v, char **canon, char *why,
                     size_t whylen)
{
    long long ll;
    double d;
    int b;
    *canon = NULL;
    switch (o->type) {
    case CFG_OPT_STRING:
        if (!v[0]) {
            snprintf(why, whylen, "must not be empty");
            return 1;
        }
        break;
    case CFG_OPT_INT:
        if (yx_text_int(v, &ll) != 0 || ll < LONG_MIN || ll > LONG_MAX) {
            snprintf(why, whylen, "expected an integer, got \"%s\"", v);
            return 1;
        }
        break;
    case CFG_OPT_NUMBER:
        if (yx_text_number(v, &d) != 0) {
            snprintf(why, whylen, "expected a number, got \"%s\"", v);
            return 1;
        }
        break;
    case CFG_OPT_BOOL:
        if (yx_text_bool(v, &b) != 0) {
            snprintf(why, whylen, "expected true or false, got \"%s\"", v);
            return 1;
        }
        v = b ? "true" : "false";
        break;
    case CFG_OPT_ENUM:
        if (!o->choices || !enum_has(o->choices, v)) {
            snprintf(why, whylen, "expected one of %s, got \"%s\"",
                     o->choices ? o->choices : "(none)", v);
            return 1;
        }
        break;
    }
    return (*canon = strdup(v)) ? 0 : -1;
}

static const struct cfg_opt_def *find_opt(const struct cfg_vendor_schema *vs, const char *key)
{
    for (const struct cfg_opt_def *o = vs ? vs->opts : NULL; o && o->key; o++)
        if (strcmp(o->key, key) == 0)
            return o;
    return NULL;
}

static size_t count_opts(const struct cfg_vendor_schema *vs)
{
    size_t n = 0;
    while (vs->opts && vs->opts[n].key)
        n++;
    return n;
}

/* Sets one option to its declared default (schema checked: it parses). */
static int opt_reset(struct cfg_opt_val *ov)
{
    char why[8];
    char *c = NULL;
    if (ov->def->def && opt_parse(ov->def, ov->def->def, &c, why, sizeof why) != 0)
        return -1;
    free(ov->value);
    ov->value = c;
    return 0;
}

static int schema_takes(const struct cfg_vendor_schema *vs, const char *secret)
{
    for (const char *const *p = vs->secrets; p && *p; p++)
        if (strcmp(*p, secret) == 0)
            return 1;
    return 0;
}

static const struct secret_slot *slot_named(const char *name)
{
    for (size_t i = 0; i < N_SECRET_SLOTS; i++)
        if (strcmp(secret_slots[i].name, name) == 0)
            return &secret_slots[i];
    return NULL;
}

/* A schema is code, but a mistake in it would otherwise surface as a
 * confusing message about the user's file: say plainly whose bug it is. */
static int check_schema(struct loader *L, const struct cfg_vendor_schema *vs)
{
    char why[160] = "";
    if (!vs->streams || !vs->streams[0])
        snprintf(why, sizeof why, "no streams");
    for (const char *const *d = vs->default_streams; !why[0] && d && *d; d++) {
        const char *const *p = vs->streams;
        while (*p && strcmp(*p, *d) != 0)
            p++;
        if (!*p)
            snprintf(why, sizeof why, "default stream \"%s\" is not among its streams", *d);
    }
    if (!why[0] && vs->default_streams && !vs->default_streams[0])
        snprintf(why, sizeof why, "empty default_streams (NULL means all)");
    if (!why[0] && vs->base_url && strncmp(vs->base_url, "http://", 7) != 0 &&
        strncmp(vs->base_url, "https://", 8) != 0)
        snprintf(why, sizeof why, "base_url is not an http(s) URL");
    struct cfg_rate_window w[CFG_MAX_WINDOWS];
    int nw;
    if (!why[0] && vs->rate_limits && parse_rates(vs->rate_limits, w, &nw) != 0)
        snprintf(why, sizeof why, "rate_limits \"%s\" is not \"requests/seconds, ...\"",
                 vs->rate_limits);
    for (const char *const *p = vs->secrets; !why[0] && p && *p; p++) {
        if (!slot_named(*p))
            snprintf(why, sizeof why, "unknown secret \"%s\"", *p);
        for (const char *const *q = vs->secrets; !why[0] && q < p; q++)
            if (strcmp(*q, *p) == 0)
                snprintf(why, sizeof why, "secret \"%s\" listed twice", *p);
    }
    for (const struct cfg_opt_def *o = vs->opts; !why[0] && o && o->key; o++) {
        const struct cfg_key *e = account_keys;
        while (e->name && strcmp(e->name, o->key) != 0)
            e++;
        char *c = NULL;
        if (e->name || strcmp(o->key, "accounts") == 0)
            snprintf(why, sizeof why, "option \"%s\" hides a common key", o->key);
        else if (find_opt(vs, o->key) != o)
            snprintf(why, sizeof why, "option \"%s\" declared twice", o->key);
        else if (o->type == CFG_OPT_ENUM && (!o->choices || !o->choices[0]))
            snprintf(why, sizeof why, "option \"%s\" has no choices", o->key);
        else if (o->def) {
            char bad[120];
            int r = opt_parse(o, o->def, &c, bad, sizeof bad);
            free(c);
            if (r < 0)
                return yx_oom(&L->d);
            if (r > 0)
                snprintf(why, sizeof why, "default of option \"%s\": %s", o->key, bad);
        }
    }
    if (why[0])
        return err_set(L->err, SS_ECONFIG,
                       "%s: vendor \"%s\": bad schema (a bug in its vendor file): %s", L->file,
                       vs->name, why);
    return 0;
}

/* A scalar with ${...} expanded; NULL after an error. Caller frees. */
static char *expanded(struct loader *L, const yaml_node_t *n, const char *path, const char *what)
{
    if (n->type != YAML_SCALAR_NODE) {
        yx_fail(&L->d, n, path, "expected %s, got %s", what, yx_kind(n));
        return NULL;
    }
    char *v = sec_expand(yx_key(n), L->err);
    if (!v)
        err_prefix(L->err, "%s:%lu: %s", L->file, yx_line(n), path);
    return v;
}

static int apply_map(struct loader *L, const yaml_node_t *m, const struct cfg_key *tab, void *base,
                     char *path, enum level lv, const char *skip,
                     const struct cfg_vendor_schema *vs);
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
            yx_fail(&L->d, n, path, "must not be empty");
        }
        goto out;
    }
    if (e->type == KT_ENUM && !enum_has(e->aux, v)) {
        yx_fail(&L->d, n, path, "expected one of %s, got \"%s\"", (const char *)e->aux, v);
        goto out;
    }
    if ((e->flags & KF_IDENT) && (!valid_ident(v) || strlen(v) > 64)) {
        yx_fail(&L->d, n, path, "\"%s\" is not a valid name (1-64 of A-Z a-z 0-9 _ -)", v);
        goto out;
    }
    if ((e->flags & KF_DATE) && !valid_date(v)) {
        yx_fail(&L->d, n, path, "expected a date YYYY-MM-DD, got \"%s\"", v);
        goto out;
    }
    if (e->flags & KF_URL) {
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
            yx_fail(&L->d, n, path, "expected an http:// or https:// URL, got \"%s\"", v);
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
            yx_oom(&L->d);
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
    double d;
    long long ll = 0;
    int bad = e->type == KT_DOUBLE ? yx_text_number(v, &d) : yx_text_int(v, &ll);
    if (e->type != KT_DOUBLE)
        d = (double)ll;
    if (bad) {
        yx_fail(&L->d, n, path, "expected %s, got \"%s\"", what, v);
        goto out;
    }
    if (d < e->min || d > e->max) {
        yx_fail(&L->d, n, path, "must be between %g and %g, got %s", e->min, e->max, v);
        goto out;
    }
    char *slot = (char *)base + e->off;
    if (e->type == KT_INT)
        *(int *)slot = (int)d;
    else if (e->type == KT_LONG)
        *(long *)slot = (long)ll;
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
        return yx_fail(&L->d, n, path, "expected a string, got %s", yx_kind(n));
    if (e->type == KT_SECRET) {
        switch (sec_classify(yx_key(n), &name)) {
        case SEC_ENV:
            break;
        case SEC_ENV_DEFAULT:
            yx_fail(&L->d, n, path, "a secret cannot have a default; write ${%s}", name);
            goto out;
        case SEC_LITERAL:
            /* Never echo the value: it may be a real key. */
            yx_fail(&L->d, n, path,
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
            yx_fail(&L->d, n, path, "must not be empty");
            goto out;
        }
        char *r = resolve_path(L, v);
        if (!r) {
            yx_oom(&L->d);
            goto out;
        }
        free_spec(spec);
        spec->kind = SPEC_FILE;
        spec->ref = r;
    }
    spec->line = yx_line(n);
    snprintf(spec->path, sizeof spec->path, "%s", path);
    rc = 0;
out:
    free(name);
    free(v);
    return rc;
}

static int known_stream(const struct cfg_vendor_schema *vs, const char *s)
{
    for (const char *const *p = vs->streams; *p; p++)
        if (strcmp(*p, s) == 0)
            return 1;
    return 0;
}

/* "a, b, c" into buf, for messages. */
static void join_list(char *buf, size_t cap, const char *const *l)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const char *const *p = l; p && *p && n < cap; p++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", p == l ? "" : ", ", *p);
}

static int apply_strlist(struct loader *L, const struct cfg_key *e, const yaml_node_t *n,
                         void *base, char *path, const struct cfg_vendor_schema *vs)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return yx_fail(&L->d, n, path, "expected a list, got %s", yx_kind(n));
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (cnt == 0 && (e->flags & KF_NONEMPTY))
        return yx_fail(&L->d, n, path, "must list at least one item");
    char **l = calloc(cnt + 1, sizeof *l);
    if (!l)
        return yx_oom(&L->d);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = yx_node(&L->d, n->data.sequence.items.start[i]);
        size_t saved = yx_path_idx(path, i);
        char *v = expanded(L, it, path, "a string");
        int bad = !v;
        if (v && !v[0])
            bad = yx_fail(&L->d, it, path, "must not be empty");
        if (v && !bad && (e->flags & KF_STREAMS) && !known_stream(vs, v)) {
            char known[256];
            join_list(known, sizeof known, vs->streams);
            bad = yx_fail(&L->d, it, path, "unknown stream \"%s\" for %s (known: %s)", v, vs->name,
                          known);
        }
        for (size_t j = 0; v && !bad && j < i; j++)
            if (strcmp(l[j], v) == 0)
                bad = yx_fail(&L->d, it, path, "\"%s\" is listed twice", v);
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
        return yx_fail(&L->d, n, path, "expected a list of {requests, per_seconds}, got %s",
                       yx_kind(n));
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (cnt == 0 || cnt > CFG_MAX_WINDOWS)
        return yx_fail(&L->d, n, path, "must list 1 to %d windows, got %zu", CFG_MAX_WINDOWS, cnt);
    struct cfg_rate_window w[CFG_MAX_WINDOWS];
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = yx_node(&L->d, n->data.sequence.items.start[i]);
        size_t saved = yx_path_idx(path, i);
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
                       char *path, enum level lv, const struct cfg_vendor_schema *vs)
{
    if (yx_is_null(n) && e->type != KT_VENDORS) {
        /* null means "the default" (for nullable strings that is NULL). */
        if (e->flags & KF_REQUIRED)
            return yx_fail(&L->d, n, path, "must not be null");
        struct cfg_key one[2] = {*e, {0}};
        if (set_defaults(one, base) != 0)
            return yx_oom(&L->d);
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
        return apply_strlist(L, e, n, base, path, vs);
    case KT_RATELIST:
        return apply_ratelist(L, n, base, path);
    case KT_MAP:
        return apply_map(L, n, e->aux, base, path, lv, NULL, vs);
    case KT_VENDORS:
        return apply_vendors(L, n, base, path);
    }
    return 0;
}

static int apply_opt(struct loader *L, const struct cfg_opt_def *o, const yaml_node_t *n,
                     struct acct_build *b, char *path)
{
    struct cfg_opt_val *ov = &b->a.opts[o - b->a.schema->opts];
    if (yx_is_null(n))
        return opt_reset(ov) != 0 ? yx_oom(&L->d) : 0;
    char why[320], *canon = NULL;
    char *v = expanded(
        L, n, path, o->type == CFG_OPT_STRING || o->type == CFG_OPT_ENUM ? "a string" : "a scalar");
    if (!v)
        return -1;
    int r = opt_parse(o, v, &canon, why, sizeof why);
    free(v);
    if (r < 0)
        return yx_oom(&L->d);
    if (r > 0)
        return yx_fail(&L->d, n, path, "%s", why);
    free(ov->value);
    ov->value = canon;
    return 0;
}

/* Applies a mapping's keys from table tab onto base. `skip` is a key the
 * caller handles itself (vendor-level `accounts`). In account_keys mappings
 * the options of vendor vs are valid keys too. */
static int apply_map(struct loader *L, const yaml_node_t *m, const struct cfg_key *tab, void *base,
                     char *path, enum level lv, const char *skip,
                     const struct cfg_vendor_schema *vs)
{
    if (m->type != YAML_MAPPING_NODE)
        return yx_fail(&L->d, m, path, "expected a mapping, got %s", yx_kind(m));
    unsigned seen = 0;
    const yaml_node_t *secret_node[N_SECRET_SLOTS] = {NULL};
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yx_node(&L->d, p->key);
        yaml_node_t *v = yx_node(&L->d, p->value);
        if (k->type != YAML_SCALAR_NODE)
            return yx_fail(&L->d, k, path, "keys must be plain strings, got %s", yx_kind(k));
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = yx_node(&L->d, q->key);
            if (k2->type == YAML_SCALAR_NODE && strcmp(yx_key(k2), yx_key(k)) == 0)
                return yx_fail(&L->d, k, path, "duplicate key \"%s\" (first at line %lu)",
                               yx_key(k), yx_line(k2));
        }
        if (skip && strcmp(yx_key(k), skip) == 0)
            continue;
        const struct cfg_key *e = tab;
        while (e->name && strcmp(e->name, yx_key(k)) != 0)
            e++;
        const struct cfg_opt_def *o =
            !e->name && tab == account_keys ? find_opt(vs, yx_key(k)) : NULL;
        if (o) {
            size_t saved = yx_path_key(path, o->key);
            if (apply_opt(L, o, v, base, path) != 0)
                return -1;
            path[saved] = '\0';
            continue;
        }
        if (!e->name)
            return unknown_key(L, k, path, tab, skip, tab == account_keys ? vs : NULL);
        size_t saved = yx_path_key(path, e->name);
        if (lv == LV_VENDOR && (e->flags & KF_ACCOUNT_ONLY)) {
            yx_fail(&L->d, k, path, "belongs inside accounts[], not at vendor level");
            return -1;
        }
        if (e->type == KT_SECRET || e->type == KT_SECRET_FILE) {
            const struct secret_slot *sl = e->aux;
            if (!schema_takes(vs, sl->name)) {
                char takes[128];
                join_list(takes, sizeof takes, vs->secrets);
                return yx_fail(&L->d, k, path, "vendor %s takes no secret \"%s\" (it takes: %s)",
                               vs->name, sl->name, takes[0] ? takes : "none");
            }
            const yaml_node_t **first = &secret_node[sl - secret_slots];
            if (*first)
                return yx_fail(&L->d, k, path, "give either %s or %s, not both", yx_key(*first),
                               yx_key(k));
            *first = k;
        }
        if (apply_value(L, e, v, base, path, lv, vs) != 0)
            return -1;
        path[saved] = '\0';
        seen |= 1u << (e - tab);
    }
    if (lv == LV_PLAIN)
        for (const struct cfg_key *e = tab; e->name; e++)
            if ((e->flags & KF_REQUIRED) && !(seen & (1u << (e - tab))))
                return yx_fail(&L->d, m, path, "missing required key \"%s\"", e->name);
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
    sec_free(a->secret);
    free(a->secret_source);
    for (size_t i = 0; i < a->n_opts; i++)
        free(a->opts[i].value);
    free(a->opts);
    free_list(a->streams);
    free_list(a->group_ids);
    free(a->start_date);
    memset(a, 0, sizeof *a);
}

static void build_free(struct acct_build *b)
{
    account_free(&b->a);
    for (size_t i = 0; i < N_SECRET_SLOTS; i++)
        free_spec(&b->sec[i]);
}

/* Every default in place: the tables', then the vendor's, options included. */
static int build_init(struct loader *L, struct acct_build *b, const struct cfg_vendor_schema *vs)
{
    memset(b, 0, sizeof *b);
    b->a.schema = vs;
    b->a.n_opts = count_opts(vs);
    if (!(b->a.vendor = strdup(vs->name)) ||
        (b->a.n_opts && !(b->a.opts = calloc(b->a.n_opts, sizeof *b->a.opts))))
        return yx_oom(&L->d);
    for (size_t i = 0; i < b->a.n_opts; i++) {
        b->a.opts[i].def = &vs->opts[i];
        if (opt_reset(&b->a.opts[i]) != 0)
            return yx_oom(&L->d);
    }
    return set_defaults(account_keys, b) != 0 ? yx_oom(&L->d) : 0;
}

/* Reads every secret the vendor takes (or, deferred, only records where
 * each would come from) and registers it with redact. */
static int resolve_secrets(struct loader *L, struct acct_build *b, const yaml_node_t *acct,
                           const char *acct_path)
{
    struct cfg_account *a = &b->a;
    for (const char *const *name = a->schema->secrets; name && *name; name++) {
        const struct secret_slot *sl = slot_named(*name);
        const struct secret_spec *s = &b->sec[sl - secret_slots];
        char **val = (char **)((char *)a + sl->val_off);
        char **source = (char **)((char *)a + sl->src_off);
        char src[YX_PATH_MAX + 64];
        if (s->kind == SPEC_NONE)
            return yx_fail(&L->d, acct, acct_path,
                           "missing %s (write %s: ${ENV_VAR} or %s_file: PATH)", sl->name, sl->name,
                           sl->name);
        if (L->flags & CFG_DEFER_SECRETS) {
            snprintf(src, sizeof src, "%s %s",
                     s->kind == SPEC_ENV ? "environment variable" : "file", s->ref);
        } else if (s->kind == SPEC_ENV) {
            if (sec_from_env(s->ref, val, L->err) != 0)
                return err_prefix(L->err, "%s:%lu: %s (account %s)", L->file, s->line, s->path,
                                  a->name);
            snprintf(src, sizeof src, "environment variable %s", s->ref);
        } else {
            int loose = 0;
            if (sec_from_file(s->ref, val, &loose, L->err) != 0)
                return err_prefix(L->err, "%s:%lu: %s (account %s)", L->file, s->line, s->path,
                                  a->name);
            if (loose)
                log_warn("%s:%lu: %s: secret file %s is readable by group or others; chmod 600 it",
                         L->file, s->line, s->path, s->ref);
            snprintf(src, sizeof src, "file %s", s->ref);
        }
        if (*val)
            redact_add(*val);
        if (!(*source = strdup(src)))
            return yx_oom(&L->d);
    }
    return 0;
}

/* Cross-key checks once every level is in. */
static int check_account(struct loader *L, struct acct_build *b, const yaml_node_t *acct,
                         const char *p)
{
    struct cfg_account *a = &b->a;
    if (!a->base_url)
        return yx_fail(&L->d, acct, p, "missing base_url (vendor %s has no default)", a->vendor);
    if (a->n_rate == 0)
        return yx_fail(&L->d, acct, p, "missing rate_limits (vendor %s has no default)", a->vendor);
    if (a->window_initial_days > a->window_max_days)
        return yx_fail(&L->d, acct, p, "window.initial_days (%g) exceeds window.max_days (%g)",
                       a->window_initial_days, a->window_max_days);
    if (a->window_min_seconds > a->window_initial_days * 86400)
        return yx_fail(&L->d, acct, p, "window.min_seconds (%g) exceeds window.initial_days (%g)",
                       a->window_min_seconds, a->window_initial_days);
    if (a->backoff_base_ms > a->backoff_max_ms)
        return yx_fail(&L->d, acct, p, "http.backoff_base_ms (%d) exceeds http.backoff_max_ms (%d)",
                       a->backoff_base_ms, a->backoff_max_ms);
    return 0;
}

static int load_account(struct loader *L, const struct cfg_vendor_schema *vs,
                        const yaml_node_t *vmap, const yaml_node_t *item, char *path,
                        struct cfg_account *out)
{
    struct acct_build b;
    int rc = -1;
    if (build_init(L, &b, vs) != 0)
        goto out;
    /* The vendor level is applied with its own path, so errors point there. */
    char vpath[YX_PATH_MAX];
    snprintf(vpath, sizeof vpath, "%s", path);
    char *br = strrchr(vpath, '.');
    if (br)
        *br = '\0'; /* "vendors.x.accounts[0]" -> "vendors.x" */
    if (apply_map(L, vmap, account_keys, &b, vpath, LV_VENDOR, "accounts", vs) != 0)
        goto out;
    if (apply_map(L, item, account_keys, &b, path, LV_PLAIN, NULL, vs) != 0)
        goto out;
    if (check_account(L, &b, item, path) != 0 || resolve_secrets(L, &b, item, path) != 0)
        goto out;
    *out = b.a;
    memset(&b.a, 0, sizeof b.a);
    rc = 0;
out:
    build_free(&b);
    return rc;
}

static int load_vendor(struct loader *L, const struct cfg_vendor_schema *vs,
                       const yaml_node_t *vmap, char *path, struct cfg_vendor *v)
{
    if (!(v->name = strdup(vs->name)))
        return yx_oom(&L->d);
    if (check_schema(L, vs) != 0)
        return -1;
    if (yx_is_null(vmap) || vmap->type != YAML_MAPPING_NODE)
        return yx_fail(&L->d, vmap, path, "expected a mapping with accounts, got %s",
                       yx_is_null(vmap) ? "nothing" : yx_kind(vmap));
    /* Vendor-level keys are checked once up front, so their errors come first
     * even when accounts are missing. */
    struct acct_build scratch;
    int bad = build_init(L, &scratch, vs);
    if (!bad)
        bad = apply_map(L, vmap, account_keys, &scratch, path, LV_VENDOR, "accounts", vs);
    build_free(&scratch);
    if (bad)
        return -1;
    yaml_node_t *accts = yx_map_get(&L->d, vmap, "accounts");
    if (!accts)
        return yx_fail(&L->d, vmap, path, "missing required key \"accounts\"");
    size_t saved = yx_path_key(path, "accounts");
    if (accts->type != YAML_SEQUENCE_NODE)
        return yx_fail(&L->d, accts, path, "expected a list, got %s", yx_kind(accts));
    size_t cnt = (size_t)(accts->data.sequence.items.top - accts->data.sequence.items.start);
    if (cnt == 0)
        return yx_fail(&L->d, accts, path, "needs at least one account");
    if (!(v->accounts = calloc(cnt, sizeof *v->accounts)))
        return yx_oom(&L->d);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = yx_node(&L->d, accts->data.sequence.items.start[i]);
        size_t s2 = yx_path_idx(path, i);
        if (load_account(L, vs, vmap, it, path, &v->accounts[i]) != 0)
            return -1;
        v->n_accounts++;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(v->accounts[j].name, v->accounts[i].name) != 0)
                continue;
            yx_path_key(path, "name");
            const yaml_node_t *first = yx_node(&L->d, accts->data.sequence.items.start[j]);
            return yx_fail(&L->d, yx_map_get(&L->d, it, "name"), path,
                           "duplicate account name \"%s\" (first at line %lu)", v->accounts[i].name,
                           yx_line(yx_map_get(&L->d, first, "name")));
        }
        path[s2] = '\0';
    }
    path[saved] = '\0';
    return 0;
}

static int unknown_vendor(struct loader *L, const yaml_node_t *k, const char *path)
{
    struct yx_suggest s = {NULL, SIZE_MAX};
    char known[256] = "";
    size_t n = 0;
    for (size_t j = 0; L->schemas[j]; j++) {
        yx_suggest_try(&s, yx_key(k), L->schemas[j]->name);
        if (n < sizeof known)
            n += (size_t)snprintf(known + n, sizeof known - n, "%s%s", j ? ", " : "",
                                  L->schemas[j]->name);
    }
    char hint[96] = "";
    if (s.best)
        snprintf(hint, sizeof hint, "did you mean \"%s\"? ", s.best);
    return yx_fail(&L->d, k, path, "unknown vendor \"%s\" (%sknown: %s)", yx_key(k), hint,
                   known[0] ? known : "none in this build");
}

static int apply_vendors(struct loader *L, const yaml_node_t *n, struct config *cfg, char *path)
{
    if (yx_is_null(n) || n->type != YAML_MAPPING_NODE)
        return yx_fail(&L->d, n, path, "expected a mapping of vendor names, got %s",
                       yx_is_null(n) ? "nothing" : yx_kind(n));
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (cnt == 0)
        return yx_fail(&L->d, n, path, "needs at least one vendor");
    if (!(cfg->vendors = calloc(cnt, sizeof *cfg->vendors)))
        return yx_oom(&L->d);
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
        yaml_node_t *k = yx_node(&L->d, p->key);
        if (k->type != YAML_SCALAR_NODE)
            return yx_fail(&L->d, k, path, "vendor names must be strings");
        const struct cfg_vendor_schema *vs = NULL;
        for (size_t j = 0; !vs && L->schemas[j]; j++)
            if (strcmp(L->schemas[j]->name, yx_key(k)) == 0)
                vs = L->schemas[j];
        if (!vs)
            return unknown_vendor(L, k, path);
        for (size_t j = 0; j < cfg->n_vendors; j++)
            if (strcmp(cfg->vendors[j].name, vs->name) == 0)
                return yx_fail(&L->d, k, path, "vendor \"%s\" is listed twice", vs->name);
        size_t saved = yx_path_key(path, vs->name);
        cfg->n_vendors++;
        if (load_vendor(L, vs, yx_node(&L->d, p->value), path, &cfg->vendors[i]) != 0)
            return -1;
        path[saved] = '\0';
    }
    return 0;
}

/* ---- entry points ------------------------------------------------------ */

/* Loads the parsed document L->d (the caller fills it and frees it). */
static int load_doc(struct loader *L, struct config **out)
{
    struct config *cfg = NULL;
    int rc = -1;
    char path[YX_PATH_MAX] = "";

    L->file = L->d.file;
    L->err = L->d.err;
    yaml_node_t *root = yx_root(&L->d);
    if (yx_is_null(root)) {
        err_set(L->err, SS_ECONFIG, "%s: the configuration is empty", L->file);
        goto out;
    }
    if (!(cfg = calloc(1, sizeof *cfg)) || !(cfg->path = strdup(L->file)) ||
        set_defaults(top_keys, cfg) != 0) {
        yx_oom(&L->d);
        goto out;
    }
    if (apply_map(L, root, top_keys, cfg, path, LV_PLAIN, NULL, NULL) != 0)
        goto out;
    /* An empty database.url means "from the environment, else embedded". */
    const char *env_url = getenv("DATABASE_URL");
    if (!cfg->db.url && env_url && env_url[0] && set_string(&cfg->db.url, env_url) != 0) {
        yx_oom(&L->d);
        goto out;
    }
    *out = cfg;
    cfg = NULL;
    rc = 0;
out:
    cfg_free(cfg);
    return rc;
}

int cfg_load(const char *path, struct config **out, struct ss_err *err)
{
    return cfg_load_ex(path, 0, out, err);
}

int cfg_load_ex(const char *path, int flags, struct config **out, struct ss_err *err)
{
    struct loader L;
    struct stat st;
    int rc = -1;
    char *dir = NULL;

    memset(&L, 0, sizeof L);
    *out = NULL;
    if (stat(path, &st) != 0)
        return err_set(err, SS_ECONFIG, "cannot open configuration %s: %s", path, strerror(errno));
    /* Read as a file, a directory fails with a bare "read error". */
    if (S_ISDIR(st.st_mode))
        return err_set(err, SS_ECONFIG, "%s: is a directory", path);
    if (!(dir = strdup(path)))
        return err_set(err, SS_ENOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        strcpy(dir, ".");
    L.base_dir = dir;
    L.flags = flags;
    L.schemas = cfg_vendor_schemas;
    if (yx_load_file(&L.d, path, CFG_FILE_MAX, err) == 0)
        rc = load_doc(&L, out);
    yx_doc_free(&L.d);
    free(dir);
    return rc;
}

int cfg_load_string(const char *yaml, const char *name, struct config **out, struct ss_err *err)
{
    return cfg_load_string_with(yaml, name, cfg_vendor_schemas, 0, out, err);
}

int cfg_load_string_with(const char *yaml, const char *name,
                         const struct cfg_vendor_schema *const *schemas, int flags,
                         struct config **out, struct ss_err *err)
{
    struct loader L;
    int rc = -1;

    memset(&L, 0, sizeof L);
    *out = NULL;
    L.flags = flags;
    L.schemas = schemas;
    if (yx_load_string(&L.d, yaml, strlen(yaml), name ? name : "<string>", err) == 0)
        rc = load_doc(&L, out);
    yx_doc_free(&L.d);
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
    free(cfg->metrics_file);
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

static const struct cfg_opt_val *opt_val(const struct cfg_account *a, const char *key)
{
    for (size_t i = 0; a && i < a->n_opts; i++)
        if (strcmp(a->opts[i].def->key, key) == 0)
            return &a->opts[i];
    return NULL;
}

const char *cfg_opt(const struct cfg_account *a, const char *key)
{
    const struct cfg_opt_val *ov = opt_val(a, key);
    return ov ? ov->value : NULL;
}

/* The typed forms also check the declared type, so asking an enum for an
 * integer gives the fallback rather than a half-parsed number. */
long cfg_opt_int(const struct cfg_account *a, const char *key, long fallback)
{
    const struct cfg_opt_val *ov = opt_val(a, key);
    if (!ov || !ov->value || ov->def->type != CFG_OPT_INT)
        return fallback;
    return strtol(ov->value, NULL, 10);
}

double cfg_opt_num(const struct cfg_account *a, const char *key, double fallback)
{
    const struct cfg_opt_val *ov = opt_val(a, key);
    if (!ov || !ov->value || (ov->def->type != CFG_OPT_NUMBER && ov->def->type != CFG_OPT_INT))
        return fallback;
    return strtod(ov->value, NULL);
}

int cfg_opt_bool(const struct cfg_account *a, const char *key, int fallback)
{
    const struct cfg_opt_val *ov = opt_val(a, key);
    if (!ov || !ov->value || ov->def->type != CFG_OPT_BOOL)
        return fallback;
    return strcmp(ov->value, "true") == 0;
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
        else if (e->flags & KF_VENDOR)
            snprintf(def, sizeof def, "the vendor's");
        else if (e->type == KT_STRLIST && e->def)
            snprintf(def, sizeof def, "`[%s]`", e->def);
        else if (e->type == KT_MAP)
            snprintf(def, sizeof def, "see below");
        else if (e->def)
            snprintf(def, sizeof def, "`%s`", e->def);
        else
            snprintf(def, sizeof def, "none");
        fprintf(f, "| `%s%s` | %s%s | %s | %s |\n", prefix, e->name, type, range, def, e->doc);
    }
    fprintf(f, "\n");
}

/* Markdown code list of a NULL-terminated list: "`a`, `b`"; `mark` (may be
 * NULL) is a sublist whose items get " (default)". */
static void print_code_list(FILE *f, const char *const *l, const char *const *mark)
{
    for (const char *const *p = l; p && *p; p++) {
        int marked = 0;
        for (const char *const *m = mark; m && *m; m++)
            marked |= strcmp(*m, *p) == 0;
        fprintf(f, "%s`%s`%s", p == l ? "" : ", ", *p, marked ? " (default)" : "");
    }
}

static const char *opt_type_name(enum cfg_opt_type t)
{
    switch (t) {
    case CFG_OPT_STRING:
        return "string";
    case CFG_OPT_INT:
        return "integer";
    case CFG_OPT_NUMBER:
        return "number";
    case CFG_OPT_BOOL:
        return "boolean";
    case CFG_OPT_ENUM:
        return "one of";
    }
    return "?";
}

static void print_vendor(FILE *f, const struct cfg_vendor_schema *vs)
{
    fprintf(f, "### %s\n\n", vs->name);
    if (vs->base_url)
        fprintf(f, "- default `base_url`: %s\n", vs->base_url);
    else
        fprintf(f, "- default `base_url`: none, `base_url` is required\n");
    fprintf(f, "- streams, in sync order: ");
    print_code_list(f, vs->streams, vs->default_streams ? vs->default_streams : vs->streams);
    fprintf(f, "\n- default `rate_limits`: ");
    struct cfg_rate_window w[CFG_MAX_WINDOWS];
    int n = 0;
    if (vs->rate_limits && parse_rates(vs->rate_limits, w, &n) == 0) {
        for (int i = 0; i < n; i++)
            fprintf(f, "%s%d per %g s", i ? ", " : "", w[i].requests, w[i].per_seconds);
        fprintf(f, "\n");
    } else {
        fprintf(f, "none, `rate_limits` is required\n");
    }
    fprintf(f, "- secrets: ");
    for (const char *const *p = vs->secrets; p && *p; p++)
        fprintf(f, "%s`%s` (or `%s_file`)", p == vs->secrets ? "" : ", ", *p, *p);
    fprintf(f, "%s\n\n", vs->secrets && vs->secrets[0] ? "" : "none");
    if (!vs->opts || !vs->opts[0].key) {
        fprintf(f, "No options.\n\n");
        return;
    }
    fprintf(f, "| option | type | default | choices | description |\n|---|---|---|---|---|\n");
    for (const struct cfg_opt_def *o = vs->opts; o->key; o++) {
        fprintf(f, "| `%s` | %s | ", o->key, opt_type_name(o->type));
        if (o->def)
            fprintf(f, "`%s`", o->def);
        else
            fprintf(f, "none");
        fprintf(f, " | ");
        /* A '|' would end the Markdown table cell. */
        for (const char *c = o->type == CFG_OPT_ENUM ? o->choices : NULL; c && *c;) {
            size_t len = strcspn(c, "|");
            fprintf(f, "%s`%.*s`", c == o->choices ? "" : ", ", (int)len, c);
            c += len + (c[len] == '|');
        }
        fprintf(f, " | %s |\n", o->doc ? o->doc : "");
    }
    fprintf(f, "\n");
}

void cfg_print_reference(void *file)
{
    cfg_print_reference_with(file, cfg_vendor_schemas);
}

void cfg_print_reference_with(void *file, const struct cfg_vendor_schema *const *schemas)
{
    FILE *f = file;
    fprintf(f, "# Configuration reference\n"
               "\n"
               "Generated from the key tables in `src/config/config.c` and the vendor\n"
               "schemas in `src/vendors/` by `cfg_print_reference()`;\n"
               "`tests/unit/test_config.c` fails when this file and the tables disagree.\n"
               "Examples: `config/example.yaml` (production) and `config/sandbox.yaml` (the\n"
               "bundled sandbox).\n"
               "\n"
               "## Rules\n"
               "\n"
               "- Unknown keys, values of the wrong type or out of range, and missing required\n"
               "  keys are errors naming the file, the line and the key path, e.g.\n"
               "  `config/x.yaml:12: vendors.<vendor>.accounts[0].rate_limits[1].per_seconds:\n"
               "  expected a number, got \"abc\"`.\n"
               "- `null` (or an empty value) means the key's default.\n"
               "- `${NAME}` and `${NAME:-default}` are replaced from the environment anywhere in\n"
               "  a non-secret value (shell `:-` rules: unset or empty takes the default, and\n"
               "  without a default becomes empty).\n"
               "- Secrets (`api_key`, and `secret` where a vendor signs requests; each vendor's\n"
               "  section lists the ones it takes) are written exactly as `${ENV_VAR}`, with no\n"
               "  default, or given as `<secret>_file: PATH`. A literal secret in the file is an\n"
               "  error, and so is an unset or empty variable or a secret the vendor does not\n"
               "  take; messages name the variable, never the value. A secret file has one\n"
               "  trailing newline stripped; a file readable by group or others is used with a\n"
               "  warning. Every secret read is masked in logs and error messages.\n"
               "- Relative paths (`scales`, `migrations`, `database.data_dir`, `*_file`\n"
               "  secrets) are taken from the working directory if they exist there, else from\n"
               "  the config file's directory, else from that directory's parent (the project\n"
               "  root when the file lives in `config/`); if none exists, as written.\n"
               "- An empty or unset `database.url` falls back to `$DATABASE_URL`, and without\n"
               "  that to the embedded local cluster in `database.data_dir`.\n"
               "\n"
               "## Top level\n\n");
    print_table(f, "", top_keys);
    fprintf(f, "## database\n\n");
    print_table(f, "database.", database_keys);
    fprintf(f, "## log\n\n");
    print_table(f, "log.", log_keys);
    fprintf(f, "## vendors\n"
               "\n"
               "Each vendor is a mapping with `accounts`, a list of at least one account.\n"
               "Every account key below may also be written directly under `vendors.<vendor>`\n"
               "(except `name`): it is then the default for that vendor's accounts, which may\n"
               "override it key by key (lists are replaced whole, `window` and `http` merged).\n"
               "A vendor's options (its section in the vendor reference) work the same way.\n"
               "\n"
               "### vendors.&lt;vendor&gt;.accounts[]\n\n");
    print_table(f, "", account_keys);
    fprintf(f, "### window\n\n");
    print_table(f, "window.", window_keys);
    fprintf(f, "### http\n\n");
    print_table(f, "http.", http_keys);
    fprintf(f, "### rate_limits[]\n\n");
    print_table(f, "", rate_keys);
    fprintf(f, "## Vendor reference\n"
               "\n"
               "One section per vendor this build knows, the key under `vendors:`.\n"
               "\n");
    if (!schemas || !schemas[0])
        fprintf(f, "No vendors in this build.\n");
    for (size_t i = 0; schemas && schemas[i]; i++)
        print_vendor(f, schemas[i]);
}

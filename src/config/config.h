/* config: the YAML configuration (libyaml), parsed through one table of
 * {key, type, default, offset, doc} per section (PgBouncer style). Unknown
 * keys, wrong types and unresolvable secrets are errors naming file, line and
 * key. Secrets (`api_key`, `secret`) are given as "${ENV_VAR}" or through a
 * `*_file` key holding a path; never on the command line.
 *
 * Ownership: cfg_load() returns a struct config the caller frees with
 * cfg_free(); every pointer inside belongs to it. */
#ifndef SS_CONFIG_H
#define SS_CONFIG_H

#include <stddef.h>
#include "../core/err.h"

#define CFG_MAX_WINDOWS 4

/* ---- what a vendor declares (config.c knows no vendor by name) ---------- */

enum cfg_opt_type { CFG_OPT_STRING, CFG_OPT_INT, CFG_OPT_NUMBER, CFG_OPT_BOOL, CFG_OPT_ENUM };

/* A vendor-specific key. It may be set under the vendor (for all its
 * accounts) or under one account (which wins). */
struct cfg_opt_def {
    const char *key; /* "api_key_in" */
    enum cfg_opt_type type;
    const char *def;     /* default as text; NULL = no default (cfg_opt() gives NULL) */
    const char *choices; /* CFG_OPT_ENUM: "query|header|body" */
    const char *doc;
};

struct cfg_vendor_schema {
    const char *name;                   /* the key under `vendors:`, "acme" */
    const char *base_url;               /* production default; NULL = must be configured */
    const char *const *streams;         /* every stream, in the order a sync runs them */
    const char *const *default_streams; /* NULL = all of streams */
    const char *rate_limits;            /* default "requests/seconds,...": "5/1,2000/1200" */
    const char *const *secrets;         /* what an account must hold: {"api_key", NULL} */
    const struct cfg_opt_def *opts;     /* terminated by key == NULL; may be NULL */
};

/* The schemas of the vendors this build knows, NULL-terminated. Defined by
 * the vendor registry (vendors/registry.c), so adding a vendor touches no
 * file here. */
extern const struct cfg_vendor_schema *const cfg_vendor_schemas[];

/* A vendor option's resolved value (text; typed accessors below). */
struct cfg_opt_val {
    const struct cfg_opt_def *def;
    char *value; /* NULL = unset, no default */
};

struct cfg_rate_window {
    int requests;       /* at most this many ... */
    double per_seconds; /* ... in any span of this many seconds */
};

struct cfg_account {
    char *vendor;         /* back-reference: the vendor's name */
    char *name;           /* account name, unique within the vendor */
    char *base_url;       /* no trailing slash */
    char *api_key;        /* resolved secret; NEVER log it */
    char *api_key_source; /* where it came from: "environment variable ACME_KEY" */
    char *secret;         /* second secret (signing key), resolved; NEVER log it */
    char *secret_source;
    const struct cfg_vendor_schema *schema;
    struct cfg_opt_val *opts; /* one per schema->opts entry, same order */
    size_t n_opts;
    struct cfg_rate_window rate[CFG_MAX_WINDOWS];
    int n_rate;
    int rate_margin_ms; /* added to every window span: network jitter safety */
    char **streams;     /* enabled streams, NULL-terminated list */
    char **group_ids;   /* optional vendor group filter, NULL-terminated */
    /* windowing of date-windowed streams */
    double window_initial_days;
    double window_min_seconds;
    double window_max_days;
    int window_target_records; /* split windows returning more, widen those under half */
    int overlap_minutes;       /* incremental sync re-reads this much before the checkpoint */
    int recheck_days;          /* re-read not-final results this recent (the horizon) */
    int recheck_max_requests;  /* cap on the requests a run spends on those re-reads */
    char *start_date;          /* where a first sync begins, "2015-01-01" */
    /* HTTP */
    int timeout_s;
    int connect_timeout_s;
    int max_attempts;
    int backoff_base_ms;
    int backoff_max_ms;
    long max_response_bytes;
    int page_size; /* for vendors that page by limit/offset */
};

struct cfg_vendor {
    char *name; /* as under `vendors:` */
    struct cfg_account *accounts;
    size_t n_accounts;
};

struct config {
    char *path;
    struct {
        char *url;      /* libpq conninfo/URL; NULL = embedded cluster */
        char *data_dir; /* embedded cluster location */
        int batch_rows; /* records per load transaction, at most */
    } db;
    struct {
        char *level;  /* debug|info|warn|error */
        char *format; /* text|json */
    } log;
    char *scales_path;    /* mapping tables, default config/scales.yaml */
    char *migrations_dir; /* default "sql" next to the config's project */
    char *metrics_file;   /* Prometheus text file written after sync/backfill; NULL = none */
    struct cfg_vendor *vendors;
    size_t n_vendors;
};

/* Loads and validates; secrets are read from the environment (getenv) or
 * their files. */
int cfg_load(const char *path, struct config **out, struct ss_err *err) SS_MUSTCHECK;

/* With CFG_DEFER_SECRETS the API keys are not read: api_key stays NULL and
 * api_key_source still says where it would come from. For commands that
 * never call a vendor (migrate, status, renormalize, explain), so they run
 * without the keys in their environment. */
#define CFG_DEFER_SECRETS 0x1
int cfg_load_ex(const char *path, int flags, struct config **out, struct ss_err *err) SS_MUSTCHECK;
/* Same, from a string (tests); `name` is used in messages as the file name. */
int cfg_load_string(const char *yaml, const char *name, struct config **out,
                    struct ss_err *err) SS_MUSTCHECK;
/* Same, against the given NULL-terminated schemas instead of
 * cfg_vendor_schemas, so tests declare made-up vendors. The schemas must
 * outlive the config (accounts point at them). */
int cfg_load_string_with(const char *yaml, const char *name,
                         const struct cfg_vendor_schema *const *schemas, int flags,
                         struct config **out, struct ss_err *err) SS_MUSTCHECK;
void cfg_free(struct config *cfg);

const struct cfg_vendor *cfg_vendor(const struct config *cfg, const char *name);
const struct cfg_account *cfg_account(const struct cfg_vendor *v, const char *name);
int cfg_stream_enabled(const struct cfg_account *a, const char *stream);

/* A vendor option of this account (account value, else vendor value, else
 * the declared default). cfg_opt() returns NULL when unset with no default;
 * the typed forms return `fallback` then. Asking for a key the schema does
 * not declare is a programming error: it returns NULL/fallback. */
const char *cfg_opt(const struct cfg_account *a, const char *key);
long cfg_opt_int(const struct cfg_account *a, const char *key, long fallback);
double cfg_opt_num(const struct cfg_account *a, const char *key, double fallback);
int cfg_opt_bool(const struct cfg_account *a, const char *key, int fallback);

/* Prints every key with type, default and doc, then one section per vendor
 * of cfg_vendor_schemas (drives `scoresync config --reference` and
 * docs/config-reference.md). */
void cfg_print_reference(void *file /* FILE * */);
/* Same for the given schemas (tests). */
void cfg_print_reference_with(void *file /* FILE * */,
                              const struct cfg_vendor_schema *const *schemas);

#endif

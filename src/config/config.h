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

struct cfg_rate_window {
    int requests;       /* at most this many ... */
    double per_seconds; /* ... in any span of this many seconds */
};

struct cfg_account {
    char *vendor;         /* back-reference: the vendor's name */
    char *name;           /* account name, unique within the vendor */
    char *base_url;       /* no trailing slash */
    char *api_key;        /* resolved secret; NEVER log it */
    char *api_key_source; /* where it came from, for messages: "env EMMERSION_KEY" */
    char *company_id;     /* Testello/CEPA style account ids, optional */
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
    int recheck_days;          /* re-read still-pending results completed this recently */
    char *start_date;          /* where a first sync begins, "2015-01-01" */
    /* HTTP */
    int timeout_s;
    int connect_timeout_s;
    int max_attempts;
    int backoff_base_ms;
    int backoff_max_ms;
    long max_response_bytes;
    int page_size; /* for paged vendors (CEPA limit/offset) */
};

struct cfg_vendor {
    char *name; /* "emmersion" */
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
void cfg_free(struct config *cfg);

const struct cfg_vendor *cfg_vendor(const struct config *cfg, const char *name);
const struct cfg_account *cfg_account(const struct cfg_vendor *v, const char *name);
int cfg_stream_enabled(const struct cfg_account *a, const char *stream);

/* Prints every key with type, default and doc (drives `scoresync config --keys`
 * and the README's config reference). */
void cfg_print_reference(void *file /* FILE * */);

#endif

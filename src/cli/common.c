#include "common.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/timeparse.h"

void cli_setup_logging(const struct cli_globals *g, const struct config *cfg)
{
    enum log_level lvl = LOG_INFO;
    if (cfg && cfg->log.level) {
        if (strcmp(cfg->log.level, "debug") == 0)
            lvl = LOG_DEBUG;
        else if (strcmp(cfg->log.level, "warn") == 0)
            lvl = LOG_WARN;
        else if (strcmp(cfg->log.level, "error") == 0)
            lvl = LOG_ERROR;
    }
    if (g->verbose)
        lvl = LOG_DEBUG;
    if (g->quiet)
        lvl = LOG_WARN;
    log_set_level(lvl);
    if (cfg && cfg->log.format && strcmp(cfg->log.format, "json") == 0)
        log_set_json(1);
}

int cli_load_config(const struct cli_globals *g, int flags, struct config **cfg)
{
    const char *path = g->config_path ? g->config_path : getenv("SCORESYNC_CONFIG");
    struct ss_err err = {0};
    if (!path) {
        log_error("no configuration file");
        log_hint("pass --config FILE or set SCORESYNC_CONFIG; config/sandbox.yaml runs "
                 "against the bundled sandbox");
        return EXIT_CONFIG;
    }
    if (cfg_load_ex(path, flags, cfg, &err) != 0) {
        log_error("%s", err.msg);
        return EXIT_CONFIG;
    }
    cli_setup_logging(g, *cfg);
    return EXIT_OK;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* An installed scoresync (`cmake --install`) keeps its data in
 * PREFIX/share/scoresync and localpg.sh in PREFIX/libexec/scoresync. PREFIX
 * is found next to the running binary first (/proc/self/exe: a relocated
 * install), then the one compiled in. CMakeLists.txt defines these. */
#ifndef SS_DATADIR
#define SS_DATADIR "/usr/local/share/scoresync"
#endif
#ifndef SS_LIBEXECDIR
#define SS_LIBEXECDIR "/usr/local/libexec/scoresync"
#endif
#ifndef SS_BIN_TO_DATADIR
#define SS_BIN_TO_DATADIR "../share/scoresync"
#endif
#ifndef SS_BIN_TO_LIBEXECDIR
#define SS_BIN_TO_LIBEXECDIR "../libexec/scoresync"
#endif

/* dir/rel into out if it exists. */
static int try_path(const char *dir, const char *rel, char *out, size_t n)
{
    int w = snprintf(out, n, "%s/%s", dir, rel);
    return w > 0 && (size_t)w < n && file_exists(out) ? 0 : -1;
}

static int installed_path(int libexec, const char *rel, char *out, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            char dir[PATH_MAX];
            *slash = '\0';
            int w = snprintf(dir, sizeof dir, "%s/%s", exe,
                             libexec ? SS_BIN_TO_LIBEXECDIR : SS_BIN_TO_DATADIR);
            if (w > 0 && (size_t)w < sizeof dir && try_path(dir, rel, out, n) == 0)
                return 0;
        }
    }
    return try_path(libexec ? SS_LIBEXECDIR : SS_DATADIR, rel, out, n);
}

int cli_data_path(const char *path, char *out, size_t n)
{
    if (!path || !*path)
        return -1;
    if (file_exists(path)) {
        int w = snprintf(out, n, "%s", path);
        return w > 0 && (size_t)w < n ? 0 : -1;
    }
    if (path[0] == '/')
        return -1;
    const char *rel = path;
    while (strncmp(rel, "./", 2) == 0)
        rel += 2;
    if (installed_path(0, rel, out, n) != 0)
        return -1;
    log_debug("%s: using the installed %s", path, out);
    return 0;
}

/* scripts/localpg.sh from the working directory or next to the config, else
 * the installed one. */
static int find_localpg(const struct config *cfg, char *out, size_t n)
{
    if (file_exists("scripts/localpg.sh")) {
        snprintf(out, n, "scripts/localpg.sh");
        return 0;
    }
    if (cfg->path) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", cfg->path);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = '\0';
            int w = snprintf(out, n, "%s/../scripts/localpg.sh", dir);
            if (w > 0 && (size_t)w < n && file_exists(out))
                return 0;
        }
    }
    return installed_path(1, "localpg.sh", out, n);
}

/* Starts (if needed) the private cluster and reads its URL. Arguments are
 * passed through the environment, not a shell string, so paths need no quoting. */
static char *embedded_url(const struct config *cfg)
{
    char script[PATH_MAX];
    if (find_localpg(cfg, script, sizeof script) != 0) {
        log_error("no database configured and localpg.sh was not found");
        log_hint("set database.url or DATABASE_URL; the embedded cluster needs scripts/localpg.sh "
                 "(a source tree) or an installed " SS_LIBEXECDIR "/localpg.sh");
        return NULL;
    }
    const char *dir = cfg->db.data_dir ? cfg->db.data_dir : ".scoresync/pg";
    setenv("SS_LOCALPG_SCRIPT", script, 1);
    setenv("SS_LOCALPG_DIR", dir, 1);
    log_info("no database.url: using the embedded PostgreSQL cluster in %s", dir);
    FILE *p = popen("bash \"$SS_LOCALPG_SCRIPT\" start \"$SS_LOCALPG_DIR\" >&2 && "
                    "bash \"$SS_LOCALPG_SCRIPT\" url \"$SS_LOCALPG_DIR\"",
                    "r");
    if (!p) {
        log_error("could not run %s", script);
        return NULL;
    }
    char line[1024] = "";
    char *ok = fgets(line, sizeof line, p);
    int status = pclose(p);
    if (!ok || status != 0) {
        log_error("the embedded PostgreSQL cluster did not start (%s start %s)", script, dir);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return strdup(line);
}

int cli_connect(const struct config *cfg, struct db **db)
{
    struct ss_err err = {0};
    const char *url = cfg->db.url;
    char *owned = NULL;
    if (!url || !*url)
        url = getenv("DATABASE_URL");
    if (!url || !*url) {
        owned = embedded_url(cfg);
        if (!owned)
            return EXIT_FATAL;
        url = owned;
    }
    int rc = db_connect(url, db, &err);
    free(owned);
    if (rc != 0) {
        log_error("%s", err.msg);
        log_hint("check database.url / DATABASE_URL and that the server is running");
        return EXIT_FATAL;
    }
    return EXIT_OK;
}

int cli_load_scales(const struct config *cfg, struct scales **sc)
{
    struct ss_err err = {0};
    const char *path = cfg->scales_path ? cfg->scales_path : "config/scales.yaml";
    char installed[PATH_MAX];
    if (cli_data_path(path, installed, sizeof installed) == 0)
        path = installed;
    if (scales_load(path, sc, &err) != 0) {
        log_error("%s", err.msg);
        return EXIT_CONFIG;
    }
    return EXIT_OK;
}

const char *cli_migrations_dir(const struct config *cfg)
{
    /* One per process: the CLI asks once per command. */
    static char installed[PATH_MAX];
    const char *dir = cfg && cfg->migrations_dir ? cfg->migrations_dir : "sql";
    if (cli_data_path(dir, installed, sizeof installed) == 0)
        return installed;
    return dir;
}

int cli_open(const struct cli_globals *g, int flags, struct config **cfg, struct scales **sc,
             struct db **db)
{
    *cfg = NULL;
    *db = NULL;
    if (sc)
        *sc = NULL;
    int rc = cli_load_config(g, flags, cfg);
    if (rc == EXIT_OK && sc)
        rc = cli_load_scales(*cfg, sc);
    if (rc == EXIT_OK)
        rc = cli_connect(*cfg, db);
    if (rc != EXIT_OK) {
        if (sc) {
            scales_free(*sc);
            *sc = NULL;
        }
        cfg_free(*cfg);
        *cfg = NULL;
    }
    return rc;
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    stop_flag = 1;
    signal(sig, SIG_DFL);
}

volatile sig_atomic_t *cli_stop_on_signals(void)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    return &stop_flag;
}

int cli_long_arg(const char *name, const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        log_error("--%s: expected a whole number from %ld to %ld, not \"%s\"", name, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_time_arg(const char *name, const char *s, int64_t *out)
{
    struct ss_err err = {0};
    if (ts_parse_cli(s, out, &err) != 0) {
        log_error("--%s: %s", name, err.msg);
        return -1;
    }
    return 0;
}

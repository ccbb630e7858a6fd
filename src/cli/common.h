/* Shared plumbing for the commands: load the config, find or start the
 * database, load the mapping tables. Each returns an exit_code (cli.h). */
#ifndef SS_CLI_COMMON_H
#define SS_CLI_COMMON_H

#include <signal.h>
#include <stdint.h>

#include "../config/config.h"
#include "../load/db.h"
#include "../normalize/norm.h"
#include "cli.h"

/* Applies -v/-q and the config's log settings. */
void cli_setup_logging(const struct cli_globals *g, const struct config *cfg);
/* Loads g->config_path (or $SCORESYNC_CONFIG). *cfg is the caller's to
 * cfg_free(). flags: CFG_DEFER_SECRETS for commands that call no vendor. */
int cli_load_config(const struct cli_globals *g, int flags, struct config **cfg);
/* Connects to database.url / $DATABASE_URL, or else starts the embedded
 * cluster (scripts/localpg.sh) under database.data_dir. *db -> db_close(). */
int cli_connect(const struct config *cfg, struct db **db);
int cli_load_scales(const struct config *cfg, struct scales **sc);
/* The usual opening of a command: config, then (if sc != NULL) the mapping
 * tables, then the database. On failure everything opened is closed again
 * and the exit code returned; on success the caller closes all three. */
int cli_open(const struct cli_globals *g, int flags, struct config **cfg, struct scales **sc,
             struct db **db);

/* Installs SIGINT/SIGTERM handlers for a long-running command and returns
 * the flag they set: the first signal asks the command to stop after the
 * batch in hand (its checkpoint committed); a second one kills. */
volatile sig_atomic_t *cli_stop_on_signals(void);

/* An option's whole-number value s in [min, max] into *out; else logs
 * "--name: expected a whole number from min to max" and returns -1. */
int cli_long_arg(const char *name, const char *s, long min, long max, long *out);
/* Parses the time option --name (ts_parse_cli: a date or an RFC 3339 time)
 * into *out (microseconds since the epoch); on a bad value logs why and
 * returns -1 (the caller exits with EXIT_USAGE). */
int cli_time_arg(const char *name, const char *s, int64_t *out);

/* Where migrations live: config's `migrations`, else ./sql; when that does
 * not exist, the installed PREFIX/share/scoresync/sql (cli_data_path). */
const char *cli_migrations_dir(const struct config *cfg);

/* A data file or directory named by a relative path ("config/scales.yaml",
 * "sql"): path itself when it exists, else the same path under the installed
 * data directory (next to the binary: BINDIR/../share/scoresync, then the
 * compiled-in PREFIX/share/scoresync). Writes the path found into out;
 * -1 when neither exists (or path is absolute and missing). */
int cli_data_path(const char *path, char *out, size_t n);

#endif

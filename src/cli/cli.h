/* cli: one file per command. main.c parses the global options and hands the
 * remaining arguments to the command, which parses its own (getopt_long,
 * starting with optind = 0 so glibc re-initialises after main's "+" scan and
 * options may follow operands), prints its own --help, and returns one of the
 * exit codes below. */
#ifndef SS_CLI_H
#define SS_CLI_H

enum exit_code {
    EXIT_OK = 0,
    EXIT_FATAL = 1,     /* nothing useful was done: database down, bug, ... */
    EXIT_USAGE = 2,     /* bad command line */
    EXIT_CONFIG = 3,    /* configuration file, environment or secrets */
    EXIT_PARTIAL = 4,   /* some accounts/streams failed, the others were loaded */
    EXIT_UNKNOWN = 5,   /* `explain`: the label or score is not in the tables */
    EXIT_UNHEALTHY = 6, /* `status --check`: a stream failing, stale or never run;
                           `check`: an account's credentials or vendor failed */
};

struct cli_globals {
    const char *config_path; /* --config, or $SCORESYNC_CONFIG, or NULL */
    int verbose;             /* -v count */
    int quiet;
};

int cmd_migrate(int argc, char **argv, const struct cli_globals *g);
int cmd_sync(int argc, char **argv, const struct cli_globals *g); /* also `backfill` */
int cmd_backfill(int argc, char **argv, const struct cli_globals *g);
int cmd_sandbox(int argc, char **argv, const struct cli_globals *g);
int cmd_status(int argc, char **argv, const struct cli_globals *g);
int cmd_explain(int argc, char **argv, const struct cli_globals *g); /* no database */
int cmd_renormalize(int argc, char **argv, const struct cli_globals *g);
int cmd_config(int argc, char **argv, const struct cli_globals *g);
int cmd_check(int argc, char **argv, const struct cli_globals *g);
int cmd_plan(int argc, char **argv, const struct cli_globals *g); /* `plan backfill` */

#endif

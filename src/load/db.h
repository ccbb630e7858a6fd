/* db: libpq helpers. Every query goes through db_exec(), which checks the
 * expected result status and turns a failure into an ss_err carrying the
 * server's message (PostgreSQL front-end utilities style). SQL text is never
 * built from data: values travel as parameters or through COPY.
 *
 * Ownership: db_connect() -> db_close(). PGresult objects returned through
 * `out` are the caller's to PQclear(). */
#ifndef SS_DB_H
#define SS_DB_H

#include <libpq-fe.h>
#include "../core/err.h"

struct db;

/* conninfo: a libpq URL or key=value string. The password, if any, is never
 * echoed in errors. */
int db_connect(const char *conninfo, struct db **out, struct ss_err *err) SS_MUSTCHECK;
void db_close(struct db *db);
/* A second connection to the same database (a worker thread's own, or one
 * beside a connection that is inside a transaction). -> db_close(). */
int db_clone(struct db *db, struct db **out, struct ss_err *err) SS_MUSTCHECK;
PGconn *db_conn(struct db *db);

/* Runs sql with text parameters (NULL entries are SQL NULL). expect is
 * PGRES_COMMAND_OK or PGRES_TUPLES_OK. If out is non-NULL the result is
 * handed to the caller, else cleared. */
int db_exec(struct db *db, const char *sql, int nparams, const char *const *params,
            ExecStatusType expect, PGresult **out, struct ss_err *err) SS_MUSTCHECK;
/* db_exec() with binary parameters where formats[i] is 1 (lengths[i] bytes
 * each): digests and documents of megabytes, which hex would double. */
int db_exec_bin(struct db *db, const char *sql, int nparams, const char *const *params,
                const int *lengths, const int *formats, ExecStatusType expect, PGresult **out,
                struct ss_err *err) SS_MUSTCHECK;
/* Shorthand for parameterless commands (BEGIN, COMMIT, ...). */
int db_cmd(struct db *db, const char *sql, struct ss_err *err) SS_MUSTCHECK;
/* ROLLBACK, ignoring errors (used on failure paths). */
void db_rollback(struct db *db);

/* COPY FROM STDIN with an already formatted text-format payload. */
int db_copy_in(struct db *db, const char *copy_sql, const char *data, size_t len,
               struct ss_err *err) SS_MUSTCHECK;

#endif

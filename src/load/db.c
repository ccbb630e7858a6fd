/* db: libpq helpers; every query's status is checked in one place. */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"

struct db {
    PGconn *conn;
    char *conninfo; /* kept for db_clone(); may hold a password: never logged */
};

/* Server NOTICEs ("relation already exists, skipping") are debug noise. */
static void db_notice(void *arg, const char *message)
{
    (void)arg;
    size_t n = strlen(message);
    while (n > 0 && (message[n - 1] == '\n' || message[n - 1] == '\r'))
        n--;
    log_debug("postgres: %.*s", (int)n, message);
}

/* Copies a libpq message without its trailing newline. */
static void trim_copy(char *out, size_t outlen, const char *msg)
{
    snprintf(out, outlen, "%s", msg ? msg : "");
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = '\0';
}

/* Fills err from a failed result: primary message, then detail and hint. */
static int db_result_err(struct db *db, PGresult *res, const char *what, struct ss_err *err)
{
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char msg[600];
    if (primary)
        trim_copy(msg, sizeof msg, primary);
    else
        trim_copy(msg, sizeof msg, PQerrorMessage(db->conn));
    if (!msg[0] && res)
        snprintf(msg, sizeof msg, "unexpected result %s", PQresStatus(PQresultStatus(res)));
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    char d[300] = "", h[200] = "";
    if (detail)
        trim_copy(d, sizeof d, detail);
    if (hint)
        trim_copy(h, sizeof h, hint);
    return err_set(err, SS_EDB, "%s: %s%s%s%s%s%s%s%s", what, msg, state ? " [" : "",
                   state ? state : "", state ? "]" : "", d[0] ? "; detail: " : "", d,
                   h[0] ? "; hint: " : "", h);
}

int db_connect(const char *conninfo, struct db **out, struct ss_err *err)
{
    *out = NULL;
    if (!conninfo)
        return err_set(err, SS_EDB, "no database connection string");
    struct db *db = calloc(1, sizeof *db);
    if (!db)
        return err_set(err, SS_ENOMEM, "out of memory");
    /* expand_dbname lets conninfo be a URL or key=value text; our keywords
     * only add defaults the caller did not set. */
    const char *keys[] = {"dbname", "fallback_application_name", "client_encoding", NULL};
    const char *vals[] = {conninfo, "scoresync", "UTF8", NULL};
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (!db->conn) {
        free(db);
        return err_set(err, SS_ENOMEM, "out of memory connecting to PostgreSQL");
    }
    if (PQstatus(db->conn) != CONNECTION_OK) {
        /* libpq's message names host and port, never the password. */
        char msg[800];
        trim_copy(msg, sizeof msg, PQerrorMessage(db->conn));
        err_set(err, SS_EDB, "could not connect to PostgreSQL: %s", msg);
        PQfinish(db->conn);
        free(db);
        return -1;
    }
    PQsetNoticeProcessor(db->conn, db_notice, NULL);
    db->conninfo = strdup(conninfo);
    if (!db->conninfo) {
        db_close(db);
        return err_set(err, SS_ENOMEM, "out of memory");
    }
    *out = db;
    return 0;
}

int db_clone(struct db *db, struct db **out, struct ss_err *err)
{
    return db_connect(db->conninfo, out, err);
}

void db_close(struct db *db)
{
    if (!db)
        return;
    PQfinish(db->conn);
    free(db->conninfo);
    free(db);
}

PGconn *db_conn(struct db *db)
{
    return db->conn;
}

/* First line of sql, shortened, to say which statement failed. */
static void sql_head(const char *sql, char *out, size_t outlen)
{
    while (*sql == ' ' || *sql == '\n' || *sql == '\t')
        sql++;
    size_t n = strcspn(sql, "\n");
    if (n > 60)
        n = 60;
    snprintf(out, outlen, "%.*s%s", (int)n, sql, sql[n] ? "..." : "");
}

int db_exec(struct db *db, const char *sql, int nparams, const char *const *params,
            ExecStatusType expect, PGresult **out, struct ss_err *err)
{
    return db_exec_bin(db, sql, nparams, params, NULL, NULL, expect, out, err);
}

int db_exec_bin(struct db *db, const char *sql, int nparams, const char *const *params,
                const int *lengths, const int *formats, ExecStatusType expect, PGresult **out,
                struct ss_err *err)
{
    if (out)
        *out = NULL;
    PGresult *res = PQexecParams(db->conn, sql, nparams, NULL, params, lengths, formats, 0);
    if (!res || PQresultStatus(res) != expect) {
        char head[80];
        sql_head(sql, head, sizeof head);
        db_result_err(db, res, head, err);
        PQclear(res);
        return -1;
    }
    if (out)
        *out = res;
    else
        PQclear(res);
    return 0;
}

int db_cmd(struct db *db, const char *sql, struct ss_err *err)
{
    return db_exec(db, sql, 0, NULL, PGRES_COMMAND_OK, NULL, err);
}

void db_rollback(struct db *db)
{
    if (!db || PQtransactionStatus(db->conn) == PQTRANS_IDLE)
        return;
    PQclear(PQexec(db->conn, "ROLLBACK"));
}

int db_copy_in(struct db *db, const char *copy_sql, const char *data, size_t len,
               struct ss_err *err)
{
    char head[80];
    sql_head(copy_sql, head, sizeof head);
    PGresult *res = PQexec(db->conn, copy_sql);
    if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
        db_result_err(db, res, head, err);
        PQclear(res);
        /* A COPY that unexpectedly returned rows or started COPY OUT would
         * leave the connection busy; drain it. */
        while ((res = PQgetResult(db->conn)) != NULL)
            PQclear(res);
        return -1;
    }
    PQclear(res);
    int rc = 0;
    /* Chunks keep libpq's own output buffer small. */
    const size_t chunk = 1u << 20;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        if (PQputCopyData(db->conn, data + off, (int)n) != 1) {
            rc = -1;
            break;
        }
    }
    if (PQputCopyEnd(db->conn, rc == 0 ? NULL : "client failed sending data") != 1)
        rc = -1;
    int reported = 0;
    while ((res = PQgetResult(db->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && !reported) {
            db_result_err(db, res, head, err);
            reported = 1;
        }
        PQclear(res);
    }
    if (reported)
        return -1;
    if (rc != 0) {
        char msg[600];
        trim_copy(msg, sizeof msg, PQerrorMessage(db->conn));
        return err_set(err, SS_EDB, "%s: sending COPY data failed: %s", head, msg);
    }
    return 0;
}

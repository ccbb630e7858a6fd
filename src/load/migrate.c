/* migrate: ordered, checksummed, lock-protected schema migrations. */
#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../core/log.h"

/* pg_advisory_lock key: "scoresync migrate", constant so every scoresync
 * process (any version) contends for the same lock. */
#define MIGRATE_LOCK_KEY "7575237019551748941"

/* Migration files are small; anything larger is a mistake. */
#define MIGRATE_MAX_FILE (16u << 20)

struct mig_file {
    char *name;    /* "001_schema.sql" */
    char *version; /* "001" */
    char *path;    /* dir + "/" + name, for messages */
    char *sql;
    char checksum[65];
};

struct mig_set {
    struct mig_file *f;
    size_t n;
};

static void mig_set_free(struct mig_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->f[i].name);
        free(s->f[i].version);
        free(s->f[i].path);
        free(s->f[i].sql);
    }
    free(s->f);
    s->f = NULL;
    s->n = 0;
}

/* NNN_name.sql: one or more digits, an underscore, ends in ".sql". */
static int mig_name_ok(const char *name)
{
    size_t d = strspn(name, "0123456789");
    size_t n = strlen(name);
    return d > 0 && name[d] == '_' && n > d + 5 && strcmp(name + n - 4, ".sql") == 0;
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct mig_file *)a)->name, ((const struct mig_file *)b)->name);
}

static int sha256_hex(const char *data, size_t len, char out[65], struct ss_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return err_set(err, SS_EIO, "SHA-256 failed");
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

static int read_file(const char *path, char **out, struct ss_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(err, SS_EIO, "%s: %s", path, strerror(errno));
    int rc = -1;
    size_t cap = 8192, len = 0;
    char *data = malloc(cap);
    if (!data) {
        err_set(err, SS_ENOMEM, "out of memory reading %s", path);
        goto out;
    }
    for (;;) {
        if (len + 1 >= cap) {
            if (cap >= MIGRATE_MAX_FILE) {
                err_set(err, SS_ETOOBIG, "%s: larger than %u bytes", path, MIGRATE_MAX_FILE);
                goto out;
            }
            char *p = realloc(data, cap * 2);
            if (!p) {
                err_set(err, SS_ENOMEM, "out of memory reading %s", path);
                goto out;
            }
            data = p;
            cap *= 2;
        }
        size_t n = fread(data + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        err_set(err, SS_EIO, "%s: read error", path);
        goto out;
    }
    data[len] = '\0';
    if (strlen(data) != len) {
        err_set(err, SS_EINVAL, "%s: contains a NUL byte", path);
        goto out;
    }
    *out = data;
    data = NULL;
    rc = 0;
out:
    free(data);
    fclose(f);
    return rc;
}

/* Reads every migration file in dir, sorted by name, with checksums. */
static int mig_scan(const char *dir, struct mig_set *set, struct ss_err *err)
{
    set->f = NULL;
    set->n = 0;
    size_t cap = 0;
    DIR *d = opendir(dir);
    if (!d)
        return err_set(err, SS_EIO, "migrations directory %s: %s", dir, strerror(errno));
    int rc = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!mig_name_ok(e->d_name))
            continue;
        if (set->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct mig_file *p = realloc(set->f, ncap * sizeof *p);
            if (!p) {
                err_set(err, SS_ENOMEM, "out of memory");
                goto out;
            }
            set->f = p;
            cap = ncap;
        }
        struct mig_file *m = &set->f[set->n];
        memset(m, 0, sizeof *m);
        set->n++;
        m->name = strdup(e->d_name);
        m->version = strndup(e->d_name, strspn(e->d_name, "0123456789"));
        size_t plen = strlen(dir) + strlen(e->d_name) + 2;
        m->path = malloc(plen);
        if (!m->name || !m->version || !m->path) {
            err_set(err, SS_ENOMEM, "out of memory");
            goto out;
        }
        snprintf(m->path, plen, "%s/%s", dir, e->d_name);
    }
    qsort(set->f, set->n, sizeof *set->f, cmp_file);
    for (size_t i = 0; i < set->n; i++) {
        struct mig_file *m = &set->f[i];
        if (i > 0 && strcmp(set->f[i - 1].version, m->version) == 0) {
            err_set(err, SS_ECONFIG, "%s and %s have the same version %s", set->f[i - 1].path,
                    m->path, m->version);
            goto out;
        }
        if (read_file(m->path, &m->sql, err) != 0 ||
            sha256_hex(m->sql, strlen(m->sql), m->checksum, err) != 0)
            goto out;
    }
    rc = 0;
out:
    closedir(d);
    if (rc != 0)
        mig_set_free(set);
    return rc;
}

static const char *const create_table_sql = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                            " version text PRIMARY KEY,"
                                            " name text NOT NULL,"
                                            " checksum text NOT NULL,"
                                            " applied_at timestamptz NOT NULL DEFAULT now())";

/* Applied migrations (version, name, checksum), or NULL *res when the table
 * does not exist yet. */
static int mig_applied(struct db *db, PGresult **res, struct ss_err *err)
{
    *res = NULL;
    PGresult *r = NULL;
    if (db_exec(db, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL, PGRES_TUPLES_OK,
                &r, err) != 0)
        return -1;
    int exists = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!exists)
        return 0;
    return db_exec(db, "SELECT version, name, checksum FROM schema_migrations ORDER BY version", 0,
                   NULL, PGRES_TUPLES_OK, res, err);
}

/* Checks every applied version against its file. Sets pending[i] for files
 * not yet applied; returns how many are pending, or -1 (error set). */
static int mig_compare(const struct mig_set *set, PGresult *applied, char *pending,
                       struct ss_err *err)
{
    int npending = 0;
    int nrows = applied ? PQntuples(applied) : 0;
    for (size_t i = 0; i < set->n; i++) {
        const struct mig_file *m = &set->f[i];
        pending[i] = 1;
        for (int r = 0; r < nrows; r++) {
            if (strcmp(PQgetvalue(applied, r, 0), m->version) != 0)
                continue;
            const char *sum = PQgetvalue(applied, r, 2);
            if (strcmp(sum, m->checksum) != 0)
                return err_set(err, SS_EDB,
                               "%s was edited after it was applied (checksum recorded %.12s..., "
                               "file now %.12s...); add a new migration instead of editing it",
                               m->path, sum, m->checksum);
            pending[i] = 0;
        }
        npending += pending[i];
    }
    for (int r = 0; r < nrows; r++) {
        int found = 0;
        for (size_t i = 0; i < set->n && !found; i++)
            found = strcmp(PQgetvalue(applied, r, 0), set->f[i].version) == 0;
        if (!found)
            log_warn("migration %s (%s) is recorded in the database but has no file here",
                     PQgetvalue(applied, r, 0), PQgetvalue(applied, r, 1));
    }
    return npending;
}

static int mig_apply_one(struct db *db, const struct mig_file *m, struct ss_err *err)
{
    if (db_cmd(db, "BEGIN", err) != 0)
        return -1;
    /* PQexec: the simple query protocol runs a multi-statement file. */
    PGresult *res = PQexec(db_conn(db), m->sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
        const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(db_conn(db));
        char buf[800];
        snprintf(buf, sizeof buf, "%s", msg);
        buf[strcspn(buf, "\n")] = '\0';
        PQclear(res);
        db_rollback(db);
        return err_set(err, SS_EDB, "%s: %s (nothing from this file was applied)", m->path, buf);
    }
    PQclear(res);
    const char *params[] = {m->version, m->name, m->checksum};
    if (db_exec(db, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                3, params, PGRES_COMMAND_OK, NULL, err) != 0 ||
        db_cmd(db, "COMMIT", err) != 0) {
        db_rollback(db);
        return err_prefix(err, "%s", m->path);
    }
    return 0;
}

int migrate_run(struct db *db, const char *dir, int *applied, struct ss_err *err)
{
    if (applied)
        *applied = 0;
    struct mig_set set = {0};
    PGresult *done = NULL;
    char *pending = NULL;
    int locked = 0, rc = -1;
    if (mig_scan(dir, &set, err) != 0)
        return -1;
    /* Session lock held for the whole run: a concurrent run waits here and
     * then finds nothing left to apply. */
    if (db_exec(db, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL, PGRES_TUPLES_OK, NULL,
                err) != 0)
        goto out;
    locked = 1;
    if (db_cmd(db, create_table_sql, err) != 0 || mig_applied(db, &done, err) != 0)
        goto out;
    pending = calloc(set.n + 1, 1);
    if (!pending) {
        err_set(err, SS_ENOMEM, "out of memory");
        goto out;
    }
    /* Verify everything before applying anything. */
    if (mig_compare(&set, done, pending, err) < 0)
        goto out;
    for (size_t i = 0; i < set.n; i++) {
        if (!pending[i])
            continue;
        log_info("applying migration %s", set.f[i].path);
        if (mig_apply_one(db, &set.f[i], err) != 0)
            goto out;
        if (applied)
            (*applied)++;
    }
    rc = 0;
out:
    if (locked) {
        struct ss_err uerr = {0};
        if (db_exec(db, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", 0, NULL, PGRES_TUPLES_OK,
                    NULL, &uerr) != 0)
            log_warn("releasing the migration lock: %s", uerr.msg);
    }
    PQclear(done);
    free(pending);
    mig_set_free(&set);
    return rc;
}

int migrate_check(struct db *db, const char *dir, struct ss_err *err)
{
    struct mig_set set = {0};
    PGresult *done = NULL;
    char *pending = NULL;
    int rc = -1;
    if (mig_scan(dir, &set, err) != 0)
        return -1;
    if (mig_applied(db, &done, err) != 0)
        goto out;
    pending = calloc(set.n + 1, 1);
    if (!pending) {
        err_set(err, SS_ENOMEM, "out of memory");
        goto out;
    }
    int n = mig_compare(&set, done, pending, err);
    if (n < 0)
        goto out;
    if (n > 0) {
        const char *first = NULL;
        for (size_t i = 0; i < set.n && !first; i++)
            if (pending[i])
                first = set.f[i].path;
        err_set(err, SS_EDB,
                "the database schema is not up to date: %d migration%s pending (first: %s); "
                "run `scoresync migrate`",
                n, n == 1 ? "" : "s", first);
        goto out;
    }
    rc = 0;
out:
    PQclear(done);
    free(pending);
    mig_set_free(&set);
    return rc;
}

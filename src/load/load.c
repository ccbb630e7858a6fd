/* load: COPY into temp staging tables, then one set-based upsert per table
 * that skips unchanged rows, all in one transaction with the checkpoint. */
#include "load.h"

#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../core/buf.h"
#include "../core/redact.h"
#include "../core/jsonw.h"
#include "../core/timeparse.h"

/* COPY text for one table of one batch; far above any sane batch. */
#define LOAD_COPY_LIMIT ((size_t)1 << 30)

/* First key of the per-account advisory lock ("SSYN"); the second is the
 * account id. Two-int locks cannot collide with migrate's bigint lock. */
#define LOAD_LOCK_CLASS "1397971278"

/* Every table ends with raw_sha256, raw. Raw JSON is staged as text with the
 * SHA-256 of that text: an unchanged re-sync compares 32 bytes and never
 * parses the JSON (parsing is most of the cost of a jsonb COPY). Only when
 * the digest differs is the stored jsonb compared semantically, so a vendor
 * reordering keys does not count as a change. */
#define RAW_DDL   ", raw_sha256 bytea, raw text"
#define RAW_NAMES ", raw_sha256, raw"
#define RAW_CHANGED                                                                                \
    " OR (o.raw_sha256 IS DISTINCT FROM st.raw_sha256 AND o.raw IS DISTINCT FROM st.raw::jsonb)"
#define RAW_VALUES ", st.raw_sha256, st.raw::jsonb"
#define RAW_SET    ", raw_sha256 = st.raw_sha256, raw = st.raw::jsonb"

/* Results' raw JSON (~1.5 KB, most of a batch's bytes) is sent only where
 * the stored digest differs: ss_stage_res carries the digest alone, the
 * server names the rows whose raw it needs (RAW_NEED_SQL) and only those go
 * to ss_stage_raw. An unchanged re-sync then moves ~10% of the bytes. A row
 * with no ss_stage_raw entry has the stored digest, hence the stored raw
 * (load_batch holds the account's lock in between). The staged raw is jsonb,
 * parsed once by its COPY: a changed row used to be parsed twice, for the
 * comparison and again for the UPDATE. */
#define RES_RAW_DDL   ", raw_sha256 bytea"
#define RES_RAW_NAMES ", raw_sha256"
#define RES_RAW_JOIN                                                                               \
    "LEFT JOIN LATERAL (SELECT raw FROM ss_stage_raw sr WHERE sr.seq = st.seq LIMIT 1) sr ON "     \
    "true "
#define RES_RAW_CHANGED                                                                            \
    " OR (o.raw_sha256 IS DISTINCT FROM st.raw_sha256 AND o.raw IS DISTINCT FROM sr.raw)"
#define RES_RAW_VALUES ", st.raw_sha256, sr.raw"
#define RES_RAW_SET                                                                                \
    ", raw_sha256 = CASE WHEN sr.raw IS NULL THEN t.raw_sha256 ELSE st.raw_sha256 END, "           \
    "raw = COALESCE(sr.raw, t.raw)"

/* What `renormalize` does with a result column: leaves it (0), rewrites it
 * when the values differ (RN_COMPARED: norm_result() decides it; skill too,
 * which rows loaded before it existed lack), or rewrites it with the others
 * without comparing (RN_STAMP: scales_version, so a row whose values are the
 * same under new tables is not rewritten). */
enum { RN_COMPARED = 1, RN_STAMP = 2 };

struct col {
    const char *name, *type;
    int renorm; /* results only: RN_* */
};

/* Candidate columns compared and copied (besides account_id, vendor_key and
 * the raw pair, see RAW_*). */
static const struct col cand_cols[] = {
    {"email", "text", 0},    {"given_name", "text", 0}, {"family_name", "text", 0},
    {"username", "text", 0}, {"student_id", "text", 0}, {"unique_identifier", "text", 0},
};
#define N_CAND_COLS (sizeof cand_cols / sizeof cand_cols[0])

/* Result columns in COPY order (after seq, vendor_key, candidate_key and
 * before the raw pair). The one list that both the loader and renormalize
 * stage; write_res_field() writes each by its RF_ index. */
enum res_field {
    RF_STREAM,
    RF_ASSESSMENT_NAME,
    RF_ASSESSMENT_TYPE,
    RF_ASSESSMENT_VERSION,
    RF_STATUS,
    RF_VENDOR_STATUS,
    RF_ASSIGNED_AT,
    RF_STARTED_AT,
    RF_COMPLETED_AT,
    RF_EXPIRES_AT,
    RF_DURATION,
    RF_SCORE,
    RF_SCORE_LABEL,
    RF_SCORE_SCALE,
    RF_SCALE_MIN,
    RF_SCALE_MAX,
    RF_SCORE_PCT,
    RF_PLACEMENT,
    RF_CEFR_LABEL,
    RF_CEFR_LOW,
    RF_CEFR_HIGH,
    RF_CEFR_RULE,
    RF_ACTFL_LABEL,
    RF_ACTFL_LOW,
    RF_ACTFL_HIGH,
    RF_ACTFL_RULE,
    RF_TOEFL_LABEL,
    RF_TOEFL_LOW,
    RF_TOEFL_HIGH,
    RF_IELTS_LABEL,
    RF_IELTS_LOW,
    RF_IELTS_HIGH,
    RF_TOEIC_LABEL,
    RF_TOEIC_LOW,
    RF_TOEIC_HIGH,
    RF_SKILL,
    RF_PASSED,
    RF_PASS_RULE,
    RF_CERTIFICATE_URL,
    RF_NORM_NOTES,
    RF_SCALES_VERSION,
    RF_COUNT
};

static const struct col res_cols[] = {
    [RF_STREAM] = {"stream", "text", 0},
    [RF_ASSESSMENT_NAME] = {"assessment_name", "text", 0},
    [RF_ASSESSMENT_TYPE] = {"assessment_type", "text", 0},
    [RF_ASSESSMENT_VERSION] = {"assessment_version", "text", 0},
    [RF_STATUS] = {"status", "text", RN_COMPARED},
    [RF_VENDOR_STATUS] = {"vendor_status", "text", 0},
    [RF_ASSIGNED_AT] = {"assigned_at", "timestamptz", 0},
    [RF_STARTED_AT] = {"started_at", "timestamptz", 0},
    [RF_COMPLETED_AT] = {"completed_at", "timestamptz", 0},
    [RF_EXPIRES_AT] = {"expires_at", "timestamptz", 0},
    [RF_DURATION] = {"duration", "interval", 0},
    [RF_SCORE] = {"score", "numeric", RN_COMPARED},
    [RF_SCORE_LABEL] = {"score_label", "text", 0},
    [RF_SCORE_SCALE] = {"score_scale", "text", RN_COMPARED},
    [RF_SCALE_MIN] = {"scale_min", "numeric", RN_COMPARED},
    [RF_SCALE_MAX] = {"scale_max", "numeric", RN_COMPARED},
    [RF_SCORE_PCT] = {"score_pct", "numeric", RN_COMPARED},
    [RF_PLACEMENT] = {"placement", "text", 0},
    [RF_CEFR_LABEL] = {"cefr_label", "text", 0},
    [RF_CEFR_LOW] = {"cefr_low", "smallint", RN_COMPARED},
    [RF_CEFR_HIGH] = {"cefr_high", "smallint", RN_COMPARED},
    [RF_CEFR_RULE] = {"cefr_rule", "text", RN_COMPARED},
    [RF_ACTFL_LABEL] = {"actfl_label", "text", 0},
    [RF_ACTFL_LOW] = {"actfl_low", "smallint", RN_COMPARED},
    [RF_ACTFL_HIGH] = {"actfl_high", "smallint", RN_COMPARED},
    [RF_ACTFL_RULE] = {"actfl_rule", "text", RN_COMPARED},
    [RF_TOEFL_LABEL] = {"toefl_label", "text", 0},
    [RF_TOEFL_LOW] = {"toefl_low", "numeric", RN_COMPARED},
    [RF_TOEFL_HIGH] = {"toefl_high", "numeric", RN_COMPARED},
    [RF_IELTS_LABEL] = {"ielts_label", "text", 0},
    [RF_IELTS_LOW] = {"ielts_low", "numeric", RN_COMPARED},
    [RF_IELTS_HIGH] = {"ielts_high", "numeric", RN_COMPARED},
    [RF_TOEIC_LABEL] = {"toeic_label", "text", 0},
    [RF_TOEIC_LOW] = {"toeic_low", "numeric", RN_COMPARED},
    [RF_TOEIC_HIGH] = {"toeic_high", "numeric", RN_COMPARED},
    [RF_SKILL] = {"skill", "text", RN_COMPARED},
    [RF_PASSED] = {"passed", "boolean", RN_COMPARED},
    [RF_PASS_RULE] = {"pass_rule", "text", RN_COMPARED},
    [RF_CERTIFICATE_URL] = {"certificate_url", "text", 0},
    [RF_NORM_NOTES] = {"norm_notes", "text", RN_COMPARED},
    [RF_SCALES_VERSION] = {"scales_version", "text", RN_STAMP},
};
#define N_RES_COLS ((size_t)RF_COUNT)
_Static_assert(sizeof res_cols / sizeof res_cols[0] == RF_COUNT, "one entry per field");

struct loader {
    struct db *db;
    /* SHA-256 fetched once: EVP_sha256() made every digest look it up. */
    EVP_MD *sha256;
    struct buf copy; /* reused for every COPY payload */
    char *stage_ddl;
    char *copy_cand, *upsert_cand;
    char *copy_res, *upsert_res;
    /* Quarantine rows the loader itself added for the last batch (records
     * the database would refuse, ambiguous duplicates): load_quarantined(). */
    struct ss_batch vq;
    /* renormalize: rows staged by load_renorm_add() until load_renorm_apply() */
    struct buf renorm;
    long renorm_rows;
    char *renorm_ddl, *copy_renorm, *update_renorm;
    /* Dry runs (load_dry_loader): a loader's companion, for dry_account,
     * and in the companion, dry = 1 (it owns its connection). */
    struct loader *dry_ld;
    int64_t dry_account;
    int dry;
};

/* ---- SQL built once from the column tables (constants, never data) ---- */

/* Appends "p.a, p.b, ..." (or "a = p.a, ..." when set is non-zero). */
static int cols_list(struct buf *b, const char *prefix, const struct col *c, size_t n, int set,
                     struct ss_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc =
            set ? buf_appendf(b, err, "%s%s = %s%s", i ? ", " : "", c[i].name, prefix, c[i].name)
                : buf_appendf(b, err, "%s%s%s", i ? ", " : "", prefix, c[i].name);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int cols_ddl(struct buf *b, const struct col *c, size_t n, struct ss_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (buf_appendf(b, err, ", %s %s", c[i].name, c[i].type) != 0)
            return -1;
    return 0;
}

/* Staging tables live for the session; ON COMMIT DELETE ROWS empties them at
 * every commit and a rollback discards what a failed batch staged. `seq` is
 * the position in the batch: when a key repeats, the last occurrence wins. */
static int build_stage_ddl(struct buf *b, struct ss_err *err)
{
    if (buf_appendf(b, err,
                    "CREATE TEMP TABLE IF NOT EXISTS ss_stage_cand (seq int NOT NULL, "
                    "vendor_key text NOT NULL") != 0 ||
        cols_ddl(b, cand_cols, N_CAND_COLS, err) != 0 ||
        buf_appendf(b, err,
                    RAW_DDL ") ON COMMIT DELETE ROWS; CREATE TEMP TABLE IF NOT EXISTS "
                            "ss_stage_res (seq int NOT NULL, vendor_key text NOT NULL, "
                            "candidate_key text NOT NULL") != 0 ||
        cols_ddl(b, res_cols, N_RES_COLS, err) != 0 ||
        buf_appendf(b, err,
                    RES_RAW_DDL
                    ") ON COMMIT DELETE ROWS; "
                    /* Probed by seq once per staged result (RES_RAW_JOIN). */
                    "CREATE TEMP TABLE IF NOT EXISTS ss_stage_raw (seq int PRIMARY KEY, "
                    "raw jsonb NOT NULL) ON COMMIT DELETE ROWS; "
                    "CREATE TEMP TABLE IF NOT EXISTS ss_stage_sub (res_seq int NOT NULL, "
                    "name text NOT NULL, value numeric, max numeric) ON COMMIT DELETE ROWS; "
                    "CREATE TEMP TABLE IF NOT EXISTS ss_stage_quar (seq int NOT NULL, "
                    "record_key text NOT NULL, field text, reason text NOT NULL, raw text) "
                    "ON COMMIT DELETE ROWS; "
                    /* Raw JSON is staged for one statement: kept inline and
                     * uncompressed. By default records over ~2 KB were
                     * pglz-compressed on the way into the temporary table,
                     * half the cost of their COPY. */
                    "ALTER TABLE ss_stage_raw ALTER raw SET STORAGE MAIN, "
                    "SET (toast_tuple_target = 8160); "
                    "ALTER TABLE ss_stage_cand ALTER raw SET STORAGE MAIN, "
                    "SET (toast_tuple_target = 8160); "
                    /* Results this batch inserted or changed: only their
                     * sub-scores, assessments and quarantine rows need work. */
                    "CREATE TEMP TABLE IF NOT EXISTS ss_changed (id bigint NOT NULL, "
                    "vendor_key text NOT NULL, inserted bool NOT NULL) ON COMMIT DELETE ROWS") != 0)
        return -1;
    return 0;
}

/* The upsert for candidates (res = 0) or results (res = 1); $1 = account_id.
 * The staging table holds each key once (load_batch drops earlier
 * duplicates), so it is joined directly.
 *
 * One statement: j = one narrow row per staged row (the stored row and the
 * candidate are found by LATERAL ... LIMIT 1, which pins the plan to one
 * index probe per staged row however stale the table statistics are): its seq, (results) the
 * candidate id (NULL when unknown, counted and refused by the caller), the
 * stored row's id and whether any stored column differs. Unchanged rows stop
 * there: no write, no row lock, no WAL. Then a plain INSERT of the new rows
 * and an UPDATE of the changed ones, each joined back to the staging table
 * by seq. Both see one snapshot, so the sets are disjoint, and load_batch()
 * holds a per-account advisory lock, so another scoresync loader cannot
 * insert the same key in between. (INSERT ... ON CONFLICT would be correct
 * too, but its speculative insertion made the loader ~40% slower.)
 *
 * Returns one row: inserted, updated, staged, staged with a known candidate.
 * Results record what they changed in ss_changed for the follow-ups. */
static int build_upsert(struct buf *b, int res, struct ss_err *err)
{
    const char *table = res ? "results" : "candidates";
    const char *stage = res ? "ss_stage_res" : "ss_stage_cand";
    const struct col *c = res ? res_cols : cand_cols;
    size_t n = res ? N_RES_COLS : N_CAND_COLS;
    const char *cand = res ? "candidate_id, " : "";
    const char *raw_changed = res ? RES_RAW_CHANGED : RAW_CHANGED;
    const char *raw_names = res ? RES_RAW_NAMES ", raw" : RAW_NAMES;
    const char *raw_values = res ? RES_RAW_VALUES : RAW_VALUES;
    const char *raw_set = res ? RES_RAW_SET : RAW_SET;
    const char *raw_join = res ? RES_RAW_JOIN : "";
    if (buf_appendf(b, err,
                    "WITH j AS MATERIALIZED (SELECT st.seq, %s o.id AS old_id, "
                    "(o.id IS NULL OR (%s",
                    res ? "c.id AS candidate_id," : "", res ? "o.candidate_id, " : "") != 0 ||
        cols_list(b, "o.", c, n, 0, err) != 0 ||
        buf_appendf(b, err, ") IS DISTINCT FROM (%s", res ? "c.id, " : "") != 0 ||
        cols_list(b, "st.", c, n, 0, err) != 0 ||
        buf_appendf(b, err,
                    ")%s) AND (o.id IS NULL OR NOT $2::bool%s) AS changed "
                    "FROM %s st ",
                    raw_changed, res ? " OR o.stream = st.stream" : "", stage) != 0)
        return -1;
    if (res && buf_appendf(
                   b, err,
                   "LEFT JOIN LATERAL (SELECT id FROM candidates c WHERE c.account_id = $1::bigint "
                   "AND c.vendor_key = st.candidate_key LIMIT 1) c ON true ") != 0)
        return -1;
    if (buf_appendf(b, err,
                    "LEFT JOIN LATERAL (SELECT * FROM %s o WHERE o.account_id = $1::bigint "
                    "AND o.vendor_key = st.vendor_key LIMIT 1) o ON true %s), "
                    "ins AS (INSERT INTO %s (account_id, vendor_key, %s",
                    table, raw_join, table, cand) != 0 ||
        cols_list(b, "", c, n, 0, err) != 0 ||
        buf_appendf(b, err, "%s) SELECT $1::bigint, st.vendor_key, %s", raw_names,
                    res ? "j.candidate_id, " : "") != 0 ||
        cols_list(b, "st.", c, n, 0, err) != 0 ||
        buf_appendf(b, err,
                    "%s FROM j JOIN %s st ON st.seq = j.seq %sWHERE j.old_id IS NULL%s "
                    "RETURNING id, vendor_key), "
                    "upd AS (UPDATE %s t SET %s",
                    raw_values, stage, raw_join, res ? " AND j.candidate_id IS NOT NULL" : "",
                    table, res ? "candidate_id = j.candidate_id, " : "") != 0 ||
        cols_list(b, "st.", c, n, 1, err) != 0 ||
        buf_appendf(b, err,
                    "%s, updated_at = now() FROM j JOIN %s st ON st.seq = j.seq %s"
                    "WHERE t.id = j.old_id AND j.changed%s RETURNING t.id, t.vendor_key)",
                    raw_set, stage, raw_join, res ? " AND j.candidate_id IS NOT NULL" : "") != 0)
        return -1;
    if (res && buf_appendf(b, err,
                           ", ch AS (INSERT INTO ss_changed (id, vendor_key, inserted) "
                           "SELECT id, vendor_key, true FROM ins UNION ALL "
                           "SELECT id, vendor_key, false FROM upd)") != 0)
        return -1;
    return buf_appendf(b, err,
                       " SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM upd), "
                       "(SELECT count(*) FROM j), (SELECT count(%s) FROM j)",
                       res ? "candidate_id" : "*");
}

static int build_upsert_cand(struct buf *b, struct ss_err *err)
{
    return build_upsert(b, 0, err);
}

static int build_upsert_res(struct buf *b, struct ss_err *err)
{
    return build_upsert(b, 1, err);
}

static int build_copy(struct buf *b, const char *table, const char *lead, const struct col *c,
                      size_t n, const char *raw_names, struct ss_err *err)
{
    if (buf_appendf(b, err, "COPY %s (%s", table, lead) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (buf_appendf(b, err, ", %s", c[i].name) != 0)
            return -1;
    return buf_appendf(b, err, "%s) FROM STDIN", raw_names);
}

/* Sub-scores of changed results: a new result's go in with a plain INSERT;
 * an updated result's set is replaced (names that went away deleted, the
 * rest upserted skipping identical rows). */
static const char *const subscores_sql =
    "WITH n AS (SELECT DISTINCT ON (ch.id, s.name) ch.id AS result_id, ch.inserted, s.name, "
    "      s.value, s.max FROM ss_changed ch JOIN ss_stage_res st ON st.vendor_key = ch.vendor_key "
    "      JOIN ss_stage_sub s ON s.res_seq = st.seq ORDER BY ch.id, s.name), "
    "del AS (DELETE FROM result_subscores rs USING ss_changed ch WHERE NOT ch.inserted "
    "        AND rs.result_id = ch.id AND NOT EXISTS (SELECT 1 FROM n "
    "        WHERE n.result_id = rs.result_id AND n.name = rs.name)), "
    "ins AS (INSERT INTO result_subscores (result_id, name, value, max) "
    "        SELECT result_id, name, value, max FROM n WHERE inserted) "
    "INSERT INTO result_subscores AS t (result_id, name, value, max) "
    "SELECT result_id, name, value, max FROM n WHERE NOT inserted "
    "ON CONFLICT (result_id, name) DO UPDATE SET value = EXCLUDED.value, max = EXCLUDED.max "
    "WHERE (t.value, t.max) IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.max)";

/* $1 = account_id. The catalogue of tests, from the batch (a handful of
 * distinct names; existing ones are left alone unless a type was missing). */
static const char *const assessments_sql =
    "INSERT INTO assessments AS t (account_id, vendor_key, name, assessment_type) "
    "SELECT $1::bigint, assessment_name, assessment_name, max(assessment_type) "
    "FROM ss_stage_res WHERE assessment_name IS NOT NULL GROUP BY assessment_name "
    "ON CONFLICT (account_id, vendor_key) DO UPDATE SET assessment_type = EXCLUDED.assessment_type "
    "WHERE t.assessment_type IS NULL AND EXCLUDED.assessment_type IS NOT NULL";

/* $1 = account_id. A record that now loads closes its open quarantine rows. */
static const char *const resolve_sql =
    "UPDATE quarantine q SET resolved_at = now() FROM ss_changed ch "
    "WHERE q.account_id = $1::bigint AND q.record_key = ch.vendor_key AND q.resolved_at IS NULL";

/* $1 = account_id. Staged results whose raw JSON the upsert needs: new
 * ones and those whose stored digest differs (see RES_RAW_JOIN). */
static const char *const raw_need_sql =
    "SELECT st.seq FROM ss_stage_res st LEFT JOIN LATERAL (SELECT o.raw_sha256 FROM results o "
    "WHERE o.account_id = $1::bigint AND o.vendor_key = st.vendor_key LIMIT 1) o ON true "
    "WHERE o.raw_sha256 IS DISTINCT FROM st.raw_sha256";
static const char *const copy_raw_sql = "COPY ss_stage_raw (seq, raw) FROM STDIN";

static const char *const copy_sub_sql = "COPY ss_stage_sub (res_seq, name, value, max) FROM STDIN";
static const char *const copy_quar_sql =
    "COPY ss_stage_quar (seq, record_key, field, reason, raw) FROM STDIN";

/* $1 account_id, $2 run_id (NULL if none), $3 stream. */
static const char *const quarantine_sql =
    "INSERT INTO quarantine AS q (account_id, run_id, stream, record_key, field, reason, raw) "
    "SELECT DISTINCT ON (record_key, field) $1::bigint, $2::bigint, $3, record_key, field, "
    "       reason, raw "
    "FROM ss_stage_quar ORDER BY record_key, field, seq DESC "
    "ON CONFLICT (account_id, stream, record_key, field) DO UPDATE SET "
    " last_seen_at = now(), seen_count = q.seen_count + 1, reason = EXCLUDED.reason, "
    " raw = EXCLUDED.raw, run_id = EXCLUDED.run_id, resolved_at = NULL";

/* $1 account_id, $2 stream, $3 cursor, $4 run_id. */
static const char *const checkpoint_sql =
    "INSERT INTO checkpoints (account_id, stream, cursor, run_id) "
    "VALUES ($1::bigint, $2, $3, $4::bigint) ON CONFLICT (account_id, stream) DO UPDATE SET "
    "cursor = EXCLUDED.cursor, updated_at = now(), run_id = EXCLUDED.run_id";

static const char *const orphan_sql =
    "SELECT s.vendor_key, s.candidate_key FROM ss_stage_res s WHERE NOT EXISTS "
    "(SELECT 1 FROM candidates c WHERE c.account_id = $1::bigint "
    " AND c.vendor_key = s.candidate_key) LIMIT 1";

/* ---- loader lifecycle -------------------------------------------------- */

static int build_renorm_sql(struct loader *l, struct ss_err *err);

static char *build_sql(int (*fn)(struct buf *, struct ss_err *), struct ss_err *err)
{
    struct buf b;
    buf_init(&b, 0);
    if (fn(&b, err) != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

static char *build_copy_sql(const char *table, const char *lead, const struct col *c, size_t n,
                            const char *raw_names, struct ss_err *err)
{
    struct buf b;
    buf_init(&b, 0);
    if (build_copy(&b, table, lead, c, n, raw_names, err) != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

static void dry_end(struct loader *l);

void loader_free(struct loader *l)
{
    if (!l)
        return;
    dry_end(l);
    if (l->dry)
        db_close(l->db); /* closing rolls the dry run's transaction back */
    buf_free(&l->copy);
    EVP_MD_free(l->sha256);
    batch_free(&l->vq);
    buf_free(&l->renorm);
    free(l->renorm_ddl);
    free(l->copy_renorm);
    free(l->update_renorm);
    free(l->stage_ddl);
    free(l->copy_cand);
    free(l->upsert_cand);
    free(l->copy_res);
    free(l->upsert_res);
    free(l);
}

struct loader *loader_new(struct db *db, struct ss_err *err)
{
    struct loader *l = calloc(1, sizeof *l);
    if (!l) {
        err_set(err, SS_ENOMEM, "out of memory");
        return NULL;
    }
    l->db = db;
    l->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL); /* NULL: cw_sha falls back */
    buf_init(&l->copy, LOAD_COPY_LIMIT);
    batch_init(&l->vq);
    l->stage_ddl = build_sql(build_stage_ddl, err);
    l->upsert_cand = build_sql(build_upsert_cand, err);
    l->upsert_res = build_sql(build_upsert_res, err);
    l->copy_cand =
        build_copy_sql("ss_stage_cand", "seq, vendor_key", cand_cols, N_CAND_COLS, RAW_NAMES, err);
    l->copy_res = build_copy_sql("ss_stage_res", "seq, vendor_key, candidate_key", res_cols,
                                 N_RES_COLS, RES_RAW_NAMES, err);
    buf_init(&l->renorm, LOAD_COPY_LIMIT);
    if (!l->stage_ddl || !l->upsert_cand || !l->upsert_res || !l->copy_cand || !l->copy_res ||
        build_renorm_sql(l, err) != 0)
        goto fail;
    /* Outside any transaction, so the tables outlive a rolled-back batch. */
    const char *ddl[] = {l->stage_ddl, l->renorm_ddl};
    for (size_t i = 0; i < 2; i++) {
        PGresult *res = PQexec(db_conn(db), ddl[i]);
        if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
            err_set(err, SS_EDB, "creating staging tables: %s",
                    res ? PQresultErrorMessage(res) : PQerrorMessage(db_conn(db)));
            PQclear(res);
            goto fail;
        }
        PQclear(res);
    }
    return l;
fail:
    loader_free(l);
    return NULL;
}

/* ---- small queries ----------------------------------------------------- */

void load_counts_add(struct load_counts *t, const struct load_counts *c)
{
    t->cand_inserted += c->cand_inserted;
    t->cand_updated += c->cand_updated;
    t->cand_unchanged += c->cand_unchanged;
    t->res_inserted += c->res_inserted;
    t->res_updated += c->res_updated;
    t->res_unchanged += c->res_unchanged;
    t->quarantined += c->quarantined;
    t->groups_changed += c->groups_changed;
    t->duplicates += c->duplicates;
}

static void fmt_i64(char *out, size_t n, int64_t v)
{
    snprintf(out, n, "%" PRId64, v);
}

static int64_t parse_i64(const char *s)
{
    return (int64_t)strtoll(s, NULL, 10);
}

int load_account(struct loader *l, const char *vendor, const char *account, int64_t *account_id,
                 struct ss_err *err)
{
    const char *params[] = {vendor, account};
    /* Two tries: a concurrent first insert can make both the INSERT (conflict)
     * and our snapshot's SELECT come back empty once. */
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *res = NULL;
        if (db_exec(l->db,
                    "WITH ins AS (INSERT INTO vendor_accounts (vendor, account) VALUES ($1, $2) "
                    "ON CONFLICT (vendor, account) DO NOTHING RETURNING id) "
                    "SELECT id FROM ins UNION ALL "
                    "SELECT id FROM vendor_accounts WHERE vendor = $1 AND account = $2",
                    2, params, PGRES_TUPLES_OK, &res, err) != 0)
            return err_prefix(err, "vendor account %s/%s", vendor, account);
        if (PQntuples(res) > 0) {
            *account_id = parse_i64(PQgetvalue(res, 0, 0));
            PQclear(res);
            return 0;
        }
        PQclear(res);
    }
    return err_set(err, SS_EDB, "vendor account %s/%s: could not be created", vendor, account);
}

int load_checkpoint_get(struct db *db, int64_t account_id, const char *stream, char **cursor,
                        struct ss_err *err)
{
    *cursor = NULL;
    char id[24];
    fmt_i64(id, sizeof id, account_id);
    const char *params[] = {id, stream};
    PGresult *res = NULL;
    if (db_exec(db, "SELECT cursor FROM checkpoints WHERE account_id = $1 AND stream = $2", 2,
                params, PGRES_TUPLES_OK, &res, err) != 0)
        return err_prefix(err, "reading checkpoint of %s", stream);
    int rc = 0;
    if (PQntuples(res) > 0) {
        *cursor = strdup(PQgetvalue(res, 0, 0));
        if (!*cursor)
            rc = err_set(err, SS_ENOMEM, "out of memory");
    }
    PQclear(res);
    return rc;
}

/* ---- COPY text ----------------------------------------------------------
 * A writer remembers the first failure so row code need not check every
 * field; the caller checks once per row. */

struct cw {
    struct buf *b;
    struct ss_err *err;
    int failed;
    int first;        /* no tab before the first field of a row */
    const EVP_MD *md; /* SHA-256 fetched once (loader_new); NULL: EVP_sha256() */
};

static void cw_raw(struct cw *w, const char *s, size_t n)
{
    if (!w->failed && buf_append(w->b, s, n, w->err) != 0)
        w->failed = 1;
}

static void cw_sep(struct cw *w)
{
    if (!w->first)
        cw_raw(w, "\t", 1);
    w->first = 0;
}

static void cw_null(struct cw *w)
{
    cw_sep(w);
    cw_raw(w, "\\N", 2);
}

static void cw_end(struct cw *w)
{
    cw_raw(w, "\n", 1);
    w->first = 1;
}

/* Length of the valid UTF-8 sequence at p (as PostgreSQL accepts it:
 * no overlongs, no surrogates, <= U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if ((p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F))
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if ((p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

static int hexval(unsigned char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The \uXXXX escape at p as a code unit, or -1 if p is not one. */
static long u_escape(const unsigned char *p)
{
    if (p[0] != '\\' || p[1] != 'u')
        return -1;
    long v = 0;
    for (int i = 2; i < 6; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* For a JSON escape at p: 1 when it is a high surrogate followed by a low
 * one (a pair, 12 bytes), -1 when it is a lone surrogate, 0 otherwise. */
static int surrogate_escape(const unsigned char *p)
{
    long u = u_escape(p);
    if (u < 0xD800 || u > 0xDFFF)
        return 0;
    if (u >= 0xDC00)
        return -1;
    long lo = u_escape(p + 6);
    return lo >= 0xDC00 && lo <= 0xDFFF ? 1 : -1;
}

/* Appends s as COPY text in one pass (the writer's hot path: ~1.5 KB of raw
 * JSON per row): escapes backslash, tab, newline and CR; replaces each byte
 * that is not valid UTF-8 with U+FFFD, so one bad byte from a vendor cannot
 * fail the whole batch (PostgreSQL rejects invalid UTF-8); and, for JSON,
 * turns the escape \u0000 and lone surrogate escapes (which jsonb refuses)
 * into \ufffd. Valid JSON
 * has backslashes only inside strings, so pairing them up is enough to
 * tell an escape from an escaped backslash. Runs of plain bytes are copied
 * with one append. */
static void cw_escape(struct cw *w, const char *s, int json)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *run = p;
    for (;;) {
        unsigned c = *p;
        if (c >= 0x20 && c < 0x80 && c != '\\') {
            p++;
            continue;
        }
        if (c >= 0x80) {
            size_t n = utf8_len(p);
            if (n) {
                p += n;
                continue;
            }
        } else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != 0) {
            p++;
            continue;
        }
        /* Flush the plain run, then handle the byte at p. */
        cw_raw(w, (const char *)run, (size_t)(p - run));
        if (c == 0)
            return;
        if (c >= 0x80) {
            cw_raw(w, "\xEF\xBF\xBD", 3);
            p++;
        } else if (c == '\\') {
            int sur = json ? surrogate_escape(p) : 0;
            if (json && (strncmp((const char *)p + 1, "u0000", 5) == 0 || sur < 0)) {
                /* \u0000 and lone surrogates: jsonb refuses both. */
                cw_raw(w, "\\\\ufffd", 7);
                p += 6;
            } else if (sur > 0) { /* a valid pair: both escapes as they are */
                cw_raw(w, "\\\\", 2);
                cw_raw(w, (const char *)p + 1, 5);
                cw_raw(w, "\\\\", 2);
                cw_raw(w, (const char *)p + 7, 5);
                p += 12;
            } else if (json && p[1] == '\\') {
                cw_raw(w, "\\\\\\\\", 4);
                p += 2;
            } else {
                cw_raw(w, "\\\\", 2);
                p++;
            }
        } else {
            cw_raw(w, c == '\t' ? "\\t" : c == '\n' ? "\\n" : "\\r", 2);
            p++;
        }
        run = p;
    }
}

static void cw_text_impl(struct cw *w, const char *s, int json)
{
    cw_sep(w);
    if (!s) {
        cw_raw(w, "\\N", 2);
        return;
    }
    if (!w->failed)
        cw_escape(w, s, json);
}

static void cw_text(struct cw *w, const char *s)
{
    cw_text_impl(w, s, 0);
}

static void cw_json(struct cw *w, const char *s)
{
    cw_text_impl(w, s, 1);
}

/* raw_sha256 (bytea hex input, its backslash escaped for COPY). */
static void cw_sha(struct cw *w, const char *json)
{
    if (!json) {
        cw_null(w);
        return;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(json, strlen(json), md, &mdlen, w->md ? w->md : EVP_sha256(), NULL) != 1) {
        err_set(w->err, SS_EINVAL, "SHA-256 failed");
        w->failed = 1;
        return;
    }
    static const char digits[] = "0123456789abcdef";
    char hex[3 + 2 * EVP_MAX_MD_SIZE + 1] = "\\\\x";
    for (unsigned i = 0; i < mdlen; i++) {
        hex[3 + 2 * i] = digits[md[i] >> 4];
        hex[4 + 2 * i] = digits[md[i] & 15];
    }
    cw_sep(w);
    cw_raw(w, hex, 3 + 2 * (size_t)mdlen);
}

/* raw_sha256 and raw. */
static void cw_raw_pair(struct cw *w, const char *json)
{
    cw_sha(w, json);
    cw_json(w, json);
}

/* Decimal digits without printf: numbers are most of a COPY row. */
static void cw_long(struct cw *w, long long v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    cw_sep(w);
    cw_raw(w, p, (size_t)(tmp + sizeof tmp - p));
}

/* Shortest text that reads back as the same double, so 8.2 is stored as
 * 8.2 and re-loading it compares equal. NAN/infinite -> NULL. */
static void cw_num(struct cw *w, double v)
{
    if (!isfinite(v)) {
        cw_null(w);
        return;
    }
    if (v == (double)(long long)v && fabs(v) < 1e15) {
        cw_long(w, (long long)v);
        return;
    }
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp, "%.15g", v);
    if (strtod(tmp, NULL) != v)
        n = snprintf(tmp, sizeof tmp, "%.17g", v);
    cw_sep(w);
    cw_raw(w, tmp, (size_t)n);
}

static void cw_level(struct cw *w, int rank)
{
    if (rank <= 0)
        cw_null(w);
    else
        cw_long(w, rank);
}

/* passed: 1 true, 0 false, anything else (-1: no pass mark) NULL. */
static void cw_bool(struct cw *w, int v)
{
    if (v != 0 && v != 1) {
        cw_null(w);
        return;
    }
    cw_sep(w);
    cw_raw(w, v ? "t" : "f", 1);
}

static void cw_ts(struct cw *w, int64_t us)
{
    if (us == TS_NULL) {
        cw_null(w);
        return;
    }
    /* ts_format's text without snprintf (up to four per row). */
    struct ts_parts t;
    ts_split(us, &t);
    char tmp[48];
    if (t.year < 0 || t.year > 9999) {
        ts_format(us, tmp, sizeof tmp);
    } else {
        int v[] = {(int)t.year, t.month, t.day, t.hour, t.minute, t.second, t.micro};
        static const int width[] = {4, 2, 2, 2, 2, 2, 6};
        static const char after[] = "--T::.Z";
        char *o = tmp;
        for (int i = 0; i < 7; i++) {
            for (int k = width[i] - 1, x = v[i]; k >= 0; k--, x /= 10)
                o[k] = (char)('0' + x % 10);
            o += width[i];
            *o++ = after[i];
        }
        *o = '\0';
    }
    cw_sep(w);
    cw_raw(w, tmp, strlen(tmp));
}

/* interval input: "169.683246 seconds". */
static void cw_duration(struct cw *w, int64_t us)
{
    if (us == TS_NULL) {
        cw_null(w);
        return;
    }
    uint64_t a = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    char tmp[48];
    int n = snprintf(tmp, sizeof tmp, "%s%" PRIu64 ".%06" PRIu64 " seconds", us < 0 ? "-" : "",
                     a / 1000000u, a % 1000000u);
    cw_sep(w);
    cw_raw(w, tmp, (size_t)n);
}

static void write_candidate(struct cw *w, long seq, const struct ss_candidate *c)
{
    cw_long(w, seq);
    cw_text(w, c->vendor_key);
    cw_text(w, c->email);
    cw_text(w, c->given_name);
    cw_text(w, c->family_name);
    cw_text(w, c->username);
    cw_text(w, c->student_id);
    cw_text(w, c->unique_identifier);
    cw_raw_pair(w, c->raw_json);
    cw_end(w);
}

/* One result column, by its res_cols index: the one encoder of every result
 * value, for the loader's staging rows and renormalize's alike, so equal
 * values always compare equal. stream fills a result that names none. */
static void write_res_field(struct cw *w, enum res_field f, const struct ss_result *r,
                            const char *stream, const char *scales_version)
{
    switch (f) {
    case RF_STREAM:
        cw_text(w, r->stream ? r->stream : stream);
        break;
    case RF_ASSESSMENT_NAME:
        cw_text(w, r->assessment_name);
        break;
    case RF_ASSESSMENT_TYPE:
        cw_text(w, r->assessment_type);
        break;
    case RF_ASSESSMENT_VERSION:
        cw_text(w, r->assessment_version);
        break;
    case RF_STATUS:
        cw_text(w, r->status ? r->status : "unknown");
        break;
    case RF_VENDOR_STATUS:
        cw_text(w, r->status_label);
        break;
    case RF_ASSIGNED_AT:
        cw_ts(w, r->assigned_at);
        break;
    case RF_STARTED_AT:
        cw_ts(w, r->started_at);
        break;
    case RF_COMPLETED_AT:
        cw_ts(w, r->completed_at);
        break;
    case RF_EXPIRES_AT:
        cw_ts(w, r->expires_at);
        break;
    case RF_DURATION:
        cw_duration(w, r->duration_us);
        break;
    case RF_SCORE:
        cw_num(w, r->has_score ? r->score : NAN);
        break;
    case RF_SCORE_LABEL:
        cw_text(w, r->score_label);
        break;
    case RF_SCORE_SCALE:
        cw_text(w, r->score_scale);
        break;
    case RF_SCALE_MIN:
        cw_num(w, r->scale_min);
        break;
    case RF_SCALE_MAX:
        cw_num(w, r->scale_max);
        break;
    case RF_SCORE_PCT:
        cw_num(w, r->score_pct);
        break;
    case RF_PLACEMENT:
        cw_text(w, r->placement);
        break;
    case RF_CEFR_LABEL:
        cw_text(w, r->cefr.label);
        break;
    case RF_CEFR_LOW:
        cw_level(w, r->cefr.low);
        break;
    case RF_CEFR_HIGH:
        cw_level(w, r->cefr.high);
        break;
    case RF_CEFR_RULE:
        cw_text(w, r->cefr.rule);
        break;
    case RF_ACTFL_LABEL:
        cw_text(w, r->actfl.label);
        break;
    case RF_ACTFL_LOW:
        cw_level(w, r->actfl.low);
        break;
    case RF_ACTFL_HIGH:
        cw_level(w, r->actfl.high);
        break;
    case RF_ACTFL_RULE:
        cw_text(w, r->actfl.rule);
        break;
    case RF_TOEFL_LABEL:
        cw_text(w, r->toefl.label);
        break;
    case RF_TOEFL_LOW:
        cw_num(w, r->toefl.low);
        break;
    case RF_TOEFL_HIGH:
        cw_num(w, r->toefl.high);
        break;
    case RF_IELTS_LABEL:
        cw_text(w, r->ielts.label);
        break;
    case RF_IELTS_LOW:
        cw_num(w, r->ielts.low);
        break;
    case RF_IELTS_HIGH:
        cw_num(w, r->ielts.high);
        break;
    case RF_TOEIC_LABEL:
        cw_text(w, r->toeic.label);
        break;
    case RF_TOEIC_LOW:
        cw_num(w, r->toeic.low);
        break;
    case RF_TOEIC_HIGH:
        cw_num(w, r->toeic.high);
        break;
    case RF_SKILL:
        cw_text(w, r->skill);
        break;
    case RF_PASSED:
        cw_bool(w, r->passed);
        break;
    case RF_PASS_RULE:
        cw_text(w, r->pass_rule);
        break;
    case RF_CERTIFICATE_URL:
        cw_text(w, r->certificate_url);
        break;
    case RF_NORM_NOTES:
        cw_text(w, r->norm_notes);
        break;
    case RF_SCALES_VERSION:
        cw_text(w, scales_version);
        break;
    case RF_COUNT:
        break;
    }
}

static void write_result(struct cw *w, long seq, const struct ss_result *r, const char *stream,
                         const char *scales_version)
{
    cw_long(w, seq);
    cw_text(w, r->vendor_key);
    cw_text(w, r->candidate_key);
    for (int f = 0; f < RF_COUNT; f++)
        write_res_field(w, (enum res_field)f, r, stream, scales_version);
    cw_sha(w, r->raw_json); /* raw itself: stage_raw() */
    cw_end(w);
}

/* ---- load_batch -------------------------------------------------------- */

struct keyidx {
    const char *key;
    size_t idx;
};

static int cmp_keyidx(const void *a, const void *b)
{
    const struct keyidx *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Parser contract checks, before anything is sent. */
static int batch_check(const struct ss_batch *b, struct ss_err *err)
{
    for (size_t i = 0; i < b->n_cand; i++)
        if (!b->cand[i].vendor_key)
            return err_set(err, SS_EINVAL, "candidate %zu of the batch has no vendor key", i);
    for (size_t i = 0; i < b->n_res; i++) {
        const struct ss_result *r = &b->res[i];
        if (!r->vendor_key)
            return err_set(err, SS_EINVAL, "result %zu of the batch has no vendor key", i);
        if (!r->candidate_key)
            return err_set(err, SS_EINVAL, "result %s has no candidate key", r->vendor_key);
        if (!r->raw_json)
            return err_set(err, SS_EINVAL, "result %s has no raw JSON", r->vendor_key);
        for (size_t k = 0; k < r->n_subscores; k++)
            if (!r->subscores[k].name)
                return err_set(err, SS_EINVAL, "result %s: sub-score %zu has no name",
                               r->vendor_key, k);
    }
    return 0;
}

static int copy_buf(struct loader *l, const char *sql, const char *table, struct ss_err *err)
{
    /* No registered secret reaches a table, whichever vendor text carries
     * it (a record or a reason echoing a key): one pass over the payload.
     * Masking only shrinks the text; COPY text holds no NUL. The spare byte
     * keeps redact_apply from taking a full buffer for a cut one. */
    if (l->copy.len > 0) {
        if (l->copy.cap < l->copy.len + 2) {
            if (buf_append(&l->copy, " ", 1, err) != 0)
                return err_prefix(err, "%s", table);
            l->copy.data[--l->copy.len] = '\0';
        }
        redact_apply(l->copy.data, l->copy.cap);
        l->copy.len = strlen(l->copy.data);
    }
    if (db_copy_in(l->db, sql, l->copy.data ? l->copy.data : "", l->copy.len, err) != 0)
        return err_prefix(err, "%s", table);
    return 0;
}

/* COPYs the batch's candidates but those marked in skip (load_rows). */
static int stage_candidates(struct loader *l, const struct ss_batch *b, const unsigned char *skip,
                            struct ss_err *err)
{
    struct cw w = {&l->copy, err, 0, 1, l->sha256};
    buf_reset(&l->copy);
    for (size_t i = 0; i < b->n_cand && !w.failed; i++)
        if (!skip[i])
            write_candidate(&w, (long)i, &b->cand[i]);
    if (w.failed)
        return err_prefix(err, "candidates");
    return copy_buf(l, l->copy_cand, "candidates", err);
}

/* COPYs the batch's results but those marked in skip (without raw, see
 * RES_RAW_JOIN). Each staged key is unique (validate_batch). */
static int stage_results(struct loader *l, const struct ss_batch *b, const char *stream,
                         const char *scales_version, const unsigned char *skip, struct ss_err *err)
{
    struct cw w = {&l->copy, err, 0, 1, l->sha256};
    buf_reset(&l->copy);
    for (size_t i = 0; i < b->n_res && !w.failed; i++)
        if (!skip[i])
            write_result(&w, (long)i, &b->res[i], stream, scales_version);
    if (w.failed)
        return err_prefix(err, "results");
    return copy_buf(l, l->copy_res, "results", err);
}

/* Asks which staged results need their raw JSON and COPYs just those. */
static int stage_raw(struct loader *l, const struct ss_batch *b, const char *acct,
                     struct ss_err *err)
{
    const char *params[] = {acct};
    PGresult *res = NULL;
    if (db_exec(l->db, raw_need_sql, 1, params, PGRES_TUPLES_OK, &res, err) != 0)
        return err_prefix(err, "results");
    struct cw w = {&l->copy, err, 0, 1, NULL};
    buf_reset(&l->copy);
    int n = PQntuples(res);
    for (int i = 0; i < n && !w.failed; i++) {
        long seq = strtol(PQgetvalue(res, i, 0), NULL, 10);
        if (seq < 0 || (size_t)seq >= b->n_res) {
            err_set(err, SS_EDB, "results: server asked for raw JSON of row %ld", seq);
            PQclear(res);
            return -1;
        }
        cw_long(&w, seq);
        cw_json(&w, b->res[seq].raw_json);
        cw_end(&w);
    }
    PQclear(res);
    if (w.failed)
        return err_prefix(err, "results");
    if (n == 0)
        return 0;
    return copy_buf(l, copy_raw_sql, "results", err);
}

/* Sub-scores of the staged results; only needed when some result changed. */
static int stage_subscores(struct loader *l, const struct ss_batch *b, const unsigned char *skip,
                           struct ss_err *err)
{
    struct cw w = {&l->copy, err, 0, 1, NULL};
    buf_reset(&l->copy);
    size_t n_sub = 0;
    for (size_t i = 0; i < b->n_res && !w.failed; i++) {
        const struct ss_result *r = &b->res[i];
        for (size_t k = 0; k < r->n_subscores && !skip[i]; k++) {
            cw_long(&w, (long)i);
            cw_text(&w, r->subscores[k].name);
            cw_num(&w, r->subscores[k].value);
            cw_num(&w, r->subscores[k].max);
            cw_end(&w);
            n_sub++;
        }
    }
    if (w.failed)
        return err_prefix(err, "result_subscores");
    if (n_sub > 0 && copy_buf(l, copy_sub_sql, "result_subscores", err) != 0)
        return -1;
    return 0;
}

static void quar_key(const char *k, int strict, char *out, size_t n);

/* The parsers' quarantine rows, then the loader's own (l->vq). */
static int stage_quarantine(struct loader *l, const struct ss_batch *b, struct ss_err *err)
{
    struct cw w = {&l->copy, err, 0, 1, NULL};
    buf_reset(&l->copy);
    for (size_t i = 0; i < b->n_quar + l->vq.n_quar && !w.failed; i++) {
        const struct ss_quarantine *q = i < b->n_quar ? &b->quar[i] : &l->vq.quar[i - b->n_quar];
        char key[400], field[204];
        cw_long(&w, (long)i);
        /* Quarantine must never fail a batch: fill what the parser left out,
         * and keep the indexed key and field within the index's limit. */
        quar_key(q->record_key, 0, key, sizeof key);
        cw_text(&w, key);
        if (q->field)
            snprintf(field, sizeof field, "%.200s", q->field);
        cw_text(&w, q->field ? field : NULL);
        cw_text(&w, q->reason ? q->reason : "(no reason given)");
        cw_text(&w, q->raw);
        cw_end(&w);
    }
    if (w.failed)
        return err_prefix(err, "quarantine");
    return copy_buf(l, copy_quar_sql, "quarantine", err);
}

/* Runs one of the counting upserts; fills up to 4 numbers from row 0. */
static int exec_counts(struct loader *l, const char *sql, const char *acct, int supplementary,
                       const char *table, long *v, int nv, struct ss_err *err)
{
    const char *params[] = {acct, supplementary ? "true" : "false"};
    PGresult *res = NULL;
    if (db_exec(l->db, sql, 2, params, PGRES_TUPLES_OK, &res, err) != 0)
        return err_prefix(err, "%s", table);
    for (int i = 0; i < nv && i < PQnfields(res); i++)
        v[i] = strtol(PQgetvalue(res, 0, i), NULL, 10);
    PQclear(res);
    return 0;
}

static int exec_acct(struct loader *l, const char *sql, const char *acct, const char *table,
                     struct ss_err *err)
{
    const char *params[] = {acct};
    if (db_exec(l->db, sql, 1, params, PGRES_COMMAND_OK, NULL, err) != 0)
        return err_prefix(err, "%s", table);
    return 0;
}

/* ---- catalogue and groups ------------------------------------------------
 * A catalogue holds tens of tests and a page tens of groups: each set goes
 * as one jsonb parameter (jsonb_to_recordset), no staging table. Rows that
 * did not change are not rewritten. */

/* $1 account_id, $2 [{seq, vendor_key, name, assessment_type, raw}]. The
 * last entry of a key wins. */
static const char *const catalogue_sql =
    "WITH x AS (SELECT DISTINCT ON (vendor_key) vendor_key, name, assessment_type, raw::jsonb "
    "  AS raw, sha256(convert_to(raw, 'UTF8')) AS raw_sha256 FROM jsonb_to_recordset($2::jsonb) "
    "  AS x(seq int, vendor_key text, name text, assessment_type text, raw text) "
    "  ORDER BY vendor_key, seq DESC) "
    "INSERT INTO assessments AS t (account_id, vendor_key, name, assessment_type, raw, raw_sha256) "
    "SELECT $1::bigint, vendor_key, name, assessment_type, raw, raw_sha256 FROM x "
    "ON CONFLICT (account_id, vendor_key) DO UPDATE SET name = EXCLUDED.name, "
    "assessment_type = COALESCE(EXCLUDED.assessment_type, t.assessment_type), "
    "raw = EXCLUDED.raw, raw_sha256 = EXCLUDED.raw_sha256, updated_at = now() "
    "WHERE (t.name, t.assessment_type) IS DISTINCT FROM "
    "(EXCLUDED.name, COALESCE(EXCLUDED.assessment_type, t.assessment_type)) "
    "OR t.raw IS DISTINCT FROM EXCLUDED.raw";

/* The groups of $2 (see write_groups) with their candidate's id; $1
 * account_id. A group whose candidate is unknown has a NULL candidate_id. */
#define GROUPS_X                                                                                   \
    "WITH x AS (SELECT DISTINCT ON (x.candidate_key, x.vendor_key) x.*, c.id AS candidate_id "     \
    "  FROM jsonb_to_recordset($2::jsonb) AS x(seq int, vendor_key text, candidate_key text, "     \
    "  score numeric, score_label text, cefr_label text, cefr_low smallint, cefr_high smallint, "  \
    "  level_name text, assigned_at timestamptz, completed_at timestamptz, raw text, "             \
    "  members jsonb) LEFT JOIN candidates c ON c.account_id = $1::bigint "                        \
    "  AND c.vendor_key = x.candidate_key ORDER BY x.candidate_key, x.vendor_key, x.seq DESC) "

/* Upserts the groups; returns (changed, staged, with a known candidate). */
static const char *const groups_sql =
    GROUPS_X ", up AS (INSERT INTO result_groups AS t (account_id, candidate_id, vendor_key, "
             "score, score_label, cefr_label, cefr_low, cefr_high, level_name, assigned_at, "
             "completed_at, raw, raw_sha256) SELECT $1::bigint, candidate_id, vendor_key, score, "
             "score_label, cefr_label, cefr_low, cefr_high, level_name, assigned_at, "
             "completed_at, raw::jsonb, sha256(convert_to(raw, 'UTF8')) FROM x "
             "WHERE candidate_id IS NOT NULL "
             "ON CONFLICT (account_id, candidate_id, vendor_key) DO UPDATE SET "
             "score = EXCLUDED.score, score_label = EXCLUDED.score_label, "
             "cefr_label = EXCLUDED.cefr_label, cefr_low = EXCLUDED.cefr_low, "
             "cefr_high = EXCLUDED.cefr_high, level_name = EXCLUDED.level_name, "
             "assigned_at = EXCLUDED.assigned_at, completed_at = EXCLUDED.completed_at, "
             "raw = EXCLUDED.raw, raw_sha256 = EXCLUDED.raw_sha256, updated_at = now() "
             "WHERE (t.score, t.score_label, t.cefr_label, t.cefr_low, t.cefr_high, t.level_name, "
             "t.assigned_at, t.completed_at) IS DISTINCT FROM (EXCLUDED.score, "
             "EXCLUDED.score_label, EXCLUDED.cefr_label, EXCLUDED.cefr_low, EXCLUDED.cefr_high, "
             "EXCLUDED.level_name, EXCLUDED.assigned_at, EXCLUDED.completed_at) "
             "OR t.raw IS DISTINCT FROM EXCLUDED.raw RETURNING 1) "
             "SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM x), "
             "(SELECT count(candidate_id) FROM x)";

/* Members of the staged groups: new ones added, moved ones renumbered,
 * those no longer listed removed; identical rows untouched. */
static const char *const group_members_sql =
    GROUPS_X ", g AS (SELECT t.id, x.members FROM x JOIN result_groups t "
             "ON t.account_id = $1::bigint AND t.candidate_id = x.candidate_id "
             "AND t.vendor_key = x.vendor_key), "
             "m AS (SELECT DISTINCT ON (g.id, e.key) g.id, e.key, e.pos::int AS pos FROM g "
             "CROSS JOIN LATERAL jsonb_array_elements_text(g.members) WITH ORDINALITY "
             "AS e(key, pos) ORDER BY g.id, e.key, e.pos), "
             "del AS (DELETE FROM result_group_members d USING g WHERE d.group_id = g.id "
             "AND NOT EXISTS (SELECT 1 FROM m WHERE m.id = d.group_id AND m.key = "
             "d.result_vendor_key)) "
             "INSERT INTO result_group_members AS t (group_id, account_id, result_vendor_key, "
             "position) SELECT id, $1::bigint, key, pos FROM m ON CONFLICT (group_id, "
             "result_vendor_key) DO UPDATE SET position = EXCLUDED.position "
             "WHERE t.position IS DISTINCT FROM EXCLUDED.position";

static void jw_kts(struct jsonw *w, const char *key, int64_t us)
{
    char t[48];
    if (us == TS_NULL) {
        jw_knull(w, key);
        return;
    }
    ts_format(us, t, sizeof t);
    jw_kstr(w, key, t);
}

static void jw_knum(struct jsonw *w, const char *key, double v)
{
    if (!isfinite(v)) {
        jw_knull(w, key);
        return;
    }
    /* As cw_num: the shortest text that reads back as the same double. */
    char t[40];
    snprintf(t, sizeof t, "%.15g", v);
    if (strtod(t, NULL) != v)
        snprintf(t, sizeof t, "%.17g", v);
    jw_kraw(w, key, t);
}

static void jw_krank(struct jsonw *w, const char *key, int rank)
{
    if (rank <= 0)
        jw_knull(w, key);
    else
        jw_kint(w, key, rank);
}

static int write_catalogue(struct buf *out, const struct ss_batch *b, struct ss_err *err)
{
    struct jsonw w;
    jw_init(&w, out);
    jw_open(&w, '[');
    for (size_t i = 0; i < b->n_assess; i++) {
        const struct ss_assessment *a = &b->assess[i];
        if (!a->vendor_key || !a->name)
            return err_set(err, SS_EINVAL, "assessment %zu of the batch has no %s", i,
                           a->vendor_key ? "name" : "vendor key");
        jw_open(&w, '{');
        jw_kint(&w, "seq", (long long)i);
        jw_kstr(&w, "vendor_key", a->vendor_key);
        jw_kstr(&w, "name", a->name);
        jw_kstr(&w, "assessment_type", a->assessment_type);
        jw_kstr(&w, "raw", a->raw_json);
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    return w.failed ? err_set(err, SS_ENOMEM, "assessments: out of memory") : 0;
}

static int write_groups(struct buf *out, const struct ss_batch *b, struct ss_err *err)
{
    struct jsonw w;
    jw_init(&w, out);
    jw_open(&w, '[');
    for (size_t i = 0; i < b->n_groups; i++) {
        const struct ss_group *g = &b->groups[i];
        if (!g->vendor_key || !g->candidate_key || !g->raw_json)
            return err_set(err, SS_EINVAL, "group %zu of the batch has no %s", i,
                           !g->vendor_key      ? "vendor key"
                           : !g->candidate_key ? "candidate key"
                                               : "raw JSON");
        jw_open(&w, '{');
        jw_kint(&w, "seq", (long long)i);
        jw_kstr(&w, "vendor_key", g->vendor_key);
        jw_kstr(&w, "candidate_key", g->candidate_key);
        jw_knum(&w, "score", g->has_score ? g->score : NAN);
        jw_kstr(&w, "score_label", g->score_label);
        jw_kstr(&w, "cefr_label", g->cefr.label);
        jw_krank(&w, "cefr_low", g->cefr.low);
        jw_krank(&w, "cefr_high", g->cefr.high);
        jw_kstr(&w, "level_name", g->level_name);
        jw_kts(&w, "assigned_at", g->assigned_at);
        jw_kts(&w, "completed_at", g->completed_at);
        jw_kstr(&w, "raw", g->raw_json);
        jw_key(&w, "members");
        jw_open(&w, '[');
        for (size_t k = 0; k < g->n_members; k++)
            jw_str(&w, g->member_keys[k]);
        jw_close(&w, ']');
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    return w.failed ? err_set(err, SS_ENOMEM, "result_groups: out of memory") : 0;
}

/* The batch's catalogue entries and groups, inside load_batch's transaction
 * (after its candidates, which groups refer to). *changed: groups inserted or
 * updated. */
static int load_catalogue_groups(struct loader *l, const struct ss_batch *b, const char *acct,
                                 long *changed, struct ss_err *err)
{
    struct buf j;
    buf_init(&j, LOAD_COPY_LIMIT);
    int rc = -1;
    if (b->n_assess > 0) {
        const char *params[] = {acct, NULL};
        if (write_catalogue(&j, b, err) != 0)
            goto out;
        params[1] = j.data;
        if (db_exec(l->db, catalogue_sql, 2, params, PGRES_COMMAND_OK, NULL, err) != 0) {
            err_prefix(err, "assessments");
            goto out;
        }
    }
    if (b->n_groups > 0) {
        buf_reset(&j);
        const char *params[] = {acct, NULL};
        PGresult *res = NULL;
        if (write_groups(&j, b, err) != 0)
            goto out;
        params[1] = j.data;
        if (db_exec(l->db, groups_sql, 2, params, PGRES_TUPLES_OK, &res, err) != 0) {
            err_prefix(err, "result_groups");
            goto out;
        }
        long up = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        long staged = strtol(PQgetvalue(res, 0, 1), NULL, 10);
        long known = strtol(PQgetvalue(res, 0, 2), NULL, 10);
        PQclear(res);
        if (known != staged) {
            /* Like a result without its candidate: a parser bug, not data. */
            err_set(err, SS_EINVAL,
                    "result_groups: %ld of %ld groups refer to a candidate neither in the batch "
                    "nor stored (a vendor parser bug); batch not loaded",
                    staged - known, staged);
            goto out;
        }
        if (db_exec(l->db, group_members_sql, 2, params, PGRES_COMMAND_OK, NULL, err) != 0) {
            err_prefix(err, "result_group_members");
            goto out;
        }
        if (changed)
            *changed += up;
    }
    rc = 0;
out:
    buf_free(&j);
    return rc;
}

/* ---- per-record safety -----------------------------------------------
 * What the schema and its indexes would refuse is found before COPY and
 * quarantined with field and reason; what the database still refuses is
 * found by bisecting the batch inside savepoints. Either way the rest of
 * the batch loads and the checkpoint moves: one record never costs a
 * window.
 *
 * Rules (README "Bad input"):
 * - ids (result and candidate keys), assessment and sub-score names: at
 *   most LOAD_MAX_KEY bytes (a btree entry holds ~2.7 KB), valid UTF-8
 *   and without U+FFFD, which a JSON parser writes for a lone surrogate or
 *   a bad byte: two different ids must never be stored as one;
 * - e-mail: at most LOAD_MAX_EMAIL bytes (it is indexed too);
 * - timestamps: 0001-01-01 to 9999-12-31 in UTC, the years ISO 8601 and
 *   PostgreSQL both write with four digits (PostgreSQL refuses the year
 *   0000 a vendor may write, and BC dates are no test dates);
 * - a candidate that is refused takes its results in the batch with it;
 * - duplicates within one batch: identical copies load once (counted in
 *   load_counts.duplicates); a result id carried by records that differ
 *   (another candidate, other content) is ambiguous and every copy is
 *   quarantined; a candidate id whose records differ loads its last
 *   record, and each earlier one is quarantined as superseded. */

#define LOAD_MAX_KEY   1024
#define LOAD_MAX_EMAIL 1024

enum { ST_LOAD = 0, ST_SKIP, ST_QUAR }; /* per row of a batch */

/* Why key is not an exact id, or NULL. why holds the text. */
static const char *key_problem(const char *k, size_t max, char *why, size_t n)
{
    size_t len = strlen(k);
    if (len > max) {
        snprintf(why, n, "is %zu bytes long; at most %zu fit the database's index", len, max);
        return why;
    }
    const unsigned char *p = (const unsigned char *)k;
    for (size_t i = 0; i < len;) {
        size_t u = p[i] < 0x80 ? 1 : utf8_len(p + i);
        if (u == 0) {
            snprintf(why, n, "is not valid UTF-8 (byte 0x%02x at %zu)", p[i], i);
            return why;
        }
        if (u == 3 && p[i] == 0xEF && p[i + 1] == 0xBF && p[i + 2] == 0xBD) {
            snprintf(why, n,
                     "contains U+FFFD at byte %zu (what a lone surrogate or an invalid byte "
                     "becomes), so two different ids could read the same",
                     i);
            return why;
        }
        i += u;
    }
    return NULL;
}

/* The quarantine row's record_key for key: key itself when it is exact
 * and fits, else its first bytes (invalid ones as \xHH) and a digest of all
 * of it, so two different bad keys never share a quarantine row and a
 * re-read finds the same one. strict: U+FFFD is not exact either. */
static void quar_key(const char *k, int strict, char *out, size_t n)
{
    char why[200];
    if (!k) {
        snprintf(out, n, "(unknown)");
        return;
    }
    if (!key_problem(k, LOAD_MAX_KEY, why, sizeof why) ||
        (!strict && strlen(k) <= LOAD_MAX_KEY && !strstr(why, "UTF-8"))) {
        snprintf(out, n, "%s", k);
        return;
    }
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)k;
    for (size_t i = 0; p[i] && i < 64 && o + 8 < n;) {
        size_t u = p[i] < 0x80 ? 1 : utf8_len(p + i);
        if (u == 0 || (p[i] < 0x20)) {
            o += (size_t)snprintf(out + o, n - o, "\\x%02x", p[i]);
            i++;
        } else {
            memcpy(out + o, p + i, u);
            o += u;
            i += u;
        }
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(k, strlen(k), md, &mdlen, EVP_sha256(), NULL) != 1)
        mdlen = 0;
    o += (size_t)snprintf(out + o, n - o, "/sha256:");
    for (unsigned i = 0; i < 8 && i < mdlen && o + 3 < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%02x", md[i]);
}

static int vq_add(struct loader *l, const char *key, int strict, const char *field,
                  const char *reason, const char *raw, struct ss_err *err)
{
    char k[400];
    quar_key(key, strict, k, sizeof k);
    return batch_add_quarantine(&l->vq, k, field, reason, raw, err);
}

static int64_t ts_low(void)
{
    return ts_from_civil(1, 1, 1, 0, 0, 0);
}

static int64_t ts_high(void)
{
    return ts_from_civil(10000, 1, 1, 0, 0, 0);
}

/* The first problem of candidate c: field and reason, or 0. */
static int cand_problem(const struct ss_candidate *c, const char **field, char *why, size_t n)
{
    char w[300];
    if (key_problem(c->vendor_key, LOAD_MAX_KEY, w, sizeof w)) {
        *field = "vendor_key";
        snprintf(why, n, "candidate id %s", w);
        return 1;
    }
    if (c->email && strlen(c->email) > LOAD_MAX_EMAIL) {
        *field = "email";
        snprintf(why, n, "e-mail is %zu bytes long; at most %d fit the database's index",
                 strlen(c->email), LOAD_MAX_EMAIL);
        return 1;
    }
    return 0;
}

static int res_problem(const struct ss_result *r, const char **field, char *why, size_t n)
{
    char w[300];
    if (key_problem(r->vendor_key, LOAD_MAX_KEY, w, sizeof w)) {
        *field = "vendor_key";
        snprintf(why, n, "result id %s", w);
        return 1;
    }
    if (key_problem(r->candidate_key, LOAD_MAX_KEY, w, sizeof w)) {
        *field = "candidate_key";
        snprintf(why, n, "candidate id %s", w);
        return 1;
    }
    const struct {
        const char *name;
        int64_t v;
    } ts[] = {{"assigned_at", r->assigned_at},
              {"started_at", r->started_at},
              {"completed_at", r->completed_at},
              {"expires_at", r->expires_at}};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        if (ts[i].v == TS_NULL || (ts[i].v >= ts_low() && ts[i].v < ts_high()))
            continue;
        struct ts_parts t;
        ts_split(ts[i].v, &t);
        *field = ts[i].name;
        snprintf(why, n,
                 "timestamp in the year %lld UTC; stored times must lie within "
                 "0001-01-01 .. 9999-12-31 UTC",
                 (long long)t.year);
        return 1;
    }
    if (r->assessment_name && strlen(r->assessment_name) > LOAD_MAX_KEY) {
        *field = "assessment_name";
        snprintf(why, n, "assessment name is %zu bytes long; at most %d fit the database's index",
                 strlen(r->assessment_name), LOAD_MAX_KEY);
        return 1;
    }
    for (size_t k = 0; k < r->n_subscores; k++)
        if (strlen(r->subscores[k].name) > LOAD_MAX_KEY) {
            *field = "subscores";
            snprintf(why, n, "a sub-score name is %zu bytes long; at most %d fit the index",
                     strlen(r->subscores[k].name), LOAD_MAX_KEY);
            return 1;
        }
    return 0;
}

static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int cand_same(const struct ss_candidate *a, const struct ss_candidate *b)
{
    return str_eq(a->email, b->email) && str_eq(a->given_name, b->given_name) &&
           str_eq(a->family_name, b->family_name) && str_eq(a->username, b->username) &&
           str_eq(a->student_id, b->student_id) &&
           str_eq(a->unique_identifier, b->unique_identifier) && str_eq(a->raw_json, b->raw_json);
}

/* Sorted (key, index) pairs of the rows whose state is ST_LOAD; *n_out. */
static struct keyidx *sorted_keys(const void *rows, size_t n, size_t size, size_t key_off,
                                  const unsigned char *st, size_t *n_out, struct ss_err *err)
{
    struct keyidx *ki = malloc((n ? n : 1) * sizeof *ki);
    if (!ki) {
        err_set(err, SS_ENOMEM, "out of memory");
        return NULL;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (st[i] != ST_LOAD)
            continue;
        const char *k;
        memcpy(&k, (const char *)rows + i * size + key_off, sizeof k);
        ki[m++] = (struct keyidx){k, i};
    }
    qsort(ki, m, sizeof *ki, cmp_keyidx);
    *n_out = m;
    return ki;
}

/* 1 when the batch has a candidate `key` and none of its rows loads (each
 * was refused, or superseded by one that was). */
static int cand_refused(const struct ss_batch *b, const unsigned char *cs, const char *key)
{
    int seen = 0, refused = 0;
    for (size_t i = 0; i < b->n_cand && !refused; i++)
        refused = cs[i] == ST_QUAR;
    for (size_t i = 0; refused && i < b->n_cand; i++) {
        if (strcmp(b->cand[i].vendor_key, key) != 0)
            continue;
        if (cs[i] == ST_LOAD)
            return 0;
        seen = 1;
    }
    return seen;
}

/* Fills cs/rs (ST_*) for the batch's candidates and results and adds a
 * quarantine row for each refused record (rules above). */
static int validate_batch(struct loader *l, const struct ss_batch *b, unsigned char *cs,
                          unsigned char *rs, long *dups, struct ss_err *err)
{
    char why[600];
    const char *field;
    for (size_t i = 0; i < b->n_cand; i++) {
        cs[i] = ST_LOAD;
        if (cand_problem(&b->cand[i], &field, why, sizeof why)) {
            cs[i] = ST_QUAR;
            if (vq_add(l, b->cand[i].vendor_key, 1, field, why, b->cand[i].raw_json, err) != 0)
                return -1;
        }
    }
    size_t m;
    struct keyidx *ki = sorted_keys(b->cand, b->n_cand, sizeof *b->cand,
                                    offsetof(struct ss_candidate, vendor_key), cs, &m, err);
    if (!ki)
        return -1;
    for (size_t i = 0; i + 1 < m; i++) {
        if (strcmp(ki[i].key, ki[i + 1].key) != 0)
            continue;
        /* ki[i] is superseded by a later record of the same candidate. */
        const struct ss_candidate *old = &b->cand[ki[i].idx], *last = &b->cand[ki[i + 1].idx];
        cs[ki[i].idx] = ST_SKIP;
        if (cand_same(old, last)) {
            (*dups)++;
            continue;
        }
        snprintf(why, sizeof why,
                 "candidate id appears more than once in one batch with different data; "
                 "the last record was loaded, this one was not");
        if (vq_add(l, old->vendor_key, 1, "vendor_key", why, old->raw_json, err) != 0) {
            free(ki);
            return -1;
        }
    }
    free(ki);

    /* Checked once: scanning the candidates for every result was
     * quadratic in the batch size. */
    int any_refused = 0;
    for (size_t i = 0; i < b->n_cand && !any_refused; i++)
        any_refused = cs[i] == ST_QUAR;
    for (size_t i = 0; i < b->n_res; i++) {
        const struct ss_result *r = &b->res[i];
        rs[i] = ST_LOAD;
        int bad = res_problem(r, &field, why, sizeof why);
        if (!bad && any_refused && cand_refused(b, cs, r->candidate_key)) {
            bad = 1;
            field = "candidate_key";
            snprintf(why, sizeof why, "its candidate was quarantined in the same batch");
        }
        if (bad) {
            rs[i] = ST_QUAR;
            if (vq_add(l, r->vendor_key, 1, field, why, r->raw_json, err) != 0)
                return -1;
        }
    }
    ki = sorted_keys(b->res, b->n_res, sizeof *b->res, offsetof(struct ss_result, vendor_key), rs,
                     &m, err);
    if (!ki)
        return -1;
    for (size_t i = 0; i < m;) {
        size_t j = i + 1;
        int same = 1;
        while (j < m && strcmp(ki[j].key, ki[i].key) == 0) {
            const struct ss_result *a = &b->res[ki[i].idx], *c = &b->res[ki[j].idx];
            same = same && str_eq(a->candidate_key, c->candidate_key) &&
                   str_eq(a->raw_json, c->raw_json);
            j++;
        }
        if (j - i > 1) {
            const struct ss_result *last = &b->res[ki[j - 1].idx];
            for (size_t k = i; k + 1 < j; k++)
                rs[ki[k].idx] = ST_SKIP;
            if (same) {
                *dups += (long)(j - i - 1);
            } else {
                rs[ki[j - 1].idx] = ST_QUAR;
                size_t o = (size_t)snprintf(why, sizeof why,
                                            "result id appears %zu times in one batch with "
                                            "different content (candidates",
                                            j - i);
                for (size_t k = i; k < j && o < sizeof why - 80; k++)
                    o += (size_t)snprintf(why + o, sizeof why - o, "%s %.60s", k > i ? "," : "",
                                          b->res[ki[k].idx].candidate_key);
                snprintf(why + o, sizeof why - o, "): none was loaded");
                if (vq_add(l, last->vendor_key, 1, "vendor_key", why, last->raw_json, err) != 0) {
                    free(ki);
                    return -1;
                }
            }
        }
        i = j;
    }
    free(ki);
    return 0;
}

/* The SQLSTATE db.c put in err ("... [22021]..."), or "" when none. */
static void err_sqlstate(const struct ss_err *err, char state[6])
{
    state[0] = '\0';
    for (const char *p = err->msg; (p = strchr(p, '[')) != NULL; p++) {
        size_t k = 0;
        while (k < 5 &&
               ((p[1 + k] >= '0' && p[1 + k] <= '9') || (p[1 + k] >= 'A' && p[1 + k] <= 'Z')))
            k++;
        if (k == 5 && p[6] == ']') {
            memcpy(state, p + 1, 5);
            state[5] = '\0';
        }
    }
}

/* Whether a failed statement was refused because of the data it carried
 * (classes 21 cardinality, 22 data exception, 23 integrity, 54 program
 * limit such as an index row too big), on a connection that still works:
 * only then is it worth finding the rows. A lost connection, a full disk
 * or a cancelled query fails the batch as before. */
static int data_refused(struct loader *l, const struct ss_err *err)
{
    if (err->code != SS_EDB || PQstatus(db_conn(l->db)) != CONNECTION_OK ||
        PQtransactionStatus(db_conn(l->db)) != PQTRANS_INERROR)
        return 0;
    char st[6];
    err_sqlstate(err, st);
    return strncmp(st, "21", 2) == 0 || strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0 ||
           strncmp(st, "54", 2) == 0;
}

/* What load_rows() loads: the rows of [lo, hi) whose state is ST_LOAD. */
struct rows {
    const struct ss_batch *b;
    const char *acct, *stream, *scales_version;
    unsigned char *cs, *rs;
    size_t clo, chi, rlo, rhi;
};

static size_t count_load(const unsigned char *st, size_t lo, size_t hi)
{
    size_t n = 0;
    for (size_t i = lo; i < hi; i++)
        n += st[i] == ST_LOAD;
    return n;
}

/* Stages and upserts rw's rows (inside the caller's transaction): the
 * candidates, then the results with their raw JSON, sub-scores, catalogue
 * names and resolved quarantine rows. Adds what happened to *c. */
static int load_rows(struct loader *l, const struct rows *rw, struct load_counts *c,
                     struct ss_err *err)
{
    const struct ss_batch *b = rw->b;
    const char *acct = rw->acct;
    int rc = -1;
    unsigned char *cskip = malloc(b->n_cand ? b->n_cand : 1);
    unsigned char *rskip = malloc(b->n_res ? b->n_res : 1);
    if (!cskip || !rskip) {
        err_set(err, SS_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < b->n_cand; i++)
        cskip[i] = !(i >= rw->clo && i < rw->chi && rw->cs[i] == ST_LOAD);
    for (size_t i = 0; i < b->n_res; i++)
        rskip[i] = !(i >= rw->rlo && i < rw->rhi && rw->rs[i] == ST_LOAD);
    if (count_load(rw->cs, rw->clo, rw->chi) > 0) {
        long v[4] = {0};
        if (stage_candidates(l, b, cskip, err) != 0 ||
            exec_counts(l, l->upsert_cand, acct, b->supplementary, "candidates", v, 4, err) != 0)
            goto out;
        c->cand_inserted += v[0];
        c->cand_updated += v[1];
        c->cand_unchanged += v[2] - v[0] - v[1];
    }
    if (count_load(rw->rs, rw->rlo, rw->rhi) > 0) {
        long v[4] = {0};
        if (stage_results(l, b, rw->stream, rw->scales_version, rskip, err) != 0 ||
            stage_raw(l, b, acct, err) != 0 ||
            exec_counts(l, l->upsert_res, acct, b->supplementary, "results", v, 4, err) != 0)
            goto out;
        if (v[3] != v[2]) {
            /* A result whose candidate is neither in the batch nor stored is
             * a parser bug: refuse the batch rather than guess. */
            PGresult *res = NULL;
            const char *params[] = {acct};
            if (db_exec(l->db, orphan_sql, 1, params, PGRES_TUPLES_OK, &res, err) != 0)
                goto out;
            if (PQntuples(res) > 0)
                err_set(err, SS_EINVAL,
                        "results: result %s refers to candidate %s, which is neither in the "
                        "batch nor stored for this account (a vendor parser bug); batch not "
                        "loaded",
                        PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
            else
                err_set(err, SS_EDB, "results: %ld of %ld results had no candidate", v[2] - v[3],
                        v[2]);
            PQclear(res);
            goto out;
        }
        c->res_inserted += v[0];
        c->res_updated += v[1];
        c->res_unchanged += v[2] - v[0] - v[1];
        if (v[0] + v[1] > 0) {
            if (exec_acct(l, assessments_sql, acct, "assessments", err) != 0 ||
                exec_acct(l, resolve_sql, acct, "quarantine", err) != 0 ||
                stage_subscores(l, b, rskip, err) != 0)
                goto out;
            if (db_cmd(l->db, subscores_sql, err) != 0) {
                err_prefix(err, "result_subscores");
                goto out;
            }
        }
    }
    rc = 0;
out:
    free(cskip);
    free(rskip);
    return rc;
}

/* Loads rw inside a savepoint. 0 loaded; 1 the database refused the data
 * (rolled back to the savepoint, err says why); -1 any other failure. */
static int try_rows(struct loader *l, const struct rows *rw, int *dirty, struct load_counts *c,
                    struct ss_err *err)
{
    static const char *const clear[] = {"DELETE FROM ss_stage_cand", "DELETE FROM ss_stage_res",
                                        "DELETE FROM ss_stage_raw", "DELETE FROM ss_stage_sub",
                                        "DELETE FROM ss_changed"};
    struct load_counts part = {0};
    if (db_cmd(l->db, "SAVEPOINT ss_rows", err) != 0)
        return -1;
    /* A part loaded before left its rows staged: the upserts read all. */
    for (size_t i = 0; *dirty && i < sizeof clear / sizeof clear[0]; i++)
        if (db_cmd(l->db, clear[i], err) != 0)
            return -1;
    if (load_rows(l, rw, &part, err) == 0) {
        if (db_cmd(l->db, "RELEASE SAVEPOINT ss_rows", err) != 0)
            return -1;
        *dirty = 1;
        load_counts_add(c, &part);
        return 0;
    }
    if (!data_refused(l, err))
        return -1;
    struct ss_err e2 = {0};
    if (db_cmd(l->db, "ROLLBACK TO SAVEPOINT ss_rows", &e2) != 0 ||
        db_cmd(l->db, "RELEASE SAVEPOINT ss_rows", &e2) != 0) {
        *err = e2;
        return -1;
    }
    return 1;
}

/* Finds the rows the database refuses among candidates (which = 0) or
 * results (1) [lo, hi) by halving, loads the others and quarantines those
 * with the database's message. About 2 log2(n) tries per refused row. */
static int bisect(struct loader *l, const struct rows *rw, int which, size_t lo, size_t hi,
                  int *dirty, struct load_counts *c, struct ss_err *err)
{
    unsigned char *st = which ? rw->rs : rw->cs;
    size_t n = count_load(st, lo, hi);
    if (n == 0)
        return 0;
    struct rows part = *rw;
    part.clo = which ? 0 : lo;
    part.chi = which ? 0 : hi;
    part.rlo = which ? lo : 0;
    part.rhi = which ? hi : 0;
    int rc = try_rows(l, &part, dirty, c, err);
    if (rc <= 0)
        return rc;
    if (n == 1) {
        size_t i = lo;
        while (st[i] != ST_LOAD)
            i++;
        st[i] = ST_QUAR;
        char why[sizeof err->msg + 40];
        snprintf(why, sizeof why, "the database refused it: %s", err->msg);
        const char *key = which ? rw->b->res[i].vendor_key : rw->b->cand[i].vendor_key;
        const char *raw = which ? rw->b->res[i].raw_json : rw->b->cand[i].raw_json;
        return vq_add(l, key, 1, NULL, why, raw, err);
    }
    size_t mid = lo;
    for (size_t k = 0; k < n / 2; mid++)
        k += st[mid] == ST_LOAD;
    if (bisect(l, rw, which, lo, mid, dirty, c, err) != 0)
        return -1;
    return bisect(l, rw, which, mid, hi, dirty, c, err);
}

/* The batch's candidates and results: validated, then loaded in one go;
 * if the database refuses that, candidates and then results are bisected
 * (see above). Quarantine rows for what was refused go to l->vq. */
static int load_safely(struct loader *l, const struct ss_batch *b, const char *acct,
                       const char *stream, const char *scales_version, struct load_counts *c,
                       struct ss_err *err)
{
    int rc = -1, dirty = 0;
    struct rows rw = {b, acct, stream, scales_version, NULL, NULL, 0, b->n_cand, 0, b->n_res};
    rw.cs = malloc(b->n_cand ? b->n_cand : 1);
    rw.rs = malloc(b->n_res ? b->n_res : 1);
    if (!rw.cs || !rw.rs) {
        err_set(err, SS_ENOMEM, "out of memory");
        goto out;
    }
    if (validate_batch(l, b, rw.cs, rw.rs, &c->duplicates, err) != 0)
        goto out;
    int t = try_rows(l, &rw, &dirty, c, err);
    if (t <= 0) {
        rc = t;
        goto out;
    }
    if (bisect(l, &rw, 0, 0, b->n_cand, &dirty, c, err) != 0)
        goto out;
    for (size_t i = 0; i < b->n_res; i++) {
        const struct ss_result *r = &b->res[i];
        if (rw.rs[i] == ST_LOAD && cand_refused(b, rw.cs, r->candidate_key)) {
            rw.rs[i] = ST_QUAR;
            if (vq_add(l, r->vendor_key, 1, "candidate_key",
                       "its candidate was quarantined in the same batch", r->raw_json, err) != 0)
                goto out;
        }
    }
    rc = bisect(l, &rw, 1, 0, b->n_res, &dirty, c, err);
out:
    free(rw.cs);
    free(rw.rs);
    return rc;
}

/* What a commit empties (the ON COMMIT DELETE ROWS staging tables), emptied
 * by hand between a dry run's batches: every temporary table of the
 * connection, which is the dry loader's own, so a staging table added later
 * is emptied too. Names come from the catalogue, never from data. */
static const char *const dry_empty_sql =
    "DO $$DECLARE t text; BEGIN "
    "SELECT string_agg(c.oid::regclass::text, ', ') INTO t FROM pg_class c "
    "WHERE c.relnamespace = pg_my_temp_schema() AND c.relkind = 'r'; "
    "IF t IS NOT NULL THEN EXECUTE 'TRUNCATE ' || t; END IF; END$$";

/* Lets go of the account's load lock a dry run's batch took. */
static void dry_unlock(struct loader *l, const char *acct)
{
    const char *params[] = {acct};
    struct ss_err e = {0};
    if (db_exec(l->db, "SELECT pg_advisory_unlock(" LOAD_LOCK_CLASS ", $1::int)", 1, params,
                PGRES_TUPLES_OK, NULL, &e) != 0)
        err_clear(&e); /* then held until the connection closes: others wait longer */
}

int load_batch(struct loader *l, int64_t account_id, int64_t run_id, const char *stream,
               const struct ss_batch *b, const char *cursor, const char *scales_version,
               struct load_counts *counts, struct ss_err *err)
{
    if (batch_check(b, err) != 0)
        return err_prefix(err, "loading batch for %s", stream);
    char acct[24], run[24];
    fmt_i64(acct, sizeof acct, account_id);
    fmt_i64(run, sizeof run, run_id);
    const char *run_param = run_id > 0 ? run : NULL;
    struct load_counts c = {0};
    batch_reset(&l->vq);
    if (db_cmd(l->db, l->dry ? "SAVEPOINT ss_batch" : "BEGIN", err) != 0)
        return -1;
    {
        /* One loader per account at a time (see build_upsert); a batch's
         * sorts in memory; index probes priced as on SSD, so joining a
         * batch to a big table by key stays a series of index lookups; no
         * JIT: the staging tables have no statistics, so the planner's
         * guesses cross the JIT cost thresholds and compiling took ~250 ms
         * of a 5,000-row batch that runs in a few ms. A dry run's
         * transaction outlives its batches: it holds the lock for one batch
         * (dry_unlock), so other runs of the account do not wait for all
         * of it. */
#define BATCH_SETTINGS                                                                             \
    "set_config('work_mem', '64MB', true), set_config('random_page_cost', '1.1', true), "          \
    "set_config('jit', 'off', true)"
        const char *params[] = {acct};
        if (db_exec(l->db,
                    l->dry ? "SELECT pg_advisory_lock(" LOAD_LOCK_CLASS
                             ", $1::int), " BATCH_SETTINGS
                           : "SELECT pg_advisory_xact_lock(" LOAD_LOCK_CLASS
                             ", $1::int), " BATCH_SETTINGS,
                    1, params, PGRES_TUPLES_OK, NULL, err) != 0) {
            err_prefix(err, "locking account %s", acct);
            goto fail;
        }
    }

    if ((b->n_cand > 0 || b->n_res > 0) &&
        load_safely(l, b, acct, stream, scales_version, &c, err) != 0)
        goto fail;
    if ((b->n_assess > 0 || b->n_groups > 0) &&
        load_catalogue_groups(l, b, acct, &c.groups_changed, err) != 0)
        goto fail;
    if (b->n_quar + l->vq.n_quar > 0) {
        /* A backfill's progress key ("scores#backfill:...") is still the
         * "scores" stream: the same bad record is one quarantine row. */
        char qstream[128];
        snprintf(qstream, sizeof qstream, "%.*s", (int)strcspn(stream, "#"), stream);
        const char *params[] = {acct, run_param, qstream};
        if (stage_quarantine(l, b, err) != 0)
            goto fail;
        if (db_exec(l->db, quarantine_sql, 3, params, PGRES_COMMAND_OK, NULL, err) != 0) {
            err_prefix(err, "quarantine");
            goto fail;
        }
        c.quarantined = (long)(b->n_quar + l->vq.n_quar);
    }
    if (cursor) {
        const char *params[] = {acct, stream, cursor, run_param};
        if (db_exec(l->db, checkpoint_sql, 4, params, PGRES_COMMAND_OK, NULL, err) != 0) {
            err_prefix(err, "checkpoints");
            goto fail;
        }
    }
    /* A dry run keeps the batch for the batches after it and empties by
     * hand what a commit would (see load_dry_loader). */
    if (l->dry ? db_cmd(l->db, dry_empty_sql, err) != 0 ||
                     db_cmd(l->db, "RELEASE SAVEPOINT ss_batch", err) != 0
               : db_cmd(l->db, "COMMIT", err) != 0) {
        err_prefix(err, "commit");
        goto fail;
    }
    if (l->dry)
        dry_unlock(l, acct);
    if (counts) {
        counts->cand_inserted += c.cand_inserted;
        counts->cand_updated += c.cand_updated;
        counts->cand_unchanged += c.cand_unchanged;
        counts->res_inserted += c.res_inserted;
        counts->res_updated += c.res_updated;
        counts->res_unchanged += c.res_unchanged;
        counts->quarantined += c.quarantined;
        counts->groups_changed += c.groups_changed;
        counts->duplicates += c.duplicates;
    }
    return 0;
fail:
    if (l->dry) {
        struct ss_err e2 = {0};
        if (db_cmd(l->db, "ROLLBACK TO SAVEPOINT ss_batch", &e2) != 0)
            db_rollback(l->db); /* the dry run's next batch then fails: nothing is lost */
        dry_unlock(l, acct);
    } else {
        db_rollback(l->db);
    }
    return err_prefix(err, "loading batch for %s (rolled back)", stream);
}

/* ---- dry runs ----------------------------------------------------------- */

/* Rolls back and frees l's dry companion, if any. */
static void dry_end(struct loader *l)
{
    if (!l->dry_ld)
        return;
    db_rollback(l->dry_ld->db);
    loader_free(l->dry_ld);
    l->dry_ld = NULL;
}

struct loader *load_dry_loader(struct loader *l, int64_t account_id, struct ss_err *err)
{
    if (l->dry_ld && l->dry_account == account_id)
        return l->dry_ld;
    dry_end(l);
    struct db *db = NULL;
    if (db_clone(l->db, &db, err) != 0)
        return NULL;
    struct loader *d = loader_new(db, err);
    if (!d) {
        db_close(db);
        return NULL;
    }
    d->dry = 1; /* from here on loader_free(d) closes db */
    if (db_cmd(db, "BEGIN", err) != 0) {
        loader_free(d);
        return NULL;
    }
    l->dry_ld = d;
    l->dry_account = account_id;
    return d;
}

/* $1 account_id, $2 stream, $3 statuses (jsonb array), $4 days, $5 max. */
static const char *const result_keys_sql =
    "SELECT r.vendor_key, c.vendor_key FROM results r JOIN candidates c ON c.id = r.candidate_id "
    "WHERE r.account_id = $1::bigint AND r.stream = $2 "
    "AND r.status IN (SELECT jsonb_array_elements_text($3::jsonb)) "
    "AND COALESCE(r.completed_at, r.started_at, r.assigned_at) >= "
    "now() - make_interval(days => $4::int) "
    "ORDER BY r.status = 'completed', COALESCE(r.completed_at, r.started_at, r.assigned_at) DESC, "
    "r.id LIMIT $5::bigint";

static void free_keys(char **k, size_t n)
{
    for (size_t i = 0; k && i < n; i++)
        free(k[i]);
    free(k);
}

int load_result_keys(struct loader *l, int64_t account_id, const char *stream,
                     const char *const *statuses, int days, long max, char ***keys, char ***cands,
                     size_t *n, struct ss_err *err)
{
    *keys = NULL;
    *cands = NULL;
    *n = 0;
    if (max <= 0 || days <= 0 || !statuses || !statuses[0])
        return 0;
    struct buf j;
    buf_init(&j, 0);
    struct jsonw w;
    jw_init(&w, &j);
    jw_open(&w, '[');
    for (size_t i = 0; statuses[i]; i++)
        jw_str(&w, statuses[i]);
    jw_close(&w, ']');
    if (w.failed) {
        buf_free(&j);
        return err_set(err, SS_ENOMEM, "out of memory");
    }
    char acct[24], d[16], m[24];
    fmt_i64(acct, sizeof acct, account_id);
    snprintf(d, sizeof d, "%d", days);
    snprintf(m, sizeof m, "%ld", max);
    const char *params[] = {acct, stream, j.data, d, m};
    PGresult *res = NULL;
    int rc = db_exec(l->db, result_keys_sql, 5, params, PGRES_TUPLES_OK, &res, err);
    buf_free(&j);
    if (rc != 0)
        return err_prefix(err, "reading results to re-read");
    int rows = PQntuples(res);
    if (rows > 0) {
        char **k = calloc((size_t)rows, sizeof *k), **c = calloc((size_t)rows, sizeof *c);
        int ok = k && c;
        for (int i = 0; ok && i < rows; i++)
            ok = (k[i] = strdup(PQgetvalue(res, i, 0))) && (c[i] = strdup(PQgetvalue(res, i, 1)));
        if (!ok) {
            free_keys(k, (size_t)rows);
            free_keys(c, (size_t)rows);
            rc = err_set(err, SS_ENOMEM, "out of memory");
        } else {
            *keys = k;
            *cands = c;
            *n = (size_t)rows;
        }
    }
    PQclear(res);
    return rc;
}

const struct ss_batch *load_quarantined(const struct loader *l)
{
    return &l->vq;
}

struct db *loader_db(const struct loader *l)
{
    return l->db;
}

/* ---- renormalize: rewriting the columns norm_result() decides ----------- */

/* The renormalize stage's DDL, COPY and UPDATE, from the RN_* marks of
 * res_cols (constants, never data). */
static int build_renorm_sql(struct loader *l, struct ss_err *err)
{
    struct buf d, c, u;
    buf_init(&d, 0);
    buf_init(&c, 0);
    buf_init(&u, 0);
    int rc = -1;
    /* ON COMMIT DELETE ROWS: a commit empties it, a (dry-run) rollback too. */
    if (buf_appendf(&d, err,
                    "CREATE TEMP TABLE IF NOT EXISTS ss_renorm (id bigint NOT NULL, "
                    "row_xmin text NOT NULL") != 0 ||
        buf_appendf(&c, err, "COPY ss_renorm (id, row_xmin") != 0 ||
        buf_appendf(&u, err, "WITH u AS (UPDATE results r SET ") != 0)
        goto out;
    for (size_t i = 0; i < N_RES_COLS; i++)
        if (res_cols[i].renorm &&
            (buf_appendf(&d, err, ", %s %s", res_cols[i].name, res_cols[i].type) != 0 ||
             buf_appendf(&c, err, ", %s", res_cols[i].name) != 0 ||
             buf_appendf(&u, err, "%s = s.%s, ", res_cols[i].name, res_cols[i].name) != 0))
            goto out;
    /* The row must still be the one that was read (xmin): a sync that
     * rewrote it meanwhile normalised its newer raw itself. */
    if (buf_appendf(&d, err, ") ON COMMIT DELETE ROWS") != 0 ||
        buf_appendf(&c, err, ") FROM STDIN") != 0 ||
        buf_appendf(&u, err,
                    "updated_at = now() FROM ss_renorm s WHERE r.id = s.id "
                    "AND r.xmin::text = s.row_xmin AND (") != 0)
        goto out;
    for (int side = 0; side < 2; side++) {
        const char *sep = "";
        for (size_t i = 0; i < N_RES_COLS; i++) {
            if (res_cols[i].renorm != RN_COMPARED)
                continue;
            if (buf_appendf(&u, err, "%s%s.%s", sep, side ? "s" : "r", res_cols[i].name) != 0)
                goto out;
            sep = ", ";
        }
        if (buf_appendf(&u, err, "%s", side ? "" : ") IS DISTINCT FROM (") != 0)
            goto out;
    }
    /* Every part of the statement sees the snapshot from before the UPDATE,
     * so the second count finds the rows a concurrent writer changed. */
    if (buf_appendf(&u, err,
                    ") RETURNING r.id) SELECT (SELECT count(*) FROM u), "
                    "(SELECT count(*) FROM ss_renorm s JOIN results r ON r.id = s.id "
                    "WHERE r.xmin::text <> s.row_xmin)") != 0)
        goto out;
    l->renorm_ddl = buf_steal(&d);
    l->copy_renorm = buf_steal(&c);
    l->update_renorm = buf_steal(&u);
    rc = 0;
out:
    buf_free(&d);
    buf_free(&c);
    buf_free(&u);
    return rc;
}

int load_renorm_add(struct loader *l, const char *id, const char *xmin, const struct ss_result *r,
                    const char *scales_version, struct ss_err *err)
{
    size_t before = l->renorm.len;
    struct cw w = {&l->renorm, err, 0, 1, NULL};
    cw_text(&w, id);
    cw_text(&w, xmin);
    for (int f = 0; f < RF_COUNT; f++)
        if (res_cols[f].renorm)
            write_res_field(&w, (enum res_field)f, r, NULL, scales_version);
    cw_end(&w);
    if (w.failed) {
        l->renorm.len = before; /* no half row in the next COPY */
        if (l->renorm.data)
            l->renorm.data[before] = '\0';
        return -1;
    }
    l->renorm_rows++;
    return 0;
}

int load_renorm_apply(struct loader *l, long *changed, long *skipped, struct ss_err *err)
{
    *changed = *skipped = 0;
    if (l->renorm_rows == 0)
        return 0;
    PGresult *u = NULL;
    int rc = -1;
    if (db_copy_in(l->db, l->copy_renorm, l->renorm.data, l->renorm.len, err) != 0 ||
        db_exec(l->db, l->update_renorm, 0, NULL, PGRES_TUPLES_OK, &u, err) != 0) {
        err_prefix(err, "updating results");
        goto out;
    }
    *changed = strtol(PQgetvalue(u, 0, 0), NULL, 10);
    *skipped = strtol(PQgetvalue(u, 0, 1), NULL, 10);
    rc = 0;
out:
    PQclear(u);
    buf_reset(&l->renorm);
    l->renorm_rows = 0;
    return rc;
}

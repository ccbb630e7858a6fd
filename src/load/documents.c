/* documents: result_documents rows (documents.h). Digests and content
 * travel as binary parameters (db_exec_bin): a document can be megabytes
 * (hex would double it). */
#include "documents.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "db.h"

int load_document_current(struct loader *l, int64_t account_id, const char *kind,
                          const char *owner_key, const unsigned char *source, int *current,
                          struct ss_err *err)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, account_id);
    const char *values[] = {id, kind, owner_key, (const char *)source};
    const int lengths[] = {0, 0, 0, 32};
    const int formats[] = {0, 0, 0, 1};
    PGresult *res = NULL;
    *current = 0;
    if (db_exec_bin(loader_db(l),
                    "SELECT 1 FROM result_documents WHERE account_id = $1::bigint AND kind = $2 "
                    "AND owner_key = $3 AND source_sha256 = $4::bytea",
                    4, values, lengths, formats, PGRES_TUPLES_OK, &res, err) != 0)
        return err_prefix(err, "looking up the stored %s document %s", kind, owner_key);
    *current = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}

int load_document_put(struct loader *l, int64_t account_id, const struct load_document *d,
                      int *written, struct ss_err *err)
{
    if (d->size > (size_t)INT32_MAX)
        return err_set(err, SS_ETOOBIG, "%s document %s: %zu bytes is too large to store", d->kind,
                       d->owner_key, d->size);
    char id[24], size[24];
    snprintf(id, sizeof id, "%" PRId64, account_id);
    snprintf(size, sizeof size, "%zu", d->size);
    const char *values[] = {id,
                            d->kind,
                            d->owner_key,
                            d->file_name,
                            d->mime,
                            size,
                            (const char *)d->sha256,
                            (const char *)d->source_sha256,
                            (const char *)d->content};
    const int lengths[] = {0, 0, 0, 0, 0, 0, 32, 32, (int)d->size};
    const int formats[] = {0, 0, 0, 0, 0, 0, 1, 1, 1};
    PGresult *res = NULL;
    *written = 0;
    /* The WHERE keeps an identical row untouched (no new tuple, no moved
     * updated_at); content is compared through its digest. */
    if (db_exec_bin(
            loader_db(l),
            "INSERT INTO result_documents AS t (account_id, kind, owner_key, file_name, mime, "
            "size, sha256, source_sha256, content) VALUES ($1::bigint, $2, $3, $4, $5, "
            "$6::bigint, $7::bytea, $8::bytea, $9::bytea) "
            "ON CONFLICT (account_id, kind, owner_key) DO UPDATE SET "
            "file_name = EXCLUDED.file_name, mime = EXCLUDED.mime, size = EXCLUDED.size, "
            "sha256 = EXCLUDED.sha256, source_sha256 = EXCLUDED.source_sha256, "
            "content = EXCLUDED.content, fetched_at = now(), updated_at = now() "
            "WHERE t.sha256 IS DISTINCT FROM EXCLUDED.sha256 "
            "OR t.source_sha256 IS DISTINCT FROM EXCLUDED.source_sha256 "
            "OR t.file_name IS DISTINCT FROM EXCLUDED.file_name "
            "OR t.mime IS DISTINCT FROM EXCLUDED.mime "
            "OR t.size IS DISTINCT FROM EXCLUDED.size",
            9, values, lengths, formats, PGRES_COMMAND_OK, &res, err) != 0)
        return err_prefix(err, "storing the %s document %s", d->kind, d->owner_key);
    *written = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return 0;
}

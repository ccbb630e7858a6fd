/* documents: decoded reports (PDFs) a vendor renders for a result or a
 * group, in result_documents (sql/005): one row per (account, kind,
 * owner_key), with the digest of the record it was rendered from, so a
 * document is fetched again only when that record changed.
 * Every query goes through the loader's connection (loader_db()), between
 * two of the sink's transactions.
 *
 * Ownership: nothing returned is the caller's to free. */
#ifndef SS_DOCUMENTS_H
#define SS_DOCUMENTS_H

#include <stddef.h>
#include <stdint.h>
#include "../core/err.h"
#include "load.h"

struct load_document {
    const char *kind;      /* "result" or "group" */
    const char *owner_key; /* results.vendor_key, or "<candidate>/<group>" */
    const char *file_name; /* may be NULL */
    const char *mime;      /* may be NULL */
    const unsigned char *content;
    size_t size;
    const unsigned char *sha256;        /* 32 bytes: of content */
    const unsigned char *source_sha256; /* 32 bytes: of the record it renders */
};

/* *current = 1 when the stored document of (kind, owner_key) has
 * source_sha256 = source (32 bytes), else 0 (none, or an older one). */
int load_document_current(struct loader *l, int64_t account_id, const char *kind,
                          const char *owner_key, const unsigned char *source, int *current,
                          struct ss_err *err) SS_MUSTCHECK;

/* Inserts d, or updates the stored row when any of its values differ
 * (fetched_at and updated_at move then); an identical row is left alone.
 * *written = 1 when a row was inserted or updated. */
int load_document_put(struct loader *l, int64_t account_id, const struct load_document *d,
                      int *written, struct ss_err *err) SS_MUSTCHECK;

#endif

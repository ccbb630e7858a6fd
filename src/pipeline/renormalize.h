/* renormalize: recomputes the normalised columns of stored results from
 * their raw JSON after config/scales.yaml changed, without calling any
 * vendor. Each row's results.raw goes through its vendor's reparse() and
 * norm_result(); rows are read in id order (keyset) and written in batches
 * through a staging table and one UPDATE that touches only rows whose values
 * differ, one transaction per batch. A row whose raw no longer parses is
 * counted, logged and left as it is.
 *
 * Ownership: everything is borrowed for the duration of the call. */
#ifndef SS_RENORMALIZE_H
#define SS_RENORMALIZE_H

#include <signal.h>
#include "../core/err.h"
#include "../load/db.h"
#include "../normalize/norm.h"

/* Rows read and written per transaction when batch_rows is 0. */
#define RENORM_BATCH_ROWS 5000

struct renorm_request {
    const char *vendor;          /* NULL = every vendor */
    const char *account;         /* NULL = every account */
    int all;                     /* 1: every row; 0: rows whose scales_version differs */
    int dry_run;                 /* 1: compute and count, but roll back every batch */
    long batch_rows;             /* 0 = RENORM_BATCH_ROWS */
    volatile sig_atomic_t *stop; /* may be NULL; set: stop after the current batch */
};

struct renorm_counts {
    long examined;  /* rows read */
    long changed;   /* rows rewritten (or, in a dry run, that would be) */
    long unchanged; /* recomputed values equal the stored ones: not rewritten */
    long failed;    /* raw could not be re-parsed (or vendor unknown): left unchanged */
    long skipped;   /* rewritten by a concurrent sync meanwhile: left to that sync */
    long noted;     /* examined rows that still carry norm_notes (unknown labels) */
    int refdata;    /* refdata_load(): 1 loaded, 0 already current or dry run */
    int interrupted;
};

/* Loads the reference tables (refdata_load, skipped in a dry run), then
 * re-normalises the selected rows. Rows whose values do not change keep
 * their xmin, updated_at and scales_version. Returns 0 (also when some rows
 * failed to re-parse; see counts), -1 on a database error: batches committed
 * before it stay. */
int renormalize_run(struct db *db, const struct scales *sc, const struct renorm_request *rq,
                    struct renorm_counts *counts, struct ss_err *err) SS_MUSTCHECK;

#endif

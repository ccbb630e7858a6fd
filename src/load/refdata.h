/* refdata: the mapping tables of config/scales.yaml as SQL reference tables
 * (ref_cefr_levels, ref_actfl_levels, ref_actfl_cefr, ref_test_cefr,
 * ref_status_map, ref_score_scales, ref_pass_marks, ref_sources, and each
 * score-band table under the name scales.yaml gives it; sql/002_reference.sql),
 * so BI can join levels to their codes and read the crosswalks without YAML.
 *
 * Ownership: everything is borrowed for the duration of the call. */
#ifndef SS_REFDATA_H
#define SS_REFDATA_H

#include "../core/err.h"
#include "../normalize/scales.h"
#include "db.h"

/* In one transaction: empties every ref_* table, refills it from
 * scales_export(sc) through COPY and records scales_version(sc) in
 * ref_scales_version. Does nothing when ref_scales_version already holds
 * that version. Must not be called inside an open transaction.
 * Returns 1 when the tables were (re)loaded, 0 when they were current, -1 on
 * error (everything rolled back; err says which table and why). */
int refdata_load(struct db *db, const struct scales *sc, struct ss_err *err) SS_MUSTCHECK;

#endif

/* migrate: applies sql/NNN_name.sql files in order, each in its own
 * transaction, recorded in schema_migrations with a SHA-256 checksum. An
 * edited, already-applied file is refused; a session advisory lock keeps two
 * concurrent runs from both applying. */
#ifndef SS_MIGRATE_H
#define SS_MIGRATE_H

#include "db.h"

/* Applies pending migrations from dir. *applied (may be NULL) gets how many
 * were applied in this call. */
int migrate_run(struct db *db, const char *dir, int *applied, struct ss_err *err) SS_MUSTCHECK;

/* Fails (SS_EDB) if migrations in dir are pending or edited: a sync refuses
 * to run against an unmigrated database. */
int migrate_check(struct db *db, const char *dir, struct ss_err *err) SS_MUSTCHECK;

#endif

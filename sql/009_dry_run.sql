-- `sync --dry-run` / `backfill --dry-run`: a dry run reads and normalises
-- what a run would load, counts what it would insert, update and
-- quarantine, and writes nothing but its sync_runs row. That row's mode is
-- 'dry-run' (args.command says which command, args.dry_run is true), so a
-- dry run never stands in for a stream's last sync: `status --check`,
-- `status --json` and the metrics' checkpoint read mode = 'sync'. Its
-- requests still count against the vendor's limits for the next run.
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_mode_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_mode_check
    CHECK (mode IN ('sync', 'backfill', 'dry-run'));
COMMENT ON COLUMN sync_runs.mode IS
    'sync (incremental from the checkpoint), backfill (an explicit date range), or dry-run (either with --dry-run, args.command says which: nothing but this row was written, its counts are what the run would have done).';

-- 004_raw_lz4: compress results.raw with lz4 instead of pglz.
--
-- About a third of the vendor records are big enough (with the rest of the row, over
-- ~2 KB) for PostgreSQL to compress raw on insert, and pglz spent ~8 us per such row:
-- on a backfill of the sandbox's score reports, inserting the rows took 450 ms per 25,000
-- with pglz and 260 ms with lz4, for the same table size. Only newly written values use
-- lz4 (no rewrite; old values stay readable). Servers built without lz4 keep pglz.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings
               WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE results ALTER COLUMN raw SET COMPRESSION lz4;
    END IF;
END
$$;

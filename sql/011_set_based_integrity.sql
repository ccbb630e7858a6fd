-- 011_set_based_integrity: the two foreign keys on the load path become
-- checks that run once per statement instead of once per row.
--
-- Why: a backfill inserts one results row and about 1.5 result_subscores
-- rows per report. Each foreign key checked every row with its own query
-- (plan, index probe, row lock) in an after-row trigger: a quarter of a
-- new-rows backfill's wall time (bench/backfill.sh). The triggers below check
-- the same thing with one join over the statement's transition table.
--
-- What stays guaranteed, for every writer (not only scoresync):
--   * a results row's (account_id, candidate_id) names a candidates row of
--     the same account, checked when results are inserted or updated; the
--     candidates found are locked FOR KEY SHARE, as the foreign key did, so a
--     concurrent delete of one waits for this transaction and then fails;
--   * a result_subscores row's result_id names a results row (locked alike);
--   * deleting a candidate that results still name fails (NO ACTION), and
--     candidates.id, candidates.account_id and results.id cannot change;
--   * deleting results deletes their sub-scores (was ON DELETE CASCADE), and
--     TRUNCATE results empties result_subscores too.
-- Errors carry SQLSTATE 23503 (foreign_key_violation), as before.

ALTER TABLE results DROP CONSTRAINT results_account_id_candidate_id_fkey;
ALTER TABLE result_subscores DROP CONSTRAINT result_subscores_result_id_fkey;

CREATE FUNCTION scoresync_results_candidates_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    -- One index probe per distinct candidate (LATERAL pins the plan: the
    -- transition table has no statistics).
    SELECT w.account_id, w.candidate_id INTO bad
    FROM (SELECT DISTINCT account_id, candidate_id FROM new_rows) w
    LEFT JOIN LATERAL (SELECT c.id FROM candidates c WHERE c.id = w.candidate_id
                       AND c.account_id = w.account_id FOR KEY SHARE) h ON true
    WHERE h.id IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'results: candidate % of account % does not exist',
            bad.candidate_id, bad.account_id
            USING ERRCODE = 'foreign_key_violation', TABLE = 'results';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER results_candidates_ins AFTER INSERT ON results
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scoresync_results_candidates_check();
CREATE TRIGGER results_candidates_upd AFTER UPDATE ON results
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scoresync_results_candidates_check();

CREATE FUNCTION scoresync_subscores_results_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad bigint;
BEGIN
    SELECT w.result_id INTO bad
    FROM (SELECT DISTINCT result_id FROM new_rows) w
    LEFT JOIN LATERAL (SELECT r.id FROM results r WHERE r.id = w.result_id FOR KEY SHARE) h
        ON true
    WHERE h.id IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'result_subscores: result % does not exist', bad
            USING ERRCODE = 'foreign_key_violation', TABLE = 'result_subscores';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER result_subscores_results_ins AFTER INSERT ON result_subscores
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scoresync_subscores_results_check();
CREATE TRIGGER result_subscores_results_upd AFTER UPDATE ON result_subscores
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scoresync_subscores_results_check();

-- A candidate that results still name cannot be deleted.
CREATE FUNCTION scoresync_candidates_delete_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT r.account_id, r.candidate_id INTO bad FROM results r
    JOIN old_rows o ON r.candidate_id = o.id AND r.account_id = o.account_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'candidates: candidate % of account % is still named by results',
            bad.candidate_id, bad.account_id
            USING ERRCODE = 'foreign_key_violation', TABLE = 'candidates';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER candidates_results_del AFTER DELETE ON candidates
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scoresync_candidates_delete_check();

-- The keys others point at do not change (a foreign key would have checked
-- every change; nothing ever makes one).
CREATE FUNCTION scoresync_key_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'candidates'
       AND (NEW.id, NEW.account_id) IS DISTINCT FROM (OLD.id, OLD.account_id) THEN
        RAISE EXCEPTION 'candidates: id and account_id cannot change'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'candidates';
    ELSIF TG_TABLE_NAME = 'results' AND NEW.id IS DISTINCT FROM OLD.id THEN
        RAISE EXCEPTION 'results: id cannot change'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'results';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER candidates_key_immutable BEFORE UPDATE OF id, account_id ON candidates
    FOR EACH ROW EXECUTE FUNCTION scoresync_key_immutable();
CREATE TRIGGER results_key_immutable BEFORE UPDATE OF id ON results
    FOR EACH ROW EXECUTE FUNCTION scoresync_key_immutable();

-- Deleting results deletes their sub-scores (the old ON DELETE CASCADE).
CREATE FUNCTION scoresync_results_delete_cascade() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE result_subscores;
    ELSE
        DELETE FROM result_subscores s USING old_rows o WHERE s.result_id = o.id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER results_subscores_del AFTER DELETE ON results
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scoresync_results_delete_cascade();
CREATE TRIGGER results_subscores_truncate BEFORE TRUNCATE ON results
    FOR EACH STATEMENT EXECUTE FUNCTION scoresync_results_delete_cascade();

-- The joins, for people and BI tools that no longer find them as foreign keys.
COMMENT ON COLUMN results.candidate_id IS
    'candidates.id of the person who took the test, in the same account: join on (account_id, candidate_id) = (candidates.account_id, candidates.id). Checked per statement (sql/011), like a foreign key.';
COMMENT ON COLUMN result_subscores.result_id IS
    'results.id this part belongs to. Checked per statement (sql/011), like a foreign key; deleting the result deletes it.';

-- DynEd eTest (docs/vendors/etest.md): the organisation code (uic) and the
-- hide flag of a candidate have no columns of their own; they stay in
-- candidates.raw, the record as the candidates list sent it. This view gives
-- them to BI. Field names are the contract's defaults (field_uic, field_hide);
-- a deployment that renames them in its config reads raw itself.
CREATE VIEW bi_etest_candidates AS
SELECT c.id AS candidate_id,
       a.account,
       c.account_id,
       c.vendor_key,
       c.email,
       c.given_name,
       c.family_name,
       c.raw->>'uic' AS uic,
       -- "0" / "1" strings since v1.4.6; numbers and booleans read the same.
       CASE WHEN c.raw->'hide' IS NULL OR jsonb_typeof(c.raw->'hide') = 'null' THEN NULL
            ELSE lower(c.raw->>'hide') IN ('1', 'true') END AS hidden,
       c.updated_at
FROM candidates c
JOIN vendor_accounts a ON a.id = c.account_id
WHERE a.vendor = 'etest';
COMMENT ON VIEW bi_etest_candidates IS
    'DynEd eTest candidates with their organisation code (uic, the latest the candidates list sent: a candidate who moved shows the new one) and hide flag; hidden candidates are kept, flagged.';
COMMENT ON COLUMN bi_etest_candidates.hidden IS
    'The eTest hide flag (v1.4.7): true = hidden in eTest; NULL = the record had no flag.';

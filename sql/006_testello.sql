-- 006_testello: how Testello API v1 results are stored (src/vendors/testello.c,
-- docs/vendors/testello.md). No table changes: comments only, so the schema says
-- what a Testello row means.
--
-- A Testello taken test names no person: GET sessions/:id returns its id, score, done,
-- link and test_id, and only the session's creator knows whom it was for (the
-- schema_params name and e-mail sent when creating the session). results.candidate_id
-- stays required: each session is one candidate row (vendor_key 'session:<id>'), whose
-- name and e-mail are filled from schema_params when the API returns them, else empty.
-- Why not a nullable candidate_id: every view, the loader's change detection and the
-- foreign key that ties a result to its account go through the candidate; a synthetic
-- candidate per session keeps them all valid, and a single-candidate session (the
-- common case) really is one person, joinable on email_normalized once known.

COMMENT ON COLUMN candidates.vendor_key IS
    'The vendor''s id of the person: Emmersion/TrueNorth userId, CEPA e-mail address. Testello names no person with a taken test: its candidates are sessions, ''session:<session id>'' (name and e-mail from the session''s schema_params when the API returns them).';

COMMENT ON COLUMN results.vendor_key IS
    'The vendor''s id of this attempt (Emmersion/TrueNorth userAssessmentId, CEPA test token, Testello taken-test id).';

COMMENT ON COLUMN results.assessment_type IS
    'Vendor product family: TrueNorth, WebCAPE, a CEPA test type, eTest PT/CT; for Testello the test id (assessments.assessment_type; assessments.vendor_key is the test''s English name, as for tests found in results).';

COMMENT ON COLUMN results.score_label IS
    'The score as text where the vendor sends text that is not a number: a Testello personality type ("ESTJ"), kept as a category (score and score_pct stay NULL, no quarantine).';

COMMENT ON COLUMN results.expires_at IS
    'When the attempt can no longer be taken (Testello: its session''s expires_at). A Testello session vanishes from the API when it expires: its taken tests not done by then are stored with status expired and never read again.';

-- 001_schema: the canonical schema for every vendor (Emmersion, TrueNorth, CEPA,
-- DynEd eTest, Testello). PostgreSQL 15.
--
-- How to read it:
--   vendor_accounts   one row per configured vendor account (an API key / organisation)
--   candidates        the people who take tests, one row per vendor id within an account
--   results           one row per test attempt (assigned, in progress or scored), with the
--                     vendor's values kept verbatim next to normalised ones
--   result_subscores  per-skill parts of a result (reading 14/16, ...)
--   assessments       the tests an account uses, as seen in results
--   sync_runs         one audit row per scoresync run and stream
--   checkpoints       where the next incremental sync of a stream starts
--   quarantine        records that could not be loaded, and why
--
-- Conventions: every vendor-facing row keeps the vendor's own record in `raw` (jsonb);
-- `vendor_key` is the vendor's id for the row; timestamps are timestamptz (UTC);
-- NULL means the vendor did not say, never zero.
-- Only scoresync writes these tables. Migrations are applied by `scoresync migrate`
-- and recorded in schema_migrations.

CREATE TABLE vendor_accounts (
    id          bigserial PRIMARY KEY,
    vendor      text NOT NULL,
    account     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (vendor, account)
);
COMMENT ON TABLE vendor_accounts IS
    'One row per configured vendor account (an API key or organisation). Every other table hangs off it.';
COMMENT ON COLUMN vendor_accounts.vendor IS
    'Vendor name as in the configuration: emmersion, truenorth, cepa, etest, testello.';
COMMENT ON COLUMN vendor_accounts.account IS
    'Account name from the configuration (not a secret; the API key is never stored).';

CREATE TABLE candidates (
    id                bigserial PRIMARY KEY,
    account_id        bigint NOT NULL REFERENCES vendor_accounts (id),
    vendor_key        text NOT NULL,
    email             text,
    email_normalized  text GENERATED ALWAYS AS (lower(btrim(email))) STORED,
    given_name        text,
    family_name       text,
    username          text,
    student_id        text,
    unique_identifier text,
    raw               jsonb,
    raw_sha256        bytea,
    first_seen_at     timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, vendor_key),
    UNIQUE (account_id, id) -- target of results' foreign key
);
CREATE INDEX candidates_email_normalized_idx ON candidates (email_normalized);
COMMENT ON TABLE candidates IS
    'Test takers as each vendor account knows them. The same person in two accounts is two rows; join on email_normalized to match them.';
COMMENT ON COLUMN candidates.vendor_key IS
    'The vendor''s id of the person: Emmersion/TrueNorth userId, CEPA e-mail address, Testello user id.';
COMMENT ON COLUMN candidates.email IS 'E-mail address exactly as the vendor sent it.';
COMMENT ON COLUMN candidates.email_normalized IS
    'lower(btrim(email)): use this to match people across vendors and accounts.';
COMMENT ON COLUMN candidates.student_id IS 'Your institution''s student id, where the vendor carries one.';
COMMENT ON COLUMN candidates.unique_identifier IS
    'The customer-supplied identifier some vendors store (Emmersion uniqueIdentifier).';
COMMENT ON COLUMN candidates.raw IS 'The vendor''s user object as received, without its nested results.';
COMMENT ON COLUMN candidates.raw_sha256 IS
    'SHA-256 of raw as received (internal: lets a re-sync recognise an unchanged record without parsing it).';
COMMENT ON COLUMN candidates.first_seen_at IS 'When scoresync first stored this person.';
COMMENT ON COLUMN candidates.updated_at IS 'When a synced value last changed (a re-sync of identical data does not move it).';

CREATE TABLE assessments (
    id              bigserial PRIMARY KEY,
    account_id      bigint NOT NULL REFERENCES vendor_accounts (id),
    vendor_key      text NOT NULL,
    name            text NOT NULL,
    assessment_type text,
    first_seen_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, vendor_key)
);
COMMENT ON TABLE assessments IS
    'The tests an account uses, as named in its results (a catalogue for filters and dashboards).';
COMMENT ON COLUMN assessments.vendor_key IS 'The vendor''s id of the test where it sends one, else its name.';
COMMENT ON COLUMN assessments.assessment_type IS
    'Vendor product family: TrueNorth, WebCAPE, a CEPA test type, eTest PT/CT, Testello test kind.';

CREATE TABLE results (
    id                 bigserial PRIMARY KEY,
    account_id         bigint NOT NULL,
    candidate_id       bigint NOT NULL,
    vendor_key         text NOT NULL,
    stream             text NOT NULL,
    assessment_name    text,
    assessment_type    text,
    assessment_version text,
    status             text NOT NULL CHECK (status IN ('not_started', 'in_progress', 'score_pending',
                                                        'completed', 'needs_review', 'expired',
                                                        'unknown')),
    vendor_status      text,
    assigned_at        timestamptz,
    started_at         timestamptz,
    completed_at       timestamptz,
    expires_at         timestamptz,
    duration           interval,
    score              numeric,
    score_label        text,
    score_scale        text,
    scale_min          numeric,
    scale_max          numeric,
    score_pct          numeric CHECK (score_pct BETWEEN 0 AND 100),
    placement          text,
    cefr_label         text,
    cefr_low           smallint CHECK (cefr_low > 0),
    cefr_high          smallint CHECK (cefr_high > 0),
    cefr_rule          text,
    actfl_label        text,
    actfl_low          smallint CHECK (actfl_low > 0),
    actfl_high         smallint CHECK (actfl_high > 0),
    actfl_rule         text,
    toefl_label        text,
    toefl_low          numeric,
    toefl_high         numeric,
    ielts_label        text,
    ielts_low          numeric,
    ielts_high         numeric,
    toeic_label        text,
    toeic_low          numeric,
    toeic_high         numeric,
    certificate_url    text,
    norm_notes         text,
    scales_version     text,
    raw                jsonb NOT NULL,
    raw_sha256         bytea,
    first_seen_at      timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, vendor_key),
    -- One check per row that also guarantees the candidate belongs to the same account
    -- (and, through candidates, that the account exists).
    FOREIGN KEY (account_id, candidate_id) REFERENCES candidates (account_id, id),
    CHECK (cefr_low <= cefr_high),
    CHECK (actfl_low <= actfl_high),
    CHECK (toefl_low <= toefl_high),
    CHECK (ielts_low <= ielts_high),
    CHECK (toeic_low <= toeic_high),
    CHECK (scale_min <= scale_max)
);
CREATE INDEX results_completed_at_idx ON results (completed_at);
CREATE INDEX results_candidate_id_idx ON results (candidate_id);
CREATE INDEX results_status_idx ON results (status);

COMMENT ON TABLE results IS
    'One row per test attempt, from assignment to score. Vendor values are kept verbatim (vendor_status, *_label, raw) next to the normalised ones (status, score_pct, *_low/*_high).';
COMMENT ON COLUMN results.vendor_key IS
    'The vendor''s id of this attempt (Emmersion/TrueNorth userAssessmentId, CEPA test token, Testello taken-test id).';
COMMENT ON COLUMN results.stream IS 'Which sync stream last delivered this row (scores, assignments, ...).';
COMMENT ON COLUMN results.assessment_type IS
    'Vendor product family: TrueNorth, WebCAPE, a CEPA test type, eTest PT/CT, Testello test kind.';
COMMENT ON COLUMN results.status IS
    'Canonical status: not_started, in_progress, score_pending, completed, needs_review, expired, unknown. Only completed rows carry a final score.';
COMMENT ON COLUMN results.vendor_status IS 'The vendor''s status text, verbatim (NotStarted, Completed, ...).';
COMMENT ON COLUMN results.assigned_at IS 'When the test was assigned, if the vendor says.';
COMMENT ON COLUMN results.started_at IS 'When the candidate started the test.';
COMMENT ON COLUMN results.completed_at IS 'When the candidate finished; NULL until then. Use this for reporting periods.';
COMMENT ON COLUMN results.duration IS 'Time the candidate spent, as reported by the vendor.';
COMMENT ON COLUMN results.score IS
    'The score exactly as the vendor sent it, on the vendor''s scale (see score_scale). NULL when there is no score yet: a NotStarted report''s 0.0 is not stored as a score.';
COMMENT ON COLUMN results.score_label IS
    'The score as text where the vendor sends text (Testello personality type "ESTJ", CEPA "71.0").';
COMMENT ON COLUMN results.score_scale IS
    'Name of the scale in config/scales.yaml (truenorth 0-10, webcape 0-1000, cepa 0-100, percent ...). NULL if unknown.';
COMMENT ON COLUMN results.scale_min IS 'Lowest possible score on score_scale.';
COMMENT ON COLUMN results.scale_max IS 'Highest possible score on score_scale.';
COMMENT ON COLUMN results.score_pct IS
    'score rescaled linearly to 0-100 using scale_min/scale_max; NULL when the scale is unknown or not linear. Compare across vendors with care: different tests measure different things.';
COMMENT ON COLUMN results.placement IS 'WebCAPE placement label; account-specific (e.g. "Semester 4").';
COMMENT ON COLUMN results.cefr_label IS 'The CEFR level as the vendor wrote it: "B2", "B2-C1", "B2+", "Pre A1".';
COMMENT ON COLUMN results.cefr_low IS
    'Lower end of the CEFR level as an ordinal rank from config/scales.yaml (higher = more proficient). Equal to cefr_high for a single level.';
COMMENT ON COLUMN results.cefr_high IS 'Upper end of the CEFR range as an ordinal rank; see cefr_low.';
COMMENT ON COLUMN results.cefr_rule IS
    'How the CEFR level was derived when the vendor did not report one (e.g. a crosswalk from the score); NULL when reported directly.';
COMMENT ON COLUMN results.actfl_label IS 'ACTFL level as the vendor wrote it: "Advanced Mid - Advanced High".';
COMMENT ON COLUMN results.actfl_low IS 'Lower end of the ACTFL range as an ordinal rank from config/scales.yaml.';
COMMENT ON COLUMN results.actfl_high IS 'Upper end of the ACTFL range as an ordinal rank.';
COMMENT ON COLUMN results.actfl_rule IS 'How the ACTFL level was derived when not reported directly.';
COMMENT ON COLUMN results.toefl_label IS 'Estimated TOEFL band as the vendor wrote it ("25-27"); toefl_low/high hold its ends.';
COMMENT ON COLUMN results.ielts_label IS 'Estimated IELTS band as the vendor wrote it ("7 - 7.5"); ielts_low/high hold its ends.';
COMMENT ON COLUMN results.toeic_label IS 'Estimated TOEIC band as the vendor wrote it ("170-180"); toeic_low/high hold its ends.';
COMMENT ON COLUMN results.certificate_url IS 'Link to the vendor''s certificate, where offered.';
COMMENT ON COLUMN results.norm_notes IS
    'Why something could not be normalised (an unknown level label, ...), "; "-separated. NULL when everything mapped.';
COMMENT ON COLUMN results.scales_version IS
    'Version of config/scales.yaml used to compute the normalised columns; rows re-normalise when it changes.';
COMMENT ON COLUMN results.raw IS 'The vendor''s record for this attempt exactly as received (compact JSON).';
COMMENT ON COLUMN results.raw_sha256 IS
    'SHA-256 of raw as received (internal: lets a re-sync recognise an unchanged record without parsing it).';
COMMENT ON COLUMN results.first_seen_at IS 'When scoresync first stored this attempt.';
COMMENT ON COLUMN results.updated_at IS
    'When any stored value last changed. A re-sync of identical data does not move it, so this is a reliable change feed.';

CREATE TABLE result_subscores (
    result_id  bigint NOT NULL REFERENCES results (id) ON DELETE CASCADE,
    name       text NOT NULL,
    value      numeric,
    max        numeric,
    PRIMARY KEY (result_id, name)
);
COMMENT ON TABLE result_subscores IS
    'Per-skill parts of a result, e.g. WebCAPE reading 1 of 2, grammar 14 of 16; eTest correct/answered items.';
COMMENT ON COLUMN result_subscores.name IS 'Skill or part name as the vendor names it (reading, grammar, ...).';
COMMENT ON COLUMN result_subscores.value IS 'Points or correct items; NULL if absent.';
COMMENT ON COLUMN result_subscores.max IS 'Maximum points or total items; NULL if absent. A max of 0 means the part was not tested.';

CREATE TABLE sync_runs (
    id                   bigserial PRIMARY KEY,
    account_id           bigint NOT NULL REFERENCES vendor_accounts (id),
    stream               text NOT NULL,
    mode                 text NOT NULL CHECK (mode IN ('sync', 'backfill')),
    args                 jsonb,
    started_at           timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz,
    status               text NOT NULL DEFAULT 'running'
                         CHECK (status IN ('running', 'ok', 'partial', 'failed')),
    candidates_inserted  bigint NOT NULL DEFAULT 0,
    candidates_updated   bigint NOT NULL DEFAULT 0,
    candidates_unchanged bigint NOT NULL DEFAULT 0,
    results_inserted     bigint NOT NULL DEFAULT 0,
    results_updated      bigint NOT NULL DEFAULT 0,
    results_unchanged    bigint NOT NULL DEFAULT 0,
    quarantined          bigint NOT NULL DEFAULT 0,
    requests             bigint NOT NULL DEFAULT 0,
    retries              bigint NOT NULL DEFAULT 0,
    status_429           bigint NOT NULL DEFAULT 0,
    errors               bigint NOT NULL DEFAULT 0,
    windows              bigint NOT NULL DEFAULT 0,
    last_request_at      timestamptz,
    error                text
);
CREATE INDEX sync_runs_account_started_idx ON sync_runs (account_id, started_at);
COMMENT ON TABLE sync_runs IS
    'Audit trail: one row per run and stream. status running with no finished_at means the process died (or is still going).';
COMMENT ON COLUMN sync_runs.last_request_at IS
    'When the run last sent requests (moved after each batch): the next run''s rate limiter starts from it, so back-to-back runs never exceed the vendor limits.';
COMMENT ON COLUMN sync_runs.mode IS 'sync (incremental from the checkpoint) or backfill (an explicit date range).';
COMMENT ON COLUMN sync_runs.args IS 'The run''s parameters (date range, options) as JSON; never secrets.';
COMMENT ON COLUMN sync_runs.status IS
    'running, ok, partial (some windows or records failed; see error and quarantine), failed.';
COMMENT ON COLUMN sync_runs.results_unchanged IS 'Results re-read from the vendor that were identical to the stored row (not rewritten).';
COMMENT ON COLUMN sync_runs.requests IS 'HTTP requests made to the vendor.';
COMMENT ON COLUMN sync_runs.status_429 IS 'Responses with HTTP 429 (rate limited) from the vendor.';
COMMENT ON COLUMN sync_runs.windows IS 'Date windows read (vendors without pagination are read window by window).';

CREATE TABLE checkpoints (
    account_id  bigint NOT NULL REFERENCES vendor_accounts (id),
    stream      text NOT NULL,
    cursor      text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    run_id      bigint REFERENCES sync_runs (id) ON DELETE SET NULL,
    PRIMARY KEY (account_id, stream)
);
COMMENT ON TABLE checkpoints IS
    'Where the next incremental sync of each stream resumes. Written in the same transaction as the data it covers.';
COMMENT ON COLUMN checkpoints.cursor IS 'Vendor-defined position (a timestamp, an offset, ...); opaque to SQL users.';
COMMENT ON COLUMN checkpoints.run_id IS 'The run that last moved this checkpoint.';

CREATE TABLE quarantine (
    id             bigserial PRIMARY KEY,
    account_id     bigint NOT NULL REFERENCES vendor_accounts (id),
    run_id         bigint REFERENCES sync_runs (id) ON DELETE SET NULL,
    stream         text NOT NULL,
    record_key     text NOT NULL,
    field          text,
    reason         text NOT NULL,
    raw            text,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    seen_count     integer NOT NULL DEFAULT 1,
    resolved_at    timestamptz,
    UNIQUE NULLS NOT DISTINCT (account_id, stream, record_key, field)
);
CREATE INDEX quarantine_unresolved_idx ON quarantine (last_seen_at) WHERE resolved_at IS NULL;
COMMENT ON TABLE quarantine IS
    'Records that could not be loaded (malformed, impossible values), one row per record and field, kept until fixed. Other records of the same batch load normally.';
COMMENT ON COLUMN quarantine.record_key IS 'The vendor id of the record if known, else where it was found ("userScores[3]").';
COMMENT ON COLUMN quarantine.field IS 'The offending field; NULL when the whole record is bad.';
COMMENT ON COLUMN quarantine.reason IS 'Why it was rejected, latest occurrence.';
COMMENT ON COLUMN quarantine.raw IS 'The record as received; text, because it may not be valid JSON.';
COMMENT ON COLUMN quarantine.seen_count IS 'How many syncs have rejected this record.';
COMMENT ON COLUMN quarantine.resolved_at IS
    'Set when the record later loaded successfully (or by an operator); NULL while still open.';

-- A convenience view for reporting: one row per attempt with its person and account.
CREATE VIEW result_details AS
SELECT r.id AS result_id,
       a.vendor,
       a.account,
       c.email_normalized AS email,
       c.given_name,
       c.family_name,
       c.student_id,
       r.assessment_type,
       r.assessment_name,
       r.status,
       r.assigned_at,
       r.started_at,
       r.completed_at,
       r.score,
       r.score_scale,
       r.score_pct,
       r.placement,
       r.cefr_label,
       r.actfl_label,
       r.updated_at
FROM results r
JOIN candidates c ON c.id = r.candidate_id
JOIN vendor_accounts a ON a.id = r.account_id;
COMMENT ON VIEW result_details IS
    'Results with candidate and account names: a starting point for reports. Normalised levels are in results.';

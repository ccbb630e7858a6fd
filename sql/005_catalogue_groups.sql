-- 005_catalogue_groups: the vendors' own test catalogues, grouped (overall) results and
-- the PDF reports some vendors render.
--
--   assessments             gains the catalogue entry as the vendor sent it (raw) and
--                           updated_at: a vendor that lists its tests ("GetTests",
--                           "GET tests") fills it even before any result uses a test
--   result_groups           one row per group of results the vendor scores together
--                           (CEPA overall results: an overall score and CEFR over a
--                           reading & listening, a speaking and a writing test)
--   result_group_members    which results a group holds, by the results' vendor_key
--   result_documents        decoded PDF reports, stored once per result or group
--
-- BI: results r JOIN result_group_members m ON m.account_id = r.account_id AND
-- m.result_vendor_key = r.vendor_key JOIN result_groups g ON g.id = m.group_id
-- (the view bi_result_groups below does it).

ALTER TABLE assessments
    ADD COLUMN raw        jsonb,
    ADD COLUMN raw_sha256 bytea,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
COMMENT ON COLUMN assessments.raw IS
    'The vendor''s catalogue entry for the test as received (CEPA GetTests: id, tokens, categories); NULL for a test known only from results.';
COMMENT ON COLUMN assessments.raw_sha256 IS 'SHA-256 of raw as received (internal: change detection).';
COMMENT ON COLUMN assessments.updated_at IS
    'When the catalogue entry last changed (a re-sync of an identical entry does not move it).';

CREATE TABLE result_groups (
    id             bigserial PRIMARY KEY,
    account_id     bigint NOT NULL,
    candidate_id   bigint NOT NULL,
    vendor_key     text NOT NULL,
    score          numeric,
    score_label    text,
    cefr_label     text,
    cefr_low       smallint CHECK (cefr_low > 0),
    cefr_high      smallint CHECK (cefr_high > 0),
    level_name     text,
    assigned_at    timestamptz,
    completed_at   timestamptz,
    raw            jsonb NOT NULL,
    raw_sha256     bytea,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, candidate_id, vendor_key),
    FOREIGN KEY (account_id, candidate_id) REFERENCES candidates (account_id, id),
    CHECK (cefr_low <= cefr_high)
);
CREATE INDEX result_groups_candidate_idx ON result_groups (candidate_id);
COMMENT ON TABLE result_groups IS
    'Results the vendor reports together with an overall score and level, e.g. a CEPA overall result over its reading & listening, speaking and writing tests. Members: result_group_members.';
COMMENT ON COLUMN result_groups.vendor_key IS
    'The vendor''s id of the group (CEPA overall id). CEPA makes it unique per candidate only, so the key is (account, candidate, vendor_key).';
COMMENT ON COLUMN result_groups.score IS 'The overall score as the vendor sent it (CEPA 0-100).';
COMMENT ON COLUMN result_groups.score_label IS 'The overall score as text where the vendor sent text.';
COMMENT ON COLUMN result_groups.cefr_label IS 'The overall CEFR level as the vendor wrote it ("B2+").';
COMMENT ON COLUMN result_groups.cefr_low IS 'Rank of the overall CEFR level (ref_cefr_levels.rank); NULL if unknown.';
COMMENT ON COLUMN result_groups.cefr_high IS 'Upper rank of the overall CEFR level; equal to cefr_low for one level.';
COMMENT ON COLUMN result_groups.level_name IS 'The vendor''s own name of the overall level ("Advance Low").';
COMMENT ON COLUMN result_groups.assigned_at IS 'When the group was assigned, if the vendor says.';
COMMENT ON COLUMN result_groups.completed_at IS
    'When its last member test was completed (the latest member completion date); NULL if none is.';
COMMENT ON COLUMN result_groups.raw IS 'The vendor''s group object as received, with its member tests.';
COMMENT ON COLUMN result_groups.updated_at IS 'When a synced value last changed.';

CREATE TABLE result_group_members (
    group_id           bigint NOT NULL REFERENCES result_groups (id) ON DELETE CASCADE,
    account_id         bigint NOT NULL REFERENCES vendor_accounts (id),
    result_vendor_key  text NOT NULL,
    position           integer NOT NULL,
    PRIMARY KEY (group_id, result_vendor_key)
);
CREATE INDEX result_group_members_result_idx ON result_group_members (account_id, result_vendor_key);
COMMENT ON TABLE result_group_members IS
    'The results of a group, by the result''s vendor_key (CEPA token): join results on (account_id, vendor_key). A member may name a result not stored yet.';
COMMENT ON COLUMN result_group_members.position IS 'Order of the member in the vendor''s group (1 = first).';

CREATE TABLE result_documents (
    id             bigserial PRIMARY KEY,
    account_id     bigint NOT NULL REFERENCES vendor_accounts (id),
    kind           text NOT NULL CHECK (kind IN ('result', 'group')),
    owner_key      text NOT NULL,
    file_name      text,
    mime           text,
    size           bigint NOT NULL CHECK (size >= 0),
    sha256         bytea NOT NULL,
    source_sha256  bytea,
    content        bytea NOT NULL,
    fetched_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, kind, owner_key)
);
COMMENT ON TABLE result_documents IS
    'Decoded PDF reports (CEPA GetSingleResultByPDF per token, GetOverallResultByPDF per candidate and overall id), stored once; fetched again only when the result they render changed.';
COMMENT ON COLUMN result_documents.kind IS 'result: owner_key is results.vendor_key; group: owner_key is "<candidate vendor_key>/<group vendor_key>".';
COMMENT ON COLUMN result_documents.size IS 'Decoded size in bytes; equal to the vendor''s size field (checked before storing).';
COMMENT ON COLUMN result_documents.sha256 IS 'SHA-256 of content.';
COMMENT ON COLUMN result_documents.source_sha256 IS
    'raw_sha256 of the result or group the document was rendered from: when it differs from the stored row''s, the document is fetched again.';

CREATE VIEW bi_result_groups AS
SELECT g.id AS group_id,
       a.vendor,
       a.account,
       c.email_normalized AS email,
       g.vendor_key AS group_key,
       g.score AS group_score,
       g.cefr_label AS group_cefr,
       g.cefr_low AS group_cefr_rank,
       g.level_name AS group_level,
       g.assigned_at AS group_assigned_at,
       m.position,
       m.result_vendor_key,
       r.id AS result_id,
       r.assessment_name,
       r.status,
       r.score,
       r.cefr_label,
       r.completed_at
FROM result_groups g
JOIN vendor_accounts a ON a.id = g.account_id
JOIN candidates c ON c.id = g.candidate_id
JOIN result_group_members m ON m.group_id = g.id
LEFT JOIN results r ON r.account_id = m.account_id AND r.vendor_key = m.result_vendor_key;
COMMENT ON VIEW bi_result_groups IS
    'One row per member of a grouped (overall) result, with the group''s overall score and level next to the member''s own.';

-- 002_reference: result columns for skill and pass/fail, and the mapping tables of
-- config/scales.yaml as SQL reference tables, so BI can sort, compare and cross levels
-- without reading YAML.
--
-- The ref_* tables are written only by scoresync (`sync` and `renormalize` call
-- refdata_load(), src/load/refdata.c): in one transaction each is emptied and refilled from
-- config/scales.yaml, and ref_scales_version records which version of the file they hold.
-- Edit config/scales.yaml, never these tables: an edit here is overwritten by the next run.
-- Column orders follow scales_export() in src/normalize/norm.h.

ALTER TABLE results
    ADD COLUMN passed boolean,
    ADD COLUMN pass_rule text,
    ADD COLUMN skill text;
COMMENT ON COLUMN results.passed IS
    'true/false against the pass mark in ref_pass_marks for this vendor and assessment at completed_at; NULL when no pass mark is known (never guessed).';
COMMENT ON COLUMN results.pass_rule IS
    'Which pass mark decided passed (e.g. "etest CT >= 70 from 2020-01-01"); NULL when passed is NULL.';
COMMENT ON COLUMN results.skill IS
    'The skill the levels rate: speaking, writing, reading, listening; NULL = overall or not said. Emmersion/TrueNorth *SpeakingLevel fields rate speaking.';

CREATE TABLE ref_cefr_levels (
    code   text PRIMARY KEY,
    label  text,
    rank   smallint NOT NULL UNIQUE CHECK (rank > 0)
);
COMMENT ON TABLE ref_cefr_levels IS
    'The canonical CEFR ordinal (Pre A1 .. C2 with the plus levels), from config/scales.yaml. results.cefr_low/cefr_high hold rank; join on rank for the code.';
COMMENT ON COLUMN ref_cefr_levels.code IS 'Level code: "Pre A1", "A1", "A1+", ..., "C2".';
COMMENT ON COLUMN ref_cefr_levels.label IS 'Descriptive name ("Vantage plus").';
COMMENT ON COLUMN ref_cefr_levels.rank IS 'Ordinal rank, higher = more proficient; what results.cefr_low/cefr_high store.';

CREATE TABLE ref_actfl_levels (
    label  text PRIMARY KEY,
    rank   smallint NOT NULL UNIQUE CHECK (rank > 0)
);
COMMENT ON TABLE ref_actfl_levels IS
    'The ACTFL ordinal (Novice Low .. Distinguished), from config/scales.yaml. results.actfl_low/actfl_high hold rank.';
COMMENT ON COLUMN ref_actfl_levels.label IS 'ACTFL sublevel: "Novice Low" ... "Distinguished".';
COMMENT ON COLUMN ref_actfl_levels.rank IS 'Ordinal rank, higher = more proficient; what results.actfl_low/actfl_high store.';

CREATE TABLE ref_actfl_cefr (
    skill_group    text NOT NULL,
    actfl_label    text NOT NULL,
    actfl_rank     smallint,
    cefr_sublevel  text,
    cefr_code      text,
    cefr_rank      smallint
);
COMMENT ON TABLE ref_actfl_cefr IS
    'ACTFL -> CEFR crosswalk (ACTFL, "Assigning CEFR Ratings to ACTFL Assessments"), per skill group because its receptive and productive columns differ. One-directional: used only where a vendor gave an ACTFL level and no CEFR level; never read backwards.';
COMMENT ON COLUMN ref_actfl_cefr.skill_group IS 'receptive (reading, listening) or productive (speaking, writing).';
COMMENT ON COLUMN ref_actfl_cefr.cefr_sublevel IS 'The CEFR sublevel as ACTFL writes it ("B2.2"; "0" = ACTFL assigns no CEFR rating, which is not Pre A1).';
COMMENT ON COLUMN ref_actfl_cefr.cefr_code IS 'The canonical CEFR code it maps to; NULL for "0".';
COMMENT ON COLUMN ref_actfl_cefr.cefr_rank IS 'Rank of cefr_code in ref_cefr_levels; NULL for "0".';

CREATE TABLE ref_test_cefr (
    test       text NOT NULL,
    skill      text NOT NULL,
    cefr_code  text,
    cefr_rank  smallint,
    min_score  numeric,
    max_score  numeric
);
CREATE INDEX ref_test_cefr_test_idx ON ref_test_cefr (test, skill);
COMMENT ON TABLE ref_test_cefr IS
    'Publishers'' own score -> CEFR tables: ETS for TOEFL iBT and TOEIC (per skill), IELTS for the overall band only. A skill a publisher does not map has no rows: do not extrapolate.';
COMMENT ON COLUMN ref_test_cefr.test IS 'toefl_ibt, ielts or toeic.';
COMMENT ON COLUMN ref_test_cefr.skill IS 'reading, listening, speaking, writing, total or overall, as the publisher maps it.';
COMMENT ON COLUMN ref_test_cefr.min_score IS 'The publisher''s minimum score for the level (inclusive); lookups use the minimums.';
COMMENT ON COLUMN ref_test_cefr.max_score IS 'Highest score of the band (inclusive) where the publisher gives one; NULL = not published (the next level''s minimum bounds it).';

CREATE TABLE ref_cepa_levels (
    min_score   numeric,
    max_score   numeric,
    cefr_code   text,
    cefr_rank   smallint,
    level_name  text
);
COMMENT ON TABLE ref_cepa_levels IS
    'CEPA''s published score -> level table (0-100 to A1 .. C2 with plus levels, https://cepatest.org/pages.php?sub=cefr) with CEPA''s level names. CEPA names that look like ACTFL ("Advance Low") are CEPA levels, not ACTFL.';
COMMENT ON COLUMN ref_cepa_levels.level_name IS 'CEPA''s name of the level ("Upper Intermediate").';

CREATE TABLE ref_status_map (
    vendor         text NOT NULL,
    vendor_status  text NOT NULL,
    status         text NOT NULL
);
CREATE INDEX ref_status_map_vendor_idx ON ref_status_map (vendor, vendor_status);
COMMENT ON TABLE ref_status_map IS
    'Vendor status text -> canonical results.status. Vendor "default" holds spellings any vendor may send.';

CREATE TABLE ref_score_scales (
    vendor           text NOT NULL,
    assessment_type  text NOT NULL,
    scale            text NOT NULL,
    min              numeric,
    max              numeric,
    linear           boolean
);
COMMENT ON TABLE ref_score_scales IS
    'Score scale of each vendor and assessment type ("*" = any type of that vendor): results.score_scale, scale_min, scale_max; score_pct is computed only where linear.';

CREATE TABLE ref_pass_marks (
    vendor           text NOT NULL,
    assessment_type  text,
    pass_mark        numeric NOT NULL,
    valid_from       timestamptz,
    valid_until      timestamptz
);
COMMENT ON TABLE ref_pass_marks IS
    'Published pass marks per vendor and assessment type, with the period they applied (eTest CT: 80, then 70 from v1.5.4). results.passed is NULL where none applies.';
COMMENT ON COLUMN ref_pass_marks.valid_from IS 'First moment the mark applied; NULL = always.';
COMMENT ON COLUMN ref_pass_marks.valid_until IS 'When it stopped applying; NULL = still applies.';

CREATE TABLE ref_sources (
    table_name  text PRIMARY KEY,
    source      text NOT NULL
);
COMMENT ON TABLE ref_sources IS
    'The published source of each mapping table (the citation next to it in config/scales.yaml).';

CREATE TABLE ref_scales_version (
    version    text NOT NULL,
    loaded_at  timestamptz NOT NULL DEFAULT now()
);
-- One row at most: the version the ref_* tables hold.
CREATE UNIQUE INDEX ref_scales_version_one_row ON ref_scales_version ((true));
COMMENT ON TABLE ref_scales_version IS
    'The version (digest) of config/scales.yaml the ref_* tables were filled from, and when. Compare with results.scales_version to find rows normalised with other tables (`scoresync renormalize` updates them).';

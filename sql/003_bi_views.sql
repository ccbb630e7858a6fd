-- 003_bi_views: views for BI tools. Each reads results with the reference tables of
-- 002_reference.sql, so levels come with their codes and sort by rank. Months are
-- calendar months of completed_at in UTC. A person across vendors and accounts is
-- candidates.email_normalized; one candidates row is one person within one account.

-- One flat row per result: everything a dashboard needs, no joins.
CREATE VIEW bi_results_wide AS
SELECT r.id AS result_id,
       a.vendor,
       a.account,
       r.account_id,
       r.candidate_id,
       c.vendor_key AS candidate_key,
       c.email_normalized AS email,
       c.given_name,
       c.family_name,
       nullif(concat_ws(' ', c.given_name, c.family_name), '') AS candidate_name,
       c.student_id,
       r.vendor_key AS result_key,
       r.stream,
       r.assessment_name,
       r.assessment_type,
       r.assessment_version,
       r.status,
       r.vendor_status,
       r.skill,
       r.assigned_at,
       r.started_at,
       r.completed_at,
       r.expires_at,
       date_trunc('month', r.completed_at AT TIME ZONE 'UTC')::date AS completed_month,
       extract(epoch FROM r.duration) AS duration_seconds,
       r.score,
       r.score_label,
       r.score_scale,
       r.scale_min,
       r.scale_max,
       r.score_pct,
       r.placement,
       r.cefr_label,
       CASE WHEN r.cefr_low = r.cefr_high THEN cl.code
            ELSE cl.code || '-' || ch.code END AS cefr_level,
       cl.code AS cefr_low_code,
       ch.code AS cefr_high_code,
       r.cefr_low AS cefr_low_rank,
       r.cefr_high AS cefr_high_rank,
       r.cefr_rule,
       r.actfl_label,
       CASE WHEN r.actfl_low = r.actfl_high THEN al.label
            ELSE al.label || ' - ' || ah.label END AS actfl_level,
       al.label AS actfl_low_label,
       ah.label AS actfl_high_label,
       r.actfl_low AS actfl_low_rank,
       r.actfl_high AS actfl_high_rank,
       r.actfl_rule,
       r.toefl_label,
       r.toefl_low,
       r.toefl_high,
       r.ielts_label,
       r.ielts_low,
       r.ielts_high,
       r.toeic_label,
       r.toeic_low,
       r.toeic_high,
       r.passed,
       r.pass_rule,
       r.certificate_url,
       r.norm_notes,
       r.scales_version,
       r.first_seen_at,
       r.updated_at
FROM results r
JOIN vendor_accounts a ON a.id = r.account_id
JOIN candidates c ON c.id = r.candidate_id
LEFT JOIN ref_cefr_levels cl ON cl.rank = r.cefr_low
LEFT JOIN ref_cefr_levels ch ON ch.rank = r.cefr_high
LEFT JOIN ref_actfl_levels al ON al.rank = r.actfl_low
LEFT JOIN ref_actfl_levels ah ON ah.rank = r.actfl_high;
COMMENT ON VIEW bi_results_wide IS
    'One flat row per result (every status): vendor, account, candidate, assessment, status, score and percentage, CEFR/ACTFL as codes, labels and ranks, TOEFL/IELTS/TOEIC bands, pass/fail, dates. For dashboard tools that cannot join.';
COMMENT ON COLUMN bi_results_wide.email IS 'candidates.email_normalized: the key that matches a person across vendors and accounts.';
COMMENT ON COLUMN bi_results_wide.completed_month IS 'First day of the UTC calendar month of completed_at.';
COMMENT ON COLUMN bi_results_wide.cefr_level IS 'CEFR code ("B2"), or "low-high" for a range ("B2-C1"); NULL when the vendor gave none or it is unknown (see norm_notes).';
COMMENT ON COLUMN bi_results_wide.cefr_low_rank IS 'Ordinal rank (ref_cefr_levels.rank): sort and compare with this, not with the code.';
COMMENT ON COLUMN bi_results_wide.actfl_level IS 'ACTFL sublevel, or "low - high" for a range.';

-- Latest completed result per candidate and assessment.
CREATE VIEW bi_latest_results AS
SELECT DISTINCT ON (w.candidate_id, coalesce(w.assessment_name, w.assessment_type)) w.*
FROM bi_results_wide w
WHERE w.status = 'completed'
ORDER BY w.candidate_id, coalesce(w.assessment_name, w.assessment_type),
         w.completed_at DESC NULLS LAST, w.result_id DESC;
COMMENT ON VIEW bi_latest_results IS
    'The latest completed result of each candidate (a person within one vendor account) for each assessment (assessment_name, else assessment_type); columns as bi_results_wide.';

-- Best CEFR level per person across vendors and accounts.
CREATE VIEW bi_best_cefr AS
SELECT DISTINCT ON (w.email)
       w.email,
       w.candidate_name,
       w.cefr_high_rank,
       w.cefr_high_code,
       w.cefr_low_rank,
       w.cefr_low_code,
       w.cefr_level,
       w.cefr_label,
       w.cefr_rule,
       w.skill,
       w.vendor,
       w.account,
       w.assessment_name,
       w.completed_at AS assessed_at,
       w.result_id,
       count(*) OVER (PARTITION BY w.email) AS results_with_cefr
FROM bi_results_wide w
WHERE w.status = 'completed' AND w.cefr_high_rank IS NOT NULL AND w.email IS NOT NULL
  AND w.email <> ''
ORDER BY w.email, w.cefr_high_rank DESC, w.cefr_low_rank DESC, w.completed_at DESC NULLS LAST,
         w.result_id DESC;
COMMENT ON VIEW bi_best_cefr IS
    'Best CEFR level of each person (candidates.email_normalized) over every vendor and account: the completed result with the highest cefr_high rank (ties: higher cefr_low, then the latest). Levels of different skills are compared as they are: see skill.';
COMMENT ON COLUMN bi_best_cefr.assessed_at IS 'completed_at of the result that holds the best level.';
COMMENT ON COLUMN bi_best_cefr.results_with_cefr IS 'How many completed results with a CEFR level this person has.';

-- Completed results with a CEFR level, by month, vendor and level.
CREATE VIEW bi_cefr_distribution AS
SELECT w.completed_month AS month,
       w.vendor,
       w.cefr_level AS cefr,
       w.cefr_low_rank,
       w.cefr_high_rank,
       count(*) AS results
FROM bi_results_wide w
WHERE w.status = 'completed' AND w.cefr_low_rank IS NOT NULL
GROUP BY w.completed_month, w.vendor, w.cefr_level, w.cefr_low_rank, w.cefr_high_rank;
COMMENT ON VIEW bi_cefr_distribution IS
    'Count of completed results by UTC month, vendor and CEFR level (a range such as B2-C1 is its own level). Sort by cefr_low_rank, cefr_high_rank. Results without a recognised CEFR level are not counted.';

-- Pass rates where a pass mark is known.
CREATE VIEW bi_pass_rates AS
SELECT w.vendor,
       w.assessment_name,
       w.assessment_type,
       w.completed_month AS month,
       count(*) AS attempts,
       count(*) FILTER (WHERE w.passed) AS passed,
       round(count(*) FILTER (WHERE w.passed)::numeric / count(*), 4) AS pass_rate
FROM bi_results_wide w
WHERE w.status = 'completed' AND w.passed IS NOT NULL
GROUP BY w.vendor, w.assessment_name, w.assessment_type, w.completed_month;
COMMENT ON VIEW bi_pass_rates IS
    'Completed attempts with a known pass mark (ref_pass_marks), how many passed and the rate (0-1), by vendor, assessment and UTC month. Attempts with no known pass mark are left out, never counted as failed.';

-- What the mapping tables did not know.
CREATE VIEW bi_unknown_labels AS
SELECT n.vendor,
       btrim(regexp_replace(n.note, '\s*"[^"]*"', '', 'g')) AS issue,
       substring(n.note FROM '"(.*)"') AS label,
       n.note,
       n.results,
       n.last_seen_at
FROM (SELECT a.vendor, x.note, count(*) AS results, max(r.updated_at) AS last_seen_at
      FROM results r
      JOIN vendor_accounts a ON a.id = r.account_id
      CROSS JOIN LATERAL regexp_split_to_table(r.norm_notes, '; ') AS x(note)
      WHERE r.norm_notes IS NOT NULL
      GROUP BY a.vendor, x.note) n;
COMMENT ON VIEW bi_unknown_labels IS
    'Every note normalisation left on results (unknown CEFR/ACTFL/status labels, unparseable bands, scores off their scale), by vendor, with the label in question and how many results carry it. Extend config/scales.yaml, then run `scoresync renormalize`.';
COMMENT ON COLUMN bi_unknown_labels.issue IS 'The note without its label ("unknown CEFR label").';
COMMENT ON COLUMN bi_unknown_labels.label IS 'The vendor''s label the tables did not know ("B7"); NULL for notes without one.';

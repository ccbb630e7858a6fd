-- bi_best_cefr counts only levels a person holds: an attempt its pass mark
-- says was failed (passed = false: an eTest CT certifies a level only when
-- passed) is left out. Results with no pass mark (passed IS NULL) count as
-- before. Same columns, so BI tools that read the view keep working.
CREATE OR REPLACE VIEW bi_best_cefr AS
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
  AND w.email <> '' AND w.passed IS NOT FALSE
ORDER BY w.email, w.cefr_high_rank DESC, w.cefr_low_rank DESC, w.completed_at DESC NULLS LAST,
         w.result_id DESC;
COMMENT ON VIEW bi_best_cefr IS
    'Best CEFR level of each person (candidates.email_normalized) over every vendor and account: the completed result with the highest cefr_high rank (ties: higher cefr_low, then the latest), not counting attempts that failed their pass mark (passed = false). Levels of different skills are compared as they are: see skill.';
COMMENT ON COLUMN bi_best_cefr.results_with_cefr IS
    'How many completed results with a CEFR level this person has, failed attempts left out.';

#!/usr/bin/env bash
# BI views (sql/003_bi_views.sql) after a real sync: every view's rows are
# recomputed from results directly and must agree; a person found in a second
# vendor account by normalised e-mail gets their best CEFR from there.
source "$(dirname "$0")/lib.sh"
new_db
sandbox --reports 1500 --seed 9 --fault-bad-record 0.05
config "streams: [scores, assignments]"
ss -q migrate >/dev/null
ss -q sync 2>"$T/sync.log" || fail "sync exited $?: $(tail -5 "$T/sync.log")"
# The reference tables the views join (renormalize loads them; nothing is stale).
ss -q renormalize >/dev/null || fail "renormalize exited $?"
[ "$(q "SELECT count(*) FROM ref_cefr_levels")" -gt 0 ] || fail "ref_cefr_levels is empty"

# The same person in another vendor account, e-mail spelled differently, with a
# higher level than anything the sandbox gave them.
email=$(q "SELECT c.email_normalized FROM results r JOIN candidates c ON c.id = r.candidate_id
           WHERE r.status = 'completed' AND r.cefr_high IS NOT NULL AND c.email_normalized <> ''
           GROUP BY 1 HAVING max(r.cefr_high) < (SELECT max(rank) FROM ref_cefr_levels)
           ORDER BY count(*) DESC, 1 LIMIT 1")
[ -n "$email" ] || fail "no candidate below the top CEFR level"
top=$(q "SELECT max(rank) FROM ref_cefr_levels")
top_code=$(q "SELECT code FROM ref_cefr_levels WHERE rank = $top")
before_n=$(q "SELECT count(*) FROM results r JOIN candidates c ON c.id = r.candidate_id
              WHERE c.email_normalized = '$email' AND r.status = 'completed' AND r.cefr_high IS NOT NULL
                AND r.passed IS NOT FALSE")
psql "$DB_URL" -XAtq -v ON_ERROR_STOP=1 >/dev/null <<SQL
WITH a AS (INSERT INTO vendor_accounts (vendor, account) VALUES ('othervendor', 'x') RETURNING id),
     c AS (INSERT INTO candidates (account_id, vendor_key, email)
           SELECT id, 'p1', '  ' || upper('$email') || ' ' FROM a RETURNING id, account_id)
INSERT INTO results (account_id, candidate_id, vendor_key, stream, assessment_name, status,
                     completed_at, cefr_label, cefr_low, cefr_high, raw)
SELECT account_id, id, 'r1', 'scores', 'Other Test', 'completed', '2020-03-04T05:06:07Z',
       '$top_code', $top, $top, '{}' FROM c;
SQL

# bi_results_wide: one row per result, values as stored, codes from the ranks.
total=$(q "SELECT count(*) FROM results")
[ "$(q "SELECT count(*) FROM bi_results_wide")" = "$total" ] || fail "bi_results_wide row count differs from results ($total)"
[ "$(q "SELECT count(DISTINCT result_id) FROM bi_results_wide")" = "$total" ] || fail "bi_results_wide repeats results"
diff=$(q "SELECT count(*) FROM bi_results_wide w JOIN results r ON r.id = w.result_id
          JOIN candidates c ON c.id = r.candidate_id JOIN vendor_accounts a ON a.id = r.account_id
          WHERE (w.vendor, w.account, w.email, w.given_name, w.family_name, w.status, w.score,
                 w.score_pct, w.cefr_low_rank, w.cefr_high_rank, w.actfl_low_rank, w.completed_at,
                 w.assessment_name, w.toefl_low, w.ielts_high, w.passed, w.norm_notes)
          IS DISTINCT FROM
                (a.vendor, a.account, c.email_normalized, c.given_name, c.family_name, r.status,
                 r.score, r.score_pct, r.cefr_low, r.cefr_high, r.actfl_low, r.completed_at,
                 r.assessment_name, r.toefl_low, r.ielts_high, r.passed, r.norm_notes)")
[ "$diff" = 0 ] || fail "$diff bi_results_wide rows differ from results"
# The code names the level the vendor reported (rank -> ref_cefr_levels -> code).
coded=$(q "SELECT count(*) FROM bi_results_wide WHERE cefr_level IS NOT NULL AND actfl_level IS NOT NULL")
[ "$coded" -gt 0 ] || fail "no row has CEFR and ACTFL codes"
wrong=$(q "SELECT count(*) FROM bi_results_wide WHERE cefr_low_rank IS NOT NULL AND
           (upper(regexp_replace(cefr_level, '\s', '', 'g')) IS DISTINCT FROM
            upper(regexp_replace(cefr_label, '\s', '', 'g'))
            OR lower(regexp_replace(actfl_level, '\s', '', 'g')) IS DISTINCT FROM
               lower(regexp_replace(actfl_label, '\s', '', 'g')))")
[ "$wrong" = 0 ] || fail "$wrong rows whose CEFR/ACTFL code does not match the vendor's label"
[ "$(q "SELECT count(*) FROM bi_results_wide WHERE cefr_level LIKE '%-%'")" -gt 0 ] || fail "no CEFR range shown"
pass "bi_results_wide: $total rows, values as stored, $coded with codes"

# bi_cefr_distribution: the same groups and counts as a direct GROUP BY.
direct="SELECT date_trunc('month', r.completed_at AT TIME ZONE 'UTC')::date, a.vendor,
               r.cefr_low, r.cefr_high, count(*)
        FROM results r JOIN vendor_accounts a ON a.id = r.account_id
        WHERE r.status = 'completed' AND r.cefr_low IS NOT NULL GROUP BY 1, 2, 3, 4"
view="SELECT month, vendor, cefr_low_rank, cefr_high_rank, results FROM bi_cefr_distribution"
[ "$(q "SELECT count(*) FROM (($view) EXCEPT ($direct)) x")" = 0 ] || fail "bi_cefr_distribution has rows the data does not"
[ "$(q "SELECT count(*) FROM (($direct) EXCEPT ($view)) x")" = 0 ] || fail "bi_cefr_distribution misses groups"
sum=$(q "SELECT sum(results) FROM bi_cefr_distribution")
want=$(q "SELECT count(*) FROM results WHERE status = 'completed' AND cefr_low IS NOT NULL")
[ "$sum" = "$want" ] || fail "bi_cefr_distribution sums to $sum, $want completed results have a CEFR level"
[ "$(q "SELECT count(DISTINCT month) FROM bi_cefr_distribution")" -gt 1 ] || fail "one month only"
pass "bi_cefr_distribution: $sum results in $(q "SELECT count(*) FROM bi_cefr_distribution") groups"

# bi_best_cefr: one row per e-mail, holding that person's highest rank (failed
# attempts left out).
people=$(q "SELECT count(DISTINCT c.email_normalized) FROM results r JOIN candidates c ON c.id = r.candidate_id
            WHERE r.status = 'completed' AND r.cefr_high IS NOT NULL AND c.email_normalized <> ''
              AND r.passed IS NOT FALSE")
[ "$(q "SELECT count(*) FROM bi_best_cefr")" = "$people" ] || fail "bi_best_cefr should have $people people"
bad=$(q "SELECT count(*) FROM bi_best_cefr b WHERE b.cefr_high_rank IS DISTINCT FROM
         (SELECT max(r.cefr_high) FROM results r JOIN candidates c ON c.id = r.candidate_id
          WHERE c.email_normalized = b.email AND r.status = 'completed' AND r.passed IS NOT FALSE)
         OR b.cefr_high_code IS DISTINCT FROM (SELECT code FROM ref_cefr_levels WHERE rank = b.cefr_high_rank)")
[ "$bad" = 0 ] || fail "$bad people in bi_best_cefr without their highest level"
got=$(q "SELECT concat_ws('|', vendor, account, cefr_high_code, assessed_at AT TIME ZONE 'UTC', results_with_cefr)
         FROM bi_best_cefr WHERE email = '$email'")
[ "$got" = "othervendor|x|$top_code|2020-03-04 05:06:07|$((before_n + 1))" ] ||
  fail "best CEFR of $email across accounts: got '$got'"
pass "bi_best_cefr: $people people, cross-account match by e-mail"
# A failed attempt (passed = false: its pass mark says so) is not a level held.
rid=$(q "SELECT result_id FROM bi_best_cefr WHERE email = '$email'")
q "UPDATE results SET passed = false WHERE id = $rid" >/dev/null
got=$(q "SELECT concat_ws('|', result_id <> $rid, results_with_cefr) FROM bi_best_cefr WHERE email = '$email'")
[ "$got" = "t|$before_n" ] || fail "a failed attempt still counts in bi_best_cefr: '$got'"
q "UPDATE results SET passed = NULL WHERE id = $rid" >/dev/null
pass "bi_best_cefr leaves failed attempts out"

# bi_latest_results: one row per candidate and assessment, the latest completion.
pairs=$(q "SELECT count(DISTINCT (candidate_id, coalesce(assessment_name, assessment_type)))
           FROM results WHERE status = 'completed'")
[ "$(q "SELECT count(*) FROM bi_latest_results")" = "$pairs" ] || fail "bi_latest_results should have $pairs rows"
[ "$pairs" -lt "$(q "SELECT count(*) FROM results WHERE status = 'completed'")" ] ||
  fail "no candidate took an assessment twice: the test proves nothing"
bad=$(q "SELECT count(*) FROM bi_latest_results l WHERE l.status <> 'completed' OR l.completed_at IS DISTINCT FROM
         (SELECT max(r.completed_at) FROM results r WHERE r.candidate_id = l.candidate_id
          AND r.status = 'completed'
          AND coalesce(r.assessment_name, r.assessment_type) = coalesce(l.assessment_name, l.assessment_type))")
[ "$bad" = 0 ] || fail "$bad rows of bi_latest_results are not the latest"
pass "bi_latest_results: $pairs candidate/assessment pairs"

# bi_pass_rates: none without pass marks; then the arithmetic on known ones.
[ "$(q "SELECT coalesce(sum(attempts), 0) FROM bi_pass_rates")" = \
  "$(q "SELECT count(*) FROM results WHERE passed IS NOT NULL AND status = 'completed'")" ] ||
  fail "bi_pass_rates counts attempts without a known pass mark"
q "UPDATE results SET passed = (score_pct >= 60) WHERE status = 'completed' AND score_pct IS NOT NULL" >/dev/null
direct="SELECT a.vendor, r.assessment_name, date_trunc('month', r.completed_at AT TIME ZONE 'UTC')::date,
               count(*), count(*) FILTER (WHERE r.passed),
               round(count(*) FILTER (WHERE r.passed)::numeric / count(*), 4)
        FROM results r JOIN vendor_accounts a ON a.id = r.account_id
        WHERE r.status = 'completed' AND r.passed IS NOT NULL GROUP BY 1, 2, 3"
view="SELECT vendor, assessment_name, month, attempts, passed, pass_rate FROM bi_pass_rates"
[ "$(q "SELECT count(*) FROM (($view) EXCEPT ($direct)) x")" = 0 ] || fail "bi_pass_rates has wrong rows"
[ "$(q "SELECT count(*) FROM (($direct) EXCEPT ($view)) x")" = 0 ] || fail "bi_pass_rates misses groups"
p=$(q "SELECT sum(passed) || '/' || sum(attempts) FROM bi_pass_rates")
[ "$p" = "$(q "SELECT count(*) FILTER (WHERE passed) || '/' || count(*) FROM results WHERE status = 'completed' AND passed IS NOT NULL")" ] ||
  fail "bi_pass_rates totals $p"
[ "$(q "SELECT count(*) FROM bi_pass_rates WHERE pass_rate > 0 AND pass_rate < 1")" -gt 0 ] || fail "no mixed pass rate to check"
pass "bi_pass_rates: $p passed"

# bi_unknown_labels: the B7 rows, counted.
b7=$(q "SELECT count(*) FROM results WHERE norm_notes LIKE '%\"B7\"%'")
[ "$b7" -gt 0 ] || fail "no unknown label in the data; raise --fault-bad-record"
got=$(q "SELECT concat_ws('|', issue, results) FROM bi_unknown_labels WHERE vendor = 'emmersion' AND label = 'B7'")
[ "$got" = "unknown CEFR label|$b7" ] || fail "bi_unknown_labels for B7: '$got', want $b7 results"
[ "$(q "SELECT sum(results) FROM bi_unknown_labels")" -ge "$(q "SELECT count(*) FROM results WHERE norm_notes IS NOT NULL")" ] ||
  fail "bi_unknown_labels loses notes"
pass "bi_unknown_labels: B7 on $b7 results"

# Every view is documented.
# Every bi_ view (the six of 003 and any a vendor migration adds) has one.
[ "$(q "SELECT count(*) FROM pg_views v WHERE v.viewname LIKE 'bi\_%'")" -ge 6 ] ||
  fail "bi_ views missing"
[ "$(q "SELECT count(*) FROM pg_views v WHERE v.viewname LIKE 'bi\_%'
        AND obj_description(format('%I', v.viewname)::regclass, 'pg_class') IS NULL")" = 0 ] ||
  fail "a bi_ view lacks its COMMENT"
pass "every bi_ view has a COMMENT"

#!/usr/bin/env bash
# DynEd eTest against the sandbox's part (our contract, docs/vendors/etest.md),
# with injected faults and bad records: every PT and CT result the sandbox
# served is in the database once; a CT of 75 fails in 2021 (mark 80) and
# passes in 2023 (mark 70), a Pre A1 CT of 65 fails before 2022-07-20 and
# passes after (minimum 60); both Pre A1 spellings normalise; hidden
# candidates are kept with their flag; a candidate moved to another uic
# between two syncs is one row with the new uic; a uic filter reads that
# organisation and its sub-organisations only; the pt stream reads the same
# PT results by date windows.
source "$(dirname "$0")/lib.sh"
new_db
sandbox --reports 600 --seed 13 --accounts demo,sub,win --no-limits \
  --fault-5xx 0.05 --fault-truncate 0.03 --fault-malformed 0.03 --fault-bad-record 0.02
cat >"$T/config.yaml" <<YAML
database:
  url: \${DATABASE_URL}
  batch_rows: 100
scales: $SS_SOURCE_DIR/config/scales.yaml
migrations: $SS_SOURCE_DIR/sql
vendors:
  etest:
    base_url: $SANDBOX_URL/etest/v1
    http: {max_attempts: 8, backoff_base_ms: 5, backoff_max_ms: 50}
    page_size: 50
    accounts:
      - name: demo
        api_key: \${ET_KEY_DEMO}
        uic: U100
      - name: sub
        api_key: \${ET_KEY_SUB}
        uic: U110
      - name: win
        api_key: \${ET_KEY_WIN}
        streams: [pt, ct]
        start_date: "2020-01-01"
        window: {initial_days: 60, target_records: 40}
YAML
export ET_KEY_DEMO=sandbox-demo ET_KEY_SUB=sandbox-sub ET_KEY_WIN=sandbox-win
CFG=$T/config.yaml
ss migrate
et() { curl -sf "$SANDBOX_URL/_sandbox/etest/$1"; }
et "expected?account=demo" >"$T/demo.json"
et "expected?account=sub&uic=U110" >"$T/sub.json"
et "expected?account=win" >"$T/win.json"

ss sync 2>"$T/run1.log" || { cat "$T/run1.log"; fail "first sync"; }

# 1. Every served result, once, per account; bad records quarantined.
exact() { # ACCOUNT EXPECTED_FILE
  sql_json "$2" "
    WITH e AS (SELECT jsonb_array_elements_text(j->'ids') AS id FROM ex),
         d AS (SELECT r.vendor_key AS id FROM results r JOIN vendor_accounts a ON a.id = r.account_id
               WHERE a.vendor = 'etest' AND a.account = '$1')
    SELECT (SELECT count(*) FROM (SELECT id FROM e EXCEPT SELECT id FROM d) x) || ' missing, ' ||
           (SELECT count(*) FROM (SELECT id FROM d EXCEPT SELECT id FROM e) y) || ' extra, ' ||
           (SELECT count(*) FROM d) || ' loaded, ' || (SELECT count(*) FROM e) || ' expected';"
}
for acct in demo sub win; do
  f=$T/$acct.json
  [ "$acct" = sub ] && f=$T/sub.json
  diff=$(exact "$acct" "$f")
  case "$diff" in "0 missing, 0 extra, "*) pass "$acct: $diff" ;; *) fail "$acct: $diff" ;; esac
done
n_pt=$(sql_json "$T/demo.json" "SELECT (j->>'pt')::int FROM ex")
n_ct=$(sql_json "$T/demo.json" "SELECT (j->>'ct')::int FROM ex")
got=$(q "SELECT count(*) FILTER (WHERE assessment_type = 'PT') || ' ' || count(*) FILTER (WHERE assessment_type = 'CT')
         FROM results r JOIN vendor_accounts a ON a.id = r.account_id WHERE a.account = 'demo'")
[ "$got" = "$n_pt $n_ct" ] && [ "$n_pt" -gt 100 ] && [ "$n_ct" -gt 100 ] || fail "PT/CT $got, want $n_pt $n_ct"
pass "demo: $n_pt PT and $n_ct CT results"
bad=$(sql_json "$T/demo.json" "SELECT (j->>'bad')::int FROM ex")
quar=$(q "SELECT count(*) FROM quarantine qu JOIN vendor_accounts a ON a.id = qu.account_id WHERE a.account = 'demo'")
[ "$bad" -gt 0 ] && [ "$quar" = "$bad" ] || { q "SELECT stream, record_key, field, reason, seen_count FROM quarantine"; fail "quarantined $quar of $bad bad records"; }
pass "$bad bad records quarantined, the rest loaded"
[ "$(q "SELECT count(*) FROM results WHERE stream = 'candidates' AND assessment_type <> 'PT'")" = 0 ] ||
  fail "the candidates list loaded something that is not a PT"

# 2. Pass marks in force on the test date.
pm() { q "SELECT string_agg(passed::text || ' ' || pass_rule, ';') FROM results r
          JOIN vendor_accounts a ON a.id = r.account_id
          WHERE a.account = 'demo' AND assessment_type = 'CT' AND score = $1 AND cefr_label = '$2'
            AND completed_at = '$3+00'"; }
case "$(pm 75 A2 '2021-06-15 10:00:00')" in "false pass_marks: etest CT >= 80"*) ;; *) fail "2021 CT 75: $(pm 75 A2 '2021-06-15 10:00:00')" ;; esac
case "$(pm 75 A2 '2023-03-10 10:00:00')" in "true pass_marks: etest CT >= 70"*) ;; *) fail "2023 CT 75: $(pm 75 A2 '2023-03-10 10:00:00')" ;; esac
case "$(pm 65 'Pre A1' '2022-03-01 10:00:00')" in "false pass_marks: etest CT >= 70"*) ;; *) fail "Pre A1 65 in March 2022" ;; esac
case "$(pm 65 'Pre A1' '2022-09-01 10:00:00')" in "true pass_marks: etest CT at CEFR Pre A1 >= 60"*) ;; *) fail "Pre A1 65 in Sept 2022" ;; esac
pass "CT 75 fails in 2021 and passes in 2023; Pre A1 65 fails before 2022-07-20, passes after"
[ "$(q "SELECT count(*) FROM results WHERE assessment_type = 'CT' AND status = 'completed' AND passed IS NULL AND score IS NOT NULL")" = 0 ] ||
  fail "CT results without a pass verdict"
subs=$(q "SELECT string_agg(name, ',' ORDER BY name) FROM result_subscores s JOIN results r ON r.id = s.result_id
          WHERE r.vendor_key = (SELECT min(vendor_key) FROM results WHERE assessment_type = 'CT')")
[ "$subs" = "answered,correct,incorrect" ] || fail "CT sub-scores: $subs"
pass "CT totals stored as sub-scores"

# 3. Levels: both Pre A1 spellings, plus levels.
lv=$(q "SELECT string_agg(DISTINCT cefr_label || '=' || cefr_low, ',') FROM results
        WHERE assessment_type = 'PT' AND cefr_label IN ('Pre-A1', 'Pre A1', 'B1+')")
[ "$lv" = "B1+=7,Pre A1=1,Pre-A1=1" ] || fail "levels: $lv"
[ "$(q "SELECT count(*) FROM results WHERE assessment_type = 'PT' AND cefr_low IS NULL")" = 0 ] ||
  fail "PT levels left unmapped"
pass "Pre-A1 and Pre A1 both rank 1; B1+ rank 7"

# 4. Hidden candidates are kept, flagged.
hidden=$(sql_json "$T/demo.json" "SELECT j->>'hidden' FROM ex")
got=$(q "SELECT count(*) FROM bi_etest_candidates WHERE account = 'demo' AND hidden")
[ "$hidden" -gt 0 ] && [ "$got" = "$hidden" ] || fail "hidden candidates: $got of $hidden"
cands=$(sql_json "$T/demo.json" "SELECT j->>'candidates' FROM ex")
[ "$(q "SELECT count(*) FROM bi_etest_candidates WHERE account = 'demo'")" -ge "$cands" ] ||
  fail "candidates missing"
pass "$hidden hidden candidates kept with their flag"

# 5. A candidate moves to another organisation between two syncs.
[ "$(q "SELECT uic FROM bi_etest_candidates WHERE account = 'demo' AND vendor_key = '1003'")" = U111 ] ||
  fail "candidate 1003 before the move"
et "move?account=demo&candidate=1003&to=U120" >/dev/null || fail "move"
ss sync --vendor etest --account demo 2>"$T/run2.log" || { cat "$T/run2.log"; fail "second sync"; }
row=$(q "SELECT count(*) || ' ' || string_agg(uic, ',') FROM bi_etest_candidates
         WHERE account = 'demo' AND vendor_key = '1003'")
[ "$row" = "1 U120" ] || fail "moved candidate: $row"
[ "$(q "SELECT count(*) - count(DISTINCT (account_id, vendor_key)) FROM candidates")" = 0 ] || fail "duplicate candidates"
diff=$(exact demo "$T/demo.json")
case "$diff" in "0 missing, 0 extra, "*) ;; *) fail "after the second sync: $diff" ;; esac
pass "the moved candidate is one row with the new uic; nothing duplicated"

# 6. The uic filter inherits: sub (U110) has only U110 and U111.
[ "$(q "SELECT string_agg(DISTINCT uic, ',' ORDER BY uic) FROM bi_etest_candidates WHERE account = 'sub'")" = "U110,U111" ] ||
  fail "sub-organisation filter"
pass "uic U110 reads U110 and its sub-organisation U111"

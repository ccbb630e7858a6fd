#!/usr/bin/env bash
# TrueNorth 2020q1 has only start-date filters: an attempt started before the
# checkpoint and finished after it lies outside every later window. The sync
# reads unfinished attempts too (includeIncompleteAssessments), stores them,
# and re-reads the start windows of those still unfinished each run, within a
# request cap, until they are final. Also: zero 429 under the real limits, a
# quiet second sync rewrites nothing, the horizon is reported by `status`,
# and one `sync` covers a TrueNorth and an Emmersion account together.
source "$(dirname "$0")/lib.sh"
new_db
sandbox --reports 800 --seed 47
cat >"$T/config.yaml" <<YAML
database:
  url: \${DATABASE_URL}
  batch_rows: 200
scales: $SS_SOURCE_DIR/config/scales.yaml
migrations: $SS_SOURCE_DIR/sql
vendors:
  truenorth:
    base_url: $SANDBOX_URL/truenorth/2020q1
    accounts:
      - name: demo
        api_key: \${TN_KEY}
        start_date: "2019-01-01"
        recheck_days: 36500
        recheck_max_requests: 3
        window: {initial_days: 2, target_records: 2000}
  emmersion:
    base_url: $SANDBOX_URL/emmersion/2020q3
    accounts:
      - name: demo
        api_key: \${EMM_KEY}
        start_date: "2019-01-01"
YAML
export TN_KEY=sandbox-demo EMM_KEY=sandbox-demo
CFG=$T/config.yaml
ss migrate
tn() { curl -sf "$SANDBOX_URL/_sandbox/truenorth/$1"; }
tn "expected?account=demo" >"$T/tn.json"

# 1. One sync, no --vendor: both vendors' accounts.
ss sync 2>"$T/run1.log" || { cat "$T/run1.log"; fail "first sync"; }
started=$(sql_json "$T/tn.json" "SELECT jsonb_array_length(j->'ids_started') FROM ex;")
diff=$(sql_json "$T/tn.json" "
  WITH e AS (SELECT jsonb_array_elements_text(j->'ids_started') AS id FROM ex),
       d AS (SELECT r.vendor_key AS id FROM results r JOIN vendor_accounts a ON a.id = r.account_id
             WHERE a.vendor = 'truenorth')
  SELECT (SELECT count(*) FROM (SELECT id FROM e EXCEPT SELECT id FROM d) x) || ' missing, ' ||
         (SELECT count(*) FROM (SELECT id FROM d EXCEPT SELECT id FROM e) y) || ' extra';")
[ "$diff" = "0 missing, 0 extra" ] || fail "truenorth results differ from the sandbox: $diff"
pass "truenorth: all $started started attempts loaded, finished or not"
emm=$(q "SELECT count(*) FROM results r JOIN vendor_accounts a ON a.id = r.account_id
         WHERE a.vendor = 'emmersion' AND r.status = 'completed'")
emm_expected=$(curl -sf "$SANDBOX_URL/_sandbox/emmersion/expected?account=demo" |
  grep -o '"completed_good":[0-9]*' | cut -d: -f2)
[ "$emm" -gt 0 ] && [ "$emm" = "$emm_expected" ] || fail "emmersion in the same sync: $emm of $emm_expected"
pass "emmersion in the same sync: $emm results"
in_progress=$(q "SELECT count(*) FROM results WHERE status = 'in_progress'")
[ "$in_progress" -gt 3 ] || fail "the sandbox served too few in-progress attempts ($in_progress)"

# 2. The oldest in-progress attempts finish now, long after their start
#    windows were read and the checkpoint passed them.
tn "complete-in-progress?account=demo&n=3" >"$T/done.json"
ids=$(grep -o '"userAssessmentId":"[^"]*"' "$T/done.json" | cut -d'"' -f4)
[ "$(echo "$ids" | wc -l)" = 3 ] || fail "sandbox completed: $(cat "$T/done.json")"
ckpt=$(q "SELECT cursor FROM checkpoints c JOIN vendor_accounts a ON a.id = c.account_id
          WHERE a.vendor = 'truenorth'")
for id in $ids; do
  [ "$(q "SELECT started_at < '$ckpt'::timestamptz - interval '90 days' FROM results WHERE vendor_key = '$id'")" = t ] ||
    fail "$id did not start long before the checkpoint"
done
# The cap: at most 3 re-check requests a run (the rest wait for the next).
ss sync --vendor truenorth 2>"$T/run2.log" || { cat "$T/run2.log"; fail "second sync"; }
grep -q "3 requests re-checked unfinished results (at most 3 a run" "$T/run2.log" ||
  fail "re-check cap not applied: $(grep -i re- "$T/run2.log")"
pass "re-checks capped at 3 requests a run"
# Without the cap's pressure, the next run re-reads every unfinished start
# window, clustered: far fewer requests than unfinished attempts.
sed -i 's/recheck_max_requests: 3/recheck_max_requests: 1000/' "$T/config.yaml"
unfinished=$(q "SELECT count(*) FROM results WHERE status IN ('in_progress', 'score_pending', 'needs_review')")
ss sync --vendor truenorth 2>"$T/run2b.log" || { cat "$T/run2b.log"; fail "re-check sync"; }
spent=$(grep -o '[0-9]* requests re-checked' "$T/run2b.log" | cut -d' ' -f1)
[ -n "$spent" ] && [ "$spent" -lt "$unfinished" ] ||
  fail "re-checks of $unfinished unfinished attempts took ${spent:-no} requests"
pass "$unfinished unfinished attempts re-checked in $spent requests"
for id in $ids; do
  row=$(q "SELECT status || ' ' || (score IS NOT NULL) FROM results WHERE vendor_key = '$id'")
  [ "$row" = "completed true" ] || fail "$id after the next sync: $row"
done
pass "3 attempts started long before the checkpoint and finished later are completed with a score"

# 3. Zero 429s under the real limits; the vendors' budgets are separate.
[ "$(q "SELECT coalesce(sum(status_429), 0) FROM sync_runs")" = 0 ] || fail "429 answers seen"
s429=$(curl -sf "$SANDBOX_URL/_sandbox/stats" | grep -o '"sent_429":[0-9]*' | cut -d: -f2 | sort -u)
[ "$s429" = 0 ] || fail "sandbox sent 429s: $s429"
pass "no 429"

# 4. Nothing changed: a further sync rewrites no row.
before=$(q "SELECT sum(xmin::text::bigint) FROM results")
ss sync --vendor truenorth 2>"$T/run3.log" || fail "third sync"
[ "$(q "SELECT results_updated + results_inserted FROM sync_runs ORDER BY id DESC LIMIT 1")" = 0 ] ||
  fail "a quiet sync wrote rows"
[ "$(q "SELECT sum(xmin::text::bigint) FROM results")" = "$before" ] || fail "rows were rewritten"
pass "a sync with nothing changed rewrites no row"

# 5. Past the horizon: `status` lists what will not be re-read any more.
sed -i 's/recheck_days: 36500/recheck_days: 1/' "$T/config.yaml"
ss status >"$T/status.txt" 2>&1 || fail "status"
grep -q "truenorth/demo scores: [0-9]* results (unfinished by start" "$T/status.txt" ||
  fail "status does not report unfinished results past the horizon: $(cat "$T/status.txt")"
pass "status reports unfinished attempts past the re-check horizon"

#!/usr/bin/env bash
# CEPA Test API v2 against the sandbox: a list that shifts while we page it
# (candidates arrive between page requests) loses nobody and stores nobody
# twice; a second sync stops at the first page that changed nothing yet
# picks up tests completed, and re-scored, deep in the list; overall groups
# land in result_groups; the API key never reaches a log line.
source "$(dirname "$0")/lib.sh"
new_db
sandbox --reports 400 --seed 11 --no-limits
cat >"$T/config.yaml" <<YAML
database:
  url: \${DATABASE_URL}
  batch_rows: 200
scales: $SS_SOURCE_DIR/config/scales.yaml
migrations: $SS_SOURCE_DIR/sql
vendors:
  cepa:
    base_url: $SANDBOX_URL/cepa/api/v2
    rate_limits:
      - {requests: 1000, per_seconds: 1}
    accounts:
      - name: demo
        api_key: \${CEPA_KEY}
        page_size: 50
        overlap: 5
        recheck_days: 36500
        recheck_max_requests: 1000
YAML
export CEPA_KEY=sandbox-demo
CFG=$T/config.yaml
ss migrate >/dev/null 2>&1
cc() { curl -sf "$SANDBOX_URL/_sandbox/cepa/$1"; }

# exact_set: the stored CEPA results are exactly the sandbox's tokens.
exact_set() {
  cc "expected?account=demo" >"$T/expected.json"
  sql_ex "
    WITH e AS (SELECT jsonb_array_elements_text(j->'ids') AS id FROM ex),
         d AS (SELECT r.vendor_key AS id FROM results r)
    SELECT (SELECT count(*) FROM (SELECT id FROM e EXCEPT SELECT id FROM d) x) || ' missing, ' ||
           (SELECT count(*) FROM (SELECT id FROM d EXCEPT SELECT id FROM e) y) || ' extra, ' ||
           (SELECT count(*) FROM e) || ' expected';"
}

# 1. Three new candidates arrive after each of the next 6 pages read at an
#    offset > 0: the DESC list shifts down under the sync, which re-reads
#    rather than skips, then reads the arrivals from the top.
cc "arrivals?account=demo&n=3&pages=6" >/dev/null
ss sync 2>"$T/run1.log" || { cat "$T/run1.log"; fail "first sync"; }
cc "arrivals?account=demo&n=0" >/dev/null
got=$(exact_set)
case "$got" in "0 missing, 0 extra, "*) ;; *) fail "shifting list: $got" ;; esac
arrived=$(( $(cc "expected?account=demo" | grep -o '"candidates":[0-9]*' | cut -d: -f2) - 400 ))
[ "$arrived" = 18 ] || fail "too few arrivals during the sync ($arrived)"
dups=$(q "SELECT count(*) - count(DISTINCT lower(email)) FROM candidates")
[ "$dups" = 0 ] || fail "$dups candidates stored twice"
pass "shifting list: $got; $arrived candidates arrived mid-sync, nobody missed or doubled"
grep -q "sandbox-demo" "$T/run1.log" && fail "the API key reached the log"
[ "$(q "SELECT count(*) FROM assessments WHERE raw ? 'id'")" = 3 ] || fail "GetTests catalogue not stored"
groups=$(q "SELECT count(*) FROM result_groups")
[ "$groups" -gt 0 ] || fail "no overall groups"
[ "$(q "SELECT count(*) FROM result_groups g WHERE (SELECT count(*) FROM result_group_members m
        WHERE m.group_id = g.id) <> 3")" = 0 ] || fail "an overall group without its three tests"
[ "$(q "SELECT count(*) FROM result_groups WHERE cefr_low IS NULL OR level_name IS NULL")" = 0 ] ||
  fail "an overall group without its level"
pass "catalogue (3 tests) and $groups overall groups with their members and CEFR ranks"
[ "$(q "SELECT count(*) FROM results WHERE status = 'completed' AND cefr_low IS NULL")" = 0 ] ||
  fail "a completed test without a CEFR rank"
[ "$(q "SELECT count(*) FROM results WHERE status = 'completed' AND raw->'reports'->'statements' ? '10'")" -gt 0 ] ||
  fail "report statements not kept"

# 2. A quiet sync stops after a page that changed nothing.
ss sync 2>"$T/run2.log" || { cat "$T/run2.log"; fail "second sync"; }
grep -q "caught up after 1 page" "$T/run2.log" || fail "incremental sync did not stop: $(grep -c GetCandidates "$T/run2.log")"
[ "$(q "SELECT results_inserted + results_updated FROM sync_runs ORDER BY id DESC LIMIT 1")" = 0 ] ||
  fail "a quiet sync changed results"
pass "quiet sync: caught up after one page, nothing rewritten"

# 3. The oldest unfinished tests complete and the oldest completed ones are
#    re-scored: deep in a DESC list, past where the sync stops paging.
cc "rescore?account=demo&n=2" >"$T/rescored.json"
cc "complete?account=demo&n=3" >"$T/done.json"
ss sync 2>"$T/run3.log" || { cat "$T/run3.log"; fail "third sync"; }
for pair in $(grep -o '"token":"[0-9]*","score":[0-9]*' "$T/done.json" "$T/rescored.json" |
              sed 's/.*"token":"\([0-9]*\)","score":\([0-9]*\)/\1=\2/'); do
  tok=${pair%=*} score=${pair#*=}
  row=$(q "SELECT status || ' ' || score::int FROM results WHERE vendor_key = '$tok'")
  [ "$row" = "completed $score" ] || fail "test $tok: stored \"$row\", vendor says completed $score"
done
[ "$(grep -o '"token"' "$T/done.json" | wc -l)" = 3 ] || fail "sandbox completed: $(cat "$T/done.json")"
got=$(exact_set)
case "$got" in "0 missing, 0 extra, "*) ;; *) fail "after completion: $got" ;; esac
pass "3 tests completed and 2 re-scored deep in the list were picked up; $got"

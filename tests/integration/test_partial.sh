#!/usr/bin/env bash
# Exit status 4, partial failure: something failed after something else was
# committed. (1, nothing committed, is test_cli's refused key.)
#  - a stream that fails after some of its windows were loaded keeps them,
#    and the next run resumes from its checkpoint;
#  - a sync without --vendor runs every account, and an account whose key is
#    refused does not stop the others.
source "$(dirname "$0")/lib.sh"
new_db
# One try per request and a share of 5xx: with this seed the first windows
# are served and a later one is not (the sandbox's faults are a seeded
# sequence per account, so the run is the same every time).
sandbox --reports 2000 --seed 7 --no-limits --fault-5xx 0.2
WINDOW="window: {initial_days: 20, max_days: 20, target_records: 100000}"
config "$WINDOW" "streams: [scores]" "rate_limits: [{requests: 1000, per_seconds: 1}]" \
  "http: {max_attempts: 1}"
ss migrate
set +e
ss sync 2>"$T/run1.log"; rc=$?
set -e
grep -q "HTTP 50[023]" "$T/run1.log" || fail "no injected 5xx failed the stream: $(tail -5 "$T/run1.log")"
[ $rc = 4 ] || fail "a stream that failed after loading windows should exit 4, got $rc"
run=$(q "SELECT concat_ws('|', status, windows > 0, error IS NOT NULL) FROM sync_runs")
[ "$run" = "partial|t|t" ] || fail "sync_runs says $run, want partial|t|t"
loaded=$(q "SELECT count(*) FROM results")
ckpt=$(q "SELECT cursor FROM checkpoints WHERE stream = 'scores'")
[ "$loaded" -gt 0 ] && [ -n "$ckpt" ] || fail "nothing committed before the failure ($loaded results)"
grep -q "partial" "$T/run1.log" || fail "the run does not say it was partial"
pass "stream failed after $loaded results (checkpoint $ckpt): exit 4"

# The same data without faults: the next run resumes from the checkpoint and
# ends with exactly the sandbox's completed reports.
kill "$SANDBOX_PID" && wait "$SANDBOX_PID" 2>/dev/null || true
rm -f "$T/port" # sandbox() waits for a fresh one
sandbox --reports 2000 --seed 7 --no-limits
config "$WINDOW" "streams: [scores]" "rate_limits: [{requests: 1000, per_seconds: 1}]"
ss sync 2>"$T/run2.log" || fail "the resumed sync exited $?: $(tail -5 "$T/run2.log")"
grep -q "sync from $ckpt" "$T/run2.log" || fail "the second run did not resume from $ckpt"
expected
assert_exact_set ids
pass "resumed from the checkpoint"

# Two accounts, one with a refused key, and no --vendor: the good account
# is synced, the other reported, exit 4.
cat >>"$CFG" <<'YAML'
      - name: stranger
        api_key: ${SANDBOX_STRANGER_KEY}
        streams: [scores]
        start_date: "2019-01-01"
YAML
export SANDBOX_STRANGER_KEY=sandbox-stranger # not an account of the sandbox: 401
before=$(q "SELECT count(*) FROM sync_runs")
set +e
ss sync 2>"$T/run3.log"; rc=$?
set -e
[ $rc = 4 ] || fail "one refused account of two should exit 4, got $rc: $(tail -5 "$T/run3.log")"
grep -q "stranger.*401" "$T/run3.log" || fail "the refused account is not reported: $(cat "$T/run3.log")"
runs=$(q "SELECT string_agg(a.account || ':' || r.status, ',' ORDER BY a.account)
          FROM sync_runs r JOIN vendor_accounts a ON a.id = r.account_id WHERE r.id > $before")
[ "$runs" = "demo:ok,stranger:failed" ] || fail "runs: $runs, want demo:ok,stranger:failed"
assert_exact_set ids
pass "a refused account does not stop the others: exit 4"

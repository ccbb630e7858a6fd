#!/usr/bin/env bash
# A sync killed with SIGKILL mid-way and started again ends with every
# completed report exactly once: the checkpoint only moves with the data.
source "$(dirname "$0")/lib.sh"
new_db
sandbox --reports 3000 --seed 23 --no-limits --fault-slow 1 --slow-ms 150
config "window: {initial_days: 10, min_seconds: 3600, max_days: 60, target_records: 40}" \
  "streams: [scores]" "rate_limits: [{requests: 1000, per_seconds: 1}]"
ss migrate

"$SS_BIN" --config "$CFG" sync >"$T/run1.log" 2>&1 &
pid=$!
# Wait until some windows are committed, then kill without warning.
for _ in $(seq 1 200); do
  n=$(q "SELECT count(*) FROM results")
  [ "$n" -gt 200 ] && break
  sleep 0.1
done
kill -9 "$pid" 2>/dev/null || fail "sync finished before it could be killed"
wait "$pid" 2>/dev/null || true
partial=$(q "SELECT count(*) FROM results")
ckpt=$(q "SELECT cursor FROM checkpoints WHERE stream = 'scores'")
[ -n "$ckpt" ] || fail "no checkpoint committed before the kill"
expected
total=$(json_get completed)
[ "$partial" -lt "$total" ] || fail "the first run was not interrupted ($partial of $total)"
pass "killed after $partial of $total results, checkpoint $ckpt"

# The killed run's audit row stays 'running'; the restart resumes.
ss sync >"$T/run2.log" 2>&1 || { cat "$T/run2.log"; fail "resumed sync failed"; }
grep -q "from $ckpt" "$T/run2.log" || fail "the second run did not resume from the checkpoint"
assert_exact_set ids

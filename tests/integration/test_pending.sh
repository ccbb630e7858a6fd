#!/usr/bin/env bash
# Results the vendor scores after the fact keep their completion date, so the
# checkpoint alone would never see them change. A sync re-reads the windows
# around stored results that are not final yet (recheck_days) and picks up
# the scores, without moving the checkpoint.
source "$(dirname "$0")/lib.sh"
new_db
sandbox --reports 2000 --seed 31 --no-limits
config "streams: [scores]" "recheck_days: 36500" "rate_limits: [{requests: 1000, per_seconds: 1}]"
ss migrate
ss sync 2>"$T/run1.log" || fail "first sync"
expected
assert_exact_set ids
pending=$(q "SELECT count(*) FROM results WHERE status = 'score_pending'")
[ "$pending" -gt 0 ] || fail "the sandbox served no pending results"
not_final=$(q "SELECT count(*) FROM results WHERE status IN ('score_pending', 'needs_review')")
ckpt=$(q "SELECT cursor FROM checkpoints WHERE stream = 'scores'")

scored=$(curl -sf "$SANDBOX_URL/_sandbox/emmersion/score-pending?account=demo" | grep -o '[0-9]*')
[ "$scored" = "$pending" ] || fail "sandbox scored $scored, database had $pending pending"

ss sync 2>"$T/run2.log" || fail "second sync"
grep -q "re-read $not_final results not final yet" "$T/run2.log" || fail "no re-read: $(cat "$T/run2.log")"
[ "$(q "SELECT sum(results_updated) FROM (SELECT * FROM sync_runs ORDER BY id DESC LIMIT 1) r")" = "$pending" ] ||
  fail "the re-read should update exactly the $pending newly scored results"
expected
assert_exact_set ids
[ "$(q "SELECT count(*) FROM results WHERE status = 'score_pending'")" = 0 ] || fail "still pending"
[ "$(q "SELECT count(*) FROM results WHERE status = 'completed' AND score IS NULL")" = 0 ] ||
  fail "completed results without a score"
# The re-read did not move the checkpoint backwards.
[ "$(q "SELECT cursor >= '$ckpt' FROM checkpoints WHERE stream = 'scores'")" = t ] || fail "checkpoint moved back"
pass "$pending results scored after the fact were picked up"

# Those still in review are read again next time; the scored ones are not.
ss sync 2>"$T/run3.log" || fail "third sync"
in_review=$(q "SELECT count(*) FROM results WHERE status = 'needs_review'")
grep -q "re-read $in_review results not final yet" "$T/run3.log" || fail "third run re-read: $(cat "$T/run3.log")"
pass "only results still not final are re-read"

#!/usr/bin/env bash
# End to end against the sandbox with the real vendor limits: every completed
# score report lands once; a second sync adds nothing and rewrites nothing;
# the sandbox never had to send a 429.
source "$(dirname "$0")/lib.sh"
new_db
sandbox --reports 3000 --accounts demo,other --seed 7
config "window: {initial_days: 30, target_records: 300}" "streams: [scores, assignments]"

ss migrate
ss migrate | grep -q . || true
[ "$(q "SELECT count(*) FROM schema_migrations")" -ge 1 ] || fail "no migration recorded"

ss sync || fail "sync exited $?"
expected
assert_exact_set ids
# Every loaded row belongs to the right account and has its raw JSON.
[ "$(q "SELECT count(*) FROM results WHERE raw IS NULL OR candidate_id IS NULL")" = 0 ] || fail "rows without raw JSON or candidate"
[ "$(q "SELECT count(DISTINCT candidate_id) FROM results WHERE status='completed'")" -gt 100 ] || fail "too few candidates"
# Assignments add the attempts not finished yet.
[ "$(q "SELECT count(*) FROM results WHERE status IN ('not_started','in_progress')")" -gt 0 ] || fail "assignments stream loaded nothing"

before=$(q "SELECT sum(xmin::text::bigint) FROM results")
cand_before=$(q "SELECT sum(xmin::text::bigint) FROM candidates")
ss sync || fail "second sync exited $?"
after=$(q "SELECT sum(xmin::text::bigint) FROM results")
cand_after=$(q "SELECT sum(xmin::text::bigint) FROM candidates")
[ "$before" = "$after" ] || fail "second sync rewrote results"
[ "$cand_before" = "$cand_after" ] || fail "second sync rewrote candidates"
last=$(q "SELECT sum(results_inserted + results_updated) FROM (SELECT * FROM sync_runs ORDER BY id DESC LIMIT 2) r")
[ "$last" = 0 ] || fail "second sync reported $last inserted/updated results"
assert_exact_set ids
pass "second sync: nothing new, nothing rewritten"

curl -sf "$SANDBOX_URL/_sandbox/stats" >"$T/stats.json"
n429=$(sql_json "$T/stats.json" "SELECT (j->'emmersion'->'demo'->>'sent_429')::int FROM ex;")
peak=$(sql_json "$T/stats.json" "SELECT (j->'emmersion'->'demo'->>'peak_1s')::int FROM ex;")
[ "$n429" = 0 ] || fail "the sandbox sent $n429 429s: $(cat "$T/stats.json")"
[ "$peak" -le 5 ] || fail "peak of $peak requests in one second"
[ "$(q "SELECT sum(status_429) FROM sync_runs")" = 0 ] || fail "scoresync saw 429s"
pass "no 429 under the real limits ($(q "SELECT sum(requests) FROM sync_runs") requests)"

# The other account's data did not leak into this one.
[ "$(q "SELECT count(*) FROM vendor_accounts")" = 1 ] || fail "unexpected accounts"

# Every stored time is the vendor's text as PostgreSQL reads it (7 fraction
# digits rounded to the microsecond, not truncated), and so is every duration.
bad=$(q "SELECT count(*) FROM results WHERE stream = 'scores' AND (
           started_at IS DISTINCT FROM (raw->>'started')::timestamptz OR
           completed_at IS DISTINCT FROM (raw->>'completed')::timestamptz OR
           duration IS DISTINCT FROM (raw->>'duration')::interval)")
checked=$(q "SELECT count(*) FROM results WHERE stream = 'scores' AND raw->>'completed' ~ '\.[0-9]{7}'")
[ "$checked" -gt 0 ] || fail "no 7-digit fractions served"
[ "$bad" = 0 ] || fail "$bad results whose times differ from (raw->>'field')::timestamptz"
pass "times and durations equal PostgreSQL's reading of the raw text ($checked with 7 digits)"

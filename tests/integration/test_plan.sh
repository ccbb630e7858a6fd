#!/usr/bin/env bash
# `scoresync plan backfill` against the sandbox (Emmersion, limits scaled up):
#   1. a fresh database: the plan samples the vendor (the requests it prints
#      are the requests the sandbox served), then the backfill runs and
#      spends within 10% of the plan;
#   2. after it, the plan of the same range reads the stored density, sends
#      nothing, is within 10% again and says the backfill is done; the plan
#      of a range that is not done times it, and that time is a lower bound
#      of the backfill's;
#   3. an account whose response cap keeps the samples from reading
#      everything: the extrapolation, against what its backfill spends;
#   4. usage errors exit 2, an unknown vendor or account 3, a stream that is
#      not read in date windows 2 with the reason, before sending anything.
source "$(dirname "$0")/lib.sh"
new_db
sandbox --reports 3000 --seed 5 --rate-scale 4 --accounts demo,tight
LIMITS='rate_limits: [{requests: 20, per_seconds: 1}, {requests: 8000, per_seconds: 1200}]'
WINDOW='window: {initial_days: 30, min_seconds: 60, max_days: 365, target_records: 50}'
cat >"$T/config.yaml" <<YAML
database:
  url: \${DATABASE_URL}
scales: $SS_SOURCE_DIR/config/scales.yaml
migrations: $SS_SOURCE_DIR/sql
vendors:
  emmersion:
    base_url: $SANDBOX_URL/emmersion/2020q3
    $LIMITS
    accounts:
      - name: demo
        api_key: \${SANDBOX_EMMERSION_KEY}
        streams: [scores]
        $WINDOW
      - name: tight
        api_key: \${SANDBOX_TIGHT_KEY}
        streams: [scores]
        window: {initial_days: 30, min_seconds: 60, max_days: 365, target_records: 60}
        http: {max_response_bytes: 500000}
  cepa:
    base_url: $SANDBOX_URL/cepa/api/v2
    accounts:
      - name: demo
        api_key: \${CEPA_KEY}
YAML
export SANDBOX_EMMERSION_KEY=sandbox-demo SANDBOX_TIGHT_KEY=sandbox-tight CEPA_KEY=sandbox-demo
CFG=$T/config.yaml
ss migrate >/dev/null 2>&1
SINCE=2019-01-01
UNTIL=2026-11-01

# served VENDOR ACCOUNT: requests the sandbox accepted for it so far.
served() {
  curl -sf "$SANDBOX_URL/_sandbox/stats" >"$T/stats.json"
  sql_json "$T/stats.json" "SELECT j->'$1'->'$2'->>'accepted' FROM ex;"
}
# pj FILE EXPR: a value of the plan document FILE (j), e.g. "j->>'requests'".
pj() { sql_json "$1" "SELECT $2 FROM ex;"; }
# spent ACCOUNT: requests of the account's last backfill run.
spent() {
  q "SELECT r.requests FROM sync_runs r JOIN vendor_accounts a ON a.id = r.account_id
     WHERE a.account = '$1' AND r.mode = 'backfill' ORDER BY r.id DESC LIMIT 1"
}
# within PLANNED SPENT PCT WHAT: |planned - spent| <= PCT% of spent.
within() {
  awk -v p="$1" -v s="$2" -v pct="$3" 'BEGIN {d = p - s; if (d < 0) d = -d; exit !(s > 0 && d <= s * pct / 100)}' ||
    fail "$4: planned $1 requests, the backfill spent $2 (more than $3% apart)"
}

# ---- 1. fresh database: sampled ----------------------------------------------
before=$(served emmersion demo)
ss plan backfill --vendor emmersion --account demo --since $SINCE --until $UNTIL --json \
  >"$T/plan1.json" 2>"$T/plan1.log" || fail "plan exited $?: $(cat "$T/plan1.log")"
after=$(served emmersion demo)
source1=$(pj "$T/plan1.json" "j->'streams'->0->>'source'")
planned1=$(pj "$T/plan1.json" "j->>'requests'")
samples1=$(pj "$T/plan1.json" "j->>'sample_requests'")
[ "$source1" = sampled ] || fail "a fresh database should be sampled, got '$source1'"
[ "$samples1" -gt 0 ] || fail "no sample requests reported"
[ $((after - before)) = "$samples1" ] ||
  fail "the plan says it sent $samples1 sample requests, the sandbox served $((after - before))"
[ "$(q "SELECT count(*) FROM results") $(q "SELECT count(*) FROM checkpoints")" = "0 0" ] ||
  fail "the plan loaded something"
pass "fresh database: density sampled, $samples1 sample requests (= served), nothing loaded"

ss plan backfill --vendor emmersion --account demo --since $SINCE --until $UNTIL >"$T/plan1.txt" \
  2>/dev/null || fail "plan (text) exited $?"
for want in "^plan: backfill emmersion/demo 2019-01-01" "^scores: [0-9]+ requests" \
  "^scores: density sampled" "^samples: [0-9]+ requests sent by this plan" \
  "^budget now: [0-9]+ of 20 per 1 s held, [0-9]+ of 8000 per 1200 s held" \
  "^duration: at least .* \(a lower bound"; do
  grep -Eq "$want" "$T/plan1.txt" || fail "plan text lacks /$want/: $(cat "$T/plan1.txt")"
done

before=$(served emmersion demo)
ss backfill --vendor emmersion --account demo --since $SINCE --until $UNTIL 2>"$T/bf1.log" ||
  fail "backfill exited $?: $(tail -5 "$T/bf1.log")"
spent1=$(spent demo)
served1=$(($(served emmersion demo) - before))
[ "$served1" = "$spent1" ] || fail "sync_runs says the backfill sent $spent1 requests, the sandbox served $served1"
echo "sampled plan: $planned1 requests (+ $samples1 sample requests); the backfill spent $spent1"
within "$planned1" "$spent1" 10 "sampled"
pass "sampled plan within 10%: planned $planned1, spent $spent1"

# ---- 2. the same range again: stored -----------------------------------------
before=$(served emmersion demo)
ss plan backfill --vendor emmersion --account demo --since $SINCE --until $UNTIL --json \
  >"$T/plan2.json" 2>"$T/plan2.log" || fail "plan exited $?: $(cat "$T/plan2.log")"
[ "$(served emmersion demo)" = "$before" ] || fail "a plan from stored density sent requests"
read -r source2 planned2 samples2 resume_left held < <(pj "$T/plan2.json" "concat_ws(' ',
  j->'streams'->0->>'source', j->>'requests', j->>'sample_requests',
  j->'streams'->0->'resume'->>'requests', j->'limits'->1->>'held')")
[ "$source2" = stored ] || fail "after the backfill the plan should use stored density, got '$source2'"
[ "$samples2" = 0 ] || fail "stored plan reported $samples2 sample requests"
[ "$resume_left" = 0 ] || fail "the finished backfill should resume with 0 requests, got '$resume_left'"
[ "$held" -ge "$spent1" ] || fail "the backfill's $spent1 requests are not held in the 20-minute window ($held)"
echo "stored plan: $planned2 requests; the backfill spent $spent1"
within "$planned2" "$spent1" 10 "stored"
pass "stored plan within 10%: planned $planned2, spent $spent1; no request sent; $held held by the backfill"

# A range that is not done: its time at the limits is a lower bound.
sleep 1.2 # the 1 s window of the last backfill is over
S2=2019-01-01T00:00:01Z
ss plan backfill --vendor emmersion --account demo --since $S2 --until $UNTIL --json \
  >"$T/plan3.json" 2>/dev/null || fail "plan 3 exited $?"
read -r source3 planned3 dur3 < <(pj "$T/plan3.json" "concat_ws(' ', j->'streams'->0->>'source',
  j->>'requests', j->>'duration_seconds')")
[ "$source3" = stored ] || fail "a range inside the backfilled one should be stored, got $source3"
t0=$(date +%s.%N)
ss backfill --vendor emmersion --account demo --since $S2 --until $UNTIL 2>"$T/bf2.log" ||
  fail "backfill 2 exited $?"
elapsed=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
spent3=$(spent demo)
echo "plan of the second range: $planned3 requests, at least $dur3 s; the backfill: $spent3 requests in $elapsed s"
within "$planned3" "$spent3" 10 "stored (second range)"
awk -v e="$elapsed" -v d="$dur3" 'BEGIN {exit !(d > 1 && e >= d * 0.95)}' ||
  fail "the planned duration $dur3 s is not a lower bound of the backfill's $elapsed s"
pass "planned duration $dur3 s <= the backfill's $elapsed s"

# A sync's checkpoint covers from start_date (here the default, 2015) to its cursor.
ss sync --vendor emmersion --account demo 2>"$T/sync.log" || fail "sync exited $?: $(tail -3 "$T/sync.log")"
cursor=$(q "SELECT c.cursor FROM checkpoints c JOIN vendor_accounts a ON a.id = c.account_id
            WHERE a.account = 'demo' AND c.stream = 'scores'")
before=$(served emmersion demo)
ss plan backfill --vendor emmersion --account demo --since 2016-06-01 --until "$cursor" --json \
  >"$T/plan5.json" 2>/dev/null || fail "plan 5 exited $?"
[ "$(served emmersion demo)" = "$before" ] || fail "a range the sync covered was sampled"
got=$(pj "$T/plan5.json" "concat_ws(' ', j->'streams'->0->>'source', j->'streams'->0->>'covered')")
[ "$got" = "stored 1.0000" ] || fail "the sync's reach should be stored density, got '$got'"
pass "the sync's checkpoint covers 2016 .. $cursor: stored density, no request"

# ---- 3. samples that cannot read everything ---------------------------------
ss plan backfill --vendor emmersion --account tight --since $SINCE --until $UNTIL --json \
  >"$T/plan4.json" 2>"$T/plan4.log" || fail "plan (tight) exited $?: $(cat "$T/plan4.log")"
read -r planned4 share4 unc4 < <(pj "$T/plan4.json" "concat_ws(' ', j->>'requests',
  j->'streams'->0->>'sampled_share', j->'streams'->0->>'uncertainty')")
awk -v s="$share4" 'BEGIN {exit !(s > 0.05 && s < 0.9)}' || fail "the samples read a share of $share4"
ss backfill --vendor emmersion --account tight --since $SINCE --until $UNTIL 2>"$T/bf4.log" ||
  fail "backfill (tight) exited $?"
spent4=$(spent tight)
echo "partly sampled plan (samples read $share4 of the range, records +-$unc4): $planned4 requests; the backfill spent $spent4"
within "$planned4" "$spent4" 20 "partly sampled"
pass "partly sampled plan: planned $planned4, spent $spent4"

# ---- 4. errors ---------------------------------------------------------------
expect() { # expect RC PATTERN ARGS...: exit status and a message
  local want=$1 pat=$2 rc
  shift 2
  set +e
  ss "$@" >"$T/out" 2>"$T/err"
  rc=$?
  set -e
  [ "$rc" = "$want" ] || fail "$* exited $rc, not $want: $(cat "$T/err")"
  grep -Eq -- "$pat" "$T/err" || fail "$*: no /$pat/ in: $(cat "$T/err")"
}
expect 2 "needs --vendor and --since" plan backfill --vendor emmersion --account demo
expect 2 'unknown plan "sync"' plan sync --vendor emmersion --since $SINCE
expect 2 "what to plan" plan --vendor emmersion --since $SINCE
expect 2 "--until is not after --since" plan backfill --vendor emmersion --account demo --since 2020-01-01 --until 2019-01-01
expect 2 "--samples" plan backfill --vendor emmersion --account demo --since $SINCE --samples 0
expect 2 "has 2 accounts: choose one with --account" plan backfill --vendor emmersion --since $SINCE
expect 3 'vendor "nosuch" is not configured' plan backfill --vendor nosuch --since $SINCE
expect 3 'has no account "nobody"' plan backfill --vendor emmersion --account nobody --since $SINCE
expect 3 'has no stream "pdfs"' plan backfill --vendor emmersion --account demo --stream pdfs --since $SINCE
cepa_before=$(served cepa demo)
expect 2 "cepa/demo candidates: cannot plan: not read in date windows: it reads the test catalogue, then an offset-paged list" \
  plan backfill --vendor cepa --since $SINCE
grep -q "plan supports streams read in date windows" "$T/err" || fail "no hint: $(cat "$T/err")"
[ "$(served cepa demo)" = "$cepa_before" ] || fail "planning an unsupported stream sent requests"
n429=$(sql_json "$T/stats.json" "SELECT (j->'emmersion'->'demo'->>'sent_429')::int + (j->'emmersion'->'tight'->>'sent_429')::int FROM ex;")
[ "$n429" = 0 ] || fail "$n429 responses 429"
pass "usage 2, unknown vendor/account/stream 3, unsupported stream 2 with its reason (nothing sent), 0 429s"

#!/usr/bin/env bash
# sync --jobs N (issue 14): accounts synced at once, each within its own
# vendor budget. Three sandbox accounts under the real limits (5 requests/s
# each) and small windows, so each account's sync is bound by its requests:
#  - --jobs 1 and --jobs 3, each into a fresh database, load every account's
#    results exactly as the sandbox served them, with no 429, and the
#    parallel run takes at most half the serial time (~1/3 expected);
#  - one verdict line per account on stdout, with the account's own counts;
#  - under --jobs 3 an account whose key is refused fails alone: the other
#    two load, its line says failed, exit 4.
source "$(dirname "$0")/lib.sh"
ACCOUNTS="a1 a2 a3"
EXTRA_DBS=()
trap 'for d in "${EXTRA_DBS[@]}"; do psql "$SS_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1; done; _cleanup' EXIT

# use_db NAME: a fresh database (dropped at exit); sets DB_URL and DATABASE_URL.
use_db() {
  local name="ss_it_jobs_$1_$$"
  psql "$SS_TEST_DATABASE_URL" -qc "CREATE DATABASE $name" >/dev/null
  EXTRA_DBS+=("$name")
  DB_URL=$(printf '%s' "$SS_TEST_DATABASE_URL" | sed "s|:///[^?]*|:///$name|")
  export DATABASE_URL=$DB_URL
}

sandbox --reports 300 --seed 5 --accounts a1,a2,a3
# Windows of ~10 records: each account needs a few dozen requests, ~5 s at
# 5 requests/s. The client's limits are the sandbox's (the vendor defaults).
cat >"$T/config.yaml" <<YAML
database:
  url: \${DATABASE_URL}
  batch_rows: 100
scales: $SS_SOURCE_DIR/config/scales.yaml
migrations: $SS_SOURCE_DIR/sql
vendors:
  emmersion:
    base_url: $SANDBOX_URL/emmersion/2020q3
    accounts:
YAML
for a in $ACCOUNTS; do
  cat >>"$T/config.yaml" <<YAML
      - name: $a
        api_key: \${KEY_$a}
        streams: [scores]
        start_date: "2019-01-01"
        window: {initial_days: 30, target_records: 10}
YAML
  export "KEY_$a=sandbox-$a"
done
CFG=$T/config.yaml

# check_loaded A: account A's completed results are exactly the ids the
# sandbox served it, each once.
check_loaded() {
  curl -sf "$SANDBOX_URL/_sandbox/emmersion/expected?account=$1" >"$T/expected.json"
  local diff
  diff=$(sql_ex "
    WITH e AS (SELECT jsonb_array_elements_text(j->'ids') AS id FROM ex),
         d AS (SELECT r.vendor_key AS id FROM results r JOIN vendor_accounts va ON va.id = r.account_id
               WHERE va.account = '$1' AND r.status = 'completed')
    SELECT (SELECT count(*) FROM (SELECT id FROM e EXCEPT SELECT id FROM d) x) || ' missing, ' ||
           (SELECT count(*) FROM (SELECT id FROM d EXCEPT SELECT id FROM e) y) || ' extra, ' ||
           (SELECT count(*) FROM d) || ' loaded, ' || (SELECT count(*) FROM e) || ' expected';")
  case "$diff" in
    "0 missing, 0 extra, "*) echo "$1: $diff" ;;
    *) fail "account $1 differs from the sandbox: $diff" ;;
  esac
}

# sandbox_429: 429s the sandbox has sent to all three accounts so far.
sandbox_429() {
  curl -sf "$SANDBOX_URL/_sandbox/stats" >"$T/stats.json"
  sql_json "$T/stats.json" "SELECT sum((j->'emmersion'->a->>'sent_429')::int) FROM ex,
                              unnest(ARRAY['a1','a2','a3']) a;"
}

# timed_sync JOBS LABEL: syncs into a fresh database; sets SECS, RC; the
# verdict lines in $T/LABEL.out, the log in $T/LABEL.log.
timed_sync() {
  use_db "$2"
  ss -q migrate
  local t0 t1
  t0=$(date +%s.%N)
  set +e
  ss sync --jobs "$1" >"$T/$2.out" 2>"$T/$2.log"
  RC=$?
  set -e
  t1=$(date +%s.%N)
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
}

# verdicts_match LABEL: each account's verdict line says ok with the counts
# sync_runs recorded for it.
verdicts_match() {
  for a in $ACCOUNTS; do
    want=$(q "SELECT 'emmersion/$a: ok, 1 stream, results ' || sum(r.results_inserted) || ' new, ' ||
                     sum(r.results_updated) || ' updated, ' || sum(r.quarantined) || ' quarantined, ' ||
                     sum(r.requests) || ' requests, ' || sum(r.status_429) || ' 429s'
              FROM sync_runs r JOIN vendor_accounts va ON va.id = r.account_id WHERE va.account = '$a'")
    grep -qxF "$want" "$T/$1.out" || fail "$1: no line \"$want\" in: $(cat "$T/$1.out")"
  done
  [ "$(wc -l <"$T/$1.out")" = 3 ] || fail "$1: not one line per account: $(cat "$T/$1.out")"
}

timed_sync 1 serial
[ "$RC" = 0 ] || fail "--jobs 1 exited $RC: $(tail -5 "$T/serial.log")"
SERIAL=$SECS
for a in $ACCOUNTS; do check_loaded "$a"; done
verdicts_match serial
[ "$(sandbox_429)" = 0 ] || fail "the sandbox sent 429s to the serial run: $(cat "$T/stats.json")"
serial_req=$(q "SELECT sum(requests) FROM sync_runs")
pass "--jobs 1: three accounts loaded in ${SERIAL} s, $serial_req requests, 0 429s"

# The parallel run's database knows nothing of the serial run's requests,
# so its limiters start empty: let the sandbox's 1-second window pass.
sleep 2
timed_sync 3 parallel
[ "$RC" = 0 ] || fail "--jobs 3 exited $RC: $(tail -5 "$T/parallel.log")"
PARALLEL=$SECS
for a in $ACCOUNTS; do check_loaded "$a"; done
verdicts_match parallel
n429=$(sandbox_429)
[ "$n429" = 0 ] || fail "the sandbox sent $n429 429s: $(cat "$T/stats.json")"
[ "$(q "SELECT sum(status_429) FROM sync_runs")" = 0 ] || fail "scoresync saw 429s"
# The three accounts' runs overlapped in time (not one after another).
overlap=$(q "SELECT count(*) FROM sync_runs a JOIN sync_runs b ON a.id < b.id
             WHERE a.started_at < b.finished_at AND b.started_at < a.finished_at")
[ "$overlap" = 3 ] || fail "only $overlap of 3 pairs of account runs overlapped"
ratio=$(awk -v p="$PARALLEL" -v s="$SERIAL" 'BEGIN {printf "%.2f", p / s}')
echo "serial ${SERIAL} s, --jobs 3 ${PARALLEL} s, ratio $ratio"
awk -v r="$ratio" 'BEGIN {exit !(r <= 0.5)}' || fail "--jobs 3 took $ratio of the serial time (want <= 0.5)"
pass "--jobs 3: three accounts loaded in ${PARALLEL} s = $ratio of the serial ${SERIAL} s, 0 429s"

# A refused key under --jobs 3: the other two accounts load, exit 4.
sleep 2
export KEY_a2=sandbox-wrong
timed_sync 3 refused
[ "$RC" = 4 ] || fail "one refused account of three should exit 4, got $RC: $(tail -5 "$T/refused.log")"
grep -q "^emmersion/a2: failed: .*401" "$T/refused.out" || fail "a2's verdict: $(cat "$T/refused.out")"
grep -q "^emmersion/a1: ok, 1 stream, results [1-9]" "$T/refused.out" || fail "a1's verdict: $(cat "$T/refused.out")"
grep -q "^emmersion/a3: ok, 1 stream, results [1-9]" "$T/refused.out" || fail "a3's verdict: $(cat "$T/refused.out")"
grep -q "sandbox-wrong" "$T/refused.out" "$T/refused.log" && fail "the refused key was printed"
check_loaded a1
check_loaded a3
[ "$(q "SELECT count(*) FROM results r JOIN vendor_accounts va ON va.id = r.account_id
        WHERE va.account = 'a2'")" = 0 ] || fail "results loaded for the refused account"
[ "$(sandbox_429)" = 0 ] || fail "the sandbox sent 429s: $(cat "$T/stats.json")"
pass "a refused key under --jobs 3: a1 and a3 loaded, a2 failed, exit 4 ($(grep '^emmersion/a2' "$T/refused.out"))"

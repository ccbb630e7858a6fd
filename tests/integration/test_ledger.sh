#!/usr/bin/env bash
# The request ledger (issue 14): a backfill and the nightly sync of one account
# run side by side, sharing the account's budget through request_ledger, and a
# third holder on "another host" (a psql session calling
# scoresync_request_grant) is counted too. The sandbox's limits are scaled to
# 25/s and 10,000 per 20 min and scoresync is configured to match; small
# windows make each run request-bound.
#   - both runs exit 0 and start at once (neither waits for the other's lock);
#   - the sandbox sent no 429 and saw at most 25 requests in any second;
#   - from the ledger's server timestamps, every holder included: no span of
#     1 s (nor 1 s + the margin) ever held more than 25 grants;
#   - every request the sandbox saw was a ledger grant of a scoresync holder;
#   - while the psql holder took grants (it sleeps with pg_sleep's whole
#     milliseconds, so it comes back late, and still gets its turn: waiters
#     are served first come, first served), the scoresync processes sent
#     correspondingly fewer requests (they yielded budget to it);
#   - the share of the limit used while both ran is reported, >= 0.85;
#   - a second sync of the same stream, started meanwhile, still waits 20 s
#     for the first one's lock and fails with exit 1, sending nothing.
source "$(dirname "$0")/lib.sh"
new_db
L=25
sandbox --reports 2000 --seed 5 --rate-scale 5
config "window: {initial_days: 1, min_seconds: 60, max_days: 1, target_records: 5}" \
  "streams: [scores]" "rate_limits: [{requests: $L, per_seconds: 1}, {requests: 10000, per_seconds: 1200}]"
sed -i "s/start_date: .*/start_date: \"$(date -u -d '-700 days' +%F)\"/" "$CFG"
ss migrate >/dev/null 2>&1

# The sync reads 700 one-day windows (28 s at the full limit, so it still holds
# its lock when the second sync gives up), the backfill 250.
t0=$(date +%s.%N)
ss -q sync >"$T/sync.log" 2>&1 &
sync_pid=$!
ss -q backfill --vendor emmersion --since "$(date -u -d '-250 days' +%F)" >"$T/backfill.log" 2>&1 &
bf_pid=$!

# A second sync of the same stream once the first holds its lock.
for _ in $(seq 1 100); do
  [ "$(q "SELECT count(*) FROM sync_runs WHERE mode = 'sync'")" -ge 1 ] && break
  sleep 0.1
done
s2_start=$(date +%s.%N)
( set +e; ss sync >"$T/sync2.log" 2>&1; echo $? >"$T/sync2.rc"; date +%s.%N >"$T/sync2.end" ) &
s2_pid=$!

# The third holder: another host's client of the same account, as greedy as
# the two scoresync processes for 6 s, each grant in its own transaction. It
# sleeps as told, with pg_sleep's whole milliseconds (up to 1 ms late): the
# ledger serves waiters first come, first served, so it still gets its turn.
sleep 3
acct=$(q "SELECT id FROM vendor_accounts WHERE vendor = 'emmersion' AND account = 'demo'")
psql "$DB_URL" -XAtq >"$T/psql.out" 2>&1 <<SQL &
SELECT pg_backend_pid();
DO \$\$
DECLARE
  w bigint;
  t_end timestamptz := clock_timestamp() + interval '6 s';
BEGIN
  WHILE clock_timestamp() < t_end LOOP
    w := scoresync_request_grant($acct, '{$L,10000}', '{1000,1200000}', 50, 1);
    COMMIT;
    PERFORM pg_sleep(w / 1e6);
  END LOOP;
END
\$\$;
SQL
psql_pid=$!

set +e
wait $sync_pid; sync_rc=$?
wait $bf_pid; bf_rc=$?
wait $psql_pid; psql_rc=$?
wait $s2_pid
set -e
t1=$(date +%s.%N)
[ "$sync_rc" = 0 ] || { cat "$T/sync.log"; fail "sync exited $sync_rc"; }
[ "$bf_rc" = 0 ] || { cat "$T/backfill.log"; fail "backfill exited $bf_rc"; }
[ "$psql_rc" = 0 ] || { cat "$T/psql.out"; fail "the psql holder failed"; }
holder3=$(head -1 "$T/psql.out")
echo "elapsed $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s"

# The second sync waited for the lock and failed, as before the ledger.
s2_rc=$(cat "$T/sync2.rc")
s2_wait=$(awk -v a="$s2_start" -v b="$(cat "$T/sync2.end")" 'BEGIN {printf "%.1f", b - a}')
[ "$s2_rc" = 1 ] || { cat "$T/sync2.log"; fail "a second sync of the same stream exited $s2_rc, not 1"; }
grep -q "another scoresync sync of stream scores is running for this account (waited 20s)" "$T/sync2.log" ||
  fail "the second sync's error: $(cat "$T/sync2.log")"
awk -v w="$s2_wait" 'BEGIN {exit !(w >= 19.5)}' || fail "the second sync gave up after $s2_wait s"
pass "a second sync of the same stream waited ${s2_wait} s and failed (exit 1)"

# Which ledger holders are the two scoresync processes: every holder but psql's.
[ "$(q "SELECT count(DISTINCT holder) FROM request_ledger WHERE holder <> $holder3")" = 2 ] ||
  fail "expected two scoresync holders: $(q "SELECT holder, count(*) FROM request_ledger GROUP BY 1")"
# Both started sending at once: neither waited for the other's lock.
gap=$(q "SELECT round(extract(epoch FROM max(f) - min(f))::numeric, 2) FROM
         (SELECT min(at) f FROM request_ledger WHERE holder <> $holder3 GROUP BY holder) s")
awk -v g="$gap" 'BEGIN {exit !(g < 3)}' || fail "the second process began ${gap} s after the first"
pass "sync and backfill both exited 0, their first requests ${gap} s apart"

# The sandbox: no 429, never more than L in a second, and exactly the
# requests the scoresync holders were granted.
curl -sf "$SANDBOX_URL/_sandbox/stats" >"$T/stats.json"
read -r accepted n429 peak < <(sql_json "$T/stats.json" "SELECT concat_ws(' ',
  j->'emmersion'->'demo'->>'accepted', j->'emmersion'->'demo'->>'sent_429',
  j->'emmersion'->'demo'->>'peak_1s') FROM ex;")
granted=$(q "SELECT count(*) FROM request_ledger WHERE holder <> $holder3")
sent=$(q "SELECT sum(requests) FROM sync_runs")
[ "$n429" = 0 ] || fail "the sandbox sent $n429 429s: $(cat "$T/stats.json")"
[ "$peak" -le $L ] || fail "the sandbox saw $peak requests in one second"
[ "$accepted" = "$granted" ] || fail "the sandbox saw $accepted requests, the ledger granted $granted"
[ "$sent" = "$granted" ] || fail "sync_runs counts $sent requests, the ledger granted $granted"
pass "sandbox: $accepted requests, each a ledger grant, 0 429s, peak $peak in 1 s (limit $L)"

# Every holder together: no span of P (nor P + margin) ever held more than L.
busiest() {
  q "SELECT max(c) FROM (SELECT (SELECT count(*) FROM request_ledger b WHERE b.at >= a.at
       AND b.at < a.at + interval '$1') c FROM request_ledger a) s"
}
b1=$(busiest '1 s'); b2=$(busiest '1050 ms')
[ "$b1" -le $L ] && [ "$b2" -le $L ] || fail "$b1 grants in a span of 1 s, $b2 in 1.05 s (limit $L)"
pass "ledger, all 3 holders: at most $b1 grants in any 1 s, $b2 in any 1.05 s"

# While the psql holder took grants, scoresync sent fewer: psql got a fair
# part of the grants of its stretch (three greedy holders: about a third), all
# of them together stayed within the limit over that stretch, and scoresync's
# rate fell by about psql's.
read -r p_n p_secs s_in s_out out_secs < <(q "
  WITH p AS (SELECT min(at) a, max(at) b, count(*) n FROM request_ledger WHERE holder = $holder3),
       o AS (SELECT max(f) a, min(l) b FROM (SELECT min(at) f, max(at) l FROM request_ledger
             WHERE holder <> $holder3 GROUP BY holder) s)
  SELECT concat_ws(' ', p.n, round(extract(epoch FROM p.b - p.a)::numeric, 3),
    (SELECT count(*) FROM request_ledger r WHERE r.holder <> $holder3 AND r.at BETWEEN p.a AND p.b),
    (SELECT count(*) FROM request_ledger r WHERE r.holder <> $holder3 AND r.at BETWEEN o.a AND o.b
       AND r.at NOT BETWEEN p.a AND p.b),
    round(extract(epoch FROM (o.b - o.a) - (p.b - p.a))::numeric, 3)) FROM p, o")
awk -v pn="$p_n" -v ps="$p_secs" -v si="$s_in" -v so="$s_out" -v os="$out_secs" -v l=$L 'BEGIN {
  rin = si / ps; rout = so / os; rp = pn / ps
  printf "psql holder: %d grants in %.2f s (%.1f/s, %.0f%% of that stretch); scoresync %.1f/s meanwhile, %.1f/s in the other %.1f s of the overlap\n",
    pn, ps, rp, 100 * pn / (pn + si), rin, rout, os
  exit !(pn >= 0.2 * (pn + si) && si + pn <= l * (ps + 1.05) && rin < rout - 0.3 * rp)
}' || fail "scoresync did not yield the psql holder's share"
pass "scoresync yielded to the psql holder"

# The share of the limit used while both scoresync processes ran.
read -r n secs < <(q "
  WITH o AS (SELECT max(f) a, min(l) b FROM (SELECT min(at) f, max(at) l FROM request_ledger
             WHERE holder <> $holder3 GROUP BY holder) s)
  SELECT concat_ws(' ', count(*), round(extract(epoch FROM o.b - o.a)::numeric, 3))
  FROM request_ledger r, o WHERE r.at BETWEEN o.a AND o.b GROUP BY o.a, o.b")
share=$(awk -v n="$n" -v s="$secs" -v l=$L 'BEGIN {printf "%.3f", n / (l * s)}')
split=$(q "WITH o AS (SELECT max(f) a, min(l) b FROM (SELECT min(at) f, max(at) l FROM request_ledger
             WHERE holder <> $holder3 GROUP BY holder) s)
  SELECT string_agg(n::text, ' + ' ORDER BY n DESC) FROM (SELECT count(*) n FROM request_ledger r, o
  WHERE r.at BETWEEN o.a AND o.b GROUP BY r.holder) c")
echo "overlap: $n grants ($split by holder) in $secs s = $share of the limit of $L/s"
awk -v s="$share" 'BEGIN {exit !(s >= 0.85 && s <= 1.0)}' || fail "share $share of the limit"
pass "share of the limit over the overlap: $share"

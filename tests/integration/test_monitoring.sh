#!/usr/bin/env bash
# Monitoring: `status --check` (exit 0 healthy; 6 with one line per failed,
# stale or never-synced stream), `status --json`, and the Prometheus metrics
# file written at the end of a run (values as in sync_runs, atomic).
source "$(dirname "$0")/lib.sh"
new_db
sandbox --reports 400 --seed 3 --no-limits
config "streams: [scores]"
ss migrate
M=$T/metrics
mkdir "$M"

set +e
ss status --check >"$T/check0" 2>&1; rc=$?
ss status --check --max-age 1x >/dev/null 2>&1; rc_usage=$?
set -e
[ $rc = 6 ] || fail "status --check before any sync should exit 6, got $rc"
grep -q "^emmersion/demo scores: never synced" "$T/check0" || fail "never synced not reported: $(cat "$T/check0")"
[ $rc_usage = 2 ] || fail "a bad --max-age should exit 2, got $rc_usage"
pass "before the first sync: exit 6, never synced"

ss sync --metrics-file "$M/scoresync.prom" 2>"$T/sync1.log" || fail "sync exited $?"
ss status --check >"$T/check1" || fail "status --check after a good sync exited $?: $(cat "$T/check1")"
grep -q "^ok: 1 stream" "$T/check1" || fail "status --check: $(cat "$T/check1")"
pass "after a good sync: exit 0"

# status --json: one document, read back through PostgreSQL's jsonb.
ss status --json >"$T/status.json" || fail "status --json exited $?"
got=$(sql_json "$T/status.json" "
  SELECT concat_ws('|', j->>'healthy', a->>'vendor', a->>'account', s->>'stream',
                   s->'last_run'->>'status', s->'last_run'->>'results_new',
                   s->'last_run'->>'requests', s->>'checkpoint', a->>'results')
  FROM ex, jsonb_array_elements(j->'accounts') a, jsonb_array_elements(a->'streams') s;")
want=$(q "SELECT concat_ws('|', 'true', 'emmersion', 'demo', 'scores', r.status, r.results_inserted,
                 r.requests, c.cursor, (SELECT count(*) FROM results))
          FROM sync_runs r JOIN checkpoints c ON c.account_id = r.account_id AND c.stream = r.stream
          ORDER BY r.id DESC LIMIT 1")
[ "$got" = "$want" ] || fail "status --json says $got, sync_runs $want"
pass "status --json matches sync_runs: $got"

# The metrics file: well-formed, every series, values as in sync_runs.
P=$M/scoresync.prom
[ -s "$P" ] || fail "no metrics file"
[ -z "$(ls "$M" | grep -v '^scoresync.prom$')" ] || fail "temporary files left: $(ls "$M")"
grep -v '^#' "$P" | grep -Evq '^[a-z_0-9]+(\{([a-z_]+="[^"]*",?)+\})? -?[0-9.e+]+$' &&
  fail "malformed sample lines: $(grep -v '^#' "$P" | grep -Ev '^[a-z_0-9]+(\{([a-z_]+="[^"]*",?)+\})? -?[0-9.e+]+$')"
L='vendor="emmersion",account="demo",stream="scores",mode="sync"'
metric() { awk -v k="$1{$L${2:-}}" '$1 == k {print $2}' "$P"; }
row=$(q "SELECT concat_ws(' ', results_inserted, results_updated, results_unchanged, quarantined,
                          requests, retries, status_429) FROM sync_runs ORDER BY id DESC LIMIT 1")
have="$(metric scoresync_last_run_results ',outcome="new"') $(metric scoresync_last_run_results ',outcome="updated"') $(metric scoresync_last_run_results ',outcome="unchanged"') $(metric scoresync_last_run_quarantined) $(metric scoresync_last_run_requests) $(metric scoresync_last_run_retries) $(metric scoresync_last_run_http_429)"
[ "$have" = "$row" ] || fail "metrics say '$have', sync_runs '$row'"
[ "$(metric scoresync_last_run_ok)" = 1 ] || fail "scoresync_last_run_ok"
fin=$(q "SELECT extract(epoch FROM finished_at)::bigint FROM sync_runs ORDER BY id DESC LIMIT 1")
for m in scoresync_last_run_finished_timestamp_seconds scoresync_last_success_timestamp_seconds; do
  v=$(metric $m); [ -n "$v" ] && [ "$(printf '%.0f' "$v")" -ge $((fin - 1)) ] && [ "$(printf '%.0f' "$v")" -le $((fin + 1)) ] ||
    fail "$m = '$v', sync_runs finished at $fin"
done
dur=$(metric scoresync_last_run_duration_seconds)
awk -v d="$dur" 'BEGIN {exit !(d > 0 && d < 600)}' || fail "duration $dur"
lag=$(metric scoresync_checkpoint_lag_seconds)
awk -v d="$lag" 'BEGIN {exit !(d >= 0)}' || fail "checkpoint lag '$lag'"
grep -q '^scoresync_process_exit_code{command="sync"} 0$' "$P" || fail "process exit code"
grep -q '^# TYPE scoresync_last_run_requests gauge$' "$P" || fail "TYPE lines"
pass "metrics file matches sync_runs ($row; lag ${lag}s)"

# Stale: the same healthy run is too old for --max-age 1s.
sleep 2
set +e
ss status --check --max-age 1s >"$T/check2" 2>&1; rc=$?
set -e
[ $rc = 6 ] || fail "a stale sync should exit 6, got $rc"
grep -q "^emmersion/demo scores: stale: last sync finished .* s ago (max age 1 s)" "$T/check2" ||
  fail "stale not reported: $(cat "$T/check2")"
ss status --check --max-age 1h >/dev/null || fail "--max-age 1h should be healthy"
pass "stale with --max-age 1s: exit 6"

# A failed run (refused key); the metrics file now comes from the config.
sed -i "1i metrics_file: $M/from-config.prom" "$CFG"
set +e
SANDBOX_EMMERSION_KEY=sandbox-wrong ss sync 2>"$T/sync2.log"; rc=$?
ss status --check >"$T/check3" 2>&1; crc=$?
set -e
[ $rc = 1 ] || fail "the refused key should exit 1, got $rc"
[ $crc = 6 ] || fail "status --check after a failed sync should exit 6, got $crc"
grep -q "^emmersion/demo scores: last sync failed (finished .*): .*401" "$T/check3" ||
  fail "the failure is not reported: $(cat "$T/check3")"
grep -q "sandbox-wrong" "$T/check3" && fail "status printed the key"
P=$M/from-config.prom
[ -s "$P" ] || fail "metrics_file from the config was not written"
[ "$(metric scoresync_last_run_ok)" = 0 ] || fail "scoresync_last_run_ok after a failure"
ok_at=$(q "SELECT extract(epoch FROM max(finished_at))::bigint FROM sync_runs WHERE status = 'ok'")
[ "$(printf '%.0f' "$(metric scoresync_last_success_timestamp_seconds)")" -le $((ok_at + 1)) ] ||
  fail "last success moved on a failed run"
grep -q '^scoresync_process_exit_code{command="sync"} 1$' "$P" || fail "process exit code 1"
ss status --json | grep -q '"healthy":false' || fail "status --json after a failure"
pass "failed sync: status --check exit 6 with the error, metrics say 0 and keep the last success"

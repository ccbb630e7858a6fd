#!/usr/bin/env bash
# `sync --dry-run` / `backfill --dry-run` against the sandbox, all five
# vendors in one config (bad records on): a dry run writes no row but its
# sync_runs rows (mode dry-run, which `status --check` does not take for a
# sync); what it says it would insert, update and quarantine is, vendor by
# vendor, what the real sync then does; it spends the real sync's requests
# (the PDF reports it does not fetch excepted); a dry run after the real
# sync would insert and update nothing and changes nothing stored.
source "$(dirname "$0")/lib.sh"
new_db
sandbox --reports 150 --seed 31 --no-limits --fault-bad-record 0.05
LIMITS='rate_limits: [{requests: 1000, per_seconds: 1}, {requests: 100000, per_seconds: 1200}]'
cat >"$T/config.yaml" <<YAML
database:
  url: \${DATABASE_URL}
  batch_rows: 40   # several transactions per window: a dry run's batches see each other
scales: $SS_SOURCE_DIR/config/scales.yaml
migrations: $SS_SOURCE_DIR/sql
vendors:
  emmersion:
    base_url: $SANDBOX_URL/emmersion/2020q3
    $LIMITS
    accounts:
      - name: demo
        api_key: \${SB_KEY}
        streams: [scores, assignments]
        start_date: "2019-01-01"
        window: {initial_days: 60, target_records: 40}
  truenorth:
    base_url: $SANDBOX_URL/truenorth/2020q1
    $LIMITS
    accounts:
      - name: demo
        api_key: \${SB_KEY}
        start_date: "2019-01-01"
        recheck_days: 36500
        window: {initial_days: 60, target_records: 40}
  etest:
    base_url: $SANDBOX_URL/etest/v1
    $LIMITS
    page_size: 30
    accounts:
      - name: demo
        api_key: \${SB_KEY}
        uic: U100
  testello:
    base_url: $SANDBOX_URL/testello/api/v1
    $LIMITS
    accounts:
      - name: demo
        secret: \${SB_KEY}
        company_id: "1"
  cepa:
    base_url: $SANDBOX_URL/cepa/api/v2
    $LIMITS
    accounts:
      - name: demo
        api_key: \${SB_KEY}
        page_size: 30
        overlap: 5
        recheck_days: 36500
        pdfs: true
YAML
export SB_KEY=sandbox-demo
CFG=$T/config.yaml
ss migrate >/dev/null 2>&1

# Rows in every table a run writes besides sync_runs (vendor_accounts aside).
stored() {
  q "SELECT concat_ws(' ', (SELECT count(*) FROM results), (SELECT count(*) FROM candidates),
       (SELECT count(*) FROM result_subscores), (SELECT count(*) FROM quarantine),
       (SELECT count(*) FROM checkpoints), (SELECT count(*) FROM result_documents),
       (SELECT count(*) FROM result_groups), (SELECT count(*) FROM result_group_members),
       (SELECT count(*) FROM assessments))"
}
# What the runs after id $1 of mode $2 did, per vendor: "vendor=new/updated/quarantined".
did() {
  q "SELECT string_agg(v, ' ' ORDER BY v) FROM (
       SELECT a.vendor || '=' || sum(r.results_inserted) || '/' || sum(r.results_updated) || '/' ||
              sum(r.quarantined) AS v
       FROM sync_runs r JOIN vendor_accounts a ON a.id = r.account_id
       WHERE r.id > $1 AND r.mode = '$2' GROUP BY a.vendor) x"
}
requests() {
  q "SELECT coalesce(sum(r.requests), 0) FROM sync_runs r JOIN vendor_accounts a ON a.id = r.account_id
     WHERE r.id > $1 AND r.mode = '$2' AND a.vendor = '$3'"
}
last_run() { q "SELECT coalesce(max(id), 0) FROM sync_runs"; }
# The one summary line: "dry run: would insert N results, update M (K unchanged), quarantine Q; ..."
summary() { grep -o 'dry run: would insert [0-9]* results, update [0-9]* ([0-9]* unchanged), quarantine [0-9]*; nothing written' "$1"; }
VENDORS="cepa emmersion etest testello truenorth"

# 1. A first dry run: nothing stored, every run recorded as a dry run.
ss sync --dry-run 2>"$T/dry1.log" || { cat "$T/dry1.log"; fail "dry run exited $?"; }
[ "$(stored)" = "0 0 0 0 0 0 0 0 0" ] || fail "a dry run stored rows: $(stored)"
runs=$(q "SELECT count(*) || ' ' || count(*) FILTER (WHERE mode = 'dry-run' AND status = 'ok'
            AND args->>'dry_run' = 'true' AND args->>'command' = 'sync') FROM sync_runs")
[ "$runs" = "7 7" ] || fail "sync_runs: want 7 ok dry-run rows (7 streams), got $runs"
dry=$(did 0 dry-run)
line=$(summary "$T/dry1.log") || fail "no dry-run summary line: $(tail -3 "$T/dry1.log")"
total=$(q "SELECT sum(results_inserted) || ' ' || sum(results_updated) || ' ' || sum(quarantined) FROM sync_runs")
[ "$(echo "$line" | sed -E 's/.*insert ([0-9]+) results, update ([0-9]+) .*quarantine ([0-9]+);.*/\1 \2 \3/')" = "$total" ] ||
  fail "summary '$line' is not sync_runs' sums '$total'"
for v in $VENDORS; do
  case " $dry " in *" $v="[1-9]*) ;; *) fail "$v: a dry run would insert nothing: $dry" ;; esac
done
[ "$(echo "$total" | cut -d' ' -f3)" -gt 0 ] || fail "the bad records were not reported as quarantined: $total"
grep -q "documents are missing or out of date" "$T/dry1.log" || fail "the dry run did not count the PDF reports it skipped"
[ "$(curl -sf "$SANDBOX_URL/_sandbox/cepa/pdf_stats?account=demo" | grep -o '"single":[0-9]*' | cut -d: -f2)" = 0 ] ||
  fail "a dry run fetched PDF reports"
set +e
ss status --check >"$T/check" 2>&1
rc=$?
set -e
[ $rc = 6 ] && grep -q "never synced" "$T/check" || fail "status --check took a dry run for a sync (exit $rc): $(cat "$T/check")"
pass "dry run: nothing stored, 7 dry-run rows, $line; per vendor $dry"

# 2. The real sync does what the dry run said, with the same requests.
before=$(last_run)
ss sync 2>"$T/sync.log" || { cat "$T/sync.log"; fail "sync exited $?"; }
real=$(did "$before" sync)
[ "$real" = "$dry" ] || fail "the sync did '$real', the dry run said '$dry'"
per_vendor=$(q "SELECT string_agg(a.vendor || '=' || (SELECT count(*) FROM results r WHERE r.account_id = a.id), ' ' ORDER BY a.vendor) FROM vendor_accounts a")
want=$(echo "$dry" | tr ' ' '\n' | sed -E 's|/.*||' | paste -sd' ')
[ "$per_vendor" = "$want" ] || fail "results stored per vendor '$per_vendor', the dry run would insert '$want'"
[ "$(q "SELECT count(*) FROM result_documents")" -gt 0 ] || fail "the sync stored no PDF report (the dry run's 0 proves nothing)"
for v in $VENDORS; do
  d=$(requests 0 dry-run $v) r=$(requests "$before" sync $v)
  if [ $v = cepa ]; then
    pdf=$(curl -sf "$SANDBOX_URL/_sandbox/cepa/pdf_stats?account=demo" |
      sed -E 's/.*"single":([0-9]+).*"overall":([0-9]+).*/\1 + \2/')
    [ "$r" = "$((d + pdf))" ] || fail "cepa: the sync sent $r requests, the dry run $d + $pdf PDF reports"
  else
    [ "$d" = "$r" ] || fail "$v: the dry run sent $d requests, the sync $r"
  fi
done
pass "the sync did what the dry run said ($real), with the dry run's requests plus the PDF reports"

# 3. A dry run after the sync: nothing new, nothing updated, nothing changed.
snap() { q "SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
              SELECT vendor_key || updated_at || coalesce(raw_sha256::text, '') AS x FROM results
              UNION ALL SELECT stream || cursor || updated_at FROM checkpoints
              UNION ALL SELECT record_key || last_seen_at || seen_count FROM quarantine
              UNION ALL SELECT owner_key || updated_at FROM result_documents) y"; }
s1="$(stored) $(snap)"
before=$(last_run)
ss sync --dry-run 2>"$T/dry2.log" || { cat "$T/dry2.log"; fail "second dry run exited $?"; }
[ "$(stored) $(snap)" = "$s1" ] || fail "a dry run after the sync changed stored rows"
again=$(q "SELECT sum(results_inserted) || ' ' || sum(results_updated) FROM sync_runs WHERE id > $before")
[ "$again" = "0 0" ] || fail "a dry run after the sync would insert/update $again"
summary "$T/dry2.log" | grep -q "would insert 0 results, update 0 " || fail "summary: $(tail -1 "$T/dry2.log")"
pass "dry run after the sync: 0 new, 0 updated, nothing changed"

# 4. A backfill dry run: no progress checkpoint, counted like the sync's.
before=$(last_run)
ss backfill --vendor emmersion --stream scores --since 2019-01-01 --dry-run 2>"$T/bf.log" ||
  { cat "$T/bf.log"; fail "backfill --dry-run exited $?"; }
[ "$(stored) $(snap)" = "$s1" ] || fail "a backfill dry run changed stored rows"
bf=$(q "SELECT mode || ' ' || (args->>'command') || ' ' || results_inserted || ' ' || results_updated || ' ' ||
          (results_unchanged > 0) FROM sync_runs WHERE id > $before")
[ "$bf" = "dry-run backfill 0 0 true" ] || fail "backfill dry run recorded '$bf'"
pass "backfill --dry-run: $bf, no checkpoint"

# 5. The vendors change stored results: the dry run counts the updates (and
# anything new) the sync then makes, through each vendor's re-reads.
curl -sf "$SANDBOX_URL/_sandbox/emmersion/score-pending?account=demo" >/dev/null
curl -sf "$SANDBOX_URL/_sandbox/truenorth/complete-in-progress?account=demo&n=3" >/dev/null
curl -sf "$SANDBOX_URL/_sandbox/cepa/rescore?account=demo&n=3" >/dev/null
curl -sf "$SANDBOX_URL/_sandbox/cepa/complete?account=demo&n=2" >/dev/null
curl -sf "$SANDBOX_URL/_sandbox/testello/finish?account=demo" >/dev/null
before=$(last_run)
ss sync --dry-run 2>"$T/dry3.log" || { cat "$T/dry3.log"; fail "dry run after changes exited $?"; }
[ "$(stored) $(snap)" = "$s1" ] || fail "a dry run changed stored rows"
dry=$(did "$before" dry-run)
upd=$(q "SELECT sum(results_updated) FROM sync_runs WHERE id > $before")
[ "$upd" -gt 0 ] || fail "the dry run saw no update: $dry"
dry_run_id=$before
before=$(last_run)
ss sync 2>"$T/sync2.log" || { cat "$T/sync2.log"; fail "second sync exited $?"; }
real=$(did "$before" sync)
[ "$real" = "$dry" ] || fail "after changes the sync did '$real', the dry run said '$dry'"
# Incremental reads stop where nothing changed: the dry run's (rolled back)
# writes must not make it read further than the sync.
for v in $VENDORS; do
  d=$(requests "$dry_run_id" dry-run $v) r=$(requests "$before" sync $v)
  [ "$d" -le "$r" ] && { [ $v = cepa ] || [ "$d" = "$r" ]; } ||
    fail "$v: the incremental dry run sent $d requests, the sync $r"
done
pass "after vendor changes: the dry run said and the sync did $real, with no more requests"

#!/usr/bin/env bash
# renormalize after a mapping change, with the vendor unreachable: rows whose
# unknown CEFR label "B7" the new scales file maps get C2's rank and lose
# their note; every other row is left untouched (same xmin); no request is
# made (the sandbox is down, sync_runs gains nothing); a second run changes
# nothing; a row whose raw JSON no longer parses is reported and kept.
source "$(dirname "$0")/lib.sh"
new_db
sandbox --reports 800 --seed 5 --fault-bad-record 0.08
config "streams: [scores, assignments]"
ss -q migrate >/dev/null
ss -q sync 2>"$T/sync.log" || fail "sync exited $?: $(tail -5 "$T/sync.log")"

n_b7=$(q "SELECT count(*) FROM results WHERE cefr_label = 'B7'")
[ "$n_b7" -gt 0 ] || fail "the sandbox served no B7 label; raise --fault-bad-record"
bad=$(q "SELECT count(*) FROM results WHERE cefr_label = 'B7'
         AND (cefr_low IS NOT NULL OR norm_notes IS NULL OR norm_notes NOT LIKE '%\"B7\"%')")
[ "$bad" = 0 ] || fail "$bad B7 rows loaded with an ordinal or without a note"
old_version=$(q "SELECT string_agg(DISTINCT scales_version, ',') FROM results")
total=$(q "SELECT count(*) FROM results")
pass "synced $total results, $n_b7 with the unknown CEFR label B7 (scales $old_version)"

# The operator's change: B7 becomes an alias of C2 in a copy of the scales file.
awk '/code: *"C2"/ && !done {
       if ($0 ~ /aliases: *\[/) sub(/aliases: *\[/, "aliases: [\"B7\", ");
       else sub(/\}[[:space:]]*$/, ", aliases: [\"B7\"]}");
       done = 1
     } { print }' config/scales.yaml >"$T/scales.yaml"
grep -q '"B7"' "$T/scales.yaml" || fail "could not add the B7 alias to a copy of config/scales.yaml"
sed -i "s|^scales: .*|scales: $T/scales.yaml|" "$CFG"
grep -q "^scales: $T/scales.yaml" "$CFG" || fail "config does not point at the changed scales"

# No vendor from here on.
kill "$SANDBOX_PID"
wait "$SANDBOX_PID" 2>/dev/null || true
SANDBOX_PID=""
if curl -sf -m 2 "$SANDBOX_URL/_sandbox/health" >/dev/null 2>&1; then fail "sandbox still up"; fi

snap_all() { q "SELECT md5(string_agg(id || ':' || xmin || ':' || updated_at, ',' ORDER BY id)) FROM results"; }
snap_others() {
  q "SELECT md5(string_agg(id || ':' || xmin, ',' ORDER BY id)) FROM results
     WHERE cefr_label IS DISTINCT FROM 'B7'"
}
runs_before=$(q "SELECT count(*) FROM sync_runs")
all_before=$(snap_all)
others_before=$(snap_others)
count_of() { printf '%s\n' "$1" | grep -o "[0-9]* $2" | head -1 | cut -d' ' -f1; }

# A dry run counts the change and writes nothing.
out=$(ss renormalize --dry-run --batch-rows 100) || fail "renormalize --dry-run exited $?"
echo "$out"
[ "$(count_of "$out" changed)" = "$n_b7" ] || fail "dry run should count $n_b7 changes: $out"
[ "$(snap_all)" = "$all_before" ] || fail "dry run rewrote rows"
pass "dry run: $n_b7 would change, nothing written"

# Small transactions: the keyset walk must cover every row exactly once.
out=$(ss renormalize --batch-rows 64) || fail "renormalize exited $? with the vendor down"
echo "$out"
[ "$(count_of "$out" examined)" = "$total" ] || fail "expected $total examined: $out"
[ "$(count_of "$out" changed)" = "$n_b7" ] || fail "expected $n_b7 changed: $out"
[ "$(count_of "$out" failed)" = 0 ] || fail "re-parse failures: $out"

new_version=$(q "SELECT version FROM ref_scales_version")
[ -n "$new_version" ] && [ "$new_version" != "$old_version" ] ||
  fail "ref_scales_version holds '$new_version' (old '$old_version')"
c2=$(q "SELECT rank FROM ref_cefr_levels WHERE code = 'C2'")
[ -n "$c2" ] || fail "ref_cefr_levels has no C2"
fixed=$(q "SELECT count(*) FROM results WHERE cefr_label = 'B7' AND cefr_low = $c2
           AND cefr_high = $c2 AND norm_notes IS NULL AND scales_version = '$new_version'
           AND updated_at > first_seen_at")
[ "$fixed" = "$n_b7" ] || fail "only $fixed of $n_b7 B7 rows now carry C2 (rank $c2) and no note"
[ "$(snap_others)" = "$others_before" ] || fail "rows the change does not affect were rewritten"
[ "$(q "SELECT count(*) FROM sync_runs")" = "$runs_before" ] || fail "renormalize recorded a sync run"
[ "$(q "SELECT count(*) FROM bi_unknown_labels WHERE label = 'B7'")" = 0 ] ||
  fail "bi_unknown_labels still lists B7"
pass "renormalize: $n_b7 B7 rows now C2 (rank $c2), the other $((total - n_b7)) untouched, no request"

# Again: nothing left to change, nothing rewritten.
all_mid=$(snap_all)
out=$(ss renormalize) || fail "second renormalize exited $?"
[ "$(count_of "$out" changed)" = 0 ] || fail "second renormalize changed rows: $out"
[ "$(snap_all)" = "$all_mid" ] || fail "second renormalize rewrote rows"
pass "second renormalize changes nothing"

# A stored raw that no longer parses is reported and left as it is.
victim=$(q "SELECT id FROM results WHERE status = 'completed' ORDER BY id LIMIT 1")
key=$(q "SELECT vendor_key FROM results WHERE id = $victim")
q "UPDATE results SET raw = '{\"unexpected\": true}' WHERE id = $victim" >/dev/null
all_mid=$(snap_all)
out=$(ss renormalize --all 2>"$T/err.log") || fail "renormalize --all exited $? on a bad raw"
[ "$(count_of "$out" failed)" = 1 ] || fail "expected 1 failed re-parse: $out"
[ "$(count_of "$out" examined)" = "$total" ] || fail "--all should examine all $total: $out"
[ "$(count_of "$out" changed)" = 0 ] || fail "--all changed rows: $out"
grep -q "$key" "$T/err.log" || fail "the failed row is not named: $(cat "$T/err.log")"
[ "$(snap_all)" = "$all_mid" ] || fail "the unparseable row or others were rewritten"
pass "unparseable raw reported and left unchanged"

# Filters: an unknown vendor is a usage error; another account selects nothing.
set +e
ss renormalize --vendor nosuch >/dev/null 2>&1
rc=$?
set -e
[ "$rc" = 2 ] || fail "--vendor nosuch exited $rc, want 2"
out=$(ss renormalize --all --account nobody) || fail "renormalize --account nobody exited $?"
[ "$(count_of "$out" examined)" = 0 ] || fail "--account nobody examined rows: $out"
pass "filters"

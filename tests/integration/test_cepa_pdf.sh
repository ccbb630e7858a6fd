#!/usr/bin/env bash
# CEPA PDF reports against the sandbox (GetSingleResultByPDF,
# GetOverallResultByPDF): with `pdfs: true` every completed test's and every
# overall group's report is stored once, decoded, its size checked against
# the response's size field and its digest and source digest recorded; a
# report whose size lies is reported and not stored while its result loads;
# a quiet sync downloads none; a re-scored test's report is fetched again
# and updated; with the default (off) no PDF is requested at all.
source "$(dirname "$0")/lib.sh"
new_db
sandbox --reports 120 --seed 23 --no-limits
write_config() { # $1: extra account line (or "")
  cat >"$T/config.yaml" <<YAML
database:
  url: \${DATABASE_URL}
  batch_rows: 50
scales: $SS_SOURCE_DIR/config/scales.yaml
migrations: $SS_SOURCE_DIR/sql
vendors:
  cepa:
    base_url: $SANDBOX_URL/cepa/api/v2
    rate_limits:
      - {requests: 1000, per_seconds: 1}
    accounts:
      - name: demo
        api_key: \${CEPA_KEY}
        page_size: 40
        overlap: 5
        recheck_days: 36500
        recheck_max_requests: 1000
YAML
  [ -n "$1" ] && printf '        %s\n' "$1" >>"$T/config.yaml"
  return 0
}
export CEPA_KEY=sandbox-demo
CFG=$T/config.yaml
write_config "pdfs: true"
ss migrate >/dev/null 2>&1
cc() { curl -sf "$SANDBOX_URL/_sandbox/cepa/$1"; }
stat_of() { cc "pdf_stats?account=demo" | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }

# The newest completed test lies about its size.
curl -sf "$SANDBOX_URL/cepa/api/v2/GetCandidates?api_key=sandbox-demo&limit=500" >"$T/list.json"
LIE=$(sql_json "$T/list.json" "SELECT t->>'token' FROM ex, jsonb_each(j->'candidates') c,
        jsonb_array_elements(c.value) p, jsonb_array_elements(p->'tests') t
        WHERE t->>'status' = 'completed' LIMIT 1")
[ -n "$LIE" ] || fail "no completed test in the sandbox"
cc "pdf_lie?account=demo&token=$LIE" >/dev/null

# 1. First sync: every completed test's and group's report, once.
ss sync 2>"$T/run1.log" || { cat "$T/run1.log"; fail "first sync"; }
grep -q "sandbox-demo" "$T/run1.log" && fail "the API key reached the log"
completed=$(q "SELECT count(*) FROM results WHERE status = 'completed'")
groups=$(q "SELECT count(*) FROM result_groups")
[ "$completed" -gt 10 ] && [ "$groups" -gt 0 ] || fail "too little data ($completed tests, $groups groups)"
[ "$(q "SELECT status FROM results WHERE vendor_key = '$LIE'")" = completed ] ||
  fail "the test whose PDF lies was not loaded"
[ "$(q "SELECT count(*) FROM result_documents WHERE owner_key = '$LIE'")" = 0 ] ||
  fail "the PDF with a wrong size was stored"
grep "PDF report of test $LIE not stored" "$T/run1.log" | grep -q "size says" ||
  { cat "$T/run1.log"; fail "the wrong size was not reported"; }
grep "PDF report of test $LIE" "$T/run1.log" | grep -q "cepa" || fail "the report names no vendor"
docs=$(q "SELECT count(*) FROM result_documents WHERE kind = 'result'")
[ "$docs" = $((completed - 1)) ] || fail "$docs test reports stored, $completed tests completed (one lies)"
[ "$(q "SELECT count(*) FROM results r WHERE r.status = 'completed' AND r.vendor_key <> '$LIE' AND
        NOT EXISTS (SELECT 1 FROM result_documents d WHERE d.kind = 'result'
                    AND d.account_id = r.account_id AND d.owner_key = r.vendor_key)")" = 0 ] ||
  fail "a completed test without its report"
[ "$(q "SELECT count(*) FROM result_documents d JOIN results r ON r.account_id = d.account_id
        AND r.vendor_key = d.owner_key WHERE d.kind = 'result' AND (d.size <> octet_length(d.content)
        OR d.sha256 <> sha256(d.content) OR d.source_sha256 IS DISTINCT FROM r.raw_sha256
        OR d.mime <> 'application/pdf' OR d.file_name NOT LIKE r.vendor_key || '-%.pdf'
        OR position(convert_to('Token ' || r.vendor_key, 'UTF8') IN d.content) = 0
        OR substring(d.content FROM 1 FOR 8) <> '\x255044462d312e34'::bytea)")" = 0 ] ||
  fail "a test report whose size, digest, source digest, file or content is wrong"
# group_docs: overall reports stored, checked, and rendered from the stored group.
group_docs() {
  q "SELECT count(*) FROM result_documents d JOIN result_groups g ON g.account_id = d.account_id
     AND d.owner_key = (SELECT c.vendor_key FROM candidates c WHERE c.id = g.candidate_id) || '/' || g.vendor_key
     WHERE d.kind = 'group' AND d.size = octet_length(d.content) AND d.sha256 = sha256(d.content)
     AND d.source_sha256 = g.raw_sha256"
}
gdocs=$(group_docs)
[ "$gdocs" = "$groups" ] || fail "$gdocs of $groups overall reports stored and checked"
[ "$(stat_of single)" = "$completed" ] || fail "$(stat_of single) single PDF requests for $completed tests"
[ "$(stat_of overall)" = "$groups" ] || fail "$(stat_of overall) overall PDF requests for $groups groups"
pass "first sync: $docs test reports and $gdocs overall reports stored once, sizes and digests checked; the lying one ($LIE) reported, not stored, its result loaded"

# 2. A quiet sync fetches no report again (only the refused one is retried).
q "SELECT max(updated_at) FROM result_documents" >"$T/before"
s1=$(stat_of single) o1=$(stat_of overall)
ss sync 2>"$T/run2.log" || { cat "$T/run2.log"; fail "second sync"; }
[ "$(stat_of single)" = $((s1 + 1)) ] || fail "quiet sync: $(( $(stat_of single) - s1 )) test reports requested, expected only the refused one"
[ "$(stat_of overall)" = "$o1" ] || fail "quiet sync requested overall reports"
[ "$(q "SELECT max(updated_at) FROM result_documents")" = "$(cat "$T/before")" ] || fail "quiet sync rewrote a report"
pass "quiet sync: no report downloaded again, nothing rewritten (the refused one retried)"

# 3. Re-scored tests: their reports (and their groups') are fetched again
#    and updated; the lying one, now honest, is stored.
cc "pdf_lie?account=demo" >/dev/null
cc "rescore?account=demo&n=6" >"$T/rescored.json"
toks=$(grep -o '"token":"[0-9]*"' "$T/rescored.json" | grep -o '[0-9]*' | tr '\n' ' ')
q "SELECT owner_key || ' ' || encode(sha256, 'hex') FROM result_documents WHERE kind = 'result'" | sort >"$T/sha1"
s1=$(stat_of single) o1=$(stat_of overall)
ss sync 2>"$T/run3.log" || { cat "$T/run3.log"; fail "third sync"; }
q "SELECT owner_key || ' ' || encode(sha256, 'hex') FROM result_documents WHERE kind = 'result'" | sort >"$T/sha2"
changed=$(comm -13 "$T/sha1" "$T/sha2" | cut -d' ' -f1 | sort | tr '\n' ' ')
want=$(printf '%s\n' $toks "$LIE" | sort | tr '\n' ' ')
[ "$changed" = "$want" ] || fail "reports changed: '$changed', expected the re-scored and the once-refused '$want'"
[ "$(stat_of single)" = $((s1 + 7)) ] || fail "$(( $(stat_of single) - s1 )) test reports requested for 6 re-scored + 1 refused"
for tok in $toks; do
  [ "$(q "SELECT count(*) FROM result_documents d JOIN results r ON r.account_id = d.account_id
          AND r.vendor_key = d.owner_key WHERE d.owner_key = '$tok' AND d.kind = 'result'
          AND d.source_sha256 = r.raw_sha256 AND d.size = octet_length(d.content)
          AND position(convert_to('Score ' || r.score::int, 'UTF8') IN d.content) > 0")" = 1 ] ||
    fail "the report of re-scored test $tok was not updated"
done
[ "$(q "SELECT count(*) FROM result_documents WHERE kind = 'result'")" = "$completed" ] ||
  fail "a report stored twice or missing"
grew=$(( $(stat_of overall) - o1 ))
[ "$grew" -gt 0 ] || fail "no overall report fetched again though members were re-scored"
[ "$(group_docs)" = "$groups" ] || fail "an overall report not rendered from its re-scored group"
pass "re-scored tests $toks: reports (and $grew of their groups') fetched again and updated; $LIE stored once honest"
s1=$(stat_of single) o1=$(stat_of overall)
ss sync 2>"$T/run4.log" || { cat "$T/run4.log"; fail "fourth sync"; }
[ "$(stat_of single)" = "$s1" ] && [ "$(stat_of overall)" = "$o1" ] ||
  fail "a quiet sync after the re-score downloaded reports"
pass "quiet sync after the re-score: no PDF request"

# 4. Off by default: no PDF request, even for changed tests.
write_config ""
cc "rescore?account=demo&n=3" >/dev/null
s1=$(stat_of single) o1=$(stat_of overall)
ss sync 2>"$T/run5.log" || { cat "$T/run5.log"; fail "sync without pdfs"; }
[ "$(stat_of single)" = "$s1" ] && [ "$(stat_of overall)" = "$o1" ] || fail "PDFs requested with pdfs off"
grep -q "PDF reports" "$T/run5.log" && fail "PDF summary logged with pdfs off"
pass "pdfs off (the default): no PDF request"

# 5. The budget: at most pdf_max_requests PDF requests a run; the rest wait.
write_config "pdfs: true"
printf '        pdf_max_requests: 3\n' >>"$T/config.yaml"
q "DELETE FROM result_documents" >/dev/null
s1=$(stat_of single) o1=$(stat_of overall)
ss sync 2>"$T/run6.log" || { cat "$T/run6.log"; fail "sync with a PDF budget"; }
spent=$(( $(stat_of single) + $(stat_of overall) - s1 - o1 ))
[ "$spent" = 3 ] || fail "$spent PDF requests with pdf_max_requests 3"
grep -Eq "PDF reports: 3 requested, [0-9]+ stored, [0-9]+ not stored, [1-9][0-9]* left for a later run" \
  "$T/run6.log" || fail "the budget is not reported: $(grep 'PDF reports' "$T/run6.log")"
pass "pdf_max_requests: 3 requests spent, the rest left for a later run"

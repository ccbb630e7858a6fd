#!/usr/bin/env bash
# Testello API v1 against the sandbox: signed requests (the secret in no log
# line, no 4xx in a normal run), the seed's session 9236 loaded as documented
# (3187 "78.0" a percentage with a pass flag, 3188 "ESTJ" a category, 3189
# not done), a taken test finished between two syncs loaded by the next, a
# session that expires with tests not done reported (log and `status`) and
# never asked for again, the other reading of the signature, and a refused
# signature failing its account only.
source "$(dirname "$0")/lib.sh"
new_db
# Our own sandbox start: not quiet, so its log shows every request's path.
"$SS_BIN" sandbox --port 0 --port-file "$T/port" --reports 200 --seed 12 \
  --accounts demo,other >"$T/sandbox.log" 2>&1 &
SANDBOX_PID=$!
for _ in $(seq 1 300); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || { cat "$T/sandbox.log"; fail "sandbox did not start"; }
SANDBOX_URL="http://127.0.0.1:$(cat "$T/port")"
cat >"$T/config.yaml" <<YAML
database:
  url: \${DATABASE_URL}
scales: $SS_SOURCE_DIR/config/scales.yaml
migrations: $SS_SOURCE_DIR/sql
vendors:
  testello:
    base_url: $SANDBOX_URL/testello/api/v1
    accounts:
      - name: demo
        secret: \${TL_SECRET}
        company_id: "1"
YAML
export TL_SECRET=sandbox-demo
CFG=$T/config.yaml
ss migrate >/dev/null
adm() { curl -sf "$SANDBOX_URL/_sandbox/testello/$1"; }
key() { q "SELECT $2 FROM results WHERE vendor_key = '$1'"; }
no_secret() { ! grep -q "sandbox-demo" "$@" || fail "the secret is in $(grep -l sandbox-demo "$@")"; }
no_4xx() { ! grep -q " -> 4[0-9][0-9] " "$T/sandbox.log" || fail "4xx in a normal run: $(grep ' -> 4' "$T/sandbox.log" | head -3)"; }

# 1. A first sync loads every taken test of every active session.
ss -v sync 2>"$T/run1.log" && cp "$T/run1.log" /tmp/tl_run1.log || { cat "$T/run1.log"; fail "first sync"; }
adm "expected?account=demo" >"$T/expected.json"
diff=$(sql_ex "
  WITH e AS (SELECT jsonb_array_elements_text(j->'ids') AS id FROM ex),
       d AS (SELECT vendor_key AS id FROM results)
  SELECT (SELECT count(*) FROM (SELECT id FROM e EXCEPT SELECT id FROM d) x) || ' missing, ' ||
         (SELECT count(*) FROM (SELECT id FROM d EXCEPT SELECT id FROM e) y) || ' extra, ' ||
         (SELECT count(*) FROM e) || ' expected';")
case "$diff" in "0 missing, 0 extra, "*) pass "every taken test loaded ($diff)" ;; *) fail "$diff" ;; esac
[ "$(key 3187 "status || ' ' || score || ' ' || score_pct || ' ' || passed || ' ' || assessment_type")" = "completed 78 78 true 21" ] ||
  fail "3187: $(key 3187 "status, score, score_pct, passed, assessment_type")"
[ "$(key 3188 "status || ' ' || score_label || ' ' || (score IS NULL) || ' ' || (passed IS NULL) || ' ' || (norm_notes IS NULL)")" = "completed ESTJ true true true" ] ||
  fail "3188: $(key 3188 "status, score_label, score, passed, norm_notes")"
[ "$(key 3189 "status || ' ' || (score IS NULL) || ' ' || (score_label IS NULL)")" = "in_progress true true" ] ||
  fail "3189: $(key 3189 "status, score, score_label")"
[ "$(q "SELECT c.vendor_key FROM results r JOIN candidates c ON c.id = r.candidate_id WHERE r.vendor_key = '3187'")" = "session:9236" ] ||
  fail "3187's candidate"
[ "$(q "SELECT count(*) FROM quarantine")" = 0 ] || fail "quarantined: $(q "SELECT record_key, reason FROM quarantine")"
pass "session 9236: 78.0 a percentage that passed (pass_percentage 60), ESTJ a category, 3189 in progress"
n_assess=$(q "SELECT count(*) FROM assessments a JOIN vendor_accounts v ON v.id = a.account_id WHERE v.vendor = 'testello'")
[ "$n_assess" = 7 ] || fail "catalogue: $n_assess assessments"
pass "the catalogue: 7 tests in assessments"
no_secret "$T/run1.log" "$T/sandbox.log"
no_4xx
pass "signed requests: no 4xx, the secret in no log line"

# 2. A taken test finished between two syncs is loaded by the next.
adm "finish?account=demo&id=3189" >/dev/null || fail "finish"
ss sync 2>"$T/run2.log" || { cat "$T/run2.log"; fail "second sync"; }
[ "$(key 3189 "status || ' ' || (score IS NOT NULL OR score_label IS NOT NULL)")" = "completed true" ] ||
  fail "3189 after it finished: $(key 3189 "status, score, score_label")"
pass "3189, finished between two syncs, is completed with its score"

# 3. A session expires with tests not done: reported, stored expired, not asked again.
adm "expire?account=demo" >"$T/expired.json" || fail "no active session with a test not done"
sid=$(grep -o '"expired":[0-9]*' "$T/expired.json" | cut -d: -f2)
open=$(grep -o '"not_done":\[[0-9,]*\]' "$T/expired.json" | sed 's/.*\[//; s/\]//; s/,/ /g')
[ -n "$sid" ] && [ -n "$open" ] || fail "expire: $(cat "$T/expired.json")"
: >"$T/sandbox.log.mark"; before=$(wc -l <"$T/sandbox.log")
ss sync 2>"$T/run3.log" || { cat "$T/run3.log"; fail "third sync"; }
grep -q "session $sid expired .* not done" "$T/run3.log" || fail "no expiry in the log: $(cat "$T/run3.log")"
for id in $open; do
  [ "$(key "$id" status)" = expired ] || fail "$id of expired session $sid: $(key "$id" status)"
done
tail -n +"$((before + 1))" "$T/sandbox.log" | grep -q "/sessions/$sid " && fail "the expired session was asked for"
ss status >"$T/status.txt" 2>&1 || fail "status"
grep -A3 "expired unfinished" "$T/status.txt" | grep -q "session:$sid" || fail "status: $(cat "$T/status.txt")"
pass "session $sid expired with taken tests $open not done: logged, stored expired, listed by status"
before=$(wc -l <"$T/sandbox.log")
xmin=$(q "SELECT sum(xmin::text::bigint) FROM results")
ss sync 2>"$T/run4.log" || fail "fourth sync"
tail -n +"$((before + 1))" "$T/sandbox.log" | grep -q "/sessions/$sid " && fail "the expired session was asked for again"
grep -q "session $sid expired" "$T/run4.log" && fail "the expiry was reported twice"
[ "$(q "SELECT sum(xmin::text::bigint) FROM results")" = "$xmin" ] || fail "a quiet sync rewrote rows"
[ "$(q "SELECT cursor FROM checkpoints")" != "" ] || fail "no checkpoint"
q "SELECT cursor FROM checkpoints" | grep -q "\"$sid\"" && fail "the expired session is still followed"
pass "not asked for again; a quiet sync rewrites nothing"
no_4xx

# 4. The other reading of the signature (HMAC over the JSON text).
adm "signing?account=demo&mode=payload_json" >/dev/null
ss sync 2>"$T/run5.log" && fail "the base64 reading passed a server expecting the JSON one"
grep -q "refused the signed request of company_id 1" "$T/run5.log" || fail "refusal: $(cat "$T/run5.log")"
no_secret "$T/run5.log"
sed -i 's/company_id: "1"/company_id: "1"\n        sign_over: payload_json/' "$T/config.yaml"
ss sync 2>"$T/run6.log" || { cat "$T/run6.log"; fail "sync with sign_over: payload_json"; }
pass "sign_over: payload_json signs what a JSON-text server expects; a mismatch is a key problem"

# 5. A refused signature fails its account; the others go on.
cat >>"$T/config.yaml" <<YAML
      - name: other
        secret: \${TL_BAD_SECRET}
        company_id: "2"
        sign_over: payload_json
YAML
export TL_BAD_SECRET=not-the-secret
rc=0; ss sync 2>"$T/run7.log" || rc=$?
[ "$rc" = 4 ] || fail "a refused account: exit $rc, want 4 (partial): $(cat "$T/run7.log")"
grep -q "testello/other.*refused the signed request of company_id 2" "$T/run7.log" ||
  fail "the refusal does not name the account: $(cat "$T/run7.log")"
grep -q "not-the-secret" "$T/run7.log" && fail "the bad secret is in the log"
[ "$(q "SELECT status FROM sync_runs r JOIN vendor_accounts a ON a.id = r.account_id WHERE a.account = 'demo' ORDER BY r.id DESC LIMIT 1")" = ok ] ||
  fail "the good account did not sync"
pass "a refused signature is a key problem of its account; demo still syncs"

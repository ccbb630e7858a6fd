#!/usr/bin/env bash
# `scoresync check`: config, database (reachable, migrated) and one cheap
# authenticated request per account, with one verdict line per account and
# the documented exit status: 0 ok, 6 a key refused or a vendor failing,
# 1 database unreachable or behind, 3 configuration.
source "$(dirname "$0")/lib.sh"
new_db
sandbox --reports 50 --seed 2
config "streams: [scores]"
cat >>"$CFG" <<'YAML'
      - name: stranger
        api_key: ${SANDBOX_STRANGER_KEY}
        streams: [scores]
YAML
cat >>"$CFG" <<YAML
  truenorth:
    base_url: $SANDBOX_URL/truenorth/2020q1
    accounts:
      - name: demo
        api_key: \${SANDBOX_TRUENORTH_KEY}
YAML
export SANDBOX_STRANGER_KEY=sandbox-stranger # not an account of the sandbox: 401
export SANDBOX_TRUENORTH_KEY=sandbox-demo

# Not migrated yet: the accounts are still checked, the database fails it.
set +e
ss check >"$T/c0" 2>"$T/c0.err"; rc=$?
set -e
[ $rc = 1 ] || fail "check before migrate should exit 1, got $rc: $(cat "$T/c0" "$T/c0.err")"
grep -q "^database: reachable, but" "$T/c0" || fail "the database verdict: $(cat "$T/c0")"
grep -q "^emmersion/demo: ok: credentials accepted" "$T/c0" || fail "no account verdicts: $(cat "$T/c0")"
pass "before migrate: exit 1, database behind"

ss migrate 2>/dev/null
set +e
ss check >"$T/c1" 2>"$T/c1.err"; rc=$?
set -e
cat "$T/c1"
[ $rc = 6 ] || fail "a refused key should exit 6, got $rc: $(cat "$T/c1.err")"
grep -q "^database: ok, migrations up to date$" "$T/c1" || fail "database verdict"
grep -q "^emmersion/demo: ok: credentials accepted (key from environment variable SANDBOX_EMMERSION_KEY" "$T/c1" ||
  fail "good key not ok"
grep -q "^emmersion/stranger: key refused: GET /assessments: HTTP 401: .*SANDBOX_STRANGER_KEY" "$T/c1" ||
  fail "the refused key is not reported as a key problem naming its variable"
grep -q "^truenorth/demo: ok: credentials accepted" "$T/c1" ||
  fail "truenorth verdict"
[ "$(grep -c '^[a-z]*/[a-z]*: ' "$T/c1")" = 3 ] || fail "not one verdict line per account"
grep -q "sandbox-stranger\|sandbox-demo" "$T/c1" "$T/c1.err" && fail "a key was printed"
pass "one verdict per account; refused key exit 6 without the key"

ss check --vendor emmersion --account demo >"$T/c2" || fail "check of the good account exited $?"
grep -q "^emmersion/demo: ok" "$T/c2" && [ "$(grep -c '^[a-z]*/[a-z]*: ' "$T/c2")" = 1 ] || fail "filter: $(cat "$T/c2")"
# Its request was granted by the request ledger, like a run's: the next run counts it.
led=$(q "SELECT count(*) FROM request_ledger l JOIN vendor_accounts a ON a.id = l.account_id
         WHERE a.vendor = 'emmersion' AND a.account = 'demo'")
[ "$led" -ge 2 ] || fail "check's requests are not in the request ledger ($led)"
pass "check's requests go through the request ledger ($led for emmersion/demo)"
set +e
ss check --account nobody >/dev/null 2>&1; rc=$?
env -u SANDBOX_STRANGER_KEY "$SS_BIN" --config "$CFG" check >/dev/null 2>"$T/c3.err"; rc3=$?
set -e
[ $rc = 2 ] || fail "no matching account should exit 2, got $rc"
[ $rc3 = 3 ] || fail "a missing secret should exit 3, got $rc3"
grep -q SANDBOX_STRANGER_KEY "$T/c3.err" || fail "missing secret not named"
pass "filters, missing secret exit 3"

# The vendor unreachable: failed, not a key problem.
sed -i "s|base_url: $SANDBOX_URL/emmersion|base_url: http://127.0.0.1:1/emmersion|" "$CFG"
set +e
ss check --vendor emmersion --account demo >"$T/c4" 2>/dev/null; rc=$?
set -e
[ $rc = 6 ] || fail "an unreachable vendor should exit 6, got $rc"
grep -q "^emmersion/demo: failed: " "$T/c4" || fail "unreachable verdict: $(cat "$T/c4")"
pass "unreachable vendor: failed, exit 6"

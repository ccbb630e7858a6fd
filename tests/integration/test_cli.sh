#!/usr/bin/env bash
# The command line: help everywhere, documented exit codes, config errors that
# name file, line and key, secrets never printed, and backfill over a range.
source "$(dirname "$0")/lib.sh"
new_db

for c in "" migrate sync backfill status sandbox config explain renormalize; do
  $SS_BIN $c --help >"$T/help" || fail "scoresync $c --help exited $?"
  grep -q "Usage" "$T/help" || fail "scoresync $c --help prints no usage"
done
$SS_BIN --version | grep -Eq '^scoresync [0-9]+\.[0-9]+' || fail "--version"
set +e
$SS_BIN frobnicate 2>/dev/null; [ $? = 2 ] || fail "unknown command should exit 2"
$SS_BIN backfill --vendor emmersion 2>/dev/null; [ $? = 2 ] || fail "backfill without --since should exit 2"
$SS_BIN sync 2>/dev/null; [ $? = 3 ] || fail "no config should exit 3"

printf 'database:\n  url: x\nvendors:\n  emmersion:\n    accounts:\n      - name: a\n        api_key: ${SS_T_KEY}\n        windw: {}\n' >"$T/bad.yaml"
SS_T_KEY=s3cr3t-value $SS_BIN --config "$T/bad.yaml" sync 2>"$T/err"; rc=$?
[ $rc = 3 ] || fail "config error should exit 3, got $rc"
grep -q "bad.yaml:8" "$T/err" || fail "config error does not name file:line: $(cat "$T/err")"
grep -q "windw" "$T/err" || fail "config error does not name the key"
grep -q "s3cr3t-value" "$T/err" && fail "secret printed"

printf 'vendors:\n  emmersion:\n    accounts:\n      - name: a\n        api_key: ${SS_T_UNSET_KEY}\n' >"$T/unset.yaml"
$SS_BIN --config "$T/unset.yaml" sync 2>"$T/err"; rc=$?
[ $rc = 3 ] || fail "unset secret should exit 3, got $rc"
grep -q "SS_T_UNSET_KEY" "$T/err" || fail "unset secret error does not name the variable"
set -e
pass "help, exit codes, config errors"

# Wrong API key: a clear error naming where the key came from, never the key.
sandbox --reports 500 --seed 5
config "streams: [scores]"
# Commands that call no vendor run without the keys in their environment.
env -u SANDBOX_EMMERSION_KEY "$SS_BIN" --config "$CFG" migrate || fail "migrate needed the API key"
env -u SANDBOX_EMMERSION_KEY "$SS_BIN" --config "$CFG" status >/dev/null || fail "status needed the API key"
set +e
env -u SANDBOX_EMMERSION_KEY "$SS_BIN" --config "$CFG" sync 2>"$T/err"; rc=$?
set -e
[ $rc = 3 ] || fail "sync without its key should exit 3, got $rc"
grep -q "SANDBOX_EMMERSION_KEY" "$T/err" || fail "missing key error does not name the variable"
ss migrate
set +e
SANDBOX_EMMERSION_KEY=sandbox-wrong ss sync 2>"$T/err"; rc=$?
set -e
[ $rc = 1 ] || fail "refused key should be fatal (1), got $rc"
grep -q "401" "$T/err" || fail "no HTTP 401 in: $(cat "$T/err")"
grep -q "SANDBOX_EMMERSION_KEY" "$T/err" || fail "error does not say where the key came from"
grep -q "sandbox-wrong" "$T/err" && fail "the API key was printed"
pass "a refused key is reported without the key"

# Backfill of one year loads exactly that year's completed reports.
ss backfill --vendor emmersion --since 2021-01-01 --until 2021-12-31T23:59:59Z 2>"$T/bf.log"
expected
in_range=$(q "SELECT count(*) FROM results WHERE completed_at < '2021-01-01' OR completed_at > '2021-12-31T23:59:59Z'")
[ "$in_range" = 0 ] || fail "backfill loaded $in_range results outside its range"
n=$(q "SELECT count(*) FROM results")
[ "$n" -gt 0 ] || fail "backfill loaded nothing"
[ "$(q "SELECT count(*) FROM checkpoints WHERE stream = 'scores'")" = 0 ] || fail "backfill moved the sync checkpoint"
grep -q "% of range" "$T/bf.log" || fail "backfill shows no progress"
pass "backfill 2021: $n results"
$SS_BIN --config "$CFG" status | grep -q "Recent runs" || fail "status"

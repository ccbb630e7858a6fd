# Shared helpers for the integration tests (sourced). They need:
#   SS_BIN                the scoresync binary
#   SS_SOURCE_DIR         the source tree
#   SS_TEST_DATABASE_URL  a PostgreSQL server (tests/run.sh starts one)
set -euo pipefail
: "${SS_BIN:?}" "${SS_SOURCE_DIR:?}" "${SS_TEST_DATABASE_URL:?set by tests/run.sh}"
cd "$SS_SOURCE_DIR"
T=$(mktemp -d /tmp/ss-it.XXXXXX)
SANDBOX_PID=""
DB_NAME=""
_cleanup() {
  [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null && wait "$SANDBOX_PID" 2>/dev/null
  [ -n "$DB_NAME" ] && psql "$SS_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$T"
  return 0
}
trap _cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# new_db: a fresh database for this test; sets DB_URL.
new_db() {
  DB_NAME="ss_it_$(basename "$0" .sh)_$$"
  psql "$SS_TEST_DATABASE_URL" -qc "CREATE DATABASE $DB_NAME" >/dev/null
  DB_URL=$(printf '%s' "$SS_TEST_DATABASE_URL" | sed "s|:///[^?]*|:///$DB_NAME|")
  export DATABASE_URL=$DB_URL
}

q() { psql "$DB_URL" -XAtqc "$1"; }

# sandbox ARGS...: starts the sandbox on a free port; sets SANDBOX_URL.
sandbox() {
  "$SS_BIN" sandbox --port 0 --port-file "$T/port" --quiet "$@" >"$T/sandbox.log" 2>&1 &
  SANDBOX_PID=$!
  for _ in $(seq 1 300); do [ -s "$T/port" ] && break; sleep 0.1; done
  [ -s "$T/port" ] || { cat "$T/sandbox.log"; fail "sandbox did not start"; }
  SANDBOX_URL="http://127.0.0.1:$(cat "$T/port")"
}

# config [extra account yaml lines...]: writes $T/config.yaml for account "demo".
config() {
  cat >"$T/config.yaml" <<YAML
database:
  url: \${DATABASE_URL}
  batch_rows: 100   # small, so windows load in several transactions
scales: $SS_SOURCE_DIR/config/scales.yaml
migrations: $SS_SOURCE_DIR/sql
vendors:
  emmersion:
    base_url: $SANDBOX_URL/emmersion/2020q3
    accounts:
      - name: demo
        api_key: \${SANDBOX_EMMERSION_KEY}
        start_date: "2019-01-01"
YAML
  for line in "$@"; do printf '        %s\n' "$line" >>"$T/config.yaml"; done
  export SANDBOX_EMMERSION_KEY=sandbox-demo
  CFG=$T/config.yaml
}

ss() { "$SS_BIN" --config "$CFG" "$@"; }

# expected JSON of the sandbox's account "demo" -> $T/expected.json
expected() { curl -sf "$SANDBOX_URL/_sandbox/emmersion/expected?account=demo" >"$T/expected.json"; }

# sql_json FILE QUERY: runs QUERY with the JSON document FILE in table ex(j)
# (the document goes through \copy: too big for a command line).
sql_json() {
  tr -d '\n' <"$1" >"$T/json.line"
  psql "$DB_URL" -XAtq <<SQL
CREATE TEMP TABLE ex (j jsonb);
\\copy ex FROM '$T/json.line' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')
$2
SQL
}
# sql_ex QUERY: the same with the sandbox's expected.json.
sql_ex() { sql_json "$T/expected.json" "$1"; }

# json_get KEY: a top-level field of $T/expected.json.
json_get() { sql_ex "SELECT j->>'$1' FROM ex;"; }

# assert_exact_set JSONKEY: the completed results in the database are exactly
# the ids listed under JSONKEY in expected.json, each once.
assert_exact_set() {
  local key=$1
  local diff
  diff=$(sql_ex "
    WITH e AS (SELECT jsonb_array_elements_text(j->'$key') AS id FROM ex),
         d AS (SELECT vendor_key AS id FROM results WHERE status = 'completed')
    SELECT (SELECT count(*) FROM (SELECT id FROM e EXCEPT SELECT id FROM d) x) || ' missing, ' ||
           (SELECT count(*) FROM (SELECT id FROM d EXCEPT SELECT id FROM e) y) || ' extra, ' ||
           (SELECT count(*) FROM d) || ' loaded, ' || (SELECT count(*) FROM e) || ' expected';")
  case "$diff" in
    "0 missing, 0 extra, "*) pass "exact set: $diff" ;;
    *) fail "result set differs from the sandbox: $diff" ;;
  esac
}

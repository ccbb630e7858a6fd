#!/usr/bin/env bash
# The end-to-end demo: builds scoresync, starts the bundled vendor sandbox and
# (with no DATABASE_URL) the embedded PostgreSQL cluster, migrates, syncs
# every vendor of config/sandbox.yaml (Emmersion 2020q3, TrueNorth 2020q1,
# CEPA, eTest, Testello; the five accounts at once with --jobs 5),
# checks the database against what each vendor's sandbox part served, syncs
# again.
#   scripts/demo.sh            # 2,000 score reports, the real 5/s and 2,000/20 min limits
#   REPORTS=20000 scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
bin=${BUILD_DIR:-build}/scoresync
cfg=config/sandbox.yaml
reports=${REPORTS:-2000}

portfile=$(mktemp)
"$bin" sandbox --port 0 --port-file "$portfile" --reports "$reports" --accounts demo --quiet &
sandbox_pid=$!
trap 'kill $sandbox_pid 2>/dev/null || true; rm -f "$portfile" "$portfile".*' EXIT
for _ in $(seq 1 100); do [ -s "$portfile" ] && break; sleep 0.1; done
port=$(cat "$portfile")
export SCORESYNC_SANDBOX_URL="http://127.0.0.1:$port"
export SANDBOX_EMMERSION_KEY="sandbox-demo"   # the sandbox's key for account "demo"
export SANDBOX_TRUENORTH_KEY="sandbox-demo"
export SANDBOX_ETEST_KEY="sandbox-demo"
export SANDBOX_TESTELLO_KEY="sandbox-demo"   # the signing secret of company 1 ("demo")
export SANDBOX_CEPA_KEY="sandbox-demo"
echo "== sandbox on $SCORESYNC_SANDBOX_URL with $reports score reports"

echo "== scoresync migrate"
"$bin" --config "$cfg" migrate
echo "== scoresync sync --jobs 5"
"$bin" --config "$cfg" sync --jobs 5

# The database the sync used: DATABASE_URL, else the embedded cluster.
url=${DATABASE_URL:-$(bash scripts/localpg.sh url "${SS_PG_DIR:-.scoresync/pg}")}
exp() { curl -sf "$SCORESYNC_SANDBOX_URL/_sandbox/$1/expected?account=demo" >"$portfile.$1"; }
# in_db VENDOR KEY WHERE: the ids under KEY of the vendor's expected document
# that are not in the database matching WHERE (0 = all there), and the count.
check() {
  local vendor=$1 key=$2 where=$3 ids
  exp "$vendor"
  ids=$(grep -o "\"$key\":\[[^]]*\]" "$portfile.$vendor" | sed 's/^[^[]*\[//; s/\]$//; s/"//g' | tr ',' '\n' | sed '/^$/d')
  printf '%s\n' "$ids" >"$portfile.ids"
  local n missing
  n=$(wc -l <"$portfile.ids")
  missing=$(psql "$url" -Atq -v ON_ERROR_STOP=1 <<SQL
CREATE TEMP TABLE want (id text);
\\copy want FROM '$portfile.ids'
SELECT count(*) FROM want w WHERE NOT EXISTS (
  SELECT 1 FROM results r JOIN vendor_accounts a ON a.id = r.account_id
  WHERE a.vendor = '$vendor' AND a.account = 'demo' AND r.vendor_key = w.id AND $where);
SQL
)
  echo "== $vendor: $n served ($key), $missing missing in the database"
  [ "$missing" = 0 ] && [ "$n" -gt 0 ]
}
ok=1
check emmersion ids "r.status = 'completed'" || ok=0
check truenorth ids_started "true" || ok=0
check etest ids "true" || ok=0
check testello ids "true" || ok=0
check cepa ids "true" || ok=0

echo "== scoresync sync (again: nothing new, nothing rewritten)"
"$bin" --config "$cfg" sync --jobs 5
psql "$url" -c "SELECT r.id, a.vendor, r.stream, r.status, r.results_inserted AS new,
                       r.results_updated AS updated, r.results_unchanged AS unchanged,
                       r.requests, r.status_429
                FROM sync_runs r JOIN vendor_accounts a ON a.id = r.account_id
                ORDER BY r.id DESC LIMIT 6"
dups=$(psql "$url" -Atc "SELECT count(*) - count(DISTINCT (account_id, vendor_key)) FROM results")
if [ "$ok" = 1 ] && [ "$dups" = 0 ]; then
  echo "== OK: every result each vendor's sandbox part served is in the database, once"
else
  echo "== MISMATCH: see above (duplicates: $dups)" >&2
  exit 1
fi

#!/usr/bin/env bash
# The end-to-end demo: builds scoresync, starts the bundled vendor sandbox and
# (with no DATABASE_URL) the embedded PostgreSQL cluster, migrates, syncs
# Emmersion, checks the database against what the sandbox served, syncs again.
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
trap 'kill $sandbox_pid 2>/dev/null || true; rm -f "$portfile"' EXIT
for _ in $(seq 1 100); do [ -s "$portfile" ] && break; sleep 0.1; done
port=$(cat "$portfile")
export SCORESYNC_SANDBOX_URL="http://127.0.0.1:$port"
export SANDBOX_EMMERSION_KEY="sandbox-demo"   # the sandbox's key for account "demo"
echo "== sandbox on $SCORESYNC_SANDBOX_URL with $reports score reports"

echo "== scoresync migrate"
"$bin" --config "$cfg" migrate
echo "== scoresync sync"
"$bin" --config "$cfg" sync

# The database the sync used: DATABASE_URL, else the embedded cluster.
url=${DATABASE_URL:-$(bash scripts/localpg.sh url "${SS_PG_DIR:-.scoresync/pg}")}
expected=$(curl -sf "$SCORESYNC_SANDBOX_URL/_sandbox/emmersion/expected?account=demo" |
           grep -o '"completed":[0-9]*' | cut -d: -f2)
loaded=$(psql "$url" -Atc "SELECT count(*) FROM results r JOIN vendor_accounts a ON a.id = r.account_id
                           WHERE a.vendor = 'emmersion' AND a.account = 'demo' AND r.status = 'completed'")
echo "== completed score reports served by the sandbox: $expected; in the database: $loaded"

echo "== scoresync sync (again: nothing new, nothing rewritten)"
"$bin" --config "$cfg" sync
psql "$url" -c "SELECT id, stream, status, results_inserted AS new, results_updated AS updated,
                       results_unchanged AS unchanged, requests, status_429
                FROM sync_runs ORDER BY id DESC LIMIT 4"
if [ "$expected" = "$loaded" ]; then
  echo "== OK: every completed report the sandbox served is in the database, once"
else
  echo "== MISMATCH: expected $expected completed results, found $loaded" >&2
  exit 1
fi

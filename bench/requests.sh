#!/usr/bin/env bash
# Requests a backfill spends per N reports (rate limits off), for a window
# setting: requests are the scarce resource under the vendor limits
# (2,000 per 20 minutes), so this is what window sizing is judged by.
#   bench/requests.sh [REPORTS] [WINDOW_YAML]
#   bench/requests.sh 100000 "{target_records: 2000}"   # the old default
#   bench/requests.sh 100000 "{}"                       # today's defaults
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
win=${2:-"{}"}
bash scripts/build.sh
bin=$PWD/${BUILD_DIR:-build}/scoresync
T=$(mktemp -d)
chmod 755 "$T"
export SS_PG_PORT=${SS_PG_PORT:-54380} SS_PG_FAST=1
"$bin" sandbox --port 0 --port-file "$T/port" --reports "$n" --no-limits --quiet &
sb=$!
trap 'kill $sb 2>/dev/null; bash scripts/localpg.sh stop "$T/pg" >/dev/null 2>&1; rm -rf "$T"' EXIT
bash scripts/localpg.sh start "$T/pg" >/dev/null
export DATABASE_URL=$(bash scripts/localpg.sh url "$T/pg")
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
cat >"$T/c.yaml" <<YAML
database:
  url: \${DATABASE_URL}
vendors:
  emmersion:
    base_url: http://127.0.0.1:$(cat "$T/port")/emmersion/2020q3
    rate_limits: [{requests: 100000, per_seconds: 1}]
    accounts:
      - name: demo
        api_key: \${K}
        streams: [scores]
        window: $win
YAML
export K=sandbox-demo
"$bin" -q --config "$T/c.yaml" migrate
"$bin" -q --config "$T/c.yaml" backfill --vendor emmersion --since 2018-12-01
psql "$DATABASE_URL" -Atc "SELECT 'window $win: ' || sum(requests) || ' requests for ' ||
  (SELECT count(*) FROM results) || ' results of $n reports' FROM sync_runs"

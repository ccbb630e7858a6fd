#!/usr/bin/env bash
# Requests a backfill spends per N reports (rate limits off), for a window
# setting: requests are the scarce resource under the vendor limits
# (2,000 per 20 minutes), so this is what window sizing is judged by.
#   bench/requests.sh [REPORTS] [WINDOW_YAML]
#   bench/requests.sh 100000 "{target_records: 2000}"   # the old default
#   bench/requests.sh 100000 "{}"                       # today's defaults
n=${1:-100000}
win=${2:-"{}"}
BENCH_PG_PORT=54380
source "$(dirname "$0")/lib.sh"
bench_sandbox main --reports "$n" --no-limits
cat >"$T/c.yaml" <<YAML
database:
  url: \${DATABASE_URL}
vendors:
  emmersion:
    base_url: $SB_URL_main/emmersion/2020q3
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

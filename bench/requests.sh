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
bench_config "$SB_URL_main" "$win"
"$bin" -q --config "$T/c.yaml" backfill --vendor emmersion --since 2018-12-01
psql "$DATABASE_URL" -Atc "SELECT 'window $win: ' || sum(requests) || ' requests for ' ||
  (SELECT count(*) FROM results) || ' results of $n reports' FROM sync_runs"

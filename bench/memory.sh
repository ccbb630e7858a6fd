#!/usr/bin/env bash
# Peak RSS of scoresync, which must stay flat whatever the response size
# (target: under 64 MiB). Against the sandbox with rate limits off:
#   1. a backfill of N reports (default 200000) with ordinary windows;
#   2. one window holding W records (default 50000): the window spans the
#      whole range and the response cap is raised so it is never split.
# OLD_BIN=path/to/an/older/scoresync measures that binary too, same run
# (OLD_SCALES: its scales.yaml, default the one beside its source tree), on
# a database of the same server that it migrated itself: its own schema.
#   bench/memory.sh [REPORTS] [WINDOW_RECORDS]
n=${1:-200000}
w=${2:-50000}
BENCH_PG_PORT=54379
source "$(dirname "$0")/lib.sh"
bench_sandbox main --reports "$n" --no-limits
# A second sandbox whose whole range holds about W completed reports (about
# 4 in 5 generated reports are completed), read as one window.
bench_sandbox wide --reports "$((w * 13 / 10))" --no-limits
url=$SB_URL_main
url2=$SB_URL_wide
export K=sandbox-demo
config() { # $1 file, $2 window yaml, $3 max_response_bytes, $4 sandbox url [, $5 scales, $6 url var]
  cat >"$1" <<YAML
database:
  url: \${${6:-DATABASE_URL}}
  batch_rows: ${BATCH_ROWS:-2000}
scales: ${5:-$PWD/config/scales.yaml}
vendors:
  emmersion:
    base_url: $4/emmersion/2020q3
    rate_limits: [{requests: 100000, per_seconds: 1}]
    http: {max_response_bytes: $3}
    accounts:
      - name: demo
        api_key: \${K}
        streams: [scores]
        window: $2
YAML
}
# Ordinary windows: the account defaults (window.target_records 10000).
config "$T/normal.yaml" "{}" 67108864 "$url"
config "$T/wide.yaml" "{initial_days: 36500, max_days: 36500, target_records: 1000000}" \
  4294967296 "$url2"
"$bin" -q --config "$T/normal.yaml" migrate

rss() { # $1 binary, $2 config [, $3 database url] -> peak RSS KiB, seconds, rows
  local db=${3:-$DATABASE_URL}
  psql "$db" -qc "SET client_min_messages = warning; TRUNCATE result_subscores, results, candidates, checkpoints, quarantine CASCADE" >/dev/null
  local s e
  s=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$T/rss" "$1" -q --config "$2" backfill --vendor emmersion \
    --since 2015-01-01 >/dev/null
  e=$(date +%s.%N)
  echo "$(cat "$T/rss") KiB, $(awk -v s="$s" -v e="$e" 'BEGIN{printf "%.1f", e-s}') s, $(psql "$db" -Atc "SELECT count(*) FROM results") rows"
}
wc=$(curl -s "$url2/_sandbox/emmersion/expected?account=demo" | grep -o '"completed":[0-9]*' | cut -d: -f2)
echo "backfill of $n reports, ordinary windows: $(rss "$bin" "$T/normal.yaml")"
echo "one window of $wc records:             $(rss "$bin" "$T/wide.yaml")"
if [ -n "${OLD_BIN:-}" ]; then
  os=${OLD_SCALES:-$(dirname "$OLD_BIN")/../config/scales.yaml}
  psql "$DATABASE_URL" -qc "CREATE DATABASE scoresync_old"
  export OLD_DATABASE_URL=${DATABASE_URL/\/scoresync\?//scoresync_old?}
  config "$T/old-normal.yaml" "{}" 67108864 \
    "$url" "$os" OLD_DATABASE_URL
  config "$T/old-wide.yaml" "{initial_days: 36500, max_days: 36500, target_records: 1000000}" \
    4294967296 "$url2" "$os" OLD_DATABASE_URL
  "$OLD_BIN" -q --config "$T/old-normal.yaml" migrate
  echo "OLD backfill of $n reports:            $(rss "$OLD_BIN" "$T/old-normal.yaml" "$OLD_DATABASE_URL")"
  echo "OLD one window of $wc records:         $(rss "$OLD_BIN" "$T/old-wide.yaml" "$OLD_DATABASE_URL")"
fi

#!/usr/bin/env bash
# Achieved request rate against the configured limit. The sandbox's limits are
# scaled up (--rate-scale) and scoresync is configured to the same scaled
# limits; small windows make it spend many requests. Prints the achieved rate
# over the run's busiest stretch and the ratio to the limit, plus the 429s the
# sandbox had to send (should be 0).
#   bench/rate.sh [SCALE] [REPORTS]      default 10 (50 req/s) and 20000 reports
# MARGIN=ms sets rate_margin_ms (default 10: loopback has next to no jitter;
# production keeps the default 50).
scale=${1:-10}
reports=${2:-20000}
source "$(dirname "$0")/lib.sh"
bench_sandbox main --reports "$reports" --rate-scale "$scale"
url=$SB_URL_main
per_s=$((5 * scale)); per_20=$((2000 * scale))
cat >"$T/c.yaml" <<YAML
database:
  url: \${DATABASE_URL}
vendors:
  emmersion:
    base_url: $url/emmersion/2020q3
    rate_limits: [{requests: $per_s, per_seconds: 1}, {requests: $per_20, per_seconds: 1200}]
    accounts:
      - name: demo
        api_key: \${K}
        streams: [scores]
        start_date: "2019-01-01"
        window: {initial_days: 1, min_seconds: 60, max_days: 1, target_records: 5}
        rate_margin_ms: ${MARGIN:-10}
YAML
export K=sandbox-demo
"$bin" -q --config "$T/c.yaml" migrate
start=$(date +%s.%N)
"$bin" -q --config "$T/c.yaml" sync
end=$(date +%s.%N)
requests=$(psql "$DATABASE_URL" -Atc "SELECT sum(requests) FROM sync_runs")
stats=$(curl -s "$url/_sandbox/stats")
echo "configured: $per_s requests/s and $per_20 per 20 min"
awk -v r="$requests" -v s="$start" -v e="$end" -v l="$per_s" 'BEGIN {
  t = e - s; printf "requests: %d in %.2f s = %.2f req/s = %.3f of the limit\n", r, t, r / t, r / t / l }'
echo "sandbox stats: $stats"

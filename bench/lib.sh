# Shared set-up of the benchmarks (sourced): build, a private PostgreSQL
# cluster, sandboxes on free ports, cleanup on exit. After sourcing:
#   $bin       the scoresync binary (built into ${BUILD_DIR:-build})
#   $T         a scratch directory, removed on exit
#   $DATABASE_URL  the cluster (port $SS_PG_PORT, default BENCH_PG_PORT)
# bench_sandbox NAME ARGS...   starts a sandbox; sets SB_URL_<NAME>
# bench_config URL [WINDOW]    writes $T/c.yaml (the sandbox's Emmersion part at
#                              URL, limits off, account demo, optional window
#                              YAML), exports K and migrates the database
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/build.sh
bin=$PWD/${BUILD_DIR:-build}/scoresync
T=$(mktemp -d)
chmod 755 "$T" # the cluster's user must reach it
export SS_PG_PORT=${SS_PG_PORT:-${BENCH_PG_PORT:-54377}} SS_PG_FAST=1
_bench_pids=()
_bench_cleanup() {
  for p in "${_bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  bash scripts/localpg.sh stop "$T/pg" >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap _bench_cleanup EXIT
bash scripts/localpg.sh start "$T/pg" >/dev/null
DATABASE_URL=$(bash scripts/localpg.sh url "$T/pg")
export DATABASE_URL

bench_sandbox() {
  local name=$1
  shift
  "$bin" sandbox --port 0 --port-file "$T/port.$name" --quiet "$@" &
  local pid=$!
  _bench_pids+=("$pid")
  for _ in $(seq 100); do [ -s "$T/port.$name" ] && break; sleep 0.1; done
  [ -s "$T/port.$name" ] || { echo "sandbox $name did not start" >&2; exit 1; }
  printf -v "SB_URL_$name" 'http://127.0.0.1:%s' "$(cat "$T/port.$name")"
  printf -v "SB_PID_$name" '%s' "$pid"
}

bench_config() {
  cat >"$T/c.yaml" <<YAML
database:
  url: \${DATABASE_URL}
vendors:
  emmersion:
    base_url: $1/emmersion/2020q3
    rate_limits: [{requests: 100000, per_seconds: 1}]
    accounts:
      - name: demo
        api_key: \${K}
        streams: [scores]
        window: ${2:-"{}"}
YAML
  export K=sandbox-demo
  "$bin" -q --config "$T/c.yaml" migrate
}

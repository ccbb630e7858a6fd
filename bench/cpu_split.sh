#!/usr/bin/env bash
# Where a backfill's CPU goes: one backfill of the sandbox's N reports (limits
# off), then the same again unchanged, each with the CPU seconds spent by
# scoresync, the sandbox and the PostgreSQL server (all its processes), and
# the wall time. The loader is the bottleneck when the server's CPU is close
# to the wall time.
#   bench/cpu_split.sh [REPORTS]      default 100000
n=${1:-100000}
source "$(dirname "$0")/lib.sh"
bench_sandbox main --reports "$n" --no-limits
sb=$SB_PID_main
bench_config "$SB_URL_main"
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat" 2>/dev/null || echo 0; }
server() { # the postmaster and every process it started
  local pm s=0
  pm=$(head -1 "$T/pg/data/postmaster.pid")
  for p in $pm $(pgrep -P "$pm"); do s=$((s + $(ticks "$p"))); done
  echo "$s"
}
for pass in new unchanged; do
  [ $pass = unchanged ] && psql "$DATABASE_URL" -qc "DELETE FROM checkpoints"
  s0=$(ticks $sb) p0=$(server) t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S %M" -o "$T/time" "$bin" -q --config "$T/c.yaml" backfill \
    --vendor emmersion --since 2019-01-01
  t1=$(date +%s.%N) s1=$(ticks $sb) p1=$(server)
  read -r u sy rss <"$T/time"
  rows=$(psql "$DATABASE_URL" -Atc "SELECT count(*) FROM results")
  awk -v p="$pass" -v r="$rows" -v w="$(echo "$t1 - $t0" | bc)" -v c="$(echo "$u + $sy" | bc)" \
    -v sb="$(( s1 - s0 ))" -v pg="$(( p1 - p0 ))" -v hz="$hz" -v m="$rss" 'BEGIN {
      printf "%-9s %d rows, wall %.1f s: scoresync %.2f s CPU, PostgreSQL %.2f s, sandbox %.2f s; peak RSS %d KiB\n",
        p, r, w, c, pg / hz, sb / hz, m }'
done

#!/usr/bin/env bash
# End-to-end backfill throughput with rate limits off, against the psql \copy
# yardstick measured in the same run on the same server:
#   1. psql \copy of N result-shaped rows (with a jsonb column) into a bare table
#   2. scoresync backfill of the sandbox's N score reports (HTTP + parse + normalise + load)
#   3. the same backfill again (every row unchanged; prints how many result rows it
#      rewrote, which must be 0)
# Prints rows/s for each, the ratios, and scoresync's peak RSS (flat memory).
# Then two more yardsticks from the rows scoresync stored, same server:
#   4. psql \copy of the stored raw JSON alone into a one-column jsonb table
#      (the sandbox's records are ~1.6 KB, the yardstick's ~0.7 KB)
#   5. psql \copy of the stored candidates, results and sub-scores straight
#      into a freshly migrated database: the schema's own cost (indexes,
#      checks, TOAST) with no staging, key probes or change detection, a
#      lower bound for any loader that keeps this schema.
#   bench/backfill.sh [REPORTS]     default 200000
n=${1:-200000}
BENCH_PG_PORT=54378
source "$(dirname "$0")/lib.sh"
bench_sandbox main --reports "$n" --no-limits
url=$SB_URL_main
bench_config "$url" "{initial_days: 30, max_days: 365, target_records: 5000}"

rate() { awk -v n="$1" -v s="$2" -v e="$3" 'BEGIN { printf "%.0f", n / (e - s) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
timed() { # rows/s for $1 rows loaded by: psql "${@:2}"
  local n=$1 s e
  shift
  s=$(date +%s.%N)
  psql "$@"
  e=$(date +%s.%N)
  rate "$n" "$s" "$e"
}

# Yardstick: the same number of rows of similar width through psql \copy.
psql "$DATABASE_URL" -qc "CREATE TABLE copy_bench (id bigint, vendor_key text, status text,
  score numeric, completed_at timestamptz, cefr_label text, raw jsonb)"
psql "$DATABASE_URL" -Atc "COPY (SELECT g, md5(g::text), 'completed', (g % 100) / 10.0,
  now() - g * interval '1 minute', 'B2-C1',
  jsonb_build_object('userAssessmentId', md5(g::text), 'assessmentType', 'TrueNorth',
    'status', 'Completed', 'score', 8.0, 'cefrSpeakingLevel', 'B2-C1',
    'proficiencyLevelDescription', repeat('x', 300), 'diagnosticInfo', jsonb_build_array(repeat('y', 200)))
  FROM generate_series(1, $n) g) TO STDOUT" >"$T/rows.tsv"
copy_rate=$(timed "$n" "$DATABASE_URL" -qc "\\copy copy_bench FROM '$T/rows.tsv'")

# Rows per second of one backfill over everything the sandbox has.
run() {
  local s e rows
  s=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$T/rss" "$bin" -q --config "$T/c.yaml" backfill --vendor emmersion --since 2019-01-01
  e=$(date +%s.%N)
  rows=$(psql "$DATABASE_URL" -Atc "SELECT count(*) FROM results")
  rate "$rows" "$s" "$e"
}
loaded=$(curl -s "$url/_sandbox/emmersion/expected?account=demo" | grep -o '"completed":[0-9]*' | cut -d: -f2)
first=$(run)
rss1=$(cat "$T/rss")
psql "$DATABASE_URL" -qc "DELETE FROM checkpoints"
# Row versions before the re-sync: an unchanged row must not be rewritten.
psql "$DATABASE_URL" -qc "CREATE TABLE bench_xmin AS SELECT id, xmin::text AS x FROM results"
second=$(run)
rss2=$(cat "$T/rss")
rewritten=$(psql "$DATABASE_URL" -Atc "SELECT count(*) FROM results r JOIN bench_xmin b USING (id)
  WHERE r.xmin::text <> b.x")
rows=$(psql "$DATABASE_URL" -Atc "SELECT count(*) FROM results")

# 4 and 5: the stored rows, loaded again by psql alone.
for t in vendor_accounts candidates results result_subscores; do
  psql "$DATABASE_URL" -qc "\\copy $t TO '$T/$t.tsv'"
done
psql "$DATABASE_URL" -qc "\\copy (SELECT raw FROM results) TO '$T/raw.tsv'"
psql "$DATABASE_URL" -qc "CREATE TABLE raw_bench (raw jsonb)"
raw_rate=$(timed "$rows" "$DATABASE_URL" -qc "\\copy raw_bench FROM '$T/raw.tsv'")
psql "$DATABASE_URL" -qc "CREATE DATABASE floor_bench"
FLOOR_URL=${DATABASE_URL/\/scoresync\?//floor_bench?}
DATABASE_URL=$FLOOR_URL "$bin" -q --config "$T/c.yaml" migrate
psql "$FLOOR_URL" -qc "\\copy vendor_accounts FROM '$T/vendor_accounts.tsv'"
# In parts of 2,000 rows, as scoresync loads.
for t in candidates results result_subscores; do
  split -l 2000 -d -a 4 "$T/$t.tsv" "$T/part.$t."
  for f in "$T"/part.$t.*; do echo "\\copy $t FROM '$f'"; done
done >"$T/floor.sql"
floor_rate=$(timed "$rows" "$FLOOR_URL" -q -v ON_ERROR_STOP=1 -f "$T/floor.sql")
echo "reports served: $n (completed: $loaded); result rows loaded: $rows"
echo "psql \\copy yardstick:         $copy_rate rows/s"
echo "scoresync backfill (new):      $first rows/s  = $(ratio "$first" "$copy_rate") x copy; peak RSS ${rss1} KiB"
echo "scoresync backfill (unchanged): $second rows/s = $(ratio "$second" "$copy_rate") x copy; peak RSS ${rss2} KiB; rows rewritten: ${rewritten}"
echo "psql \\copy of the stored raw JSON alone (jsonb): $raw_rate rows/s = $(ratio "$raw_rate" "$copy_rate") x copy"
echo "psql \\copy of the stored rows into the real tables (lower bound of any loader): $floor_rate rows/s = $(ratio "$floor_rate" "$copy_rate") x copy; scoresync new = $(ratio "$first" "$floor_rate") x, unchanged = $(ratio "$second" "$floor_rate") x of it"

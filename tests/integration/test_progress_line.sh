#!/usr/bin/env bash
# The backfill's progress on a terminal (a pseudo-terminal from `script`):
# one line redrawn in place ('\r', cleared to the end of the line) with the
# share of the date range, records, rows per second, requests left in the
# 20-minute window and an ETA, and none of the per-window lines; the
# warnings logged meanwhile still print whole, above it. With stderr in a
# file: no '\r', the per-window lines as before. With log.format json, even
# on a terminal, every stderr line is one JSON object. Under sync --jobs,
# log lines and no live line.
source "$(dirname "$0")/lib.sh"
command -v script >/dev/null || fail "util-linux script is needed"
new_db
sandbox --reports 300 --seed 5 --no-limits --fault-bad-record 0.03
write_config() { # $1: log format
  cat >"$T/config.yaml" <<YAML
database:
  url: \${DATABASE_URL}
  batch_rows: 20
log: {level: info, format: $1}
scales: $SS_SOURCE_DIR/config/scales.yaml
migrations: $SS_SOURCE_DIR/sql
vendors:
  emmersion:
    base_url: $SANDBOX_URL/emmersion/2020q3
    rate_limits:
      - {requests: 1000, per_seconds: 1}
      - {requests: 500, per_seconds: 1200}
    accounts:
      - name: demo
        api_key: \${SB_KEY}
        streams: [scores]
        start_date: "2019-01-01"
        window: {initial_days: 30, target_records: 25}
YAML
}
export SB_KEY=sandbox-demo
CFG=$T/config.yaml
write_config text
ss migrate >/dev/null 2>&1
BACKFILL="backfill --vendor emmersion --since 2019-01-01"
# on_tty OUT: the backfill on a pseudo-terminal 500 columns wide (a narrower
# one would cut the line), its terminal output in OUT. A finished backfill's
# progress checkpoint is dropped first, so each run reads every window.
on_tty() {
  q "DELETE FROM checkpoints" >/dev/null
  script -qec "stty cols 500 2>/dev/null; '$SS_BIN' --config '$CFG' $BACKFILL" /dev/null >"$1" </dev/null ||
    { cat "$1"; fail "backfill on a terminal exited $?"; }
}

# 1. On a terminal.
on_tty "$T/tty.out"
ESC=$(printf '\033')
# Each redraw: '\r' + the line + ESC[K. Split on '\r' and keep the redraws.
tr '\r' '\n' <"$T/tty.out" | grep -a "${ESC}\[K\$" | sed "s/${ESC}\[K\$//" | grep -av '^$' >"$T/redraws" || true
RE='^emmersion/demo scores: ([0-9]+)% of range, ([0-9]+) records, ([0-9]+) rows/s, ([0-9]+) requests left in 20 min, ETA ([0-9]+h[0-9]{2}m|[0-9]+m[0-9]{2}s|[0-9]+s|\?)$'
n=$(grep -acE "$RE" "$T/redraws" || true)
[ "$n" -ge 5 ] || fail "want >= 5 progress redraws, got $n: $(head -5 "$T/redraws")"
other=$(grep -avE "$RE|^emmersion/demo scores: starting, " "$T/redraws" | grep -av '^scoresync: ' || true)
[ -z "$other" ] || fail "unexpected redraws: $other"
last=$(grep -aE "$RE" "$T/redraws" | tail -1)
requests=$(q "SELECT requests FROM sync_runs ORDER BY id DESC LIMIT 1")
records=$(q "SELECT results_inserted + results_unchanged + results_updated + quarantined FROM sync_runs ORDER BY id DESC LIMIT 1")
[ "$(echo "$last" | sed -E "s#$RE#\1 \4#")" = "100 $((500 - requests))" ] ||
  fail "last redraw '$last': want 100% and $((500 - requests)) requests left ($requests sent)"
[ "$(echo "$last" | sed -E "s#$RE#\2#")" -ge "$(q "SELECT results_inserted FROM sync_runs ORDER BY id DESC LIMIT 1")" ] ||
  fail "last redraw '$last' counts fewer records than were loaded ($records with quarantined)"
# The share only grows; requests left only shrink.
grep -aE "$RE" "$T/redraws" | sed -E "s#$RE#\1 \4#" | awk '
  NR > 1 && ($1 < p || $2 > l) {bad = 1} {p = $1; l = $2} END {exit bad}' ||
  fail "share or requests left went the wrong way: $(grep -aE "$RE" "$T/redraws" | head -20)"
! grep -aq "so far .* new" "$T/tty.out" || fail "per-window lines on a terminal: $(grep -a 'so far' "$T/tty.out" | head -2)"
# The quarantine warnings print whole: each starts a line (after the clearing).
grep -aq "^${ESC}\[Kscoresync: warning: .*(quarantined)" <(tr '\r' '\n' <"$T/tty.out") ||
  fail "no warning printed over the status line: $(head -c 600 "$T/tty.out" | cat -A)"
grep -aq "scoresync: info: emmersion/demo scores: ok: " "$T/tty.out" || fail "no end-of-stream line"
pass "terminal: $n redraws, last '$last'"

# 2. stderr in a file: today's lines, no '\r'.
q "DELETE FROM checkpoints" >/dev/null
ss $BACKFILL 2>"$T/file.log" </dev/null || { cat "$T/file.log"; fail "backfill exited $?"; }
! grep -q $'\r' "$T/file.log" || fail "'\\r' in a log file"
! grep -q "${ESC}" "$T/file.log" || fail "escape sequences in a log file"
w=$(grep -cE '^scoresync: info: emmersion/demo scores: [0-9-]+ \.\. [0-9-]+: [0-9]+ records; [0-9]+% of range; so far ' "$T/file.log" || true)
[ "$w" -ge 5 ] || fail "want the per-window lines in a file, got $w: $(head -5 "$T/file.log")"
pass "file: $w per-window lines, no '\\r'"

# 3. JSON logs on a terminal: every line a JSON object, no status line.
write_config json
on_tty "$T/json.out"
tr -d '\r' <"$T/json.out" | grep -av '^$' >"$T/json.lines"
lines=$(wc -l <"$T/json.lines")
[ "$lines" -ge 5 ] || fail "want JSON log lines, got $lines"
# Every line through PostgreSQL's parser: one that is not JSON fails the cast.
objects=$(psql "$DB_URL" -XAtq -v ON_ERROR_STOP=1 <<SQL
CREATE TEMP TABLE l (line text);
\\copy l FROM '$T/json.lines' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')
SELECT count(*) FROM l WHERE jsonb_typeof(line::jsonb) = 'object' AND line::jsonb ? 'msg';
SQL
) || fail "a stderr line is not JSON: $(head -3 "$T/json.lines")"
[ "$objects" = "$lines" ] || fail "$objects of $lines lines are JSON objects"
! grep -aq "${ESC}" "$T/json.out" || fail "escape sequences with JSON logs"
grep -aq '"msg":"2019-' "$T/json.lines" || fail "no per-window JSON lines"
pass "json on a terminal: $lines lines, all JSON objects"

# 4. sync --jobs on a terminal: several streams at once, so log lines, no
# live line (one terminal line cannot show them all).
write_config text
q "DELETE FROM checkpoints" >/dev/null
script -qec "stty cols 500 2>/dev/null; '$SS_BIN' --config '$CFG' sync --jobs 2" /dev/null \
  >"$T/jobs.out" </dev/null || { cat "$T/jobs.out"; fail "sync --jobs 2 on a terminal exited $?"; }
! grep -aq "${ESC}\[K" "$T/jobs.out" || fail "a live line under --jobs: $(head -c 400 "$T/jobs.out" | cat -A)"
w=$(grep -acE 'emmersion/demo scores: [0-9-]+ \.\. [0-9-]+: [0-9]+ records; ' "$T/jobs.out" || true)
[ "$w" -ge 1 ] || fail "no per-window lines under --jobs: $(head -5 "$T/jobs.out")"
pass "--jobs on a terminal: $w per-window lines, no live line"

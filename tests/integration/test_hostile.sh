#!/usr/bin/env bash
# Hostile input (issue 8): the sandbox's "hostile" switch serves, each in a
# window of its own next to three good reports, records a careless loader
# loses a window to, merges two ids for, or leaks a key with: ids of 3,000
# bytes, a 10 KB e-mail, year-0 timestamps, ids differing only in invalid
# UTF-8, in what follows a \u0000, or in a lone surrogate, a record nested
# deeper than the reader's limit, a report id twice (one user, two users),
# a number beyond 2^64, an id with a newline, a record echoing the API key.
# For every case: its good reports load, its bad records are quarantined
# with a reason (the sandbox says how many rows), the run ends ok (exit 0),
# the checkpoint moves past it, no two ids collapse, a re-read is clean, and
# the key is in no log line and no table.
source "$(dirname "$0")/lib.sh"
new_db
sandbox --reports 20 --seed 11 --no-limits
START=$(date -u -d '-30 days' +%F)
config "start_date: \"$START\"" "window: {initial_days: 1, max_days: 1}" \
  "rate_limits: [{requests: 1000, per_seconds: 1}]"
sed -i '/start_date: "2019-01-01"/d' "$CFG"
KEY=$SANDBOX_EMMERSION_KEY
curl -sf "$SANDBOX_URL/_sandbox/emmersion/hostile?account=demo" >"$T/cases.json" ||
  fail "the sandbox has no hostile switch"
cases() { sql_json "$T/cases.json" "$1"; }
ss migrate 2>"$T/migrate.log"

ss sync >"$T/run1.out" 2>"$T/run1.log" || fail "sync exited $?: $(tail -5 "$T/run1.log")"
pass "sync with every hostile case ends ok (exit 0)"

# Each case: its three good reports loaded, its bad ones quarantined.
bad=$(cases "
  WITH c AS (SELECT x->>'name' AS name, (x->>'bad')::int AS bad, x->'good' AS good
             FROM ex, jsonb_array_elements(j->'cases') x),
       g AS (SELECT c.name, count(r.id) AS loaded FROM c
             CROSS JOIN LATERAL jsonb_array_elements_text(c.good) AS gid(id)
             LEFT JOIN results r ON r.vendor_key = gid.id GROUP BY c.name),
       q AS (SELECT c.name, count(q.id) AS quarantined, count(q.id) FILTER (WHERE q.reason <> '') AS why
             FROM c LEFT JOIN quarantine q ON q.raw LIKE '%\"hostile-case:' || c.name || '\"%'
             GROUP BY c.name)
  SELECT string_agg(c.name || ': ' || g.loaded || ' good loaded, ' || q.quarantined ||
                    ' quarantined (want ' || c.bad || ')', E'\n' ORDER BY c.name)
  FROM c JOIN g USING (name) JOIN q USING (name)
  WHERE g.loaded <> 3 OR q.quarantined <> c.bad OR q.why <> q.quarantined;" 2>&1)
[ "$bad" = "" ] || fail "cases not handled:
$bad"
# (an empty answer must mean "none failed", not a failed query)
[ "$(cases "SELECT count(*) FROM ex, jsonb_array_elements(j->'cases');")" -gt 10 ] ||
  fail "the sandbox listed no cases"
n=$(cases "SELECT jsonb_array_length(j->'cases') FROM ex;")
pass "$n cases: three good reports loaded and the bad records quarantined with a reason, each"

# Fields and reasons of a few, as an operator reads them.
qr() { q "SELECT coalesce(field, '-') || ': ' || left(reason, 60) FROM quarantine WHERE raw LIKE '%\"hostile-case:$1\"%' ORDER BY field LIMIT 1"; }
case "$(qr long_report_id)" in "vendor_key: result id is 3000 bytes long"*) ;; *) fail "long id: $(qr long_report_id)" ;; esac
case "$(qr long_email)" in "candidate_key: its candidate was quarantined"* | "email: e-mail is 10252"*) ;; *) fail "e-mail: $(qr long_email)" ;; esac
case "$(qr year0)" in "completed_at: timestamp in the year 0 UTC"*) ;; *) fail "year 0: $(qr year0)" ;; esac
case "$(qr year0_utc)" in "started_at: timestamp in the year 0 UTC"*) ;; *) fail "year 0 UTC: $(qr year0_utc)" ;; esac
case "$(qr nul_report_ids)" in "userAssessmentId: id contains U+0000"*) ;; *) fail "NUL id: $(qr nul_report_ids)" ;; esac
case "$(qr lone_surrogate_ids)" in "userAssessmentId: id contains U+FFFD"*) ;; *) fail "surrogate: $(qr lone_surrogate_ids)" ;; esac
case "$(qr deep)" in "-: "*deep*) ;; *) fail "deep: $(qr deep)" ;; esac
case "$(qr dup_two_users)" in "vendor_key: result id appears 2 times"*) ;; *) fail "dup: $(qr dup_two_users)" ;; esac
pass "quarantine rows name the field and the reason"

# No two ids collapsed: every quarantine row and result has a key of its own.
dupes=$(q "SELECT (SELECT count(*) - count(DISTINCT (record_key, field)) FROM quarantine) +
                  (SELECT count(*) - count(DISTINCT vendor_key) FROM results)")
[ "$dupes" = 0 ] || fail "$dupes keys collapsed"
[ "$(q "SELECT count(*) FROM results WHERE vendor_key LIKE 'hb-%'")" = 0 ] ||
  fail "a crafted record was loaded: $(q "SELECT string_agg(vendor_key, ',') FROM results WHERE vendor_key LIKE 'hb-%'")"
pass "no two ids collapsed"

# raw is the record as received: a number beyond 2^64 keeps its digits.
big=$(q "SELECT raw->>'big' FROM results WHERE vendor_key = 'hostile-big_number-good-3'")
[ "$big" = 18446744073709551616 ] || fail "raw re-serialised the number: $big"
pass "raw keeps 18446744073709551616"

# The checkpoint moved past every case, and the run says ok.
last=$(cases "SELECT max(x->>'completed') FROM ex, jsonb_array_elements(j->'cases') x;")
ok=$(q "SELECT cursor::timestamptz > '$last'::timestamptz FROM checkpoints WHERE stream = 'scores'")
[ "$ok" = t ] || fail "checkpoint $(q "SELECT cursor FROM checkpoints") is not past $last"
[ "$(q "SELECT string_agg(status, ',') FROM sync_runs")" = ok ] || fail "runs: $(q "SELECT string_agg(status || ':' || coalesce(error, ''), ',') FROM sync_runs")"
pass "the checkpoint moved past the last case; the run is ok"

# A newline in an id forges no log line.
grep -q "^2020-01-01T00:00:00Z ERROR forged" "$T/run1.log" && fail "an id forged a log line"
pass "an id with a newline forges no log line"

# Re-reading the same windows changes nothing and adds no quarantine row.
before=$(q "SELECT count(*) || '/' || (SELECT count(*) FROM quarantine) FROM results")
ss backfill --vendor emmersion --since "$START" >"$T/run2.out" 2>"$T/run2.log" ||
  fail "re-read exited $?: $(tail -5 "$T/run2.log")"
after=$(q "SELECT count(*) || '/' || (SELECT count(*) FROM quarantine) FROM results")
[ "$before" = "$after" ] || fail "re-read changed results/quarantine: $before -> $after"
[ "$(q "SELECT sum(results_inserted + results_updated) FROM sync_runs WHERE mode = 'backfill'")" = 0 ] ||
  fail "re-read rewrote results"
[ "$(q "SELECT max(seen_count) FROM quarantine")" -ge 2 ] || fail "quarantine rows were not seen again"
ss sync >"$T/run3.out" 2>"$T/run3.log" || fail "second sync exited $?"
pass "a re-read is clean: $after results/quarantine rows, nothing rewritten"

# The key is in no log line and no table.
pg_dump --data-only "$DB_URL" >"$T/dump.sql"
for f in "$T"/*.log "$T"/*.out "$T/dump.sql"; do
  grep -l -F -- "$KEY" "$f" && fail "the API key leaked into $(basename "$f")"
done
grep -q 'Bearer \*\*\*' "$T/dump.sql" || fail "the record echoing the key was not stored masked"
pass "the API key is in no log line and no table"

#!/usr/bin/env bash
# An installed scoresync runs without the source tree: `cmake --install` of the
# build the test runs puts the binary, the migrations, the mapping tables and
# localpg.sh under a prefix, and a demo sync runs from an empty directory with
# a config that names only the vendor's base URL and the database. Then the
# same without a database URL: the installed localpg.sh starts the embedded
# cluster.
source "$(dirname "$0")/lib.sh"
new_db

BUILD_DIR=$(dirname "$SS_BIN")
P=$T/p
cmake --install "$BUILD_DIR" --prefix "$P" >"$T/install.log" 2>&1 ||
  { cat "$T/install.log"; fail "cmake --install failed"; }
for f in bin/scoresync share/scoresync/sql/001_schema.sql share/scoresync/config/scales.yaml \
         share/scoresync/config/example.yaml share/scoresync/config/sandbox.yaml \
         libexec/scoresync/localpg.sh; do
  [ -e "$P/$f" ] || fail "not installed: $f"
done
[ -x "$P/libexec/scoresync/localpg.sh" ] || fail "localpg.sh is not executable"
pass "installed into $P"

# From here on only the installed files: an empty directory outside the tree.
SS_BIN=$P/bin/scoresync
RUN=$T/run
mkdir "$RUN"
cd "$RUN"
case "$RUN" in "$SS_SOURCE_DIR"*) fail "$RUN is inside the source tree" ;; esac

sandbox --reports 300 --seed 11 --no-limits
cat >"$RUN/config.yaml" <<YAML
database:
  url: \${DATABASE_URL}
vendors:
  emmersion:
    base_url: $SANDBOX_URL/emmersion/2020q3
    accounts:
      - name: demo
        api_key: \${SANDBOX_EMMERSION_KEY}
        streams: [scores]
        start_date: "2019-01-01"
YAML
export SANDBOX_EMMERSION_KEY=sandbox-demo
CFG=$RUN/config.yaml
ss -v migrate 2>"$T/migrate.log" || { cat "$T/migrate.log"; fail "installed migrate"; }
grep -q "using the installed $P/bin/../share/scoresync/sql" "$T/migrate.log" ||
  fail "migrate did not use the installed migrations: $(cat "$T/migrate.log")"
n_sql=$(ls "$P/share/scoresync/sql"/*.sql | wc -l)
[ "$(q "SELECT count(*) FROM schema_migrations")" = "$n_sql" ] || fail "not every installed migration applied"
ss -v sync 2>"$T/sync.log" || { tail -20 "$T/sync.log"; fail "installed sync exited $?"; }
grep -q "using the installed $P/bin/../share/scoresync/config/scales.yaml" "$T/sync.log" ||
  fail "sync did not use the installed scales.yaml"
[ "$(q "SELECT count(*) FROM ref_cefr_levels")" -gt 0 ] || fail "the installed mapping tables were not loaded"
expected
assert_exact_set ids
[ -z "$(ls -A "$RUN" | grep -v '^config.yaml$')" ] || fail "the run wrote into the working directory: $(ls -A "$RUN")"
pass "demo sync from an empty directory with the installed files only"

# No database URL: the installed localpg.sh starts the embedded cluster. As
# root it runs the server as user postgres, which must reach the data dir.
unset DATABASE_URL
chmod 755 "$T"
PGDIR=$T/pg
LOCALPG=$P/libexec/scoresync/localpg.sh
trap 'bash "$LOCALPG" stop "$PGDIR" >/dev/null 2>&1 || true; _cleanup' EXIT
sed -i "s|^  url: .*|  url: \${DATABASE_URL:-}\n  data_dir: $PGDIR|" "$CFG"
ss migrate 2>"$T/embedded.log" || { cat "$T/embedded.log"; fail "migrate on the embedded cluster"; }
grep -q "using the embedded PostgreSQL cluster in $PGDIR" "$T/embedded.log" ||
  fail "no embedded cluster: $(cat "$T/embedded.log")"
bash "$LOCALPG" status "$PGDIR" >/dev/null || fail "the embedded cluster is not running in $PGDIR"
[ -f "$PGDIR/data/PG_VERSION" ] || fail "the cluster is not in $PGDIR (moved to a fallback?)"
ss sync 2>>"$T/embedded.log" || { tail -20 "$T/embedded.log"; fail "sync on the embedded cluster"; }
EURL=$(bash "$LOCALPG" url "$PGDIR")
got=$(psql "$EURL" -XAtqc "SELECT count(*) FROM results WHERE status = 'completed'")
want=$(sql_ex "SELECT jsonb_array_length(j->'ids') FROM ex;")
[ "$got" = "$want" ] || fail "embedded cluster holds $got completed results, want $want"
bash "$LOCALPG" stop "$PGDIR" 2>/dev/null
if bash "$LOCALPG" status "$PGDIR" >/dev/null; then fail "the embedded cluster did not stop"; fi
pass "embedded cluster from the installed localpg.sh: $got results, stopped"

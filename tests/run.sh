#!/usr/bin/env bash
# The test command: builds with warnings as errors, starts a private
# PostgreSQL server, runs every test (unit, database, integration against the
# sandbox over loopback), then runs the unit tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer, and checks formatting.
#   tests/run.sh            # everything
#   tests/run.sh -L unit    # extra arguments go to the first ctest run
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/deps.sh

build=${BUILD_DIR:-build-ci}
echo "== build ($build, -Werror)"
cmake -S . -B "$build" -DSS_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"

echo "== PostgreSQL for the tests"
pgdir=$(mktemp -d /tmp/scoresync-test-pg.XXXXXX)
export SS_PG_PORT=${SS_PG_PORT:-54339} SS_PG_FAST=1
cleanup() { bash "$root/scripts/localpg.sh" stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$pgdir"; }
trap cleanup EXIT
bash scripts/localpg.sh start "$pgdir"
SS_TEST_DATABASE_URL=$(bash scripts/localpg.sh url "$pgdir")
export SS_TEST_DATABASE_URL

echo "== tests"
ctest --test-dir "$build" --output-on-failure "$@"

echo "== unit tests under ASan + UBSan"
asan=${ASAN_BUILD_DIR:-build-asan}
cmake -S . -B "$asan" -DSS_SANITIZE=ON -DSS_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$asan" -j"$(nproc)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$asan" -L unit --output-on-failure

echo "== clang-format"
if command -v clang-format >/dev/null; then
  files=$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'bench/*.c' 2>/dev/null || true)
  [ -n "$files" ] && clang-format --dry-run -Werror $files
else
  echo "clang-format not installed; skipped"
fi
echo "== all tests passed"

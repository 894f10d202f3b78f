#!/usr/bin/env bash
# Runs one libFuzzer target on a temporary copy of its seed corpus, so that the committed
# corpus is never modified. Used by the fuzz ctests (fuzz/CMakeLists.txt) and scripts/fuzz.
#   run_target.sh TARGET_BINARY CORPUS_DIR
# FULCRUM_FUZZ_SECONDS (default 30) bounds the run. A crash, leak, sanitizer report or
# timeout fails the test; the input that caused it is kept as fuzz-artifacts/<target>-*
# in the current directory (the build directory under ctest), to be added to the corpus
# once fixed.
set -euo pipefail
bin=$1
corpus=$2
seconds=${FULCRUM_FUZZ_SECONDS:-30}
name=$(basename "$bin")
work=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$corpus/." "$work/"
mkdir -p fuzz-artifacts
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
log="$work.log"
set +e
"$bin" "$work" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 -artifact_prefix="$PWD/fuzz-artifacts/$name-" >"$log" 2>&1
status=$?
set -e
if [ "$status" -eq 0 ]; then
  grep -E '^(INFO: seed corpus|#[0-9]+ +DONE|Done [0-9]+ runs|stat::)' "$log" || true
else
  cat "$log"
fi
rm -f "$log"
echo "$name: exit $status (${seconds}s budget)"
exit "$status"

#!/usr/bin/env bash
# Runs every libFuzzer target of a -DXPUSIM_FUZZ=ON build for SECONDS each,
# one at a time, and prints one line per target (executions, time, corpus
# size, findings). Used by `make fuzz`.
#   tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
# FUZZ_RUNS=N stops each target after N executions (SECONDS stays the cap);
# FUZZ_MAX_LEN bounds the input size (65536 bytes by default).
# Working corpora grow in BUILD_DIR/fuzz-corpus/<target> (seeded from
# tests/fuzz/corpus and tests/fuzz/regressions); crashers, timeouts and
# out-of-memory inputs land in BUILD_DIR/fuzz-findings/<target>/: copy them
# to tests/fuzz/regressions/<target>/ once fixed.
set -uo pipefail
build=${1:?build dir}
seconds=${2:?seconds per target}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(accelerator energy workload experiment sweep expr scalesim_cfg scalesim_csv onnx)
export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1
# Leaks are not what these targets look for (and OpenMPI / yaml-cpp statics would report some).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
printf '%-14s %12s %8s %8s %s\n' target executions seconds corpus findings
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz: $bin not built" >&2; exit 1; }
  work="$build/fuzz-corpus/$t" findings="$build/fuzz-findings/$t"
  mkdir -p "$work" "$findings"
  log="$build/fuzz-findings/$t.log"
  # -timeout: one input running past 10 s is a hang; -rss_limit_mb: past 2 GB is runaway memory.
  nice -n 10 "$bin" "$work" "$here/corpus/$t" "$here/regressions/$t" \
    -max_total_time="$seconds" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -timeout=10 -rss_limit_mb=2048 -max_len=${FUZZ_MAX_LEN:-65536} -print_final_stats=1 \
    -artifact_prefix="$findings/" >"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' | tail -1)
  size=$(find "$work" -type f | wc -l)
  found=$(find "$findings" -type f | wc -l)
  printf '%-14s %12s %8s %8s %s\n' "$t" "${runs:-?}" "${secs:-?}" "$size" "$found"
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    failed=1
    echo "fuzz: $t found a problem (exit $rc): see $log and $findings/" >&2
  fi
done
exit $failed

#!/usr/bin/env bash
# Sweep throughput: points per second of `xpusim sweep -j J` for a new and an
# old xpusim binary, runs interleaved (new, old, new, old, ...) so that both
# see the same machine load; prints each run and the medians with new/old.
#   bench/bench_sweep.sh NEW_XPUSIM OLD_XPUSIM [SWEEP_YAML] [JOBS] [REPS]
# Defaults: configs/experiments/sweep_mxu.yaml, -j 2, 5 repetitions. Wall
# time of the whole command (plan, points, reports); CPU = user + sys of it
# and its workers.
set -euo pipefail
usage="usage: bench_sweep.sh NEW_XPUSIM OLD_XPUSIM [SWEEP_YAML] [JOBS] [REPS]
  points per second of 'xpusim sweep -j JOBS' for two binaries, interleaved
  (defaults: configs/experiments/sweep_mxu.yaml, 2 jobs, 5 repetitions)
"
for a in "$@"; do
  if [[ $a == -h || $a == --help ]]; then printf '%s' "$usage"; exit 0; fi
done
if [[ $# -lt 2 ]]; then printf 'error: two binaries needed\n%s' "$usage" >&2; exit 1; fi
here=$(cd "$(dirname "$0")/.." && pwd)
new=$1 old=$2 sweep=${3:-$here/configs/experiments/sweep_mxu.yaml} jobs=${4:-2} reps=${5:-5}
for b in "$new" "$old"; do [[ -x $b ]] || { echo "error: $b: not an executable" >&2; exit 1; }; done
[[ -f $sweep ]] || { echo "error: $sweep: no such file" >&2; exit 1; }
[[ $jobs =~ ^[1-9][0-9]*$ && $reps =~ ^[1-9][0-9]*$ ]] || { printf 'error: bad JOBS or REPS\n%s' "$usage" >&2; exit 1; }
tmp=$(mktemp -d /tmp/bench_sweep.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
run() {  # binary tag i -> "wall cpu" seconds
  local out=$tmp/$2$3
  /usr/bin/time -f '%e %U %S' -o "$tmp/t" "$1" sweep "$sweep" -j "$jobs" -q -o "$out" >/dev/null
  grep -c '"index"' "$out/sweep.json" > "$tmp/n"
  read -r wall user sys < "$tmp/t"
  echo "$wall $(echo "$user + $sys" | bc -l)"
  rm -rf "$out"
}
declare -a nw nc ow oc
for ((i = 0; i < reps; ++i)); do
  read -r w c < <(run "$new" new "$i"); nw+=("$w"); nc+=("$c")
  read -r w2 c2 < <(run "$old" old "$i"); ow+=("$w2"); oc+=("$c2")
  printf 'run %d: new %.3f s wall %.3f s CPU, old %.3f s wall %.3f s CPU\n' "$i" "$w" "$c" "$w2" "$c2"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
n=$(cat "$tmp/n")
mw=$(median "${nw[@]}") mc=$(median "${nc[@]}") ow_=$(median "${ow[@]}") oc_=$(median "${oc[@]}")
awk -v n="$n" -v mw="$mw" -v mc="$mc" -v ow="$ow_" -v oc="$oc_" -v j="$jobs" -v s="$(basename "$sweep")" 'BEGIN {
  printf "%s, %d points, -j %d, medians:\n", s, n, j
  printf "  new: %.3f s wall (%.1f points/s), %.3f s CPU (%.1f ms per point)\n", mw, n / mw, mc, 1e3 * mc / n
  printf "  old: %.3f s wall (%.1f points/s), %.3f s CPU (%.1f ms per point)\n", ow, n / ow, oc, 1e3 * oc / n
  printf "  new/old throughput: %.2fx wall, %.2fx CPU\n", ow / mw, oc / mc
}'

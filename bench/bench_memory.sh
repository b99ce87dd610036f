#!/usr/bin/env bash
# Peak host memory (RSS) and CPU time of the timing runs whose programs are
# large, for a new and an old xpusim binary back to back:
#   bench/bench_memory.sh NEW_XPUSIM OLD_XPUSIM [LIMIT_KB]
# Runs bench/memory/gemm_16384_tpu_v1.yaml (a 16384^3 int8 GEMM on tpu_v1,
# 1.06 M instructions) and bench/memory/vgg16_tpu_small.yaml (VGG-16 on the
# 8x8 test TPU, tens of millions of instructions), each under an
# address-space limit (default 8 GB: a run that needs more fails with
# bad_alloc instead of taking the machine's memory), and prints peak RSS,
# CPU seconds (user + sys), the exit status and new/old ratios. Checks that
# the two binaries' summary.json agree (but for the git revision).
set -u
usage="usage: bench_memory.sh NEW_XPUSIM OLD_XPUSIM [LIMIT_KB]
"
for a in "$@"; do
  if [[ $a == -h || $a == --help ]]; then printf '%s' "$usage"; exit 0; fi
done
if [[ $# -lt 2 ]]; then printf 'error: two binaries needed\n%s' "$usage" >&2; exit 1; fi
here=$(cd "$(dirname "$0")/.." && pwd)
new=$1 old=$2 limit=${3:-8000000}
for b in "$new" "$old"; do [[ -x $b ]] || { echo "error: $b: not an executable" >&2; exit 1; }; done
tmp=$(mktemp -d /tmp/bench_memory.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
run() {  # binary tag config -> "rss_kb cpu_s rc"
  ( ulimit -v "$limit"; /usr/bin/time -f '%M %U %S' -o "$tmp/t" "$1" run "$3" -q -o "$tmp/$2" > "$tmp/$2.log" 2>&1 )
  local rc=$?
  read -r rss user sys < <(tail -1 "$tmp/t")
  echo "$rss $(echo "$user + $sys" | bc -l) $rc"
}
for cfg in gemm_16384_tpu_v1 vgg16_tpu_small; do
  read -r nr nc nrc < <(run "$new" "new_$cfg" "$here/bench/memory/$cfg.yaml")
  read -r or oc orc < <(run "$old" "old_$cfg" "$here/bench/memory/$cfg.yaml")
  printf '%s: new %.0f MB %.2f s CPU (rc %s), old %.0f MB %.2f s CPU (rc %s), RSS new/old %.3f\n' "$cfg" \
    "$(echo "$nr / 1000" | bc -l)" "$nc" "$nrc" "$(echo "$or / 1000" | bc -l)" "$oc" "$orc" "$(echo "$nr / $or" | bc -l)"
  if [[ $nrc == 0 && $orc == 0 ]]; then
    if cmp -s <(grep -v '"git_revision"' "$tmp/new_$cfg/summary.json") <(grep -v '"git_revision"' "$tmp/old_$cfg/summary.json"); then
      echo "  summary.json: same"
    else
      echo "  summary.json: DIFFERS"
    fi
  fi
done

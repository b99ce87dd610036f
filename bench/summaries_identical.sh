#!/usr/bin/env bash
# Runs every configs/experiments/*.yaml (experiments with `run`, sweeps with
# `sweep -j 2`) with two xpusim binaries and compares their summary.json byte
# for byte, after blanking the one field that names the build
# ("git_revision"). Exit 0 when all are identical.
#   bench/summaries_identical.sh NEW_XPUSIM OLD_XPUSIM [CONFIG.yaml ...]
set -uo pipefail
if [[ $# -lt 2 || $1 == -h || $1 == --help ]]; then
  echo "usage: summaries_identical.sh NEW_XPUSIM OLD_XPUSIM [CONFIG.yaml ...]"
  [[ $# -ge 2 ]] && exit 0 || exit 1
fi
here=$(cd "$(dirname "$0")/.." && pwd)
new=$1 old=$2
shift 2
configs=("$@")
[[ ${#configs[@]} -gt 0 ]] || configs=("$here"/configs/experiments/*.yaml)
tmp=$(mktemp -d /tmp/summaries.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
status=0
for c in "${configs[@]}"; do
  name=$(basename "$c" .yaml)
  for side in new old; do
    bin=$new
    [[ $side == old ]] && bin=$old
    if grep -q '^kind: sweep' "$c"; then
      "$bin" sweep "$c" -j 2 -q -o "$tmp/$side/$name" > "$tmp/$side-$name.log" 2>&1
    else
      "$bin" run "$c" -q -o "$tmp/$side/$name" > "$tmp/$side-$name.log" 2>&1
    fi || { echo "$name: $side run failed: $(tail -3 "$tmp/$side-$name.log")"; status=1; }
  done
  norm() { sed 's/"git_revision": "[^"]*"/"git_revision": ""/' "$1"; }
  if cmp -s <(norm "$tmp/new/$name/summary.json") <(norm "$tmp/old/$name/summary.json"); then
    echo "$name: summary.json identical ($(wc -c < "$tmp/new/$name/summary.json") bytes)"
  else
    echo "$name: summary.json DIFFERS"
    diff <(norm "$tmp/new/$name/summary.json") <(norm "$tmp/old/$name/summary.json") | head -5
    status=1
  fi
done
exit $status

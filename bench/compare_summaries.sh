#!/usr/bin/env bash
# Runs every configs/experiments/*.yaml (experiments and sweeps) and the
# SCALE-Sim example runs with one xpusim binary into OUT/<name>, so two
# binaries' reports can be compared byte for byte (summary.json: cycles,
# counters, energy; sweeps also points.csv and every points/*.json):
#   bench/compare_summaries.sh OLD_XPUSIM /tmp/old
#   bench/compare_summaries.sh build/xpusim /tmp/new
#   bench/compare_summaries.sh --diff /tmp/old /tmp/new
# Run from the repository root. SKIP (a regex of names) leaves runs out.
set -u
if [ "${1:-}" = "--diff" ]; then
  old=$2 new=$3 bad=0 n=0
  while IFS= read -r f; do
    n=$((n + 1))
    rel=${f#"$old"/}
    if [ ! -e "$new/$rel" ]; then echo "MISSING: $rel"; bad=1
    elif ! cmp -s "$f" "$new/$rel"; then
      # The build's git revision is recorded in the report; nothing else may differ.
      if cmp -s <(grep -v '"git_revision"' "$f") <(grep -v '"git_revision"' "$new/$rel"); then
        echo "same but the git revision: $rel"
      else
        echo "DIFFERS: $rel"; bad=1
      fi
    fi
  done < <(find "$old" \( -name summary.json -o -name points.csv -o -path '*/points/*.json' \) | sort)
  echo "$n files compared (summary.json, points.csv, points/*.json)"
  exit $bad
fi
bin=$1 out=$2
rm -rf "$out" && mkdir -p "$out"
run() {  # name, args...
  local name=$1; shift
  if [ -n "${SKIP:-}" ] && [[ $name =~ $SKIP ]]; then return; fi
  local t0=$(date +%s.%N)
  "$bin" -q "$@" -o "$out/$name" > "$out/$name.log" 2>&1
  echo "$name rc=$? $(echo "$(date +%s.%N) - $t0" | bc) s"
}
for f in configs/experiments/*.yaml; do
  name=$(basename "$f" .yaml)
  if grep -q '^kind: sweep' "$f"; then run "$name" sweep "$f" -j 1; else run "$name" run "$f"; fi
done
for c in workloads/scalesim/*.cfg; do
  for t in workloads/scalesim/*.csv; do
    run "scalesim_$(basename "$c" .cfg)_$(basename "$t" .csv)" run --scalesim-cfg "$c" --topology "$t"
  done
done

#!/usr/bin/env bash
# The reports judge.py reads: MODEL on a judging set (songs it never trained on), both drum tasks, every
# song's first 4 windows, one report per task and seed. t1 keeps the lead and makes bass and drums; t2 keeps
# lead and bass and makes drums. Extra arguments go to `getmusic evaluate` (--continued: each song made as
# `generate` makes it). Seeds 0 and 1, or those in $SEEDS (judge a change of about 0.01 on four).
# Usage: [SEEDS="0 1 2 3"] bash training/default/judging_reports.sh MODEL DATA_DIR OUT_PREFIX [EVALUATE_ARGS...]
# Writes OUT_PREFIX-t1-sSEED.json and OUT_PREFIX-t2-sSEED.json for each seed.
set -euo pipefail
if [ $# -lt 3 ]; then
    sed -n '2,7p' "$0" >&2
    exit 2
fi
model=$1 data=$2 out=$3
shift 3
for seed in ${SEEDS:-0 1}; do
    for task in t1 t2; do
        if [ "$task" = t1 ]; then keep=lead make=bass,drums; else keep=lead,bass make=drums; fi
        getmusic evaluate "$model" "$data" --keep "$keep" --make "$make" --split all --windows 4 --n 50 \
            --seed "$seed" --no-references --json "$@" > "$out-$task-s$seed.json.part"
        mv "$out-$task-s$seed.json.part" "$out-$task-s$seed.json"  # a report is whole or absent
    done
done

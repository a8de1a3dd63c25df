#!/usr/bin/env bash
# The default model from scratch: corpus, training, evaluation on the held-out pieces.
# About 100 minutes on 2 CPU cores. Usage: bash training/default/recipe.sh [RUN_DIR] [EVAL_DIR]
# Then, to ship the result: python training/default/install_bundle.py RUN_DIR &&
#   python -m getmusic_cli.hub.registry refresh default
set -euo pipefail
run=${1:-runs/default}
evals=${2:-training/default}

pip install music21==10.5.1
python training/build_corpus.py corpus/
getmusic train corpus/ -o "$run" --config small --steps 5000 --batch-size 8 --lr 1e-3 \
    --eval-every 250 --save-every 250 --seed 0
getmusic evaluate "$run/bundle" corpus/ --keep lead --make bass,strings --n 32 --windows 4 --seed 0 --json \
    > "$evals/eval-lead-to-bass-strings.json"
getmusic evaluate "$run/bundle" corpus/ --keep lead --make bass,drums,guitar,strings --n 32 --windows 8 --seed 0 \
    --json > "$evals/eval-lead-to-band.json"

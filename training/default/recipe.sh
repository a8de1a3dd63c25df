#!/usr/bin/env bash
# The default model from scratch: corpora, version 2 (classical + Freedoom; the shipped default, RUN_DIR-v2),
# then the version 3 candidate (version 2 fine-tuned on the band corpus, RUN_DIR; not shipped yet: it does not
# clear the band bar, see training/MODEL_CARD.md), then the scorecard of RUN_DIR on the external band test set
# and the held-out pieces. About 3 hours on 2 CPU cores. Usage: bash training/default/recipe.sh [RUN_DIR] [EVAL_DIR]
# To ship a run: python training/default/install_bundle.py RUN_DIR corpus-band/manifest.json &&
#   python -m getmusic_cli.hub.registry refresh default
set -euo pipefail
run=${1:-runs/default}
evals=${2:-training/default}

pip install music21==10.5.1
python training/build_corpus.py corpus/ --sources freedoom,music21
python training/build_corpus.py corpus-band/ --sources freedoom,music21,mma,hydrogen
getmusic train corpus/ -o "$run-v2" --config small --steps 5000 --batch-size 8 --lr 1e-3 \
    --eval-every 250 --save-every 250 --seed 0
getmusic train corpus-band/ -o "$run" --init "$run-v2/bundle" --steps 2000 --batch-size 8 --lr 5e-4 \
    --eval-every 500 --save-every 250 --seed 0 --source-weights mma=1,freedoom=0.5,beethoven=0.5,hydrogen=2
python training/external_benchmark.py "$run/bundle" --out "$evals" --windows 4 --seed 0
getmusic evaluate "$run/bundle" corpus/ --keep lead --make bass,strings --n 32 --windows 4 --seed 0 --json \
    > "$evals/indomain-lead-to-bass-strings.json"

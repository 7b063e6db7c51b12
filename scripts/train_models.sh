#!/usr/bin/env bash
# Train the bundled demo models on a CPU, resumably.
#
#   scripts/train_models.sh season|style|vangogh|facades|facades-l1|sketch-data|sketch
#
# Each model trains into runs/<name>/ with the exact command in runs/<name>/command.txt (written by
# `translate train`) and its log in log.jsonl; running the same line again after a stop continues
# from the latest checkpoint (--resume). THREADS (default 1) lets two models train side by side on
# a 2-core machine. SHARED points at the shared data (default ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
DATA=$SHARED/data
THREADS=${THREADS:-1}
TRANSLATE=${TRANSLATE:-.venv/bin/translate}

train() {  # train RUN_NAME ARGS...: start the run, or resume it if it has a checkpoint
    local run=runs/$1
    shift
    if [[ -f $run/checkpoints/latest.txt ]]; then
        "$TRANSLATE" train --resume "$run" --threads "$THREADS" --quiet
    else
        rm -rf "$run"  # a run stopped before its first checkpoint starts over
        "$TRANSLATE" train "$@" --out "$run" --threads "$THREADS" --quiet
    fi
}

case ${1:?model name} in
season)
    train season cyclegan --preset summer2winter-small --data "$DATA/summer2winter_yosemite" \
        --n-epochs 20 --n-epochs-decay 20 ;;
style)
    train style cyclegan --preset monet2photo-small --data "$DATA/monet2photo_kaggle256" \
        --n-epochs 4 --n-epochs-decay 4 ;;
vangogh)
    train vangogh cyclegan --preset cyclegan-small --data "$DATA/vangogh2photo" \
        --domain-a "Van Gogh painting" --domain-b photo --n-epochs 4 --n-epochs-decay 4 ;;
facades)
    train facades pix2pix --preset facades-small --data "$DATA/facades" \
        --n-epochs 30 --n-epochs-decay 30 ;;
facades-l1)  # the paper's L1-only baseline: same preset and schedule, no adversarial term
    train facades-l1 pix2pix --preset facades-small --data "$DATA/facades" \
        --n-epochs 30 --n-epochs-decay 30 --lambda-gan 0 ;;
sketch-data)  # sketch|photo pairs made with the project's edge extractor
    out=runs/sketch-data
    for split in train val; do
        "$TRANSLATE" edges "$DATA/facades/$split" "$out/$split" --half left --aligned
        "$TRANSLATE" edges "$DATA/edges2shoes/$split" "$out/$split" --half right --aligned
    done ;;
sketch)
    train sketch pix2pix --preset edges2shoes-small --data runs/sketch-data \
        --n-epochs 30 --n-epochs-decay 30 ;;
*) echo "unknown model: $1" >&2; exit 2 ;;
esac

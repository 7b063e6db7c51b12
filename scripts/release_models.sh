#!/usr/bin/env bash
# Release the bundled demo models from their training runs (scripts/train_models.sh), one
# `translate release` per model file: models/NAME.onnx (+ .int8.onnx where export's gate passes),
# NAME.png, NAME.md and checkpoints/RUN/.
#
#   scripts/release_models.sh sketch|facades|season|style|vangogh
#
# This file is the table of what each card says that the run cannot know (task, data, licence,
# limits). SHARED points at the shared data (default ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
DATA=$SHARED/data
TRANSLATE=${TRANSLATE:-.venv/bin/translate}

release() {  # release RUN NAME "SOURCE -> TARGET" KIND ARGS...: one model file of a demo run
    local run=$1 name=$2 what=$3 kind=$4
    shift 4
    "$TRANSLATE" release "runs/$run" --name "$name" \
        --lead "**A small demo model**, trained on a 2-core CPU: not reference quality (see Limits)." \
        --hardware "2 CPU cores (1 thread, another model training beside it)" \
        --description "$what: a small $kind demo model trained on a 2-core CPU (card: models/$name.md)" \
        "$@"
}

UNPAIRED_LIMITS="Trained {time} on 2 CPU cores at 128 px with a narrow ResNet (ngf 32, 6 blocks): \
it changes colours and textures across the whole image, not objects; details are soft, and the \
held-out sets are small, so the AUC is a rough figure."

case ${1:?model name} in
sketch)
    release sketch sketch2photo "edge sketch -> photo" pix2pix --task sketch-to-photo \
        --title "Sketch -> photo (pix2pix)" --target-domain photo \
        --sheet-images 1 16 32 5 106_AB 107_AB \
        --data-note "Photos of \`facades\` (400 train) and \`edges2shoes\` (100 train), each turned \
into an edge sketch with \`translate edges\` (Canny, thinning, small-component removal): 500 \
sketch|photo pairs (\`scripts/train_models.sh sketch-data\`). Held out: the val splits (100 \
facades + 20 shoes)." \
        --licence "CMP Facade Database (research dataset; licence not verified) and UT-Zappos50K \
(academic, non-commercial use). Cite Tyleček & Šára 2013, Yu & Grauman 2014, Isola et al. 2017." \
        --limits "Trained {time} on 2 CPU cores at 128 px on 500 pairs, mostly facades: it fills \
outlines with plausible colours and coarse texture (shoe-like on white, facade-like elsewhere); it \
does not invent fine detail, and results are blurry. Strokes should be thin and dark on white, \
like \`translate edges\` makes them." ;;
facades)  # beside the L1-only baseline run (scripts/train_models.sh facades-l1)
    release facades facades_labels2photo "label map -> facade photo" pix2pix \
        --task labels-to-photo --title "Facade label map -> photo (pix2pix)" \
        --data "$DATA/facades" --baseline runs/facades-l1 \
        --data-note "\`facades\`: 400 train pairs (CMP Facade Database); held out: the 100 val pairs." \
        --licence "CMP Facade Database (Tyleček & Šára 2013), a research dataset; licence not \
verified. Cite Tyleček & Šára 2013 and Isola et al. 2017." \
        --limits "Trained {time} on 2 CPU cores at 128 px: windows, doors and cornices land where \
the labels put them with plausible colours, but textures are coarse and the model only knows the \
CMP label colours." ;;
season)
    for pair in "summer2winter AtoB summer -> winter" "winter2summer BtoA winter -> summer"; do
        read -r name direction what <<<"$pair"
        release season "$name" "$what" CycleGAN --direction "$direction" --task season \
            --title "Summer <-> winter, Yosemite (CycleGAN)" \
            --data "$DATA/summer2winter_yosemite" \
            --data-note "\`summer2winter_yosemite\`: 100 summer and 100 winter Flickr photos \
(unpaired); held out: testA (303 summer) and testB (235 winter)." \
            --licence "Flickr photos distributed by CycleGAN for research; photographers keep \
copyright. Cite Zhu et al. 2017." \
            --limits "$UNPAIRED_LIMITS"
    done ;;
style)
    for pair in "photo2monet BtoA photo -> Monet painting" "monet2photo AtoB Monet painting -> photo"; do
        read -r name direction what <<<"$pair"
        release style "$name" "$what" CycleGAN --direction "$direction" --task style \
            --title "Monet painting <-> photo (CycleGAN)" \
            --data "$DATA/monet2photo_kaggle256" \
            --data-note "\`monet2photo_kaggle256\`: 270 Monet paintings and 391 photos (unpaired); \
held out: testA (30 paintings) and testB (43 photos)." \
            --licence "Monet's paintings are public domain (reproductions distributed by Kaggle's \
gan-getting-started competition); photos from Flickr, photographers keep copyright. Check Kaggle's \
rules before redistributing widely." \
            --limits "$UNPAIRED_LIMITS"
    done ;;
vangogh)  # trains and releases like the others, but is not shipped (repository size budget)
    for pair in "photo2vangogh BtoA photo -> Van Gogh painting" \
                "vangogh2photo AtoB Van Gogh painting -> photo"; do
        read -r name direction what <<<"$pair"
        release vangogh "$name" "$what" CycleGAN --direction "$direction" --task style \
            --title "Van Gogh painting <-> photo (CycleGAN)" \
            --data "$DATA/vangogh2photo" \
            --data-note "\`vangogh2photo\` (CycleGAN subset): 180 Van Gogh paintings and 90 photos \
(unpaired); held out: testA (19 paintings) and testB (10 photos)." \
            --licence "Van Gogh's paintings are public domain (reproductions via CycleGAN's \
WikiArt-derived set); photos from Flickr, photographers keep copyright. Cite Zhu et al. 2017." \
            --limits "$UNPAIRED_LIMITS Only 90 training photos and 10 held-out photos: treat it \
as a sketch of the idea."
    done ;;
*) echo "unknown model: $1" >&2; exit 2 ;;
esac

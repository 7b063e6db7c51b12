"""``translate release``: a training run becomes a shipped model (ONNX, card, sample sheet and
a weights-only checkpoint); see :mod:`translate.export.release`."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import import_extra
from .eval import FEATURES


def add_parser(subparsers, formatter_class) -> None:
    from ..runtime.metadata import TASKS  # light: no torch

    p = subparsers.add_parser(
        "release",
        help="ship a training run: ONNX (+ int8), model card, sample sheet, fp16 checkpoint",
        description="Export one generator of RUN to MODELS/NAME.onnx (checked against PyTorch; "
        "NAME.int8.onnx too where export's quality gate passes), score it on held-out images "
        "at the training size, draw MODELS/NAME.png, write the model card MODELS/NAME.md and "
        "copy the checkpoint to CHECKPOINTS/RUN (fp16 weights + config.json, which `translate "
        "train --resume` continues). Files are staged and moved into place at the end: a "
        "failed release changes nothing, a second one replaces the first. A CycleGAN run is "
        "released once per direction.",
        formatter_class=formatter_class,
    )
    p.add_argument("run", help="training run folder (or a checkpoint folder in one)")
    p.add_argument("--name", help="model file name without .onnx; unset: the run folder's name")
    p.add_argument(
        "--direction",
        choices=["AtoB", "BtoA"],
        help="CycleGAN: AtoB releases G_A, BtoA G_B; unset: the run's first (pix2pix: its own)",
    )
    p.add_argument(
        "--checkpoint", help="a checkpoint folder, or its name in the run; unset: the latest"
    )
    g = p.add_argument_group("held-out data (default: the dataset's val/ or test/ split)")
    g.add_argument("--data", help="the dataset folder; unset: the one the run recorded")
    g.add_argument(
        "--held-out",
        help="paired: aligned A|B images (or inputs, with --held-out-target); unpaired: images "
        "of the source domain",
    )
    g.add_argument(
        "--held-out-target",
        help="paired: targets named like the inputs; unpaired: real images of the target domain",
    )
    g.add_argument(
        "--baseline", help="paired: another run (e.g. L1 only) scored and drawn beside this one"
    )
    g.add_argument(
        "--sheet-images",
        nargs="+",
        metavar="NAME",
        default=[],
        help="held-out images (file names without extension) the sample sheet shows; unset: six "
        "spread over the set",
    )
    g.add_argument(
        "--features",
        choices=FEATURES,
        default="auto",
        help="unpaired: feature network for KID/FID (as in translate eval)",
    )
    g.add_argument("--inception-weights", help="torchvision's Inception-v3 weights file")
    g.add_argument("--device", default="cpu", help="device for the feature network")
    g = p.add_argument_group("export")
    g.add_argument(
        "--int8",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also an int8 variant, shipped only where export's quality gate passes",
    )
    g.add_argument("--calib", help="int8 calibration images; unset: training inputs")
    g = p.add_argument_group("card and metadata")
    g.add_argument("--task", choices=TASKS, help="which app tab lists the model; unset: general")
    g.add_argument("--title", help="the task in words, e.g. 'Summer <-> winter (CycleGAN)'")
    g.add_argument("--source-domain", help="what the model takes; unset: the run's domain name")
    g.add_argument("--target-domain", help="what it makes; unset: the run's domain name")
    g.add_argument("--description", help="one line in the metadata (the app, translate info)")
    g.add_argument("--lead", help="the card's opening paragraph (Markdown)")
    g.add_argument("--data-note", help="the card's data row: what it trained on, what was held out")
    g.add_argument("--licence", help="licence of the data and weights (card and metadata)")
    g.add_argument("--limits", help="the card's Limits section; {time} becomes the training time")
    g.add_argument("--hardware", help="what it trained on, e.g. '2 CPU cores', for the card")
    g = p.add_argument_group("output")
    g.add_argument("--models", default="models", help="folder for NAME.onnx, .md and .png")
    g.add_argument("--checkpoints", default="checkpoints", help="folder for the checkpoint")
    g.add_argument("--no-checkpoint", action="store_true", help="ship no checkpoint")


def run(args: argparse.Namespace) -> int:
    release = import_extra("translate.export.release", "train", "translate release")
    notes = release.CardNotes(
        task=args.task,
        title=args.title or "",
        source_domain=args.source_domain,
        target_domain=args.target_domain,
        description=args.description or "",
        lead=args.lead or "",
        data=args.data_note or "",
        licence=args.licence or "",
        limits=args.limits or "",
        hardware=args.hardware or "",
    )
    done = release.release(
        args.run,
        args.name,
        direction=args.direction,
        checkpoint=args.checkpoint,
        data=args.data,
        held_out=args.held_out,
        held_out_target=args.held_out_target,
        calib=args.calib,
        int8=args.int8,
        baseline=args.baseline,
        sheet_images=args.sheet_images,
        notes=notes,
        models_dir=Path(args.models),
        checkpoints_dir=None if args.no_checkpoint else Path(args.checkpoints),
        features=args.features,
        inception_weights=args.inception_weights,
        device=args.device,
        log=print,
    )
    for line in done.lines():
        print(line)
    return 0

"""``translate eval``: score translated images (paired L1/PSNR/SSIM, unpaired C2ST/KID/FID), or
run a model on held-out folders and score it beside the untranslated inputs."""

from __future__ import annotations

import argparse

from ..errors import ConfigError, import_extra

# translate.eval.features.FEATURES, spelled out: building the parser must not import torch
FEATURES = ("auto", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "inception",
            "random_cnn", "none")  # fmt: skip


def add_parser(subparsers, formatter_class) -> None:
    p = subparsers.add_parser(
        "eval",
        help="score a model on held-out folders (KID/FID, checkerboard, ...) or translated "
        "images: paired L1/PSNR/SSIM or unpaired C2ST/KID/FID",
        description="translate eval MODEL INPUTS TARGETS: run MODEL (an .onnx file, a model "
        "name, a training run) on INPUTS (--size px) and score its outputs against the real "
        "TARGETS beside the untranslated inputs (the do-nothing baseline): KID/FID on "
        "EfficientNet-Lite1 features and on a fixed random CNN, the checkerboard excess over "
        "the targets, sharpness, and L1/PSNR/SSIM when inputs and targets share names. "
        "translate eval OUTPUTS REFERENCE: paired (default): each image in OUTPUTS is compared "
        "with the image of the same name (any extension, same subfolder) in REFERENCE, or with "
        "one half of an aligned A|B image (--split). Unpaired (--unpaired): OUTPUTS are "
        "generated images, REFERENCE real ones; prints the classifier two-sample AUC, KID/FID "
        "and the checkerboard excess. Nothing is downloaded.",
        formatter_class=formatter_class,
    )
    p.add_argument(
        "outputs", help="folder of translated / generated images; with TARGETS: the MODEL"
    )
    p.add_argument(
        "reference",
        help="folder of targets (paired) or real images (unpaired); with TARGETS: the INPUTS",
    )
    p.add_argument(
        "targets",
        nargs="?",
        help="real target images: evaluate the MODEL on the INPUTS folder against them",
    )
    p.add_argument("--unpaired", action="store_true", help="distribution metrics, no pairing")
    p.add_argument(
        "--split",
        choices=["A", "B"],
        help="paired: REFERENCE holds aligned A|B images; compare with the left (A) or right (B) "
        "half (with a MODEL: the half of TARGETS that is the target)",
    )
    p.add_argument(
        "--input-split",
        choices=["A", "B"],
        help="with a MODEL: INPUTS holds aligned A|B images; the left (A) or right (B) half is "
        "the input",
    )
    p.add_argument(
        "--features",
        choices=FEATURES,
        default="auto",
        help="feature network for KID/FID; auto: EfficientNet-Lite1 from the [eval] extra, else "
        "Inception-v3 if its weights are found, else none",
    )
    p.add_argument(
        "--inception-weights",
        help="torchvision's inception_v3_google-0cc3c7bd.pth; None: look in torch's cache",
    )
    p.add_argument(
        "--size",
        type=int,
        help="unpaired: images are resized to SIZE x SIZE for C2ST (default 128); with a MODEL: "
        "inputs and targets are scaled to SIZE px on the shorter side (default 256; 0: native)",
    )
    p.add_argument("--limit", type=int, help="with a MODEL: score at most N images of each folder")
    p.add_argument("--direction", choices=["AtoB", "BtoA"], help="with a CycleGAN run: generator")
    p.add_argument("--backend", default="auto", help="with a MODEL: inference backend")
    p.add_argument("--threads", type=int, help="with a MODEL: inference threads")
    p.add_argument("--save-outputs", metavar="DIR", help="with a MODEL: write its outputs here")
    p.add_argument(
        "--seed", type=int, default=0, help="C2ST folds, KID subsets and --limit's sample"
    )
    p.add_argument("--device", default="cpu", help="device for the feature network")
    p.add_argument("--per-image", action="store_true", help="paired: also list every image")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    import json

    evaluate = import_extra("translate.eval.evaluate", "eval", "translate eval")
    if args.targets is not None:
        return _run_model(args, evaluate)
    for flag in ("input_split", "limit", "direction", "save_outputs"):
        if getattr(args, flag) is not None:
            raise ConfigError(f"--{flag.replace('_', '-')} needs a MODEL (MODEL INPUTS TARGETS)")
    if args.unpaired:
        if args.split:
            raise ConfigError("--split applies to paired evaluation only")
        extractor, name, note = _features(args)
        report = evaluate.evaluate_unpaired(
            args.outputs,
            args.reference,
            extractor,
            name,
            size=args.size or 128,
            seed=args.seed,
            no_features_reason=note,
        )
    else:
        report = evaluate.evaluate_paired(args.outputs, args.reference, split=args.split)
    if args.json:
        d = report.to_dict()
        if not args.per_image:
            d.pop("per_image", None)
        print(json.dumps(d, indent=2))
    else:
        print(report.summary(args.outputs, args.reference, per_image=args.per_image))
    return 0


def _features(args: argparse.Namespace):
    """(extractor or None, its name, a note for the report) from --features."""
    from ..eval.features import resolve_features

    return resolve_features(args.features, args.inception_weights, args.device)


def _run_model(args: argparse.Namespace, evaluate) -> int:
    import json
    import sys

    if args.unpaired or args.per_image:
        raise ConfigError("--unpaired and --per-image apply to scoring folders of outputs")
    report = evaluate.evaluate_model(
        args.outputs,
        args.reference,
        args.targets,
        size=256 if args.size is None else (args.size or None),
        features=args.features,
        inception_weights=args.inception_weights,
        input_split=args.input_split,
        target_split=args.split,
        direction=args.direction,
        backend=args.backend,
        threads=args.threads,
        device=args.device,
        limit=args.limit,
        seed=args.seed,
        save_outputs=args.save_outputs,
        progress=sys.stderr.isatty(),
    )
    for warning in report.warnings:
        print(f"translate eval: warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary(args.reference, args.targets))
    return 0

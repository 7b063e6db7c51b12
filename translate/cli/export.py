"""``translate export``: a generator as one self-contained ONNX file with its metadata."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ConfigError, import_extra


def add_parser(subparsers, formatter_class) -> None:
    from ..runtime.metadata import TASKS  # light: no torch

    p = subparsers.add_parser(
        "export",
        help="export a generator to one self-contained ONNX file with its metadata",
        description="SOURCE is a training run folder (or a checkpoint in one) or an official "
        "pix2pix/CycleGAN .pth / .safetensors (architecture read off the file, or given with "
        "--arch ...). The file is checked with onnx.checker and against PyTorch at two sizes "
        "(max |diff| <= 1e-4); the figures are printed and the exit code is 1 if a check fails. "
        "int8/fp16 variants are compared with the fp32 output on real images and refused below "
        "--min-psnr.",
        formatter_class=formatter_class,
    )
    p.add_argument("source", help="training run folder, checkpoint, or reference .pth")
    p.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    p.add_argument(
        "--direction",
        choices=["AtoB", "BtoA"],
        help="CycleGAN runs: AtoB exports G_A, BtoA G_B; reference files: recorded as is. "
        "Unset: the run's direction (AtoB for reference files)",
    )
    g = p.add_argument_group("reference weights (the reference's --netG, --norm, --ngf, ...)")
    g.add_argument("--arch", help="generator: resnet_9blocks, resnet_6blocks, unet_256, unet_128")
    g.add_argument("--norm", choices=["batch", "instance", "none"])
    g.add_argument("--ngf", type=int)
    g.add_argument("--input-nc", type=int)
    g.add_argument("--output-nc", type=int)
    g.add_argument(
        "--dropout",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the generator has dropout layers (the reference's --no_dropout is --no-dropout)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--eval",
        dest="train_mode",
        action="store_false",
        default=argparse.SUPPRESS,
        help="BatchNorm running statistics, no dropout: deterministic (the default mode)",
    )
    mode.add_argument(
        "--train-mode",
        dest="train_mode",
        action="store_true",
        default=argparse.SUPPRESS,
        help="the reference test script's behaviour: BatchNorm on the image's own statistics, "
        "dropout noise on",
    )
    g = p.add_argument_group("variants (gated on PSNR against the fp32 output on real images)")
    prec = g.add_mutually_exclusive_group()
    prec.add_argument("--int8", action="store_true", help="static QDQ int8 (needs --calib)")
    prec.add_argument("--fp16", action="store_true", help="fp16 for GPUs (InstanceNorm in fp32)")
    g.add_argument("--calib", help="folder of real images to calibrate int8 on")
    g.add_argument("--calib-count", type=int, default=32, help="calibration images used")
    g.add_argument(
        "--check", help="folder of real images for the quality gate (default: other --calib images)"
    )
    g.add_argument("--check-count", type=int, default=8, help="images the quality gate uses")
    g.add_argument("--min-psnr", type=float, default=30.0, help="quality gate threshold (dB)")
    g.add_argument(
        "--force",
        action="store_true",
        help="write the file even when a check fails or int8 does not pay (warns)",
    )
    g = p.add_argument_group("metadata (defaults: what the run folder records)")
    g.add_argument("--task", choices=TASKS, help="which app tab lists the model")
    g.add_argument("--source-domain", help="what the model takes, e.g. summer")
    g.add_argument("--target-domain", help="what it produces, e.g. winter")
    g.add_argument("--description", help="one line shown in the app and `translate info`")
    g.add_argument("--training-data", help="name or path of the training data")
    g.add_argument("--license-note", help="licence of the training data / weights")
    g.add_argument("--iterations", dest="training_iterations", type=int, help="training iterations")
    g.add_argument("--recommended-size", type=int, help="the side the model was trained at")
    g.add_argument("--model-type", choices=["pix2pix", "cyclegan", "reference"])
    p.add_argument("--opset", type=int, default=18, help="ONNX opset (18 or higher)")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    exporter = import_extra("translate.export.onnx", "train", "translate export")
    out = Path(args.output)
    if out.exists() and Path(args.source).exists() and out.resolve() == Path(args.source).resolve():
        raise ConfigError(f"{out}: refusing to overwrite the source")
    precision = "int8" if args.int8 else "fp16" if args.fp16 else "fp32"
    arch_flags = ("arch", "norm", "ngf", "input_nc", "output_nc", "dropout")
    net, meta = exporter.load_source(
        args.source, direction=args.direction, **{k: getattr(args, k) for k in arch_flags}
    )
    described = ("task", "source_domain", "target_domain", "description", "training_data")
    described += ("license_note", "training_iterations", "recommended_size", "model_type")
    given = {k: getattr(args, k) for k in described if getattr(args, k) is not None}
    test_mode = "train" if getattr(args, "train_mode", False) else "eval"
    meta = dataclasses.replace(meta, **given, test_mode=test_mode)
    options = ("opset", "calib", "check", "calib_count", "check_count", "min_psnr", "force")
    try:
        report = exporter.export_onnx(
            net, out, meta, precision=precision, **{k: getattr(args, k) for k in options}
        )
    except exporter.VerificationError as e:
        for line in e.report.lines():
            print(line)
        print(f"translate export: {e}; nothing written (--force writes anyway)", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1

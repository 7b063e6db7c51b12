"""``translate convert``: translate an image or a folder of images with a model. Needs no torch
for ONNX models."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers, formatter_class) -> None:
    p = subparsers.add_parser(
        "convert",
        help="translate an image or a folder of images with a model",
        description="Convert INPUT (an image or a folder) into the folder OUTPUT with MODEL. "
        "Inputs are never written to; outputs appear atomically; existing outputs are skipped "
        "unless --overwrite, so a re-run resumes. Exit code 0 only if no image failed.",
        formatter_class=formatter_class,
    )
    p.add_argument(
        "model",
        help="an .onnx file, a model name in models/, a training run, or an official .pth",
    )
    p.add_argument("input", help="an image file or a folder of images")
    p.add_argument("output", help="output folder (created; must not be INPUT or inside it)")
    p.add_argument("--recursive", action="store_true", help="include sub-folders, mirrored")
    p.add_argument(
        "--size", type=int, help="scale the shorter side to this; unset: native resolution"
    )
    p.add_argument(
        "--tile",
        type=int,
        help="process in tiles of this side, e.g. 512 (bounds memory for large images); "
        "unset: whole images",
    )
    p.add_argument("--overlap", type=int, default=64, help="tile overlap in pixels")
    p.add_argument(
        "--format",
        choices=["png", "jpg", "webp", "same"],
        default="png",
        help="output format; same keeps the input's where writable (else png)",
    )
    p.add_argument("--batch", type=int, default=1, help="images per network call")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality")
    p.add_argument(
        "--workers", type=int, help="decode and encode threads (each); unset: one per 4 CPU cores"
    )
    p.add_argument(
        "--backend",
        choices=["auto", "onnxruntime", "openvino", "torch"],
        default="auto",
        help="auto: onnxruntime on CUDA, else OpenVINO if installed, else onnxruntime",
    )
    p.add_argument("--threads", type=int, help="inference threads; unset: the backend's default")
    p.add_argument(
        "--direction", choices=["AtoB", "BtoA"], help="generator of a CycleGAN training run"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from ..runtime.convert import ConvertConfig, convert
    from ..runtime.inference import Translator

    # Every ConvertConfig field has a flag of the same name.
    cfg = ConvertConfig(**{f.name: getattr(args, f.name) for f in fields(ConvertConfig)})
    translator = Translator(
        args.model, backend=cfg.backend, threads=cfg.threads, direction=cfg.direction
    )
    if not args.quiet:
        print(f"{translator}", file=sys.stderr)
    report = convert(translator, args.input, args.output, cfg, progress=not args.quiet)
    for path, reason in report.failed:
        print(f"failed: {path}: {reason}", file=sys.stderr)
    print(report.summary())
    return 0 if report.ok else 1

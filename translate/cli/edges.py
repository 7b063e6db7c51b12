"""``translate edges``: edge sketches of photos, or sketch|photo training pairs."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers, formatter_class) -> None:
    p = subparsers.add_parser(
        "edges",
        help="edge sketches of photos (Canny/XDoG, thinned to 1 px), or sketch|photo pairs",
        description="Make black-on-white 1-px edge sketches of photos, the way the pix2pix "
        "edges2shoes sketches were made (edge detector, thinning, small-component removal). "
        "IN: an image or a folder of images; OUT: an image file or a folder (NAME.ext -> "
        "OUT/NAME.png). Lengths are pixels at a 256-px long side and scale with the image. "
        "Unreadable images are reported and skipped; exit code 1 if any failed.",
        formatter_class=formatter_class,
    )
    p.add_argument("input", help="an image or a folder of images (not searched recursively)")
    p.add_argument("output", help="an image file (for one input) or a folder")
    p.add_argument("--method", choices=["canny", "xdog"], default="canny", help="edge detector")
    # Defaults repeat EdgeConfig's; importing it here would slow down --help (a test keeps the
    # two equal). Every EdgeConfig field has a flag of the same name.
    for flag, kind, default, text in (
        ("--sigma", float, 2.0, "Gaussian smoothing before detection"),
        ("--low", float, 0.1, "canny: low threshold, fraction of the 99th-percentile gradient"),
        ("--high", float, 0.3, "canny: high threshold, same units"),
        ("--min-contrast", float, 40.0,
         "canny: floor on that percentile in lightness levels; flat images stay blank"),
        ("--xdog-k", float, 1.6, "xdog: ratio of the two Gaussians"),
        ("--xdog-threshold", float, 2.5,
         "xdog: difference-of-Gaussians response (lightness levels) that is a line"),
        ("--merge", float, 1.0, "closing radius joining edges broken by a pixel (0: off)"),
        ("--stripe", float, 3.5,
         "regions enclosed by strokes up to 2x this wide become one centre line (0: off)"),
        ("--min-component", float, 12.0, "remove connected strokes with fewer pixels than this"),
        ("--reference-size", int, 256, "long side the lengths refer to (0: use them unscaled)"),
    ):  # fmt: skip
        p.add_argument(flag, type=kind, default=default, help=text)
    p.add_argument(
        "--half",
        choices=["left", "right"],
        help="take this half of an aligned A|B image as the photo",
    )
    p.add_argument(
        "--aligned",
        action="store_true",
        help="write sketch|photo pairs (A = sketch, B = photo) for pix2pix training",
    )
    p.add_argument(
        "--format",
        choices=["png", "jpg", "webp"],
        default="png",
        help="output format when OUT is a folder",
    )


def run(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from ..runtime.edges import EdgeConfig, edges_to_files

    cfg = EdgeConfig(**{f.name: getattr(args, f.name) for f in fields(EdgeConfig)})
    report = edges_to_files(
        args.input, args.output, cfg, half=args.half, aligned=args.aligned, fmt=args.format
    )
    for path, reason in report.failed:
        print(f"{path}: {reason}", file=sys.stderr)
    kind = "training pairs" if args.aligned else "sketches"
    summary = f"wrote {len(report.written)} {kind} to {args.output}"
    if report.ignored:
        summary += f", ignored {report.ignored} non-image files"
    if report.failed:
        summary += f", {len(report.failed)} failed"
    print(summary)
    return 1 if report.failed else 0

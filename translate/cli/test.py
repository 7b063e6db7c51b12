"""``translate test``: a run's generators over a test split, with images and an HTML index."""

from __future__ import annotations

import argparse

from ..errors import import_extra


def add_parser(subparsers, formatter_class) -> None:
    p = subparsers.add_parser(
        "test",
        help="run a trained model over a test split; images and an HTML index",
        description="Translate every image of a test split with the run's latest checkpoint "
        "(or the checkpoint given) and write input/output(/target) images plus index.html.",
        formatter_class=formatter_class,
    )
    p.add_argument("run", help="run folder, or a checkpoint folder inside one")
    p.add_argument("--data", required=True, help="dataset folder (its test split is used)")
    p.add_argument("--out", help="output folder (default: RUN/test_<data>_<checkpoint>)")
    p.add_argument("--phase", default="test", help="split: test, val, train")
    p.add_argument(
        "--direction",
        choices=["AtoB", "BtoA"],
        help="CycleGAN: translate only this way (default: both ways found in --data)",
    )
    p.add_argument(
        "--single",
        action="store_true",
        help="--data holds input images only (no targets, no A/B split)",
    )
    p.add_argument("--batch-size", type=int, default=1, help="images per forward pass")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    p.add_argument(
        "--preprocess",
        choices=["resize_and_crop", "none"],
        help="resize_and_crop: resize to the training crop size; none: keep each "
        "image's size, rounded to the network's multiple (default: the run's)",
    )
    p.add_argument("--max-images", type=int, help="translate at most N images per side")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable images")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    predict = import_extra("translate.training.predict", "train", "translate test")
    report = predict.run_test(
        args.run,
        args.data,
        args.out,
        direction=args.direction,
        single=args.single,
        phase=args.phase,
        batch_size=args.batch_size,
        device=args.device,
        preprocess=args.preprocess,
        max_images=args.max_images,
        skip_bad=args.skip_bad,
        progress=not args.quiet,
    )
    done = ", ".join(f"{n} {d}" for d, n in report.images.items())
    skipped = f", skipped {report.skipped} unreadable" if report.skipped else ""
    print(f"translated {done}{skipped}: {report.index}")
    if (report.out_dir / "target").is_dir():
        print(f"score them: translate eval {report.out_dir / 'output'} {report.out_dir / 'target'}")
    return 0

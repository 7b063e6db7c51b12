"""``translate report``: redraw a run's loss curves and HTML page."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import import_extra


def add_parser(subparsers, formatter_class) -> None:
    p = subparsers.add_parser(
        "report",
        help="redraw a run's loss curves and HTML page (also while it trains)",
        description="Draw RUN/losses.png from RUN/log.jsonl and write RUN/index.html with the "
        "sample sheets; training does this at the end, this command any time.",
        formatter_class=formatter_class,
    )
    p.add_argument("run", help="training run folder")


def run(args: argparse.Namespace) -> int:
    loop = import_extra("translate.training.loop", "train", "translate report")
    page = loop.write_report(args.run)
    print(f"wrote {Path(args.run) / 'losses.png'} and {page}")
    return 0

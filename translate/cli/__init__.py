"""The ``translate`` command line. Each subcommand is a module here with
``add_parser(subparsers, formatter_class)`` and ``run(args) -> int``; it maps its flags onto the
library's config dataclasses and calls the library. Heavy imports happen in ``run`` (or in
options deferred with ``CommandParser.defer``), so ``translate --help`` and ``translate convert``
never import torch.

A :class:`~translate.errors.TranslateError` (the user's to fix) is printed as one line with exit
status 2; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from ..errors import TranslateError

# The subcommands, in the order `translate --help` lists them: adding one is adding its module
# name here.
COMMANDS = (
    "info",
    "inspect",
    "edges",
    "eval",
    "export",
    "convert",
    "app",
    "train",
    "test",
    "report",
    "release",
)


class CommandParser(argparse.ArgumentParser):
    """A subcommand's parser whose options may be added only once that subcommand is parsed or
    its help shown (:meth:`defer`): ``train`` reads its flags off torch-backed config classes,
    which other subcommands should not pay for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._deferred: list[Callable[[argparse.ArgumentParser], None]] = []

    def defer(self, add: Callable[[argparse.ArgumentParser], None]) -> None:
        self._deferred.append(add)

    def _complete(self) -> None:
        while self._deferred:
            self._deferred.pop(0)(self)

    def parse_known_args(self, args=None, namespace=None):
        self._complete()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._complete()
        return super().format_help()


def _command(name: str):
    return importlib.import_module(f"{__name__}.{name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="translate",
        description="Image-to-image translation: train pix2pix/CycleGAN, export to ONNX, "
        "convert folders and serve a web app.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=CommandParser
    )
    for name in COMMANDS:
        _command(name).add_parser(sub, argparse.ArgumentDefaultsHelpFormatter)
    return parser


def main(argv: list[str] | None = None) -> int:
    command = "translate"
    try:
        args = build_parser().parse_args(argv)
        command = f"translate {args.command}"
        return int(_command(args.command).run(args) or 0)
    except TranslateError as e:
        print(f"{command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

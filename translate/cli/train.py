"""``translate train``: train a model into a run folder, or continue one with ``--resume``.

The training flags come from the config dataclasses' field metadata
(translate/training/options.py): defaults, help and which flags ``--resume`` accepts are written
once, on the fields. They are added when this subcommand is parsed, since reading them imports
torch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ConfigError, import_extra


def add_parser(subparsers, formatter_class) -> None:
    p = subparsers.add_parser(
        "train",
        help="train pix2pix or CycleGAN on your folders (or continue a run with --resume)",
        description="Train a model into a run folder (config.json, checkpoints, log.jsonl, "
        "sample sheets, losses.png, index.html). Defaults are the reference's published "
        "settings for the model; a --preset sets several at once; flags override both. Under "
        "torchrun (torchrun --nproc_per_node N -m translate train ...) it trains with DDP.",
        formatter_class=formatter_class,
    )
    p.defer(_add_arguments)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    options = import_extra("translate.training.options", "train", "translate train")
    from ..training.config import default_config
    from ..training.presets import PRESETS
    from ..training.trainer import trainer_names

    models = trainer_names()
    p.add_argument(
        "model", nargs="?", choices=models, help="what to train (not needed with --preset)"
    )
    p.add_argument(
        "--data",
        help="dataset folder (train/ with A|B images, or A/ and B/; CycleGAN: trainA/ and "
        "trainB/); with --resume: where the run's dataset is now",
    )
    p.add_argument("--out", help="run folder to create (default: runs/<data>_<model or preset>)")
    p.add_argument(
        "--preset",
        metavar="NAME",
        choices=PRESETS,
        help=f"named settings: {', '.join(PRESETS)} (the -small ones are CPU-sized, not the "
        "published settings)",
    )
    p.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue this run from its latest checkpoint, exactly where it stopped",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    # Not given: the preset's or model's default, so that presets and resumed runs are only
    # overridden by what the user typed.
    group = p.add_argument_group("training settings (not given: the preset's or model's default)")
    defaults = {model: default_config(model) for model in models}
    specs = options.flag_specs()
    for spec in specs:
        text = f"{spec.help} (default: {options.shown_default(spec, defaults)})"
        kw = {"dest": _dest(spec), "default": argparse.SUPPRESS, "help": text.replace("%", "%%")}
        if spec.type is bool:
            group.add_argument(spec.flag, action=argparse.BooleanOptionalAction, **kw)
        else:
            metavar = None if spec.choices else {int: "N", float: "X", str: "NAME"}[spec.type]
            group.add_argument(
                spec.flag,
                type=spec.type,
                nargs=spec.nargs,
                choices=spec.choices,
                metavar=metavar,
                **kw,
            )
    p.set_defaults(flag_specs=specs)


def given_flags(args: argparse.Namespace) -> list:
    """(FlagSpec, value) of every training flag on the command line."""
    return [(s, getattr(args, _dest(s))) for s in args.flag_specs if hasattr(args, _dest(s))]


def _dest(spec) -> str:
    # Prefixed: no clash with the other arguments (model, preset, ...) whatever fields get flags.
    return "opt_" + spec.flag.lstrip("-").replace("-", "_")


def run(args: argparse.Namespace) -> int:
    loop = import_extra("translate.training.loop", "train", "translate train")
    from ..training.config import TrainConfig
    from ..training.options import to_overrides
    from ..training.presets import build_config, merge_overrides
    from ..training.trainer import trainer_names

    given = given_flags(args)
    overrides = to_overrides(given)
    if args.resume:
        fixed = [spec.flag for spec, _ in given if not spec.resumable]
        given_too = [a for a in ("model", "preset", "out") if getattr(args, a)]
        fixed += [a if a == "model" else f"--{a}" for a in given_too]
        if fixed:
            allowed = [s.flag for s in args.flag_specs if s.resumable] + ["--data"]
            raise ConfigError(
                f"--resume continues {args.resume} with its own config.json; these cannot "
                f"change: {', '.join(fixed)} (allowed: {', '.join(allowed)})"
            )
        if args.data:  # the same dataset in another place (a shipped checkpoint, a new disk)
            overrides.setdefault("data", {})["root"] = str(args.data)
        cfg = TrainConfig.load(args.resume)
        cfg = merge_overrides(cfg, {**overrides, "run_dir": str(args.resume)})
        cfg.save(args.resume)
    else:
        if not args.model and not args.preset:
            models = "|".join(trainer_names())
            raise ConfigError(f"name the model (translate train {models} ...) or --preset")
        if not args.data:
            raise ConfigError("--data DIR is required (the dataset folder)")
        overrides.setdefault("data", {})["root"] = str(args.data)
        cfg = build_config(args.model, args.preset, overrides)
        out = args.out or loop.default_run_dir(cfg)
        cfg = loop.prepare_run(merge_overrides(cfg, {"run_dir": str(out)}))
    _record_command(cfg.run_dir)
    result = loop.train(cfg, resume=bool(args.resume), progress=not args.quiet)
    if result.checkpoint is not None:
        print(f"run folder: {result.run_dir} (step {result.step}, see index.html)")
    return 0


def _record_command(run_dir: str) -> None:
    """Append the exact command line to RUN_DIR/command.txt (rank 0 only)."""
    import os
    import shlex
    import time

    if int(os.environ.get("RANK", "0")) != 0:
        return
    path = Path(run_dir)
    path.mkdir(parents=True, exist_ok=True)
    line = f"{time.strftime('%Y-%m-%d %H:%M:%S')}  {shlex.join(sys.orig_argv)}\n"
    with open(path / "command.txt", "a", encoding="utf-8") as fh:
        fh.write(line)

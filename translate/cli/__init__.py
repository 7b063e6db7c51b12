"""The ``translate`` command line. Each subcommand maps its flags onto the library's config
dataclasses and calls the library; heavy imports happen inside the handlers so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class CLIError(Exception):
    """An error a user caused (bad file, bad flag value): printed as one line, exit code 2."""


# --------------------------------------------------------------------------------------------
# translate info


def cmd_info(args: argparse.Namespace) -> int:
    import platform

    import torch

    from .. import __version__
    from ..runtime.catalog import default_models_dir, list_models

    print(f"translate {__version__}  (Python {platform.python_version()}, {platform.machine()})")
    print(f"torch {torch.__version__}  threads={torch.get_num_threads()}")
    cuda = torch.cuda.is_available()
    gpus = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    print(f"CUDA available: {cuda}" + (f" ({gpus})" if cuda else ""))
    mps = getattr(torch.backends, "mps", None)
    print(f"MPS available: {bool(mps and mps.is_available())}")
    for name in ("onnx", "onnxruntime", "gradio", "openvino"):
        print(f"{name} {_version(name)}")
    try:
        import onnxruntime as ort

        print(f"ONNX Runtime providers: {', '.join(ort.get_available_providers())}")
    except ImportError:
        pass
    folder = Path(args.models) if args.models else default_models_dir()
    problems: list[str] = []
    models = list_models(folder, problems)
    print(f"models in {folder}: {len(models)}")
    for m in models:
        desc = m.metadata.get("description", "")
        print(f"  {m.name:32s} task={m.task or '?':16s} {desc}")
    for line in problems:
        print(f"  skipped {line}")
    return 0


def _version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return "not installed"


# --------------------------------------------------------------------------------------------
# translate inspect


def cmd_inspect(args: argparse.Namespace) -> int:
    from ..gan.nets import count_parameters
    from ..gan.weights import (
        WeightsError,
        build,
        describe_config,
        load_reference_weights,
        load_state_dict_file,
        suggest_architectures,
    )

    try:
        sd = load_state_dict_file(args.weights)
        if args.arch:
            net = load_reference_weights(
                args.weights,
                args.arch,
                input_nc=args.input_nc,
                output_nc=args.output_nc,
                ngf=args.ngf,
                ndf=args.ndf,
                n_layers=args.n_layers,
                norm=args.norm,
                dropout=args.dropout,
            )
            print(f"{args.weights}: loads strictly into {describe_config(net.config)}")
            print(f"parameters: {count_parameters(net):,}")
            return 0
    except WeightsError as e:
        raise CLIError(str(e)) from e
    fits = suggest_architectures(sd)
    tensors = sum(v.numel() for v in sd.values())
    print(f"{args.weights}: {len(sd)} tensors, {tensors:,} values")
    if not fits:
        print("no registered architecture matches these keys and shapes")
        return 1
    for cfg in fits:
        n = count_parameters(build(cfg, init=None))
        print(f"matches: {describe_config(cfg)}  ({n:,} parameters)")
    return 0


# --------------------------------------------------------------------------------------------
# translate edges


def cmd_edges(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from ..runtime.edges import EdgeConfig, edges_to_files

    try:
        cfg = EdgeConfig(**{f.name: getattr(args, f.name) for f in fields(EdgeConfig)})
        report = edges_to_files(
            args.input, args.output, cfg, half=args.half, aligned=args.aligned, fmt=args.format
        )
    except ValueError as e:
        raise CLIError(str(e)) from e
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


# --------------------------------------------------------------------------------------------
# translate eval


def cmd_eval(args: argparse.Namespace) -> int:
    import json

    from ..eval.evaluate import evaluate_paired, evaluate_unpaired

    try:
        if args.unpaired:
            if args.split:
                raise CLIError("--split applies to paired evaluation only")
            extractor, name, note = _eval_features(args)
            report = evaluate_unpaired(
                args.outputs,
                args.reference,
                extractor,
                name,
                size=args.size,
                seed=args.seed,
                no_features_reason=note,
            )
        else:
            report = evaluate_paired(args.outputs, args.reference, split=args.split)
    except ValueError as e:  # includes ImageReadError: a bad file, named
        raise CLIError(str(e)) from e
    if args.json:
        d = report.to_dict()
        if not args.per_image:
            d.pop("per_image", None)
        print(json.dumps(d, indent=2))
    else:
        print(report.summary(args.outputs, args.reference, per_image=args.per_image))
    return 0


def _eval_features(args: argparse.Namespace):
    """(extractor or None, its name, a note for the report) from --features."""
    from ..eval.features import FeaturesUnavailable, inception_features

    if args.features == "none":
        return None, "none", "--features none"
    try:
        return inception_features(args.inception_weights, device=args.device), "inception-v3", None
    except FeaturesUnavailable as e:
        if args.features == "inception" or args.inception_weights:
            raise CLIError(str(e)) from e
        return None, "none", str(e)


# --------------------------------------------------------------------------------------------
# translate export


def cmd_export(args: argparse.Namespace) -> int:
    import dataclasses

    from ..export.onnx import ExportError, VerificationError, export_onnx, load_source
    from ..runtime.images import ImageReadError

    out = Path(args.output)
    if out.exists() and Path(args.source).exists() and out.resolve() == Path(args.source).resolve():
        raise CLIError(f"{out}: refusing to overwrite the source")
    precision = "int8" if args.int8 else "fp16" if args.fp16 else "fp32"
    try:
        arch_flags = ("arch", "norm", "ngf", "input_nc", "output_nc", "dropout")
        net, meta = load_source(
            args.source, direction=args.direction, **{k: getattr(args, k) for k in arch_flags}
        )
        described = ("task", "source_domain", "target_domain", "description", "training_data")
        described += ("license_note", "training_iterations", "recommended_size", "model_type")
        given = {k: getattr(args, k) for k in described if getattr(args, k) is not None}
        test_mode = "train" if getattr(args, "train_mode", False) else "eval"
        meta = dataclasses.replace(meta, **given, test_mode=test_mode)
        options = ("opset", "calib", "check", "calib_count", "check_count", "min_psnr", "force")
        report = export_onnx(
            net, out, meta, precision=precision, **{k: getattr(args, k) for k in options}
        )
    except VerificationError as e:
        for line in e.report.lines():
            print(line)
        print(f"translate export: {e}; nothing written (--force writes anyway)", file=sys.stderr)
        return 1
    except (ExportError, ImageReadError) as e:
        raise CLIError(str(e)) from e
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


# --------------------------------------------------------------------------------------------
# translate convert


def cmd_convert(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from ..runtime.convert import ConvertConfig, convert
    from ..runtime.inference import Translator

    try:  # every ConvertConfig field has a flag of the same name
        cfg = ConvertConfig(**{f.name: getattr(args, f.name) for f in fields(ConvertConfig)})
        translator = Translator(
            args.model, backend=cfg.backend, threads=cfg.threads, direction=cfg.direction
        )
        if not args.quiet:
            print(f"{translator}", file=sys.stderr)
        report = convert(translator, args.input, args.output, cfg, progress=not args.quiet)
    except ValueError as e:  # includes ModelLoadError, ImageReadError, CheckpointError
        raise CLIError(str(e)) from e
    for path, reason in report.failed:
        print(f"failed: {path}: {reason}", file=sys.stderr)
    print(report.summary())
    return 0 if report.ok else 1


# --------------------------------------------------------------------------------------------
# translate app


# AppConfig fields with a flag of the same name (a test keeps their defaults equal).
APP_FLAGS = ("host", "port", "share", "max_file_size", "concurrency", "backend", "threads")


def cmd_app(args: argparse.Namespace) -> int:
    from ..runtime.catalog import default_models_dir

    # The app lives in apps/ beside the package (a source checkout, as `make app` uses).
    root = Path(__file__).resolve().parents[2]
    if (root / "apps" / "app.py").is_file() and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    if args.models and not Path(args.models).is_dir():
        raise CLIError(f"{args.models}: no such folder")
    if args.concurrency < 1:
        raise CLIError(f"--concurrency must be at least 1, got {args.concurrency}")
    try:
        from apps.app import AppConfig, launch
        from apps.uploads import SizeLimits
    except ImportError as e:
        raise CLIError(f"the web app (apps/app.py) could not be imported: {e}") from e
    config = AppConfig(
        models_dir=Path(args.models) if args.models else default_models_dir(),
        sizes=SizeLimits(max_pixels=args.max_pixels),
        **{name: getattr(args, name) for name in APP_FLAGS},
    )
    try:
        launch(config)
    except OSError as e:  # port taken, address not available
        raise CLIError(f"cannot serve on {args.host}:{args.port}: {e}") from e
    return 0


# translate train / translate test

# Every training flag: (flag, config path, type, choices, shown default, help). A shown default is
# one value, or (pix2pix, cyclegan) where the models differ. Flags default to "not given" so that
# presets and resumed runs are only overridden by what the user typed; the defaults shown here
# repeat translate.training.config.default_config (importing it would slow down --help; a test
# keeps the two equal). "*" in a path: the flag sets that field of both networks.
_TRAIN_FLAGS = (
    # data
    ("--direction", "data.direction", str, ("AtoB", "BtoA"), "AtoB",
     "pix2pix: AtoB translates the left/A image into the right/B one; BtoA the reverse"),
    ("--load-size", "data.load_size", int, None, 286, "resize images to this side first"),
    ("--crop-size", "data.crop_size", int, None, 256, "then crop a random square of this side"),
    ("--preprocess", "data.preprocess", str,
     ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"),
     "resize_and_crop", "how images become network inputs (none: keep the size, rounded to the "
     "network's size multiple)"),
    ("--flip", "data.flip", bool, None, True, "random horizontal flips (the same on A and B)"),
    ("--serial-batches", "data.serial_batches", bool, None, False,
     "take images in order (unpaired: B in order instead of at random)"),
    ("--skip-bad", "data.skip_bad", bool, None, False,
     "leave out images that cannot be decoded (reported) instead of stopping"),
    ("--max-images", "data.max_images", int, None, None, "use at most N images per side"),
    ("--workers", "data.workers", int, None, 2, "data loading processes (0: in the main process)"),
    # networks
    ("--arch", "generator.arch", str, None, ("unet_256", "resnet_9blocks"),
     "generator: unet_256, unet_128, resnet_9blocks, resnet_6blocks"),
    ("--ngf", "generator.ngf", int, None, 64, "generator filters in the first layer"),
    ("--ndf", "discriminator.ndf", int, None, 64, "discriminator filters in the first layer"),
    ("--netd", "discriminator.arch", str, ("basic", "n_layers", "pixel"), "basic",
     "discriminator: basic (70x70 PatchGAN), n_layers, pixel (1x1)"),
    ("--n-layers-d", "discriminator.n_layers", int, None, 3, "depth of the n_layers PatchGAN"),
    ("--norm", "*.norm", str, ("batch", "instance", "none"), ("batch", "instance"),
     "normalisation in both networks"),
    ("--dropout", "generator.dropout", bool, None, (True, False), "dropout in the generator"),
    ("--input-nc", "generator.input_nc", int, (1, 3), 3, "channels of the generator's input"),
    ("--output-nc", "generator.output_nc", int, (1, 3), 3, "channels of its output"),
    ("--init", "init", str, ("normal", "xavier", "kaiming", "orthogonal"), "normal",
     "weight initialisation"),
    ("--init-gain", "init_gain", float, None, 0.02, "scale of the initial weights"),
    # objective and losses
    ("--gan-mode", "gan.objective", str,
     ("minimax", "vanilla", "nonsaturating", "lsgan", "wgan", "wgangp", "hinge"),
     ("vanilla", "lsgan"), "GAN objective"),
    ("--n-critic", "gan.n_critic", int, None, "objective's", "D steps per G step"),
    ("--gp-lambda", "gan.gp_lambda", float, None, "objective's", "gradient penalty weight"),
    ("--clip-value", "gan.clip_value", float, None, "objective's", "WGAN weight clipping bound"),
    ("--r1-gamma", "gan.r1_gamma", float, None, 0.0, "R1 penalty weight (0: off)"),
    ("--r1-every", "gan.r1_every", int, None, 1, "lazy R1: apply every k D steps"),
    ("--grad-clip", "gan.grad_clip", float, None, None, "max gradient norm (off if not given)"),
    ("--lambda-l1", "loss.lambda_l1", float, None, 100.0, "pix2pix: weight of the L1 loss"),
    ("--lambda-gan", "loss.lambda_gan", float, None, 1.0,
     "pix2pix: weight of the adversarial loss (0: L1 alone, D is not trained)"),
    ("--lambda-a", "loss.lambda_a", float, None, 10.0, "CycleGAN: weight of cycle A->B->A"),
    ("--lambda-b", "loss.lambda_b", float, None, 10.0, "CycleGAN: weight of cycle B->A->B"),
    ("--lambda-identity", "loss.lambda_identity", float, None, 0.5,
     "CycleGAN: identity loss weight, relative to the cycle weights (0: off)"),
    ("--pool-size", "gan.pool_size", int, None, (0, 50), "history of fakes shown to D (0: off)"),
    # schedule
    ("--batch-size", "batch_size", int, None, 1, "images per step (per process under torchrun)"),
    ("--n-epochs", "schedule.n_epochs", int, None, 100, "epochs at the initial learning rate"),
    ("--n-epochs-decay", "schedule.n_epochs_decay", int, None, 100,
     "epochs of linear decay to 0 after those"),
    ("--lr-policy", "schedule.policy", str, ("linear", "step", "cosine", "plateau"), "linear",
     "learning-rate schedule"),
    ("--optimizer", "gan.optimizer", str, ("adam", "rmsprop"), "objective's",
     "adam, or rmsprop (wgan's)"),
    ("--lr", "gan.lr", float, None, "objective's", "initial learning rate (2e-4; wgan 5e-5, "
     "wgangp 1e-4)"),
    ("--betas", "gan.betas", (float, float), None, "objective's",
     "Adam's beta1 beta2 (0.5 0.999; wgangp 0 0.9)"),
    ("--lr-decay-epochs", "schedule.step_epochs", int, None, 50,
     "step policy: multiply the lr by 0.1 every N epochs"),
    ("--max-steps", "schedule.max_steps", int, None, None,
     "stop after N iterations in all (smoke runs, time budgets)"),
    # run
    ("--seed", "seed", int, None, 0, "random seed (same seed, same data, CPU: same result)"),
    ("--device", "device", str, None, "auto", "auto (cuda > mps > cpu), cpu, cuda, cuda:N, mps"),
    ("--threads", "threads", int, None, None, "CPU threads for PyTorch (torch's choice if unset)"),
    ("--amp", "gan.amp", str, ("off", "bf16", "fp16"), "off", "mixed precision (CUDA only)"),
    ("--compile", "gan.compile", bool, None, False,
     "torch.compile the networks (a minute or more to start, faster steps)"),
    ("--channels-last", "gan.channels_last", bool, None, False, "channels-last memory layout"),
    ("--sync-bn", "sync_bn", bool, None, False, "SyncBatchNorm across processes (torchrun)"),
    ("--save-every", "save_every", int, None, 5000, "iterations between checkpoints (0: off)"),
    ("--save-epoch-every", "save_epoch_every", int, None, 5, "epochs between checkpoints (0: off)"),
    ("--keep", "keep", int, None, 3, "numbered checkpoints to keep"),
    ("--log-every", "log_every", int, None, 100, "iterations between log lines"),
    ("--sample-every", "sample_every", int, None, 400, "iterations between sample sheets (0: off)"),
    ("--sample-count", "sample_count", int, None, 4, "images per sample sheet"),
    ("--domain-a", "domain_a", str, None, "A", "name of the A images (for samples and exports)"),
    ("--domain-b", "domain_b", str, None, "B", "name of the B images"),
)  # fmt: skip

# What may change when a run is resumed; everything else is fixed by its config.json.
_RESUMABLE = {
    "schedule.n_epochs", "schedule.n_epochs_decay", "schedule.max_steps", "save_every",
    "save_epoch_every", "keep", "log_every", "sample_every", "device", "threads", "data.workers",
    "gan.amp", "gan.compile",
}  # fmt: skip

PRESET_NAMES = (
    "facades", "edges2shoes", "maps", "horse2zebra", "summer2winter_yosemite", "monet2photo",
    "pix2pix-small", "facades-small", "edges2shoes-small", "cyclegan-small",
    "summer2winter-small", "monet2photo-small",
)  # fmt: skip


def _dest(flag: str) -> str:
    return "opt_" + flag.lstrip("-").replace("-", "_")


def _shown(default) -> str:
    if isinstance(default, tuple):
        return f"pix2pix: {_shown(default[0])}, cyclegan: {_shown(default[1])}"
    if default is None:
        return "not set"
    if isinstance(default, bool):
        return "on" if default else "off"
    return str(default)


def _train_overrides(args: argparse.Namespace) -> dict:
    """The flags the user gave, as nested config overrides."""
    out: dict = {}
    for flag, path, *_ in _TRAIN_FLAGS:
        if not hasattr(args, _dest(flag)):
            continue
        value = getattr(args, _dest(flag))
        paths = (
            [path]
            if not path.startswith("*.")
            else ["generator." + path[2:], "discriminator." + path[2:]]
        )
        for p in paths:
            node = out
            *parents, leaf = p.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
    return out


def _flatten(d: dict, prefix: str = "") -> list[str]:
    keys = []
    for k, v in d.items():
        keys += _flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else [prefix + k]
    return keys


def cmd_train(args: argparse.Namespace) -> int:
    from ..runtime.images import ImageReadError
    from ..training.checkpoint import CheckpointError
    from ..training.config import TrainConfig
    from ..training.data import DatasetError
    from ..training.loop import default_run_dir, prepare_run, train
    from ..training.presets import build_config, merge_overrides

    overrides = _train_overrides(args)
    try:
        if args.resume:
            fixed = [k for k in _flatten(overrides) if k not in _RESUMABLE]
            given = [a for a in ("model", "preset", "out") if getattr(args, a)]
            if fixed or given:
                names = [f"--{k.split('.')[-1].replace('_', '-')}" for k in fixed] + [
                    a if a == "model" else f"--{a}" for a in given
                ]
                raise CLIError(
                    f"--resume continues {args.resume} with its own config.json; these cannot "
                    f"change: {', '.join(names)} (allowed: --n-epochs, --n-epochs-decay, "
                    "--max-steps, --data, --save-every, --device, --threads, --workers, ...)"
                )
            if args.data:  # the same dataset in another place (a shipped checkpoint, a new disk)
                overrides.setdefault("data", {})["root"] = str(args.data)
            cfg = TrainConfig.load(args.resume)
            cfg = merge_overrides(cfg, {**overrides, "run_dir": str(args.resume)})
            cfg.save(args.resume)
        else:
            if not args.model and not args.preset:
                raise CLIError("name the model (translate train pix2pix|cyclegan ...) or --preset")
            if not args.data:
                raise CLIError("--data DIR is required (the dataset folder)")
            overrides.setdefault("data", {})["root"] = str(args.data)
            cfg = build_config(args.model, args.preset, overrides)
            out = args.out or default_run_dir(cfg)
            cfg = prepare_run(merge_overrides(cfg, {"run_dir": str(out)}))
        _record_command(cfg.run_dir)
        result = train(cfg, resume=bool(args.resume), progress=not args.quiet)
    except (
        ValueError,
        FileNotFoundError,
        FileExistsError,
        ImageReadError,
        DatasetError,
        CheckpointError,
    ) as e:
        raise CLIError(str(e)) from e
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


def cmd_test(args: argparse.Namespace) -> int:
    from ..runtime.images import ImageReadError
    from ..training.checkpoint import CheckpointError
    from ..training.data import DatasetError
    from ..training.predict import run_test

    try:
        report = run_test(
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
    except (ValueError, FileNotFoundError, ImageReadError, DatasetError, CheckpointError) as e:
        raise CLIError(str(e)) from e
    done = ", ".join(f"{n} {d}" for d, n in report.images.items())
    skipped = f", skipped {report.skipped} unreadable" if report.skipped else ""
    print(f"translated {done}{skipped}: {report.index}")
    if (report.out_dir / "target").is_dir():
        print(f"score them: translate eval {report.out_dir / 'output'} {report.out_dir / 'target'}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ..training.loop import write_report

    try:
        page = write_report(args.run)
    except (ValueError, FileNotFoundError) as e:
        raise CLIError(str(e)) from e
    print(f"wrote {Path(args.run) / 'losses.png'} and {page}")
    return 0


def _add_report_parser(sub, fmt) -> None:
    p = sub.add_parser(
        "report",
        help="redraw a run's loss curves and HTML page (also while it trains)",
        description="Draw RUN/losses.png from RUN/log.jsonl and write RUN/index.html with the "
        "sample sheets; training does this at the end, this command any time.",
        formatter_class=fmt,
    )
    p.add_argument("run", help="training run folder")
    p.set_defaults(func=cmd_report)


def _add_train_parser(sub, fmt) -> None:
    p = sub.add_parser(
        "train",
        help="train pix2pix or CycleGAN on your folders (or continue a run with --resume)",
        description="Train a model into a run folder (config.json, checkpoints, log.jsonl, "
        "sample sheets, losses.png, index.html). Defaults are the reference's published "
        "settings for the model; a --preset sets several at once; flags override both. Under "
        "torchrun (torchrun --nproc_per_node N -m translate train ...) it trains with DDP.",
        formatter_class=fmt,
    )
    p.add_argument(
        "model",
        nargs="?",
        choices=["pix2pix", "cyclegan"],
        help="pix2pix (paired data) or cyclegan (unpaired)",
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
        help="named settings: "
        + ", ".join(PRESET_NAMES)
        + " (the -small ones are CPU-sized, not the published settings)",
    )
    p.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue this run from its latest checkpoint, exactly where it stopped",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    group = p.add_argument_group("training settings (not given: the preset's or model's default)")
    for flag, _path, kind, choices, default, text in _TRAIN_FLAGS:
        help_text = f"{text} (default: {_shown(default)})"
        if kind is bool:
            group.add_argument(
                flag,
                dest=_dest(flag),
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=help_text,
            )
        else:
            many = isinstance(kind, tuple)  # a fixed number of values, e.g. --betas B1 B2
            metavar = {int: "N", float: "X", str: "NAME"}[kind[0] if many else kind]
            group.add_argument(
                flag,
                dest=_dest(flag),
                type=kind[0] if many else kind,
                nargs=len(kind) if many else None,
                choices=choices,
                metavar=None if choices else metavar,
                default=argparse.SUPPRESS,
                help=help_text,
            )
    p.set_defaults(func=cmd_train)


def _add_test_parser(sub, fmt) -> None:
    p = sub.add_parser(
        "test",
        help="run a trained model over a test split; images and an HTML index",
        description="Translate every image of a test split with the run's latest checkpoint "
        "(or the checkpoint given) and write input/output(/target) images plus index.html.",
        formatter_class=fmt,
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
    p.set_defaults(func=cmd_test)


# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from ..runtime.metadata import TASKS  # light: no torch

    parser = argparse.ArgumentParser(
        prog="translate",
        description="Image-to-image translation: train pix2pix/CycleGAN, export to ONNX, "
        "convert folders and serve a web app.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    fmt = argparse.ArgumentDefaultsHelpFormatter

    p = sub.add_parser(
        "info",
        help="versions, devices, ONNX Runtime providers and installed models",
        formatter_class=fmt,
    )
    p.add_argument("--models", help="models folder (default: the checkout's models/)")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "inspect",
        help="identify a weight file (official .pth or .safetensors) and check it loads",
        description="Without --arch: list the registered architectures whose layout matches the "
        "file. With --arch and options: load it strictly, as export and training would.",
        formatter_class=fmt,
    )
    p.add_argument("weights", help="a .pth state dict (loaded with weights_only) or .safetensors")
    p.add_argument("--arch", help="generator or discriminator name (resnet_9blocks, basic, ...)")
    p.add_argument("--norm", choices=["batch", "instance", "none"])
    p.add_argument("--ngf", type=int)
    p.add_argument("--ndf", type=int)
    p.add_argument("--n-layers", type=int)
    p.add_argument("--input-nc", type=int)
    p.add_argument("--output-nc", type=int)
    p.add_argument("--dropout", action=argparse.BooleanOptionalAction, default=None)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser(
        "edges",
        help="edge sketches of photos (Canny/XDoG, thinned to 1 px), or sketch|photo pairs",
        description="Make black-on-white 1-px edge sketches of photos, the way the pix2pix "
        "edges2shoes sketches were made (edge detector, thinning, small-component removal). "
        "IN: an image or a folder of images; OUT: an image file or a folder (NAME.ext -> "
        "OUT/NAME.png). Lengths are pixels at a 256-px long side and scale with the image. "
        "Unreadable images are reported and skipped; exit code 1 if any failed.",
        formatter_class=fmt,
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
    p.set_defaults(func=cmd_edges)

    p = sub.add_parser(
        "eval",
        help="score translated images: paired L1/PSNR/SSIM or unpaired C2ST/KID/FID",
        description="Paired (default): each image in OUTPUTS is compared with the image of the "
        "same name (any extension, same subfolder) in REFERENCE, or with one half of an aligned "
        "A|B image (--split). Unpaired (--unpaired): OUTPUTS are generated images, REFERENCE "
        "real ones; prints the classifier two-sample AUC and, with Inception-v3 weights on "
        "disk, KID and FID. Nothing is downloaded.",
        formatter_class=fmt,
    )
    p.add_argument("outputs", help="folder of translated / generated images")
    p.add_argument("reference", help="folder of targets (paired) or real images (unpaired)")
    p.add_argument("--unpaired", action="store_true", help="distribution metrics, no pairing")
    p.add_argument(
        "--split",
        choices=["A", "B"],
        help="paired: REFERENCE holds aligned A|B images; compare with the left (A) or right (B) "
        "half",
    )
    p.add_argument(
        "--features",
        choices=["auto", "inception", "none"],
        default="auto",
        help="unpaired: feature network for KID/FID; auto uses Inception-v3 if its weights are "
        "found and skips KID/FID otherwise",
    )
    p.add_argument(
        "--inception-weights",
        help="torchvision's inception_v3_google-0cc3c7bd.pth; None: look in torch's cache",
    )
    p.add_argument(
        "--size", type=int, default=128, help="unpaired: images are resized to SIZE x SIZE for C2ST"
    )
    p.add_argument("--seed", type=int, default=0, help="unpaired: C2ST folds and KID subsets")
    p.add_argument("--device", default="cpu", help="device for the feature network")
    p.add_argument("--per-image", action="store_true", help="paired: also list every image")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "export",
        help="export a generator to one self-contained ONNX file with its metadata",
        description="SOURCE is a training run folder (or a checkpoint in one) or an official "
        "pix2pix/CycleGAN .pth / .safetensors (architecture read off the file, or given with "
        "--arch ...). The file is checked with onnx.checker and against PyTorch at two sizes "
        "(max |diff| <= 1e-4); the figures are printed and the exit code is 1 if a check fails. "
        "int8/fp16 variants are compared with the fp32 output on real images and refused below "
        "--min-psnr.",
        formatter_class=fmt,
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
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "convert",
        help="translate an image or a folder of images with a model",
        description="Convert INPUT (an image or a folder) into the folder OUTPUT with MODEL. "
        "Inputs are never written to; outputs appear atomically; existing outputs are skipped "
        "unless --overwrite, so a re-run resumes. Exit code 0 only if no image failed.",
        formatter_class=fmt,
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
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser(
        "app",
        help="serve the web app (sketch -> photo, style, season, batch) on the ONNX models",
        description="Start the Gradio app on the models in a folder. Local only (127.0.0.1) "
        "unless --host/--share say otherwise; runs on CPU, or CUDA with onnxruntime-gpu.",
        formatter_class=fmt,
    )
    p.add_argument("--models", help="models folder; unset: $TRANSLATE_MODELS or models/")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=7860, help="port to listen on")
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    p.add_argument("--max-file-size", default="20mb", help="largest upload accepted")
    p.add_argument(
        "--concurrency", type=int, default=1, help="requests that may run one model at once"
    )
    p.add_argument(
        "--backend",
        default="auto",
        choices=["auto", "onnxruntime", "openvino"],
        help="inference backend; auto: CUDA if available, else OpenVINO if installed",
    )
    p.add_argument("--threads", type=int, help="inference threads per model; unset: all cores")
    p.add_argument(
        "--max-pixels",
        type=int,
        default=4_000_000,
        help="larger uploads are downscaled to this many pixels (with a note in the page)",
    )
    p.set_defaults(func=cmd_app)

    _add_train_parser(sub, fmt)
    _add_test_parser(sub, fmt)
    _add_report_parser(sub, fmt)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CLIError as e:
        print(f"translate {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

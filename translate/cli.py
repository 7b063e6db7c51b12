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

    from . import __version__
    from .catalog import default_models_dir, list_models

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
    models = list_models(folder)
    print(f"models in {folder}: {len(models)}")
    for m in models:
        desc = m.metadata.get("description", "")
        print(f"  {m.name:32s} task={m.task or '?':16s} {desc}")
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
    from .nets import count_parameters
    from .weights import (
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


def build_parser() -> argparse.ArgumentParser:
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

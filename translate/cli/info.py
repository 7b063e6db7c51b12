"""``translate info``: versions, devices, ONNX Runtime providers and the installed models."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers, formatter_class) -> None:
    p = subparsers.add_parser(
        "info",
        help="versions, devices, ONNX Runtime providers and installed models",
        formatter_class=formatter_class,
    )
    p.add_argument("--models", help="models folder (default: the checkout's models/)")


def run(args: argparse.Namespace) -> int:
    import platform

    from .. import __version__
    from ..runtime.catalog import default_models_dir, list_models

    print(f"translate {__version__}  (Python {platform.python_version()}, {platform.machine()})")
    try:
        import torch
    except ImportError:  # a base install: ONNX models only
        print("torch not installed (training, export and PyTorch models need the [train] extra)")
    else:
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

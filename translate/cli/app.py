"""``translate app``: serve the Gradio app on the ONNX models of a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ConfigError, TranslateError


def add_parser(subparsers, formatter_class) -> None:
    p = subparsers.add_parser(
        "app",
        help="serve the web app (sketch -> photo, style, season, batch) on the ONNX models",
        description="Start the Gradio app on the models in a folder. Local only (127.0.0.1) "
        "unless --host/--share say otherwise; runs on CPU, or CUDA with onnxruntime-gpu.",
        formatter_class=formatter_class,
    )
    p.defer(_add_settings)  # the defaults are AppConfig's, and importing the app is slow


def _add_settings(p: argparse.ArgumentParser) -> None:
    defaults = _app().AppConfig()
    p.add_argument("--models", help="models folder; unset: $TRANSLATE_MODELS or models/")
    # Each dest below is the AppConfig field the flag sets.
    p.add_argument("--host", default=defaults.host, help="address to listen on")
    p.add_argument("--port", type=int, default=defaults.port, help="port to listen on")
    p.add_argument(
        "--share",
        action="store_true",
        default=defaults.share,
        help="also open a public gradio.live link",
    )
    p.add_argument(
        "--max-file-size", default=defaults.max_file_size, help="largest upload accepted"
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=defaults.concurrency,
        help="requests that may run one model at once",
    )
    p.add_argument(
        "--backend",
        default=defaults.backend,
        choices=["auto", "onnxruntime", "openvino"],
        help="inference backend; auto: CUDA if available, else OpenVINO if installed",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=defaults.threads,
        help="inference threads per model; unset: all cores",
    )
    p.add_argument(
        "--max-pixels",
        type=int,
        default=defaults.sizes.max_pixels,
        help="larger uploads are downscaled to this many pixels (with a note in the page)",
    )


def _app():
    """The app module: the top-level apps/ folder, installed as translate.apps."""
    try:
        from ..apps import app
    except ImportError as e:
        raise TranslateError(f"the web app (apps/app.py) could not be imported: {e}") from e
    return app


def run(args: argparse.Namespace) -> int:
    from dataclasses import fields, replace

    from ..runtime.catalog import default_models_dir

    if args.models and not Path(args.models).is_dir():
        raise ConfigError(f"{args.models}: no such folder")
    if args.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {args.concurrency}")
    app = _app()
    flags = {f.name: getattr(args, f.name) for f in fields(app.AppConfig) if hasattr(args, f.name)}
    defaults = app.AppConfig()
    config = replace(
        defaults,
        models_dir=Path(args.models) if args.models else default_models_dir(),
        sizes=replace(defaults.sizes, max_pixels=args.max_pixels),
        **flags,
    )
    try:
        app.launch(config)
    except OSError as e:  # port taken, address not available
        raise ConfigError(f"cannot serve on {args.host}:{args.port}: {e}") from e
    return 0

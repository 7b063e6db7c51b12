"""The model catalogue: ONNX models in a folder (``models/`` by default) and their metadata.

Exported models carry everything the app and the CLI need in their ``metadata_props``, so the
catalogue is just the files plus that metadata; there is no separate index to keep in sync.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

MODELS_ENV = "TRANSLATE_MODELS"


def default_models_dir() -> Path:
    """``$TRANSLATE_MODELS``, else the source checkout's ``models/`` (the bundled models, next to
    the package), else ``./models``. An installed package has no bundled models (they are too
    big for the wheel): there it is ``./models`` unless the user says otherwise."""
    if os.environ.get(MODELS_ENV):
        return Path(os.environ[MODELS_ENV])
    checkout = Path(__file__).resolve().parents[2]  # site-packages in an installed package
    if (checkout / "pyproject.toml").is_file() and (checkout / "models").is_dir():
        return checkout / "models"
    return Path("models")


@dataclass
class ModelEntry:
    name: str
    path: Path
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def task(self) -> str:
        return self.metadata.get("task", "")


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file, without loading its weights."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}


def read_min_size(path: str | Path, multiple: int = 1) -> int:
    """The smallest input side the ONNX generator at ``path`` accepts, a multiple of
    ``multiple``, read off its graph for files exported before ``min_size`` was recorded: a
    reflect Pad of p pixels at 1/s of the input's resolution (after strided convolutions) needs
    more than p pixels there, i.e. an input side of s * (p + 1), as in
    :func:`translate.gan.nets.min_input_size`. A Resize by constant scales divides s like a
    ConvTranspose (one given by computed sizes is not followed, which errs on the large side)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path), load_external_data=False).graph
    tensors = {t.name: t for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            tensors[node.output[0]] = node.attribute[0].t
    scale, least = {graph.input[0].name: 1.0}, 1.0
    for node in graph.node:  # ONNX nodes are in topological order
        s = next((scale[name] for name in node.input if name in scale), None)
        if s is None:  # weights and constants
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Conv":
            s *= attrs.get("strides", [1])[0]
        elif node.op_type == "ConvTranspose":
            s /= attrs.get("strides", [1])[0]
        elif node.op_type == "Resize" and len(node.input) > 2 and node.input[2] in tensors:
            s /= float(numpy_helper.to_array(tensors[node.input[2]])[-1])  # scales (N, C, H, W)
        elif node.op_type == "Pad" and attrs.get("mode") == b"reflect":
            pads = attrs.get("pads")  # before opset 11; an input since
            if pads is None and len(node.input) > 1 and node.input[1] in tensors:
                pads = numpy_helper.to_array(tensors[node.input[1]])
            if pads is not None:
                least = max(least, s * (int(max(pads)) + 1))
        for name in node.output:
            scale[name] = s
    return math.ceil(least / multiple) * multiple


def list_models(
    models_dir: str | Path | None = None, problems: list[str] | None = None
) -> list[ModelEntry]:
    """The ``*.onnx`` files of ``models_dir`` with their metadata, sorted by name.

    A file that is not a readable ONNX model (truncated copy, wrong file) is skipped rather
    than hiding every other model; with ``problems`` given, a line naming it is appended."""
    folder = Path(models_dir) if models_dir is not None else default_models_dir()
    if not folder.is_dir():
        return []
    entries = []
    for p in sorted(folder.glob("*.onnx")):
        if not p.is_file():
            continue
        try:
            entries.append(ModelEntry(p.stem, p, read_metadata(p)))
        except Exception as e:  # onnx raises protobuf DecodeError, OSError, ...
            if problems is not None:
                problems.append(f"{p.name}: not a readable ONNX model ({type(e).__name__})")
    return entries


CHECKSUMS = "SHA256SUMS"


def file_sha256(path: str | Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_checksums(models_dir: str | Path) -> dict[str, str]:
    """``models_dir/SHA256SUMS`` (``sha256sum`` format, so ``sha256sum -c`` verifies a download):
    file name -> hex digest; empty when there is none."""
    path = Path(models_dir) / CHECKSUMS
    if not path.is_file():
        return {}
    sums = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.strip().partition("  ")
        if digest and name:
            sums[name] = digest
    return sums


def update_checksums(models_dir: str | Path, written: list[Path], removed: list[Path]) -> Path:
    """Record the ONNX files a release wrote and forget the ones it removed."""
    from .atomic import atomic_write_text

    sums = read_checksums(models_dir)
    for path in removed:
        sums.pop(Path(path).name, None)
    for path in written:
        if Path(path).suffix == ".onnx":
            sums[Path(path).name] = file_sha256(path)
    text = "".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items()))
    return atomic_write_text(Path(models_dir) / CHECKSUMS, text)

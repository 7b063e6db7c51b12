"""Any size means any size: images smaller than a network's minimum (1 x 1, 3 x 2, 1-px strips)
are padded up to the smallest size the architecture accepts and cropped back, for every
registered architecture on every backend, in the Translator, in ``translate convert`` and in the
app."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from translate.cli import main
from translate.gan.nets import list_generators, min_input_size
from translate.runtime.backends import openvino_available
from translate.runtime.catalog import list_models, read_metadata, read_min_size
from translate.runtime.inference import Translator
from translate.runtime.metadata import ModelMetadata

SIZES = [(1, 1), (3, 2), (1, 40), (40, 1)]  # (width, height)
needs_openvino = pytest.mark.skipif(not openvino_available(), reason="openvino not installed")
BACKENDS = ["onnxruntime", pytest.param("openvino", marks=needs_openvino), "torch"]


def _photo(w: int, h: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def _model(onnx_model, arch: str, backend: str, tmp_path: Path) -> Path:
    """The tiny exported model, or for the torch backend its weights as a checkpoint."""
    path, net = onnx_model(arch=arch)
    if backend != "torch":
        return path
    weights = tmp_path / f"{arch}.pth"
    torch.save(net.state_dict(), weights)
    return weights


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("arch", list_generators())
def test_translator_keeps_tiny_and_thin_sizes(onnx_model, arch, backend, tmp_path, one_thread):
    translator = Translator(_model(onnx_model, arch, backend, tmp_path), backend=backend)
    assert translator.backend_name == backend
    reference = Translator(onnx_model(arch=arch)[1])  # the PyTorch network itself
    for w, h in SIZES:
        img = _photo(w, h)
        out = translator(img)
        assert out.size == (w, h)
        if w * h > 1:  # a 1 x 1 image pads to a constant one, where instance norm amplifies noise
            expected = np.asarray(reference(img), np.int16)
            assert np.abs(np.asarray(out, np.int16) - expected).max() <= 2
    tiled = translator(_photo(1, 40), tile=4, overlap=2)  # a smaller tile grows to the minimum
    assert tiled.size == (1, 40)


@pytest.mark.parametrize("backend", BACKENDS)
def test_convert_cli_keeps_tiny_sizes(onnx_model, backend, tmp_path, capsys, one_thread):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i, (w, h) in enumerate(SIZES):
        _photo(w, h, seed=i).save(src / f"{w}x{h}.png")
    for arch in list_generators():
        model = _model(onnx_model, arch, backend, tmp_path)
        args = ["convert", str(model), str(src), str(out / arch), "--backend", backend, "-q"]
        assert main(args) == 0, capsys.readouterr().err
        assert "converted 4, skipped 0, failed 0" in capsys.readouterr().out
        for w, h in SIZES:
            assert Image.open(out / arch / f"{w}x{h}.png").size == (w, h)


@pytest.mark.parametrize("backend", BACKENDS[:2])  # the app serves ONNX models
def test_app_translates_tiny_uploads(onnx_model, backend, tmp_path):
    from translate.apps.app import AppConfig, AppLogic
    from translate.apps.pool import ModelPool

    models = tmp_path / "models"
    models.mkdir()
    for arch in list_generators():
        (models / f"{arch}.onnx").write_bytes(onnx_model(arch=arch)[0].read_bytes())
    logic = AppLogic(ModelPool(models, backend=backend, threads=1), AppConfig())
    for w, h in SIZES:
        upload = tmp_path / f"upload {w}x{h}.png"
        _photo(w, h).save(upload)
        for arch in list_generators():
            result, note = logic.translate_upload(
                {"path": str(upload), "orig_name": upload.name}, arch, "original"
            )
            assert Image.open(result).size == (w, h), note
            assert f"{w}×{h} px" in note


@pytest.mark.parametrize("arch", list_generators())
def test_min_size_is_recorded_and_read_off_older_graphs(onnx_model, arch, tmp_path):
    """Exports record min_size; files exported before it was (the bundled models) get it from
    their graph, by the same rule the PyTorch layers give."""
    path, net = onnx_model(arch=arch)
    least = min_input_size(net)
    assert least == (8 if arch.startswith("resnet") else net.size_multiple)
    assert ModelMetadata.from_props(read_metadata(path)).min_size == least
    old = onnx.load(str(path))
    kept = [p for p in old.metadata_props if p.key != "min_size"]
    del old.metadata_props[:]
    old.metadata_props.extend(kept)
    onnx.save(old, str(tmp_path / "old.onnx"))
    assert read_min_size(tmp_path / "old.onnx", net.size_multiple) == least
    translator = Translator(tmp_path / "old.onnx", backend="onnxruntime")
    assert translator.metadata.min_size == least
    assert translator(_photo(3, 2)).size == (3, 2)


def test_bundled_models_take_tiny_images():
    bundled = [e.path for e in list_models() if "int8" not in e.name]
    if not bundled:
        pytest.skip("no bundled models")
    for path in bundled:
        assert Translator(path, backend="onnxruntime")(_photo(3, 2)).size == (3, 2), path.name

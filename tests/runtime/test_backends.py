"""Inference backends: equal outputs across engines, explicit choice, clear load errors."""

import numpy as np
import pytest
import torch

from translate.export.sources import TorchBackend
from translate.runtime.backends import (
    ModelLoadError,
    OnnxRuntimeBackend,
    OpenVINOBackend,
    open_onnx,
    openvino_available,
)

needs_openvino = pytest.mark.skipif(not openvino_available(), reason="openvino not installed")


def _inputs(nc=3):
    rng = np.random.default_rng(0)
    return [rng.uniform(-1, 1, (1, nc, 32, 48)).astype(np.float32),
            rng.uniform(-1, 1, (2, nc, 64, 40)).astype(np.float32)]  # fmt: skip


def test_onnxruntime_matches_pytorch(onnx_model):
    path, net = onnx_model()
    ort_backend = OnnxRuntimeBackend(path, threads=1)
    torch_backend = TorchBackend(net, device="cpu")
    assert ort_backend.device == "cpu" and ort_backend.input_channels == 3
    assert ort_backend.session.get_session_options().intra_op_num_threads == 1
    for x in _inputs():
        y = ort_backend.run(x)
        assert y.shape == (x.shape[0], 3, *x.shape[2:]) and y.dtype == np.float32
        with torch.no_grad():
            expected = net(torch.from_numpy(x)).numpy()
        assert np.abs(y - expected).max() <= 1e-4
        assert np.abs(torch_backend.run(x) - expected).max() == 0


@needs_openvino
@pytest.mark.parametrize("arch,norm", [("resnet_6blocks", "instance"), ("unet_128", "batch")])
def test_openvino_matches_onnxruntime(onnx_model, arch, norm):
    path, _ = onnx_model(arch=arch, norm=norm)
    ov, ort_backend = OpenVINOBackend(path, threads=1), OnnxRuntimeBackend(path, threads=1)
    for x in _inputs():
        x = np.pad(x, ((0, 0), (0, 0), (0, 128 - x.shape[2]), (0, 128 - x.shape[3])))
        # 1e-3 is an eighth of one 8-bit grey level in [-1, 1]; instance norm of near-constant
        # random features amplifies summation-order differences to ~2e-4.
        assert np.abs(ov.run(x) - ort_backend.run(x)).max() <= 1e-3


def test_auto_prefers_openvino_on_cpu_and_is_overridable(onnx_model):
    path, _ = onnx_model()
    auto = open_onnx(path, "auto", device="cpu")
    assert auto.name == ("openvino" if openvino_available() else "onnxruntime")
    assert open_onnx(path, "onnxruntime").name == "onnxruntime"


def test_unknown_choices_and_bad_files(tmp_path, onnx_model):
    path, _ = onnx_model()
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        open_onnx(path, "tensorrt")
    with pytest.raises(ValueError, match="not ONNX files"):
        open_onnx(path, "torch")
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        OnnxRuntimeBackend(path, threads=0)
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"this is not a model")
    with pytest.raises(ModelLoadError, match="broken.onnx: onnxruntime cannot load"):
        OnnxRuntimeBackend(bad)
    if openvino_available():
        with pytest.raises(ModelLoadError, match="broken.onnx: OpenVINO cannot load"):
            OpenVINOBackend(bad)


@pytest.mark.parametrize("threads", [None, 1])
@pytest.mark.parametrize("backend", ["onnxruntime", pytest.param("openvino", marks=needs_openvino)])
def test_a_failing_input_costs_no_later_input(onnx_model, backend, threads):
    """A ResNet's reflect pads fail on a 4 x 4 input (1 x 1 after downsampling). OpenVINO left
    that failed shape inference in its compiled model: the next input of the last good shape
    failed the same way (with one thread: returned a stale or empty output, without an error)."""
    path, _ = onnx_model()
    rng = np.random.default_rng(0)
    good = [rng.uniform(-1, 1, (1, 3, 20, 24)).astype(np.float32) for _ in range(2)]
    bad = rng.uniform(-1, 1, (1, 3, 4, 4)).astype(np.float32)
    fresh = open_onnx(path, backend, threads=threads)
    expected = [fresh.run(x) for x in good]
    engine = open_onnx(path, backend, threads=threads)
    assert np.abs(engine.run(good[0]) - expected[0]).max() <= 1e-5
    for _ in range(2):
        with pytest.raises(Exception) as failure:
            engine.run(bad)
        for x, y in zip(good, expected, strict=True):
            assert np.abs(engine.run(x) - y).max() <= 1e-5
        assert "\n" not in str(failure.value).strip()  # one line, not a C++ trace

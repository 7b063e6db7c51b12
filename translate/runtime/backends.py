"""Inference backends: run a generator on a float32 NCHW array and return float32 NCHW.

The :class:`~translate.runtime.inference.Translator` does all image handling; a backend only runs
the network, so the three engines (onnxruntime, OpenVINO, PyTorch) are interchangeable and tested
for equal outputs. onnxruntime is the portable default (CUDA when its GPU build is installed);
OpenVINO, an optional extra, is faster on Intel CPUs for int8 models and is picked automatically on
CPU when installed; PyTorch runs training checkpoints that have not been exported yet.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np

from ..errors import ConfigError, TranslateError

BACKENDS = ("auto", "onnxruntime", "openvino", "torch")
DEVICES = ("auto", "cpu", "cuda")


class ModelLoadError(TranslateError, ValueError):
    """A model file that cannot be opened; the message names the file and the reason."""


def openvino_available() -> bool:
    return importlib.util.find_spec("openvino") is not None


def _check_choice(value: str, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        raise ConfigError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")


def _check_threads(threads: int | None) -> None:
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ConfigError(f"threads must be a positive integer or None, got {threads!r}")


def _dtype(type_name: str) -> type:
    """Numpy dtype of an onnxruntime/OpenVINO element type name (fp16 models take fp16)."""
    return np.float16 if "16" in type_name else np.float32


class OnnxRuntimeBackend:
    """onnxruntime with full graph optimisation; CUDA provider first when available."""

    name = "onnxruntime"

    def __init__(self, path: str | Path, *, threads: int | None = None, device: str = "auto"):
        import onnxruntime as ort

        _check_choice(device, DEVICES, "device")
        _check_threads(threads)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # The memory pattern keeps a second, pre-planned copy of all activations (+0.44 GiB
        # for a 512 x 512 tile of resnet_9blocks); it made no measurable speed difference.
        options.enable_mem_pattern = False
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        if device != "cpu" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        elif device == "cuda":
            raise ModelLoadError(
                "device='cuda' needs onnxruntime-gpu (the [gpu] extra); this onnxruntime offers "
                + ", ".join(ort.get_available_providers())
            )
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as e:  # onnxruntime raises its own untyped errors for bad files
            raise ModelLoadError(f"{path}: onnxruntime cannot load this model ({e})") from e
        used = self.session.get_providers()
        self.device = "cuda" if "CUDAExecutionProvider" in used else "cpu"
        inp, out = self.session.get_inputs()[0], self.session.get_outputs()[0]
        self.input_name, self.output_name = inp.name, out.name
        self.input_channels = inp.shape[1] if isinstance(inp.shape[1], int) else None
        self._dtype = _dtype(inp.type)

    def run(self, x: np.ndarray) -> np.ndarray:
        feed = {self.input_name: np.ascontiguousarray(x, dtype=self._dtype)}
        y = self.session.run([self.output_name], feed)[0]
        return y.astype(np.float32, copy=False)


class OpenVINOBackend:
    """OpenVINO on the CPU (``pip install openvino``, the ``openvino`` extra), same ONNX file.

    Float layers run in fp32 by default: on CPUs with bf16 support OpenVINO would otherwise
    choose bf16, whose outputs differ visibly from the exported model's (``precision="bf16"``
    opts in). One infer request per calling thread: a request is not thread-safe, and the app
    calls the translator from several worker threads.

    A failed inference (an input the network rejects) leaves the compiled model's shape state
    half-updated, shared by all its requests: the next input of the last good shape then fails
    the same way (with one inference thread: returns a stale or empty output, without an error).
    So after a failure the model is compiled afresh and every thread's request replaced."""

    name = "openvino"
    device = "cpu"

    def __init__(self, path: str | Path, *, threads: int | None = None, precision: str = "f32"):
        if not openvino_available():
            raise ModelLoadError(
                "backend 'openvino' is not installed: pip install openvino "
                "(or the project's [openvino] extra)"
            )
        _check_threads(threads)
        _check_choice(precision, ("f32", "bf16", "f16"), "precision")
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        self._path, self._config = str(path), config
        try:
            self.compiled = self._compile()
        except Exception as e:  # OpenVINO raises RuntimeError subclasses with long C++ traces
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelLoadError(f"{path}: OpenVINO cannot load this model ({reason})") from e
        inp = self.compiled.input(0)
        shape = inp.get_partial_shape()
        self.input_channels = shape[1].get_length() if shape[1].is_static else None
        self._dtype = _dtype(inp.get_element_type().get_type_name())
        self._local = threading.local()
        self._lock = threading.Lock()

    def _compile(self):
        import openvino as ov

        core = ov.Core()
        return core.compile_model(core.read_model(self._path), "CPU", self._config)

    def run(self, x: np.ndarray) -> np.ndarray:
        compiled = self.compiled
        request = getattr(self._local, "request", None)
        if request is None or self._local.compiled is not compiled:
            request = self._local.request = compiled.create_infer_request()
            self._local.compiled = compiled
        try:
            request.infer({0: np.ascontiguousarray(x, dtype=self._dtype)})
            y = np.array(request.get_output_tensor(0).data, dtype=np.float32)
        except Exception as e:
            self._recompile(compiled)
            lines = [line for line in str(e).splitlines() if line.strip()]
            reason = lines[-1].strip() if lines else type(e).__name__  # the last line says why
            raise RuntimeError(f"OpenVINO failed on input {x.shape}: {reason}") from e
        if y.shape[0] != x.shape[0] or y.shape[2:] != x.shape[2:]:
            self._recompile(compiled)
            raise RuntimeError(
                f"OpenVINO returned shape {y.shape} for input {x.shape}: the network cannot run "
                "on this input"
            )
        return y

    def _recompile(self, failed) -> None:
        with self._lock:
            if self.compiled is failed:  # not already replaced by another thread
                self.compiled = self._compile()


def open_onnx(
    path: str | Path, backend: str = "auto", *, threads: int | None = None, device: str = "auto"
) -> OnnxRuntimeBackend | OpenVINOBackend:
    """The backend for an ONNX file. ``auto``: onnxruntime on CUDA where it has a GPU, else
    OpenVINO when installed, else onnxruntime on the CPU."""
    _check_choice(backend, BACKENDS, "backend")
    _check_choice(device, DEVICES, "device")
    if backend == "torch":
        raise ConfigError(
            f"{path}: backend 'torch' runs training runs and checkpoints, not ONNX files; "
            "use onnxruntime or openvino"
        )
    if backend == "openvino":
        if device == "cuda":
            raise ConfigError("the openvino backend runs on the CPU here; use onnxruntime for CUDA")
        return OpenVINOBackend(path, threads=threads)
    if backend == "auto" and device != "cuda" and openvino_available():
        if device == "auto" and _ort_has_cuda():
            ort_backend = OnnxRuntimeBackend(path, threads=threads, device=device)
            if ort_backend.device == "cuda":
                return ort_backend
        return OpenVINOBackend(path, threads=threads)
    return OnnxRuntimeBackend(path, threads=threads, device=device)


def _ort_has_cuda() -> bool:
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()

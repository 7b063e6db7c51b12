"""Export a generator to one self-contained ONNX file that carries its own description.

The file is what the app, ``translate convert`` and third-party software run: float32 NCHW in [-1,
1] in, the same out, dynamic batch/height/width, all weights inside (no external data file), and
:class:`~translate.runtime.metadata.ModelMetadata` in ``metadata_props``. Nothing is written unless
onnxruntime reproduces PyTorch at two input sizes (max |diff| <= 1e-4), so a broken export never
reaches ``models/``.

Graphs come from torch's default dynamo-based exporter (``torch.export`` + onnxscript): it gives a
clean graph of the network's own operators (Conv, Pad, InstanceNormalization, ...) where the
deprecated TorchScript exporter emits five times as many shape-computing nodes. Its native opset is
18 and it cannot down-convert reflection ``Pad`` to 17, so 18 is the minimum here. The model is
serialised in memory and written as one file by
:func:`~translate.runtime.atomic.atomic_write_bytes`, which keeps every initializer inline whatever
the exporter's own external-data default is.

Variants for deployment, each gated on image quality against the fp32 output on real images
(PSNR/SSIM; refused below :data:`MIN_PSNR` unless forced):

- ``int8``: static QDQ quantization with onnxruntime, percentile-calibrated on real images and
  restricted to Conv/Pad/Relu/Add; InstanceNormalization and ConvTranspose stay in float
  (quantizing them costs about 10 dB). Not offered where it pays too little (:data:`INT8_SKIP`).
- ``fp16``: for GPUs; InstanceNormalization stays in fp32 (it breaks in fp16 in onnxruntime).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import TranslateError
from ..gan.nets import min_input_size
from ..runtime.atomic import atomic_write_bytes
from ..runtime.metadata import ModelMetadata

MIN_OPSET = 18
PARITY_TOLERANCE = 1e-4
MIN_PSNR = 30.0
PRECISIONS = ("fp32", "int8", "fp16")
TEST_MODES = ("eval", "train")
INT8_OP_TYPES = ("Conv", "Pad", "Relu", "Add")
INT8_PERCENTILE = 99.999
FP16_KEEP_FP32 = ("InstanceNormalization",)
# Generators for which int8 pays too little to offer: the U-Nets' ConvTranspose half stays in
# float, and int8 unet_256 ran only 1.1-1.3x faster than fp32 in onnxruntime (resnet_9blocks
# 1.7-1.9x; bench/inference_speed.py). Refused unless forced.
INT8_SKIP = frozenset({"unet_256", "unet_128"})


class ExportError(TranslateError, ValueError):
    """An export that cannot be done as asked: bad source, options or calibration images."""


class VerificationError(ExportError):
    """The exported model failed a check (parity with PyTorch or the quality gate). ``report``
    holds the figures; nothing was written."""

    def __init__(self, message: str, report: ExportReport):
        super().__init__(message)
        self.report = report


@dataclass
class Parity:
    shape: tuple[int, ...]  # the input's NCHW shape
    max_abs_diff: float

    def __str__(self) -> str:
        return f"{'x'.join(map(str, self.shape))} max|diff| {self.max_abs_diff:.2e}"


@dataclass
class Quality:
    """A variant's output against the fp32 model's on real images."""

    psnr: float  # dB, mean over images
    ssim: float
    images: int
    size: int  # side of the square images compared
    min_psnr: float
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.psnr >= self.min_psnr


@dataclass
class ExportReport:
    path: Path | None
    precision: str
    opset: int
    test_mode: str
    parity: list[Parity] = field(default_factory=list)
    tolerance: float = PARITY_TOLERANCE
    quality: Quality | None = None
    bytes: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def parity_ok(self) -> bool:
        return all(p.max_abs_diff <= self.tolerance for p in self.parity)

    @property
    def ok(self) -> bool:
        return self.parity_ok and (self.quality is None or self.quality.ok)

    def lines(self) -> list[str]:
        """The figures, one line per check, as the CLI prints them."""
        out = []
        if self.parity:
            verdict = "ok" if self.parity_ok else "FAILED"
            out.append(
                "parity onnxruntime vs PyTorch (fp32): "
                + "; ".join(map(str, self.parity))
                + f" (tolerance {self.tolerance:.0e}): {verdict}"
            )
        q = self.quality
        if q is not None:
            out.append(
                f"quality {self.precision} vs fp32 on {q.images} real image(s) at {q.size} px: "
                f"PSNR {q.psnr:.2f} dB, SSIM {q.ssim:.4f} (minimum {q.min_psnr:g} dB): "
                + ("ok" if q.ok else "FAILED")
                + (f" [{q.note}]" if q.note else "")
            )
        out += [f"warning: {w}" for w in self.warnings]
        if self.path is not None:
            out.append(
                f"wrote {self.path} ({self.bytes / 2**20:.1f} MiB, opset {self.opset}, "
                f"{self.precision}, test mode {self.test_mode})"
            )
        return out


# --------------------------------------------------------------------------------------------
# Test-time behaviour


class _BatchStatNorm(nn.Module):
    """BatchNorm as the reference's test script runs it (train mode, batch of one): statistics of
    the image itself, the layer's affine parameters, running statistics ignored. Per image, so
    an output does not depend on what else is in the batch."""

    def __init__(self, bn: nn.BatchNorm2d):
        super().__init__()
        self.weight, self.bias, self.eps = bn.weight, bn.bias, bn.eps

    def forward(self, x):
        return nn.functional.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)


class _NoisyDropout(nn.Module):
    """Dropout that stays random in the exported graph (RandomUniformLike): runtimes delete ONNX
    ``Dropout`` nodes for inference, which would silently turn the reference's noise off."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x):
        keep = (torch.rand_like(x) >= self.p).to(x.dtype)
        return x * keep / (1.0 - self.p)


def prepare_for_export(net: nn.Module, test_mode: str = "eval", noise: bool = True) -> nn.Module:
    """A CPU float32 copy of ``net`` with the chosen test-time behaviour.

    ``eval``: BatchNorm running statistics, no dropout (deterministic). ``train``: the reference
    test script's default: BatchNorm normalises with the image's own statistics and dropout
    stays on (the pix2pix paper's noise); ``noise=False`` leaves the dropout out, which is how
    the train-mode graph is checked against PyTorch."""
    if test_mode not in TEST_MODES:
        raise ExportError(f"test mode must be one of {', '.join(TEST_MODES)}, got {test_mode!r}")
    out = copy.deepcopy(net).to(device="cpu", dtype=torch.float32).eval()
    if test_mode == "train":
        for parent in list(out.modules()):
            for name, child in parent.named_children():
                if isinstance(child, nn.BatchNorm2d):
                    setattr(parent, name, _BatchStatNorm(child))
                elif isinstance(child, nn.Dropout) and noise:
                    setattr(parent, name, _NoisyDropout(child.p))
    for p in out.parameters():
        p.requires_grad_(False)
    return out


def has_dropout(net: nn.Module) -> bool:
    return any(isinstance(m, nn.Dropout) for m in net.modules())


# --------------------------------------------------------------------------------------------
# fp32 graph


def to_onnx(net: nn.Module, opset: int = MIN_OPSET, input_nc: int | None = None):
    """The ONNX graph of a prepared generator (see :func:`prepare_for_export`) as an
    ``onnx.ModelProto`` with inline weights, input ``input`` and output ``output`` of shape
    (batch, channels, height, width)."""
    import warnings

    from torch.export import Dim

    if opset < MIN_OPSET:
        raise ExportError(
            f"opset {opset} is not supported: torch's exporter writes opset {MIN_OPSET} and "
            f"cannot convert reflection Pad down; use --opset {MIN_OPSET} or higher"
        )
    m = int(getattr(net, "size_multiple", 1))
    channels = input_nc or int(getattr(net, "input_nc", 3))
    # Sides of at least 2 * multiple: torch.export specialises dimensions that are 1 in the
    # example, and the U-Net's sides are only symbolic as multiples of 2**levels.
    side = m * max(2, math.ceil(64 / m))
    example = torch.zeros(2, channels, side, side)
    dims = {0: Dim("batch"), 2: m * Dim("h"), 3: m * Dim("w")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            net,
            (example,),
            input_names=["input"],
            output_names=["output"],
            opset_version=opset,
            dynamic_shapes=(dims,),
            dynamo=True,
            verbose=False,
        )
    model = program.model_proto
    got = _opset(model)
    if got != opset:
        raise ExportError(f"the exporter wrote opset {got}, not the requested {opset}")
    for value in (*model.graph.input, *model.graph.output):
        shape = value.type.tensor_type.shape.dim
        for i, name in ((0, "batch"), (2, "height"), (3, "width")):
            shape[i].Clear()
            shape[i].dim_param = name
    model.producer_name = "translate"
    return model


def _opset(model) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def set_metadata(model, metadata: ModelMetadata) -> None:
    import onnx

    del model.metadata_props[:]
    onnx.helper.set_model_props(model, metadata.to_props())
    model.doc_string = metadata.description


def check_self_contained(model) -> None:
    """Refuse a graph whose tensors live in an external data file."""
    import onnx

    external = [
        t.name
        for t in model.graph.initializer
        if t.data_location == onnx.TensorProto.EXTERNAL or t.external_data
    ]
    if external:
        raise ExportError(f"{len(external)} weight tensor(s) would be stored outside the file")


def session(model: bytes | str | Path, providers: Sequence[str] | None = None, threads=None):
    """An onnxruntime session with full graph optimisation (CPU unless ``providers``)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = int(threads)
    src = str(model) if isinstance(model, str | Path) else model
    return ort.InferenceSession(src, opts, providers=list(providers or ["CPUExecutionProvider"]))


def default_sizes(
    size_multiple: int, recommended: int, min_size: int = 1
) -> list[tuple[int, int, int]]:
    """Two (batch, height, width) shapes to check parity at: a square at the recommended size
    and a different, non-square size with batch 2, neither below the smallest side the network
    accepts."""
    m = size_multiple
    least = max(m, math.ceil(min_size / m) * m)
    s = max(least, math.ceil(recommended / m) * m)
    return [(1, s, s), (2, s + m, max(least, s - m))]


@torch.no_grad()
def check_parity(
    model_bytes: bytes, net: nn.Module, sizes: Sequence[tuple[int, int, int]], input_nc: int
) -> list[Parity]:
    """Max |onnxruntime - PyTorch| on random inputs in [-1, 1] of each (batch, height, width)."""
    sess = session(model_bytes)
    gen = torch.Generator().manual_seed(0)
    out = []
    for n, h, w in sizes:
        x = torch.rand(n, input_nc, h, w, generator=gen) * 2 - 1
        ref = net(x).numpy()
        got = sess.run(None, {"input": x.numpy()})[0]
        if got.shape != ref.shape:
            diff = math.inf
        else:
            diff = float(np.max(np.abs(got - ref)))
        out.append(Parity((n, input_nc, h, w), diff))
    return out


# --------------------------------------------------------------------------------------------
# Real images for calibration and the quality gate


def load_images(
    folder: str | Path, size: int, channels: int, count: int, skip: int = 0
) -> list[np.ndarray]:
    """Up to ``count`` images of ``folder`` (recursively, sorted, after the first ``skip``) as
    float32 CHW arrays in [-1, 1], resized so the shorter side is ``size`` and centre-cropped to
    ``size`` x ``size``. Unreadable files are passed over."""
    from PIL import Image

    from ..runtime.images import ImageReadError, is_image_file, load_image, to_array

    folder = Path(folder)
    if not folder.is_dir():
        raise ExportError(f"{folder}: not a folder of images")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and is_image_file(p))
    out = []
    for path in files[skip:]:
        if len(out) >= count:
            break
        try:
            img = load_image(path)
        except ImageReadError:
            continue
        scale = size / min(img.size)
        w, h = max(size, round(img.width * scale)), max(size, round(img.height * scale))
        img = img.resize((w, h), Image.Resampling.BICUBIC)
        left, top = (w - size) // 2, (h - size) // 2
        img = img.crop((left, top, left + size, top + size))
        out.append(to_array(img, channels).transpose(2, 0, 1).copy())
    return out


def _image_split(
    calib: Path | None, check: Path | None, size: int, channels: int, n_calib: int, n_check: int
) -> tuple[list[np.ndarray], list[np.ndarray], str]:
    """Calibration and check images; the check set avoids the calibration images when it comes
    from the same folder and the folder has enough of them."""
    calib_imgs = load_images(calib, size, channels, n_calib) if calib else []
    note = ""
    if check:
        check_imgs = load_images(check, size, channels, n_check)
    elif calib:
        check_imgs = load_images(calib, size, channels, n_check, skip=len(calib_imgs))
        if not check_imgs:
            check_imgs = calib_imgs[:n_check]
            note = "measured on calibration images: the folder has no others"
    else:
        check_imgs = []
    return calib_imgs, check_imgs, note


# --------------------------------------------------------------------------------------------
# Variants


def quantize_int8(model, images: Sequence[np.ndarray], percentile: float = INT8_PERCENTILE):
    """Static QDQ int8 model (uint8 activations, per-channel int8 weights, as suited to x86 with
    VNNI) from an fp32 ``ModelProto``, with activation ranges from percentile calibration on
    ``images`` (CHW arrays). Only :data:`INT8_OP_TYPES` are quantized."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    if not images:
        raise ExportError("int8 calibration needs at least one image")

    class Reader(CalibrationDataReader):
        # set_range + CalibStridedMinMax make onnxruntime histogram one image at a time instead
        # of holding every activation of every calibration image in memory at once.
        def __init__(self):
            self.start, self.end, self.i = 0, len(images), 0

        def __len__(self):
            return len(images)

        def set_range(self, start_index: int, end_index: int):
            self.start, self.end, self.i = start_index, end_index, start_index

        def get_next(self):
            if self.i >= self.end:
                return None
            self.i += 1
            return {"input": images[self.i - 1][None]}

    with tempfile.TemporaryDirectory(prefix="translate-int8-") as tmp:
        src, pre, dst = (Path(tmp) / n for n in ("fp32.onnx", "pre.onnx", "int8.onnx"))
        src.write_bytes(model.SerializeToString())
        # Symbolic shapes of the U-Net's skip concatenations conflict without auto_merge.
        quant_pre_process(str(src), str(pre), auto_merge=True)
        with contextlib.redirect_stdout(io.StringIO()):  # the calibrator prints its progress
            quantize_static(
                str(pre),
                str(dst),
                Reader(),
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=list(INT8_OP_TYPES),
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.Percentile,
                extra_options={"CalibPercentile": percentile, "CalibStridedMinMax": 1},
            )
        return onnx.load(str(dst))


def convert_fp16(model):
    """fp16 weights and arithmetic with float32 input/output; InstanceNormalization (and the
    converter's default list of unsafe ops) kept in fp32."""
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

    half = convert_float_to_float16(
        model,
        keep_io_types=True,
        op_block_list=list(DEFAULT_OP_BLOCK_LIST) + list(FP16_KEEP_FP32),
    )
    _sort_nodes(half.graph)  # the converter appends the input casts at the end of the graph
    return half


def _sort_nodes(graph) -> None:
    """Put the graph's nodes in topological order, as the ONNX checker requires."""
    import onnx

    ready = {v.name for v in graph.input} | {t.name for t in graph.initializer} | {""}
    nodes, remaining, order = list(graph.node), list(range(len(graph.node))), []
    while remaining:
        waiting = []
        for i in remaining:
            if all(name in ready for name in nodes[i].input):
                order.append(i)
                ready.update(nodes[i].output)
            else:
                waiting.append(i)
        if len(waiting) == len(remaining):
            raise ExportError("the graph has a cycle or an input that no node produces")
        remaining = waiting
    copies = [onnx.NodeProto() for _ in order]
    for copy_, i in zip(copies, order, strict=True):
        copy_.CopyFrom(nodes[i])
    del graph.node[:]
    graph.node.extend(copies)


def _gpu_providers() -> list[str]:
    import onnxruntime as ort

    avail = ort.get_available_providers()
    return ["CUDAExecutionProvider"] * ("CUDAExecutionProvider" in avail) + ["CPUExecutionProvider"]


def compare_quality(
    reference: bytes,
    candidate: bytes,
    images: Sequence[np.ndarray],
    min_psnr: float = MIN_PSNR,
    providers: Sequence[str] | None = None,
) -> Quality:
    """Mean PSNR/SSIM of ``candidate``'s outputs against ``reference``'s on ``images``."""
    from ..eval.metrics import psnr, ssim

    if not images:
        raise ExportError("the quality check needs at least one real image")
    ref_sess, cand_sess = session(reference), session(candidate, providers)
    scores = []
    for img in images:
        a = ref_sess.run(None, {"input": img[None]})[0]
        b = cand_sess.run(None, {"input": img[None]})[0]
        scores.append((psnr(a, b), ssim(a, b)))
    p, s = np.mean(scores, axis=0)
    return Quality(float(p), float(s), len(images), int(images[0].shape[-1]), min_psnr)


# --------------------------------------------------------------------------------------------
# The whole export


def make_variant(
    fp32,
    meta: ModelMetadata,
    precision: str,
    calib: str | Path | None,
    check: str | Path | None,
    calib_count: int,
    check_count: int,
    min_psnr: float,
):
    """The int8 or fp16 model made from the fp32 ``ModelProto``, with ``meta`` (plus the recipe
    and the measured quality) inside, and its :class:`Quality` against fp32 on real images at
    the recommended size."""
    import onnx

    side = math.ceil(meta.recommended_size / meta.size_multiple) * meta.size_multiple
    calib_imgs, check_imgs, note = _image_split(
        Path(calib) if calib else None,
        Path(check) if check else None,
        side,
        meta.input_nc,
        calib_count,
        check_count,
    )
    meta = dataclasses.replace(meta, extra=dict(meta.extra))
    if precision == "int8":
        if not calib_imgs:
            raise ExportError(f"{calib}: no readable images to calibrate on")
        model, providers = quantize_int8(fp32, calib_imgs), None
        meta.extra["int8_recipe"] = (
            f"QDQ u8/s8 per-channel, percentile {INT8_PERCENTILE} on {len(calib_imgs)} "
            f"image(s), ops {','.join(INT8_OP_TYPES)}"
        )
    else:
        model, providers = convert_fp16(fp32), _gpu_providers()
    if not check_imgs:
        raise ExportError(f"{check or calib}: no readable images for the quality check")
    quality = compare_quality(
        fp32.SerializeToString(), model.SerializeToString(), check_imgs, min_psnr, providers
    )
    quality.note = note
    meta.extra["quality_psnr_db"] = f"{quality.psnr:.2f}"
    meta.extra["quality_ssim"] = f"{quality.ssim:.4f}"
    set_metadata(model, meta)
    onnx.checker.check_model(model)
    return model, quality


def complete_metadata(net: nn.Module, metadata: ModelMetadata, **facts) -> ModelMetadata:
    """``metadata`` with the fields that are facts about the graph filled in from the network
    (architecture, channels, size multiple, minimum size) and the project version."""
    from .. import __version__

    cfg = getattr(net, "config", None)
    arch = cfg.to_dict() if cfg is not None else {}  # GeneratorConfig's fields are metadata's
    multiple = int(getattr(net, "size_multiple", metadata.size_multiple))
    meta = dataclasses.replace(
        metadata,
        **arch,
        size_multiple=multiple,
        min_size=min_input_size(net),
        translate_version=__version__,
        extra=dict(metadata.extra),
        **facts,
    )
    if meta.input_nc == 1 and meta.channel_order == "RGB":
        meta = dataclasses.replace(meta, channel_order="L")
    return meta


def export_onnx(
    net: nn.Module,
    path: str | Path,
    metadata: ModelMetadata,
    *,
    opset: int = MIN_OPSET,
    verify: bool = True,
    sizes: Sequence[tuple[int, int, int]] | None = None,
    precision: str = "fp32",
    calib: str | Path | None = None,
    check: str | Path | None = None,
    calib_count: int = 32,
    check_count: int = 8,
    min_psnr: float = MIN_PSNR,
    force: bool = False,
) -> ExportReport:
    """Write ``net`` to ``path`` as one self-contained ONNX file with ``metadata`` inside.

    The test-time behaviour is ``metadata.test_mode`` (see :func:`prepare_for_export`).
    ``sizes``: (batch, height, width) shapes for the parity check (default:
    :func:`default_sizes`). ``precision`` ``int8`` calibrates on up to ``calib_count`` images of
    ``calib``; ``int8`` and ``fp16`` are compared with the fp32 output on up to ``check_count``
    real images of ``check`` (default: other images of ``calib``) at the recommended size.

    Raises :class:`VerificationError` (nothing written) when parity exceeds 1e-4 or PSNR is
    below ``min_psnr``; ``force=True`` writes anyway and lists the failures as warnings."""
    import onnx

    if precision not in PRECISIONS:
        raise ExportError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise ExportError(f"{path}: the output file name must end in .onnx")
    meta = complete_metadata(net, metadata, precision=precision)
    report = ExportReport(None, precision, opset, meta.test_mode)
    if precision == "int8" and meta.arch in INT8_SKIP:
        msg = (
            f"int8 pays too little for {meta.arch}: its ConvTranspose layers stay in float and "
            f"int8 unet_256 ran only 1.1-1.3x faster than fp32 (bench/inference_speed.py); "
            f"the fp32 model is the better choice"
        )
        if not force:
            raise ExportError(msg + " (force to export it anyway)")
        report.warnings.append(msg)
    if precision == "int8" and calib is None:
        raise ExportError("int8 export needs a folder of calibration images (--calib DIR)")
    if precision != "fp32" and calib is None and check is None:
        raise ExportError(f"{precision} export needs real images for its quality check (--check)")
    if precision != "fp32" and meta.test_mode == "train" and has_dropout(net):
        raise ExportError(
            f"a train-mode model with dropout gives random outputs, so its {precision} variant "
            "cannot be checked against fp32; export it in eval mode"
        )
    for folder in (calib, check):
        if folder is not None and not Path(folder).is_dir():
            raise ExportError(f"{folder}: not a folder of images")

    prepared = prepare_for_export(net, meta.test_mode)
    fp32 = to_onnx(prepared, opset, meta.input_nc)
    set_metadata(fp32, meta)
    onnx.checker.check_model(fp32)

    if verify:
        reference, graph = prepared, fp32.SerializeToString()
        if meta.test_mode == "train" and has_dropout(net):
            # Dropout noise cannot be reproduced across runtimes: check the same graph without it.
            reference = prepare_for_export(net, "train", noise=False)
            graph = to_onnx(reference, opset, meta.input_nc).SerializeToString()
            report.warnings.append("train-mode dropout noise is not part of the parity check")
        shapes = sizes or default_sizes(meta.size_multiple, meta.recommended_size, meta.min_size)
        report.parity = check_parity(graph, reference, shapes, meta.input_nc)
        if not report.parity_ok:
            msg = f"onnxruntime does not reproduce PyTorch within {PARITY_TOLERANCE:.0e}"
            if not force:
                raise VerificationError(msg, report)
            report.warnings.append(msg)

    final = fp32
    if precision != "fp32":
        final, report.quality = make_variant(
            fp32, meta, precision, calib, check, calib_count, check_count, min_psnr
        )
        if not report.quality.ok:
            msg = f"{precision} PSNR {report.quality.psnr:.2f} dB is below {min_psnr:g} dB"
            if not force:
                raise VerificationError(msg, report)
            report.warnings.append(msg)

    check_self_contained(final)
    data = final.SerializeToString()
    atomic_write_bytes(path, data)
    report.path, report.bytes = path, len(data)
    return report


# --------------------------------------------------------------------------------------------
# Sources


def is_run_source(source: str | Path) -> bool:
    """A training run folder, a checkpoint folder in one, or a file in a checkpoint (the run
    folder, which holds ``config.json``, is at most three levels up)."""
    source = Path(source)
    folders = ([source] if source.is_dir() else []) + list(source.parents)[:3]
    return any((folder / "config.json").is_file() for folder in folders)


def load_source(
    source: str | Path,
    *,
    direction: str | None = None,
    arch: str | None = None,
    **options,
) -> tuple[nn.Module, ModelMetadata]:
    """The generator to export and what is known about it.

    ``source`` is a training run folder or a checkpoint in one (loaded through
    :func:`translate.training.checkpoint.load_generator`; ``direction`` picks CycleGAN's G_A/G_B),
    or an official reference ``.pth`` / ``.safetensors`` loaded strictly into ``arch`` built with
    ``options`` (``norm``, ``ngf``, ``input_nc``, ``output_nc``, ``dropout``). Without ``arch`` the
    architecture is read off the file when exactly one registered generator fits."""
    from ..gan.nets import GeneratorConfig
    from ..gan.weights import (
        WeightsError,
        describe_config,
        load_reference_weights,
        load_state_dict_file,
        suggest_architectures,
    )

    source = Path(source)
    if not source.exists():
        raise ExportError(f"{source}: no such file or folder")
    if arch is None and is_run_source(source):
        return _load_run(source, direction)
    if source.is_dir():
        raise ExportError(f"{source}: a folder, but not a training run (no config.json)")
    try:
        if arch is None:
            fits = [
                c
                for c in suggest_architectures(load_state_dict_file(source))
                if isinstance(c, GeneratorConfig)
            ]
            if len(fits) != 1:
                found = "; ".join(describe_config(c) for c in fits) or "no registered generator"
                raise ExportError(
                    f"{source}: pass the architecture flags (--arch, --norm, --ngf, ...); "
                    f"the file's layout matches: {found}"
                )
            options = {**fits[0].to_dict(), **_given(options)}
            arch = options.pop("arch")
        net = load_reference_weights(source, arch, **_given(options))
    except (WeightsError, ValueError) as e:
        if isinstance(e, ExportError):
            raise
        raise ExportError(str(e)) from e
    meta = ModelMetadata(direction=direction or "AtoB", model_type="reference")
    return net, meta


def _given(options: dict) -> dict:
    return {k: v for k, v in options.items() if v is not None}


def _load_run(source: Path, direction: str | None) -> tuple[nn.Module, ModelMetadata]:
    try:
        from ..training.checkpoint import load_generator
    except ImportError as e:
        raise ExportError(
            f"{source}: exporting a training run needs translate.training.checkpoint, which this "
            f"installation lacks ({e})"
        ) from e
    try:
        net, info = load_generator(source, direction=direction, device="cpu")
    except ValueError as e:  # CheckpointError: names the run folder and the problem
        raise ExportError(str(e)) from e
    meta = ModelMetadata(
        direction=info.direction,
        source_domain=info.source_domain,
        target_domain=info.target_domain,
        model_type=info.model_type,
        training_data=Path(str(info.data)).name,  # the dataset's name, not a local path
        training_iterations=int(info.iterations),
        recommended_size=int(info.crop_size),
    )
    return net, meta

"""The inference engine: ``Translator(model)(image) -> image`` at any size, in any image mode.

Everything a model needs (channels, value range, size multiple) is read from its metadata, so a
Translator needs no flags. Images are processed at their native resolution by default: reflect-
padded to the network's size multiple, and to at least the smallest size it accepts (so a 1 x 1
image works too), and cropped back, so the output has the input's size. Large images can be
processed in overlapping tiles blended with a smooth window, which bounds memory without visible
seams. The work is split into three stages (:meth:`Translator.prepare`,
:meth:`Translator.infer`, :meth:`Translator.finish`) so that folder conversion can decode and
encode in threads while the network runs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ..errors import ConfigError, import_extra
from .backends import ModelLoadError, open_onnx
from .catalog import default_models_dir, list_models, read_metadata, read_min_size
from .images import ImageReadError, from_array, load_image, split_alpha, to_mode
from .metadata import ModelMetadata

if TYPE_CHECKING:  # ONNX models run without importing torch (~0.5 GiB resident, seconds)
    import torch

ImageInput = Image.Image | np.ndarray | str | Path | bytes
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".safetensors", ".ckpt")
FINISH_ROWS = 512  # rows converted to 8 bits at a time


@dataclass
class Prepared:
    """An image ready for the network: ``array`` is CHW float32 in the model's value range,
    padded (:meth:`Translator.padded_side`); ``size`` (width, height) is what the output is
    cropped to."""

    array: np.ndarray
    size: tuple[int, int]
    alpha: Image.Image | None = None


class Translator:
    """Run an image-to-image model on images of any size and mode.

    ``model``: an ``.onnx`` file, the name of a model in ``models/`` (see ``translate info``), a
    training run folder or checkpoint or an official pix2pix/CycleGAN ``.pth`` (run through
    PyTorch), or a generator ``nn.Module``.
    ``backend``: ``auto`` (onnxruntime on CUDA if available, else OpenVINO if installed, else
    onnxruntime), ``onnxruntime``, ``openvino`` or ``torch``. ``direction`` picks the generator of
    a CycleGAN run (``AtoB``/``BtoA``); an ONNX file holds one direction and only checks it.
    """

    def __init__(
        self,
        model: str | Path | torch.nn.Module,
        *,
        backend: str = "auto",
        threads: int | None = None,
        direction: str | None = None,
        device: str = "auto",
    ):
        if direction not in (None, "AtoB", "BtoA"):
            raise ConfigError(f"direction must be AtoB or BtoA, got {direction!r}")
        self.model_path: Path | None = None
        if _is_torch_module(model):
            self._check_torch_backend(backend, "a PyTorch module")
            self.backend, self.metadata = _open_torch(model, None, threads, device)
        else:
            path = resolve_model(model)
            self.model_path = path
            if path.suffix.lower() == ".onnx":
                self.metadata = _onnx_metadata(path)
                if direction and direction != self.metadata.direction:
                    raise ConfigError(
                        f"{path}: this model translates {self.metadata.direction} "
                        f"({self.metadata.title}); it cannot run {direction}"
                    )
                self.backend = open_onnx(path, backend, threads=threads, device=device)
            else:
                self._check_torch_backend(backend, f"{path} (a training run or checkpoint)")
                self.backend, self.metadata = _open_torch(path, direction, threads, device)
        if self.metadata.input_nc not in (1, 3):
            raise ModelLoadError(
                f"{self.model_path or 'model'}: images have 1 or 3 channels, but this model "
                f"takes {self.metadata.input_nc}"
            )
        found = getattr(self.backend, "input_channels", None)
        if found is not None and found != self.metadata.input_nc:
            raise ModelLoadError(
                f"{self.model_path or 'model'}: metadata says {self.metadata.input_nc} input "
                f"channel(s) but the network takes {found}"
            )

    @staticmethod
    def _check_torch_backend(backend: str, what: str) -> None:
        if backend not in ("auto", "torch"):
            raise ConfigError(f"{what} runs with the torch backend, not {backend!r}")

    @property
    def backend_name(self) -> str:
        return self.backend.name

    @property
    def device(self) -> str:
        return self.backend.device

    def __repr__(self) -> str:
        src = self.model_path or type(self.backend).__name__
        return (
            f"Translator({src}, {self.metadata.title}, backend={self.backend_name}/{self.device})"
        )

    # ---------------------------------------------------------------------------- one-call API

    def __call__(
        self, image: ImageInput, *, size: int | tuple[int, int] | None = None,
        tile: int | None = None, overlap: int = 64,
    ) -> Image.Image:  # fmt: skip
        """Translate one image (PIL image, numpy HxW / HxWxC uint8 or uint16 array, path or
        bytes). The output has the input's size, or ``size`` (shorter side, or (width, height));
        an alpha channel in the input is carried over. ``tile``: process in tiles of this side
        (padded like an image side) overlapping by ``overlap`` pixels."""
        prepared = self.prepare(image, size=size)
        y = self.infer([prepared.array], tile=tile, overlap=overlap)[0]
        prepared.array = None  # the input can go before the output is converted (large images)
        return self.finish(prepared, y)

    def batch(
        self, images: Iterable[ImageInput], *, size: int | tuple[int, int] | None = None,
        tile: int | None = None, overlap: int = 64, batch_size: int = 8,
    ) -> list[Image.Image]:  # fmt: skip
        """Translate several images; images of equal (padded) size run through the network
        together, ``batch_size`` at a time."""
        prepared = [self.prepare(im, size=size) for im in images]
        outputs = self.infer(
            [p.array for p in prepared], tile=tile, overlap=overlap, batch_size=batch_size
        )
        return [self.finish(p, y) for p, y in zip(prepared, outputs, strict=True)]

    # ---------------------------------------------------------------------------- stages

    def prepare(self, image: ImageInput, *, size: int | tuple[int, int] | None = None) -> Prepared:
        """Decode and convert an image to the network's input (thread-safe, no network call)."""
        md = self.metadata
        colour, alpha = split_alpha(as_image(image))
        colour = to_mode(colour, md.input_nc)
        if size is not None:
            target = target_size(colour.size, size)
            if target != colour.size:
                colour = colour.resize(target, Image.Resampling.BICUBIC)
                alpha = alpha.resize(target, Image.Resampling.BICUBIC) if alpha else None
        u8 = np.asarray(colour)
        if u8.ndim == 2:
            u8 = u8[:, :, None]
        if md.channel_order.upper() == "BGR":
            u8 = u8[:, :, ::-1]
        h, w = u8.shape[:2]
        ph, pw = self.padded_side(h), self.padded_side(w)
        if (ph, pw) != (h, w):  # reflection repeats where the side is shorter than the pad
            u8 = np.pad(u8, ((0, ph - h), (0, pw - w), (0, 0)), mode="reflect")
        lo, hi = md.value_range
        x = np.empty((u8.shape[2], u8.shape[0], u8.shape[1]), np.float32)
        np.multiply(u8.transpose(2, 0, 1), (hi - lo) / 255.0, out=x, dtype=np.float32)
        x += lo
        return Prepared(x, (w, h), alpha)

    def infer(
        self, arrays: Sequence[np.ndarray], *, tile: int | None = None, overlap: int = 64,
        batch_size: int = 8,
    ) -> list[np.ndarray]:  # fmt: skip
        """Run the network on prepared CHW arrays; returns CHW arrays of the same height and
        width. Equal shapes are batched; with ``tile`` each array is processed in tiles."""
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        if tile is not None:
            tile, overlap = self.tile_geometry(tile, overlap)
            return [self._run_tiled(x, tile, overlap) for x in arrays]
        results: list[np.ndarray | None] = [None] * len(arrays)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, x in enumerate(arrays):
            groups.setdefault(x.shape, []).append(i)
        for idx in groups.values():
            for start in range(0, len(idx), batch_size):
                chunk = idx[start : start + batch_size]
                ys = self._run(np.stack([arrays[i] for i in chunk]))
                for i, y in zip(chunk, ys, strict=True):
                    results[i] = y
        return results

    def finish(self, prepared: Prepared, y: np.ndarray) -> Image.Image:
        """Network output (CHW, padded) -> PIL image of the prepared size, alpha re-attached."""
        w, h = prepared.size
        y = y[:, :h, :w]
        lo, hi = self.metadata.value_range
        if (lo, hi) != (-1.0, 1.0):
            y = (y - lo) * (2.0 / (hi - lo)) - 1.0
        if self.metadata.channel_order.upper() == "BGR":
            y = y[::-1]
        out = Image.new("L" if y.shape[0] == 1 else "RGB", (w, h))
        for top in range(0, h, FINISH_ROWS):  # bounded temporaries for very large images
            out.paste(from_array(y[:, top : top + FINISH_ROWS]), (0, top))
        if prepared.alpha is not None:
            out.putalpha(prepared.alpha)
        return out

    # ---------------------------------------------------------------------------- internals

    def _run(self, batch: np.ndarray) -> np.ndarray:
        y = self.backend.run(batch)
        if y.shape[0] != batch.shape[0] or y.shape[2:] != batch.shape[2:]:
            raise RuntimeError(
                f"the network returned shape {y.shape} for input {batch.shape}; an "
                "image-to-image model must keep the batch size, height and width"
            )
        return y

    def padded_side(self, side: int) -> int:
        """The side an image side is padded to: a multiple of the network's size multiple, and
        at least the smallest side it accepts (its reflect pads need more pixels than they add:
        8 for the ResNets)."""
        m = self.metadata.size_multiple
        return -(-max(side, self.metadata.min_size) // m) * m

    def tile_geometry(self, tile: int, overlap: int) -> tuple[int, int]:
        """Validated (tile, overlap) for this model: the tile padded like an image side."""
        m = self.metadata.size_multiple
        if not isinstance(tile, int) or tile < 1:
            raise ConfigError(f"tile must be a positive number of pixels, got {tile!r}")
        tile = self.padded_side(tile)
        if not isinstance(overlap, int) or not 0 <= overlap < tile:
            raise ConfigError(
                f"overlap must be between 0 and the tile size ({tile} for this model, whose "
                f"size multiple is {m}), got {overlap!r}"
            )
        return tile, overlap

    def _run_tiled(self, x: np.ndarray, tile: int, overlap: int) -> np.ndarray:
        """Tiles of ``tile`` x ``tile`` stepping by ``tile - overlap`` (the last one flush with
        the edge), each weighted by a window that rises smoothly from ~0 over the overlap on
        every side that has a neighbour, accumulated and normalised.

        A tile's window is the outer product of its row and column windows and the tiles form a
        full grid, so the sum of all windows is the outer product of the row and column sums:
        normalising needs two vectors, not another image-sized array."""
        _, height, width = x.shape
        th, tw = min(tile, height), min(tile, width)
        if (th, tw) == (height, width):
            return self._run(x[None])[0]
        rows = [(y0, blend_window(th, overlap, y0 > 0, y0 + th < height))
                for y0 in tile_starts(height, th, overlap)]  # fmt: skip
        cols = [(x0, blend_window(tw, overlap, x0 > 0, x0 + tw < width))
                for x0 in tile_starts(width, tw, overlap)]  # fmt: skip
        out: np.ndarray | None = None
        for y0, wy in rows:
            for x0, wx in cols:
                y = self._run(np.ascontiguousarray(x[None, :, y0 : y0 + th, x0 : x0 + tw]))[0]
                if out is None:
                    out = np.zeros((y.shape[0], height, width), np.float32)
                y *= wy[:, None]
                y *= wx[None, :]
                out[:, y0 : y0 + th, x0 : x0 + tw] += y
        out /= _window_sum(rows, th, height)[:, None]
        out /= _window_sum(cols, tw, width)[None, :]
        return out


def _window_sum(windows: list[tuple[int, np.ndarray]], n: int, length: int) -> np.ndarray:
    total = np.zeros(length, np.float32)
    for start, w in windows:
        total[start : start + n] += w
    return total


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of ``tile`` covering ``length`` with at least ``overlap``."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    return [*starts, length - tile]


def blend_window(n: int, overlap: int, rise: bool, fall: bool) -> np.ndarray:
    """1-D tile weight: 1 inside, a sin^2 ramp over ``overlap`` pixels on each side that meets a
    neighbour (strictly positive, so every pixel has weight). Two ramps facing each other over
    the same overlap sum to 1."""
    w = np.ones(n, np.float32)
    k = min(overlap, n // 2)
    if k:
        ramp = (np.sin(0.5 * np.pi * (np.arange(k) + 0.5) / k) ** 2).astype(np.float32)
        if rise:
            w[:k] = ramp
        if fall:
            w[n - k :] = ramp[::-1]
    return w


def target_size(size: tuple[int, int], want: int | tuple[int, int]) -> tuple[int, int]:
    """(width, height) for ``size=``: an int scales the shorter side to it (keeping the aspect
    ratio, as the training data was scaled); a (width, height) pair is taken as is."""
    w, h = size
    if isinstance(want, int | np.integer) and not isinstance(want, bool):
        if want < 1:
            raise ConfigError(f"size must be positive, got {want}")
        scale = want / min(w, h)
        return max(1, round(w * scale)), max(1, round(h * scale))
    if (
        isinstance(want, tuple | list)
        and len(want) == 2
        and all(isinstance(v, int) and v > 0 for v in want)
    ):
        return int(want[0]), int(want[1])
    raise ConfigError(f"size must be a positive int or a (width, height) pair, got {want!r}")


def as_image(image: ImageInput) -> Image.Image:
    """Any accepted input -> PIL image with EXIF orientation applied."""
    if isinstance(image, np.ndarray):
        return _from_numpy(image)
    if isinstance(image, Image.Image | str | Path | bytes):
        return load_image(image)
    raise TypeError(f"expected a PIL image, numpy array, path or bytes, got {type(image).__name__}")


def _from_numpy(arr: np.ndarray) -> Image.Image:
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.dtype == np.uint16 and arr.ndim == 3:  # 16-bit colour: Pillow has no such mode
        arr = ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)
    gray16 = arr.dtype == np.uint16 and arr.ndim == 2  # I;16, scaled to 8 bits by to_mode
    u8 = arr.dtype == np.uint8 and (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (2, 3, 4)))
    if not (gray16 or u8):
        raise ImageReadError(
            f"numpy image of shape {arr.shape} and dtype {arr.dtype}: expected uint8 HxW or "
            "HxWxC with C = 1, 2, 3 or 4 (RGB order), or the same in uint16"
        )
    return Image.fromarray(np.ascontiguousarray(arr))


def resolve_model(model: str | Path) -> Path:
    """A model argument -> a path: an existing file or folder, or the name of an ONNX model in
    the models folder."""
    path = Path(model)
    if path.exists():
        return path
    name = str(model)
    if path.suffix.lower() in (".onnx", *CHECKPOINT_SUFFIXES) or "/" in name or "\\" in name:
        raise ModelLoadError(f"{model}: no such model file or folder")
    folder = default_models_dir()
    models = list_models(folder)
    for entry in models:
        if entry.name == name:
            return entry.path
    names = ", ".join(e.name for e in models) or "none"
    raise ModelLoadError(f"no model named {name!r} in {folder} (available: {names})")


def _is_torch_module(obj) -> bool:
    torch = sys.modules.get("torch")  # not imported: obj cannot be a module
    return torch is not None and isinstance(obj, torch.nn.Module)


def _onnx_metadata(path: Path) -> ModelMetadata:
    try:
        props = read_metadata(path)
    except Exception as e:  # onnx raises DecodeError and friends for non-ONNX bytes
        raise ModelLoadError(f"{path}: not a readable ONNX model ({e})") from e
    try:
        metadata = ModelMetadata.from_props(props)
    except (ValueError, TypeError) as e:
        raise ModelLoadError(f"{path}: invalid model metadata ({e})") from e
    if not metadata.min_size:  # exported before it was recorded
        metadata.min_size = read_min_size(path, metadata.size_multiple)
    return metadata


def _open_torch(model, direction: str | None, threads: int | None, device: str):
    """PyTorch sources are opened by the export layer, which knows the training formats: the
    runtime itself never imports torch, so a plain install runs ONNX files without it."""
    sources = import_extra("translate.export.sources", "train", f"running {model} with PyTorch")
    return sources.open_source(model, direction, threads=threads, device=device)

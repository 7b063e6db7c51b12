"""Reading, normalising and writing images: the one place that turns files into tensors and back.

Datasets, the inference engine, folder conversion and the app all read images through
:func:`load_image`, so every entry point accepts the same formats (JPEG, PNG incl. 16-bit, palette,
RGBA, WebP, BMP, TIFF, CMYK), applies EXIF orientation, and fails with the same clear
:class:`ImageReadError` naming the file and the problem.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ConfigError, TranslateError
from .atomic import atomic_write

if TYPE_CHECKING:  # torch is imported only where tensors are made: ONNX inference runs
    import torch  # without it (its import alone costs ~0.5 GiB of resident memory)

IMAGE_EXTENSIONS = (
    ".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".ppm", ".pgm",
)  # fmt: skip
SAVE_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}


class ImageReadError(TranslateError, ValueError):
    """An input that is not a usable image; the message names the file and the reason."""


def is_image_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def load_image(source: str | Path | bytes | Image.Image, name: str | None = None) -> Image.Image:
    """Open and fully decode an image, with EXIF orientation applied.

    Truncated files, non-images, empty files and decompression bombs (beyond Pillow's pixel
    limit) raise :class:`ImageReadError` with the file name, never a partial image."""
    if isinstance(source, Image.Image):
        return ImageOps.exif_transpose(source)
    label = name or (str(source) if not isinstance(source, bytes) else "<bytes>")
    try:
        if isinstance(source, bytes):
            if not source:
                raise ImageReadError(f"{label}: empty file (0 bytes)")
            fp = io.BytesIO(source)
        else:
            path = Path(source)
            if not path.exists():
                raise ImageReadError(f"{label}: no such file")
            if path.is_dir():
                raise ImageReadError(f"{label}: is a folder, not an image")
            if path.stat().st_size == 0:
                raise ImageReadError(f"{label}: empty file (0 bytes)")
            fp = path
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(fp) as img:
                img.load()
                img = ImageOps.exif_transpose(img)
                return img.copy() if img is not None else img
    except ImageReadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageReadError(f"{label}: too large to decode safely ({e})") from e
    except UnidentifiedImageError as e:
        raise ImageReadError(f"{label}: not an image file Pillow can read") from e
    except (OSError, SyntaxError, ValueError) as e:
        # Pillow reports truncated or corrupt data as OSError ("image file is truncated").
        raise ImageReadError(f"{label}: corrupt or truncated image ({e})") from e


def split_alpha(img: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Separate the alpha channel (if any) from an image, keeping colour as 8-bit."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        return rgba.convert("RGB"), rgba.getchannel("A")
    return img, None


def to_mode(img: Image.Image, channels: int, background=(255, 255, 255)) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB (3 channels) or L (1 channel).

    Transparent pixels are composited on white (the background of a sketch or a scan); 16-bit
    and 32-bit images are scaled to 8 bits by their value range; CMYK and palette images are
    converted by Pillow."""
    if channels not in (1, 3):
        raise ValueError(f"images have 1 or 3 channels here, not {channels}")
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scaled = (arr - lo) / (hi - lo if hi > lo else 1.0) * 255.0
        img = Image.fromarray(np.clip(scaled + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        img = Image.alpha_composite(canvas, rgba)
    target = "RGB" if channels == 3 else "L"
    return img if img.mode == target else img.convert(target)


def to_array(img: Image.Image, channels: int = 3) -> np.ndarray:
    """PIL image -> float32 HWC array in [-1, 1] (for numpy/onnxruntime pipelines)."""
    arr = np.asarray(to_mode(img, channels), dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return arr / 127.5 - 1.0


def from_array(arr: np.ndarray | torch.Tensor, chw: bool = True) -> Image.Image:
    """Array in [-1, 1] with 1 or 3 channels (CHW by default, HWC with ``chw=False``) -> 8-bit
    PIL image."""
    if hasattr(arr, "detach"):  # a torch tensor
        arr = arr.detach().float().cpu().numpy()
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim == 3 and chw:
        arr = arr.transpose(1, 2, 0)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] != 3):
        raise ValueError(f"expected an image array with 1 or 3 channels, got shape {arr.shape}")
    u8 = np.clip((arr + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(u8, "L" if u8.ndim == 2 else "RGB")


def save_image(img: Image.Image, path: str | Path, fmt: str | None = None, **options) -> Path:
    """Write an image atomically (temporary file, fsync, rename): a crash never leaves a
    partial file under the final name. ``fmt`` defaults to the file extension."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in SAVE_FORMATS:
        raise ConfigError(f"{path}: unsupported output format {fmt!r}; use png, jpg or webp")
    pil_format = SAVE_FORMATS[fmt]
    if pil_format == "JPEG" and img.mode not in ("RGB", "L"):
        img = to_mode(img, 3)
        options.setdefault("quality", 95)
    with atomic_write(path) as fh:
        img.save(fh, format=pil_format, **options)
    return path

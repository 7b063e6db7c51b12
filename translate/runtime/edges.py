"""Edge sketches from photos, and hand drawings brought into the same style.

The pix2pix edges2shoes/edges2handbags sketches were made by running HED (a learned edge
detector) on the photos, thresholding, thinning to 1-px strokes and removing small connected
components. There are no HED weights here, so :func:`extract_edges` keeps that post-processing
and replaces HED with a classical detector:

``canny`` (default)
    Canny on colour: Gaussian smoothing of the CIE Lab image, per-pixel Sobel gradient of the
    strongest channel, non-maximum suppression and hysteresis (OpenCV). Thresholds are
    fractions of the image's 99th-percentile gradient, so a low-contrast photo still gives a
    drawing, with a floor so a flat image stays blank.
``xdog``
    The difference-of-Gaussians line detector of XDoG (Winnemöller et al. 2012) in its
    hard-threshold limit without the tone term: a pixel is a line where
    ``G_sigma(L) - G_{k sigma}(L) < -xdog_threshold`` (L = lightness, 0-255). It marks the dark
    side of each edge: sketchier, with broken outlines where a light object meets a light
    background.

Both then run the same HED-like post-processing: a closing joins edges broken by a pixel,
enclosed regions narrower than ``2 * stripe`` are filled (so a thin strap or seam becomes one
centre line, as HED draws it, instead of a loop around it), Guo-Hall thinning leaves 1-px
strokes, and connected strokes shorter than ``min_component`` pixels are removed. Output: black
strokes on white, an 8-bit ``L`` image of the input's size. Everything is deterministic: the
same input gives the same bytes.

:func:`normalize_sketch` turns a hand drawing (an RGBA canvas from the app or a photo of a
drawing on paper, any stroke width or colour) into the same 1-px black-on-white style, so the
sketch->photo model sees at inference what it saw in training.

:func:`edges_to_files` is the ``translate edges`` command: files or folders in, sketches or
aligned ``sketch | photo`` training pairs out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..errors import ConfigError
from .images import (
    SAVE_FORMATS,
    ImageReadError,
    is_image_file,
    load_image,
    save_image,
    split_alpha,
    to_mode,
)

METHODS = ("canny", "xdog")
HALVES = ("left", "right")
INK, PAPER = 0, 255


@dataclass(frozen=True)
class EdgeConfig:
    """Edge-sketch parameters. Lengths are in pixels of an image whose long side is
    ``reference_size`` (256, the pix2pix training size) and scale with the image, so a 1024-px
    photo gives the same drawing as its 256-px version, only finer."""

    method: str = "canny"  # "canny" | "xdog"
    sigma: float = 2.0  # Gaussian smoothing before the detector; larger = fewer, smoother edges
    low: float = 0.1  # canny: hysteresis low threshold, fraction of the 99th-pct gradient
    high: float = 0.3  # canny: high threshold (edges start here and extend down to `low`)
    min_contrast: float = 40.0  # canny: floor on that percentile, in lightness levels (0-255)
    xdog_k: float = 1.6  # xdog: ratio of the two Gaussians
    xdog_threshold: float = 2.5  # xdog: DoG response (lightness levels) that makes a line
    merge: float = 1.0  # closing radius that joins edges broken by a pixel; 0 = off
    stripe: float = 3.5  # fill enclosed regions up to 2*stripe wide -> one centre line; 0 = off
    min_component: float = 12.0  # remove connected strokes with fewer pixels than this
    reference_size: int = 256  # long side the lengths above refer to; 0 = use them as given

    def __post_init__(self):
        if self.method not in METHODS:
            raise ConfigError(
                f"edge method must be one of {', '.join(METHODS)}, not {self.method!r}"
            )
        if self.sigma <= 0 or self.xdog_k <= 1:
            raise ConfigError("sigma must be > 0 and xdog_k > 1")
        if not 0 < self.low <= self.high:
            raise ConfigError(f"need 0 < low <= high, got low={self.low}, high={self.high}")
        for name in ("merge", "stripe", "min_component", "min_contrast", "reference_size"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0")


@dataclass(frozen=True)
class SketchConfig:
    """How a hand drawing is binarised before thinning (lengths as in :class:`EdgeConfig`)."""

    min_ink: float = (
        0.15  # darkness (0-1) below which nothing is a stroke: a blank page stays blank
    )
    paper: float = 32.0  # window for evening out paper shading in photos; 0 = off
    stripe: float = 1.5  # fill pin-holes inside thick strokes so they thin to one line
    min_component: float = 12.0  # remove specks (after thinning) with fewer pixels than this
    reference_size: int = 256

    def __post_init__(self):
        if not 0 <= self.min_ink < 1:
            raise ConfigError(f"min_ink must be in [0, 1), got {self.min_ink}")
        for name in ("paper", "stripe", "min_component", "reference_size"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0")


# --------------------------------------------------------------------------------------------
# photo -> edge sketch


def extract_edges(image, cfg: EdgeConfig | None = None) -> Image.Image:
    """Edge sketch of a photo (PIL image, path or uint8 array): black 1-px strokes on white,
    same size, mode ``L``. Transparent pixels count as white background."""
    cfg = cfg or EdgeConfig()
    rgb = np.asarray(to_mode(_open(image), 3))
    return mask_to_image(edge_mask(rgb, cfg))


def edge_mask(rgb: np.ndarray, cfg: EdgeConfig) -> np.ndarray:
    """Boolean stroke mask (True = ink) of an HxWx3 uint8 RGB array."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 array, got {rgb.shape} {rgb.dtype}")
    scale = _scale(rgb.shape[:2], cfg.reference_size)
    sigma = cfg.sigma * scale
    if cfg.method == "canny":
        mask = _canny(rgb, sigma, cfg)
    else:
        mask = _dog(rgb, sigma, cfg)
    radius = int(round(cfg.merge * scale))
    if radius > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, kernel) > 0
    return _finish(mask, cfg.stripe * scale, cfg.min_component * scale)


def _canny(rgb: np.ndarray, sigma: float, cfg: EdgeConfig) -> np.ndarray:
    lab = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32), (0, 0), sigma)
    # Sobel of a Gaussian-smoothed step of height d peaks at 8 d / (sigma sqrt(2 pi)); this factor
    # makes gradients read as step contrast in lightness levels, whatever sigma is.
    unit = sigma * np.sqrt(2 * np.pi) / 8.0
    gx = cv2.Sobel(lab, cv2.CV_32F, 1, 0, ksize=3) * unit
    gy = cv2.Sobel(lab, cv2.CV_32F, 0, 1, ksize=3) * unit
    power = gx * gx + gy * gy
    strongest = power.argmax(axis=2)[..., None]
    gx = np.take_along_axis(gx, strongest, 2)[..., 0]
    gy = np.take_along_axis(gy, strongest, 2)[..., 0]
    top = np.sqrt(np.take_along_axis(power, strongest, 2)[..., 0])
    reference = max(float(np.percentile(top, 99)), cfg.min_contrast)
    fixed = 64.0  # OpenCV's Canny takes int16 gradients: 1/64 level resolution, no overflow
    dx = np.clip(np.rint(gx * fixed), -32767, 32767).astype(np.int16)
    dy = np.clip(np.rint(gy * fixed), -32767, 32767).astype(np.int16)
    lo, hi = cfg.low * reference * fixed, cfg.high * reference * fixed
    return cv2.Canny(dx, dy, lo, hi, L2gradient=True) > 0


def _dog(rgb: np.ndarray, sigma: float, cfg: EdgeConfig) -> np.ndarray:
    light = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)
    dog = cv2.GaussianBlur(light, (0, 0), sigma) - cv2.GaussianBlur(
        light, (0, 0), sigma * cfg.xdog_k
    )
    return dog < -cfg.xdog_threshold


def _finish(mask: np.ndarray, stripe: float, min_component: float) -> np.ndarray:
    """The shared HED-style post-processing: fill thin enclosed regions, thin, drop specks."""
    if stripe > 0:
        mask = fill_thin_holes(mask, stripe)
    return remove_small_components(thin(mask), int(round(min_component)))


def _open(image) -> Image.Image:
    """A PIL image, a path, or an HxW / HxWxC uint8 array (what Gradio hands over)."""
    if isinstance(image, np.ndarray):
        return Image.fromarray(np.ascontiguousarray(image))
    return load_image(image)


def _scale(shape: tuple[int, int], reference_size: int) -> float:
    return max(shape) / reference_size if reference_size else 1.0


# --------------------------------------------------------------------------------------------
# morphology


def thin(mask: np.ndarray) -> np.ndarray:
    """Thin a boolean mask to 1-px 8-connected strokes with the same topology (connected
    pieces and holes), roughly along the middle of each stroke.

    Guo & Hall (1989) parallel thinning, algorithm A1 (the one scikit-image's ``thin`` uses):
    unlike Zhang-Suen it keeps 2-px-thick diagonal strokes instead of eroding them away, and
    it leaves no staircase corners, so a diagonal line is one pixel wide in both directions."""
    img = np.pad(mask.astype(np.uint8), 1)
    centre = img[1:-1, 1:-1]
    # x1..x8 counter-clockwise from east; bit i of a pixel's code is x(i+1).
    planes = (
        img[1:-1, 2:],
        img[:-2, 2:],
        img[:-2, 1:-1],
        img[:-2, :-2],
        img[1:-1, :-2],
        img[2:, :-2],
        img[2:, 1:-1],
        img[2:, 2:],
    )
    changed = True
    while changed:
        changed = False
        for deletable in _GUO_HALL:
            code = planes[0].copy()
            for i in range(1, 8):
                code |= planes[i] << i
            delete = (centre == 1) & deletable[code]
            if delete.any():
                centre[delete] = 0
                changed = True
    return centre.astype(bool)


def _guo_hall_tables() -> tuple[np.ndarray, np.ndarray]:
    """For each of the 256 neighbourhoods, whether the centre pixel may be deleted in the first
    and in the second sub-iteration (conditions G1-G3 and G3' of Guo & Hall)."""
    codes = np.arange(256)

    def x(k: int) -> np.ndarray:  # neighbour k (1-based, cyclic) of every code
        return (codes >> ((k - 1) % 8)) & 1

    crossings = sum(
        (x(2 * i - 1) == 0) & ((x(2 * i) == 1) | (x(2 * i + 1) == 1)) for i in (1, 2, 3, 4)
    )
    n1 = sum(x(2 * k - 1) | x(2 * k) for k in (1, 2, 3, 4))
    n2 = sum(x(2 * k) | x(2 * k + 1) for k in (1, 2, 3, 4))
    smaller = np.minimum(n1, n2)
    g12 = (crossings == 1) & (smaller >= 2) & (smaller <= 3)
    first = ((x(2) | x(3) | (1 - x(8))) & x(1)) == 0
    second = ((x(6) | x(7) | (1 - x(4))) & x(5)) == 0
    return g12 & first, g12 & second


_GUO_HALL = _guo_hall_tables()


def remove_small_components(mask: np.ndarray, min_size: int) -> np.ndarray:
    """Drop 8-connected components with fewer than ``min_size`` pixels."""
    if min_size <= 1 or not mask.any():
        return mask.astype(bool)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_size
    keep[0] = False
    return keep[labels]


def fill_thin_holes(mask: np.ndarray, radius: float) -> np.ndarray:
    """Fill background regions enclosed by strokes whose largest inscribed circle has a radius
    of at most ``radius``: the inside of a thin stripe's outline, not a window or an eyelet."""
    background = (~mask.astype(bool)).astype(np.uint8)
    n, labels = cv2.connectedComponents(background, connectivity=4)
    depth = cv2.distanceTransform(background, cv2.DIST_L2, 5)
    deepest = np.zeros(n, np.float32)
    np.maximum.at(deepest, labels.ravel(), depth.ravel())
    fill = deepest <= radius
    fill[0] = False  # label 0 is the strokes themselves
    return mask.astype(bool) | fill[labels]


def mask_to_image(mask: np.ndarray) -> Image.Image:
    """True = ink -> black strokes on white, mode ``L``."""
    return Image.fromarray(np.where(mask, INK, PAPER).astype(np.uint8), "L")


# --------------------------------------------------------------------------------------------
# hand drawing -> the same style


def normalize_sketch(
    image, cfg: SketchConfig | None = None, size: tuple[int, int] | None = None
) -> Image.Image:
    """A hand drawing in the training sketches' style: black 1-px strokes on white, mode ``L``.

    ``image``: a PIL image, path or uint8 array. With transparency (a drawing canvas layer)
    every painted pixel is ink whatever its colour; without, dark or saturated pixels on
    lighter paper are ink, after evening out the paper's shading (a phone photo of a drawing).
    Thick strokes thin to their centre line. ``size`` (width, height) resizes before thinning,
    so strokes stay 1 px at the size the model runs at; default: the input's size."""
    cfg = cfg or SketchConfig()
    img = _open(image)
    mask = _ink_mask(img, cfg)
    if size is not None:
        width, height = int(size[0]), int(size[1])
        if width < 1 or height < 1:
            raise ConfigError(f"size must be positive, got {size}")
        if (width, height) != img.size:
            # Any ink in the area an output pixel covers makes it ink: a 1-px line survives a
            # 4x reduction, and thinning undoes the thickening of an enlargement.
            cover = cv2.resize(
                mask.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA
            )
            mask = cover > 0.1
    scale = _scale(mask.shape, cfg.reference_size)
    return mask_to_image(_finish(mask, cfg.stripe * scale, cfg.min_component * scale))


def _ink_mask(img: Image.Image, cfg: SketchConfig) -> np.ndarray:
    _, alpha = split_alpha(img)
    if alpha is not None and (alpha := np.asarray(alpha)).min() < 255:
        return alpha > cfg.min_ink * 255
    rgb = np.asarray(to_mode(img, 3))
    # The darkest channel: black, blue or red pen all read as ink on white paper.
    value = rgb.min(axis=2)
    window = int(round(cfg.paper * _scale(value.shape, cfg.reference_size)))
    if window > 1:
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (window | 1, window | 1))
        paper = cv2.morphologyEx(value, cv2.MORPH_CLOSE, kernel)
    else:
        paper = np.full_like(value, 255)
    ink = np.clip(
        (paper.astype(np.float32) - value) / np.maximum(paper.astype(np.float32), 1), 0, 1
    )
    ink8 = np.rint(ink * 255).astype(np.uint8)
    otsu, _ = cv2.threshold(ink8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return ink8 > max(otsu, cfg.min_ink * 255)


# --------------------------------------------------------------------------------------------
# files and folders: `translate edges`


@dataclass
class EdgesReport:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    ignored: int = 0  # files in an input folder that are not images


def take_half(img: Image.Image, half: str) -> Image.Image:
    """The left (A) or right (B) half of an aligned A|B image, split as the reference pix2pix
    does (left = first ``W // 2`` columns)."""
    if half not in HALVES:
        raise ValueError(f"half must be 'left' or 'right', not {half!r}")
    w, h = img.size
    if w < 2:
        raise ValueError(f"image is {w} px wide: too narrow to split into halves")
    mid = w // 2
    return img.crop((0, 0, mid, h) if half == "left" else (mid, 0, w, h))


def aligned_pair(sketch: Image.Image, photo: Image.Image) -> Image.Image:
    """``sketch | photo`` side by side (A = sketch, B = photo): the aligned format the pix2pix
    trainer reads."""
    if sketch.size != photo.size:
        raise ValueError(f"sketch {sketch.size} and photo {photo.size} differ in size")
    w, h = photo.size
    pair = Image.new("RGB", (2 * w, h), (PAPER,) * 3)
    pair.paste(to_mode(sketch, 3), (0, 0))
    pair.paste(to_mode(photo, 3), (w, 0))
    return pair


def edges_to_files(
    source: str | Path,
    target: str | Path,
    cfg: EdgeConfig | None = None,
    *,
    half: str | None = None,
    aligned: bool = False,
    fmt: str = "png",
) -> EdgesReport:
    """Write the edge sketch of every image in ``source`` (a file or a folder, not recursive).

    ``target``: a file name (with an image extension, for a single input) or a folder, where
    each input ``NAME.ext`` becomes ``NAME.<fmt>``. ``half`` takes that half of an aligned A|B
    input as the photo; ``aligned`` writes ``sketch | photo`` pairs instead of the sketch
    alone. An unreadable image is recorded in the report and the rest continue. Raises
    ValueError when an output would replace an input or the arguments do not fit."""
    cfg = cfg or EdgeConfig()
    if half is not None and half not in HALVES:
        raise ConfigError(f"half must be 'left' or 'right', not {half!r}")
    fmt = fmt.lower().lstrip(".")
    if fmt not in SAVE_FORMATS:
        raise ConfigError(f"output format must be one of {', '.join(SAVE_FORMATS)}, not {fmt!r}")
    source, target = Path(source), Path(target)
    report = EdgesReport()
    jobs = _plan(source, target, fmt, report)
    for src, dst in jobs:
        try:
            photo = to_mode(load_image(src), 3)
            if half:
                photo = take_half(photo, half)
            sketch = mask_to_image(edge_mask(np.asarray(photo), cfg))
            save_image(aligned_pair(sketch, photo) if aligned else sketch, dst)
            report.written.append(dst)
        except ImageReadError as e:
            report.failed.append((src, str(e).removeprefix(f"{src}: ")))
        except (ValueError, OSError, cv2.error) as e:
            report.failed.append((src, str(e)))
    return report


def _plan(source: Path, target: Path, fmt: str, report: EdgesReport) -> list[tuple[Path, Path]]:
    if not source.exists():
        raise ConfigError(f"{source}: no such file or folder")
    if source.is_file():
        dst = target if is_image_file(target) else target / f"{source.stem}.{fmt}"
        if dst.resolve() == source.resolve():
            raise ConfigError(f"{dst}: output would overwrite the input")
        return [(source, dst)]
    if (target.exists() and not target.is_dir()) or is_image_file(target):
        raise ConfigError(f"{target}: the input is a folder, so the output must be a folder")
    if target.resolve() == source.resolve():
        raise ConfigError(f"{target}: output folder is the input folder; choose another")
    files = sorted(p for p in source.iterdir() if p.is_file())
    images = [p for p in files if is_image_file(p)]
    report.ignored = len(files) - len(images)
    stems: dict[str, int] = {}
    for p in images:
        stems[p.stem] = stems.get(p.stem, 0) + 1
    # "a.jpg" and "a.png" would both become "a.png": keep the full name for those.
    return [(p, target / f"{p.stem if stems[p.stem] == 1 else p.name}.{fmt}") for p in images]

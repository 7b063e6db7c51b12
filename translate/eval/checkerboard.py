"""Checkerboard (aliasing) score: spectral peaks at the 2- and 4-pixel periods.

Stride-2 transposed convolutions and nearest upsampling leave a faint grid in generated images:
a pattern that repeats every 2 pixels (after one stride-2 layer) or 4 pixels (after two), in x, y
or both. In the power spectrum it is a set of sharp peaks at frequencies 1/2 and 1/4 cycles per
pixel and their combinations, which real photos do not have. The score compares the power at
those 9 positions (per image: luminance, mean removed, Hann-windowed, periodogram; averaged over
the set) with the neighbouring spectrum: the score is log10 of the mean peak-to-neighbours power
ratio over the positions, about 0 for real photos, 1 for peaks ten times the background on
average, and large for one strong peak alone (a 2-pixel grid shows at one position only). JPEG's
8x8 blocks put small peaks at the same frequencies, so a model is judged by its excess over real
images of its target domain (:func:`checkerboard_excess`).

Images are analysed at their own pixels, never resampled (resampling would smear or alias the
very pattern measured): each is centre-cropped to the largest square that every image of the set
holds, a multiple of 4 pixels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

# Peak positions in cycles per pixel (fy, fx); a real image's spectrum is symmetric, so half of
# the plane holds every distinct one.
PEAKS = (
    (0.0, 0.25), (0.0, 0.5), (0.25, 0.0), (0.5, 0.0),
    (0.25, 0.25), (0.25, -0.25), (0.25, 0.5), (0.5, 0.25), (0.5, 0.5),
)  # fmt: skip
BLOCK = 1  # a peak is the 3x3 bins around its position (the Hann window spreads it by one bin)
NEIGHBOURS = (4, 5, 6)  # offsets (bins) of the neighbouring blocks it is compared with
MIN_SIDE = 32
MAX_SIDE = 512


@dataclass
class CheckerboardScore:
    score: float  # log10 of the mean over PEAKS of peak power / neighbouring power
    peaks: dict[str, float] = field(default_factory=dict)  # "fy,fx" -> power ratio
    images: int = 0
    side: int = 0  # the square crop analysed, pixels

    def to_dict(self) -> dict:
        return {"score": self.score, "peaks": self.peaks, "images": self.images, "side": self.side}


def peak_label(fy: float, fx: float) -> str:
    """'fy,fx' in cycles per pixel with the period spelled out, e.g. '1/2,1/4'."""
    names = {0.0: "0", 0.25: "1/4", -0.25: "-1/4", 0.5: "1/2"}
    return f"{names[fy]},{names[fx]}"


def luminance(image: np.ndarray) -> np.ndarray:
    """HxW, HxWx3 / HxWx1 (uint8 or float) or CHW float -> HxW float64 luminance."""
    x = np.asarray(image, dtype=np.float64)
    if x.ndim == 3 and x.shape[0] in (1, 3) and x.shape[2] not in (1, 3):
        x = np.moveaxis(x, 0, -1)  # CHW -> HWC
    if x.ndim == 3:
        x = x[..., 0] if x.shape[2] == 1 else x[..., :3] @ np.array([0.299, 0.587, 0.114])
    if x.ndim != 2:
        raise ValueError(f"expected an HxW, HxWxC or CxHxW image, got shape {np.shape(image)}")
    return x


def mean_spectrum(images: Iterable[np.ndarray], side: int) -> tuple[np.ndarray, int]:
    """Mean Hann-windowed periodogram of the luminance of ``side`` x ``side`` centre crops (each
    image normalised by its own standard deviation, so no single image dominates), and the
    number of images."""
    w1 = np.hanning(side + 2)[1:-1]  # no zero end points: every pixel counts
    window = np.outer(w1, w1)
    total, n = np.zeros((side, side)), 0
    for image in images:
        y = luminance(image)
        h, w = y.shape
        if min(h, w) < side:
            raise ValueError(f"an image of {w}x{h} is smaller than the {side}-px crop analysed")
        top, left = (h - side) // 2, (w - side) // 2
        y = y[top : top + side, left : left + side]
        y = (y - y.mean()) * window
        y /= y.std() + 1e-12
        total += np.abs(np.fft.fft2(y)) ** 2
        n += 1
    if n == 0:
        raise ValueError("no images to measure the checkerboard score on")
    return total / n, n


def _block(power: np.ndarray, ky: int, kx: int) -> float:
    s = power.shape[0]
    rows = [(ky + d) % s for d in range(-BLOCK, BLOCK + 1)]
    cols = [(kx + d) % s for d in range(-BLOCK, BLOCK + 1)]
    return float(power[np.ix_(rows, cols)].mean())


def peak_ratios(power: np.ndarray) -> dict[str, float]:
    """Power at each of :data:`PEAKS` over the power of the same-sized blocks :data:`NEIGHBOURS`
    bins away, along each axis on which the peak's frequency is not zero (so a peak on an axis,
    where natural images keep the energy of their horizontal and vertical edges, is compared
    with that axis)."""
    s = power.shape[0]
    ratios = {}
    for fy, fx in PEAKS:
        ky, kx = round(fy * s) % s, round(fx * s) % s
        around = []
        for d in NEIGHBOURS:
            for sign in (-1, 1):
                if fy:
                    around.append(_block(power, ky + sign * d, kx))
                if fx:
                    around.append(_block(power, ky, kx + sign * d))
        ratios[peak_label(fy, fx)] = _block(power, ky, kx) / max(float(np.mean(around)), 1e-30)
    return ratios


def crop_side(shapes: Iterable[tuple[int, int]], max_side: int = MAX_SIDE) -> int:
    """The square crop every image of the set holds: the smallest side, rounded down to a
    multiple of 4 (so the 2- and 4-pixel periods fall on exact frequency bins), at most
    ``max_side``."""
    smallest = min((min(h, w) for h, w in shapes), default=0)
    side = min(smallest, max_side) // 4 * 4
    if side < MIN_SIDE:
        raise ValueError(
            f"checkerboard score needs images of at least {MIN_SIDE}x{MIN_SIDE} pixels, "
            f"the smallest here is {smallest} pixels"
        )
    return side


def checkerboard_score(
    images: list[np.ndarray], side: int | None = None, max_side: int = MAX_SIDE
) -> CheckerboardScore:
    """The checkerboard score of a set of images (see the module docstring). ``side``: the crop
    analysed (default: :func:`crop_side` of the set); compare sets at the same side."""
    images = list(images)
    if side is None:
        side = crop_side([luminance(im).shape for im in images], max_side)
    power, n = mean_spectrum(images, side)
    ratios = peak_ratios(power)
    score = float(np.log10(np.mean(list(ratios.values()))))
    return CheckerboardScore(score, ratios, n, side)


def checkerboard_excess(outputs: list[np.ndarray], real: list[np.ndarray]) -> tuple[float, dict]:
    """Score of ``outputs`` minus the score of ``real`` images (same crop side for both), and
    both scores in detail: 0 when the outputs have no more grid than real images do."""
    side = crop_side([luminance(im).shape for im in [*outputs, *real]])
    out, ref = checkerboard_score(outputs, side), checkerboard_score(real, side)
    return out.score - ref.score, {"outputs": out.to_dict(), "real": ref.to_dict()}

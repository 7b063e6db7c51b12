"""Image-translation metrics: paired scores (L1, PSNR, SSIM) for outputs with a known target.

All functions take numpy arrays or torch tensors with values in [-1, 1] (the networks' range;
``data_range`` 2.0), shaped HW, CHW or NCHW, and return a plain float averaged over the batch.
They compute in float64 on the CPU, so a score never depends on the device or dtype the images
came from.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

SSIM_WINDOW = 11  # Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _as_batch(x, name: str) -> torch.Tensor:
    """HW / CHW / NCHW array or tensor -> float64 NCHW tensor on the CPU."""
    if isinstance(x, np.ndarray):
        if x.dtype == np.uint8:
            raise ValueError(
                f"{name}: got uint8 pixels; metrics expect floats in [-1, 1] "
                "(convert with translate.images.to_array / to_tensor)"
            )
        x = torch.from_numpy(np.ascontiguousarray(x))
    elif not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a numpy array or torch tensor, got {type(x).__name__}")
    if x.dtype == torch.uint8:
        raise ValueError(f"{name}: got uint8 pixels; metrics expect floats in [-1, 1]")
    x = x.detach().to("cpu", torch.float64)
    if x.dim() == 2:
        x = x[None, None]
    elif x.dim() == 3:
        x = x[None]
    elif x.dim() != 4:
        raise ValueError(f"{name}: expected an HW, CHW or NCHW image, got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name}: empty image (shape {tuple(x.shape)})")
    return x


def _pair(a, b) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = _as_batch(a, "first image"), _as_batch(b, "second image")
    if a.shape != b.shape:
        raise ValueError(
            f"images differ in shape: {tuple(a.shape)} vs {tuple(b.shape)} (NCHW); "
            "paired metrics compare images of the same size and channel count"
        )
    return a, b


def l1(a, b) -> float:
    """Mean absolute difference (in [-1, 1] units: 2.0 is black vs white)."""
    a, b = _pair(a, b)
    return float((a - b).abs().mean())


def psnr(a, b, data_range: float = 2.0) -> float:
    """Peak signal-to-noise ratio in dB, computed per image and averaged over the batch.
    Identical images give ``inf``."""
    a, b = _pair(a, b)
    mse = (a - b).pow(2).flatten(1).mean(1)
    per_image = [math.inf if m == 0 else 10 * math.log10(data_range**2 / m) for m in mse.tolist()]
    return float(np.mean(per_image))


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> torch.Tensor:
    """Normalised 1-D Gaussian of ``size`` taps (float64)."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    w = torch.exp(-(x**2) / (2 * sigma**2))
    return w / w.sum()


def _blur(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter per channel, 'valid' borders (no padding), as in the reference
    SSIM: only windows that lie fully inside the image count."""
    c = x.shape[1]
    x = F.conv2d(x, w.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, w.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def ssim_map(a, b, data_range: float = 2.0, low: float = -1.0) -> torch.Tensor:
    """Local SSIM (N, C, H-10, W-10) with the standard 11x11 Gaussian window (sigma 1.5).

    ``low`` is the value of black. SSIM's luminance term assumes intensities that start at 0
    (as 8-bit pixels do); it is not shift-invariant, so images are measured from ``low``. With
    the defaults the score equals SSIM of the same images as 8-bit or [0, 1] values."""
    a, b = _pair(a, b)
    a, b = a - low, b - low
    if min(a.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(
            f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got "
            f"{a.shape[-1]}x{a.shape[-2]}"
        )
    w = gaussian_window()
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    mu_a, mu_b = _blur(a, w), _blur(b, w)
    var_a = _blur(a * a, w) - mu_a**2
    var_b = _blur(b * b, w) - mu_b**2
    cov = _blur(a * b, w) - mu_a * mu_b
    luminance = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)
    contrast_structure = (2 * cov + c2) / (var_a + var_b + c2)
    return luminance * contrast_structure


def ssim(a, b, data_range: float = 2.0, low: float = -1.0) -> float:
    """Structural similarity (Wang et al. 2004): mean of the local SSIM map over positions and
    channels, averaged over the batch. 1.0 for identical images."""
    return float(ssim_map(a, b, data_range, low).mean())

"""Paired metrics on cases with known answers, and SSIM against an independent reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from translate.metrics import gaussian_window, l1, psnr, ssim

C1, C2 = (0.01 * 2.0) ** 2, (0.03 * 2.0) ** 2


def _image(seed=0, shape=(3, 64, 64)):
    """A textured image in [-1, 1]: smooth gradients plus detail, like a photo."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : shape[-2], 0 : shape[-1]] / shape[-1]
    base = np.sin(6 * xx) * np.cos(4 * yy)
    return np.clip(0.6 * base + 0.3 * rng.uniform(-1, 1, shape), -1, 1)


def test_identical_images_are_perfect():
    x = _image()
    assert l1(x, x) == 0.0
    assert psnr(x, x) == math.inf
    assert ssim(x, x) == pytest.approx(1.0, abs=1e-12)


def test_constant_shift_has_closed_form_scores():
    c = 0.25
    x = np.full((3, 32, 32), 0.1)
    y = x + c
    assert l1(x, y) == pytest.approx(c)
    assert psnr(x, y) == pytest.approx(10 * math.log10(4 / c**2))
    # contrast/structure is exactly 1 under a shift; only the luminance term is left, with
    # intensities measured from black (-1), as SSIM on 8-bit pixels does
    a, b = 1.1, 1.1 + c
    assert ssim(x, y) == pytest.approx((2 * a * b + C1) / (a * a + b * b + C1), rel=1e-9)
    # the same images as [0, 1] values with data_range 1 give the same score
    assert ssim((x + 1) / 2, (y + 1) / 2, data_range=1.0, low=0.0) == pytest.approx(ssim(x, y))
    # a textured image keeps contrast/structure at 1, so SSIM stays high under the shift
    t = _image(1) * 0.5
    assert 0.9 < ssim(t, t + c) < 1.0


@pytest.mark.parametrize("sigma", [0.02, 0.05, 0.1, 0.2])
def test_noise_at_known_sigma(sigma):
    rng = np.random.default_rng(1)
    x = np.full((3, 128, 128), 0.5)
    y = x + rng.normal(0, sigma, x.shape)
    assert psnr(x, y) == pytest.approx(10 * math.log10(4 / sigma**2), abs=0.1)
    assert l1(x, y) == pytest.approx(sigma * math.sqrt(2 / math.pi), rel=0.02)
    # flat image: luminance ~ 1 and SSIM = E[f(V)], f(V) = C2 / (V + C2), V the local
    # Gaussian-weighted variance of white noise: mean m = sigma^2 (1 - S), variance about
    # 2 sigma^4 S, S = sum of squared 2-D window weights. Second-order expansion of E[f(V)]:
    s = float((gaussian_window() ** 2).sum()) ** 2
    m, var_v = sigma**2 * (1 - s), 2 * sigma**4 * s
    expected = C2 / (m + C2) + C2 / (m + C2) ** 3 * var_v
    assert ssim(x, y) == pytest.approx(expected, rel=0.02)


def test_ssim_matches_scipy_gaussian_filter_reference():
    """Independent reference: scipy's gaussian_filter (sigma 1.5, truncate 3.5 = 11 taps) with
    the border of 5 pixels dropped, i.e. the recipe of Wang et al. / scikit-image."""
    ndimage = pytest.importorskip("scipy.ndimage")
    noise = np.random.default_rng(3).normal(0, 0.1, (3, 64, 64))
    x, y = _image(2), np.clip(_image(2) + noise, -1, 1)

    def blur(z):
        return ndimage.gaussian_filter(z, sigma=1.5, truncate=3.5, mode="constant")[5:-5, 5:-5]

    maps = []
    for a, b in zip(x + 1, y + 1, strict=True):  # intensities from black, like 8-bit pixels
        ma, mb = blur(a), blur(b)
        va, vb, cov = blur(a * a) - ma**2, blur(b * b) - mb**2, blur(a * b) - ma * mb
        maps.append(((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma**2 + mb**2 + C1) * (va + vb + C2)))
    assert ssim(x, y) == pytest.approx(float(np.mean(maps)), abs=1e-10)


def test_shapes_and_types_agree():
    x, y = _image(4), _image(5)
    ref = ssim(x, y)
    tx, ty = torch.from_numpy(x).float(), torch.from_numpy(y).float()
    assert ssim(tx, ty) == pytest.approx(ref, abs=1e-6)  # float32 tensors give the same score
    assert ssim(x[None], y[None]) == pytest.approx(ref)  # NCHW
    assert ssim(x[0], y[0]) == pytest.approx(ssim(x[:1], y[:1]))  # HW == 1-channel CHW
    batch_a, batch_b = np.stack([x, x]), np.stack([y, x])
    assert ssim(batch_a, batch_b) == pytest.approx((ref + 1) / 2)  # mean over the batch
    assert psnr(np.stack([x, x]), np.stack([x + 0.1, x + 0.2])) == pytest.approx(
        (psnr(x, x + 0.1) + psnr(x, x + 0.2)) / 2
    )


def test_ssim_orders_by_degradation():
    x = _image(6)
    rng = np.random.default_rng(7)
    scores = [ssim(x, x + rng.normal(0, s, x.shape)) for s in (0.01, 0.05, 0.2)]
    assert scores[0] > scores[1] > scores[2]


def test_bad_inputs_give_clear_errors():
    x = _image()
    with pytest.raises(ValueError, match="differ in shape"):
        l1(x, x[:, :32])
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(x[:, :8, :8], x[:, :8, :8])
    with pytest.raises(ValueError, match="uint8"):
        psnr(np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        l1(np.zeros((3, 0, 4)), np.zeros((3, 0, 4)))
    with pytest.raises(ValueError, match="HW, CHW or NCHW"):
        l1(np.zeros(5), np.zeros(5))

"""Paired metrics on cases with known answers, and SSIM against an independent reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from translate.eval.metrics import (
    c2st_auc,
    fid,
    frechet_distance,
    gaussian_window,
    kid,
    l1,
    mmd2,
    psnr,
    roc_auc,
    sharpness,
    sqrtm_psd,
    ssim,
    target_share,
)

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


def test_sharpness_of_known_ramps_and_blur(data_dir):
    """A horizontal ramp rising 0.1 per pixel has gradient magnitude 0.1 everywhere; a flat
    image 0; and blurring a real photo makes it less sharp."""
    ramp = torch.arange(16, dtype=torch.float64).mul(0.1).sub(0.8).expand(3, 8, 16)
    assert sharpness(ramp) == pytest.approx(0.1)
    assert sharpness(torch.zeros(1, 8, 8)) == 0
    from PIL import ImageFilter

    from translate.gan.tensors import to_tensor
    from translate.runtime.images import load_image

    photo = load_image(data_dir / "facades" / "val" / "1.jpg").crop((0, 0, 256, 256))
    blurred = photo.filter(ImageFilter.GaussianBlur(2))
    assert sharpness(to_tensor(blurred)) < 0.6 * sharpness(to_tensor(photo))
    with pytest.raises(ValueError, match="2x2"):
        sharpness(torch.zeros(3, 1, 5))


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


# ---------------------------------------------------------------------------------------------
# distribution distances


def _random_cov(rng, d, rank=None):
    a = rng.normal(size=(d, rank or d))
    return a @ a.T / d + (0 if rank else 0.1) * np.eye(d)


def test_sqrtm_psd_matches_scipy():
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(0)
    for rank in (None, 3):  # full rank and singular
        s = _random_cov(rng, 8, rank)
        root = sqrtm_psd(s)
        assert root @ root == pytest.approx(s, abs=1e-9)
        assert root == pytest.approx(np.real(linalg.sqrtm(s)), abs=1e-5)
        assert np.allclose(root, root.T)


def test_frechet_distance_closed_form_and_scipy():
    linalg = pytest.importorskip("scipy.linalg")
    # diagonal covariances: |mu1 - mu2|^2 + sum (sqrt(s1) - sqrt(s2))^2
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([4.0, 1.0, 0.25])
    expected = 1 + 0 + 4 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected)
    # 1-D: (mu1 - mu2)^2 + (sd1 - sd2)^2
    assert frechet_distance([3.0], [[4.0]], [1.0], [[9.0]]) == pytest.approx(4 + 1)
    assert frechet_distance(mu1, np.diag(s1), mu1, np.diag(s1)) == pytest.approx(0, abs=1e-12)
    # full covariances against the textbook formula with scipy's sqrtm
    rng = np.random.default_rng(1)
    for rank in (None, 4):
        c1, c2 = _random_cov(rng, 10, rank), _random_cov(rng, 10)
        m1, m2 = rng.normal(size=10), rng.normal(size=10)
        ref = (m1 - m2) @ (m1 - m2) + np.trace(c1 + c2 - 2 * np.real(linalg.sqrtm(c1 @ c2)))
        assert frechet_distance(m1, c1, m2, c2) == pytest.approx(ref, rel=1e-6, abs=1e-6)


def test_fid_on_samples_approaches_the_gaussian_distance():
    rng = np.random.default_rng(2)
    a = rng.normal(0, 1, size=(20000, 3))
    b = rng.normal(0, 2, size=(20000, 3)) + np.array([1.0, 0.0, 0.0])
    assert fid(a, b) == pytest.approx(1 + 3 * (2 - 1) ** 2, rel=0.03)
    assert fid(a[:10000], a[10000:]) < 0.01
    # fewer samples than dimensions: a singular covariance still gives a finite, real value
    few = rng.normal(size=(5, 64))
    assert np.isfinite(fid(few, few + 0.1)) and fid(few, few) == pytest.approx(0, abs=1e-6)


def _gaussian_mmd2(d, s1, s2, delta, sigma):
    """Closed-form MMD^2 between N(mu1, s1^2 I) and N(mu2, s2^2 I) under a Gaussian kernel."""

    def e(var, shift2=0.0):  # E exp(-|Z|^2 / (2 sigma^2)), Z ~ N(shift, var I)
        return (sigma**2 / (sigma**2 + var)) ** (d / 2) * math.exp(-shift2 / (2 * (sigma**2 + var)))

    return e(2 * s1**2) + e(2 * s2**2) - 2 * e(s1**2 + s2**2, delta**2)


def test_gaussian_mmd_matches_closed_form_and_is_unbiased():
    rng = np.random.default_rng(3)
    d, sigma = 2, 1.5
    expected = _gaussian_mmd2(d, 1.0, 1.3, 0.8, sigma)
    draws = []
    for _ in range(16):  # the estimate's spread at n = 1000 is ~10% of the value; average it out
        a = rng.normal(0, 1.0, size=(1000, d))
        b = rng.normal(0, 1.3, size=(1000, d)) + np.array([0.8, 0.0])
        draws.append(mmd2(a, b, sigma=sigma))
    assert np.mean(draws) == pytest.approx(expected, rel=0.1)
    # equal distributions: the unbiased estimate averages to 0 (it can be negative)
    same = [mmd2(rng.normal(size=(100, d)), rng.normal(size=(100, d)), sigma) for _ in range(40)]
    assert abs(np.mean(same)) < 3 * np.std(same) / math.sqrt(len(same))
    assert min(same) < 0 < expected
    assert mmd2(a, b) > 0.05  # median-heuristic bandwidth


def test_kid_is_unbiased_mmd_with_cubic_kernel():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(7, 3)) + 0.5

    def k(u, v):
        return (u @ v / 3 + 1) ** 3

    brute = (
        sum(k(x[i], x[j]) for i in range(6) for j in range(6) if i != j) / 30
        + sum(k(y[i], y[j]) for i in range(7) for j in range(7) if i != j) / 42
        - 2 * sum(k(u, v) for u in x for v in y) / 42
    )
    y6 = y[:6]
    brute6 = (
        sum(k(x[i], x[j]) for i in range(6) for j in range(6) if i != j) / 30
        + sum(k(y6[i], y6[j]) for i in range(6) for j in range(6) if i != j) / 30
        - 2 * sum(k(u, v) for u in x for v in y6) / 36
    )
    # Subsets of half the sets differ, so their spread means something; their mean is close to
    # the unbiased estimate on the whole sets.
    mean, std = kid(x, y6, subsets=3000)
    assert std > 0 and mean == pytest.approx(brute6, abs=0.1 * std)
    from translate.eval.metrics import _mmd2_unbiased, polynomial_kernel

    kk = polynomial_kernel
    assert _mmd2_unbiased(kk(x, x), kk(y, y), kk(x, y)) == pytest.approx(brute)

    same = kid(rng.normal(size=(400, 16)), rng.normal(size=(400, 16)), subsets=20, subset_size=100)
    diff = kid(rng.normal(size=(400, 16)), rng.normal(size=(400, 16)) + 0.5, 20, 100)
    assert abs(same[0]) < 3 * same[1] and diff[0] > 10 * same[1]


def test_distance_inputs_are_checked():
    a = np.zeros((10, 4))
    with pytest.raises(ValueError, match="differ in dimension"):
        fid(a, np.zeros((10, 5)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        kid(a[:1], a)
    with pytest.raises(ValueError, match="NaN"):
        mmd2(a, np.full((10, 4), np.nan))
    with pytest.raises(ValueError, match="samples, dims"):
        fid(np.zeros((10, 3, 8, 8)), np.zeros((10, 3, 8, 8)))
    with pytest.raises(ValueError, match="do not match"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))


# ---------------------------------------------------------------------------------------------
# classifier two-sample test


def test_roc_auc_counts_ordered_pairs_with_half_ties():
    rng = np.random.default_rng(5)
    scores = rng.integers(0, 5, size=40).astype(float)  # many ties
    labels = rng.integers(0, 2, size=40)
    pos, neg = scores[labels == 1], scores[labels == 0]
    brute = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert roc_auc(scores, labels) == pytest.approx(brute)
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    with pytest.raises(ValueError, match="both positive and negative"):
        roc_auc([0.1, 0.2], [1, 1])


def _textures(seed, n, noise, size=32):
    """Smooth random colour fields, plus white noise of the given strength."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=g) * 2 - 1
    x = torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear")
    return (x + noise * torch.randn(n, 3, size, size, generator=g)).clamp(-1, 1)


def test_c2st_tells_different_sets_apart_and_not_equal_ones(seed):
    s = 10 * seed
    real = _textures(s, 60, 0.0)
    assert c2st_auc(real, _textures(s + 1, 60, 0.1)) > 0.9  # noisy vs clean images
    blurred = torch.nn.functional.avg_pool2d(_textures(s + 3, 60, 0.3), 3, 1, 1)
    assert c2st_auc(_textures(s + 4, 60, 0.3), blurred) > 0.9  # sharp vs blurred
    assert abs(c2st_auc(real, _textures(s + 2, 60, 0.0)) - 0.5) < 0.2  # null spread ~0.05
    # feature vectors, unequal set sizes (weighted equally)
    rng = np.random.default_rng(s + 6)
    a, b = rng.normal(size=(200, 5)), rng.normal(size=(60, 5))
    assert abs(c2st_auc(a, b) - 0.5) < 0.15
    assert c2st_auc(a, b + np.array([1.5, 0, 0, 0, 0])) > 0.8
    assert c2st_auc(a, b, seed=3) == c2st_auc(a, b, seed=3)  # deterministic


def test_target_share_tells_which_domain_images_look_like(seed):
    """Fitted on clean (source) vs noisy (target) images: new clean images are source, new
    noisy ones target, and half-way images split between the two."""
    s = 10 * seed
    clean, noisy = _textures(s, 60, 0.0), _textures(s + 1, 60, 0.2)
    assert target_share(clean, noisy, _textures(s + 2, 40, 0.0)) < 0.1
    assert target_share(clean, noisy, _textures(s + 3, 40, 0.2)) > 0.9
    assert 0.2 < target_share(clean, noisy, _textures(s + 4, 40, 0.1)) < 0.8
    with pytest.raises(ValueError, match="differ in sample shape"):
        target_share(clean, noisy, _textures(s + 5, 4, 0.0, size=16))


def test_c2st_inputs_are_checked():
    with pytest.raises(ValueError, match="differ in sample shape"):
        c2st_auc(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        c2st_auc(np.zeros((1, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="folds"):
        c2st_auc(np.zeros((3, 3)), np.zeros((3, 3)), folds=4)

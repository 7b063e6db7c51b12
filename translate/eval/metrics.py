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
                "(convert with translate.runtime.images.to_array / to_tensor)"
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


def sharpness(x) -> float:
    """Mean gradient magnitude of the luminance (forward differences, [-1, 1] units per pixel).

    Blur lowers it: the pix2pix paper's point that L1 alone gives blurry outputs shows as outputs
    less sharp than the real photos, and the adversarial term closing that gap."""
    x = _as_batch(x, "image")
    if x.shape[1] == 3:
        x = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None]
    if min(x.shape[-2:]) < 2:
        raise ValueError(f"sharpness needs images of at least 2x2 pixels, got {tuple(x.shape)}")
    dx = x[..., :-1, 1:] - x[..., :-1, :-1]
    dy = x[..., 1:, :-1] - x[..., :-1, :-1]
    return float(torch.sqrt(dx**2 + dy**2).mean())


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


# ---------------------------------------------------------------------------------------------
# Distribution distances between feature sets (rows = samples): FID's Frechet distance, KID and
# Gaussian-kernel MMD. They take (N, D) arrays or tensors; images go through a feature extractor
# first (translate.eval.features).


def _features(x, name: str, min_rows: int = 2) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name}: expected features of shape (samples, dims), got {x.shape}")
    if x.shape[0] < min_rows:
        raise ValueError(f"{name}: needs at least {min_rows} samples, got {x.shape[0]}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: features contain NaN or infinity")
    return x


def _feature_pair(a, b, min_rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    a, b = _features(a, "first set", min_rows), _features(b, "second set", min_rows)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets differ in dimension: {a.shape[1]} vs {b.shape[1]}")
    return a, b


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of a feature set, as FID fits them."""
    x = _features(features, "features")
    return x.mean(0), np.atleast_2d(np.cov(x, rowvar=False))


def sqrtm_psd(a: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition.

    Real and symmetric by construction; tiny negative eigenvalues from round-off are clipped to 0
    instead of turning into complex numbers, as a general ``sqrtm`` of a singular covariance
    does."""
    a = np.asarray(a, dtype=np.float64)
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Squared Frechet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2):
    |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    tr((S1 S2)^(1/2)) is computed as the sum of square roots of the eigenvalues of the symmetric
    PSD matrix S1^(1/2) S2 S1^(1/2) (similar to S1 S2), which stays stable for the singular,
    ill-conditioned covariances of few samples in many dimensions."""
    mu1, mu2 = (
        np.atleast_1d(np.asarray(mu1, np.float64)),
        np.atleast_1d(np.asarray(mu2, np.float64)),
    )
    s1, s2 = (
        np.atleast_2d(np.asarray(sigma1, np.float64)),
        np.atleast_2d(np.asarray(sigma2, np.float64)),
    )
    d = mu1.shape[0]
    if mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(
            f"Gaussian parameters do not match: means {mu1.shape}, {mu2.shape}, "
            f"covariances {s1.shape}, {s2.shape}"
        )
    root1 = sqrtm_psd(s1)
    middle = root1 @ s2 @ root1
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_covmean, 0.0))


def fid(features_a, features_b) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (FID when the features are
    Inception-v3 pool features)."""
    a, b = _feature_pair(features_a, features_b)
    return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))


def _mmd2_unbiased(kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray) -> float:
    """Unbiased MMD^2 from kernel matrices: within-set means exclude the diagonal."""
    m, n = kxx.shape[0], kyy.shape[0]
    xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(xx + yy - 2 * kxy.mean())


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """KID's kernel k(x, y) = (x.y / d + 1)^3."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def gaussian_kernel(x: np.ndarray, y: np.ndarray, sigma: float) -> np.ndarray:
    sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T
    return np.exp(-np.clip(sq, 0, None) / (2 * sigma**2))


def kid(
    features_a, features_b, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Kernel Inception Distance (Binkowski et al. 2018): unbiased MMD^2 with the cubic
    polynomial kernel, averaged over random subsets. Returns (mean, standard deviation over
    subsets). Unlike FID it is unbiased, so it can be slightly negative for equal
    distributions.

    Subsets hold ``subset_size`` samples of each set, at most half of the smaller set, so that
    they differ and their standard deviation shows how much KID moves with the sample (a
    conservative noise scale: the mean is close to the unbiased estimate on the whole sets)."""
    a, b = _feature_pair(features_a, features_b)
    size = min(subset_size, max(2, min(a.shape[0], b.shape[0]) // 2))
    if subsets < 1:
        raise ValueError(f"subsets must be >= 1, got {subsets}")
    rng = np.random.default_rng(seed)
    if size == a.shape[0] == b.shape[0]:
        subsets = 1  # two samples each: every subset would be the whole set
    values = []
    for _ in range(subsets):
        x = a[rng.choice(a.shape[0], size, replace=False)]
        y = b[rng.choice(b.shape[0], size, replace=False)]
        k = polynomial_kernel
        values.append(_mmd2_unbiased(k(x, x), k(y, y), k(x, y)))
    return float(np.mean(values)), float(np.std(values))


def median_bandwidth(a, b) -> float:
    """The median heuristic: median distance between distinct points of the pooled sample."""
    z = np.concatenate([a, b])
    sq = (z * z).sum(1)[:, None] + (z * z).sum(1)[None, :] - 2 * z @ z.T
    d = np.sqrt(np.clip(sq[np.triu_indices(len(z), 1)], 0, None))
    return float(np.median(d)) or 1.0


def mmd2(features_a, features_b, sigma: float | None = None) -> float:
    """Unbiased MMD^2 with a Gaussian kernel exp(-|x - y|^2 / (2 sigma^2)); ``sigma`` defaults to
    the median heuristic."""
    a, b = _feature_pair(features_a, features_b)
    sigma = median_bandwidth(a, b) if sigma is None else sigma
    if not sigma > 0:
        raise ValueError(f"kernel bandwidth must be > 0, got {sigma}")
    k = gaussian_kernel
    return _mmd2_unbiased(k(a, a, sigma), k(b, b, sigma), k(a, b, sigma))


# ---------------------------------------------------------------------------------------------
# Classifier two-sample test (Lopez-Paz & Oquab 2017): a classifier learns to tell the sets apart;
# its ROC AUC on samples it was not trained on is 0.5 when it cannot. It needs no pretrained
# weights, so it scores unpaired translation where FID/KID have no feature network.


def roc_auc(scores, labels) -> float:
    """Area under the ROC curve = P(score of a positive > score of a negative), ties counting
    one half (the Mann-Whitney U statistic)."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs both positive and negative samples")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def image_statistics(images: torch.Tensor, scales: int = 4) -> torch.Tensor:
    """Per-image statistics at ``scales`` octaves, per channel: mean, log standard deviation and
    log mean absolute gradient along x and y (16 numbers per channel). Logs make ratios between
    scales linear, so a linear classifier sees blur, noise, colour and contrast shifts and
    texture-scale changes; a few dozen numbers per image keep it well posed with ~100 images."""
    x = images.float()
    feats = []
    for s in range(scales):
        if s:
            x = F.avg_pool2d(x, 2, ceil_mode=True)
        gx, gy = x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]
        feats += [
            x.mean((2, 3)),
            (x.std((2, 3)) + 1e-3).log(),
            (gx.abs().mean((2, 3)) + 1e-3).log(),
            (gy.abs().mean((2, 3)) + 1e-3).log(),
        ]
    return torch.cat(feats, 1)


def _c2st_inputs(x, name: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a numpy array or torch tensor, got {type(x).__name__}")
    x = x.detach().to("cpu", torch.float32)
    if x.dim() not in (2, 4):
        raise ValueError(
            f"{name}: expected images (N, C, H, W) or features (N, D), got {tuple(x.shape)}"
        )
    if x.shape[0] < 2:
        raise ValueError(f"{name}: needs at least 2 samples, got {x.shape[0]}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name}: contains NaN or infinity")
    return x


def c2st_auc(a, b, *, folds: int = 2, repeats: int = 5, l2: float = 1e-2, seed: int = 0) -> float:
    """Classifier two-sample test: out-of-fold ROC AUC of a logistic-regression classifier
    trained to tell set ``a`` (e.g. real) from set ``b`` (generated). 0.5: indistinguishable;
    1.0: always told apart. Images (N, C, H, W) in [-1, 1] are described by
    :func:`image_statistics` (compare sets at the same resolution); features (N, D) are used as
    they are. Each sample is scored once, by a model fitted on the other folds (features
    standardised on those folds, L2 weight ``l2``); the AUC is averaged over ``repeats`` random
    fold splits. Classes of unequal size are weighted equally. Deterministic for a given
    ``seed``."""
    a, b = _c2st_inputs(a, "first set"), _c2st_inputs(b, "second set")
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"sets differ in sample shape: {tuple(a.shape[1:])} vs {tuple(b.shape[1:])}"
        )
    if not 2 <= folds <= min(len(a), len(b)):
        raise ValueError(f"folds must be in [2, {min(len(a), len(b))}], got {folds}")
    x = torch.cat([a, b])
    if x.dim() == 4:
        x = image_statistics(x)
    x = x.double().numpy()
    y = np.concatenate([np.ones(len(a)), np.zeros(len(b))])
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(repeats):
        fold = np.empty(len(x), dtype=np.int64)
        for cls in (1.0, 0.0):  # stratified: each fold holds both sets in proportion
            idx = np.flatnonzero(y == cls)
            fold[rng.permutation(idx)] = np.arange(len(idx)) % folds
        scores = np.empty(len(x))
        for k in range(folds):
            train, test = fold != k, fold == k
            scores[test] = _logistic_scores(x[train], y[train], x[test], l2)
        aucs.append(roc_auc(scores, y))
    return float(np.mean(aucs))


def target_share(source, target, images, l2: float = 1e-2) -> float:
    """Share of ``images`` that a domain classifier puts on the ``target`` side.

    The classifier is the C2ST's (logistic regression on :func:`image_statistics`, or on the
    given features), fitted to tell real ``source`` images from real ``target`` ones. For an
    unpaired translator it answers "did the outputs move to the target domain?": untranslated
    inputs score low, real target images high, and a working translator's outputs in between
    or above. Complements the C2ST AUC, which also catches artefacts that make outputs unlike
    any real image."""
    source, target = _c2st_inputs(source, "source set"), _c2st_inputs(target, "target set")
    images = _c2st_inputs(images, "images")
    if not source.shape[1:] == target.shape[1:] == images.shape[1:]:
        raise ValueError(
            f"sets differ in sample shape: {tuple(source.shape[1:])}, "
            f"{tuple(target.shape[1:])}, {tuple(images.shape[1:])}"
        )
    x = torch.cat([source, target, images])
    if x.dim() == 4:
        x = image_statistics(x)
    x = x.double().numpy()
    n = len(source) + len(target)
    y = np.concatenate([np.zeros(len(source)), np.ones(len(target))])
    return float((_logistic_scores(x[:n], y, x[n:], l2) > 0).mean())


def _logistic_scores(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, l2: float) -> np.ndarray:
    """Fit L2-regularised, class-balanced logistic regression by Newton's method (convex: a
    unique optimum, no initialisation or learning rate) and return decision values for
    ``x_test``."""
    mean, std = x.mean(0), x.std(0)
    std[std < 1e-9] = 1.0
    x, x_test = (x - mean) / std, (x_test - mean) / std
    x, x_test = np.hstack([x, np.ones((len(x), 1))]), np.hstack([x_test, np.ones((len(x_test), 1))])
    n_pos = y.sum()
    c = np.where(y == 1, len(y) / (2 * n_pos), len(y) / (2 * (len(y) - n_pos))) / len(y)
    reg = np.full(x.shape[1], l2)
    reg[-1] = 0.0  # the bias is not penalised

    def objective(w):
        z = x @ w
        return (c * (np.logaddexp(0, z) - y * z)).sum() + 0.5 * (reg * w * w).sum()

    w = np.zeros(x.shape[1])
    f = objective(w)
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (c * (p - y)) + reg * w
        hess = (x * (c * p * (1 - p))[:, None]).T @ x + np.diag(reg) + 1e-12 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-8 and objective(w - t * step) > f:  # backtracking keeps every step a descent
            t /= 2
        w = w - t * step
        f_new = objective(w)
        if f - f_new < 1e-12:
            break
        f = f_new
    return x_test @ w

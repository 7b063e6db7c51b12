"""The checkerboard score: about 0 on real photos, large on a photo with a faint pixel grid."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from translate.eval.checkerboard import (
    PEAKS,
    checkerboard_excess,
    checkerboard_score,
    crop_side,
)


def _load(paths) -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in paths]


def _with_grid(image: np.ndarray, period: int, levels: float) -> np.ndarray:
    """A checkerboard of ``period`` pixels and +-``levels`` (of 255) added, as 8-bit."""
    yy, xx = np.mgrid[: image.shape[0], : image.shape[1]]
    grid = np.where((yy // (period // 2) + xx // (period // 2)) % 2, levels, -levels)
    return np.clip(image + grid[..., None], 0, 255).round().astype(np.uint8)


def test_real_photos_score_near_zero_and_a_faint_2px_grid_scores_high(photos, seed):
    """Bounds checked on every photo of the folder: single photos score -0.25..0.52, sets of 8
    within 0.19 of 0; the same photos with +-2 levels of 2-px grid score 1.0 or more."""
    real = _load(photos("summer2winter_yosemite/testA", 8, seed))
    assert abs(checkerboard_score(real).score) < 0.25  # the set's mean spectrum
    for image in real:
        clean = checkerboard_score([image]).score
        gridded = checkerboard_score([_with_grid(image, 2, 2.0)])  # +-2 of 255 levels: invisible
        assert abs(clean) < 0.6
        assert gridded.score > 0.8 and gridded.score > clean + 0.7
        assert max(gridded.peaks, key=gridded.peaks.get) == "1/2,1/2"  # where a 2-px grid is


def test_a_4px_grid_shows_at_the_quarter_frequencies(photos, seed):
    image = _load(photos("monet2photo_kaggle256/testB", 1, seed))[0]
    gridded = checkerboard_score([_with_grid(image, 4, 4.0)])  # every photo there: 0.75 or more
    assert gridded.score > 0.5 and gridded.side == 256
    assert gridded.peaks["1/4,1/4"] > 10 and gridded.peaks["1/4,-1/4"] > 10
    assert set(gridded.peaks) == {"0,1/4", "0,1/2", "1/4,0", "1/2,0", "1/4,1/4", "1/4,-1/4",
                                  "1/4,1/2", "1/2,1/4", "1/2,1/2"}  # fmt: skip
    assert len(PEAKS) == 9


def test_excess_is_measured_against_real_images_at_one_crop(photos, seed):
    real = _load(photos("summer2winter_yosemite/testB", 6, seed))
    outputs = [_with_grid(im, 2, 2.0)[:200, :240] for im in real]  # any size: cropped, not resized
    excess, detail = checkerboard_excess(outputs, real)
    assert detail["outputs"]["side"] == detail["real"]["side"] == 200
    assert excess == pytest.approx(detail["outputs"]["score"] - detail["real"]["score"])
    assert excess > 1.0
    same, _ = checkerboard_excess(real[:3], real[3:])
    assert abs(same) < 0.45  # 200 draws of 3 + 3 photos there: at most 0.32


def test_crop_sides_and_errors():
    assert crop_side([(255, 300), (400, 258)]) == 252  # a multiple of 4: the peaks on exact bins
    assert crop_side([(1000, 2000)]) == 512
    gray = np.zeros((64, 64))
    assert checkerboard_score([gray + np.eye(64)]).side == 64  # HxW, HxWxC and CHW all work
    assert checkerboard_score([np.zeros((3, 40, 40)) + np.eye(40)]).side == 40
    with pytest.raises(ValueError, match="at least 32x32"):
        checkerboard_score([np.zeros((20, 100, 3))])
    with pytest.raises(ValueError, match="no images"):
        checkerboard_score([], side=64)

"""Tiny synthetic datasets in the layouts the trainers read (32-px images, seconds to train on).

File names deliberately contain spaces and non-ASCII characters, as real data does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

# Command-line flags for tiny networks on these images: a step takes milliseconds.
TINY_FLAGS = ["--load-size", "36", "--crop-size", "32", "--arch", "resnet_6blocks", "--ngf", "4",
              "--ndf", "4", "--workers", "0", "--quiet"]  # fmt: skip

NAMES = ["façade 1", "straße 2", "photo 3 (copy)", "日本 4", "plain5", "x y 6"]


def blocks(rng: np.random.Generator, size: int = 32) -> np.ndarray:
    """A few flat-coloured rectangles: structure a tiny network can learn a little of."""
    img = np.full((size, size, 3), rng.integers(0, 255, 3), dtype=np.uint8)
    for _ in range(3):
        y, x = rng.integers(0, size - 8, 2)
        h, w = rng.integers(4, 16, 2)
        img[y : y + h, x : x + w] = rng.integers(0, 255, 3)
    return img


def aligned(root: Path, n: int = 4, size: int = 32, seed: int = 0, splits=("train",)) -> Path:
    """pix2pix aligned layout: root/<split>/*.png, each A | B with B = inverted A."""
    rng = np.random.default_rng(seed)
    for split in splits:
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            a = blocks(rng, size)
            Image.fromarray(np.concatenate([a, 255 - a], axis=1)).save(
                folder / f"{NAMES[i % len(NAMES)]}{i // len(NAMES) or ''}.png"
            )
    return root


def unpaired(root: Path, n: int = 4, size: int = 32, seed: int = 0, splits=("train",)) -> Path:
    """CycleGAN layout: root/<split>A, root/<split>B (B images are warmer, with fewer blocks)."""
    rng = np.random.default_rng(seed)
    for split in splits:
        for side, count in (("A", n), ("B", n + 1)):
            folder = root / f"{split}{side}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                img = blocks(rng, size)
                if side == "B":
                    img[..., 0] = np.maximum(img[..., 0], 180)
                Image.fromarray(img).save(folder / f"{NAMES[i % len(NAMES)]} {side}{i}.jpg")
    return root


@pytest.fixture
def one_thread():
    """Tiny networks run fastest on one thread, and on a busy machine two OpenMP threads spin
    against other processes (a 30 ms step becomes seconds)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

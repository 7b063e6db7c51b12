"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
Training"): random colour, translation and cutout applied to everything D sees, real and fake
alike. D cannot memorise a small training set, and because every operation is differentiable G
still learns through it. Optionally the probability of each augmentation adapts as in ADA (Karras
et al. 2020): it rises while D is overconfident on real images and falls otherwise.

The random draws come from the augmenter's own generator, so a seed fixes them and the state (with
the adaptive probability) travels in the adversarial core's ``state_dict`` for exact resume.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import ConfigError

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 1 / 8  # the paper's shift: up to 1/8 of the image size
CUTOUT_RATIO = 1 / 2  # the paper's hole: half the image size
ADA_INTERVAL = 4  # discriminator batches between adjustments of p
ADA_IMAGES = 10_000  # real images seen while p may move from 0 to 1 (ADA: 500k on GPUs)


def parse_policy(text: str) -> tuple[str, ...]:
    """``"color,translation,cutout"`` -> the operations in order; empty -> off."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    for name in names:
        if name not in POLICIES:
            raise ConfigError(
                f"unknown DiffAugment policy {name!r} in {text!r}; choose from "
                f"{', '.join(POLICIES)} (comma-separated)"
            )
    if len(set(names)) != len(names):
        raise ConfigError(f"DiffAugment policy {text!r} names an operation twice")
    return names


class DiffAugment:
    """The augmentation of one policy. ``p`` is each operation's probability per image (the
    paper: 1); with ``ada_target`` > 0 it starts at 0 and follows :meth:`observe`.

    Colour acts on each 3-channel image of a channel-concatenated input separately, with the
    same factors, so pix2pix's (condition, image) pairs get one transform for both."""

    def __init__(self, policy: str, p: float = 1.0, ada_target: float = 0.0, seed: int = 0):
        self.ops = parse_policy(policy)
        self.ada_target = ada_target
        self.p = 0.0 if ada_target > 0 else p
        self.generator = torch.Generator().manual_seed(seed)
        self._signs: list[float] = []  # E[sign D(real)] per batch since the last adjustment
        self._seen = 0  # real images since the last adjustment

    def __bool__(self) -> bool:
        return bool(self.ops)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for op in self.ops:
            x = self._maybe(getattr(self, "_" + op), x)
        return x

    # -- adaptive probability -----------------------------------------------------------------
    def observe(self, real_signs: torch.Tensor) -> None:
        """Record sign(D(real) - the objective's decision value) of one discriminator's batch;
        every ``ADA_INTERVAL`` batches move p towards keeping their mean at ``ada_target``."""
        if self.ada_target <= 0:
            return
        self._signs.append(real_signs.float().mean().item())
        self._seen += real_signs.shape[0]
        if len(self._signs) < ADA_INTERVAL:
            return
        r_t = sum(self._signs) / len(self._signs)
        step = self._seen / ADA_IMAGES
        self.p = min(1.0, max(0.0, self.p + (step if r_t > self.ada_target else -step)))
        self._signs, self._seen = [], 0

    def state_dict(self) -> dict:
        return {
            "p": self.p,
            "generator": self.generator.get_state(),
            "signs": list(self._signs),
            "seen": self._seen,
        }

    def load_state_dict(self, state: dict) -> None:
        self.p = float(state["p"])
        self.generator.set_state(state["generator"])
        self._signs, self._seen = [float(s) for s in state["signs"]], int(state["seen"])

    # -- operations ---------------------------------------------------------------------------
    def _rand(self, *shape: int, like: torch.Tensor) -> torch.Tensor:
        return torch.rand(shape, generator=self.generator).to(like.device, like.dtype)

    def _randint(self, low: int, high: int, *shape: int, like: torch.Tensor) -> torch.Tensor:
        return torch.randint(low, high, shape, generator=self.generator).to(like.device)

    def _maybe(self, op, x: torch.Tensor) -> torch.Tensor:
        """``op(x)`` for each image with probability p (every image when p = 1)."""
        if self.p <= 0:
            return x
        if self.p >= 1:
            return op(x)
        keep = (self._rand(x.shape[0], 1, 1, 1, like=x) >= self.p).to(x.dtype)
        return keep * x + (1 - keep) * op(x)

    def _color(self, x: torch.Tensor) -> torch.Tensor:
        """Brightness, saturation and contrast with the paper's ranges, per image of 3
        channels (a 6-channel pair: both halves with the same factors)."""
        n, c, h, w = x.shape
        groups = c // 3 if c % 3 == 0 else 1
        y = x.reshape(n, groups, c // groups, h, w)
        brightness = self._rand(n, 1, 1, 1, 1, like=x) - 0.5
        saturation = self._rand(n, 1, 1, 1, 1, like=x) * 2
        contrast = self._rand(n, 1, 1, 1, 1, like=x) + 0.5
        y = y + brightness
        mean = y.mean(dim=2, keepdim=True)
        y = (y - mean) * saturation + mean
        mean = y.mean(dim=(2, 3, 4), keepdim=True)
        y = (y - mean) * contrast + mean
        return y.reshape(n, c, h, w)

    def _translation(self, x: torch.Tensor) -> torch.Tensor:
        """Shift by up to 1/8 of the size in x and y, filling with zeros."""
        n, _, h, w = x.shape
        sh, sw = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
        ty = self._randint(-sh, sh + 1, n, 1, 1, like=x)
        tx = self._randint(-sw, sw + 1, n, 1, 1, like=x)
        b, gy, gx = torch.meshgrid(
            torch.arange(n, device=x.device),
            torch.arange(h, device=x.device),
            torch.arange(w, device=x.device),
            indexing="ij",
        )
        gy = torch.clamp(gy + ty + 1, 0, h + 1)
        gx = torch.clamp(gx + tx + 1, 0, w + 1)
        padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
        return padded[b, gy, gx].permute(0, 3, 1, 2).contiguous()

    def _cutout(self, x: torch.Tensor) -> torch.Tensor:
        """Zero a square of half the size at a random place (partly outside at the edges)."""
        n, _, h, w = x.shape
        ch, cw = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
        oy = self._randint(0, h + (1 - ch % 2), n, 1, 1, like=x)
        ox = self._randint(0, w + (1 - cw % 2), n, 1, 1, like=x)
        b, gy, gx = torch.meshgrid(
            torch.arange(n, device=x.device),
            torch.arange(ch, device=x.device),
            torch.arange(cw, device=x.device),
            indexing="ij",
        )
        gy = torch.clamp(gy + oy - ch // 2, 0, h - 1)
        gx = torch.clamp(gx + ox - cw // 2, 0, w - 1)
        mask = torch.ones(n, h, w, dtype=x.dtype, device=x.device)
        mask[b, gy, gx] = 0
        return x * mask.unsqueeze(1)

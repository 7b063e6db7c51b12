"""Mode coverage on a ring of 8 Gaussians, trained with the adversarial core (translate.gan.toy)."""

from __future__ import annotations

import math

import pytest
import torch

from translate.gan.losses import critic_input_gradient
from translate.gan.toy import (
    RingConfig,
    mode_coverage,
    ring_centres,
    sample_ring,
    toy_gan_config,
    train_ring_gan,
)


def test_coverage_metric_on_known_samples(seed):
    cfg = RingConfig()
    data = sample_ring(cfg, 20000, torch.Generator().manual_seed(seed))
    covered, hq, counts = mode_coverage(data, cfg)
    assert covered == 8
    assert hq == pytest.approx(1 - math.exp(-9 / 2), abs=0.005)  # P(|z| <= 3) for a 2-D normal
    assert min(counts) > 0.1 * len(data)
    collapsed = ring_centres(cfg)[3] + cfg.std * torch.randn(500, 2)
    assert mode_coverage(collapsed, cfg)[0] == 1
    between = ring_centres(cfg).roll(1, 0) + ring_centres(cfg)  # midpoints, off the modes
    assert mode_coverage(between, cfg)[:2] == (0, 0.0)


def test_nonsaturating_r1_covers_the_modes_for_every_seed(one_thread, seed):
    """R1 makes the non-saturating GAN converge (Mescheder et al. 2018): every seed covers the
    ring (8 of 8 modes in all of 20 runs on two CPU generations; the test asks for >= 6)."""
    for s in range(3 * seed, 3 * seed + 3):
        result = train_ring_gan(toy_gan_config("vanilla", r1_gamma=0.1), RingConfig(seed=s))
        assert result.modes_covered >= 6, (s, result.counts)
        assert result.high_quality > 0.2, (s, result.high_quality)


def test_wgangp_keeps_the_critic_1_lipschitz_while_training(one_thread, seed):
    """With the published critic schedule (5 steps, lambda 10) the penalty holds the critic's
    gradient norm at 1 on real-fake interpolates for every seed (median 0.95-1.02 over 10 seeds).
    Mode coverage is not claimed per seed: at this budget WGAN-GP covers >= 6 modes in only
    about 7 of 10 seeds, and spreads the rest between the modes (README, "Mode coverage")."""
    gan = toy_gan_config("wgangp")
    assert (gan.n_critic, gan.gp_lambda) == (5, 10.0)  # the published critic schedule
    cfg = RingConfig(seed=seed)
    result = train_ring_gan(gan, cfg)
    rng = torch.Generator().manual_seed(seed + 100)
    real = sample_ring(cfg, len(result.samples), rng)
    eps = torch.rand(len(real), 1, generator=rng)
    between = eps * real + (1 - eps) * result.samples
    norms = critic_input_gradient(result.critic, between, create_graph=False).norm(dim=1)
    assert float(norms.median()) == pytest.approx(1.0, abs=0.1)

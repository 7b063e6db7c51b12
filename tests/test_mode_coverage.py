"""Mode coverage on a ring of 8 Gaussians, trained with the adversarial core (translate.toy)."""

from __future__ import annotations

import math

import pytest
import torch

from translate.toy import (
    RingConfig,
    mode_coverage,
    ring_centres,
    sample_ring,
    toy_gan_config,
    train_ring_gan,
)


def test_coverage_metric_on_known_samples():
    cfg = RingConfig()
    data = sample_ring(cfg, 20000, torch.Generator().manual_seed(0))
    covered, hq, counts = mode_coverage(data, cfg)
    assert covered == 8
    assert hq == pytest.approx(1 - math.exp(-9 / 2), abs=0.005)  # P(|z| <= 3) for a 2-D normal
    assert min(counts) > 0.1 * len(data)
    collapsed = ring_centres(cfg)[3] + cfg.std * torch.randn(500, 2)
    assert mode_coverage(collapsed, cfg)[0] == 1
    between = ring_centres(cfg).roll(1, 0) + ring_centres(cfg)  # midpoints, off the modes
    assert mode_coverage(between, cfg)[:2] == (0, 0.0)


@pytest.mark.parametrize(
    "objective, overrides",
    [("vanilla", dict(r1_gamma=0.1)), ("wgangp", {})],
    ids=["nonsaturating+R1", "wgangp"],
)
def test_ring_gan_covers_the_modes(objective, overrides, one_thread):
    gan = toy_gan_config(objective, **overrides)
    if objective == "wgangp":
        assert (gan.n_critic, gan.gp_lambda) == (5, 10.0)  # the published critic schedule
    result = train_ring_gan(gan, RingConfig(seed=0))
    assert result.modes_covered >= 6, result.counts
    assert result.high_quality > 0.2

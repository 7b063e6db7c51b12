"""DiffAugment: differentiable, seeded, one transform per (condition, image) pair, adaptive p
that travels with the core's state."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from translate.errors import ConfigError
from translate.gan.adversarial import AdversarialCore, GANConfig
from translate.gan.diffaugment import ADA_INTERVAL, DiffAugment, parse_policy

POLICY = "color,translation,cutout"


def test_policy_parsing_errors_are_one_line():
    assert parse_policy("") == ()
    assert parse_policy(" color, cutout ") == ("color", "cutout")
    for bad, says in (
        ("colour", "unknown DiffAugment policy 'colour'"),
        ("cutout,cutout", "twice"),
    ):
        with pytest.raises(ConfigError, match=says) as err:
            GANConfig(diffaugment=bad)
        assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="ada_target needs a DiffAugment policy"):
        GANConfig(ada_target=0.6)


@pytest.mark.parametrize("op", ["color", "translation", "cutout"])
def test_each_operation_changes_images_and_passes_gradients(op, seed):
    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(seed)).requires_grad_()
    y = DiffAugment(op, seed=seed)(x)
    assert y.shape == x.shape and not torch.equal(y, x)
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_gradients_reach_the_generator_through_the_augmentation(seed):
    core = AdversarialCore(GANConfig(objective="vanilla", diffaugment=POLICY), seed=seed)
    G = nn.Conv2d(3, 3, 3, padding=1)
    D = nn.Sequential(nn.Conv2d(3, 4, 4, stride=2), nn.LeakyReLU(0.2), nn.Conv2d(4, 1, 3))
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(seed))
    with core.frozen(D):
        core.generator_loss(D, G(x)).backward()
    assert G.weight.grad is not None and G.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in D.parameters())


def test_the_same_seed_gives_the_same_augmentation(seed):
    x = torch.rand(4, 3, 16, 16)
    a, b, c = (DiffAugment(POLICY, seed=s) for s in (seed, seed, seed + 1))
    first = a(x)
    assert torch.equal(first, b(x)) and not torch.equal(first, c(x))
    assert not torch.equal(first, a(x))  # the stream moves on


def test_a_pair_gets_one_transform_for_condition_and_image(seed):
    """pix2pix concatenates (condition, image) on channels before D: with identical halves the
    augmented halves stay identical, so both got the same colour, shift and hole."""
    half = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(seed))
    out = DiffAugment(POLICY, seed=seed)(torch.cat([half, half], 1))
    assert torch.equal(out[:, :3], out[:, 3:]) and not torch.equal(out[:, :3], half)


def test_probability_zero_is_the_identity_and_ada_moves_p(seed):
    x = torch.rand(2, 3, 8, 8)
    assert torch.equal(DiffAugment(POLICY, p=0.0, seed=seed)(x), x)
    aug = DiffAugment(POLICY, ada_target=0.6, seed=seed)
    assert aug.p == 0.0
    for _ in range(ADA_INTERVAL):  # D calls every real image real: overfitting, p rises
        aug.observe(torch.ones(8, 1, 4, 4))
    raised = aug.p
    assert raised > 0
    for _ in range(ADA_INTERVAL):  # D is unsure: p falls
        aug.observe(-torch.ones(8, 1, 4, 4))
    assert aug.p < raised


def test_core_state_restores_the_augmentation_exactly(seed):
    cfg = GANConfig(diffaugment=POLICY, ada_target=0.6)
    a = AdversarialCore(cfg, seed=seed)
    for _ in range(ADA_INTERVAL):
        a.augment.observe(torch.ones(4, 1))
    b = AdversarialCore(cfg, seed=seed + 1)
    b.load_state_dict(a.state_dict())
    x = torch.rand(2, 3, 8, 8)
    assert b.augment.p == a.augment.p > 0
    assert torch.equal(a.augment(x), b.augment(x))

"""Unit tests of the adversarial core: objectives, penalties, the image pool, the D/G step."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from translate.errors import ConfigError
from translate.gan import adversarial
from translate.gan.adversarial import AdversarialCore, GANConfig, eager
from translate.gan.losses import (
    OBJECTIVES,
    critic_input_gradient,
    get_objective,
    gradient_penalty,
    r1_penalty,
)
from translate.gan.pool import ImagePool

NAMES = sorted(OBJECTIVES)


def _t(*values):
    return torch.tensor(values, dtype=torch.float64)


# ---------------------------------------------------------------------------------------------
# objectives


def test_registry_names_and_aliases():
    assert {"minimax", "vanilla", "nonsaturating", "lsgan", "wgan", "wgangp", "hinge"} <= set(
        OBJECTIVES
    )
    assert type(get_objective("vanilla")) is type(get_objective("nonsaturating"))
    with pytest.raises(ValueError, match="unknown GAN objective 'wasserstein'.*lsgan"):
        get_objective("wasserstein")


@pytest.mark.parametrize("name", NAMES)
def test_d_loss_falls_as_real_rises_and_fake_falls(name):
    obj = get_objective(name)
    real, fake = _t(0.2, 0.4), _t(0.3, 0.1)  # inside every objective's active region
    base = obj.d_loss(real, fake)
    assert obj.d_loss(real + 0.1, fake) < base
    assert obj.d_loss(real, fake - 0.1) < base


@pytest.mark.parametrize("name", NAMES)
def test_g_loss_falls_as_fake_rises(name):
    obj = get_objective(name)
    fake = _t(0.3, -0.2)
    assert obj.g_loss(fake + 0.1) < obj.g_loss(fake)


@pytest.mark.parametrize("name", NAMES)
def test_losses_average_over_patchgan_maps(name):
    """A PatchGAN map counts each patch equally: one changed patch in a 2x(1x4x4) map moves the
    loss as much as changing a 32-element flat batch at one element."""
    obj = get_objective(name)
    real = torch.linspace(-0.5, 0.5, 32, dtype=torch.float64).view(2, 1, 4, 4)
    fake = -real.flip(0)
    assert obj.d_loss(real, fake) == pytest.approx(obj.d_loss(real.flatten(), fake.flatten()))
    assert obj.g_loss(fake) == pytest.approx(obj.g_loss(fake.flatten()))


def test_minimax_and_nonsaturating_share_d_and_differ_in_g():
    sat, ns = get_objective("minimax"), get_objective("vanilla")
    real, fake = _t(0.7, -1.2), _t(-0.4, 2.0)
    assert sat.d_loss(real, fake) == pytest.approx(ns.d_loss(real, fake))
    zero = _t(0.0)
    assert float(sat.d_loss(zero, zero)) == pytest.approx(2 * math.log(2))  # D = 1/2 everywhere
    assert float(sat.g_loss(zero)) == pytest.approx(-math.log(2))  # log(1 - 1/2)
    assert float(ns.g_loss(zero)) == pytest.approx(math.log(2))  # -log(1/2)
    # the two generator losses have the same fixed point but different gradients where D
    # confidently rejects the fakes: the saturating one vanishes there, the other does not
    f = _t(-8.0).requires_grad_(True)
    (g_sat,) = torch.autograd.grad(sat.g_loss(f), f)
    (g_ns,) = torch.autograd.grad(ns.g_loss(f), f)
    assert abs(float(g_sat)) < 1e-3 and float(g_ns) == pytest.approx(-1.0, abs=1e-3)


def test_lsgan_targets():
    obj = get_objective("lsgan")
    assert float(obj.d_loss(_t(1.0, 1.0), _t(0.0, 0.0))) == 0.0  # minimum at real 1, fake 0
    assert float(obj.d_loss(_t(0.0), _t(1.0))) == pytest.approx(2.0)
    assert float(obj.g_loss(_t(1.0))) == 0.0  # G wants fakes judged 1
    assert float(obj.g_loss(_t(0.0))) == pytest.approx(1.0)


def test_hinge_margins():
    obj = get_objective("hinge")
    # beyond the margins (real >= 1, fake <= -1) D has nothing left to gain: zero loss and grad
    real, fake = _t(1.0, 3.0).requires_grad_(True), _t(-1.0, -5.0).requires_grad_(True)
    loss = obj.d_loss(real, fake)
    assert loss.item() == 0.0
    assert all(g.abs().max() == 0 for g in torch.autograd.grad(loss, (real, fake)))
    assert float(obj.d_loss(_t(0.0), _t(0.0))) == pytest.approx(2.0)  # inside: 1 + 1
    assert float(obj.d_loss(_t(0.5), _t(-0.5))) == pytest.approx(1.0)
    assert float(obj.g_loss(_t(2.0, 4.0))) == pytest.approx(-3.0)  # G: -mean, no margin


def test_wasserstein_is_the_mean_gap():
    for name in ("wgan", "wgangp"):
        obj = get_objective(name)
        assert float(obj.d_loss(_t(3.0, 1.0), _t(0.5, -0.5))) == pytest.approx(0.0 - 2.0)
        assert float(obj.g_loss(_t(0.5, -0.5, 3.0))) == pytest.approx(-1.0)


# ---------------------------------------------------------------------------------------------
# penalties


class Linear(nn.Module):
    """D(x) = w . x per sample; its input gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w, dtype=torch.float64))

    def forward(self, x):
        return (x.flatten(1) * self.w).sum(1, keepdim=True)


class Quadratic(nn.Module):
    """D(x) = a * |x|^2 per sample: input gradient 2 a x, so ||grad||^2 = 4 a^2 |x|^2."""

    def __init__(self, a=0.5):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a, dtype=torch.float64))

    def forward(self, x):
        return self.a * x.flatten(1).pow(2).sum(1, keepdim=True)


def test_gradient_penalty_two_and_one_sided():
    real, fake = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    steep, flat = Linear([1.2, 1.6]), Linear([0.3, 0.4])  # gradient norms 2.0 and 0.5
    assert gradient_penalty(steep, real, fake).item() == pytest.approx(1.0)
    assert gradient_penalty(flat, real, fake).item() == pytest.approx(0.25)
    assert gradient_penalty(steep, real, fake, one_sided=True).item() == pytest.approx(1.0)
    assert gradient_penalty(flat, real, fake, one_sided=True).item() == 0.0
    with pytest.raises(ValueError, match="differ in shape"):
        gradient_penalty(steep, real, fake[:4])


def test_gradient_penalty_is_taken_on_interpolates():
    D = Quadratic(0.5)  # ||grad|| = |x|: the penalty reveals where it was evaluated
    real = torch.full((64, 1), 2.0, dtype=torch.float64)
    fake = torch.zeros(64, 1, dtype=torch.float64)
    gen = torch.Generator().manual_seed(3)
    eps = torch.rand(64, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float32)
    expected = ((2 * eps.double()) - 1).pow(2).mean()  # |x_hat| = 2 eps
    assert gradient_penalty(D, real, fake, generator=gen).item() == pytest.approx(float(expected))


def test_r1_is_the_squared_input_gradient_on_real_data():
    D = Quadratic(0.5)
    real = torch.randn(16, 3, dtype=torch.float64)
    assert r1_penalty(D, real).item() == pytest.approx(float(real.pow(2).sum(1).mean()))


def test_r1_only_touches_real_inputs():
    core = AdversarialCore(GANConfig(objective="vanilla", r1_gamma=4.0, d_loss_weight=1.0))
    D = Quadratic(0.5)
    real = torch.randn(16, 3, dtype=torch.float64)
    fake = torch.randn(16, 3, dtype=torch.float64, requires_grad=True)
    _, logs = core.discriminator_loss(D, real, fake)
    _, logs_other_fake = core.discriminator_loss(D, real, fake * 3)
    _, logs_other_real = core.discriminator_loss(D, real * 3, fake)
    assert logs["R1"] == pytest.approx(float(real.pow(2).sum(1).mean()))
    assert logs_other_fake["R1"] == logs["R1"]  # fakes do not enter R1
    assert logs_other_real["R1"] == pytest.approx(9 * logs["R1"])
    # total = objective + gamma/2 * R1, and no gradient reaches the generator's output
    loss, _ = core.discriminator_loss(D, real, fake)
    plain = get_objective("vanilla").d_loss(D(real), D(fake.detach()))
    assert loss.item() == pytest.approx(plain.item() + 2.0 * logs["R1"])
    assert not loss.requires_grad or torch.autograd.grad(loss, fake, allow_unused=True)[0] is None


def test_lazy_r1_applies_every_k_steps_scaled_by_k():
    core = AdversarialCore(GANConfig(objective="vanilla", r1_gamma=2.0, r1_every=4))
    D = Linear([1.0, 1.0])
    opt = torch.optim.SGD(D.parameters(), lr=0.0)  # only the schedule matters here
    real, fake = torch.randn(4, 2, dtype=torch.float64), torch.randn(4, 2, dtype=torch.float64)
    seen = []
    for _ in range(9):
        loss, logs = core.discriminator_loss(D, real, fake)
        seen.append("R1" in logs)
        if "R1" in logs:
            plain = get_objective("vanilla").d_loss(D(real), D(fake)) * core.cfg.d_loss_weight
            r1_term = (loss.item() - plain.item()) / core.cfg.d_loss_weight
            assert r1_term == pytest.approx(2.0 / 2 * 4 * logs["R1"])
        core.step(loss, opt, [D], discriminator=True)
    assert seen == [True, False, False, False, True, False, False, False, True]


def test_critic_input_gradient_is_per_sample():
    D = Quadratic(1.0)
    x = torch.randn(5, 2, 3, 3, dtype=torch.float64)
    grad = critic_input_gradient(D, x, create_graph=False)
    assert grad.shape == (5, 18)
    assert torch.allclose(grad, 2 * x.flatten(1))


# ---------------------------------------------------------------------------------------------
# the alternating step


def _nets():
    G = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 3, 3, padding=1))
    D = nn.Sequential(nn.Conv2d(3, 4, 4, stride=2), nn.LeakyReLU(0.2), nn.Conv2d(4, 1, 3))
    return G, D


def _params(net):
    return [p.detach().clone() for p in net.parameters()]


def _changed(before, net):
    return [not torch.equal(b, p) for b, p in zip(before, net.parameters(), strict=True)]


@pytest.mark.parametrize("name", ["vanilla", "lsgan", "wgangp", "hinge"])
def test_gradients_reach_only_the_network_being_trained(name):
    core = AdversarialCore(GANConfig(objective=name, r1_gamma=0.0 if name == "wgangp" else 1.0))
    G, D = _nets()
    opt_g, opt_d = core.make_optimizer(G.parameters()), core.make_optimizer(D.parameters())
    x, real = torch.randn(2, 3, 16, 16), torch.randn(2, 3, 16, 16)

    fake = G(x)
    d_loss, logs = core.discriminator_loss(D, real, fake)
    assert set(logs) >= {"D", "D_real", "D_fake"} and all(
        isinstance(v, float) for v in logs.values()
    )
    g_before, d_before = _params(G), _params(D)
    core.step(d_loss, opt_d, [D], discriminator=True)
    assert all(p.grad is None for p in G.parameters())  # fakes were detached for D
    # (Wasserstein and hinge losses leave D's last bias alone: it cancels between real and fake)
    assert not any(_changed(g_before, G)) and sum(_changed(d_before, D)) >= 3

    d_before = _params(D)
    with core.frozen(D):
        assert not any(p.requires_grad for p in D.parameters())
        g_loss = core.generator_loss(D, G(x))
    assert all(p.requires_grad for p in D.parameters())  # restored
    grads_before = [p.grad for p in D.parameters()]
    core.step(g_loss, opt_g, [G])
    assert [p.grad for p in D.parameters()] == grads_before  # D got no new gradient
    assert all(p.grad is not None for p in G.parameters())
    assert not any(_changed(d_before, D))


def test_frozen_keeps_parameters_that_were_already_frozen():
    core = AdversarialCore(GANConfig())
    G, D = _nets()
    first = next(D.parameters())
    first.requires_grad_(False)
    with core.frozen(D, G):
        pass
    assert not first.requires_grad
    assert all(p.requires_grad for p in list(D.parameters())[1:])
    assert all(p.requires_grad for p in G.parameters())


def test_wgan_clips_critic_weights_after_each_d_step_and_alternates():
    core = AdversarialCore(GANConfig(objective="wgan"))
    assert (core.cfg.n_critic, core.cfg.clip_value, core.cfg.optimizer) == (5, 0.01, "rmsprop")
    G, D = _nets()
    opt_d = core.make_optimizer(D.parameters())
    assert isinstance(opt_d, torch.optim.RMSprop) and opt_d.defaults["lr"] == 5e-5
    turns = []
    for _ in range(10):
        loss, _ = core.discriminator_loss(
            D, torch.randn(2, 3, 16, 16), G(torch.randn(2, 3, 16, 16))
        )
        core.step(loss, opt_d, [D], discriminator=True)
        assert max(p.abs().max() for p in D.parameters()) <= 0.01
        turns.append(core.generator_turn())
    assert turns == [False] * 4 + [True] + [False] * 4 + [True]
    assert all(p.abs().max() > 0.01 for p in G.parameters())  # G is never clipped


def test_grad_clip_bounds_the_update_norm():
    core = AdversarialCore(GANConfig(objective="lsgan", grad_clip=1e-3))
    G, D = _nets()
    opt = torch.optim.SGD(D.parameters(), lr=1.0)
    loss, _ = core.discriminator_loss(D, torch.randn(2, 3, 16, 16) * 10, torch.randn(2, 3, 16, 16))
    before = _params(D)
    core.step(loss, opt, [D], discriminator=True)
    total = math.sqrt(
        sum(
            (p.detach() - b).pow(2).sum().item()
            for b, p in zip(before, D.parameters(), strict=True)
        )
    )
    assert total == pytest.approx(1e-3, rel=1e-3)  # lr 1 x clipped gradient norm


def test_core_state_round_trip():
    core = AdversarialCore(GANConfig(objective="wgangp"))
    core.d_steps = 7
    other = AdversarialCore(GANConfig(objective="wgangp"))
    other.load_state_dict(core.state_dict())
    assert other.d_steps == 7 and other.generator_turn() == core.generator_turn()


def test_eager_unwraps_compiled_modules():
    _, D = _nets()
    compiled = torch.compile(D, backend="eager")
    assert eager(compiled) is D and eager(D) is D


@pytest.mark.skipif(not torch.cuda.is_available(), reason="AMP runs on CUDA only")
@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_amp_step_on_cuda(amp):
    cfg = GANConfig(objective="vanilla", r1_gamma=1.0, precision=amp)
    core = AdversarialCore(cfg, device="cuda")
    G, D = (core.prepare(n) for n in _nets())
    opt_g, opt_d = core.make_optimizer(G.parameters()), core.make_optimizer(D.parameters())
    x, real = torch.randn(2, 3, 16, 16, device="cuda"), torch.randn(2, 3, 16, 16, device="cuda")
    with core.autocast():
        fake = G(x)
    assert fake.dtype == {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]
    d_loss, logs = core.discriminator_loss(D, real, fake)
    core.step(d_loss, opt_d, [D], discriminator=True)
    with core.frozen(D), core.autocast():
        g_loss = core.generator_loss(D, G(x))
    core.step(g_loss, opt_g, [G])
    assert math.isfinite(logs["D"]) and math.isfinite(logs["R1"]) and torch.isfinite(g_loss)
    assert core.scaler.is_enabled() == (amp == "fp16")


def test_precision_auto_follows_the_cpu(monkeypatch):
    """auto: bf16 only where the CPU has it natively (the suite's fixture says it has not);
    fp16 is CUDA's; configs saved with the old ``amp`` key still load."""
    assert AdversarialCore(GANConfig(), device="cpu").amp_dtype is None
    monkeypatch.setattr(adversarial, "cpu_has_native_bf16", lambda: True)
    assert AdversarialCore(GANConfig(), device="cpu").amp_dtype == torch.bfloat16
    assert AdversarialCore(GANConfig(precision="fp32"), device="cpu").amp_dtype is None
    with pytest.raises(ConfigError, match="fp16 needs a CUDA device"):
        AdversarialCore(GANConfig(precision="fp16"), device="cpu")
    assert GANConfig.from_dict({"amp": "off"}).precision == "fp32"
    assert GANConfig.from_dict({"amp": "bf16"}).precision == "bf16"


def test_bf16_step_on_cpu_keeps_fp32_state():
    """Under bf16 the forward passes run in bf16 (emulated on CPUs without it: slower, same
    numbers); parameters, gradients, optimiser state, BN statistics and R1 stay fp32."""
    core = AdversarialCore(GANConfig(objective="vanilla", r1_gamma=1.0, precision="bf16"))
    G = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Conv2d(4, 3, 1))
    _, D = _nets()
    opt_g, opt_d = core.make_optimizer(G.parameters()), core.make_optimizer(D.parameters())
    x, real = torch.randn(2, 3, 16, 16), torch.randn(2, 3, 16, 16)
    with core.autocast():
        fake = G(x)
    assert fake.dtype == torch.bfloat16
    d_loss, logs = core.discriminator_loss(D, real, fake)
    assert d_loss.dtype == torch.float32 and math.isfinite(logs["R1"])
    core.step(d_loss, opt_d, [D], discriminator=True)
    with core.frozen(D):
        g_loss = core.generator_loss(D, fake)
    core.step(g_loss, opt_g, [G])
    assert g_loss.dtype == torch.float32
    state = [v for s in (*opt_g.state.values(), *opt_d.state.values()) for v in s.values()]
    tensors = [*G.parameters(), *D.parameters(), *G.buffers(), *state]
    assert all(t.dtype in (torch.float32, torch.int64) for t in tensors if t.is_floating_point())
    assert G[1].running_mean.dtype == torch.float32 and G[0].weight.grad.dtype == torch.float32


# ---------------------------------------------------------------------------------------------
# config


def test_published_defaults():
    def resolved(objective):
        c = GANConfig(objective=objective)
        return c.n_critic, c.clip_value, c.gp_lambda, c.optimizer, c.lr, c.betas

    assert GANConfig().objective == "lsgan"
    assert resolved("lsgan") == (1, None, 0.0, "adam", 2e-4, (0.5, 0.999))
    assert resolved("wgangp") == (5, None, 10.0, "adam", 1e-4, (0.0, 0.9))
    assert resolved("wgan")[:5] == (5, 0.01, 0.0, "rmsprop", 5e-5)
    assert GANConfig(objective="wgangp", n_critic=2, lr=1e-3).n_critic == 2
    assert GANConfig().pool_size == 50 and GANConfig().pool_p == 0.5


def test_config_json_round_trip():
    cfg = GANConfig(objective="hinge", r1_gamma=10.0, r1_every=16, betas=(0.0, 0.99))
    back = GANConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg
    with pytest.raises(ValueError, match="unknown GAN config keys: gan_mode"):
        GANConfig.from_dict({**cfg.to_dict(), "gan_mode": "lsgan"})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(objective="wgan-gp"), "unknown GAN objective"),
        (dict(objective="wgan", r1_gamma=1.0), "weight clipping cannot be combined"),
        (dict(objective="wgan", gp_lambda=10.0), "weight clipping cannot be combined"),
        (dict(objective="lsgan", clip_value=0.01, r1_gamma=1.0), "weight clipping"),
        (dict(n_critic=0), "n_critic"),
        (dict(r1_every=0), "r1_every"),
        (dict(r1_gamma=-1.0), "penalty weights"),
        (dict(precision="fp8"), "unknown precision"),
        (dict(optimizer="sgd"), "unknown optimizer"),
        (dict(lr=0.0), "learning rate"),
        (dict(betas=(0.5, 1.0)), "betas"),
        (dict(pool_size=-1), "pool_size"),
        (dict(grad_clip=0.0), "grad_clip"),
        (dict(objective="lsgan", gp_one_sided=True), "gp_one_sided needs a gradient penalty"),
    ],
)
def test_config_rejects_nonsense(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GANConfig(**kwargs)


# ---------------------------------------------------------------------------------------------
# image pool


def _batch(start, n=2):
    """Images whose every pixel holds their serial number, so their origin is readable."""
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 3, 2, 2)


def _ids(batch):
    return batch[:, 0, 0, 0].long().tolist()


def test_pool_size_zero_passes_through():
    pool = ImagePool(0)
    x = _batch(0)
    assert pool.query(x) is x and len(pool) == 0


def test_pool_fills_then_swaps_with_probability_p(seed):
    pool = ImagePool(size=4, p=1.0, seed=1)
    assert _ids(pool.query(_batch(0))) == [0, 1]  # filling: new images come back
    assert _ids(pool.query(_batch(2))) == [2, 3]
    assert len(pool) == 4
    out = _ids(pool.query(_batch(4)))  # full, p = 1: every image is an older one
    assert all(i < 4 for i in out)
    stored = sorted(_ids(torch.cat(pool.images)))
    assert {4, 5} <= set(stored) and len(stored) == 4  # the new ones took their places

    never = ImagePool(size=2, p=0.0)
    never.query(_batch(0))
    assert _ids(never.query(_batch(10))) == [10, 11]  # p = 0: always the new image

    half = ImagePool(size=8, p=0.5, seed=seed)
    half.query(_batch(0, 8))
    out = _ids(half.query(_batch(1000, 2000)))
    swapped = sum(i != 1000 + j for j, i in enumerate(out))
    assert 900 < swapped < 1100  # binomial(2000, 0.5): 5 sigma is +-112


def test_pool_returns_detached_batch_of_same_shape():
    pool = ImagePool(size=3, p=0.5)
    x = torch.randn(5, 3, 8, 8, requires_grad=True)
    out = pool.query(x * 2)
    assert out.shape == x.shape and not out.requires_grad


def test_pool_state_round_trip_continues_identically():
    a = ImagePool(size=4, p=0.5, seed=7)
    for i in range(3):
        a.query(_batch(10 * i, 3))
    b = ImagePool(size=4, p=0.5, seed=99)
    b.load_state_dict(a.state_dict())
    for i in range(3, 6):
        assert _ids(a.query(_batch(10 * i, 3))) == _ids(b.query(_batch(10 * i, 3)))


def test_pool_rejects_bad_settings():
    with pytest.raises(ValueError, match="pool size"):
        ImagePool(-1)
    with pytest.raises(ValueError, match="probability"):
        ImagePool(4, p=1.5)


def test_core_builds_configured_pool_and_optimizer():
    core = AdversarialCore(GANConfig(pool_size=3, pool_p=0.25))
    pool = core.make_pool(seed=2)
    assert (pool.size, pool.p) == (3, 0.25)
    G, _ = _nets()
    opt = core.make_optimizer(G.parameters())
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["betas"] == (0.5, 0.999)

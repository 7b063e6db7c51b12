"""The seeds' claims about GAN training, checked on the core's own losses and steps.

1. JSD identity of the minimax game and vanishing saturating gradients.
2. Dirac-GAN: unregularised simultaneous/alternating gradient steps circle the equilibrium;
   R1 makes them converge (and the Jacobian eigenvalues say why).
3. WGAN-GP's critic on two Gaussians: unit gradient norm, value gap = Wasserstein-1 distance.
4. Mode coverage on a ring of 8 Gaussians (translate.gan.toy).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from translate.gan.adversarial import AdversarialCore, GANConfig
from translate.gan.losses import critic_input_gradient, get_objective

LOG4 = math.log(4.0)


# ---------------------------------------------------------------------------------------------
# 1. JSD identity


def _samples(probs: list[float], scale: int) -> torch.Tensor:
    """Point indices whose empirical distribution is exactly ``probs`` (rational weights)."""
    counts = [round(p * scale) for p in probs]
    assert sum(counts) == scale and all(
        abs(c - p * scale) < 1e-9 for c, p in zip(counts, probs, strict=True)
    )
    return torch.repeat_interleave(torch.arange(len(probs)), torch.tensor(counts))


def _minimax_value(p, q, logits, scale=8):
    """V(D, G) = E_p log D + E_q log(1 - D), through the objective's own D loss (= -V)."""
    real, fake = _samples(p, scale), _samples(q, scale)
    return -get_objective("minimax").d_loss(logits[real], logits[fake])


def _jsd(p, q):
    from scipy.spatial.distance import jensenshannon

    return jensenshannon(p, q) ** 2  # scipy returns the square root, natural log by default


@pytest.mark.parametrize(
    "p, q",
    [
        ([0.5, 0.25, 0.125, 0.125], [0.125, 0.375, 0.25, 0.25]),
        ([0.25, 0.25, 0.25, 0.25], [0.625, 0.125, 0.125, 0.125]),
        ([0.375, 0.125, 0.25, 0.25], [0.375, 0.125, 0.25, 0.25]),
    ],
)
def test_minimax_value_at_optimal_discriminator_is_2jsd_minus_log4(p, q):
    pt, qt = torch.tensor(p, dtype=torch.float64), torch.tensor(q, dtype=torch.float64)
    d_star = pt / (pt + qt)
    logits = torch.log(d_star / (1 - d_star)).requires_grad_(True)
    value = _minimax_value(p, q, logits)
    assert value.item() == pytest.approx(2 * _jsd(p, q) - LOG4, abs=1e-6)
    if p == q:
        assert value.item() == pytest.approx(-LOG4, abs=1e-12)
    else:
        assert value.item() > -LOG4 + 1e-3
    # D* = p / (p + q) is the best response: V is stationary there and any change lowers it
    (grad,) = torch.autograd.grad(value, logits)
    assert grad.abs().max() < 1e-12
    for delta in (0.3, -0.3):
        assert _minimax_value(p, q, logits.detach() + delta).item() < value.item()


def test_disjoint_supports_give_constant_value_and_vanishing_saturating_gradient():
    # disjoint supports: the value at D* is 2 log 2 - log 4 = 0, wherever the fake mass sits
    for q in ([0, 0, 0.5, 0.5], [0, 0, 0.75, 0.25]):
        logits = torch.tensor([40.0, 40.0, -40.0, -40.0], dtype=torch.float64)  # D* ~ 1, 0
        assert float(_minimax_value([0.5, 0.5, 0, 0], q, logits)) == pytest.approx(0, abs=1e-12)

    # a confident discriminator: real data at 0, generator output theta = 3, D(x) = -k(x - 1.5)
    k = 50.0
    grads = {}
    for name in ("minimax", "vanilla"):
        theta = torch.tensor([[3.0]], dtype=torch.float64, requires_grad=True)
        fake_logit = -k * (theta - 1.5)
        (grads[name],) = torch.autograd.grad(get_objective(name).g_loss(fake_logit), theta)
    assert abs(float(grads["minimax"])) < 1e-25  # saturating: the gradient vanishes
    assert float(grads["vanilla"]) == pytest.approx(k, rel=1e-9)  # non-saturating: it does not


# ---------------------------------------------------------------------------------------------
# 2. Dirac-GAN (Mescheder, Geiger & Nowozin 2018)


class LinearCritic(nn.Module):
    """D(x) = psi * x."""

    def __init__(self, psi: float):
        super().__init__()
        self.psi = nn.Parameter(torch.tensor([psi], dtype=torch.float64))

    def forward(self, x):
        return self.psi * x


class DiracGenerator(nn.Module):
    """A point mass at theta."""

    def __init__(self, theta: float):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([[theta]], dtype=torch.float64))

    def forward(self):
        return self.theta


REAL = torch.zeros(1, 1, dtype=torch.float64)  # data: point mass at 0


def _core(objective: str, r1_gamma: float = 0.0, lr: float = 0.2) -> AdversarialCore:
    cfg = GANConfig(
        objective=objective,
        r1_gamma=r1_gamma,
        d_loss_weight=1.0,
        n_critic=1,
        optimizer="adam",  # the tests below step with SGD; lr is all they read
        lr=lr,
    )
    return AdversarialCore(cfg)


def _field(core: AdversarialCore, theta: float, psi: float) -> np.ndarray:
    """The gradient vector field v = (-dL_G/dtheta, -dL_D/dpsi) of the core's losses."""
    G, D = DiracGenerator(theta), LinearCritic(psi)
    d_loss, _ = core.discriminator_loss(D, REAL, G())
    (g_psi,) = torch.autograd.grad(d_loss, D.psi)
    with core.frozen(D):
        g_loss = core.generator_loss(D, G())
    (g_theta,) = torch.autograd.grad(g_loss, G.theta)
    return -np.array([g_theta.item(), g_psi.item()])


def _jacobian(core: AdversarialCore, h: float = 1e-5) -> np.ndarray:
    cols = []
    for e in np.eye(2):
        cols.append((_field(core, *(h * e)) - _field(core, *(-h * e))) / (2 * h))
    return np.stack(cols, 1)


def _play(core: AdversarialCore, steps: int, start=(1.0, 1.0), simultaneous: bool = False):
    """Train the Dirac-GAN; returns the path of (theta, psi).

    simultaneous: both players step from the same point (plain SGD on both gradients).
    Otherwise the core's own loop: a D step with core.step, then, on the generator's turn, a G
    step through the frozen D."""
    G, D = DiracGenerator(start[0]), LinearCritic(start[1])
    opt_g = torch.optim.SGD(G.parameters(), lr=core.cfg.lr)
    opt_d = torch.optim.SGD(D.parameters(), lr=core.cfg.lr)
    path = []
    for _ in range(steps):
        d_loss, _ = core.discriminator_loss(D, REAL, G())
        if simultaneous:
            with core.frozen(D):
                g_loss = core.generator_loss(D, G())
            opt_g.zero_grad()
            opt_d.zero_grad()
            d_loss.backward()
            g_loss.backward()
            opt_d.step()
            opt_g.step()
            core.clip_weights([D])
        else:
            core.step(d_loss, opt_d, [D], discriminator=True)
            if core.generator_turn():
                with core.frozen(D):
                    g_loss = core.generator_loss(D, G())
                core.step(g_loss, opt_g, [G])
        path.append((G.theta.item(), D.psi.item()))
    return np.array(path)


def _simultaneous(core, steps, start=(1.0, 1.0)):
    return _play(core, steps, start, simultaneous=True)


def _alternating(core, steps, start=(1.0, 1.0)):
    return _play(core, steps, start, simultaneous=False)


def _winding(path: np.ndarray) -> float:
    """Total angle swept around (0, 0), in turns."""
    angles = np.unwrap(np.arctan2(path[:, 1], path[:, 0]))
    return abs(angles[-1] - angles[0]) / (2 * math.pi)


@pytest.mark.parametrize("objective", ["minimax", "vanilla"])
def test_dirac_gan_simultaneous_steps_circle_without_r1_and_converge_with_it(objective):
    near = _simultaneous(_core(objective), 400, start=(0.1, 0.1))
    radius = np.hypot(*near.T)
    assert radius[-1] > 2 * math.hypot(0.1, 0.1)  # spirals away from the equilibrium
    assert _winding(near[-200:]) > 1  # ... while circling it
    far = _simultaneous(_core(objective), 300, start=(1.0, 1.0))
    # the saturating game keeps its radius growing; the non-saturating one shrinks onto a
    # limit cycle (its field is dissipative away from 0) but never reaches (0, 0) either
    assert np.hypot(*far[-150:].T).min() > 0.3
    if objective == "minimax":
        assert np.hypot(*far[-1]) >= math.hypot(1.0, 1.0)

    for start in ((0.1, 0.1), (1.0, 1.0)):
        path = _simultaneous(_core(objective, r1_gamma=1.0), 300, start=start)
        assert np.hypot(*path[-1]) < 1e-3  # R1: converges to (theta, psi) = (0, 0)


@pytest.mark.parametrize("objective", ["minimax", "vanilla"])
def test_dirac_gan_core_loop_converges_only_with_r1(objective):
    """The same with the core's alternating loop (core.step, generator_turn, frozen)."""
    plain = np.hypot(*_alternating(_core(objective), 400).T)
    regularised = np.hypot(*_alternating(_core(objective, r1_gamma=1.0), 400).T)
    assert regularised[-1] < 1e-3
    assert plain[-1] > 0.1  # still far after the same number of steps
    if objective == "minimax":
        assert plain.min() > 0.9 * math.hypot(1.0, 1.0)  # a closed orbit: no progress at all


def test_dirac_gan_wgan_does_not_converge():
    start = (0.005, 0.005)  # inside the clipping box c = 0.01
    r0 = math.hypot(*start)
    core = _core("wgan")
    assert core.cfg.clip_value == 0.01  # the published weight clipping
    path = _simultaneous(core, 600, start=start)
    assert np.abs(path[:, 1]).max() <= 0.01 + 1e-12  # the critic stays clipped
    radius = np.hypot(*path.T)
    assert radius[-1] > r0 and radius[-300:].min() > 0.9 * r0  # no approach to (0, 0)
    assert _winding(path[-300:]) > 2
    alternating = np.hypot(*_alternating(_core("wgan", lr=0.05), 400, start=start).T)
    assert alternating.min() > 0.9 * r0  # the core's loop: a closed orbit
    # the unconstrained Wasserstein game spirals outwards from anywhere
    plain = AdversarialCore(GANConfig(objective="wgangp", gp_lambda=0.0, d_loss_weight=1.0, lr=0.2))
    path = _simultaneous(plain, 300, start=(1.0, 1.0))
    assert np.hypot(*path[-1]) > math.hypot(1.0, 1.0)


@pytest.mark.parametrize("objective, fprime", [("minimax", 0.5), ("vanilla", 0.5)])
@pytest.mark.parametrize("gamma", [0.0, 0.3, 2.0])  # distinct eigenvalues (not gamma = 1)
def test_dirac_gan_jacobian_eigenvalues(objective, fprime, gamma):
    eig = np.linalg.eigvals(_jacobian(_core(objective, r1_gamma=gamma)))
    expected = np.roots([1, gamma, fprime**2])  # lambda^2 + gamma lambda + f'(0)^2 = 0
    assert np.sort_complex(eig) == pytest.approx(np.sort_complex(expected), abs=1e-6)
    if gamma == 0:
        assert np.abs(eig.real).max() < 1e-8  # purely imaginary: +-f'(0) i
        assert np.sort(eig.imag) == pytest.approx([-fprime, fprime], abs=1e-8)
    else:
        assert eig.real.max() < 0  # R1: locally convergent


def test_dirac_gan_wasserstein_jacobian_is_a_rotation():
    core = AdversarialCore(GANConfig(objective="wgangp", gp_lambda=0.0, d_loss_weight=1.0))
    eig = np.linalg.eigvals(_jacobian(core))
    assert np.abs(eig.real).max() < 1e-8
    assert np.sort(eig.imag) == pytest.approx([-1.0, 1.0], abs=1e-8)


# ---------------------------------------------------------------------------------------------
# 3. WGAN-GP critic on two Gaussians


def test_wgangp_critic_estimates_wasserstein_distance(one_thread, seed):
    """Equal covariances: W1 = |mu1 - mu2|, reached by a linear critic of slope 1. The penalty is
    soft: the best linear critic under it has slope s = 1 + W1 / (2 lambda) (maximise
    s W1 - lambda (s - 1)^2), so the means are chosen 1 apart (s = 1.05)."""
    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed + 1)
    mu_real, mu_fake = torch.tensor([0.4, 0.3]), torch.tensor([-0.4, -0.3])
    w1 = float((mu_real - mu_fake).norm())
    core = AdversarialCore(
        GANConfig(objective="wgangp", d_loss_weight=1.0, lr=1e-3, betas=(0.5, 0.9))
    )
    slope = 1 + w1 / (2 * core.cfg.gp_lambda)
    D = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    opt = core.make_optimizer(D.parameters())
    for _ in range(400):
        real = mu_real + torch.randn(256, 2, generator=rng)
        fake = mu_fake + torch.randn(256, 2, generator=rng)
        loss, logs = core.discriminator_loss(D, real, fake)
        core.step(loss, opt, [D], discriminator=True)
    assert "GP" in logs
    real = mu_real + torch.randn(20000, 2, generator=rng)
    fake = mu_fake + torch.randn(20000, 2, generator=rng)
    eps = torch.rand(20000, 1, generator=rng)
    norms = critic_input_gradient(D, eps * real + (1 - eps) * fake, create_graph=False).norm(dim=1)
    assert float(norms.median()) == pytest.approx(1.0, abs=0.1)
    with torch.no_grad():
        estimate = float(D(real).mean() - D(fake).mean())
    assert estimate == pytest.approx(w1, rel=0.2)
    assert estimate == pytest.approx(w1 * slope, rel=0.05)

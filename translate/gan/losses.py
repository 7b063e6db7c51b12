"""GAN objectives and discriminator regularisers: the loss half of the adversarial core.

Every objective works on raw discriminator outputs (logits; PatchGAN maps are averaged over
patches) and gives a discriminator loss and a generator loss, both to be minimised. Objectives sit
in a registry so configs and the CLI select them by name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError


class Objective(ABC):
    """A two-player GAN game. ``d_loss`` is what D minimises, ``g_loss`` what G minimises.

    The attributes say what the objective expects from the rest of the core: Wasserstein critics
    want several critic steps per generator step and a Lipschitz constraint (weight clipping or a
    gradient penalty)."""

    name: str = ""
    default_n_critic: int = 1
    default_clip: float | None = None
    default_gp_lambda: float = 0.0
    default_optimizer: str = "adam"
    default_lr: float = 2e-4
    default_betas: tuple[float, float] = (0.5, 0.999)
    decision: float = 0.0  # D's output between "real" and "fake" (adaptive augmentation)

    @abstractmethod
    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor: ...

    @abstractmethod
    def g_loss(self, fake: torch.Tensor) -> torch.Tensor: ...


OBJECTIVES: dict[str, type[Objective]] = {}


def register_objective(*names: str):
    def wrap(cls):
        cls.name = names[0]
        for n in names:
            OBJECTIVES[n] = cls
        return cls

    return wrap


def get_objective(name: str) -> Objective:
    if name not in OBJECTIVES:
        raise ConfigError(f"unknown GAN objective {name!r}; choose one of {', '.join(OBJECTIVES)}")
    return OBJECTIVES[name]()


@register_objective("minimax")
class Minimax(Objective):
    """The original saturating game (Goodfellow et al. 2014): D maximises
    log D(x) + log(1 - D(G(z))), G minimises log(1 - D(G(z))). Its generator gradient vanishes
    when D confidently rejects fakes; kept for teaching and comparison."""

    def d_loss(self, real, fake):
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def g_loss(self, fake):
        return -F.softplus(fake).mean()  # log(1 - sigmoid(f)) = -softplus(f)


@register_objective("vanilla", "nonsaturating")
class NonSaturating(Minimax):
    """Same discriminator; G maximises log D(G(z)) instead (BCE with logits). pix2pix's
    'vanilla'."""

    def g_loss(self, fake):
        return F.softplus(-fake).mean()


@register_objective("lsgan")
class LeastSquares(Objective):
    """Least-squares GAN (Mao et al. 2017) with targets 1 (real) and 0 (fake); CycleGAN's
    default."""

    decision = 0.5

    def d_loss(self, real, fake):
        return (real - 1).pow(2).mean() + fake.pow(2).mean()

    def g_loss(self, fake):
        return (fake - 1).pow(2).mean()


@register_objective("wgan")
class Wasserstein(Objective):
    """Wasserstein critic (Arjovsky et al. 2017) kept Lipschitz by clipping its weights to
    [-0.01, 0.01], with 5 critic steps per generator step."""

    default_n_critic = 5
    default_clip = 0.01
    default_optimizer = "rmsprop"
    default_lr = 5e-5

    def d_loss(self, real, fake):
        return fake.mean() - real.mean()

    def g_loss(self, fake):
        return -fake.mean()


@register_objective("wgangp")
class WassersteinGP(Wasserstein):
    """WGAN with a gradient penalty on random interpolates, lambda = 10 (Gulrajani et al.
    2017)."""

    default_clip = None
    default_gp_lambda = 10.0
    default_optimizer = "adam"
    default_lr = 1e-4
    default_betas = (0.0, 0.9)


@register_objective("hinge")
class Hinge(Objective):
    """Hinge loss (Lim & Ye 2017; SAGAN, BigGAN): D pushes real logits above +1 and fake ones
    below -1; G raises fake logits."""

    def d_loss(self, real, fake):
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def g_loss(self, fake):
        return -fake.mean()


# --------------------------------------------------------------------------------------------
# Regularisers. PatchGAN outputs a map of logits; the scalar critic value of an image is the mean
# of its map, consistent with the objectives above.


def critic_input_gradient(D: nn.Module, x: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
    """Per-sample gradient (N, features) of the (patch-averaged) critic value with respect to its
    input. ``create_graph`` keeps the graph so a penalty on it can be backpropagated."""
    x = x.detach().requires_grad_(True)
    out = D(x).flatten(1).mean(1)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=create_graph)
    return grad.flatten(1)


def gradient_penalty(
    D: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    one_sided: bool = False,
    target: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """E[(||grad D(x_hat)|| - 1)^2] on random interpolates x_hat = e*real + (1-e)*fake
    (WGAN-GP). One-sided: only norms above the target are penalised."""
    if real.shape != fake.shape:
        raise ValueError(f"real and fake batches differ in shape: {real.shape} vs {fake.shape}")
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), generator=generator)
    eps = eps.to(real.device, real.dtype)
    x_hat = eps * real.detach() + (1 - eps) * fake.detach()
    norms = critic_input_gradient(D, x_hat).norm(2, dim=1)
    excess = norms - target
    if one_sided:
        excess = F.relu(excess)
    return excess.pow(2).mean()


def r1_penalty(D: nn.Module, real: torch.Tensor) -> torch.Tensor:
    """E_real ||grad_x D(x)||^2 (Mescheder et al. 2018), without the gamma/2 factor. It touches
    real samples only: the penalty that makes GAN training locally convergent."""
    return critic_input_gradient(D, real).pow(2).sum(1).mean()

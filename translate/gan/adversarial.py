"""The adversarial core: one place for what pix2pix and CycleGAN share.

A trainer builds its networks and optimisers, then for every batch calls, in its own order,
``core.discriminator_loss`` / ``core.generator_loss`` to get losses from the chosen objective and
regularisers, and ``core.step`` to run backward, clipping and the optimiser under AMP. Freezing D
while G steps (``core.frozen``), the n_critic alternation (``core.generator_turn``) and weight
clipping for WGAN live here, not in the trainers.
"""

from __future__ import annotations

import contextlib
import functools
import platform
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields

import torch
from torch import nn

from ..errors import ConfigError
from .diffaugment import DiffAugment, parse_policy
from .losses import OBJECTIVES, get_objective, gradient_penalty, r1_penalty
from .pool import ImagePool

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
OPTIMIZERS = ("adam", "rmsprop")


def _objective_default(text: str, **more) -> dict:
    """Metadata of a field whose ``None`` default is the objective's published value."""
    return {"help": text, "derived_from": "objective", **more}


@dataclass
class GANConfig:
    """Adversarial training options. ``None`` means the objective's published default:

    - pix2pix/CycleGAN objectives (minimax, vanilla, lsgan, hinge): 1 D step per G step, Adam
      lr 2e-4, betas (0.5, 0.999);
    - wgan: clip 0.01, 5 critic steps, RMSProp lr 5e-5 (Arjovsky et al. 2017);
    - wgangp: lambda 10, 5 critic steps, Adam lr 1e-4, betas (0, 0.9) (Gulrajani et al. 2017).
    """

    objective: str = field(
        default="lsgan",
        metadata={"help": "GAN objective", "flag": "--gan-mode", "choices": tuple(OBJECTIVES)},
    )
    n_critic: int | None = field(default=None, metadata=_objective_default("D steps per G step"))
    clip_value: float | None = field(  # the weight clipping bound c
        default=None, metadata=_objective_default("WGAN weight clipping bound")
    )
    gp_lambda: float | None = field(  # two-sided unless gp_one_sided
        default=None, metadata=_objective_default("gradient penalty weight")
    )
    gp_one_sided: bool = False
    r1_gamma: float = field(  # R1 = gamma/2 * E_real ||grad D||^2
        default=0.0, metadata={"help": "R1 penalty weight (0: off)"}
    )
    r1_every: int = field(  # the penalty is scaled by k
        default=1, metadata={"help": "lazy R1: apply every k D steps"}
    )
    d_loss_weight: float = 0.5  # the reference halves D's loss to slow it relative to G
    grad_clip: float | None = field(  # for every optimiser step
        default=None, metadata={"help": "max gradient norm (off if not given)"}
    )
    precision: str = field(  # a run records the resolved value (never "auto") in its config
        default="auto",
        metadata={
            "help": "autocast dtype of the networks' forward passes; auto: bf16 on a CPU with "
            "native bf16, else fp32 (fp16: CUDA only)",
            "choices": PRECISIONS,
            "resumable": True,
        },
    )
    channels_last: bool = field(default=False, metadata={"help": "channels-last memory layout"})
    compile: bool = field(
        default=False,
        metadata={
            "help": "torch.compile the networks (a minute or more to start, faster steps)",
            "resumable": True,
        },
    )
    optimizer: str | None = field(
        default=None, metadata=_objective_default("optimiser of G and D", choices=OPTIMIZERS)
    )
    lr: float | None = field(
        default=None, metadata=_objective_default("initial learning rate of G and D")
    )
    betas: tuple[float, float] | None = field(
        default=None, metadata=_objective_default("Adam's beta1 beta2")
    )
    pool_size: int = field(  # CycleGAN: 50; pix2pix: 0
        default=50, metadata={"help": "history of fakes shown to D (0: off)"}
    )
    pool_p: float = 0.5  # probability that a fake is swapped for a stored one
    diffaugment: str = field(
        default="",
        metadata={"help": "DiffAugment policy for all D inputs, e.g. color,translation,cutout"},
    )
    diffaugment_p: float = field(  # with ada_target > 0, p starts at 0 and adapts
        default=1.0, metadata={"help": "probability of each DiffAugment operation per image"}
    )
    ada_target: float = field(  # Karras et al. 2020 use 0.6
        default=0.0,
        metadata={
            "help": "adapt the DiffAugment probability to keep E[sign D(real)] here (0: off)"
        },
    )

    def __post_init__(self):
        objective = get_objective(self.objective)  # raises on unknown names
        for name, default in (
            ("n_critic", objective.default_n_critic),
            ("clip_value", objective.default_clip),
            ("gp_lambda", objective.default_gp_lambda),
            ("optimizer", objective.default_optimizer),
            ("lr", objective.default_lr),
            ("betas", objective.default_betas),
        ):
            if getattr(self, name) is None:
                setattr(self, name, default)
        self.betas = tuple(float(b) for b in self.betas)
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(
                f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
            )
        if not self.lr > 0:
            raise ConfigError(f"learning rate must be > 0, got {self.lr}")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"betas must be two numbers in [0, 1), got {self.betas}")
        if self.pool_size < 0 or not 0.0 <= self.pool_p <= 1.0:
            raise ConfigError(
                f"pool_size must be >= 0 and pool_p in [0, 1], got {self.pool_size}, {self.pool_p}"
            )
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ConfigError(f"grad_clip must be > 0 (or None = off), got {self.grad_clip}")
        if self.d_loss_weight <= 0:
            raise ConfigError(f"d_loss_weight must be > 0, got {self.d_loss_weight}")
        if self.n_critic < 1:
            raise ConfigError(f"n_critic must be >= 1, got {self.n_critic}")
        if self.r1_every < 1:
            raise ConfigError(f"r1_every must be >= 1, got {self.r1_every}")
        if min(self.gp_lambda, self.r1_gamma) < 0:
            raise ConfigError("penalty weights (gp_lambda, r1_gamma) must be >= 0")
        if self.clip_value is not None and (self.r1_gamma > 0 or self.gp_lambda > 0):
            raise ConfigError(
                "weight clipping cannot be combined with a gradient penalty or R1: both constrain "
                "the critic's gradients, and clipping defeats the penalty (use the 'wgangp' "
                "objective for a penalised Wasserstein critic)"
            )
        if self.gp_one_sided and self.gp_lambda == 0:
            raise ConfigError("gp_one_sided needs a gradient penalty (gp_lambda > 0)")
        if self.clip_value is not None and self.clip_value <= 0:
            raise ConfigError(f"clip_value must be > 0, got {self.clip_value}")
        parse_policy(self.diffaugment)
        if not 0.0 <= self.diffaugment_p <= 1.0 or not 0.0 <= self.ada_target < 1.0:
            raise ConfigError(
                f"diffaugment_p must be in [0, 1] and ada_target in [0, 1), got "
                f"{self.diffaugment_p}, {self.ada_target}"
            )
        if self.ada_target > 0 and not self.diffaugment:
            raise ConfigError("ada_target needs a DiffAugment policy (--diffaugment)")
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}"
            )

    def to_dict(self) -> dict:
        """Plain JSON-able values (the resolved defaults, so a saved run is explicit)."""
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> GANConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error naming them."""
        if "amp" in d:  # configs saved before --precision: amp off|bf16|fp16
            d = {**d, "precision": {"off": "fp32"}.get(d["amp"], d["amp"])}
            del d["amp"]
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"unknown GAN config keys: {', '.join(unknown)}")
        return cls(**d)


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (x86: avx512_bf16 or AMX; ARM: the bf16
    feature). Elsewhere PyTorch emulates bf16 with fp32 arithmetic, which is slower than fp32."""
    try:
        with open("/proc/cpuinfo") as f:
            words = set(f.read().split())
    except OSError:  # macOS, Windows: no cheap check, so no bf16 by default
        return False
    if platform.machine().lower() in ("aarch64", "arm64"):
        return "bf16" in words
    return bool(words & {"avx512_bf16", "amx_bf16"})


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """The dtype a run uses on ``device``: "auto" becomes bf16 on a CPU with native bf16 and
    fp32 elsewhere; fp16 needs CUDA (CPU fp16 autocast is emulated and slow)."""
    device = torch.device(device)
    if precision == "auto":
        return "bf16" if device.type == "cpu" and cpu_has_native_bf16() else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError(f"precision fp16 needs a CUDA device, not {device.type}")
    return precision


def set_requires_grad(nets: Iterable[nn.Module], flag: bool) -> None:
    for net in nets:
        for p in net.parameters():
            p.requires_grad_(flag)


def eager(net: nn.Module) -> nn.Module:
    """The module behind a ``torch.compile`` wrapper: penalties differentiate twice, which
    compiled graphs do not support."""
    return getattr(net, "_orig_mod", net)


class AdversarialCore:
    """Losses, regularisers and optimiser steps of GAN training, for any number of (G, D)
    pairs. Stateless apart from the D-step counter (for lazy R1 and n_critic) and the GradScaler,
    both of which are in ``state_dict``.

    One discriminator update = one ``step(..., discriminator=True)``, however many
    discriminators there are: CycleGAN sums the losses of D_A and D_B and steps one optimiser
    over both (as the reference does), so both see the same n_critic and lazy-R1 schedule."""

    def __init__(self, cfg: GANConfig, device: torch.device | str = "cpu", seed: int = 0):
        self.cfg = cfg
        self.objective = get_objective(cfg.objective)
        self.device = torch.device(device)
        self.precision = resolve_precision(cfg.precision, self.device)
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.d_steps = 0
        self.augment = DiffAugment(cfg.diffaugment, cfg.diffaugment_p, cfg.ada_target, seed)

    # -- networks -----------------------------------------------------------------------------
    def prepare(self, net: nn.Module) -> nn.Module:
        """Move to the device and apply the opt-in speed switches. Returns the module to call;
        keep the original for state dicts (compiled modules prefix their keys)."""
        net = net.to(self.device)
        if self.cfg.channels_last:
            net = net.to(memory_format=torch.channels_last)
        if self.cfg.compile:
            return torch.compile(net)
        return net

    def make_optimizer(self, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
        """The configured optimiser (Adam or RMSProp) with the configured lr / betas. Adam uses
        the fused kernel where the device has one (CPU, CUDA, MPS): the same algorithm in one
        pass over all parameters instead of a chain of per-tensor ops (~1.2x on a pix2pix step)."""
        params = list(params)
        if self.cfg.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=self.cfg.lr)
        if self.device.type in ("cpu", "cuda", "mps"):
            try:
                return torch.optim.Adam(params, lr=self.cfg.lr, betas=self.cfg.betas, fused=True)
            except (RuntimeError, TypeError):
                pass
        return torch.optim.Adam(params, lr=self.cfg.lr, betas=self.cfg.betas)

    def make_pool(self, seed: int = 0) -> ImagePool:
        """An image pool of the configured size (size 0 passes fakes straight through)."""
        return ImagePool(self.cfg.pool_size, self.cfg.pool_p, seed=seed)

    @contextlib.contextmanager
    def frozen(self, *nets: nn.Module) -> Iterator[None]:
        """D receives no gradients while G is optimised through it. Parameters that were
        already frozen (e.g. a fixed feature network) stay frozen afterwards."""
        params = [p for net in nets for p in net.parameters()]
        before = [p.requires_grad for p in params]
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p, flag in zip(params, before, strict=True):
                p.requires_grad_(flag)

    def autocast(self):
        """Mixed precision for the networks' forward passes (losses are taken in fp32)."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def generator_turn(self) -> bool:
        """True when the generator steps after the latest discriminator step (every n_critic
        D steps). With n_critic = 1, every iteration."""
        return self.d_steps % self.cfg.n_critic == 0

    # -- losses -------------------------------------------------------------------------------
    def discriminator_loss(
        self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Objective plus regularisers for one discriminator; ``fake`` is detached here. The
        returned loss is already weighted by ``d_loss_weight``."""
        cfg = self.cfg
        fake = fake.detach()
        r1_now = cfg.r1_gamma > 0 and self.d_steps % cfg.r1_every == 0
        if self.augment:  # D sees only augmented images; the penalties too
            real, fake = self.augment(real), self.augment(fake)
        with self.autocast():
            real_logits = D(real)
            fake_logits = D(fake)
            loss = self.objective.d_loss(real_logits.float(), fake_logits.float())
        self.augment.observe(torch.sign(real_logits.detach().float() - self.objective.decision))
        logs = {
            "D": loss.item(),
            "D_real": real_logits.float().mean().item(),
            "D_fake": fake_logits.float().mean().item(),
        }
        if cfg.ada_target > 0:
            logs["aug_p"] = self.augment.p
        total = loss
        # Penalties run in fp32: double backward through autocast is fragile and they are cheap.
        if cfg.gp_lambda > 0:
            gp = gradient_penalty(eager(D), real.float(), fake.float(), one_sided=cfg.gp_one_sided)
            total = total + cfg.gp_lambda * gp
            logs["GP"] = gp.item()
        if r1_now:
            r1 = r1_penalty(eager(D), real.float())
            total = total + cfg.r1_gamma / 2 * cfg.r1_every * r1
            logs["R1"] = r1.item()
        return total * cfg.d_loss_weight, logs

    def generator_loss(self, D: nn.Module, fake: torch.Tensor) -> torch.Tensor:
        """The adversarial term of the generator's loss; call inside ``frozen(D)``."""
        if self.augment:
            fake = self.augment(fake)
        with self.autocast():
            return self.objective.g_loss(D(fake).float())

    # -- optimisation -------------------------------------------------------------------------
    def step(
        self,
        loss: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        nets: Iterable[nn.Module],
        discriminator: bool = False,
    ) -> None:
        """Backward, optional gradient clipping, optimiser step (through the GradScaler under
        fp16). A discriminator step also counts towards n_critic / lazy R1 and applies WGAN
        weight clipping."""
        nets = list(nets)
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.cfg.grad_clip is not None:
            self.scaler.unscale_(optimizer)
            params = [p for net in nets for p in net.parameters() if p.grad is not None]
            torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip)
        self.scaler.step(optimizer)
        self.scaler.update()
        if discriminator:
            self.d_steps += 1
            self.clip_weights(nets)

    @torch.no_grad()
    def clip_weights(self, nets: Iterable[nn.Module]) -> None:
        """WGAN's Lipschitz constraint: clamp every critic weight to [-c, c] (no-op unless the
        config clips)."""
        c = self.cfg.clip_value
        if c is None:
            return
        for net in nets:
            for p in net.parameters():
                p.clamp_(-c, c)

    def state_dict(self) -> dict:
        return {
            "d_steps": self.d_steps,
            "scaler": self.scaler.state_dict(),
            "augment": self.augment.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.d_steps = int(state["d_steps"])
        if "augment" in state:  # checkpoints from before DiffAugment have none
            self.augment.load_state_dict(state["augment"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])

"""What every trainer shares (networks on a device, wrapped for DDP and torch.compile when
asked; optimisers; image pools; their state for checkpoints) and the registry of trainers.

A trainer is one module: a subclass of :class:`TranslationModel` registered by name, the way
networks (``translate.gan.nets``) and GAN objectives (``translate.gan.losses``) are::

    @register_trainer("pix2pix")
    class Pix2Pix(TranslationModel):
        paired = True                       # trains on aligned A|B pairs
        title = ""                          # its name in documents, if not "pix2pix"

        @classmethod
        def default_config(cls) -> TrainConfig: ...   # its published defaults

        @classmethod
        def generators(cls, cfg) -> dict[str, GeneratorSpec]: ...

        @classmethod
        def check_config(cls, cfg) -> None: ...       # optional: reject what it cannot train

        def __init__(self, cfg, device, dist=None): ...  # add_net / add_optimizer / add_pool
        def train_step(self, batch): ...    # on the adversarial core
        def visuals(self, batch): ...
        def heldout_losses(self, batch): ...

Nothing outside the trainer tests its name: the data, checkpoints (which save every network in
``nets``), ``translate test``, export and ``translate release`` ask the class
(:func:`get_trainer` of ``TrainConfig.model``) whether it is ``paired`` and which
:class:`GeneratorSpec` it trains per direction ("AtoB", "BtoA"): the network's name in the
checkpoint, its config, and the domains it translates from and to. The first direction is the
default one. :func:`trainer_names` lists the choices for the command line.

Built-in trainers are the modules named in ``BUILTIN``, imported on the first lookup (a new one
is its module, its tests and its name there); a trainer defined anywhere else (a plugin, a test)
registers when its module is imported.

A subclass builds its networks with :meth:`TranslationModel.add_net` and implements
``train_step`` (the order of updates and the task losses) on top of the adversarial core; the
objective, penalties, freezing of D and the optimiser step all live in the core.
"""

from __future__ import annotations

import importlib
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from ..errors import ConfigError
from ..gan.adversarial import AdversarialCore, GANConfig
from ..gan.nets import GeneratorConfig
from ..gan.pool import ImagePool
from .config import TrainConfig

# Modules of translate.training that hold the built-in trainers (imported on the first lookup).
BUILTIN = ("pix2pix", "cyclegan")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA if available, then Apple MPS, then CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available here")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {name!r} requested but MPS is not available here")
    return device


@dataclass
class Dist:
    """This process's place in a torchrun job (rank 0 of 1 without torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> Dist:
        return cls(
            rank=int(os.environ.get("RANK", 0)),
            world_size=int(os.environ.get("WORLD_SIZE", 1)),
            local_rank=int(os.environ.get("LOCAL_RANK", 0)),
        )


def make_optimizer(params, cfg: GANConfig, device: torch.device) -> torch.optim.Optimizer:
    """The core's configured optimiser (fused Adam where the device has it)."""
    return AdversarialCore(cfg, device).make_optimizer(params)


@dataclass(frozen=True)
class GeneratorSpec:
    """One generator a run trains, as checkpoints, export and inference see it."""

    net: str  # its name in ``TranslationModel.nets`` and the checkpoint (``G.safetensors``)
    config: GeneratorConfig
    source: str  # domain names: what it takes, what it makes
    target: str


TRAINERS: dict[str, type[TranslationModel]] = {}


def register_trainer(name: str):
    """Class decorator: make a :class:`TranslationModel` subclass the trainer ``name``
    (``TrainConfig.model``, ``translate train NAME``)."""

    def wrap(cls: type[TranslationModel]) -> type[TranslationModel]:
        if TRAINERS.get(name, cls) is not cls:
            raise ValueError(f"trainer {name!r} is already registered ({TRAINERS[name]})")
        cls.name = name
        TRAINERS[name] = cls
        return cls

    return wrap


def _load_builtin() -> None:
    for module in BUILTIN:
        importlib.import_module(f"{__package__}.{module}")


def trainer_names() -> list[str]:
    """The registered trainers, built-in ones first."""
    _load_builtin()
    return list(TRAINERS)


def get_trainer(name: str) -> type[TranslationModel]:
    """The trainer class registered as ``name``."""
    if name not in TRAINERS:
        _load_builtin()
    if name not in TRAINERS:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(TRAINERS)}")
    return TRAINERS[name]


class TranslationModel(ABC):
    """Base of the trainers. ``nets`` holds the plain modules (checkpoints save these);
    ``train_nets`` the modules to call while training (DDP-wrapped and/or compiled);
    ``frozen_nets`` what a discriminator is called through while the generator steps (without
    DDP: D gets no gradients then, so DDP must not wait for them)."""

    name: ClassVar[str] = ""  # set by register_trainer
    title: ClassVar[str] = ""  # how documents name it ("CycleGAN"); the name when empty
    paired: ClassVar[bool] = True  # aligned A|B pairs (else unpaired A and B folders)
    loss_keys: tuple[str, ...] = ()
    plateau_key: str = ""  # the epoch-mean loss a plateau lr schedule watches

    # -- what the class tells the rest of the package -----------------------------------------
    @classmethod
    @abstractmethod
    def default_config(cls) -> TrainConfig:
        """The published defaults (``translate train NAME`` starts from these)."""

    @classmethod
    @abstractmethod
    def generators(cls, cfg: TrainConfig) -> dict[str, GeneratorSpec]:
        """Direction ("AtoB" / "BtoA") -> the generator trained for it under ``cfg``; the first
        is the default direction."""

    @classmethod
    def check_config(cls, cfg: TrainConfig) -> None:
        """Reject settings this trainer cannot train (``TrainConfig`` calls it); by default
        every setting is fine."""
        return

    @classmethod
    def data_channels(cls, cfg: TrainConfig) -> tuple[int, int]:
        """(channels of A images, channels of B images), read off the default generator."""
        direction, spec = next(iter(cls.generators(cfg).items()))
        c = spec.config
        return (c.input_nc, c.output_nc) if direction == "AtoB" else (c.output_nc, c.input_nc)

    def __init__(self, cfg: TrainConfig, device: torch.device, dist: Dist | None = None):
        self.cfg, self.device, self.dist = cfg, device, dist or Dist()
        # DiffAugment's stream: per rank, apart from the pools' (seed * 1000 + 10 * rank + i).
        self.core = AdversarialCore(cfg.gan, device, seed=cfg.seed * 1000 + 10 * self.dist.rank + 9)
        self.nets: dict[str, nn.Module] = {}
        self.train_nets: dict[str, nn.Module] = {}
        self.frozen_nets: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.pools: dict[str, ImagePool] = {}

    # -- building -----------------------------------------------------------------------------
    def add_net(self, name: str, net: nn.Module) -> None:
        net = net.to(self.device)
        if self.dist.enabled and self.cfg.sync_bn:
            net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
        self.nets[name] = net
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            if self.cfg.gan.channels_last:
                net.to(memory_format=torch.channels_last)
            ids = [self.device.index or 0] if self.device.type == "cuda" else None
            self.train_nets[name] = self.core.prepare(DDP(net, device_ids=ids))
            self.frozen_nets[name] = self.core.prepare(net)
        else:
            self.train_nets[name] = self.frozen_nets[name] = self.core.prepare(net)

    def add_optimizer(self, name: str, *net_names: str) -> None:
        params = [p for n in net_names for p in self.nets[n].parameters()]
        self.optimizers[name] = make_optimizer(params, self.cfg.gan, self.device)

    def add_pool(self, name: str, index: int) -> None:
        # Each pool (and each rank) draws from its own seeded stream.
        seed = self.cfg.seed * 1000 + 10 * self.dist.rank + index
        self.pools[name] = self.core.make_pool(seed)

    def set_train(self, flag: bool) -> None:
        for net in self.nets.values():
            net.train(flag)

    def generator_steps_now(self) -> bool:
        """Whether the generator will step after this iteration's discriminator step
        (every n_critic discriminator steps)."""
        return (self.core.d_steps + 1) % self.core.cfg.n_critic == 0

    def to_device(self, batch: dict, *keys: str) -> list[torch.Tensor]:
        non_blocking = self.device.type == "cuda"  # the loader pins memory for CUDA
        layout = torch.channels_last if self.cfg.gan.channels_last else torch.contiguous_format
        return [
            batch[k].to(self.device, non_blocking=non_blocking, memory_format=layout) for k in keys
        ]

    # -- what subclasses provide ---------------------------------------------------------------
    @abstractmethod
    def train_step(self, batch: dict) -> dict[str, float]:
        """One iteration (D and G updates in the model's order); losses as floats."""

    @abstractmethod
    def visuals(self, batch: dict) -> tuple[list[str], list[torch.Tensor]]:
        """Column titles and (N, C, H, W) tensors for a sample sheet, generators in eval mode."""

    @abstractmethod
    def heldout_losses(self, batch: dict) -> dict[str, float]:
        """Losses on held-out images (generators in eval mode), for the log."""

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "pools": {k: p.state_dict() for k, p in self.pools.items()},
            "core": self.core.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        for k, p in self.pools.items():
            p.load_state_dict(state["pools"][k], device=self.device)
        self.core.load_state_dict(state["core"])

    def max_rank_difference(self) -> float:
        """Under torchrun: the largest difference of any parameter between this rank and rank 0
        (0.0 when DDP keeps the ranks in sync). Collective: every rank must call it."""
        if not self.dist.enabled:
            return 0.0
        import torch.distributed as dist

        worst = torch.zeros((), device=self.device)
        for net in self.nets.values():
            for p in net.parameters():
                ref = p.detach().clone()
                dist.broadcast(ref, src=0)
                worst = torch.maximum(worst, (p.detach() - ref).abs().max())
        dist.all_reduce(worst, op=dist.ReduceOp.MAX)
        return float(worst)

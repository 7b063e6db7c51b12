"""The training configuration: one dataclass tree, saved as ``config.json`` in the run folder.

Everything a run needs to be rebuilt (networks, data preparation, objective, schedule) is here, so
``translate train --resume``, ``translate test``, export and inference read the run folder and need
no flags. Defaults are the reference's published ones for each model (:func:`default_config`);
presets (translate/presets.py) and command-line flags override them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..gan.adversarial import GANConfig
from ..gan.nets import DiscriminatorConfig, GeneratorConfig
from .data import DataConfig

MODELS = ("pix2pix", "cyclegan")
LR_POLICIES = ("linear", "step", "cosine", "plateau")
CONFIG_NAME = "config.json"


@dataclass
class ScheduleConfig:
    """How long to train and how the learning rate moves. ``linear``: ``n_epochs`` at the full
    rate, then ``n_epochs_decay`` epochs falling linearly towards 0 (the last epoch still trains,
    at lr / (n_epochs_decay + 1)); ``step``: times ``step_gamma`` every ``step_epochs``;
    ``cosine``: cosine annealing over all epochs; ``plateau``: times 0.2 when the epoch's main
    generator loss stops improving for 5 epochs. The base rate itself is ``GANConfig.lr``."""

    n_epochs: int = 100
    n_epochs_decay: int = 100
    policy: str = "linear"
    step_epochs: int = 50
    step_gamma: float = 0.1
    max_steps: int | None = None  # stop after this many iterations (smoke runs, budgets)

    def __post_init__(self):
        if self.policy not in LR_POLICIES:
            raise ValueError(
                f"unknown lr policy {self.policy!r}; choose one of {', '.join(LR_POLICIES)}"
            )
        if self.n_epochs < 0 or self.n_epochs_decay < 0 or self.total_epochs < 1:
            raise ValueError(
                f"need n_epochs >= 0, n_epochs_decay >= 0 and at least one epoch in all, got "
                f"{self.n_epochs} + {self.n_epochs_decay}"
            )
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")
        if self.step_epochs < 1:
            raise ValueError(f"step_epochs must be >= 1, got {self.step_epochs}")

    @property
    def total_epochs(self) -> int:
        return self.n_epochs + self.n_epochs_decay


@dataclass
class LossConfig:
    """The trainers' own loss weights. pix2pix uses ``lambda_l1`` and ``lambda_gan``; CycleGAN
    the cycle weights and the identity weight (relative to the cycle weight)."""

    lambda_l1: float = 100.0
    lambda_gan: float = 1.0  # pix2pix: 0 gives the paper's L1-only baseline (no D at all)
    lambda_a: float = 10.0  # cycle A -> B -> A
    lambda_b: float = 10.0  # cycle B -> A -> B
    lambda_identity: float = 0.5

    def __post_init__(self):
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"{f.name} must be >= 0, got {getattr(self, f.name)}")


@dataclass
class TrainConfig:
    """A whole training run. ``generator`` is pix2pix's G or CycleGAN's G_A (A -> B; G_B is the
    same network with input and output channels swapped). ``discriminator.input_nc`` is derived
    by the trainer (pix2pix: input + output channels, since it judges pairs)."""

    model: str = "pix2pix"
    data: DataConfig = field(default_factory=DataConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    gan: GANConfig = field(default_factory=GANConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    batch_size: int = 1  # per process under torchrun
    seed: int = 0
    init: str = "normal"
    init_gain: float = 0.02
    domain_a: str = "A"  # names for samples, model cards and exported metadata
    domain_b: str = "B"
    preset: str | None = None
    device: str = "auto"  # auto (cuda > mps > cpu) | cpu | cuda | cuda:1 | mps
    threads: int | None = None  # CPU threads for torch (None: torch's default)
    sync_bn: bool = False  # SyncBatchNorm under torchrun
    save_every: int = 5000  # iterations between checkpoints (0 = off)
    save_epoch_every: int = 5  # epochs between checkpoints (0 = off); always at the end
    keep: int = 3  # numbered checkpoints kept (the newest ones)
    log_every: int = 100  # iterations between JSONL log lines
    sample_every: int = 400  # iterations between sample sheets (0 = off)
    sample_count: int = 4  # images per sample sheet
    run_dir: str = ""

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.keep < 1:
            raise ValueError(f"keep must be >= 1, got {self.keep}")
        for name in ("save_every", "save_epoch_every", "sample_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (0 = off), got {getattr(self, name)}")
        if self.log_every < 1 or self.sample_count < 1:
            raise ValueError("log_every and sample_count must be >= 1")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        g = self.generator
        if self.model == "cyclegan" and self.loss.lambda_identity > 0 and g.input_nc != g.output_nc:
            raise ValueError(
                f"the identity loss needs as many input as output channels (got {g.input_nc} "
                f"and {g.output_nc}); set --lambda-identity 0"
            )

    # -- derived ------------------------------------------------------------------------------
    @property
    def source_domain(self) -> str:
        """What the (first) generator takes: pix2pix follows ``data.direction``."""
        if self.model == "pix2pix" and self.data.direction == "BtoA":
            return self.domain_b
        return self.domain_a

    @property
    def target_domain(self) -> str:
        if self.model == "pix2pix" and self.data.direction == "BtoA":
            return self.domain_a
        return self.domain_b

    # -- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = asdict(self)
        for name in ("data", "generator", "discriminator", "gan"):
            d[name] = getattr(self, name).to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        d = dict(d)
        parts = {
            "data": DataConfig.from_dict,
            "generator": GeneratorConfig.from_dict,
            "discriminator": DiscriminatorConfig.from_dict,
            "gan": GANConfig.from_dict,
            "schedule": lambda x: _strict(ScheduleConfig, x),
            "loss": lambda x: _strict(LossConfig, x),
        }
        for name, build in parts.items():
            if name in d:
                d[name] = build(d[name])
        return _strict(cls, d)

    def save(self, run_dir: str | Path) -> Path:
        from ..runtime.atomic import atomic_write_text

        return atomic_write_text(
            Path(run_dir) / CONFIG_NAME, json.dumps(self.to_dict(), indent=2) + "\n"
        )

    @classmethod
    def load(cls, run_dir: str | Path) -> TrainConfig:
        path = Path(run_dir) / CONFIG_NAME
        if not path.is_file():
            raise FileNotFoundError(f"{run_dir}: not a training run folder (no {CONFIG_NAME})")
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, TypeError) as e:
            raise ValueError(f"{path}: not a valid training config ({e})") from e


def _strict(cls, d: dict):
    unknown = sorted(set(d) - {f.name for f in fields(cls)})
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {', '.join(unknown)}")
    return cls(**d)


def default_config(model: str) -> TrainConfig:
    """The reference's published defaults: pix2pix (facades settings: U-Net 256 with dropout,
    batch norm, vanilla GAN, lambda_L1 100, no pool) or CycleGAN (ResNet 9 blocks, instance norm,
    LSGAN, cycle 10, identity 0.5, pool 50)."""
    if model == "pix2pix":
        return TrainConfig(
            model="pix2pix",
            generator=GeneratorConfig(arch="unet_256", norm="batch", dropout=True),
            discriminator=DiscriminatorConfig(arch="basic", norm="batch"),
            gan=GANConfig(objective="vanilla", pool_size=0),
        )
    if model == "cyclegan":
        return TrainConfig(
            model="cyclegan",
            generator=GeneratorConfig(arch="resnet_9blocks", norm="instance", dropout=False),
            discriminator=DiscriminatorConfig(arch="basic", norm="instance"),
            gan=GANConfig(objective="lsgan", pool_size=50),
        )
    raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")

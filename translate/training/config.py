"""The training configuration: one dataclass tree, saved as ``config.json`` in the run folder.

Everything a run needs to be rebuilt (networks, data preparation, objective, schedule) is here, so
``translate train --resume``, ``translate test``, export and inference read the run folder and need
no flags. Defaults are the reference's published ones for each model (:func:`default_config`);
presets (translate/presets.py) and command-line flags override them. A field whose metadata has
a ``help`` is a ``translate train`` flag; translate/training/options.py reads the metadata.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..gan.adversarial import GANConfig
from ..gan.nets import INITS, DiscriminatorConfig, GeneratorConfig
from .data import DataConfig

if TYPE_CHECKING:
    from .trainer import TranslationModel

LR_POLICIES = ("linear", "step", "cosine", "plateau")
CONFIG_NAME = "config.json"


@dataclass
class ScheduleConfig:
    """How long to train and how the learning rate moves. ``linear``: ``n_epochs`` at the full
    rate, then ``n_epochs_decay`` epochs falling linearly towards 0 (the last epoch still trains,
    at lr / (n_epochs_decay + 1)); ``step``: times ``step_gamma`` every ``step_epochs``;
    ``cosine``: cosine annealing over all epochs; ``plateau``: times 0.2 when the epoch's main
    generator loss stops improving for 5 epochs. The base rate itself is ``GANConfig.lr``."""

    n_epochs: int = field(
        default=100, metadata={"help": "epochs at the initial learning rate", "resumable": True}
    )
    n_epochs_decay: int = field(
        default=100,
        metadata={"help": "epochs of linear decay to 0 after those", "resumable": True},
    )
    policy: str = field(
        default="linear",
        metadata={"help": "learning-rate schedule", "flag": "--lr-policy", "choices": LR_POLICIES},
    )
    step_epochs: int = field(
        default=50,
        metadata={
            "help": "step policy: epochs between learning-rate steps",
            "flag": "--lr-decay-epochs",
        },
    )
    step_gamma: float = 0.1
    max_steps: int | None = field(
        default=None,
        metadata={
            "help": "stop after N iterations in all (smoke runs, time budgets)",
            "resumable": True,
        },
    )

    def __post_init__(self):
        if self.policy not in LR_POLICIES:
            raise ConfigError(
                f"unknown lr policy {self.policy!r}; choose one of {', '.join(LR_POLICIES)}"
            )
        if self.n_epochs < 0 or self.n_epochs_decay < 0 or self.total_epochs < 1:
            raise ConfigError(
                f"need n_epochs >= 0, n_epochs_decay >= 0 and at least one epoch in all, got "
                f"{self.n_epochs} + {self.n_epochs_decay}"
            )
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"max_steps must be >= 1, got {self.max_steps}")
        if self.step_epochs < 1:
            raise ConfigError(f"step_epochs must be >= 1, got {self.step_epochs}")

    @property
    def total_epochs(self) -> int:
        return self.n_epochs + self.n_epochs_decay


@dataclass
class LossConfig:
    """The trainers' own loss weights. pix2pix uses ``lambda_l1`` and ``lambda_gan``; CycleGAN
    the cycle weights and the identity weight (relative to the cycle weight)."""

    lambda_l1: float = field(default=100.0, metadata={"help": "pix2pix: weight of the L1 loss"})
    lambda_gan: float = field(
        default=1.0,
        metadata={"help": "pix2pix: weight of the adversarial loss (0: L1 only, D is not trained)"},
    )
    lambda_a: float = field(default=10.0, metadata={"help": "CycleGAN: weight of cycle A->B->A"})
    lambda_b: float = field(default=10.0, metadata={"help": "CycleGAN: weight of cycle B->A->B"})
    lambda_identity: float = field(
        default=0.5,
        metadata={"help": "CycleGAN: identity loss weight, relative to the cycle weights (0: off)"},
    )

    def __post_init__(self):
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ConfigError(f"{f.name} must be >= 0, got {getattr(self, f.name)}")


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
    batch_size: int = field(
        default=1, metadata={"help": "images per step (per process under torchrun)"}
    )
    seed: int = field(
        default=0, metadata={"help": "random seed (same seed, same data, CPU: same result)"}
    )
    init: str = field(
        default="normal", metadata={"help": "weight initialisation", "choices": INITS}
    )
    init_gain: float = field(default=0.02, metadata={"help": "scale of the initial weights"})
    domain_a: str = field(
        default="A", metadata={"help": "name of the A images (for samples and exports)"}
    )
    domain_b: str = field(default="B", metadata={"help": "name of the B images"})
    preset: str | None = None
    device: str = field(
        default="auto",
        metadata={"help": "auto (cuda > mps > cpu), cpu, cuda, cuda:N, mps", "resumable": True},
    )
    threads: int | None = field(
        default=None,
        metadata={
            "help": "CPU threads for PyTorch (torch's choice if unset)",
            "resumable": True,
        },
    )
    sync_bn: bool = field(
        default=False, metadata={"help": "SyncBatchNorm across processes (torchrun)"}
    )
    save_every: int = field(
        default=5000,
        metadata={"help": "iterations between checkpoints (0: off)", "resumable": True},
    )
    save_epoch_every: int = field(  # a checkpoint is always written at the end
        default=5, metadata={"help": "epochs between checkpoints (0: off)", "resumable": True}
    )
    keep: int = field(
        default=3, metadata={"help": "numbered checkpoints to keep", "resumable": True}
    )
    log_every: int = field(
        default=100, metadata={"help": "iterations between log lines", "resumable": True}
    )
    sample_every: int = field(
        default=400,
        metadata={"help": "iterations between sample sheets (0: off)", "resumable": True},
    )
    sample_count: int = field(default=4, metadata={"help": "images per sample sheet"})
    run_dir: str = ""

    def __post_init__(self):
        trainer = self._trainer()  # an unknown model: ConfigError naming the choices
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.keep < 1:
            raise ConfigError(f"keep must be >= 1, got {self.keep}")
        for name in ("save_every", "save_epoch_every", "sample_every"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0 (0 = off), got {getattr(self, name)}")
        if self.log_every < 1 or self.sample_count < 1:
            raise ConfigError("log_every and sample_count must be >= 1")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be >= 1, got {self.threads}")
        trainer.check_config(self)

    # -- derived ------------------------------------------------------------------------------
    def _trainer(self) -> type[TranslationModel]:
        """The registered trainer class of ``model`` (translate.training.trainer)."""
        from .trainer import get_trainer  # the trainers import this module

        return get_trainer(self.model)

    @property
    def source_domain(self) -> str:
        """What the default generator takes (pix2pix: as ``data.direction`` says)."""
        return next(iter(self._trainer().generators(self).values())).source

    @property
    def target_domain(self) -> str:
        return next(iter(self._trainer().generators(self).values())).target

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
            raise ConfigError(f"{run_dir}: not a training run folder (no {CONFIG_NAME})")
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, TypeError) as e:
            raise ConfigError(f"{path}: not a valid training config ({e})") from e


def _strict(cls, d: dict):
    unknown = sorted(set(d) - {f.name for f in fields(cls)})
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} keys: {', '.join(unknown)}")
    return cls(**d)


def default_config(model: str) -> TrainConfig:
    """The published defaults of trainer ``model`` (its ``default_config``)."""
    from .trainer import get_trainer

    return get_trainer(model).default_config()

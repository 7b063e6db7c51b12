"""Named training presets: the reference's published settings per dataset, and small presets
sized for a CPU.

A preset is a set of overrides on the model's defaults (translate.training.config.default_config);
command-line flags override the preset in turn. ``small`` presets are NOT the published settings:
narrower networks (ngf 24-32, ndf 32), 128-pixel crops and shorter schedules, so a run on a
2-core CPU shows recognisable results in tens of minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError
from .config import TrainConfig, default_config
from .trainer import trainer_names


@dataclass(frozen=True)
class Preset:
    model: str
    description: str
    overrides: dict = field(default_factory=dict)
    small: bool = False


def _pix2pix(direction: str, a: str, b: str, **schedule) -> dict:
    return {
        "data": {"direction": direction},
        "domain_a": a,
        "domain_b": b,
        "schedule": {"n_epochs": 100, "n_epochs_decay": 100, **schedule},
    }


def _cyclegan(a: str, b: str) -> dict:
    return {"domain_a": a, "domain_b": b}


# CPU-sized networks and data: 128-pixel crops from 143-pixel images (the reference's 286/256
# jitter ratio), 32 base filters (24 for the U-Net: 5.9M parameters, a 24 MB fp32 ONNX file,
# where 32 would make 42 MB).
_SMALL_PIX2PIX = {
    "generator": {"arch": "unet_128", "ngf": 24},
    "discriminator": {"ndf": 32},
    "data": {"load_size": 143, "crop_size": 128, "workers": 1},
    "sample_every": 200,
    "log_every": 50,
    "save_every": 1000,
    "save_epoch_every": 0,
}
_SMALL_CYCLEGAN = {
    "generator": {"arch": "resnet_6blocks", "ngf": 32},
    "discriminator": {"ndf": 32},
    "data": {"load_size": 143, "crop_size": 128, "workers": 1},
    "sample_every": 100,
    "log_every": 25,
    "save_every": 500,
    "save_epoch_every": 0,
}


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


PRESETS: dict[str, Preset] = {
    # Published settings (the reference's training scripts and the papers).
    "facades": Preset(
        "pix2pix",
        "pix2pix labels -> facade photo (B->A), U-Net 256, 200 epochs, batch 1",
        _pix2pix("BtoA", "facade photo", "label map"),
    ),
    "edges2shoes": Preset(
        "pix2pix",
        "pix2pix edges -> shoe photo (A->B), U-Net 256, batch 4, 15 epochs (paper)",
        {
            **_pix2pix("AtoB", "edge sketch", "shoe photo", n_epochs=10, n_epochs_decay=5),
            "batch_size": 4,
        },
    ),
    "maps": Preset(
        "pix2pix",
        "pix2pix aerial photo -> map (A->B), U-Net 256, 200 epochs, batch 1",
        _pix2pix("AtoB", "aerial photo", "map"),
    ),
    "horse2zebra": Preset(
        "cyclegan",
        "CycleGAN horse <-> zebra, ResNet 9 blocks, 200 epochs",
        _cyclegan("horse", "zebra"),
    ),
    "summer2winter_yosemite": Preset(
        "cyclegan",
        "CycleGAN summer <-> winter (Yosemite), ResNet 9 blocks, 200 epochs",
        _cyclegan("summer", "winter"),
    ),
    "monet2photo": Preset(
        "cyclegan",
        "CycleGAN Monet painting <-> photo, ResNet 9 blocks, 200 epochs",
        _cyclegan("Monet painting", "photo"),
    ),
    # Small presets for a CPU: not the published settings.
    "pix2pix-small": Preset(
        "pix2pix",
        "SMALL (CPU): pix2pix U-Net 128, ngf 24, ndf 32, 128-px crops, 20+20 epochs",
        _merge(_SMALL_PIX2PIX, {"schedule": {"n_epochs": 20, "n_epochs_decay": 20}}),
        small=True,
    ),
    "facades-small": Preset(
        "pix2pix",
        "SMALL (CPU): pix2pix labels -> facade photo (B->A), U-Net 128, ngf 24, 128-px crops",
        _merge(
            _SMALL_PIX2PIX,
            _pix2pix("BtoA", "facade photo", "label map", n_epochs=10, n_epochs_decay=10),
        ),
        small=True,
    ),
    "edges2shoes-small": Preset(
        "pix2pix",
        "SMALL (CPU): pix2pix edges -> shoe photo (A->B), U-Net 128, ngf 24, 128-px crops",
        _merge(
            _SMALL_PIX2PIX,
            _pix2pix("AtoB", "edge sketch", "shoe photo", n_epochs=20, n_epochs_decay=20),
        ),
        small=True,
    ),
    "cyclegan-small": Preset(
        "cyclegan",
        "SMALL (CPU): CycleGAN ResNet 6 blocks, ngf/ndf 32, 128-px crops, 10+10 epochs",
        _merge(_SMALL_CYCLEGAN, {"schedule": {"n_epochs": 10, "n_epochs_decay": 10}}),
        small=True,
    ),
    "summer2winter-small": Preset(
        "cyclegan",
        "SMALL (CPU): CycleGAN summer <-> winter, ResNet 6 blocks, ngf/ndf 32, 128-px crops",
        _merge(
            _SMALL_CYCLEGAN,
            {**_cyclegan("summer", "winter"), "schedule": {"n_epochs": 10, "n_epochs_decay": 10}},
        ),
        small=True,
    ),
    "monet2photo-small": Preset(
        "cyclegan",
        "SMALL (CPU): CycleGAN Monet painting <-> photo, ResNet 6 blocks, ngf/ndf 32, 128-px crops",
        _merge(
            _SMALL_CYCLEGAN,
            {
                **_cyclegan("Monet painting", "photo"),
                "schedule": {"n_epochs": 5, "n_epochs_decay": 5},
            },
        ),
        small=True,
    ),
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def build_config(
    model: str | None, preset: str | None = None, overrides: dict | None = None
) -> TrainConfig:
    """Model defaults, then the preset, then ``overrides`` (nested like ``config.json``)."""
    if preset is not None:
        p = get_preset(preset)
        if model is not None and model != p.model:
            raise ConfigError(f"preset {preset!r} is for {p.model}, not {model}")
        model = p.model
    if model is None:
        raise ConfigError(f"name a model ({' or '.join(trainer_names())}) or a preset")
    d = default_config(model).to_dict()
    if preset is not None:
        d = _apply(d, {**PRESETS[preset].overrides, "preset": preset})
    return TrainConfig.from_dict(_apply(d, overrides or {}))


def merge_overrides(config: TrainConfig, overrides: dict) -> TrainConfig:
    """A copy of ``config`` with nested ``overrides`` applied (and validated)."""
    return TrainConfig.from_dict(_apply(config.to_dict(), overrides))


def _apply(d: dict, overrides: dict) -> dict:
    # A saved GAN config holds values resolved for its objective (n_critic, clipping, ...);
    # choosing another objective starts from that objective's own defaults.
    gan = overrides.get("gan", {})
    if "objective" in gan and gan["objective"] != d["gan"]["objective"]:
        kept = {k: v for k, v in d["gan"].items() if k in _GAN_KEEP}
        d = {**d, "gan": kept}
    return _merge(d, overrides)


# GAN settings that do not depend on the objective (the rest are re-derived from it).
_GAN_KEEP = (
    "r1_gamma",
    "r1_every",
    "d_loss_weight",
    "grad_clip",
    "precision",
    "channels_last",
    "compile",
    "gp_one_sided",
    "pool_size",
    "pool_p",
    "diffaugment",
    "diffaugment_p",
    "ada_target",
)

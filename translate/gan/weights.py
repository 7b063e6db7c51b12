"""Safe weight files and compatibility with the official pix2pix/CycleGAN model zoo.

Weights are only ever read through ``torch.load(weights_only=True)`` or safetensors: a file that
would run code while unpickling is refused. Reference checkpoints are plain state dicts; older ones
carry ``module.`` prefixes (DataParallel) and InstanceNorm running-stat entries (PyTorch < 0.4),
which are normalised away here. A file whose keys do not fit the requested architecture gets an
error naming the differences and the registered architecture that does fit, if any.
"""

from __future__ import annotations

import pickle
from itertools import product
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError, TranslateError
from .nets import (
    DISCRIMINATORS,
    GENERATORS,
    NORMS,
    DiscriminatorConfig,
    GeneratorConfig,
    create_discriminator,
    create_generator,
)

_IN_STATS = ("running_mean", "running_var", "num_batches_tracked")


class WeightsError(TranslateError, ValueError):
    """A weight file that cannot be used: unreadable, unsafe, or not matching the network."""


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict from ``.safetensors`` or a PyTorch file, never executing pickled code."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such weight file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as e:  # safetensors raises its own error types
            raise WeightsError(f"{path}: not a valid safetensors file ({e})") from e
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        reason = _unpickler_reason(e)
        if "global" in reason.lower():
            raise WeightsError(
                f"{path}: refused to load: the file holds Python objects other than tensors, and "
                f"unpickling them could execute code. Only plain state dicts are accepted "
                f"({reason})"
            ) from e
        raise WeightsError(f"{path}: not a readable PyTorch weight file ({reason})") from e
    except Exception as e:
        raise WeightsError(f"{path}: not a readable PyTorch weight file ({e})") from e
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path}: expected a state dict (names -> tensors), got {type(obj)}")
    return dict(obj)


def _unpickler_reason(e: Exception) -> str:
    """The informative line of torch's long weights-only error, without its boilerplate."""
    text = str(e).replace("WeightsUnpickler error:", "")
    boilerplate = ("Weights only load failed", "Please file an issue", "Check the documentation")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith(boilerplate)]
    return useful[0] if useful else type(e).__name__


def normalize_reference_state_dict(sd: dict[str, torch.Tensor], net: nn.Module) -> dict:
    """Strip ``module.`` prefixes and drop stat entries of norm layers that keep no stats (the
    reference's own patch for pre-0.4 InstanceNorm checkpoints)."""
    out = {}
    for key, value in sd.items():
        while key.startswith("module."):
            key = key[len("module.") :]
        out[key] = value
    stateless = {
        name
        for name, m in net.named_modules()
        if isinstance(m, nn.InstanceNorm2d) and not m.track_running_stats
    }
    return {
        k: v
        for k, v in out.items()
        if not (k.rsplit(".", 1)[-1] in _IN_STATS and k.rsplit(".", 1)[0] in stateless)
    }


def _mismatches(sd: dict, net: nn.Module) -> tuple[list[str], list[str], list[str]]:
    own = net.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    shapes = [
        f"{k}: file {tuple(sd[k].shape)} vs network {tuple(own[k].shape)}"
        for k in own
        if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)
    ]
    return missing, unexpected, shapes


def _first_last_weights(sd: dict) -> tuple[torch.Tensor, torch.Tensor] | None:
    ws = [v for k, v in sd.items() if k.endswith("weight") and v.dim() == 4]
    return (ws[0], ws[-1]) if ws else None


def suggest_architectures(
    sd: dict[str, torch.Tensor],
) -> list[GeneratorConfig | DiscriminatorConfig]:
    """Every registered architecture (with norm, dropout and width read off the tensors) whose
    state dict has exactly these keys and shapes. Networks are built on the meta device, so this
    is cheap even for 54M-parameter U-Nets."""
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    ends = _first_last_weights(sd)
    if ends is None:
        return []
    first, last = ends
    width, in_nc = int(first.shape[0]), int(first.shape[1])
    candidates: list[GeneratorConfig | DiscriminatorConfig] = []
    # U-Net's last layer is a ConvTranspose2d (weight [in, out, k, k]); ResNet's a Conv2d.
    out_ncs = {int(last.shape[0]), int(last.shape[1])}
    for arch, norm, dropout, out_nc in product(GENERATORS, NORMS, (False, True), out_ncs):
        # Blur-pool shifts the *_up layouts' indices; their resize mode has no weights to tell.
        for antialias in (False, True) if arch.endswith("_up") else (False,):
            candidates.append(
                GeneratorConfig(arch, in_nc, out_nc, width, norm, dropout, antialias=antialias)
            )
    for arch, norm, layers in product(DISCRIMINATORS, NORMS, range(1, 8)):
        if arch != "n_layers" and layers != 3:
            continue
        candidates.append(DiscriminatorConfig(arch, in_nc, width, layers, norm))
    found = []
    for cfg in candidates:
        with torch.device("meta"):
            try:
                net = build(cfg, init=None)
            except ValueError:
                continue
        if not any(_mismatches(normalize_reference_state_dict(sd, net), net)):
            found.append(cfg)
    # Dropout adds no parameters, so equal layouts appear twice; keep the dropout-free one unless
    # the file is only explainable with dropout (ResNet blocks shift indices with dropout on).
    seen, unique = set(), []
    for cfg in found:
        key = tuple(sorted(cfg.to_dict().items() - {("dropout", True), ("dropout", False)}))
        if key not in seen:
            seen.add(key)
            unique.append(cfg)
    return unique


def build(cfg: GeneratorConfig | DiscriminatorConfig, init: str | None = "normal") -> nn.Module:
    if isinstance(cfg, GeneratorConfig):
        return create_generator(cfg, init=init)
    return create_discriminator(cfg, init=init)


def config_for(arch: str, **kw) -> GeneratorConfig | DiscriminatorConfig:
    """A generator or discriminator config from an architecture name and reference-style options
    (``input_nc``, ``output_nc``, ``ngf``/``ndf``, ``norm``, ``dropout``, ``n_layers``)."""
    if arch in GENERATORS:
        allowed = {"input_nc", "output_nc", "ngf", "norm", "dropout", "upsample", "antialias"}
        cls = GeneratorConfig
    elif arch in DISCRIMINATORS:
        allowed = {"input_nc", "ndf", "n_layers", "norm"}
        cls = DiscriminatorConfig
    else:
        known = ", ".join(sorted(GENERATORS) + sorted(DISCRIMINATORS))
        raise ConfigError(f"unknown architecture {arch!r}; choose one of {known}")
    extra = {k for k, v in kw.items() if v is not None} - allowed
    if extra:
        raise ConfigError(f"{arch} does not take {sorted(extra)}")
    return cls(arch=arch, **{k: v for k, v in kw.items() if v is not None})


def load_reference_weights(path: str | Path, arch: str, **kw) -> nn.Module:
    """Load an official pix2pix/CycleGAN ``.pth`` (or a ``.safetensors`` state dict) into the
    registered network ``arch`` built with the given options, with strict key checking.

    Returns the network in eval mode (BatchNorm running statistics, no dropout), which is how the
    golden vectors and exports run it; call ``.train()`` for the reference's train-mode test."""
    cfg = config_for(arch, **kw)
    net = build(cfg, init=None)
    sd = normalize_reference_state_dict(load_state_dict_file(path), net)
    missing, unexpected, shapes = _mismatches(sd, net)
    if missing or unexpected or shapes:
        raise WeightsError(_mismatch_message(Path(path), cfg, sd, missing, unexpected, shapes))
    net.load_state_dict(sd, strict=True)
    return net.eval()


def _mismatch_message(path, cfg, sd, missing, unexpected, shapes) -> str:
    def head(items):
        return ", ".join(items[:5]) + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")

    lines = [f"{path}: its weights do not fit {describe_config(cfg)}."]
    if missing:
        lines.append(f"  missing keys ({len(missing)}): {head(missing)}")
    if unexpected:
        lines.append(f"  unexpected keys ({len(unexpected)}): {head(unexpected)}")
    if shapes:
        lines.append(f"  shape mismatches ({len(shapes)}): {head(shapes)}")
    fits = suggest_architectures(sd)
    if fits:
        lines.append("  The file matches: " + "; ".join(describe_config(c) for c in fits))
    else:
        lines.append("  No registered architecture matches this file.")
    return "\n".join(lines)


def describe_config(cfg) -> str:
    if isinstance(cfg, GeneratorConfig):
        return (
            f"--arch {cfg.arch} --norm {cfg.norm} --ngf {cfg.ngf} --input-nc {cfg.input_nc} "
            f"--output-nc {cfg.output_nc}"
            + (" --dropout" if cfg.dropout else "")
            + (" --antialias" if cfg.antialias else "")
        )
    layers = f" --n-layers {cfg.n_layers}" if cfg.arch == "n_layers" else ""
    return f"--arch {cfg.arch} --norm {cfg.norm} --ndf {cfg.ndf} --input-nc {cfg.input_nc}{layers}"

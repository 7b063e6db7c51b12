"""Checkpoints in a run folder, and loading a trained generator from one.

Layout::

    RUN_DIR/config.json                      the full TrainConfig
    RUN_DIR/checkpoints/latest.txt           name of the newest complete checkpoint
    RUN_DIR/checkpoints/step_00001200/
        G.safetensors, D.safetensors         weights, one file per network of the trainer
                                             (CycleGAN: G_A, G_B, D_A, D_B)
        state.pt                             the RunState (translate.training.state): optimisers,
                                             schedule, pools, RNG, core, counters
        meta.json                            step, epoch, losses; written last

A checkpoint is written into a hidden temporary folder, every file fsynced, and the folder renamed
into place before ``latest.txt`` is atomically switched to it: killing the process at any moment
leaves the previous checkpoint as the latest, complete one. ``state.pt`` holds only tensors and
plain Python values and is read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import TranslateError
from ..gan.nets import GeneratorConfig, create_generator
from ..gan.weights import WeightsError, load_state_dict_file
from ..runtime.atomic import _fsync_dir, atomic_write, atomic_write_bytes, atomic_write_text
from .config import CONFIG_NAME, TrainConfig
from .trainer import get_trainer

CHECKPOINTS = "checkpoints"
LATEST = "latest.txt"
META = "meta.json"
STATE = "state.pt"
PREFIX = "step_"


class CheckpointError(TranslateError, ValueError):
    """A run folder or checkpoint that cannot be used; the message names the path."""


def checkpoint_name(step: int) -> str:
    return f"{PREFIX}{step:08d}"


def save_checkpoint(
    run_dir: str | Path,
    step: int,
    nets: dict[str, nn.Module],
    state: dict,
    meta: dict,
    keep: int = 3,
) -> Path:
    """Write checkpoint ``step_<step>`` atomically, point ``latest.txt`` at it and prune older
    numbered checkpoints beyond the newest ``keep``. Returns the checkpoint folder."""
    from safetensors.torch import save as st_save

    root = Path(run_dir) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    name = checkpoint_name(step)
    final = root / name
    tmp = root / f".{name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for net_name, net in nets.items():
            tensors = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
            atomic_write_bytes(tmp / f"{net_name}.safetensors", st_save(tensors))
        with atomic_write(tmp / STATE) as fh:
            torch.save(state, fh)
        atomic_write_text(tmp / META, json.dumps({"step": step, **meta}, indent=2) + "\n")
        _fsync_dir(tmp)
        if final.exists():  # the same step saved again (e.g. end of training right after a save)
            old = root / f".{name}.old-{os.getpid()}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_text(root / LATEST, name + "\n")
    _prune(root, keep, protect=name)
    return final


def _complete(folder: Path) -> bool:
    return folder.is_dir() and (folder / META).is_file() and not folder.name.startswith(".")


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """Complete numbered checkpoints, oldest first."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.name.startswith(PREFIX) and _complete(p)]
    return sorted(found, key=lambda p: p.name)


def _prune(root: Path, keep: int, protect: str) -> None:
    numbered = list_checkpoints(root.parent)
    for old in numbered[: max(0, len(numbered) - keep)]:
        if old.name != protect:
            shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob(".*.tmp-*"):  # left behind by a run killed mid-save
        with contextlib.suppress(ValueError):
            if not _pid_alive(int(stale.name.rsplit("-", 1)[1])):
                shutil.rmtree(stale, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or sys.platform == "win32":  # Windows' os.kill(pid, 0) would signal
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The checkpoint ``latest.txt`` names, or the newest complete one if that file is missing
    or stale."""
    root = Path(run_dir) / CHECKPOINTS
    pointer = root / LATEST
    if pointer.is_file():
        named = root / pointer.read_text(encoding="utf-8").strip()
        if named.name and _complete(named):
            return named
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def resolve(source: str | Path) -> tuple[Path, Path]:
    """(run folder, checkpoint folder) for a run folder, a checkpoint folder or a file in one."""
    source = Path(source)
    if not source.exists():
        raise CheckpointError(f"{source}: no such run folder or checkpoint")
    if source.is_file():
        source = source.parent
    if (source / CONFIG_NAME).is_file():
        ckpt = latest_checkpoint(source)
        if ckpt is None:
            raise CheckpointError(f"{source}: the run has no complete checkpoint yet")
        return source, ckpt
    if _complete(source):
        for run_dir in (source.parent.parent, source.parent):
            if (run_dir / CONFIG_NAME).is_file():
                return run_dir, source
        raise CheckpointError(f"{source}: checkpoint without a run folder ({CONFIG_NAME} missing)")
    raise CheckpointError(
        f"{source}: not a training run folder or checkpoint (expected {CONFIG_NAME} or {META})"
    )


def read_meta(ckpt: Path) -> dict:
    return json.loads((Path(ckpt) / META).read_text(encoding="utf-8"))


def load_weights(ckpt: Path, net_name: str) -> dict[str, torch.Tensor]:
    path = Path(ckpt) / f"{net_name}.safetensors"
    try:
        return load_state_dict_file(path)
    except WeightsError as e:
        raise CheckpointError(str(e)) from e


def load_state(ckpt: Path) -> dict:
    """Optimiser/scheduler/pool/RNG state; only tensors and plain values are accepted."""
    path = Path(ckpt) / STATE
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (weights-only checkpoint: cannot resume exactly)")
    return torch.load(path, map_location="cpu", weights_only=True)


# --------------------------------------------------------------------------------------------
# Loading a generator for inference and export


@dataclass
class GeneratorInfo:
    """What a trained generator is, for metadata, inference and export."""

    config: GeneratorConfig
    model_type: str  # the trainer's name (TrainConfig.model)
    direction: str  # AtoB | BtoA relative to the training data's A and B
    source_domain: str
    target_domain: str
    data: str  # the training data folder
    iterations: int  # global step of the checkpoint
    epoch: int
    load_size: int
    crop_size: int
    run_dir: Path


def load_generator(
    source: str | Path, direction: str | None = None, device: str | torch.device = "cpu"
) -> tuple[nn.Module, GeneratorInfo]:
    """The trained generator of a run folder (its latest checkpoint) or of a given checkpoint, in
    eval mode: the one the trainer trains for ``direction`` (default: its first; CycleGAN: "AtoB"
    gives G_A, "BtoA" G_B; pix2pix has only the direction it was trained in)."""
    run_dir, ckpt = resolve(source)
    try:
        cfg = TrainConfig.load(run_dir)
    except (FileNotFoundError, ValueError) as e:
        raise CheckpointError(str(e)) from e
    specs = get_trainer(cfg.model).generators(cfg)
    if direction is None:
        direction = next(iter(specs))
    if direction not in specs:
        if direction not in ("AtoB", "BtoA"):
            raise CheckpointError(f"direction must be AtoB or BtoA, got {direction!r}")
        raise CheckpointError(
            f"{run_dir}: this {cfg.model} model was trained {' and '.join(specs)}; it cannot run "
            f"{direction} (train another model for the other direction)"
        )
    spec = specs[direction]
    net = create_generator(spec.config, init=None)
    sd = load_weights(ckpt, spec.net)
    try:
        net.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise CheckpointError(
            f"{ckpt / spec.net}.safetensors does not fit {spec.config}: {e}"
        ) from e
    net.to(device).eval()
    meta = read_meta(ckpt)
    info = GeneratorInfo(
        config=spec.config,
        model_type=cfg.model,
        direction=direction,
        source_domain=spec.source,
        target_domain=spec.target,
        data=cfg.data.root,
        iterations=int(meta.get("step", 0)),
        epoch=int(meta.get("epoch", 0)),
        load_size=cfg.data.load_size,
        crop_size=cfg.data.crop_size,
        run_dir=run_dir,
    )
    return net, info

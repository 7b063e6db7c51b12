"""Where a run is, and everything it resumes from, listed once.

:class:`RunState` holds the counters (step, epoch, batch within the epoch: the sampler's
position), the loss meters, and refers to the trainer (its optimisers, image pools and core
counters) and the learning-rate schedule. Its :meth:`RunState.state_dict` is the one list of
what ``state.pt`` holds, and checkpoints are written (:meth:`RunState.save`) and restored
(:meth:`RunState.restore`) only through it, so a key cannot be saved and then forgotten on resume.
With the data order a function of (seed, epoch, index), restoring it makes N steps in one go and
k steps + resume + N - k steps bitwise identical on CPU.
"""

from __future__ import annotations

from pathlib import Path

import torch

from . import checkpoint as ckpt
from .schedule import LRSchedule
from .trainer import TranslationModel


class Meter:
    """Running sums of logged values, kept in checkpoints so a resumed run logs the same."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, values: dict[str, float]) -> None:
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
            self.counts[k] = self.counts.get(k, 0) + 1

    def means(self) -> dict[str, float]:
        return {k: self.sums[k] / self.counts[k] for k in self.sums}

    def reset(self) -> None:
        self.sums, self.counts = {}, {}

    def state_dict(self) -> dict:
        return {"sums": dict(self.sums), "counts": dict(self.counts)}

    def load_state_dict(self, state: dict) -> None:
        self.sums, self.counts = dict(state["sums"]), dict(state["counts"])


class RunState:
    """The resumable state of a training run (see the module docstring)."""

    def __init__(self, model: TranslationModel, schedule: LRSchedule):
        self.model, self.schedule = model, schedule
        self.step = 0  # iterations done
        self.epoch = 0  # the epoch in progress (0-based)
        self.batch_in_epoch = 0  # batches of it done: where the sampler resumes
        self.log_meter = Meter()  # losses since the last log line
        self.epoch_meter = Meter()  # losses of this epoch (the plateau schedule reads them)

    def state_dict(self) -> dict:
        device = self.model.device
        return {
            "model": self.model.state_dict(),  # optimisers, image pools, the core's counters
            "schedule": self.schedule.state_dict(),
            "log_meter": self.log_meter.state_dict(),
            "epoch_meter": self.epoch_meter.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            },
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.schedule.load_state_dict(state["schedule"])
        self.log_meter.load_state_dict(state["log_meter"])
        self.epoch_meter.load_state_dict(state["epoch_meter"])
        self.step, self.epoch = state["step"], state["epoch"]
        self.batch_in_epoch = state["batch_in_epoch"]
        torch.set_rng_state(state["rng"]["torch"])
        device = self.model.device
        if device.type == "cuda" and state["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state(state["rng"]["cuda"], device)

    def save(self, run_dir: str | Path, keep: int, **meta) -> Path:
        """Checkpoint ``step_<step>``: the trainer's networks, this state, and ``meta`` (with the
        epoch and batch) in ``meta.json``."""
        meta = {"epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch, **meta}
        return ckpt.save_checkpoint(
            run_dir, self.step, self.model.nets, self.state_dict(), meta, keep
        )

    def restore(self, found: Path) -> bool:
        """Load checkpoint ``found``: the weights, then this state. A weights-only checkpoint (a
        published one) gives just the step and epoch, with fresh optimiser state: returns False
        then, True for an exact resume."""
        for name, net in self.model.nets.items():
            net.load_state_dict(ckpt.load_weights(found, name))  # fp16 files are cast
        if (found / ckpt.STATE).is_file():
            self.load_state_dict(ckpt.load_state(found))
            return True
        meta = ckpt.read_meta(found)
        self.step, self.epoch = int(meta.get("step", 0)), int(meta.get("epoch", 0))
        return False

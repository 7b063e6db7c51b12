"""Learning-rate schedules, as a function of the epoch.

The reference steps its scheduler at the start of every epoch, so its first epoch already runs at
the second value of the schedule and its last epoch at lr 0 (an epoch of wasted work). Here the
rate of epoch ``e`` (0-based) is simply ``lr * factor(e)``: the first epoch trains at ``lr`` and
the last linear-decay epoch at ``lr / (n_epochs_decay + 1)``. Being a pure function of the epoch
also makes resuming exact, with no scheduler state to replay (plateau keeps a small state).
"""

from __future__ import annotations

import math

from .config import ScheduleConfig


class LRSchedule:
    PLATEAU_FACTOR, PLATEAU_PATIENCE, PLATEAU_THRESHOLD = 0.2, 5, 0.01  # the reference's

    def __init__(self, cfg: ScheduleConfig, base_lr: float):
        self.cfg, self.base_lr = cfg, base_lr
        self.plateau = {"best": math.inf, "bad_epochs": 0, "scale": 1.0}

    def factor(self, epoch: int) -> float:
        """Multiplier of the base lr during epoch ``epoch`` (0-based)."""
        c = self.cfg
        if c.policy == "linear":
            return 1.0 - max(0, epoch + 1 - c.n_epochs) / (c.n_epochs_decay + 1)
        if c.policy == "step":
            return c.step_gamma ** (epoch // c.step_epochs)
        if c.policy == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * epoch / c.total_epochs))
        return self.plateau["scale"]

    def lr(self, epoch: int) -> float:
        return self.base_lr * self.factor(epoch)

    def end_epoch(self, metric: float | None) -> None:
        """Plateau only: shrink the rate after ``PATIENCE`` epochs without a relative
        improvement of ``THRESHOLD`` in ``metric``."""
        if self.cfg.policy != "plateau" or metric is None or not math.isfinite(metric):
            return
        p = self.plateau
        if metric < p["best"] * (1 - self.PLATEAU_THRESHOLD):
            p["best"], p["bad_epochs"] = metric, 0
        else:
            p["bad_epochs"] += 1
            if p["bad_epochs"] > self.PLATEAU_PATIENCE:
                p["scale"] *= self.PLATEAU_FACTOR
                p["bad_epochs"] = 0

    def state_dict(self) -> dict:
        return dict(self.plateau)

    def load_state_dict(self, state: dict) -> None:
        self.plateau = {
            "best": float(state["best"]),
            "bad_epochs": int(state["bad_epochs"]),
            "scale": float(state["scale"]),
        }

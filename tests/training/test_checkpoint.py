"""Checkpoints survive failed writes and a process killed mid-save; only safe formats are read."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from translate.training import checkpoint as ckpt

ROOT = Path(__file__).resolve().parents[2]


def _nets(value: float) -> dict[str, nn.Module]:
    net = nn.Linear(4, 3)
    nn.init.constant_(net.weight, value)
    return {"G": net}


def _save(run: Path, step: int, value: float) -> Path:
    return ckpt.save_checkpoint(
        run, step, _nets(value), {"step": step, "x": torch.full((2,), value)}, {"epoch": 0}, keep=2
    )


def test_failed_write_leaves_the_previous_checkpoint_latest(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text("{}")
    _save(tmp_path, 1, 1.0)

    def broken_save(obj, fh, *a, **k):
        fh.write(b"partial bytes")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="No space left"):
        _save(tmp_path, 2, 2.0)
    monkeypatch.undo()
    latest = ckpt.latest_checkpoint(tmp_path)
    assert latest.name == "step_00000001"
    left = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert left == ["latest.txt", "step_00000001"]  # no partial step_2, no temporary folder
    assert torch.equal(ckpt.load_weights(latest, "G")["weight"], torch.ones(3, 4))
    assert ckpt.load_state(latest)["step"] == 1


def test_keeps_the_newest_and_survives_a_stale_pointer(tmp_path):
    for step in (1, 2, 3):
        _save(tmp_path, step, float(step))
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["step_00000002", "step_00000003"]
    (tmp_path / "checkpoints" / "latest.txt").write_text("step_00000001\n")  # pruned: stale
    assert ckpt.latest_checkpoint(tmp_path).name == "step_00000003"
    _save(tmp_path, 3, 5.0)  # the same step again replaces it
    assert ckpt.load_weights(ckpt.latest_checkpoint(tmp_path), "G")["weight"][0, 0] == 5.0


def test_state_is_read_without_unpickling_code(tmp_path):
    latest = _save(tmp_path, 1, 1.0)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo owned",))

    with open(latest / "state.pt", "wb") as fh:
        torch.save({"x": Evil()}, fh)
    with pytest.raises(Exception, match="(?i)weights_only|unsupported global"):
        ckpt.load_state(latest)


_SAVER = """
import sys, torch
from torch import nn
from translate.training.checkpoint import save_checkpoint
run = sys.argv[1]
net = nn.Linear(1024, 1024)
step = 0
while True:
    step += 1
    with torch.no_grad():
        net.weight.fill_(step)
    big = torch.full((4_000_000,), float(step))  # 16 MB of state: a save takes a while
    print(f"saving {step}", flush=True)
    save_checkpoint(run, step, {"G": net}, {"big": big, "step": step}, {"epoch": 0}, keep=2)
"""


def test_killing_the_process_mid_save_never_corrupts_latest(tmp_path):
    run = tmp_path / "run"
    (run).mkdir()
    (run / "config.json").write_text("{}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _SAVER, str(run)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        for line in proc.stdout:  # wait until a save is in progress after two complete ones
            if line.strip() == "saving 3":
                break
        time.sleep(0.02)  # a 16 MB save with fsyncs takes longer than this
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    latest = ckpt.latest_checkpoint(run)
    step = ckpt.load_state(latest)["step"]
    assert step >= 2
    assert torch.equal(
        ckpt.load_weights(latest, "G")["weight"], torch.full((1024, 1024), float(step))
    )
    assert torch.equal(ckpt.load_state(latest)["big"], torch.full((4_000_000,), float(step)))
    # A temporary folder left by the kill is cleaned up by the next save.
    _save(run, 99, 1.0)
    assert not list((run / "checkpoints").glob(".*tmp*"))


def test_resolve_names_what_is_wrong(tmp_path):
    with pytest.raises(ckpt.CheckpointError, match="no such run folder"):
        ckpt.resolve(tmp_path / "nope")
    with pytest.raises(ckpt.CheckpointError, match="not a training run folder"):
        ckpt.resolve(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ckpt.CheckpointError, match="no complete checkpoint"):
        ckpt.resolve(tmp_path)

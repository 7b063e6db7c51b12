"""Distributed training under torchrun: 2 CPU processes with the gloo backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_data import TINY_FLAGS, aligned, one_thread, unpaired  # noqa: F401  (fixture)

from translate.cli import main
from translate.training import checkpoint as ckpt

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("model", ["pix2pix", "cyclegan"])
def test_torchrun_two_processes_stay_in_sync(tmp_path, model):
    root = (aligned if model == "pix2pix" else unpaired)(tmp_path / "data", n=4)
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "translate", "train", model, "--data", str(root), "--out", str(run),
           *TINY_FLAGS, "--threads", "1", "--max-steps", "3", "--log-every", "1",
           "--sample-every", "0"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "x2 (torchrun)" in done.stdout
    assert "largest parameter difference between ranks: 0" in done.stdout
    latest = ckpt.latest_checkpoint(run)
    assert ckpt.read_meta(latest)["max_rank_difference"] == 0.0
    assert latest.name == "step_00000003"
    # The checkpoint is an ordinary one: it loads and resumes in a single process.
    G, info = ckpt.load_generator(run)
    assert info.iterations == 3
    assert main(["train", "--resume", str(run), "--max-steps", "4", "--quiet"]) == 0
    assert ckpt.latest_checkpoint(run).name == "step_00000004"

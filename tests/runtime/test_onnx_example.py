"""examples/onnx_minimal.py embeds a model with onnxruntime, numpy and Pillow only."""

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from translate.runtime.inference import Translator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "onnx_minimal.py"
# Any `import torch` (or of this project) in the example fails, as on a machine without them.
WITHOUT_TORCH = (
    "import runpy, sys; sys.modules['torch'] = None; sys.modules['translate'] = None; "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def test_example_runs_without_torch_and_matches_translator(onnx_model, tmp_path):
    path, _ = onnx_model(arch="unet_128", norm="batch")  # needs padding 45x30 -> 128x128
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (30, 45, 3), dtype=np.uint8)).save(tmp_path / "in.png")
    cmd = [sys.executable, "-c", WITHOUT_TORCH, str(EXAMPLE), str(path),
           str(tmp_path / "in.png"), str(tmp_path / "out.png")]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    ours = np.asarray(Image.open(tmp_path / "out.png"), np.int16)
    engine = np.asarray(Translator(path, backend="onnxruntime")(tmp_path / "in.png"), np.int16)
    assert ours.shape == engine.shape == (30, 45, 3)
    assert np.abs(ours - engine).max() <= 1

    blocked = subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH.split("sys.argv")[0] + "import torch"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert blocked.returncode != 0 and "import of torch halted" in blocked.stderr

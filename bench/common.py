"""Shared pieces of the benchmark scripts: the unit workload and a model to measure.

Speed figures are reported as ratios to the unit workload timed in the same run (conv2d of a
(1, 256, 64, 64) input with a (256, 256, 3, 3) weight, padding 1: 4.83 GFLOP), so they compare
across machines and across runs on a busy machine.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("TRANSLATE_SHARED", ROOT.parent / "shared")) / "data"


def unit_seconds(repeats: int = 10) -> float:
    """Median seconds of one unit workload call."""
    import torch  # here, not at the top: the measured processes must not pay for it

    x, w = torch.randn(1, 256, 64, 64), torch.randn(256, 256, 3, 3)
    torch.nn.functional.conv2d(x, w, padding=1)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.nn.functional.conv2d(x, w, padding=1)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load_average() -> str:
    """The 1-minute load average and core count: other work on the machine skews timings."""
    try:
        return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    except OSError:
        return "load average unknown"


def model_file(arch: str, folder: Path, ngf: int = 64, norm: str | None = None) -> Path:
    """A randomly initialised generator of the published size, exported like a trained one
    (speed and memory do not depend on the weights' values)."""
    import torch

    from translate.export.onnx import export_onnx
    from translate.gan.nets import create_generator
    from translate.runtime.metadata import ModelMetadata

    norm = norm or ("batch" if arch.startswith("unet") else "instance")
    torch.manual_seed(0)
    net = create_generator(arch=arch, ngf=ngf, norm=norm).eval()
    path = folder / f"{arch}_ngf{ngf}.onnx"
    export_onnx(net, path, ModelMetadata(description=f"bench {arch}"), verify=False)
    return path

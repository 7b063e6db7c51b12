"""How close `translate edges` comes to the official edges2shoes sketches, and how fast it is.

The official sketches (left halves A) were made by HED + thinning; ours from the photos (right
halves B). A stroke pixel counts as matched when the other sketch has ink within ``--tol`` px:
precision = share of our ink matched, recall = share of the official ink matched. Speed is
reported as a ratio to the unit workload (conv2d, 4.83 GFLOP) timed in the same run.

    python bench/edges.py [--data ../shared/data/edges2shoes] [--tol 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import unit_seconds  # noqa: E402

from translate.runtime.edges import EdgeConfig, edge_mask, take_half  # noqa: E402
from translate.runtime.images import load_image  # noqa: E402


def within(mask: np.ndarray, other: np.ndarray, tol: float) -> float:
    distance = cv2.distanceTransform((~other).astype(np.uint8), cv2.DIST_L2, 5)
    return float((distance[mask] <= tol).mean()) if mask.any() else 0.0


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data", default=str(root.parent / "shared/data/edges2shoes"))
    parser.add_argument("--tol", type=float, default=3.0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    files = sorted(Path(args.data).glob("*/*.jpg"))
    pairs = [load_image(f) for f in files]
    photos = [np.asarray(take_half(p, "right")) for p in pairs]
    official = [np.asarray(take_half(p, "left").convert("L")) < 128 for p in pairs]
    print(f"{len(files)} pairs from {args.data}, tolerance {args.tol} px")
    configs = {
        "canny": EdgeConfig(),
        "xdog": EdgeConfig(method="xdog"),
        "xdog --sigma 1.5": EdgeConfig(method="xdog", sigma=1.5),
    }
    for name, cfg in configs.items():
        start = time.perf_counter()
        ours = [edge_mask(p, cfg) for p in photos]
        seconds = (time.perf_counter() - start) / len(photos)
        unit = unit_seconds()
        p = np.mean([within(o, r, args.tol) for o, r in zip(ours, official, strict=True)])
        r = np.mean([within(r, o, args.tol) for o, r in zip(ours, official, strict=True)])
        ink = np.mean([o.mean() for o in ours])
        print(
            f"{name:18s} precision {p:.3f} recall {r:.3f} F {2 * p * r / (p + r):.3f} "
            f"ink {ink:.1%} (official {np.mean([o.mean() for o in official]):.1%})  "
            f"{seconds * 1e3:.1f} ms/photo = {seconds / unit:.2f} units (unit {unit * 1e3:.1f} ms)"
        )


if __name__ == "__main__":
    main()

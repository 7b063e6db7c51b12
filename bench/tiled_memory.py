"""Peak memory of translating a 4096 x 4096 photo in tiled mode on the CPU (target: < 2 GiB).

Each measurement runs in a fresh subprocess (peak RSS is per process and never goes down): it
loads the model, translates the image with ``tile=512, overlap=64`` and writes the result. The
input is a real photo from ../shared/data scaled up to the test size.

    python bench/tiled_memory.py [--arch resnet_9blocks] [--backend onnxruntime openvino]
    python bench/tiled_memory.py --model models/NAME.onnx
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DATA, load_average, model_file, unit_seconds

LIMIT_GIB = 2.0


def child(args: argparse.Namespace) -> None:
    """Runs in the subprocess: one translation, then figures as JSON on stdout."""
    from translate.runtime.inference import Translator

    translator = Translator(args.model, backend=args.backend, threads=args.threads)
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    start = time.perf_counter()
    out = translator(args.image, tile=args.tile, overlap=args.overlap)
    seconds = time.perf_counter() - start
    out.save(Path(args.image).with_suffix(".out.png"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    report = {"backend": translator.backend_name, "loaded_gib": loaded, "peak_gib": peak}
    print(json.dumps({**report, "seconds": seconds, "size": out.size}))


def main() -> int:
    parser = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", help="an .onnx file (default: export --arch at ngf 64)")
    parser.add_argument("--arch", default="resnet_9blocks")
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--overlap", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", nargs="+", default=["onnxruntime", "openvino"])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--image", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.backend = args.backend[0]
        child(args)
        return 0

    from PIL import Image

    from translate.runtime.backends import openvino_available

    with tempfile.TemporaryDirectory() as tmp:
        model = Path(args.model) if args.model else model_file(args.arch, Path(tmp))
        photo = sorted((DATA / "summer2winter_yosemite" / "testA").glob("*.jpg"))[0]
        image = Path(tmp) / "big.png"
        big = Image.open(photo).convert("RGB").resize((args.size, args.size), Image.BICUBIC)
        big.save(image)
        del big
        unit = unit_seconds()
        print(f"model {model.name}, input {args.size}x{args.size} ({photo.name} scaled up), "
              f"tile {args.tile}, overlap {args.overlap}, {args.threads} threads; "
              f"{load_average()}")  # fmt: skip
        failed = False
        for backend in args.backend:
            if backend == "openvino" and not openvino_available():
                print("openvino: not installed, skipped")
                continue
            cmd = [sys.executable, __file__, "--child", "--model", str(model), "--image",
                   str(image), "--backend", backend, "--tile", str(args.tile), "--overlap",
                   str(args.overlap), "--threads", str(args.threads)]  # fmt: skip
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode:
                print(f"{backend}: failed\n{run.stderr[-2000:]}")
                failed = True
                continue
            r = json.loads(run.stdout.strip().splitlines()[-1])
            ok = r["peak_gib"] < LIMIT_GIB
            failed |= not ok
            print(
                f"{r['backend']:12s} peak RSS {r['peak_gib']:.2f} GiB (after loading the model "
                f"{r['loaded_gib']:.2f} GiB), limit {LIMIT_GIB:.0f} GiB: "
                f"{'ok' if ok else 'FAILED'}; {r['seconds']:.1f} s = "
                f"{r['seconds'] / unit:.0f} units (unit {unit * 1e3:.1f} ms)"
            )
        print(load_average())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

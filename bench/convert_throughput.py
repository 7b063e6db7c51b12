"""Folder conversion throughput against the model's pure inference throughput (target >= 90%).

A folder of real 256x256 photos (../shared/data) is converted with ``translate.runtime.convert``
(decode and encode in threads, overlapping inference), and the same images, already decoded, are run
through the network alone. Passes alternate (pure, convert, pure, convert, ...) and the best of each
is compared, so a burst of other work on the machine does not decide the ratio.

    python bench/convert_throughput.py [--arch unet_256 resnet_9blocks] [--batch 1]
    python bench/convert_throughput.py --model models/NAME.onnx
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from common import DATA, load_average, model_file, unit_seconds

TARGET = 0.90


def measure(model: Path, args: argparse.Namespace, tmp: Path) -> bool:
    from translate.runtime.convert import ConvertConfig, convert
    from translate.runtime.inference import Translator

    translator = Translator(model, backend=args.backend, threads=args.threads)
    photos = sorted((DATA / "summer2winter_yosemite" / "testA").glob("*.jpg"))
    warm = translator.prepare(photos[0]).array
    translator.infer([warm])
    start = time.perf_counter()
    translator.infer([warm])
    per_image = time.perf_counter() - start
    count = int(min(len(photos), max(16, args.seconds / per_image)))
    folder = tmp / f"in-{model.stem}"
    folder.mkdir()
    for p in photos[:count]:
        shutil.copy(p, folder)
    arrays = [translator.prepare(p).array for p in sorted(folder.iterdir())]
    cfg = ConvertConfig(batch=args.batch, workers=args.workers)
    pure, piped, cpu_pure, cpu_piped = [], [], [], []
    for rep in range(args.passes):
        start, cpu = time.perf_counter(), time.process_time()
        translator.infer(arrays, batch_size=args.batch)
        pure.append(count / (time.perf_counter() - start))
        cpu_pure.append((time.process_time() - cpu) / count)
        cpu = time.process_time()
        report = convert(translator, folder, tmp / f"out-{model.stem}-{rep}", cfg, progress=False)
        assert report.converted == count and report.ok, report.summary()
        piped.append(report.converted / report.seconds)
        cpu_piped.append((time.process_time() - cpu) / count)
    unit = unit_seconds()
    ratio = max(piped) / max(pure)
    # CPU seconds per image hardly depend on what else runs on the machine: their ratio is what
    # the wall-clock ratio would be on an otherwise idle CPU-bound machine.
    cpu_ratio = min(cpu_pure) / min(cpu_piped)
    print(
        f"{model.stem:24s} {translator.backend_name:11s} {count} images, batch {args.batch}: "
        f"inference {max(pure):.2f} img/s ({1 / max(pure) / unit:.1f} units per image), "
        f"convert {max(piped):.2f} img/s -> {ratio:.1%} (target {TARGET:.0%}: "
        f"{'ok' if ratio >= TARGET else 'FAILED'}); CPU seconds per image: inference "
        f"{min(cpu_pure):.3f}, convert {min(cpu_piped):.3f} -> {cpu_ratio:.1%}\n"
        f"{'':24s} passes (img/s): inference {', '.join(f'{v:.2f}' for v in pure)}; "
        f"convert {', '.join(f'{v:.2f}' for v in piped)}; unit {unit * 1e3:.1f} ms"
    )
    return ratio >= TARGET


def main() -> int:
    parser = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", nargs="+", help=".onnx files (default: export each --arch)")
    parser.add_argument("--arch", nargs="+", default=["unet_256", "resnet_9blocks"])
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--workers", type=int, help="unset: ConvertConfig's default")
    parser.add_argument("--seconds", type=float, default=12.0, help="about this long per pass")
    parser.add_argument("--passes", type=int, default=3, help="passes of each kind")
    args = parser.parse_args()
    print(load_average())
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        models = [Path(m) for m in args.model] if args.model else [
            model_file(arch, tmp) for arch in args.arch
        ]  # fmt: skip
        for model in models:
            ok &= measure(model, args, tmp)
    print(load_average())
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Seconds per training iteration of pix2pix and CycleGAN at the reference's default settings,
as ratios against a unit workload timed in the same run.

pix2pix: the facades defaults (unet_256 ngf 64 with dropout, basic PatchGAN ndf 64, batch norm,
vanilla GAN + 100 L1, batch 1, 256x256), median of >= 20 iterations. CycleGAN: the reference
defaults (two resnet_9blocks, two basic PatchGANs, instance norm, LSGAN, cycle + identity,
pools of 50), fewer iterations (about 8 s each on 2 cores). Inputs are fixed random tensors: the
figure is the optimisation step, without data loading (which runs in worker processes).

Unit: one conv2d of a (1, 256, 64, 64) input with a (256, 256, 3, 3) weight, padding 1
(4.83 GFLOP), median of 30 calls, timed before and after the model runs (the faster of the two
counts) in a child process with the default allocator (the trainers' allocator tuning would speed
up the unit as well). The reference implementation takes 0.70 s per pix2pix iteration on this
machine, about 41 units, and 8.2 s per CycleGAN iteration.

    python bench/train_speed.py                    # both models, the trainers' settings
    python bench/train_speed.py --model pix2pix --baseline   # plain Adam, no allocator tuning
    python bench/train_speed.py --model cyclegan --compile   # torch.compile (slow start)
    python bench/train_speed.py --precision-ratios  # bf16 vs fp32, reference and small presets

``--precision-ratios`` times fp32 and bf16 steps of the same model alternately (so a change in
the machine's load hits both) for the reference presets (facades, horse2zebra at 256 px) and the
small ones (facades-small, cyclegan-small at 128 px), and prints fp32 time / bf16 time.

Run it on an otherwise idle machine (it prints the load average it saw); 2 threads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REFERENCE = {"pix2pix": 0.70, "cyclegan": 8.2}  # s/iter of the reference code, measured here
# The same in units: 0.70 s / 17 ms and 8.2 s / 17 ms (the unit's median on this machine).
REFERENCE_UNITS = {"pix2pix": 41.0, "cyclegan": 482.0}


def timed(fn, repeats: int) -> tuple[float, float, float]:
    """(median wall seconds, min wall seconds, median process CPU seconds) of ``fn()``."""
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), min(wall), statistics.median(cpu)


UNIT_CODE = """
import statistics, sys, time
import torch, torch.nn.functional as F
torch.set_num_threads(int(sys.argv[1]))
x = torch.randn(1, 256, 64, 64)
w = torch.randn(256, 256, 3, 3)
for _ in range(5):
    F.conv2d(x, w, padding=1)
wall, cpu = [], []
for _ in range(30):
    t, c = time.perf_counter(), time.process_time()
    F.conv2d(x, w, padding=1)
    wall.append(time.perf_counter() - t)
    cpu.append(time.process_time() - c)
print(statistics.median(wall), statistics.median(cpu))
"""


def unit(threads: int) -> tuple[float, float]:
    """(median wall, median CPU seconds) of the unit conv, in a child process with the default
    allocator: the tuned allocator speeds up the unit itself (~17.8 -> ~13 ms here), and the unit
    must stay the same yardstick the reference figures were measured against."""
    time.sleep(3)  # right after training steps the machine is still busy for a second or two
    out = subprocess.run([sys.executable, "-c", UNIT_CODE, str(threads)], capture_output=True,
                         text=True, check=True)  # fmt: skip
    wall, cpu = (float(v) for v in out.stdout.split())
    return wall, cpu


def build_model(model_name: str, args, preset: str | None = None, precision: str = "fp32"):
    import torch

    from translate.training.presets import build_config
    from translate.training.trainer import get_trainer

    preset = preset or ("facades" if model_name == "pix2pix" else "horse2zebra")
    gan = {"compile": args.compile, "channels_last": args.channels_last, "precision": precision}
    cfg = build_config(model_name, preset, {"data": {"root": "unused"}, "gan": gan})
    model = get_trainer(model_name)(cfg, torch.device("cpu"))
    if args.baseline:  # the reference's optimiser: Adam with per-tensor (foreach) updates
        for name, opt in model.optimizers.items():
            params = [p for g in opt.param_groups for p in g["params"]]
            model.optimizers[name] = torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(0)
    size = cfg.data.crop_size
    batch = {
        k: torch.rand(cfg.batch_size, 3, size, size, generator=gen) * 2 - 1 for k in ("A", "B")
    }
    return model, batch


PRECISION_PRESETS = [
    ("pix2pix", "facades"),
    ("cyclegan", "horse2zebra"),
    ("pix2pix", "facades-small"),
    ("cyclegan", "cyclegan-small"),
]


def precision_ratios(args) -> None:
    """fp32 s/iter over bf16 s/iter per preset, the two timed alternately step by step."""
    from translate.gan.adversarial import cpu_has_native_bf16

    print(f"native bf16 on this CPU: {cpu_has_native_bf16()}")
    for name, preset in PRECISION_PRESETS:
        if args.model not in ("both", name):
            continue
        steps = (
            args.steps if name == "pix2pix" or preset.endswith("-small") else args.cyclegan_steps
        )
        runs = {p: build_model(name, args, preset, p) for p in ("fp32", "bf16")}
        for model, batch in runs.values():
            for _ in range(2 + (3 if args.compile else 0)):
                model.train_step(batch)
        times: dict[str, list[float]] = {p: [] for p in runs}
        for _ in range(steps):
            for p, (model, batch) in runs.items():
                t = time.perf_counter()
                model.train_step(batch)
                times[p].append(time.perf_counter() - t)
        fp32, bf16 = (statistics.median(times[p]) for p in ("fp32", "bf16"))
        print(
            f"{preset} ({name}): fp32 {fp32:.3f} s/iter, bf16 {bf16:.3f} s/iter (medians of "
            f"{steps}) -> bf16 {fp32 / bf16:.2f}x",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--model", choices=["pix2pix", "cyclegan", "both"], default="both")
    parser.add_argument("--steps", type=int, default=20, help="timed pix2pix iterations")
    parser.add_argument("--cyclegan-steps", type=int, default=5, help="timed CycleGAN iterations")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="plain Adam and no allocator tuning (the reference's setup)",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the networks")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument(
        "--precision-ratios",
        action="store_true",
        help="bf16 vs fp32 on the reference and small presets (instead of the unit ratios)",
    )
    args = parser.parse_args()

    from translate.training.loop import tune_allocator

    tuned = False if args.baseline else tune_allocator()
    import torch

    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"torch {torch.__version__}, {args.threads} threads, load average {load:.2f} "
        f"(on an idle machine ~0), allocator tuned: {tuned}, fused Adam: {not args.baseline}, "
        f"compile: {args.compile}, channels_last: {args.channels_last}"
    )
    if args.precision_ratios:
        precision_ratios(args)
        return 0
    models = ["pix2pix", "cyclegan"] if args.model == "both" else [args.model]
    for name in models:
        steps = args.steps if name == "pix2pix" else args.cyclegan_steps
        warmup = (3 if name == "pix2pix" else 2) + (3 if args.compile else 0)
        model, batch = build_model(name, args)
        u_before = unit(args.threads)
        t0 = time.perf_counter()
        for _ in range(warmup):
            model.train_step(batch)
        wall, best, cpu = timed(partial(model.train_step, batch), steps)
        total = time.perf_counter() - t0
        u_after = unit(args.threads)
        # Other jobs only ever slow the unit down: the faster of the two is the machine's speed
        # (and the conservative yardstick for the ratio).
        u_wall, u_cpu = min(u_before, u_after)
        ratio = wall / u_wall
        line = (
            f"{name}: {wall:.3f} s/iter (median of {steps}, min {best:.3f}), "
            f"unit {u_wall * 1e3:.1f} ms (before {u_before[0] * 1e3:.1f}, after "
            f"{u_after[0] * 1e3:.1f}) -> {ratio:.1f} units; reference {REFERENCE[name]} s = "
            f"{REFERENCE_UNITS[name]:.0f} units -> {REFERENCE_UNITS[name] / ratio:.2f}x; "
            f"CPU time {cpu:.3f} s/iter = {cpu / u_cpu:.1f} units of CPU time"
        )
        print(line + f"; wall {total:.0f} s incl. warm-up", flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average at the end {load:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The training loop every trainer shares, readable top to bottom.

``train(cfg)`` sets up the process (device, threads, seeds, torchrun), the data and the model,
restores a checkpoint when resuming, then runs epochs of ``model.train_step(batch)``. Around the
steps it keeps the learning rate on schedule, writes a JSONL log, sample sheets and checkpoints,
and at the end the loss curves and the run's HTML page. Everything lands in the run folder.

Exact resume: the data order and augmentation are functions of (seed, epoch, index), and a
checkpoint holds the RNG, optimiser, pool, schedule and counter states (all of them in
:class:`~translate.training.state.RunState`), so N steps in one go and k steps + resume + N - k
steps give bitwise-identical weights on CPU.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch.utils.data import default_collate
from tqdm import tqdm

from ..errors import ConfigError
from ..gan.adversarial import resolve_precision
from ..gan.nets import GENERATORS, create_generator
from ..runtime.atomic import atomic_write_text
from ..runtime.images import save_image
from . import checkpoint as ckpt
from .config import CONFIG_NAME, TrainConfig
from .data import (
    DatasetError,
    EpochSampler,
    PairedDataset,
    UnpairedDataset,
    batches_per_epoch,
    make_loader,
    scan_paired,
    scan_unpaired,
)
from .report import plot_losses, read_log, sample_sheet, write_run_page
from .schedule import LRSchedule
from .state import RunState
from .trainer import Dist, TranslationModel, get_trainer, resolve_device

LOG_NAME = "log.jsonl"
SAMPLES = "samples"


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    epoch: int
    checkpoint: Path | None
    losses: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    max_rank_difference: float | None = None  # torchrun only: 0.0 when ranks stayed in sync


def size_multiple(cfg: TrainConfig) -> int:
    """The side multiple the generator needs (U-Net 256: 256, ResNet: 4)."""
    if cfg.generator.arch not in GENERATORS:
        raise ConfigError(
            f"unknown generator {cfg.generator.arch!r}; choose one of {', '.join(GENERATORS)}"
        )
    return create_generator(cfg.generator, init=None).size_multiple


def check_sizes(cfg: TrainConfig, multiple: int) -> None:
    d = cfg.data
    if d.preprocess in ("resize_and_crop", "crop", "scale_width_and_crop"):
        if d.crop_size % multiple:
            fits = max(1, round(d.crop_size / multiple)) * multiple
            raise ConfigError(
                f"{cfg.generator.arch} needs image sides that are multiples of {multiple}; "
                f"crop size {d.crop_size} is not (use --crop-size {fits} or another --arch)"
            )
    if d.preprocess == "scale_width" and d.load_size % multiple:
        raise ConfigError(f"--load-size must be a multiple of {multiple} with scale_width")


def build_dataset(
    cfg: TrainConfig, phase: str, multiple: int, train: bool = True, max_images: int | None = None
):
    """Scan ``cfg.data.root`` for ``phase`` and wrap it in the trainer's dataset type (paired
    or unpaired)."""
    d = cfg.data
    if max_images is not None:
        d = replace(d, max_images=max_images)
    trainer = get_trainer(cfg.model)
    channels = trainer.data_channels(cfg)
    if trainer.paired:
        scan = scan_paired(d.root, phase, d)
        return scan, PairedDataset(scan, d, channels, multiple, train, cfg.seed)
    if max_images is not None:
        d = replace(d, serial_batches=True)  # sample sheets: A[i] next to B[i]
    scan = scan_unpaired(d.root, phase, d)
    return scan, UnpairedDataset(scan, d, channels, multiple, train, cfg.seed)


HELDOUT_IMAGES = 32  # images the held-out losses are measured on


def heldout_set(cfg: TrainConfig, multiple: int) -> tuple[list[dict], str]:
    """Fixed images for sample sheets and held-out losses: the val (or test) split when the
    dataset has one, otherwise the first training images; no crop, no flip."""
    root = Path(cfg.data.root)
    count = max(cfg.sample_count, HELDOUT_IMAGES)
    paired = get_trainer(cfg.model).paired
    for phase in ("val", "test"):
        held_out = root / phase if paired else root / f"{phase}A"
        if held_out.is_dir() and (paired or (root / f"{phase}B").is_dir()):
            try:
                _, ds = build_dataset(cfg, phase, multiple, train=False, max_images=count)
                break
            except DatasetError:
                continue
    else:
        phase = "train"
        _, ds = build_dataset(cfg, phase, multiple, train=False, max_images=count)
    return [ds[i] for i in range(min(count, len(ds)))], phase


def heldout_losses(model: TranslationModel, items: list[dict], batch_size: int = 8) -> dict:
    """The model's held-out losses (generators in eval mode), averaged over ``items``."""
    sums: dict[str, float] = {}
    for i in range(0, len(items), batch_size):
        chunk = items[i : i + batch_size]
        for k, v in model.heldout_losses(default_collate(chunk)).items():
            sums[k] = sums.get(k, 0.0) + v * len(chunk)
    return {k: v / len(items) for k, v in sums.items()}


@contextlib.contextmanager
def stop_requests():
    """SIGINT/SIGTERM ask the loop to stop after the current step (and save); a second SIGINT
    interrupts at once. Only installed in the main thread."""
    flag = {"stop": False}
    if sys.platform == "win32" or not _main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag["stop"] and signum == signal.SIGINT:
            raise KeyboardInterrupt
        flag["stop"] = True
        tqdm.write(f"{signal.Signals(signum).name}: stopping after this step (saving a checkpoint)")

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _short(losses: dict[str, float]) -> dict[str, str]:
    keys = [k for k in losses if not k.endswith(("_real", "_fake")) and k != "cycle"]
    return {k: f"{losses[k]:.3g}" for k in keys}


def tune_allocator() -> bool:
    """glibc: keep freed memory in the process instead of handing it back to the OS.

    A training step allocates and frees the same large buffers (activations, gradients, oneDNN's
    reordered weights) every iteration. By default glibc serves large blocks with fresh mmaps and
    trims the heap on free, so every step pays tens of thousands of page faults to map and zero
    the same memory again (~35k per pix2pix step at 256 px). Raising the mmap threshold, never
    trimming, growing the heap in 256 MiB steps and serving even the largest blocks (U-Net 256
    has 32 MiB weights) from the heap brings that to ~1.5k: the effect of starting the process
    with MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_/MALLOC_TOP_PAD_/MALLOC_MMAP_MAX_ set, but
    applied at run time through mallopt(3), so no re-exec is needed. Memory a run has used stays
    with the process until it ends. A no-op (False) on other C libraries and systems."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold, m_mmap_max = -1, -2, -3, -4  # <malloc.h>
    ok = mallopt(m_mmap_threshold, 32 * 1024 * 1024)  # glibc's maximum on 64-bit
    ok &= mallopt(m_trim_threshold, 2**31 - 1)
    ok &= mallopt(m_top_pad, 256 * 1024 * 1024)
    ok &= mallopt(m_mmap_max, 0)
    return bool(ok)


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True) -> TrainResult:
    """Train (or, with ``resume``, continue) the run in ``cfg.run_dir``."""
    run_dir = Path(cfg.run_dir)
    t_start = time.time()

    # ---- process: torchrun, device, threads, seeds ----------------------------------------
    dist = Dist.from_env()
    device = resolve_device(cfg.device)
    if dist.enabled:
        import torch.distributed as torch_dist

        if device.type == "cuda":
            device = torch.device("cuda", dist.local_rank)
            torch.cuda.set_device(device)
        torch_dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if device.type == "cpu":
        tune_allocator()
    torch.manual_seed(cfg.seed + dist.rank)

    def say(msg: str) -> None:
        if dist.main:
            tqdm.write(msg)

    # "auto" is decided once, here, and saved resolved: a resumed run keeps the same dtype.
    precision = resolve_precision(cfg.gan.precision, device)
    if cfg.gan.precision == "auto" and precision == "fp32" and device.type == "cpu":
        say("precision: fp32 (this CPU has no native bf16; emulated bf16 would be slower)")
    cfg = replace(cfg, gan=replace(cfg.gan, precision=precision))

    log_file = None
    try:
        # ---- data ---------------------------------------------------------------------------
        multiple = size_multiple(cfg)
        check_sizes(cfg, multiple)
        scan, dataset = build_dataset(cfg, "train", multiple)
        say(f"data: {cfg.data.root}: {scan.describe()}")
        for bad in scan.skipped[:10]:
            say(f"  skipped (unreadable): {bad}")
        sampler = EpochSampler(
            dataset, dist.rank, dist.world_size, shuffle=not cfg.data.serial_batches, seed=cfg.seed
        )
        loader = make_loader(dataset, sampler, cfg.batch_size, cfg.data.workers, device, cfg.seed)
        steps_per_epoch = batches_per_epoch(sampler, cfg.batch_size)

        # ---- model, schedule ----------------------------------------------------------------
        model = get_trainer(cfg.model)(cfg, device, dist)
        schedule = LRSchedule(cfg.schedule, cfg.gan.lr)
        n_params = {k: sum(p.numel() for p in n.parameters()) for k, n in model.nets.items()}
        say(
            f"{cfg.model} on {device}"
            + (f" x{dist.world_size} (torchrun)" if dist.enabled else "")
            + ": "
            + ", ".join(f"{k} {v / 1e6:.2f}M" for k, v in n_params.items())
            + " parameters"
        )

        # ---- fresh run or resume ------------------------------------------------------------
        run = RunState(model, schedule)
        if resume:
            found = ckpt.latest_checkpoint(run_dir)
            if found is None:
                raise ckpt.CheckpointError(f"{run_dir}: nothing to resume (no checkpoint yet)")
            if not run.restore(found):
                say(f"{found} has weights only: continuing with fresh optimiser state")
            if dist.main:
                _truncate_log(run_dir / LOG_NAME, run.step)
            say(f"resumed {found.name}: epoch {run.epoch + 1}, step {run.step}")
        elif dist.main:
            run_dir.mkdir(parents=True, exist_ok=True)
            cfg.save(run_dir)
        heldout, heldout_phase = (None, "")
        if dist.main and cfg.sample_every:
            heldout, heldout_phase = heldout_set(cfg, multiple)

        def save(final: bool = False, **extra) -> Path:
            saved = run.save(
                run_dir, cfg.keep, final=final, model=cfg.model, time=time.time(), **extra
            )
            log_file.flush()
            write_report(run_dir, cfg)  # curves and page follow the run, not just its end
            return saved

        def write_samples() -> None:
            """A sample sheet, and the held-out losses into the log."""
            titles, columns = model.visuals(default_collate(heldout[: cfg.sample_count]))
            caption = f"step {run.step}, epoch {run.epoch + 1} ({heldout_phase} images)"
            path = run_dir / SAMPLES / f"{ckpt.checkpoint_name(run.step)}.png"
            save_image(sample_sheet(titles, columns, caption), path)
            record = {"step": run.step, "epoch": run.epoch + run.batch_in_epoch / steps_per_epoch,
                      **heldout_losses(model, heldout)}  # fmt: skip
            log_file.write(json.dumps(record) + "\n")
            log_file.flush()

        # ---- the loop -----------------------------------------------------------------------
        start_step = run.step
        total_epochs = cfg.schedule.total_epochs
        max_steps = cfg.schedule.max_steps or math.inf
        if run.epoch >= total_epochs or run.step >= max_steps:
            say(
                f"nothing to do: the run is at epoch {run.epoch} of {total_epochs}, step "
                f"{run.step} (raise --n-epochs, --n-epochs-decay or --max-steps to train longer)"
            )
        last_saved, last_losses = -1, {}
        t_log = time.time()
        log_file = open(run_dir / LOG_NAME, "a", encoding="utf-8") if dist.main else None
        with stop_requests() as stop:
            while run.epoch < total_epochs and run.step < max_steps and not stop["stop"]:
                lr = schedule.lr(run.epoch)
                for opt in model.optimizers.values():
                    for group in opt.param_groups:
                        group["lr"] = lr
                sampler.set_position(run.epoch, run.batch_in_epoch * cfg.batch_size)
                bar = tqdm(
                    total=steps_per_epoch,
                    initial=run.batch_in_epoch,
                    unit="it",
                    desc=f"epoch {run.epoch + 1}/{total_epochs}",
                    dynamic_ncols=True,
                    disable=not (progress and dist.main),
                    mininterval=1.0 if sys.stderr.isatty() else 30.0,
                )
                for batch in loader:
                    losses = model.train_step(batch)
                    run.step += 1
                    run.batch_in_epoch += 1
                    run.log_meter.add(losses)
                    run.epoch_meter.add(losses)
                    bar.update()
                    if dist.main and run.step % cfg.log_every == 0:
                        last_losses = run.log_meter.means()
                        bar.set_postfix(_short(last_losses), refresh=False)
                        now = time.time()
                        record = {
                            "step": run.step,
                            "epoch": run.epoch + run.batch_in_epoch / steps_per_epoch,
                            "lr": lr,
                            **last_losses,
                            "it_s": cfg.log_every / max(now - t_log, 1e-9),
                            "time": now,
                        }
                        log_file.write(json.dumps(record) + "\n")
                        log_file.flush()
                        t_log = now
                    if run.step % cfg.log_every == 0:
                        run.log_meter.reset()
                    if heldout is not None and run.step % cfg.sample_every == 0:
                        write_samples()
                    if dist.main and cfg.save_every and run.step % cfg.save_every == 0:
                        save()
                        last_saved = run.step
                    if run.step >= max_steps or stop["stop"]:
                        break
                bar.close()
                if run.batch_in_epoch >= steps_per_epoch:  # the epoch is complete
                    means = run.epoch_meter.means()
                    schedule.end_epoch(means.get(model.plateau_key))
                    say(
                        f"epoch {run.epoch + 1}/{total_epochs} done, step {run.step}: "
                        + " ".join(f"{k}={v}" for k, v in _short(means).items())
                    )
                    run.epoch, run.batch_in_epoch = run.epoch + 1, 0
                    run.epoch_meter.reset()
                    if (
                        dist.main
                        and cfg.save_epoch_every
                        and run.epoch % cfg.save_epoch_every == 0
                        and last_saved != run.step
                    ):
                        save()
                        last_saved = run.step

        # ---- the end: final checkpoint, curves, page ----------------------------------------
        diff = model.max_rank_difference() if dist.enabled else None
        final = ckpt.latest_checkpoint(run_dir) if dist.main else None
        if dist.main:
            if heldout is not None and run.step % cfg.sample_every and run.step != start_step:
                write_samples()
            if run.step != start_step or final is None:
                extra = {} if diff is None else {"max_rank_difference": diff}
                final = save(final=True, **extra)
            if diff is not None:
                say(f"torchrun: largest parameter difference between ranks: {diff:g}")
            say(f"saved {final} ({time.time() - t_start:.0f} s)")
        if dist.enabled:  # the ranks leave together: rank 0 may still be writing its checkpoint,
            import torch.distributed as torch_dist  # and gloo aborts a rank whose peer is gone

            torch_dist.barrier()
        seconds = time.time() - t_start
        return TrainResult(run_dir, run.step, run.epoch, final, last_losses, seconds, diff)
    finally:
        if log_file is not None:
            log_file.close()
        if dist.enabled:
            import torch.distributed as torch_dist

            if torch_dist.is_initialized():
                torch_dist.destroy_process_group()


def _truncate_log(path: Path, step: int) -> None:
    """Drop log lines written after the checkpoint being resumed (a crash after the save)."""
    if not path.is_file():
        return
    keep = [r for r in read_log(path) if r.get("step", 0) <= step]
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in keep))


def write_report(run_dir: str | Path, cfg: TrainConfig | None = None) -> Path:
    """Loss curves (``losses.png``) and ``index.html`` of a run folder, from its files."""
    run_dir = Path(run_dir)
    cfg = cfg or TrainConfig.load(run_dir)
    records = read_log(run_dir / LOG_NAME)
    title = f"{run_dir.name}: {cfg.model}" + (f" ({cfg.preset})" if cfg.preset else "")
    png = plot_losses(records, run_dir / "losses.png", title)
    latest = ckpt.latest_checkpoint(run_dir)
    g, d = cfg.generator, cfg.data
    trainer = get_trainer(cfg.model)
    summary = {
        "model": cfg.model + (f" (preset {cfg.preset})" if cfg.preset else ""),
        "task": f"{cfg.source_domain} -> {cfg.target_domain}"
        + (" and back" if len(trainer.generators(cfg)) > 1 else ""),
        "data": f"{d.root} ({d.direction})" if trainer.paired else d.root,
        "generator": f"{g.arch}, ngf {g.ngf}, {g.norm} norm" + (", dropout" if g.dropout else ""),
        "discriminator": f"{cfg.discriminator.arch}, ndf {cfg.discriminator.ndf}",
        "objective": cfg.gan.objective,
        "images": f"{d.preprocess} {d.load_size} -> {d.crop_size}, batch {cfg.batch_size}",
        "schedule": f"{cfg.schedule.n_epochs} + {cfg.schedule.n_epochs_decay} epochs "
        f"({cfg.schedule.policy}), {cfg.gan.optimizer} lr {cfg.gan.lr:g}",
        "latest checkpoint": latest.name if latest else "none",
        "last losses": ", ".join(
            f"{k} {v}"
            for k, v in _short(records[-1]).items()
            if k not in ("step", "epoch", "lr", "it_s", "time")
        )
        if records
        else "",
    }
    samples = sorted((run_dir / SAMPLES).glob("*.png")) if (run_dir / SAMPLES).is_dir() else []
    return write_run_page(run_dir, summary, samples, png)


def prepare_run(cfg: TrainConfig) -> TrainConfig:
    """Check a new run's folder is free (not an earlier run's) and its data exists."""
    run_dir = Path(cfg.run_dir)
    if (run_dir / CONFIG_NAME).exists():
        raise ckpt.CheckpointError(
            f"{run_dir} already holds a training run; continue it with --resume {run_dir} "
            f"or choose another --out"
        )
    if not Path(cfg.data.root).is_dir():
        raise DatasetError(f"{cfg.data.root}: no such folder")
    return cfg


def default_run_dir(cfg: TrainConfig, base: str | Path = "runs") -> Path:
    """``runs/<data folder>_<model>`` (numbered if taken)."""
    stem = f"{Path(cfg.data.root).name or 'data'}_{cfg.preset or cfg.model}"
    path = Path(base) / stem
    n = 2
    while path.exists():
        path = Path(base) / f"{stem}_{n}"
        n += 1
    return path

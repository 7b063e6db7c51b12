"""Folder conversion: run a model over a file or a folder of images, safely and at full speed.

Inputs are never written to: OUTPUT may not be INPUT or lie inside it, and every output is written
to a temporary name and renamed when complete, so a run killed at any moment leaves no partial
image and a re-run resumes by skipping the outputs that exist. A bad image is reported with its
name and reason and the run goes on. Decoding (reader threads) and encoding (writer threads)
overlap with inference in the calling thread, so the network is rarely left waiting.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from .images import SAVE_FORMATS, is_image_file, save_image
from .inference import Prepared, Translator

FORMATS = ("png", "jpg", "webp", "same")
# zlib's run-length strategy: as small as Pillow's default on photos at 2.6x less CPU (5 vs
# 13 ms per 256 x 256 image here), which on a 2-core machine is CPU taken from the network.
PNG_OPTIONS = {"compress_type": 3}


@dataclass
class ConvertConfig:
    recursive: bool = False  # descend into sub-folders and mirror them in the output
    size: int | None = None  # None: native resolution; N: shorter side scaled to N
    tile: int | None = None  # process in tiles of this side (large images, bounded memory)
    overlap: int = 64  # tile overlap in pixels, blended with a smooth window
    format: str = "png"  # png | jpg | webp | same (keep the input's format where writable)
    batch: int = 1  # images of equal size per network call
    overwrite: bool = False  # False: skip outputs that already exist (a re-run resumes)
    quality: int = 95  # JPEG/WebP quality
    workers: int | None = None  # decode threads and encode threads (each); None: 1 per 4 cores
    backend: str = "auto"  # used when a model path (not a Translator) is given
    threads: int | None = None  # inference threads (None: the backend's default)
    direction: str | None = None  # AtoB | BtoA for CycleGAN training runs

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        for name in ("batch", "workers"):
            value = getattr(self, name)
            if (value is not None or name == "batch") and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not 1 <= self.quality <= 100:
            raise ConfigError(f"quality must be between 1 and 100, got {self.quality}")


@dataclass
class ConvertReport:
    converted: int = 0
    skipped: int = 0  # outputs that already existed (not overwritten)
    failed: list[tuple[Path, str]] = field(default_factory=list)  # (input, reason)
    ignored: int = 0  # files that are not images by their extension
    outputs: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        rate = f" ({self.converted / self.seconds:.2f} images/s)" if self.seconds > 0 else ""
        return (
            f"converted {self.converted}, skipped {self.skipped}, failed {len(self.failed)}, "
            f"ignored {self.ignored} in {self.seconds:.1f} s{rate}"
        )


@dataclass
class Job:
    src: Path
    dst: Path


def plan(input_path: str | Path, output_dir: str | Path, cfg: ConvertConfig) -> tuple[list, int]:
    """The (input, output) pairs to convert and the number of ignored non-image files.

    Raises ValueError when INPUT is missing, when OUTPUT is INPUT or lies inside it, or when an
    output would replace an input file."""
    src, out = Path(input_path), Path(output_dir)
    if not src.exists():
        raise ConfigError(f"{src}: no such file or folder")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder; OUTPUT must be a folder")
    src_real, out_real = src.resolve(), out.resolve()
    if src.is_dir() and (out_real == src_real or out_real.is_relative_to(src_real)):
        raise ConfigError(
            f"OUTPUT {out} is {'INPUT' if out_real == src_real else 'inside INPUT'} ({src}); "
            "choose a folder outside the input so no input can be overwritten"
        )
    if src.is_file():
        files, ignored, root = [src], 0, src.parent
    else:
        files, ignored = _list_images(src, cfg.recursive)
        root = src
    jobs, taken = [], set()
    for f in files:
        rel = f.relative_to(root)
        ext = _output_extension(f, cfg.format)
        dst = out / rel.parent / f"{rel.stem}.{ext}"
        if dst in taken:  # a.jpg and a.png both -> a.png: the later one keeps its extension
            dst = out / rel.parent / f"{rel.stem}_{f.suffix.lstrip('.').lower()}.{ext}"
        if dst.resolve() == f.resolve():
            raise ConfigError(f"{f}: its output would overwrite the input; choose another OUTPUT")
        taken.add(dst)
        jobs.append(Job(f, dst))
    return jobs, ignored


def _list_images(folder: Path, recursive: bool) -> tuple[list[Path], int]:
    images, ignored = [], 0
    if recursive:
        entries = []
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            entries.extend(Path(dirpath) / name for name in sorted(filenames))
    else:
        entries = sorted(p for p in folder.iterdir() if not p.is_dir())
    for p in entries:
        if is_image_file(p) and not p.name.startswith("."):
            images.append(p)
        else:
            ignored += 1
    return images, ignored


def _output_extension(src: Path, fmt: str) -> str:
    if fmt != "same":
        return fmt
    ext = src.suffix.lstrip(".").lower()
    return ext if ext in SAVE_FORMATS else "png"  # e.g. .bmp/.tif/.gif inputs are written as PNG


def convert(
    model_or_translator: str | Path | Translator,
    input_path: str | Path,
    output_dir: str | Path,
    cfg: ConvertConfig | None = None,
    progress: bool = True,
) -> ConvertReport:
    """Convert a file or a folder of images into ``output_dir``; see :class:`ConvertConfig`.

    Returns a :class:`ConvertReport`; failures of single images are in ``report.failed`` and do
    not stop the run. Setup problems (missing INPUT, OUTPUT inside INPUT, a bad model) raise
    ValueError before anything is written."""
    cfg = cfg or ConvertConfig()
    jobs, ignored = plan(input_path, output_dir, cfg)
    translator = model_or_translator
    if not isinstance(translator, Translator):
        translator = Translator(
            model_or_translator, backend=cfg.backend, threads=cfg.threads, direction=cfg.direction
        )
    if cfg.tile is not None:
        translator.tile_geometry(cfg.tile, cfg.overlap)  # fail before starting, not per image
    report = ConvertReport(ignored=ignored)
    todo = []
    for job in jobs:
        if not cfg.overwrite and job.dst.exists():
            report.skipped += 1
        else:
            todo.append(job)
    start = time.perf_counter()
    _Pipeline(translator, cfg, report, progress).run(todo)
    report.seconds = time.perf_counter() - start
    return report


class _Pipeline:
    """Reader threads decode ahead, the calling thread runs the network, writer threads encode."""

    def __init__(self, translator: Translator, cfg: ConvertConfig, report: ConvertReport, progress):
        self.translator, self.cfg, self.report, self.progress = translator, cfg, report, progress

    def run(self, jobs: list[Job]) -> None:
        from tqdm import tqdm

        cfg = self.cfg
        # On 2 cores, one decoder and one encoder disturb the network least (bench/
        # convert_throughput.py); a fast GPU needs more of them to keep up.
        workers = cfg.workers or max(1, (os.cpu_count() or 1) // 4)
        ahead = cfg.batch + workers  # bounds memory: decoded images waiting for the network
        self.bar = tqdm(
            total=len(jobs), unit="img", disable=not self.progress, file=sys.stderr,
            dynamic_ncols=True, desc="convert",
        )  # fmt: skip
        readers = ThreadPoolExecutor(workers, thread_name_prefix="decode")
        writers = ThreadPoolExecutor(workers, thread_name_prefix="encode")
        reading: deque[tuple[Job, Future]] = deque()
        self.writing: deque[tuple[Job, Future]] = deque()
        queue = iter(jobs)
        try:
            while True:
                while len(reading) < ahead and (job := next(queue, None)) is not None:
                    reading.append((job, readers.submit(self._read, job)))
                if not reading:
                    break
                batch = []
                while reading and len(batch) < cfg.batch:
                    job, fut = reading.popleft()
                    try:
                        batch.append((job, fut.result()))
                    except Exception as e:
                        self._fail(job, e)
                if batch:
                    for (job, prepared), y in self._infer(batch):
                        prepared.array = None  # the writer needs only the output
                        self.writing.append((job, writers.submit(self._write, job, prepared, y)))
                self._collect(wait_for=ahead)
            self._collect(wait_for=0)
        finally:
            readers.shutdown(wait=False, cancel_futures=True)
            writers.shutdown(wait=True, cancel_futures=True)
            self.bar.close()

    def _read(self, job: Job) -> Prepared:
        return self.translator.prepare(job.src, size=self.cfg.size)

    def _infer(self, batch: list[tuple[Job, Prepared]]):
        """Yields ((job, prepared), output) for each image the network ran on; a failing batch is
        retried image by image so one bad image cannot fail the others."""
        cfg = self.cfg
        try:
            ys = self.translator.infer(
                [p.array for _, p in batch], tile=cfg.tile, overlap=cfg.overlap,
                batch_size=cfg.batch,
            )  # fmt: skip
            yield from zip(batch, ys, strict=True)
            return
        except Exception as e:
            if len(batch) == 1:
                self._fail(batch[0][0], e)
                return
        for item in batch:
            yield from self._infer([item])

    def _write(self, job: Job, prepared: Prepared, y) -> Path:
        fmt = job.dst.suffix.lstrip(".").lower()
        options = {"quality": self.cfg.quality} if fmt != "png" else PNG_OPTIONS
        return save_image(self.translator.finish(prepared, y), job.dst, fmt, **options)

    def _collect(self, wait_for: int) -> None:
        """Account for finished writes; block on the oldest while more than ``wait_for`` are
        pending (bounds memory held by encoded-but-unwritten images)."""
        while self.writing and (len(self.writing) > wait_for or self.writing[0][1].done()):
            job, fut = self.writing.popleft()
            try:
                self.report.outputs.append(fut.result())
                self.report.converted += 1
                self.bar.update(1)
            except Exception as e:
                self._fail(job, e)

    def _fail(self, job: Job, error: Exception) -> None:
        self.report.failed.append((job.src, _reason(job.src, error)))
        self.bar.update(1)


def _reason(path: Path, error: Exception) -> str:
    """The error's message without a leading file name (the report pairs it with the path)."""
    text = str(error) or type(error).__name__
    for prefix in (f"{path}: ", f"{path.name}: "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    if isinstance(error, ValueError | OSError):
        return text
    return f"{type(error).__name__}: {text}"

"""``translate test``: run a trained run's generator(s) over a test split and write the results
with an HTML index (every image, any batch size).

Results go to ``OUT/input/``, ``OUT/output/`` and ``OUT/target/`` under the same file names (for
CycleGAN one such set per direction, ``OUT/AtoB/...``), so ``translate eval OUT/output
OUT/target`` scores them directly.

A paired trainer (pix2pix): a paired folder (aligned A|B files or A/ and B/ folders) gives
input | output | target; with ``single`` the folder holds inputs only. An unpaired one (CycleGAN):
``testA``/``testB`` (or ``A``/``B``) are translated by the generators of those directions (G_A,
G_B); a plain folder of images is translated in ``direction`` (default: the trainer's first).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..errors import ConfigError
from ..runtime.images import from_array, save_image
from . import checkpoint as ckpt
from .config import TrainConfig
from .data import PairedDataset, SingleDataset, scan_paired, scan_single, scan_unpaired
from .report import write_results_page
from .trainer import get_trainer, resolve_device


@dataclass
class TestReport:
    out_dir: Path
    images: dict[str, int] = field(default_factory=dict)  # direction -> images translated
    skipped: int = 0
    index: Path | None = None


def _unique_stem(path: str, seen: dict[str, int]) -> str:
    """The file's stem, made unique among those seen (``a.png``, ``a.jpg`` -> ``a``, ``a_2``)."""
    stem = Path(path).stem
    seen[stem] = seen.get(stem, 0) + 1
    return stem if seen[stem] == 1 else f"{stem}_{seen[stem]}"


def run_test(
    source: str | Path,
    data: str | Path,
    out: str | Path | None = None,
    *,
    direction: str | None = None,
    single: bool = False,
    phase: str = "test",
    batch_size: int = 1,
    device: str = "auto",
    preprocess: str | None = None,
    max_images: int | None = None,
    skip_bad: bool = False,
    progress: bool = True,
) -> TestReport:
    run_dir, found = ckpt.resolve(source)
    cfg = TrainConfig.load(run_dir)
    step = ckpt.read_meta(found).get("step", 0)
    dcfg = replace(
        cfg.data,
        root=str(data),
        max_images=max_images,
        skip_bad=skip_bad,
        preprocess=preprocess or cfg.data.preprocess,
    )
    if dcfg.preprocess == "none" and batch_size > 1:
        raise ConfigError("--preprocess none keeps each image's size: use --batch-size 1")
    out_dir = Path(out) if out else run_dir / f"test_{Path(data).name}_{ckpt.checkpoint_name(step)}"
    dev = resolve_device(device)
    report = TestReport(out_dir)
    rows: list[tuple[str, list[Path]]] = []
    header: list[str] = []

    trainer = get_trainer(cfg.model)
    specs = trainer.generators(cfg)
    if direction not in (None, *specs):
        raise ConfigError(
            f"this {cfg.model} run was trained {' and '.join(specs)}, not {direction}"
        )
    if trainer.paired:
        jobs = [direction] if direction else list(specs)
    else:
        root = Path(data)
        present = [
            d
            for d, s in (("AtoB", "A"), ("BtoA", "B"))
            if (root / f"{phase}{s}").is_dir() or (root / s).is_dir()
        ]
        single = single or not present
        if direction or single:
            jobs = [direction or next(iter(specs))]
        else:
            jobs = [d for d in specs if d in present]

    for job_dir in jobs:
        G, info = ckpt.load_generator(found, job_dir, dev)
        multiple = G.size_multiple
        in_nc, out_nc = specs[job_dir].config.input_nc, specs[job_dir].config.output_nc
        if trainer.paired and not single:
            scan = scan_paired(data, phase, dcfg)
            chans = (in_nc, out_nc) if job_dir == "AtoB" else (out_nc, in_nc)
            ds = PairedDataset(scan, dcfg, chans, multiple, train=False)
            in_key, target_key = ("A", "B") if job_dir == "AtoB" else ("B", "A")
        else:
            if single:
                scan = scan_single(data, dcfg)
            else:
                both = scan_unpaired(data, phase, dcfg)
                scan = replace(both, a=both.a if job_dir == "AtoB" else both.b, b=[])
            ds = SingleDataset(scan, dcfg, in_nc, multiple)
            in_key, target_key = "A", None
        report.skipped += len(scan.skipped)
        loader = DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=0)
        tag = f"{info.source_domain} -> {info.target_domain}"
        header = ["input", "output"] + (["target"] if target_key else [])
        count, seen = 0, {}
        for batch in tqdm(loader, desc=tag, disable=not progress, unit="batch"):
            with torch.no_grad():
                fake = G(batch[in_key].to(dev)).cpu()
            paths = batch[f"{in_key}_path"]
            for i, path in enumerate(paths):
                stem = _unique_stem(path, seen)
                base = out_dir / job_dir if len(jobs) > 1 else out_dir
                files = [base / kind / f"{stem}.png" for kind in header]
                tensors = [batch[in_key][i], fake[i]] + (
                    [batch[target_key][i]] if target_key else []
                )
                for path, t in zip(files, tensors, strict=True):
                    save_image(from_array(t), path)
                rows.append((f"{Path(path).name} ({tag})", files))
                count += 1
        report.images[job_dir] = count
    title = f"{run_dir.name} @ {ckpt.checkpoint_name(step)} on {data}"
    report.index = write_results_page(out_dir, title, header, rows)
    return report

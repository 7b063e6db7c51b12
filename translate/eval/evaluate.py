"""Scoring folders of translated images: the library behind ``translate eval``.

Paired: each output is compared with its target (same relative path, any extension; or the A/B
half of an aligned A|B image) by L1, PSNR and SSIM. Unpaired: a folder of generated images is
compared with a folder of real ones by the classifier two-sample test (no weights needed) and,
when a feature extractor is available, KID and FID.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..gan.tensors import to_tensor
from ..runtime.images import is_image_file, load_image, to_mode
from . import metrics
from .features import FeatureExtractor, extract_features

SPLITS = ("A", "B")


def image_files(folder: str | Path, role: str) -> dict[str, Path]:
    """Images under ``folder`` (recursive, hidden files skipped) keyed by relative path without
    extension. Raises ValueError for a missing/empty folder or two files with the same key."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: {role} folder not found")
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if not is_image_file(path):
            continue
        key = rel.with_suffix("").as_posix()
        if key in found:
            raise ValueError(
                f"{folder}: {found[key].name} and {path.name} have the same name; "
                "cannot tell which one to match"
            )
        found[key] = path
    if not found:
        raise ValueError(f"{folder}: no images in the {role} folder")
    return found


def _read(path: Path, channels: int = 3, split: str | None = None) -> Image.Image:
    img = to_mode(load_image(path), channels)
    if split is None:
        return img
    w, h = img.size
    if w < 2:
        raise ValueError(f"{path}: {w}x{h} is too narrow to be an aligned A|B pair")
    half = w // 2
    return img.crop((0, 0, half, h)) if split == "A" else img.crop((w - half, 0, w, h))


# ---------------------------------------------------------------------------------------------
# paired


@dataclass
class PairedReport:
    count: int
    l1: float
    psnr: float  # dB, mean over images; inf if every output equals its target
    ssim: float
    sharpness: float = math.nan  # mean gradient magnitude of the outputs ...
    target_sharpness: float = math.nan  # ... and of the targets: blur shows as output < target
    unmatched_targets: int = 0  # targets with no output (ignored)
    per_image: list[dict] = field(default_factory=list)  # name, l1, psnr, ssim
    split: str | None = None

    def summary(self, outputs="outputs", targets="targets", per_image: bool = False) -> str:
        side = f", {self.split} half" if self.split else ""
        lines = [f"paired: {self.count} outputs ({outputs}) vs targets ({targets}{side})"]
        if per_image:
            for r in self.per_image:
                lines.append(
                    f"  {r['name']:40s} L1 {r['l1']:.4f}  PSNR {r['psnr']:6.2f}  "
                    f"SSIM {r['ssim']:.4f}"
                )
        lines += [
            f"  L1    {self.l1:.4f}   (mean |output - target| on the [-1, 1] pixel scale)",
            f"  PSNR  {self.psnr:.2f} dB",
            f"  SSIM  {self.ssim:.4f}",
            f"  sharpness  {self.sharpness:.4f} (outputs) vs {self.target_sharpness:.4f} (targets)"
            "   (mean gradient magnitude; blur lowers it)",
        ]
        if self.unmatched_targets:
            lines.append(f"  note: {self.unmatched_targets} targets have no output (not scored)")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mode"] = "paired"
        d["psnr"] = _finite_or_none(self.psnr)
        for row in d["per_image"]:
            row["psnr"] = _finite_or_none(row["psnr"])
        return d


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None  # JSON has no infinity


def evaluate_paired(
    outputs: str | Path, targets: str | Path, split: str | None = None
) -> PairedReport:
    """Compare every output with its target. ``split`` "A"/"B": targets are aligned A|B
    images and the left/right half is the target. Every output must have a target of the same
    size; targets without an output are counted, not scored."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be A or B, got {split!r}")
    outs, tgts = image_files(outputs, "outputs"), image_files(targets, "targets")
    missing = [k for k in outs if k not in tgts]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise ValueError(
            f"{len(missing)} of {len(outs)} outputs have no target with the same name in "
            f"{targets}: {shown}"
        )
    rows = []
    for key, out_path in outs.items():
        out = _read(out_path)
        tgt = _read(tgts[key], split=split)
        if out.size != tgt.size:
            half = f" ({split} half)" if split else ""
            hint = ""
            if split is None and tgt.size == (2 * out.size[0], out.size[1]):
                hint = " (the target looks like an aligned A|B pair: use --split A or B)"
            raise ValueError(
                f"{out_path} is {out.size[0]}x{out.size[1]} but its target {tgts[key]}{half} is "
                f"{tgt.size[0]}x{tgt.size[1]}; paired metrics need equal sizes{hint}"
            )
        a, b = to_tensor(out), to_tensor(tgt)
        rows.append(
            {
                "name": key,
                "l1": metrics.l1(a, b),
                "psnr": metrics.psnr(a, b),
                "ssim": metrics.ssim(a, b)
                if min(a.shape[-2:]) >= metrics.SSIM_WINDOW
                else math.nan,
                "sharpness": metrics.sharpness(a),
                "target_sharpness": metrics.sharpness(b),
            }
        )
    ssims = [r["ssim"] for r in rows if not math.isnan(r["ssim"])]
    if not ssims:
        raise ValueError(
            f"images are smaller than SSIM's {metrics.SSIM_WINDOW}x{metrics.SSIM_WINDOW} window"
        )
    return PairedReport(
        count=len(rows),
        l1=float(np.mean([r["l1"] for r in rows])),
        psnr=float(np.mean([r["psnr"] for r in rows])),
        ssim=float(np.mean(ssims)),
        sharpness=float(np.mean([r["sharpness"] for r in rows])),
        target_sharpness=float(np.mean([r["target_sharpness"] for r in rows])),
        unmatched_targets=len(tgts) - len(outs),
        per_image=rows,
        split=split,
    )


# ---------------------------------------------------------------------------------------------
# unpaired


@dataclass
class UnpairedReport:
    generated: int
    real: int
    c2st_auc: float  # 0.5: the classifier cannot tell generated from real
    kid: float | None = None
    kid_std: float | None = None
    fid: float | None = None
    features: str = "none"
    notes: list[str] = field(default_factory=list)

    def summary(self, generated="generated", real="real", per_image: bool = False) -> str:
        lines = [
            f"unpaired: {self.generated} generated ({generated}) vs {self.real} real ({real})",
            f"  C2ST AUC  {self.c2st_auc:.3f}   (0.5 = indistinguishable, 1.0 = always told apart)",
        ]
        if self.kid is not None:
            lines.append(f"  KID       {self.kid:.5f} +- {self.kid_std:.5f}   ({self.features})")
            lines.append(f"  FID       {self.fid:.2f}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"mode": "unpaired", **asdict(self)}


def load_resized(paths: list[Path], size: int) -> Iterator[torch.Tensor]:
    """Each image as an RGB (3, size, size) tensor in [-1, 1], squashed to the square (bicubic):
    how the distribution metrics see images."""
    for path in paths:
        img = to_mode(load_image(path), 3)
        yield to_tensor(img.resize((size, size), Image.Resampling.BICUBIC))


def _batches(paths: list[Path], size: int, batch: int = 32) -> Iterator[torch.Tensor]:
    for i in range(0, len(paths), batch):
        yield torch.stack(list(load_resized(paths[i : i + batch], size)))


def evaluate_unpaired(
    generated: str | Path,
    real: str | Path,
    features: FeatureExtractor | None = None,
    feature_name: str = "custom",
    size: int = 128,
    seed: int = 0,
    kid_subset: int = 1000,
    no_features_reason: str | None = None,
) -> UnpairedReport:
    """Score generated images against real ones: classifier two-sample AUC on ``size``-pixel
    squares; with ``features``, KID (subsets of ``kid_subset``) and FID on the extracted
    features (images resized to the extractor's ``input_size`` if it has one)."""
    if size < 16:
        raise ValueError(f"C2ST image size must be at least 16 pixels, got {size}")
    gen_paths = list(image_files(generated, "generated").values())
    real_paths = list(image_files(real, "real").values())
    for name, paths in (("generated", gen_paths), ("real", real_paths)):
        if len(paths) < 2:
            raise ValueError(f"unpaired metrics need at least 2 {name} images, got {len(paths)}")
    real_x = torch.stack(list(load_resized(real_paths, size)))
    gen_x = torch.stack(list(load_resized(gen_paths, size)))
    report = UnpairedReport(
        generated=len(gen_paths),
        real=len(real_paths),
        c2st_auc=metrics.c2st_auc(real_x, gen_x, seed=seed),
    )
    if features is None:
        report.notes.append(f"KID/FID skipped: {no_features_reason or 'no feature extractor'}")
        return report
    fsize = getattr(features, "input_size", None) or size
    f_real = extract_features(features, _batches(real_paths, fsize))
    f_gen = extract_features(features, _batches(gen_paths, fsize))
    report.features = feature_name
    report.kid, report.kid_std = metrics.kid(f_real, f_gen, subset_size=kid_subset, seed=seed)
    report.fid = metrics.fid(f_real, f_gen)
    if min(len(gen_paths), len(real_paths)) < 2000:
        report.notes.append(
            "FID is biased upwards for fewer than ~2000 images per set; compare FIDs only at "
            "equal set sizes (KID is unbiased)"
        )
    return report

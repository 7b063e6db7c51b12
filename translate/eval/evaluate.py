"""Scoring folders of translated images: the library behind ``translate eval``.

Paired: each output is compared with its target (same relative path, any extension; or the A/B
half of an aligned A|B image) by L1, PSNR and SSIM. Unpaired: a folder of generated images is
compared with a folder of real ones by the classifier two-sample test (no weights needed), the
checkerboard score and, when a feature extractor is available, KID and FID. A model: run on
held-out inputs and scored against real targets beside the untranslated inputs
(:func:`evaluate_model`, ``translate eval MODEL INPUTS TARGETS``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import ConfigError
from ..gan.tensors import to_tensor
from ..runtime.images import is_image_file, load_image, to_mode
from . import metrics
from .checkerboard import checkerboard_excess
from .features import FeatureExtractor, extract_features

SPLITS = ("A", "B")


def image_files(folder: str | Path, role: str) -> dict[str, Path]:
    """Images under ``folder`` (recursive, hidden files skipped) keyed by relative path without
    extension. Raises ValueError for a missing/empty folder or two files with the same key."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: {role} folder not found")
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if not is_image_file(path):
            continue
        key = rel.with_suffix("").as_posix()
        if key in found:
            raise ConfigError(
                f"{folder}: {found[key].name} and {path.name} have the same name; "
                "cannot tell which one to match"
            )
        found[key] = path
    if not found:
        raise ConfigError(f"{folder}: no images in the {role} folder")
    return found


def _read(path: Path, channels: int = 3, split: str | None = None) -> Image.Image:
    img = to_mode(load_image(path), channels)
    if split is None:
        return img
    w, h = img.size
    if w < 2:
        raise ConfigError(f"{path}: {w}x{h} is too narrow to be an aligned A|B pair")
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
        raise ConfigError(f"split must be A or B, got {split!r}")
    outs, tgts = image_files(outputs, "outputs"), image_files(targets, "targets")
    missing = [k for k in outs if k not in tgts]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise ConfigError(
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
            raise ConfigError(
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
        raise ConfigError(
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
    checkerboard_excess: float | None = None  # generated minus real (translate.eval.checkerboard)
    checkerboard: dict = field(default_factory=dict)

    def summary(self, generated="generated", real="real", per_image: bool = False) -> str:
        lines = [
            f"unpaired: {self.generated} generated ({generated}) vs {self.real} real ({real})",
            f"  C2ST AUC  {self.c2st_auc:.3f}   (0.5 = indistinguishable, 1.0 = always told apart)",
        ]
        if self.kid is not None:
            lines.append(f"  KID       {self.kid:.5f} +- {self.kid_std:.5f}   ({self.features})")
            lines.append(f"  FID       {self.fid:.2f}")
        if self.checkerboard_excess is not None:
            lines.append(
                f"  checkerboard excess  {self.checkerboard_excess:+.3f}   (generated "
                f"{self.checkerboard['generated']['score']:.3f}, real "
                f"{self.checkerboard['real']['score']:.3f}; log10 spectral peak ratio at the "
                "2/4-px periods)"
            )
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
        raise ConfigError(f"C2ST image size must be at least 16 pixels, got {size}")
    gen_paths = list(image_files(generated, "generated").values())
    real_paths = list(image_files(real, "real").values())
    for name, paths in (("generated", gen_paths), ("real", real_paths)):
        if len(paths) < 2:
            raise ConfigError(f"unpaired metrics need at least 2 {name} images, got {len(paths)}")
    real_x = torch.stack(list(load_resized(real_paths, size)))
    gen_x = torch.stack(list(load_resized(gen_paths, size)))
    report = UnpairedReport(
        generated=len(gen_paths),
        real=len(real_paths),
        c2st_auc=metrics.c2st_auc(real_x, gen_x, seed=seed),
    )
    try:  # at the images' own pixels: resampling would smear the grid it looks for
        excess, detail = checkerboard_excess(
            [np.asarray(_read(p)) for p in gen_paths], [np.asarray(_read(p)) for p in real_paths]
        )
        report.checkerboard_excess = excess
        report.checkerboard = {"generated": detail["outputs"], "real": detail["real"]}
    except ValueError as e:  # images too small for the spectrum
        report.notes.append(f"checkerboard score skipped: {e}")
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


# ---------------------------------------------------------------------------------------------
# a model on held-out folders


@dataclass
class FeatureScores:
    """KID/FID of a model's outputs, and of its untranslated inputs (the do-nothing baseline),
    against the real targets, on one feature network. KID in its natural units (MMD^2)."""

    features: str
    kid: float
    kid_std: float
    kid_inputs: float
    kid_inputs_std: float
    fid: float
    fid_inputs: float


@dataclass
class ModelReport:
    """What ``translate eval MODEL INPUTS TARGETS`` measures. The top-level KID/FID are those of
    ``features`` (the main network); ``by_features`` holds every network's, including the
    weights-free random CNN. Checkerboard excess: score of the outputs minus that of the real
    targets (:mod:`translate.eval.checkerboard`); about 0 means no more grid than real images."""

    model: str
    title: str
    inputs: int
    targets: int
    size: int | None  # shorter side the inputs and targets were scaled to; None: native
    features: str
    kid: float | None = None
    kid_std: float | None = None
    kid_inputs: float | None = None
    kid_inputs_std: float | None = None
    fid: float | None = None
    fid_inputs: float | None = None
    checkerboard_excess: float = math.nan
    checkerboard_excess_inputs: float = math.nan
    checkerboard: dict = field(default_factory=dict)  # outputs / inputs / targets: score, peaks
    sharpness: float = math.nan  # mean gradient magnitude of the outputs,
    input_sharpness: float = math.nan  # the inputs
    target_sharpness: float = math.nan  # and the targets
    paired: dict | None = None  # l1/psnr/ssim of outputs and of inputs vs targets, when paired
    by_features: list[FeatureScores] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        d = {"mode": "model", **asdict(self)}
        if self.paired:
            d["paired"] = {k: _finite_or_none(v) for k, v in self.paired.items()}
        return d

    def summary(self, inputs="inputs", targets="targets") -> str:
        at = f"{self.size} px" if self.size else "native size"
        lines = [
            f"{self.title} ({self.model}): {self.inputs} inputs ({inputs}) vs {self.targets} "
            f"real targets ({targets}), at {at}",
            f"  {'':34s} {'outputs':>18s} {'inputs (untranslated)':>22s}",
        ]

        def row(name: str, out: str, base: str) -> None:
            lines.append(f"  {name:34s} {out:>18s} {base:>22s}")

        for s in self.by_features:
            main = " *" if s.features == self.features else ""
            row(
                f"KID  {s.features}{main}",
                f"{s.kid:.4f} +- {s.kid_std:.4f}",
                f"{s.kid_inputs:.4f} +- {s.kid_inputs_std:.4f}",
            )
            row(f"FID  {s.features}", f"{s.fid:.2f}", f"{s.fid_inputs:.2f}")
        cb = self.checkerboard
        row(
            "checkerboard excess over targets",
            f"{self.checkerboard_excess:+.3f}",
            f"{self.checkerboard_excess_inputs:+.3f}",
        )
        row(
            f"  (score; targets {cb['targets']['score']:.3f})",
            f"{cb['outputs']['score']:.3f}",
            f"{cb['inputs']['score']:.3f}",
        )
        row(
            f"sharpness (targets {self.target_sharpness:.4f})",
            f"{self.sharpness:.4f}",
            f"{self.input_sharpness:.4f}",
        )
        if self.paired:
            p = self.paired
            row("L1 (paired)", f"{p['l1']:.4f}", f"{p['l1_inputs']:.4f}")
            row("PSNR (paired)", f"{p['psnr']:.2f} dB", f"{p['psnr_inputs']:.2f} dB")
            row("SSIM (paired)", f"{p['ssim']:.4f}", f"{p['ssim_inputs']:.4f}")
        lines += [
            "  KID: unbiased MMD^2 of the features (0 = like the targets; +- std over subsets)",
            "  checkerboard: log10 spectral peak ratio at the 2/4-px periods (0 = none)",
        ]
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _sample(keys: list[str], limit: int | None, seed: int) -> list[str]:
    """At most ``limit`` keys, drawn with ``seed`` and kept in name order."""
    if limit is None or len(keys) <= limit:
        return keys
    if limit < 2:
        raise ConfigError(f"limit must be at least 2 images, got {limit}")
    picked = np.random.default_rng(seed).choice(len(keys), limit, replace=False)
    return [keys[i] for i in sorted(picked)]


def _at_size(img: Image.Image, size: int | None) -> Image.Image:
    from ..runtime.inference import target_size

    if size is None:
        return img
    want = target_size(img.size, size)
    return img if want == img.size else img.resize(want, Image.Resampling.BICUBIC)


def _image_features(extractor: FeatureExtractor, images: list[Image.Image]) -> np.ndarray:
    """Features of RGB images squashed to the extractor's square input (bicubic), as
    :func:`load_resized` does for files."""
    side = getattr(extractor, "input_size", None) or 128

    def batches():
        for i in range(0, len(images), 32):
            chunk = images[i : i + 32]
            yield torch.stack(
                [to_tensor(im.resize((side, side), Image.Resampling.BICUBIC)) for im in chunk]
            )

    return extract_features(extractor, batches())


def evaluate_model(
    model,
    inputs: str | Path,
    targets: str | Path,
    *,
    size: int | None = 256,
    features: str = "auto",
    weights_free: bool = True,
    inception_weights: str | Path | None = None,
    input_split: str | None = None,
    target_split: str | None = None,
    direction: str | None = None,
    backend: str = "auto",
    threads: int | None = None,
    device: str = "cpu",
    limit: int | None = None,
    seed: int = 0,
    kid_subset: int = 1000,
    save_outputs: str | Path | None = None,
    progress: bool = False,
) -> ModelReport:
    """Run ``model`` (an ONNX file, a training run, a model name or a
    :class:`~translate.runtime.inference.Translator`) on the held-out ``inputs`` and score its
    outputs against the real ``targets``, beside the untranslated inputs as the do-nothing
    baseline: KID/FID on ``features`` (see :func:`~translate.eval.features.resolve_features`)
    and, with ``weights_free``, on the fixed random CNN; the checkerboard score; sharpness; and
    L1/PSNR/SSIM when every input has a target of the same name (paired data).

    Inputs and targets are scaled to ``size`` (shorter side) first, as ``translate convert
    --size`` would; ``input_split``/``target_split`` take the A (left) or B (right) half of
    aligned A|B images. ``limit`` draws that many images of each folder with ``seed``.
    ``save_outputs``: a folder to write the outputs to as PNG."""
    import time

    from ..runtime.inference import Translator
    from .backbones import EFFICIENTNET_LITE, RANDOM_CNN, backbone_mentions
    from .checkerboard import checkerboard_score, crop_side, luminance
    from .features import resolve_features

    for name, split in (("input_split", input_split), ("target_split", target_split)):
        if split is not None and split not in SPLITS:
            raise ConfigError(f"{name} must be A or B, got {split!r}")
    t0 = time.time()
    if isinstance(model, Translator):
        translator = model
    else:
        translator = Translator(model, backend=backend, threads=threads, direction=direction)
    model_path = translator.model_path
    in_files, tgt_files = image_files(inputs, "inputs"), image_files(targets, "targets")
    in_keys = _sample(list(in_files), limit, seed)
    paired = all(k in tgt_files for k in in_keys)  # then targets without an input are left out
    tgt_keys = in_keys if paired else _sample(list(tgt_files), limit, seed)
    for role, keys in (("inputs", in_keys), ("targets", tgt_keys)):
        if len(keys) < 2:
            raise ConfigError(f"evaluating a model needs at least 2 {role}, got {len(keys)}")

    srcs = [_at_size(_read(in_files[k], split=input_split), size) for k in in_keys]
    reals = [_at_size(_read(tgt_files[k], split=target_split), size) for k in tgt_keys]
    outs: list[Image.Image] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(srcs), unit="img", desc="translating", leave=False)
    for i in range(0, len(srcs), 8):
        outs += [to_mode(o, 3) for o in translator.batch(srcs[i : i + 8], batch_size=8)]
        if bar is not None:
            bar.update(len(srcs[i : i + 8]))
    if bar is not None:
        bar.close()
    if save_outputs is not None:
        from ..runtime.images import save_image

        for key, out in zip(in_keys, outs, strict=True):
            save_image(out, Path(save_outputs) / f"{key}.png")

    report = ModelReport(
        model=str(model_path or type(model).__name__),
        title=translator.metadata.title,
        inputs=len(srcs),
        targets=len(reals),
        size=size,
        features="none",
    )
    extractor, main, note = resolve_features(features, inception_weights, device)
    networks = [] if extractor is None else [(main, extractor)]
    if note:
        report.notes.append(f"KID/FID on pretrained features skipped: {note}")
    if weights_free and main != RANDOM_CNN:
        networks.append((RANDOM_CNN, resolve_features(RANDOM_CNN, device=device)[0]))
    for name, net in networks:
        f_real = _image_features(net, reals)
        f_out, f_in = _image_features(net, outs), _image_features(net, srcs)
        kid_out = metrics.kid(f_real, f_out, subset_size=kid_subset, seed=seed)
        kid_in = metrics.kid(f_real, f_in, subset_size=kid_subset, seed=seed)
        report.by_features.append(
            FeatureScores(
                name, *kid_out, *kid_in, metrics.fid(f_real, f_out), metrics.fid(f_real, f_in)
            )
        )
        if name in EFFICIENTNET_LITE or name == "inception":
            for where in backbone_mentions(model_path or "", name):
                report.warnings.append(
                    f"the model was trained against {name} ({where}): its KID/FID on the same "
                    "network flatter it; judge it with --features set to a network it was not "
                    "trained with"
                )
    if report.by_features:
        main_scores = report.by_features[0]
        report.features = main_scores.features
        for key in ("kid", "kid_std", "kid_inputs", "kid_inputs_std", "fid", "fid_inputs"):
            setattr(report, key, getattr(main_scores, key))

    arrays = {
        role: [np.asarray(im) for im in images]
        for role, images in (("outputs", outs), ("inputs", srcs), ("targets", reals))
    }
    side = crop_side([luminance(a).shape for group in arrays.values() for a in group])
    scores = {role: checkerboard_score(group, side) for role, group in arrays.items()}
    report.checkerboard = {role: s.to_dict() for role, s in scores.items()}
    report.checkerboard_excess = scores["outputs"].score - scores["targets"].score
    report.checkerboard_excess_inputs = scores["inputs"].score - scores["targets"].score

    def mean_sharpness(images):
        return float(np.mean([metrics.sharpness(to_tensor(im)) for im in images]))

    report.sharpness = mean_sharpness(outs)
    report.input_sharpness = mean_sharpness(srcs)
    report.target_sharpness = mean_sharpness(reals)
    if paired:
        if all(o.size == r.size for o, r in zip(outs, reals, strict=True)):
            report.paired = _paired_scores(outs, srcs, reals)
        else:
            report.notes.append("paired scores skipped: outputs and targets differ in size")
    report.seconds = time.time() - t0
    return report


def _paired_scores(outs, srcs, reals) -> dict:
    """Mean L1/PSNR/SSIM of the outputs, and of the inputs as they are, against the targets."""
    scores: dict[str, list[float]] = {}
    for out, src, real in zip(outs, srcs, reals, strict=True):
        b = to_tensor(real)
        for suffix, img in (("", out), ("_inputs", src)):
            a = to_tensor(img)
            if a.shape != b.shape:  # an input of another size is no paired baseline
                continue
            scores.setdefault(f"l1{suffix}", []).append(metrics.l1(a, b))
            scores.setdefault(f"psnr{suffix}", []).append(metrics.psnr(a, b))
            if min(a.shape[-2:]) >= metrics.SSIM_WINDOW:
                scores.setdefault(f"ssim{suffix}", []).append(metrics.ssim(a, b))
    keys = ("l1", "psnr", "ssim", "l1_inputs", "psnr_inputs", "ssim_inputs")
    return {k: float(np.mean(scores[k])) if scores.get(k) else math.nan for k in keys}

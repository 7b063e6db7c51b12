"""``translate release``: a training run becomes a model others can use.

One release turns one generator of a run into ``MODELS/NAME.onnx`` (checked against PyTorch by
export; also ``NAME.int8.onnx`` where export's quality gate passes), scores that file on held-out
images with :mod:`translate.eval`, draws a sample sheet ``NAME.png``, writes the model card
``NAME.md`` (:mod:`translate.runtime.cards`) and ships the checkpoint as ``CHECKPOINTS/RUN/``:
fp16 safetensors and ``config.json``, no optimiser state, which ``translate train --resume``
continues. A CycleGAN run is released once per direction.

Everything is made in a hidden staging folder and moved into place at the end, file by file
and each atomically: a release that fails changes nothing, and releasing a name again replaces
its files (an int8 variant the new release does not make is removed, so none is left stale).

Held-out images are scored at the run's training size: inputs and targets are squashed to that
square (bicubic), as ``translate eval`` sees images for its distribution metrics.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import string
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from ..errors import ConfigError
from ..eval.evaluate import (
    ModelReport,
    evaluate_model,
    evaluate_paired,
    evaluate_unpaired,
    image_files,
    load_resized,
)
from ..eval.features import resolve_features
from ..eval.metrics import target_share
from ..gan.nets import create_generator
from ..runtime.atomic import _fsync_dir, atomic_write_bytes
from ..runtime.cards import ModelCard, write_card
from ..runtime.catalog import read_metadata, update_checksums
from ..runtime.edges import take_half
from ..runtime.images import load_image, save_image, to_mode
from ..runtime.inference import Translator
from ..training import checkpoint as ckpt
from ..training.config import TrainConfig
from ..training.data import scan_paired
from ..training.report import read_log, sample_sheet
from ..training.trainer import get_trainer
from .onnx import ExportError, export_onnx, load_source

MEASURE_SIZE = 256  # the size people upload, as the README's figures
SHEET_ROWS = 6
CALIB_IMAGES = 40  # export's defaults: 32 to calibrate int8 on, 8 more for its quality gate
_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "_-")  # no ".": NAME.int8.onnx


@dataclass
class CardNotes:
    """What the card and the metadata say that the run cannot know; all optional."""

    task: str | None = None  # the metadata task: which app tab lists the model (else general)
    title: str = ""  # the task in words, e.g. "Summer <-> winter, Yosemite (CycleGAN)"
    source_domain: str | None = None  # better names than the run's domains
    target_domain: str | None = None
    description: str = ""  # one line in the metadata (the app, ``translate info``)
    lead: str = ""  # the card's opening paragraph
    data: str = ""  # the card's data row: what it was trained on, what was held out
    licence: str = ""  # of the data and weights: the card and the metadata
    limits: str = ""  # the card's Limits section; "{time}" becomes the training time
    hardware: str = ""  # what it trained on, e.g. "2 CPU cores", for the training row


@dataclass
class TrainingFacts:
    """A run's training, from its checkpoint, log and command.txt."""

    step: int
    epochs: float
    final: bool  # the schedule ran to its end
    minutes: float | None  # wall time in the log (None without a log)
    losses: dict[str, float]  # means over the last tenth of the log
    command: str  # the ``translate train`` command ("" without command.txt)


@dataclass
class Release:
    """What a release wrote."""

    name: str
    models: list[Path]  # NAME.onnx and, where export allowed it, NAME.int8.onnx
    card: Path
    sheet: Path
    checkpoint: Path | None  # the shipped checkpoint folder
    removed: list[Path] = field(default_factory=list)  # a stale int8 variant of an earlier release
    scores: dict = field(default_factory=dict)  # the held-out reports, as dicts
    int8_note: str = ""  # why there is no int8 variant ("" when there is one)

    def lines(self) -> list[str]:
        lines = [f"wrote {p}" for p in (*self.models, self.sheet, self.card)]
        if self.checkpoint:
            lines.append(f"wrote {self.checkpoint}/ (fp16 weights, config.json)")
        lines += [f"removed {p} (not made by this release)" for p in self.removed]
        if self.int8_note:
            lines.append(f"no int8 variant: {self.int8_note}")
        return lines


# --------------------------------------------------------------------------------------------


def release(
    run: str | Path,
    name: str | None = None,
    *,
    direction: str | None = None,
    checkpoint: str | Path | None = None,
    data: str | Path | None = None,
    held_out: str | Path | None = None,
    held_out_target: str | Path | None = None,
    calib: str | Path | None = None,
    int8: bool = True,
    baseline: str | Path | None = None,
    sheet_images: Sequence[str] = (),
    notes: CardNotes | None = None,
    models_dir: str | Path = "models",
    checkpoints_dir: str | Path | None = "checkpoints",
    features: str = "none",
    inception_weights: str | Path | None = None,
    device: str = "cpu",
    log: Callable[[str], None] | None = None,
) -> Release:
    """Release the generator of ``run`` (a run folder, or a checkpoint folder in one) for
    ``direction`` (default: the trainer's first) as ``models_dir/name.*`` (default name: the
    run folder's).

    ``checkpoint``: which checkpoint, a folder or its name in the run (default: the latest).
    ``data``: the dataset root, where the run's recorded one is not here. Held out (default:
    the dataset's val/ or test/ split): paired runs take ``held_out`` as aligned A|B pairs, or as
    inputs whose targets of the same names are in ``held_out_target``; unpaired runs take
    ``held_out`` source-domain images and ``held_out_target`` real target-domain images.
    ``calib``: int8 calibration images (default: training inputs). ``baseline``: another run
    (e.g. the L1-only one) scored and shown beside a paired model. ``sheet_images``: the
    held-out images (names without extension) the sheet shows (default: six spread evenly).
    ``features``: the network for KID/FID, a name of :data:`translate.eval.features.FEATURES`
    (``inception`` reads ``inception_weights``); "none" skips them.
    ``checkpoints_dir`` None: ship no checkpoint."""
    log = log or (lambda _line: None)
    notes = notes or CardNotes()
    extractor, feature_name, no_features_reason = resolve_features(
        features, inception_weights, device
    )
    if extractor is None and features != "none":
        log(f"note: KID/FID not computed: {no_features_reason}")
    run_dir, found = _resolve(run, checkpoint)
    name = name or run_dir.name
    if set(name) - _NAME_CHARS:
        raise ConfigError(f"model name {name!r}: use letters, digits, '_' and '-' only")
    cfg = TrainConfig.load(run_dir)
    trainer = get_trainer(cfg.model)
    specs = trainer.generators(cfg)
    direction = direction or next(iter(specs))
    if direction not in specs:
        raise ConfigError(
            f"{run_dir}: this {cfg.model} run trains {' and '.join(specs)}, not {direction}"
        )
    spec = specs[direction]
    facts = training_facts(run_dir, found)
    if not facts.final:
        log(f"warning: {run_dir} has not finished its schedule (step {facts.step})")
    root = Path(data) if data is not None else Path(cfg.data.root)
    size = cfg.data.crop_size
    src = notes.source_domain or spec.source
    dst = notes.target_domain or spec.target
    models_dir = Path(models_dir)
    shipped = Path(checkpoints_dir) / run_dir.name if checkpoints_dir is not None else None
    if shipped is not None and shipped.resolve() == run_dir.resolve():
        raise ConfigError(
            f"{run_dir}: the run would be replaced by its own weights-only copy; ship the "
            "checkpoint to another folder, or none"
        )
    stage = models_dir / f".{name}.release-{os.getpid()}"
    ck_stage = shipped.with_name(f".{shipped.name}.release-{os.getpid()}") if shipped else None
    try:
        with tempfile.TemporaryDirectory(prefix="translate-release-") as tmp:
            work = Path(tmp)
            shutil.rmtree(stage, ignore_errors=True)  # left by a killed release of this pid
            stage.mkdir(parents=True)
            # Held-out data first: a bad folder fails before the slow export.
            if trainer.paired:
                inputs, targets = _paired_held_out(
                    root, held_out, held_out_target, direction, cfg, work
                )
                if int8 and calib is None:
                    calib = _paired_calibration(root, direction, cfg, work) or inputs
                domains = None
            else:
                inputs, targets, domains = _unpaired_held_out(
                    root, held_out, held_out_target, direction
                )
                calib = calib or (domains[0] if domains else inputs)
            held = list(image_files(inputs, "held-out input"))
            rows = list(sheet_images) or _spread(held)
            missing = [n for n in rows if n not in held]
            if missing:
                raise ConfigError(f"{inputs}: no held-out image named {', '.join(missing)}")

            net, meta = load_source(found, direction=direction)
            meta = dataclasses.replace(
                meta,
                task=notes.task or meta.task,
                source_domain=src,
                target_domain=dst,
                description=notes.description
                or f"{src} -> {dst} ({trainer.title or cfg.model}; card: {name}.md)",
                license_note=notes.licence or meta.license_note,
            )
            fp32, int8_lines, int8_note = _export(net, meta, stage / name, int8, calib, log)

            log(f"scoring {name} on held-out images at {size} px")
            model = Translator(fp32, backend="onnxruntime")
            outputs = _translate_folder(model, inputs, work / "model", size)
            if trainer.paired:
                scores, sheet = _score_paired(
                    cfg, spec.config, direction, inputs, targets, outputs, baseline, work, name
                )
            else:
                scores, sheet = _score_unpaired(
                    inputs, targets, outputs, domains, size, name,
                    extractor, feature_name, no_features_reason,
                )  # fmt: skip
            log(f"measuring {name} at {MEASURE_SIZE} px, as `translate eval` does")
            measured = evaluate_model(
                fp32, inputs, targets, size=MEASURE_SIZE, features=feature_name,
                inception_weights=inception_weights, weights_free=False, backend="onnxruntime",
                device=device,
            )  # fmt: skip
            titles, folders, caption = sheet
            image = sample_sheet(titles, [_rows(f, rows, size) for f in folders], caption=caption)
            save_image(image, stage / f"{name}.png")

        ck_bytes = _ship_checkpoint(run_dir, found, ck_stage) if ck_stage else 0
        card = _card(
            name, direction, src, dst, cfg, facts, notes, scores,
            files=sorted(stage.glob("*.onnx")), multiple=int(read_metadata(fp32)["size_multiple"]),
            int8_lines=int8_lines, int8_note=int8_note, checkpoint=(shipped, ck_bytes),
            models_dir=models_dir, measured=measured,
        )  # fmt: skip
        write_card(card, stage / f"{name}.md")
        if shipped is not None:
            _swap_folder(ck_stage, shipped)
        written, removed = _move_into_place(stage, models_dir, name)
        update_checksums(models_dir, written, removed)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if ck_stage is not None:
            shutil.rmtree(ck_stage, ignore_errors=True)
    return Release(
        name=name,
        models=[p for p in written if p.suffix == ".onnx"],
        card=models_dir / f"{name}.md",
        sheet=models_dir / f"{name}.png",
        checkpoint=shipped,
        removed=removed,
        scores=scores,
        int8_note=int8_note,
    )


def _export(net, meta, base: Path, int8: bool, calib, log) -> tuple[Path, list[str], str]:
    """``BASE.onnx`` and, where export's gates pass, ``BASE.int8.onnx``: (the fp32 file, the
    int8 report's lines, why there is no int8 variant)."""
    fp32 = base.with_name(f"{base.name}.onnx")
    for line in export_onnx(net, fp32, meta).lines():
        if not line.startswith("wrote"):  # the staging folder's name says nothing
            log(line)
    if not int8:
        return fp32, [], "not requested"
    try:
        report = export_onnx(
            net, base.with_name(f"{base.name}.int8.onnx"), meta, precision="int8", calib=calib
        )
    except ExportError as e:  # refused (U-Nets) or below the quality gate
        return fp32, [], str(e).splitlines()[0]
    lines = [line for line in report.lines() if not line.startswith(("wrote", "parity"))]
    for line in lines:
        log(line)
    return fp32, lines, ""


def _move_into_place(stage: Path, models_dir: Path, name: str) -> tuple[list[Path], list[Path]]:
    """Rename the staged files into ``models_dir``, the card last; remove an int8 variant of
    an earlier release that this one did not make. Returns (written, removed)."""
    written, removed = [], []
    for file in (f"{name}.onnx", f"{name}.int8.onnx", f"{name}.png", f"{name}.md"):
        dest = models_dir / file
        if (stage / file).exists():
            os.replace(stage / file, dest)
            written.append(dest)
        elif dest.exists():
            dest.unlink()
            removed.append(dest)
    _fsync_dir(models_dir)
    return written, removed


def _resolve(run: str | Path, checkpoint: str | Path | None) -> tuple[Path, Path]:
    run_dir, found = ckpt.resolve(run)
    if checkpoint is None:
        return run_dir, found
    named = Path(checkpoint)
    if not named.exists():
        named = run_dir / ckpt.CHECKPOINTS / str(checkpoint)
    chosen_run, chosen = ckpt.resolve(named)
    if chosen_run.resolve() != run_dir.resolve():
        raise ConfigError(f"{checkpoint}: a checkpoint of {chosen_run}, not of {run_dir}")
    return run_dir, chosen


# --------------------------------------------------------------------------------------------
# training facts


def training_facts(run_dir: Path, found: Path) -> TrainingFacts:
    """Iterations, epochs, wall time and final losses of the run up to checkpoint ``found``."""
    meta = ckpt.read_meta(found)
    log = [r for r in read_log(run_dir / "log.jsonl") if r.get("step", 0) <= meta["step"]]
    records = [r for r in log if "time" in r]
    minutes = None
    if records:
        seconds, last = 0.0, None
        for r in records:  # gaps over 10 minutes are stops between a run and its resume
            if last is not None and 0 < r["time"] - last < 600:
                seconds += r["time"] - last
            last = r["time"]
        minutes = seconds / 60
    # A checkpoint between epochs counts whole epochs done; inside one, the log's fraction.
    epochs = meta.get("epoch", 0)
    if meta.get("batch_in_epoch", 0) != 0 and records:
        epochs = records[-1]["epoch"]
    losses: dict[str, float] = {}
    if records:
        tail = records[-max(1, len(records) // 10) :]
        skip = {"step", "epoch", "lr", "it_s", "time"}
        for key in (k for k in tail[-1] if k not in skip):
            values = [r[key] for r in tail if key in r]
            losses[key] = sum(values) / len(values)
    command = ""
    recorded = run_dir / "command.txt"
    if recorded.is_file():
        lines = recorded.read_text(encoding="utf-8").strip().splitlines()
        if lines and " train " in lines[0]:
            command = "translate train " + lines[0].split(" train ", 1)[1]
    return TrainingFacts(
        step=int(meta["step"]),
        epochs=float(epochs),
        final=bool(meta.get("final")),
        minutes=minutes,
        losses=losses,
        command=command,
    )


# --------------------------------------------------------------------------------------------
# held-out data


def _square(img: Image.Image, size: int) -> Image.Image:
    return to_mode(img, 3).resize((size, size), Image.Resampling.BICUBIC)


def _phase(root: Path, *names: str) -> str:
    """The first split of ``names`` the dataset has (``root/val``, ``root/valA``, ...)."""
    for phase in names:
        if any((root / p).is_dir() for p in (phase, f"{phase}A", f"{phase}B", f"A/{phase}")):
            return phase
    return names[-1]


def _pairs(folder: Path, phase: str, cfg: TrainConfig, direction: str) -> list[tuple]:
    """(name, input image path, target image path or None for the other half) of a paired
    dataset split, through the trainer's own scan (aligned A|B files or A/ and B/ folders)."""
    scan = scan_paired(folder, phase, dataclasses.replace(cfg.data, max_images=None))
    if scan.layout == "aligned":
        return [(p.stem, p, None) for p in scan.a]
    src, dst = (scan.a, scan.b) if direction == "AtoB" else (scan.b, scan.a)
    return [(a.stem, a, b) for a, b in zip(src, dst, strict=True)]


def _paired_held_out(root, held_out, held_out_target, direction, cfg, work) -> tuple[Path, Path]:
    """Held-out inputs and targets squashed to the training size, as two folders of PNGs with
    the same names."""
    size = cfg.data.crop_size
    inputs, targets = work / "inputs", work / "targets"
    inputs.mkdir()
    targets.mkdir()
    if held_out_target is not None:
        if held_out is None:
            raise ConfigError("held-out targets need the held-out inputs as well")
        ins, outs = image_files(held_out, "held-out input"), image_files(held_out_target, "target")
        missing = [k for k in ins if k not in outs]
        if missing:
            raise ConfigError(f"{held_out_target}: no target for {', '.join(missing[:5])}")
        pairs = [(k.replace("/", "_"), ins[k], outs[k]) for k in ins]
    else:
        folder = Path(held_out) if held_out is not None else root
        pairs = _pairs(folder, _phase(folder, "val", "test"), cfg, direction)
    halves = ("left", "right") if direction == "AtoB" else ("right", "left")
    for stem, a, b in pairs:
        img = load_image(a)
        if b is None:  # an aligned A|B image
            src, tgt = take_half(img, halves[0]), take_half(img, halves[1])
        else:
            src, tgt = img, load_image(b)
        save_image(_square(src, size), inputs / f"{stem}.png")
        save_image(_square(tgt, size), targets / f"{stem}.png")
    return inputs, targets


def _paired_calibration(root: Path, direction: str, cfg: TrainConfig, work: Path) -> Path | None:
    """Input images of training pairs for int8 calibration; None without training data."""
    try:
        pairs = _pairs(root, "train", cfg, direction)[:CALIB_IMAGES]
    except ValueError:  # DatasetError: no training split here
        return None
    folder = work / "calib"
    folder.mkdir()
    for stem, a, b in pairs:
        img = load_image(a)
        if b is None:
            img = take_half(img, "left" if direction == "AtoB" else "right")
        save_image(to_mode(img, 3), folder / f"{stem}.png")
    return folder


def _unpaired_held_out(root, held_out, held_out_target, direction):
    """(source images, real target images, (training source, training target) folders for the
    domain classifier or None)."""
    src, dst = ("A", "B") if direction == "AtoB" else ("B", "A")
    phase = _phase(root, "test", "val")
    inputs = Path(held_out) if held_out is not None else root / f"{phase}{src}"
    real = Path(held_out_target) if held_out_target is not None else root / f"{phase}{dst}"
    for folder, role in ((inputs, "held-out input"), (real, "real target")):
        if not folder.is_dir():
            raise ConfigError(
                f"{folder}: no {role} folder (pass the held-out folders, or the dataset with "
                "--data)"
            )
    train = (root / f"train{src}", root / f"train{dst}")
    return inputs, real, train if all(d.is_dir() for d in train) else None


def _translate_folder(model: Translator, inputs: Path, out: Path, size: int) -> Path:
    for key, path in image_files(inputs, "held-out input").items():
        (out / key).parent.mkdir(parents=True, exist_ok=True)
        save_image(model(load_image(path), size=size), out / f"{key}.png")
    return out


def _load_set(folder: Path, size: int) -> torch.Tensor:
    return torch.stack(list(load_resized(list(image_files(folder, "images").values()), size)))


def _rows(folder: Path, names: list[str], size: int) -> torch.Tensor:
    files = image_files(folder, "images")
    return torch.stack(list(load_resized([files[n] for n in names], size)))


def _spread(names: list[str], k: int = SHEET_ROWS) -> list[str]:
    """``k`` names spread evenly over the list (the same rows on every release)."""
    step = max(1, len(names) // k)
    return names[::step][:k]


# --------------------------------------------------------------------------------------------
# scores


def _objective(cfg: TrainConfig) -> str:
    """A paired run's objective in words: what its loss weights switch on."""
    if cfg.loss.lambda_gan == 0:
        return "L1 only"
    return "cGAN only" if cfg.loss.lambda_l1 == 0 else "L1 + cGAN"


def _score_paired(cfg, gcfg, direction, inputs, targets, outputs, baseline, work, name):
    size = cfg.data.crop_size
    results = {"model": evaluate_paired(outputs, targets)}
    # The same network untrained (the run's seed and init), for scale.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        untrained = create_generator(gcfg, init=cfg.init, init_gain=cfg.init_gain).eval()
    results["untrained"] = evaluate_paired(
        _translate_folder(Translator(untrained), inputs, work / "untrained", size), targets
    )
    label = _objective(cfg)
    titles, folders = ["input"], [inputs]
    if baseline is not None:
        base_dir, _ = ckpt.resolve(baseline)
        base_cfg = TrainConfig.load(base_dir)
        base_out = _translate_folder(
            Translator(baseline, direction=direction), inputs, work / "baseline", size
        )
        base = evaluate_paired(base_out, targets)
        same = base_cfg.preset == cfg.preset and base_cfg.schedule == cfg.schedule
        how = "same preset and schedule" if same else f"run {base_dir.name}"
        no_gan = ", no GAN" if base_cfg.loss.lambda_gan == 0 else ""
        results["baseline"] = base
        results["baseline_label"] = f"{_objective(base_cfg)} ({how}{no_gan})"
        titles.append(_objective(base_cfg))
        folders.append(base_out)
    titles += [label, "target"]
    folders += [outputs, targets]
    caption = f"{name} ({label}): held-out inputs at {size} px"
    scores = {k: v if isinstance(v, str) else v.to_dict() for k, v in results.items()}
    scores["label"] = label
    return scores, (titles, folders, caption)


def _score_unpaired(
    inputs, real, outputs, domains, size, name, features, feature_name, no_features_reason
):
    def score(folder):
        return evaluate_unpaired(
            folder, real, features, feature_name, size=size,
            no_features_reason=no_features_reason,
        ).to_dict()  # fmt: skip

    scores = {"model": score(outputs), "identity": score(inputs)}
    if features is None:
        scores["no_features_reason"] = no_features_reason
    if domains is not None:
        source, target = (_load_set(d, size) for d in domains)
        scores["target_share"] = {
            key: target_share(source, target, _load_set(folder, size))
            for key, folder in (("inputs", inputs), ("outputs", outputs), ("real", real))
        }
    caption = f"{name}: held-out inputs at {size} px"
    return scores, (["input", "output"], [inputs, outputs], caption)


# --------------------------------------------------------------------------------------------
# the checkpoint


def _ship_checkpoint(run_dir: Path, found: Path, dest: Path) -> int:
    """Write the run's config and the checkpoint's weights (fp16, no optimiser state) to
    ``dest`` as a run folder that ``translate train --resume`` continues; returns its bytes."""
    from safetensors.torch import save

    shutil.rmtree(dest, ignore_errors=True)
    step_dir = dest / ckpt.CHECKPOINTS / found.name
    step_dir.mkdir(parents=True)
    shutil.copyfile(run_dir / "config.json", dest / "config.json")
    shutil.copyfile(found / ckpt.META, step_dir / ckpt.META)
    for f in sorted(found.glob("*.safetensors")):
        sd = ckpt.load_weights(found, f.stem)
        half = {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}
        atomic_write_bytes(step_dir / f.name, save(half))
    (dest / ckpt.CHECKPOINTS / ckpt.LATEST).write_text(found.name + "\n", encoding="utf-8")
    return sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())


def _swap_folder(new: Path, dest: Path) -> None:
    """Put folder ``new`` in the place of ``dest`` (two renames; the old one is deleted)."""
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    if dest.exists():
        os.replace(dest, old)
    try:
        os.replace(new, dest)
    except BaseException:
        if old.exists():
            os.replace(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(dest.parent)


# --------------------------------------------------------------------------------------------
# the card


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.1f} MB"


def _f(x, fmt: str) -> str:
    return "n/a" if x is None else format(x, fmt)


def _shown(path: Path, models_dir: Path) -> str:
    """``path`` as the card shows it: relative to the folder that holds ``models/``."""
    return Path(os.path.relpath(path, models_dir.parent)).as_posix()


def _card(
    name, direction, src, dst, cfg, facts, notes, scores, *, files, multiple, int8_lines,
    int8_note, checkpoint, models_dir, measured: ModelReport,
) -> ModelCard:  # fmt: skip
    g, d = cfg.generator, cfg.discriminator
    data_name = Path(cfg.data.root).name
    task = notes.task or "general"
    file_list = ", ".join(
        f"`{f.name}` ({'int8' if f.name.endswith('.int8.onnx') else 'fp32'}, {_mb(f)})"
        for f in sorted(files, key=lambda f: f.name.endswith(".int8.onnx"))
    )
    training = (
        f"{facts.step:,} iterations ({round(facts.epochs, 1):g} epochs, batch {cfg.batch_size})"
    )
    if facts.minutes is not None:
        training += f", {facts.minutes:.0f} min"
    if notes.hardware:
        training += f" on {notes.hardware}"
    table = {
        "task": f"`{task}` ({notes.title})" if notes.title else f"`{task}`",
        "direction": f"{direction} of the training run: {src} -> {dst}",
        "files": file_list,
        "network": f"{cfg.model}: {g.arch}, ngf {g.ngf}, {g.norm} norm; {d.arch} D, ndf {d.ndf}",
        "input": f"any size (the engine pads to a multiple of {multiple}); trained at "
        f"{cfg.data.crop_size} px (crops of {cfg.data.load_size}-px images), best near it",
        "data": notes.data or f"`{data_name}`",
    }
    if notes.licence:
        table["licence"] = notes.licence
    table["training"] = training
    if facts.command:
        table["command"] = f"`{facts.command}`"
    if facts.losses:
        table["final losses"] = (
            ", ".join(f"{k} {v:.3f}" for k, v in facts.losses.items())
            + " (mean of the last tenth of the log)"
        )
    shipped, ck_bytes = checkpoint
    if shipped is not None:
        table["checkpoint"] = (
            f"`{_shown(shipped, models_dir)}/` (fp16 safetensors, {ck_bytes / 2**20:.1f} MB)"
        )

    sections = {
        "Validation": _validation(scores, src, dst, cfg.data.crop_size),
        f"Measured at {MEASURE_SIZE} px": _measured(measured, src, dst),
    }
    if notes.limits:
        time = f"{facts.minutes:.0f} minutes" if facts.minutes is not None else "an unknown time"
        sections["Limits"] = notes.limits.replace("{time}", time)
    if int8_lines:
        quality = " ".join(x for x in int8_lines if x.startswith("quality"))
        sections["Export"] = (
            f"`{name}.int8.onnx`: static QDQ int8, calibrated on training images and gated on "
            f"PSNR against fp32 on real images: {quality}"
        )
    else:
        sections["Export"] = f"No int8 variant: {int8_note}"
    use = [
        "```bash",
        f"translate convert {_shown(models_dir / f'{name}.onnx', models_dir)} photos/ out/ "
        f"--size {cfg.data.crop_size}",
    ]
    if shipped is not None:
        ck, sched = _shown(shipped, models_dir), cfg.schedule
        use += [
            f"cp -r {ck} runs/{shipped.name}   # continue training (e.g. on a GPU):",
            f"translate train --resume runs/{shipped.name} --data /path/to/{data_name} "
            f"--n-epochs {2 * sched.n_epochs} --n-epochs-decay {2 * sched.n_epochs_decay}",
        ]
    use += ["```", "", "Made by `translate train` and `translate release`."]
    sections["Use"] = "\n".join(use)
    return ModelCard(
        title=f"{name}: {src} -> {dst}",
        lead=notes.lead,
        sheet=f"{name}.png",
        facts=table,
        sections=sections,
    )


def _measured(r: ModelReport, src: str, dst: str) -> str:
    """The `translate eval` figures at the size people upload: the outputs beside the
    untranslated inputs (the do-nothing baseline) against the real targets."""

    def kid(value, std):
        return "not computed" if value is None else f"{value:.3f} ± {std:.3f}"

    rows = [
        f"{r.inputs} held-out {src} images translated at {r.size} px (shorter side) against "
        f"{r.targets} real {dst} images, beside the untranslated inputs. KID in natural units "
        "(0 = like the real images); checkerboard: log10 spectral peak ratio at the 2- and "
        "4-pixel periods over the real images' (0 = no more grid than real images).",
        "",
        f"| | outputs | untranslated {src} inputs |",
        "|---|---|---|",
    ]
    if r.kid is not None or r.kid_inputs is not None:
        rows.append(
            f"| KID, {r.features} | **{kid(r.kid, r.kid_std)}** | "
            f"{kid(r.kid_inputs, r.kid_inputs_std)} |"
        )
    rows += [
        f"| checkerboard excess | **{r.checkerboard_excess:+.2f}** | "
        f"{r.checkerboard_excess_inputs:+.2f} |",
        f"| sharpness (real {dst}: {r.target_sharpness:.3f}) | {r.sharpness:.3f} | "
        f"{r.input_sharpness:.3f} |",
    ]
    return "\n".join(rows)


def _validation(s: dict, src: str, dst: str, size: int) -> str:
    if "untrained" in s:  # paired
        m = s["model"]
        lines = [
            f"{m['count']} held-out pairs, inputs and targets resized to {size} px, through the "
            "ONNX file. L1 on the [-1, 1] scale (lower is better); sharpness is the mean gradient "
            f"magnitude (the targets' is {m['target_sharpness']:.3f}).",
            "",
            "| generator | L1 | PSNR (dB) | SSIM | sharpness |",
            "|---|---|---|---|---|",
        ]
        rows = [("untrained (same network, initial weights)", s["untrained"])]
        if "baseline" in s:
            rows.append((s["baseline_label"], s["baseline"]))
        rows.append((f"**this model** ({s['label']})", m))
        for label, r in rows:
            lines.append(
                f"| {label} | {r['l1']:.3f} | {_f(r['psnr'], '.2f')} | {r['ssim']:.3f} | "
                f"{r['sharpness']:.3f} |"
            )
        return "\n".join(lines)
    model, identity = s["model"], s["identity"]
    kid = model["kid"] is not None
    if kid:
        features = (
            f"KID and FID on {model['features']} features (FID is biased upwards for small sets: "
            "compare only at equal set sizes)."
        )
    else:
        features = (
            f"KID/FID: not computed ({s['no_features_reason']}; `translate eval --unpaired "
            "--inception-weights FILE` computes them)."
        )
    lines = [
        f"Classifier two-sample test (C2ST) AUC on the held-out images at {size} px: a classifier "
        f"on image statistics tries to tell the images from real {dst} images. 0.5 means it "
        "cannot; 1.0 always can. The untranslated inputs give the starting point. " + features,
        "",
        f"| images | count | C2ST AUC vs real {dst} |" + (" KID | FID |" if kid else ""),
        "|---|---|---|" + ("---|---|" if kid else ""),
    ]
    for label, r in (
        (f"held-out {src} inputs, untranslated", identity),
        ("**this model's outputs**", model),
    ):
        row = f"| {label} | {r['generated']} | {r['c2st_auc']:.3f} |"
        if kid:
            row += f" {r['kid']:.4f} | {r['fid']:.1f} |"
        lines.append(row)
    share = s.get("target_share")
    if share:
        lines += [
            "",
            f"Share of images a domain classifier calls {dst} (the same statistics, fitted on the "
            f"training images: {src} vs {dst}). It shows whether the outputs moved to the target "
            "domain; the AUC above also catches artefacts that make them unlike any real photo.",
            "",
            f"| untranslated {src} inputs | **outputs** | real held-out {dst} |",
            "|---|---|---|",
            f"| {share['inputs']:.0%} | **{share['outputs']:.0%}** | {share['real']:.0%} |",
        ]
    return "\n".join(lines)

"""Turn the demo training runs (scripts/train_models.sh) into the bundled models.

For each model: export the generator(s) from runs/NAME to models/*.onnx with their metadata
(verified against PyTorch; an int8 variant only where export's quality and speed gates pass),
score them on held-out data, draw a sample sheet, write the model card models/*.md, and copy the
final checkpoint to checkpoints/NAME as fp16 safetensors + config.json (no optimiser state), which
`translate train --resume` continues.

    .venv/bin/python scripts/bundle_models.py sketch facades season style vangogh

Held-out images are scored at the model's training size (128 px): inputs and targets are resized
to it, as `translate convert --size 128` and `translate eval` would.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from translate.eval.evaluate import evaluate_paired, evaluate_unpaired, image_files, load_resized
from translate.eval.metrics import target_share
from translate.export.onnx import ExportError, export_onnx, load_source
from translate.gan.nets import create_generator
from translate.runtime.catalog import read_metadata
from translate.runtime.edges import take_half
from translate.runtime.images import load_image, save_image, to_mode
from translate.runtime.inference import Translator
from translate.training import checkpoint as ckpt
from translate.training.config import TrainConfig
from translate.training.report import read_log, sample_sheet

ROOT = Path(__file__).resolve().parent.parent
SHEET_ROWS = 6


@dataclass
class Direction:
    """One exported generator and the held-out data it is scored on."""

    file: str  # models/<file>.onnx
    direction: str  # AtoB | BtoA of the run
    heldout: str  # paired: aligned A|B folder; unpaired: folder of source-domain images
    real: str = ""  # unpaired: real target-domain images to compare with
    train_source: str = ""  # unpaired: the training images of both domains, for the domain
    train_target: str = ""  # classifier behind target_share
    input_half: str = ""  # paired: "A" (left) or "B" (right) half is the input


@dataclass
class Spec:
    run: str
    task: str
    title: str
    data: str  # what it was trained on, for the card
    licence: str
    limits: str
    directions: list[Direction] = field(default_factory=list)
    baseline_run: str = ""  # paired: the L1-only run shown beside this one
    target_domain: str = ""  # pix2pix: a better name than the run's (which came from a preset)


def unpaired(file: str, direction: str, folder: Path) -> Direction:
    src, dst = ("A", "B") if direction == "AtoB" else ("B", "A")
    return Direction(
        file,
        direction,
        str(folder / f"test{src}"),
        real=str(folder / f"test{dst}"),
        train_source=str(folder / f"train{src}"),
        train_target=str(folder / f"train{dst}"),
    )


def specs(shared: Path) -> dict[str, Spec]:
    d = shared / "data"
    unpaired_limits = (
        "Trained {time} on 2 CPU cores at 128 px with a narrow ResNet (ngf 32, 6 blocks): "
        "it changes colours and textures across the whole image, not objects; details are soft, "
        "and the held-out sets are small, so the AUC is a rough figure."
    )
    return {
        "sketch": Spec(
            run="sketch",
            task="sketch-to-photo",
            title="Sketch -> photo (pix2pix)",
            target_domain="photo",
            data=(
                "Photos of `facades` (400 train) and `edges2shoes` (100 train), each turned into "
                "an edge sketch with `translate edges` (Canny, thinning, small-component removal): "
                "500 sketch|photo pairs (`scripts/train_models.sh sketch-data`). Held out: the val "
                "splits (100 facades + 20 shoes)."
            ),
            licence=(
                "CMP Facade Database (research dataset; licence not verified) and UT-Zappos50K "
                "(academic, non-commercial use). Cite Tyleček & Šára 2013, Yu & Grauman 2014, "
                "Isola et al. 2017."
            ),
            limits=(
                "Trained {time} on 2 CPU cores at 128 px on 500 pairs, mostly facades: it "
                "fills outlines with plausible colours and coarse texture (shoe-like on white, "
                "facade-like elsewhere); it does not invent fine detail, and results are blurry. "
                "Strokes should be thin and dark on white, like `translate edges` makes them."
            ),
            directions=[
                Direction("sketch2photo", "AtoB", "runs/sketch-data/val", input_half="A"),
            ],
        ),
        "facades": Spec(
            run="facades",
            task="labels-to-photo",
            title="Facade label map -> photo (pix2pix)",
            data="`facades`: 400 train pairs (CMP Facade Database); held out: the 100 val pairs.",
            licence=(
                "CMP Facade Database (Tyleček & Šára 2013), a research dataset; licence not "
                "verified. Cite Tyleček & Šára 2013 and Isola et al. 2017."
            ),
            limits=(
                "Trained {time} on 2 CPU cores at 128 px: windows, doors and cornices "
                "land where the labels put them with plausible colours, but textures are coarse "
                "and the model only knows the CMP label colours."
            ),
            directions=[
                Direction(
                    "facades_labels2photo", "BtoA", str(d / "facades" / "val"), input_half="B"
                ),
            ],
            baseline_run="facades-l1",
        ),
        "season": Spec(
            run="season",
            task="season",
            title="Summer <-> winter, Yosemite (CycleGAN)",
            data=(
                "`summer2winter_yosemite`: 100 summer and 100 winter Flickr photos (unpaired); "
                "held out: testA (303 summer) and testB (235 winter)."
            ),
            licence=(
                "Flickr photos distributed by CycleGAN for research; photographers keep "
                "copyright. Cite Zhu et al. 2017."
            ),
            limits=unpaired_limits,
            directions=[
                unpaired("summer2winter", "AtoB", d / "summer2winter_yosemite"),
                unpaired("winter2summer", "BtoA", d / "summer2winter_yosemite"),
            ],
        ),
        "style": Spec(
            run="style",
            task="style",
            title="Monet painting <-> photo (CycleGAN)",
            data=(
                "`monet2photo_kaggle256`: 270 Monet paintings and 391 photos (unpaired); held "
                "out: testA (30 paintings) and testB (43 photos)."
            ),
            licence=(
                "Monet's paintings are public domain (reproductions distributed by Kaggle's "
                "gan-getting-started competition); photos from Flickr, photographers keep "
                "copyright. Check Kaggle's rules before redistributing widely."
            ),
            limits=unpaired_limits,
            directions=[
                unpaired("photo2monet", "BtoA", d / "monet2photo_kaggle256"),
                unpaired("monet2photo", "AtoB", d / "monet2photo_kaggle256"),
            ],
        ),
        "vangogh": Spec(
            run="vangogh",
            task="style",
            title="Van Gogh painting <-> photo (CycleGAN)",
            data=(
                "`vangogh2photo` (CycleGAN subset): 180 Van Gogh paintings and 90 photos "
                "(unpaired); held out: testA (19 paintings) and testB (10 photos)."
            ),
            licence=(
                "Van Gogh's paintings are public domain (reproductions via CycleGAN's "
                "WikiArt-derived set); photos from Flickr, photographers keep copyright. Cite "
                "Zhu et al. 2017."
            ),
            limits=unpaired_limits
            + " Only 90 training photos and 10 held-out photos: treat it as a sketch of the idea.",
            directions=[
                unpaired("photo2vangogh", "BtoA", d / "vangogh2photo"),
                unpaired("vangogh2photo", "AtoB", d / "vangogh2photo"),
            ],
        ),
    }


# ---------------------------------------------------------------------------------------------
# held-out data


def images_in(folder: str | Path) -> list[Path]:
    return list(image_files(folder, "images").values())


def square(img: Image.Image, size: int) -> Image.Image:
    return to_mode(img, 3).resize((size, size), Image.Resampling.BICUBIC)


def paired_heldout(d: Direction, size: int, work: Path) -> tuple[Path, Path]:
    """Inputs and targets of the aligned held-out pairs, resized to ``size``, as two folders."""
    inputs, targets = work / "inputs", work / "targets"
    for folder in (inputs, targets):
        folder.mkdir(parents=True, exist_ok=True)
    src_half, tgt_half = ("left", "right") if d.input_half == "A" else ("right", "left")
    for path in images_in(d.heldout):
        img = load_image(path)
        src, tgt = take_half(img, src_half), take_half(img, tgt_half)
        save_image(square(src, size), inputs / f"{path.stem}.png")
        save_image(square(tgt, size), targets / f"{path.stem}.png")
    return inputs, targets


def translate_folder(translator: Translator, inputs: Path, out: Path, size: int) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for path in images_in(inputs):
        save_image(translator(load_image(path), size=size), out / f"{path.stem}.png")
    return out


def load_set(folder: str | Path, size: int) -> torch.Tensor:
    return torch.stack(list(load_resized(images_in(folder), size)))


def sheet_rows(folder: Path, names: list[str], size: int) -> torch.Tensor:
    files = {p.stem: p for p in images_in(folder)}
    return torch.stack(list(load_resized([files[n] for n in names], size)))


def pick(names: list[str], k: int = SHEET_ROWS) -> list[str]:
    """``k`` names spread evenly over the sorted list (the same rows on every rerun)."""
    step = max(1, len(names) // k)
    return names[::step][:k]


# ---------------------------------------------------------------------------------------------
# training facts


def training_facts(run: Path) -> dict:
    """Iterations, epochs, wall time and final losses of a run, from its log and checkpoint."""
    found = ckpt.latest_checkpoint(run)
    if found is None:
        raise SystemExit(f"{run}: no checkpoint; train it first (scripts/train_models.sh)")
    meta = ckpt.read_meta(found)
    log = [r for r in read_log(run / "log.jsonl") if r["step"] <= meta["step"]]
    records = [r for r in log if "time" in r]
    seconds, last = 0.0, None
    for r in records:  # gaps over 10 minutes are stops between a run and its resume
        if last is not None and 0 < r["time"] - last < 600:
            seconds += r["time"] - last
        last = r["time"]
    tail = records[-max(1, len(records) // 10) :]
    # A checkpoint between epochs counts whole epochs done; inside one, the log's fraction.
    epochs = meta["epoch"] if meta.get("batch_in_epoch") == 0 else records[-1]["epoch"]
    skip = {"step", "epoch", "lr", "it_s", "time"}
    keys = [k for k in tail[-1] if k not in skip]
    losses = {k: sum(r[k] for r in tail if k in r) / len([r for r in tail if k in r]) for k in keys}
    commands = (run / "command.txt").read_text().strip().splitlines()
    return {
        "checkpoint": found,
        "step": int(meta["step"]),
        "epochs": epochs,
        "final": bool(meta.get("final")),
        "minutes": seconds / 60,
        "losses": losses,
        "command": "translate train " + commands[0].split(" train ", 1)[-1],
        "resumed": len(commands) - 1,
        "val_l1": [r["val_L1"] for r in log if "val_L1" in r],
    }


def ship_checkpoint(run: Path, found: Path, dest: Path) -> int:
    """Copy the run's config and final weights (fp16, no optimiser state) to ``dest``."""
    if dest.exists():
        shutil.rmtree(dest)
    step_dir = dest / "checkpoints" / found.name
    step_dir.mkdir(parents=True)
    shutil.copy(run / "config.json", dest / "config.json")
    shutil.copy(found / "meta.json", step_dir / "meta.json")
    for f in sorted(found.glob("*.safetensors")):
        sd = load_file(f)
        save_file(
            {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}, step_dir / f.name
        )
    (dest / "checkpoints" / "latest.txt").write_text(found.name + "\n")
    return sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------------------------
# one model


def export(spec: Spec, d: Direction, found: Path, models: Path, calib: str) -> dict:
    """Export the generator of checkpoint ``found`` (fp32, and int8 where export allows it)."""
    net, meta = load_source(found, direction=d.direction)
    run = found.parent.parent
    meta.task = spec.task
    meta.target_domain = spec.target_domain or meta.target_domain
    meta.training_data = Path(TrainConfig.load(run).data.root).name
    kind = "CycleGAN" if meta.model_type == "cyclegan" else "pix2pix"
    meta.description = (
        f"{meta.source_domain} -> {meta.target_domain}: a small {kind} demo model trained on a "
        f"2-core CPU (card: models/{d.file}.md)"
    )
    meta.license_note = spec.licence
    report = export_onnx(net, models / f"{d.file}.onnx", meta)
    print("\n".join(report.lines()))
    out = {
        "fp32_mb": (models / f"{d.file}.onnx").stat().st_size / 2**20,
        "int8": None,
        "multiple": int(read_metadata(models / f"{d.file}.onnx")["size_multiple"]),
    }
    try:
        q = export_onnx(net, models / f"{d.file}.int8.onnx", meta, precision="int8", calib=calib)
        print("\n".join(q.lines()))
        out["int8"] = {
            "mb": (models / f"{d.file}.int8.onnx").stat().st_size / 2**20,
            "lines": q.lines(),
        }
    except ExportError as e:
        first = str(e).splitlines()[0]
        print(f"int8 variant not shipped: {first}")
        out["int8_refused"] = first
    return out


def score_paired(spec: Spec, d: Direction, cfg: TrainConfig, models: Path, work: Path) -> dict:
    size = cfg.data.crop_size
    inputs, targets = paired_heldout(d, size, work)
    onnx_out = translate_folder(Translator(models / f"{d.file}.onnx"), inputs, work / "model", size)
    results = {"model": evaluate_paired(onnx_out, targets)}
    # The same network untrained (the run's seed and init), and the L1-only baseline run.
    torch.manual_seed(cfg.seed)
    untrained = create_generator(cfg.generator, init=cfg.init, init_gain=cfg.init_gain).eval()
    results["untrained"] = evaluate_paired(
        translate_folder(Translator(untrained), inputs, work / "untrained", size), targets
    )
    columns = {"input": inputs}
    if spec.baseline_run:
        base = ROOT / "runs" / spec.baseline_run
        results["l1_only"] = evaluate_paired(
            translate_folder(Translator(base), inputs, work / "l1_only", size), targets
        )
        columns["L1 only"] = work / "l1_only"
    columns["L1 + cGAN"] = onnx_out
    columns["target"] = targets
    names = pick([p.stem for p in images_in(inputs)])
    if spec.run == "sketch":  # show shoes as well as facades
        shoes = [p.stem for p in images_in(inputs) if p.stem.endswith("_AB")]
        names = names[: SHEET_ROWS - 2] + shoes[:2]
    sheet = sample_sheet(
        list(columns),
        [sheet_rows(f, names, size) for f in columns.values()],
        caption=f"{d.file} (L1 + cGAN): held-out inputs at {size} px",
    )
    sheet.save(models / f"{d.file}.png")
    return {k: v.to_dict() for k, v in results.items()}


def score_unpaired(d: Direction, cfg: TrainConfig, models: Path, work: Path) -> dict:
    size = cfg.data.crop_size
    out = translate_folder(
        Translator(models / f"{d.file}.onnx"), Path(d.heldout), work / "model", size
    )
    reason = "no Inception-v3 weights on this offline machine"
    source, target = load_set(d.train_source, size), load_set(d.train_target, size)
    shares = {
        key: target_share(source, target, load_set(folder, size))
        for key, folder in (("inputs", d.heldout), ("outputs", out), ("real", d.real))
    }
    results = {
        "target_share": shares,
        "model": evaluate_unpaired(out, d.real, size=size, no_features_reason=reason).to_dict(),
        "identity": evaluate_unpaired(
            d.heldout, d.real, size=size, no_features_reason=reason
        ).to_dict(),
    }
    names = pick([p.stem for p in images_in(d.heldout)])
    sheet = sample_sheet(
        ["input", "output"],
        [sheet_rows(Path(d.heldout), names, size), sheet_rows(out, names, size)],
        caption=f"{d.file}: held-out inputs at {size} px",
    )
    sheet.save(models / f"{d.file}.png")
    return results


def bundle(name: str, spec: Spec, shared: Path) -> None:
    run = ROOT / "runs" / spec.run
    models = ROOT / "models"
    facts = training_facts(run)
    cfg = TrainConfig.load(run)
    if not facts["final"]:
        print(f"warning: {run} has not finished its schedule (step {facts['step']})")
    results = {}
    for d in spec.directions:
        work = run / "bundle" / d.file
        shutil.rmtree(work, ignore_errors=True)
        calib = d.train_source or str(Path(d.heldout).parent / "train")
        exported = export(spec, d, facts["checkpoint"], models, calib)
        scores = (
            score_paired(spec, d, cfg, models, work)
            if cfg.model == "pix2pix"
            else score_unpaired(d, cfg, models, work)
        )
        results[d.file] = {"export": exported, "scores": scores}
    facts["checkpoint_mb"] = ship_checkpoint(run, facts["checkpoint"], ROOT / "checkpoints" / name)
    facts["checkpoint_mb"] /= 2**20
    record = {"facts": {k: v for k, v in facts.items() if k != "checkpoint"}, "results": results}
    (run / "bundle" / "results.json").write_text(json.dumps(record, indent=1, default=str))
    for d in spec.directions:
        write_card(name, spec, d, cfg, facts, results)


# ---------------------------------------------------------------------------------------------
# model card


def _f(x, fmt=".3f") -> str:
    return "n/a" if x is None else format(x, fmt)


def write_card(name: str, spec: Spec, d: Direction, cfg: TrainConfig, facts: dict, results: dict):
    r = results[d.file]
    paired = cfg.model == "pix2pix"
    src, dst = cfg.source_domain, spec.target_domain or cfg.target_domain
    if d.direction == "BtoA" and not paired:
        src, dst = dst, src
    g, sched = cfg.generator, cfg.schedule
    lines = [
        f"# {d.file}: {src} -> {dst}",
        "",
        "**A small demo model**, trained on a 2-core CPU: not reference quality (see Limits).",
        "",
        f"![held-out samples]({d.file}.png)",
        "",
        "| | |",
        "|---|---|",
        f"| task | `{spec.task}` ({spec.title}) |",
        f"| direction | {d.direction} of the training run: {src} -> {dst} |",
        f"| files | `{d.file}.onnx` (fp32, {r['export']['fp32_mb']:.1f} MB)"
        + (
            f", `{d.file}.int8.onnx` (int8, {r['export']['int8']['mb']:.1f} MB)"
            if r["export"]["int8"]
            else ""
        )
        + " |",
        f"| network | {cfg.model}: {g.arch}, ngf {g.ngf}, {g.norm} norm; "
        f"{cfg.discriminator.arch} D, ndf {cfg.discriminator.ndf} |",
        f"| input | any size (the engine pads to a multiple of {r['export']['multiple']}); trained "
        f"at {cfg.data.crop_size} px (crops of {cfg.data.load_size}-px images), best near it |",
        f"| data | {spec.data} |",
        f"| licence | {spec.licence} |",
        f"| training | {facts['step']:,} iterations ({round(facts['epochs'], 1):g} epochs, batch "
        f"{cfg.batch_size}), {facts['minutes']:.0f} min on 2 CPU cores (1 thread, another model "
        "training beside it) |",
        f"| command | `{facts['command']}` |",
        "| final losses | "
        + ", ".join(f"{k} {v:.3f}" for k, v in facts["losses"].items())
        + " (mean of the last tenth of the log) |",
        f"| checkpoint | `checkpoints/{name}/` (fp16 safetensors, {facts['checkpoint_mb']:.0f} MB)"
        " |",
        "",
        "## Validation",
        "",
    ]
    s = r["scores"]
    if paired:
        lines += [
            f"{s['model']['count']} held-out pairs, inputs and targets resized to "
            f"{cfg.data.crop_size} px, through the ONNX file. L1 on the [-1, 1] scale (lower is "
            "better); sharpness is the mean gradient magnitude (the real photos' is "
            f"{s['model']['target_sharpness']:.3f}).",
            "",
            "| generator | L1 | PSNR (dB) | SSIM | sharpness |",
            "|---|---|---|---|---|",
        ]
        rows = [("untrained (same network, initial weights)", "untrained")]
        if "l1_only" in s:
            rows.append(("L1 only (same preset and schedule, no GAN)", "l1_only"))
        rows.append(("**this model** (L1 + cGAN)", "model"))
        for label, key in rows:
            m = s[key]
            lines.append(
                f"| {label} | {m['l1']:.3f} | {_f(m['psnr'], '.2f')} | "
                f"{m['ssim']:.3f} | {m['sharpness']:.3f} |"
            )
    else:
        lines += [
            f"Classifier two-sample test (C2ST) AUC on the held-out images at {cfg.data.crop_size}"
            " px: a classifier on image statistics tries to tell the images from real "
            f"{dst} images. 0.5 means it cannot; 1.0 always can. The untranslated inputs give the "
            "starting point. KID/FID: not computed (no Inception-v3 weights on this offline "
            "machine; `translate eval --unpaired --inception-weights FILE` computes them).",
            "",
            "| images | count | C2ST AUC vs real " + dst + " |",
            "|---|---|---|",
            f"| held-out {src} inputs, untranslated | {s['identity']['generated']} | "
            f"{s['identity']['c2st_auc']:.3f} |",
            f"| **this model's outputs** | {s['model']['generated']} | "
            f"{s['model']['c2st_auc']:.3f} |",
            "",
            f"Share of images a domain classifier calls {dst} (the same statistics, fitted on the "
            f"training images: {src} vs {dst}). It shows whether the outputs moved to the target "
            "domain; the AUC above also catches artefacts that make them unlike any real photo.",
            "",
            f"| untranslated {src} inputs | **outputs** | real held-out {dst} |",
            "|---|---|---|",
            f"| {s['target_share']['inputs']:.0%} | **{s['target_share']['outputs']:.0%}** | "
            f"{s['target_share']['real']:.0%} |",
        ]
    lines += ["", "## Limits", "", spec.limits.format(time=f"{facts['minutes']:.0f} minutes")]
    q = r["export"]
    lines += ["", "## Export", ""]
    if q["int8"]:
        quality = [x for x in q["int8"]["lines"] if x.startswith("quality")]
        lines.append(
            f"`{d.file}.int8.onnx`: static QDQ int8, calibrated on training images and "
            f"gated on PSNR against fp32 on real images: {' '.join(quality)}"
        )
    else:
        lines.append(f"No int8 variant: {q.get('int8_refused', 'not attempted')}")
    lines += [
        "",
        "## Use",
        "",
        "```bash",
        f"translate convert models/{d.file}.onnx photos/ out/ --size {cfg.data.crop_size}",
        f"cp -r checkpoints/{name} runs/{name}   # continue training (e.g. on a GPU):",
        f"translate train --resume runs/{name} --data /path/to/{Path(cfg.data.root).name} "
        f"--n-epochs {2 * sched.n_epochs} --n-epochs-decay {2 * sched.n_epochs_decay}",
        "```",
        "",
        "Made by `scripts/train_models.sh` and `scripts/bundle_models.py`.",
        "",
    ]
    (ROOT / "models" / f"{d.file}.md").write_text("\n".join(lines))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="sketch, facades, season, style, vangogh")
    p.add_argument("--shared", default=str(ROOT.parent / "shared"), help="the shared data folder")
    args = p.parse_args()
    table = specs(Path(args.shared))
    for name in args.models:
        if name not in table:
            p.error(f"unknown model {name!r}; choose from {', '.join(table)}")
        bundle(name, table[name], Path(args.shared))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Equal-time recipe comparison: which training recipe gives the best images for the same budget?

A recipe is a preset plus overrides (nested like ``config.json``). Each named recipe trains on
one dataset for the same wall-clock budget, one after another, in chunks of at most a tenth of
the budget: every chunk ends with a checkpoint and a line in ``OUT/RECIPE/bench_state.json``, so
a stopped bench continues where it was (run the same command again; a larger ``--minutes``
trains on). Then every recipe's generator is scored on the held-out split with
``translate.eval.evaluate.evaluate_model`` (KID on EfficientNet-Lite1 and the untranslated
inputs' KID, checkerboard excess, sharpness, paired L1/PSNR/SSIM where the data is paired), and
two files sum it up:

- ``OUT/quality.md`` (and ``quality.json``): one table, a row per recipe: iterations reached,
  s/iter, the scores;
- ``OUT/samples.png``: the same held-out images through every recipe, side by side, at full
  size (the images' own resolution, not thumbnails).

    python bench/quality.py --data ../shared/data/summer2winter_yosemite \\
        --recipes cyclegan-small,cyclegan-small-hinge --minutes 20 --out runs/quality-season
    python bench/quality.py --data ../shared/data/facades --recipes pix2pix-small-facades,\\
        pix2pix-small-facades-l1 --minutes 20 --out runs/quality-facades

Recipes: the built-in ``RECIPES`` below, or your own in ``--recipe-file FILE.json``
(``{"name": {"preset": "cyclegan-small", "overrides": {"gan": {"objective": "hinge"}}}}``).
``--common JSON`` overrides every recipe (sizes, devices, tiny test settings). The schedule of
a recipe still applies: one that finishes its epochs before the budget stops there.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STATE = "bench_state.json"
EVAL = "bench_eval.json"


@dataclass
class Recipe:
    preset: str | None = None
    overrides: dict = field(default_factory=dict)
    model: str | None = None  # needed only without a preset
    description: str = ""


RECIPES = {
    "cyclegan-small": Recipe("cyclegan-small", description="the small CycleGAN preset as it is"),
    "cyclegan-small-hinge": Recipe(
        "cyclegan-small", {"gan": {"objective": "hinge"}}, description="hinge GAN loss"
    ),
    "pix2pix-small-facades": Recipe(
        "facades-small", description="the small pix2pix preset for facades (labels -> photo)"
    ),
    "pix2pix-small-facades-l1": Recipe(
        "facades-small", {"loss": {"lambda_gan": 0.0}}, description="L1 only (no discriminator)"
    ),
}

# Checkpoints only at chunk ends (the loop always saves when it stops) and no sample sheets:
# every recipe spends its budget on training alone.
BENCH_OVERRIDES = {"save_every": 0, "save_epoch_every": 0, "sample_every": 0}


def merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_recipes(names: list[str], recipe_file: str | None) -> dict[str, Recipe]:
    known = dict(RECIPES)
    if recipe_file:
        for name, spec in json.loads(Path(recipe_file).read_text(encoding="utf-8")).items():
            known[name] = Recipe(**spec)
    missing = [n for n in names if n not in known]
    if missing:
        raise SystemExit(
            f"unknown recipe(s) {', '.join(missing)}; known: {', '.join(sorted(known))}"
        )
    if len(set(names)) != len(names) or len(names) < 1:
        raise SystemExit("name each recipe once (--recipes a,b)")
    return {n: known[n] for n in names}


def recipe_config(name: str, recipe: Recipe, data: Path, out: Path, common: dict, device: str):
    from translate.training.presets import build_config

    overrides = merge(merge(merge(recipe.overrides, BENCH_OVERRIDES), common), {
        "data": {"root": str(data)},
        "run_dir": str(out / name),
        "device": device,
    })  # fmt: skip
    return build_config(recipe.model, recipe.preset, overrides)


# ---------------------------------------------------------------------------------------------
# training for a budget, resumably


def read_state(run_dir: Path) -> dict | None:
    path = run_dir / STATE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def write_state(run_dir: Path, state: dict) -> None:
    from translate.runtime.atomic import atomic_write_text

    atomic_write_text(run_dir / STATE, json.dumps(state, indent=2) + "\n")


def train_for(name: str, recipe: Recipe, cfg, budget_s: float, say=print) -> dict:
    """Train ``cfg``'s run until ``budget_s`` seconds of training have been spent (counted over
    every chunk, including each chunk's start-up) or its schedule ends."""
    from translate.training import checkpoint as ckpt
    from translate.training.loop import train

    run_dir = Path(cfg.run_dir)
    spec = {"recipe": asdict(recipe), "config": cfg.to_dict()}
    state = read_state(run_dir)
    if state is not None and state["spec"] != json.loads(json.dumps(spec)):
        raise SystemExit(
            f"{run_dir}: recipe {name!r} changed since this run started; delete the folder or "
            "choose another --out"
        )
    if state is None:
        if run_dir.exists() and any(run_dir.iterdir()):
            raise SystemExit(f"{run_dir} exists and is not a bench run; choose another --out")
        state = {"spec": spec, "seconds": 0.0, "step": 0, "chunks": 0, "finished": False}
    found = ckpt.latest_checkpoint(run_dir) if run_dir.is_dir() else None
    if found is not None:  # a chunk that ended after its checkpoint, before the state file
        state["step"] = max(state["step"], int(ckpt.read_meta(found).get("step", state["step"])))
    while not state["finished"] and state["seconds"] < budget_s:
        left = budget_s - state["seconds"]
        chunk_s = min(left, max(budget_s / 10, 1.0))
        per_step = state["seconds"] / state["step"] if state["step"] else None
        steps = max(1, int(chunk_s / per_step)) if per_step else 5  # first chunk: measure
        cfg.schedule.max_steps = state["step"] + steps
        result = train(cfg, resume=state["step"] > 0, progress=False)
        state["finished"] = result.step < cfg.schedule.max_steps  # its schedule ended first
        state["seconds"] += result.seconds
        state["step"], state["chunks"] = result.step, state["chunks"] + 1
        write_state(run_dir, state)
        say(f"  {name}: step {result.step}, {state['seconds']:.0f} of {budget_s:.0f} s")
    return state


# ---------------------------------------------------------------------------------------------
# scoring and the summary


def heldout(data: Path, cfg) -> tuple[Path, Path, str | None, str | None]:
    """(inputs, targets, input half, target half) of the dataset's held-out split, in the
    direction the run trains its (first) generator."""
    if (data / "testA").is_dir() and (data / "testB").is_dir():
        return data / "testA", data / "testB", None, None
    for phase in ("val", "test"):
        if (data / phase).is_dir():
            forward = cfg.data.direction == "AtoB"
            return data / phase, data / phase, *(("A", "B") if forward else ("B", "A"))
    raise SystemExit(f"{data}: no held-out split (testA/testB, val or test)")


def generator(cfg):
    """The run's (first) generator, as a Translator: CycleGAN's A -> B one."""
    from translate.runtime.inference import Translator

    unpaired = (Path(cfg.data.root) / "trainA").is_dir()
    return Translator(Path(cfg.run_dir), direction="AtoB" if unpaired else None)


def score(name: str, cfg, args, say=print) -> dict:
    """The recipe's evaluation, cached in its run folder for its latest step and settings."""
    from translate.eval.evaluate import evaluate_model

    run_dir = Path(cfg.run_dir)
    state = read_state(run_dir)
    inputs, targets, in_half, tgt_half = heldout(Path(args.data), cfg)
    settings = {"step": state["step"], "size": args.size, "limit": args.limit,
                "features": args.features, "seed": args.seed}  # fmt: skip
    cache = run_dir / EVAL
    if cache.is_file():
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached["settings"] == settings:
            return cached["report"]
    say(f"  scoring {name} (step {state['step']}) on {inputs}")
    report = evaluate_model(
        generator(cfg),
        inputs,
        targets,
        size=args.size or None,
        features=args.features,
        input_split=in_half,
        target_split=tgt_half,
        limit=args.limit,
        seed=args.seed,
    ).to_dict()
    from translate.runtime.atomic import atomic_write_text

    atomic_write_text(cache, json.dumps({"settings": settings, "report": report}, indent=2))
    return report


def _f(x, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def table(rows: list[dict], budget_min: float) -> str:
    paired = any(r["report"].get("paired") for r in rows)
    head = ["recipe", "what", "iterations", "s/iter", "train min", "KID", "KID inputs", "FID",
            "checkerboard excess", "sharpness (targets)"]  # fmt: skip
    if paired:
        head += ["L1", "PSNR", "SSIM"]
    lines = [
        f"Equal-time recipes: {budget_min:g} min of training each; KID (features "
        f"{rows[0]['report']['features']}) in natural units, +- std over subsets.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in rows:
        rep, st = r["report"], r["state"]
        cells = [
            r["name"],
            r["what"] + (" (schedule ended)" if st["finished"] else ""),
            f"{st['step']:,}",
            _f(st["seconds"] / st["step"] if st["step"] else None, ".3f"),
            f"{st['seconds'] / 60:.1f}",
            f"{_f(rep['kid'], '.4f')} +- {_f(rep['kid_std'], '.4f')}",
            _f(rep["kid_inputs"], ".4f"),
            _f(rep["fid"], ".1f"),
            f"{rep['checkerboard_excess']:+.3f}",
            f"{rep['sharpness']:.3f} ({rep['target_sharpness']:.3f})",
        ]
        if paired:
            p = rep.get("paired") or {}
            cells += [_f(p.get("l1"), ".3f"), _f(p.get("psnr"), ".2f"), _f(p.get("ssim"), ".3f")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def sample_sheet(names: list[str], configs: dict, args, rows: int):
    """Held-out images through every recipe, at their own size: input | recipes | (target)."""
    import numpy as np
    import torch

    from translate.eval.evaluate import image_files
    from translate.gan.tensors import to_tensor
    from translate.runtime.edges import take_half
    from translate.runtime.images import load_image, to_mode
    from translate.training.report import sample_sheet as grid

    def read(path: Path, half: str | None):
        img = to_mode(load_image(path), 3)
        return img if half is None else take_half(img, "left" if half == "A" else "right")

    first = configs[names[0]]
    inputs, targets, in_half, tgt_half = heldout(Path(args.data), first)
    files = image_files(inputs, "inputs")
    keys = list(files)
    keys = [keys[int(i)] for i in np.linspace(0, len(keys) - 1, min(rows, len(keys)))]
    srcs = [read(files[k], in_half) for k in keys]
    h, w = min(im.height for im in srcs), min(im.width for im in srcs)

    def column(images) -> torch.Tensor:  # centre crops to one size: no resampling
        crops = []
        for im in images:
            left, top = (im.width - w) // 2, (im.height - h) // 2
            crops.append(to_tensor(im.crop((left, top, left + w, top + h))))
        return torch.stack(crops)

    titles, columns = ["input"], [column(srcs)]
    for name in names:
        columns.append(column(generator(configs[name]).batch(srcs, batch_size=1)))
        titles.append(name)
    if in_half is not None:  # paired: the real target beside them
        tgt_files = image_files(targets, "targets")
        columns.append(column([read(tgt_files[k], tgt_half) for k in keys]))
        titles.append("target")
    caption = f"held-out {inputs.name}, full size ({w}x{h}); {args.minutes:g} min each"
    return grid(titles, columns, caption, min_side=0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="dataset folder (trainA/B + testA/B, or val)")
    p.add_argument("--recipes", required=True, help="comma-separated recipe names")
    p.add_argument("--recipe-file", help="JSON file of more recipes")
    p.add_argument("--common", default="{}", help="JSON overrides for every recipe")
    p.add_argument("--minutes", type=float, default=20.0, help="training budget per recipe")
    p.add_argument("--out", required=True, help="folder for the runs, table and sample sheet")
    p.add_argument("--device", default="auto", help="training device")
    p.add_argument("--size", type=int, default=256, help="evaluation size (shorter side; 0: own)")
    p.add_argument("--limit", type=int, help="score at most N held-out images")
    p.add_argument("--features", default="auto", help="feature network for KID/FID")
    p.add_argument("--seed", type=int, default=0, help="KID subsets and --limit's sample")
    p.add_argument("--sheet-rows", type=int, default=4, help="held-out images on the sheet")
    args = p.parse_args(argv)

    from translate.runtime.atomic import atomic_write_text
    from translate.runtime.images import save_image

    names = [n.strip() for n in args.recipes.split(",") if n.strip()]
    recipes = load_recipes(names, args.recipe_file)
    out, data = Path(args.out), Path(args.data)
    common = json.loads(args.common)
    configs = {n: recipe_config(n, r, data, out, common, args.device) for n, r in recipes.items()}
    budget = args.minutes * 60
    states = {}
    for name, recipe in recipes.items():
        print(f"training {name} for {args.minutes:g} min")
        t0 = time.time()
        states[name] = train_for(name, recipe, configs[name], budget)
        print(f"  {name}: {states[name]['step']} iterations ({time.time() - t0:.0f} s this run)")
    rows = []
    for name, recipe in recipes.items():
        what = recipe.description or " + ".join(
            [recipe.preset or recipe.model or "?"]
            + ([json.dumps(recipe.overrides)] if recipe.overrides else [])
        )
        report = score(name, configs[name], args)
        rows.append({"name": name, "what": what, "state": states[name], "report": report})
    md = table(rows, args.minutes)
    atomic_write_text(out / "quality.md", md)
    summary = [{k: r[k] for k in ("name", "what", "report")} | {
        "iterations": r["state"]["step"], "seconds": r["state"]["seconds"],
        "schedule_ended": r["state"]["finished"]} for r in rows]  # fmt: skip
    atomic_write_text(out / "quality.json", json.dumps(summary, indent=2) + "\n")
    save_image(sample_sheet(names, configs, args, args.sheet_rows), out / "samples.png")
    print(md)
    print(f"wrote {out / 'quality.md'}, {out / 'quality.json'} and {out / 'samples.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Mode collapse, visible: the ring-of-8-Gaussians GAN trained with each objective of the core.

For every objective a small MLP generator/discriminator pair is trained with the adversarial core
(translate.gan.toy) for the same number of generator steps and seed; the script prints the modes
covered and the fraction of high-quality samples (within 3 standard deviations of a mode) and
writes a scatter plot per objective plus one overview image:

    python bench/mode_coverage.py                 # all objectives, figures in bench/figures/
    python bench/mode_coverage.py --steps 400 vanilla wgangp

Toy settings differ from the image defaults on purpose (translate.gan.toy.toy_gan_config): Adam at
lr 3e-3 (betas 0.5, 0.9) for every objective, RMSProp for weight-clipped WGAN as published, so
that each run takes seconds; n_critic, clipping and gradient penalty keep their published
values. R1 uses gamma 0.1 (the data's scale is small: modes of standard deviation 0.05).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from translate.gan.toy import (  # noqa: E402
    RingConfig,
    RingResult,
    ring_centres,
    toy_gan_config,
    train_ring_gan,
)
from translate.runtime.images import save_image  # noqa: E402

RUNS = {  # label -> (objective, GANConfig overrides)
    "minimax": ("minimax", {}),
    "vanilla": ("vanilla", {}),
    "vanilla+R1": ("vanilla", dict(r1_gamma=0.1)),
    "lsgan": ("lsgan", {}),
    "hinge": ("hinge", {}),
    "wgan": ("wgan", {}),
    "wgangp": ("wgangp", {}),
}

SIZE, EXTENT = 300, 3.0  # pixels per panel; the plot shows [-EXTENT, EXTENT]^2


def _to_px(xy: torch.Tensor) -> torch.Tensor:
    return (xy.clamp(-EXTENT, EXTENT) + EXTENT) / (2 * EXTENT) * (SIZE - 1)


def scatter(result: RingResult, cfg: RingConfig, title: str) -> Image.Image:
    """Samples (blue dots) over the 8 modes (grey circles of 3 standard deviations)."""
    img = Image.new("RGB", (SIZE, SIZE + 34), "white")
    draw = ImageDraw.Draw(img)
    r = 3 * cfg.std / (2 * EXTENT) * (SIZE - 1)
    for x, y in _to_px(ring_centres(cfg)).tolist():
        y = SIZE - 1 - y
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(225, 225, 225), outline=(150, 150, 150))
    for x, y in _to_px(result.samples).tolist():
        y = SIZE - 1 - y
        draw.rectangle((x - 1, y - 1, x, y), fill=(31, 90, 200))
    draw.rectangle((0, 0, SIZE - 1, SIZE - 1), outline=(120, 120, 120))
    draw.text((6, SIZE + 4), title, fill="black")
    draw.text(
        (6, SIZE + 18),
        f"modes {result.modes_covered}/{cfg.n_modes}   high quality {result.high_quality:.0%}",
        fill="black",
    )
    return img


def grid(panels: list[Image.Image], columns: int = 4) -> Image.Image:
    w, h = panels[0].size
    rows = (len(panels) + columns - 1) // columns
    out = Image.new("RGB", (columns * w, rows * h), "white")
    for i, p in enumerate(panels):
        out.paste(p, ((i % columns) * w, (i // columns) * h))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("runs", nargs="*", help=f"runs out of {', '.join(RUNS)} (default: all)")
    parser.add_argument("--steps", type=int, default=800, help="generator steps per run")
    parser.add_argument("--seed", type=int, default=0, help="first seed (the plotted run)")
    parser.add_argument("--seeds", type=int, default=1, help="runs per objective (seeds in a row)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "figures")
    args = parser.parse_args(argv)
    unknown = [r for r in args.runs if r not in RUNS]
    if unknown:
        parser.error(f"unknown run(s) {', '.join(unknown)}; choose from {', '.join(RUNS)}")
    torch.set_num_threads(1)  # tiny MLPs: threads only add synchronisation
    panels = []
    print(
        f"{'objective':12s} {'modes per seed':>20s} {'>= 6 modes':>10s} {'high-quality':>12s} "
        f"{'s/run':>6s}"
    )
    for label in args.runs or list(RUNS):
        objective, overrides = RUNS[label]
        modes, quality, seconds = [], [], 0.0
        for seed in range(args.seed, args.seed + args.seeds):
            cfg = RingConfig(steps=args.steps, seed=seed)
            start = time.perf_counter()
            result = train_ring_gan(toy_gan_config(objective, **overrides), cfg)
            seconds += time.perf_counter() - start
            modes.append(result.modes_covered)
            quality.append(result.high_quality)
            if seed == args.seed:
                panel = scatter(result, cfg, f"{label}  ({args.steps} G steps, seed {seed})")
                save_image(panel, args.out / f"mode_coverage_{label.replace('+', '_')}.png")
                panels.append(panel)
        per_seed = " ".join(str(m) for m in modes)
        covering = f"{sum(m >= 6 for m in modes)}/{len(modes)}"
        print(
            f"{label:12s} {per_seed:>20s} {covering:>10s} {sum(quality) / len(quality):>12.1%} "
            f"{seconds / len(modes):>6.1f}",
            flush=True,
        )
    path = save_image(grid(panels), args.out / "mode_coverage.png")
    print(f"figures in {args.out} (overview: {path.name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What a person looks at during and after training: sample sheets, loss curves and HTML pages,
drawn with Pillow (no plotting library, no server).

- :func:`sample_sheet`: a grid with one row per image and one column per stage (input | output |
  target for pix2pix; the six images of both cycles for CycleGAN);
- :func:`plot_losses`: the JSONL training log as line charts, one panel per kind of loss;
- :func:`write_run_page`: ``RUN_DIR/index.html`` with the curves and every sample sheet, newest
  first, like the reference's web page without visdom;
- :func:`write_results_page`: the index of ``translate test`` results.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import torch
from PIL import Image, ImageDraw, ImageFont

from ..runtime.atomic import atomic_write_text
from ..runtime.images import from_array, save_image, to_mode

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def _font(size: int = 13) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


# --------------------------------------------------------------------------------------------
# Sample sheets


def sample_sheet(
    titles: Sequence[str], columns: Sequence[torch.Tensor], caption: str = "", min_side: int = 128
) -> Image.Image:
    """Grid of images: ``columns`` are (N, C, H, W) tensors in [-1, 1] of equal N. Titles longer
    than a column are cut to fit."""
    n = columns[0].shape[0]
    cells = [[to_mode(from_array(col[i]), 3) for col in columns] for i in range(n)]
    h = max(c.height for row in cells for c in row)
    scale = max(1, math.ceil(min_side / h))  # tiny test images: blow up (nearest) to be seen
    if scale > 1:
        cells = [
            [c.resize((c.width * scale, c.height * scale), Image.NEAREST) for c in row]
            for row in cells
        ]
    w = max(c.width for row in cells for c in row)
    h = max(c.height for row in cells for c in row)
    pad, head = 4, 20
    font = _font(12)
    top = head + (18 if caption else 0)
    width = max(len(columns) * (w + pad) + pad, int(font.getlength(caption)) + 2 * pad)
    sheet = Image.new("RGB", (width, top + n * (h + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    if caption:
        draw.text((pad, 2), caption, fill="black", font=font)
    for j, title in enumerate(titles):
        while title and font.getlength(title) > w:
            title = title[:-1]
        draw.text((pad + j * (w + pad), top - head + 3), title, fill="black", font=font)
    for i, row in enumerate(cells):
        for j, cell in enumerate(row):
            sheet.paste(cell, (pad + j * (w + pad), top + i * (h + pad)))
    return sheet


# --------------------------------------------------------------------------------------------
# Loss curves


def read_log(path: str | Path) -> list[dict]:
    """Records of a JSONL log; a torn last line (killed mid-write) is ignored."""
    records = []
    path = Path(path)
    if not path.is_file():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


NOT_LOSSES = {"step", "epoch", "lr", "time", "it_s", "elapsed", "cycle"}


def _panel_of(key: str) -> str:
    if key.startswith("val_"):
        return "held-out images (eval mode)"
    if key.startswith("D") and ("real" in key or "fake" in key):
        return "discriminator outputs (mean logit)"
    if key.startswith("D"):
        return "discriminator loss"
    if key in ("G_GAN", "G_A", "G_B"):
        return "generator adversarial loss"
    return "reconstruction losses and penalties"


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw), default=mag * 10)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.2e}"


SMOOTH_FROM = 20  # points in a series from which its moving average is drawn as well


def _moving_average(series: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Centred moving average over about 1/15 of the series (the trend of a noisy loss)."""
    half = max(1, len(series) // 30)
    ys = [y for _, y in series]
    out = []
    for i, (x, _) in enumerate(series):
        window = ys[max(0, i - half) : i + half + 1]
        out.append((x, sum(window) / len(window)))
    return out


def _faint(color: str) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{int(c + (255 - c) * 0.65):02x}" for c in (r, g, b))


def plot_losses(records: list[dict], path: str | Path, title: str = "") -> Path | None:
    """Line charts of every loss in ``records`` against the step, plus the learning rate."""
    keys = sorted(
        {
            k
            for r in records
            for k, v in r.items()
            if k not in NOT_LOSSES and isinstance(v, int | float)
        }
    )
    if not records or not keys:
        return None
    panels: dict[str, list[str]] = {}
    for k in keys:
        panels.setdefault(_panel_of(k), []).append(k)
    if any("lr" in r for r in records):
        panels["learning rate"] = ["lr"]
    pw, ph, margin = 560, 220, 56
    cols = 2
    rows = math.ceil(len(panels) / cols)
    top = 30 if title else 8
    img = Image.new("RGB", (cols * (pw + margin) + margin // 2, top + rows * (ph + 70)), "white")
    draw = ImageDraw.Draw(img)
    font = _font(12)
    if title:
        draw.text((margin, 8), title, fill="black", font=_font(15))
    for idx, (name, pkeys) in enumerate(panels.items()):
        x0 = margin + (idx % cols) * (pw + margin)
        y0 = top + (idx // cols) * (ph + 70) + 22
        _panel(draw, font, (x0, y0, x0 + pw, y0 + ph), name, pkeys, records)
    path = Path(path)
    save_image(img, path)
    return path


def _panel(draw, font, box, name, keys, records) -> None:
    x0, y0, x1, y1 = box
    series = {
        k: [
            (r["step"], float(r[k]))
            for r in records
            if isinstance(r.get(k), int | float) and math.isfinite(r[k])
        ]
        for k in keys
    }
    points = [p for s in series.values() for p in s]
    draw.text((x0, y0 - 18), name, fill="black", font=font)
    draw.rectangle(box, outline="#888888")
    if not points:
        return
    sx = [p[0] for p in points]
    sy = [p[1] for p in points]
    xmin, xmax = min(sx), max(sx)
    ymin, ymax = min(sy), max(sy)
    if ymax - ymin < 1e-12:
        ymin, ymax = ymin - 0.5 * (abs(ymin) or 1), ymax + 0.5 * (abs(ymax) or 1)
    pad = 0.05 * (ymax - ymin)
    ymin, ymax = ymin - pad, ymax + pad
    xspan = (xmax - xmin) or 1

    def to_px(x, y):
        return (x0 + (x - xmin) / xspan * (x1 - x0), y1 - (y - ymin) / (ymax - ymin) * (y1 - y0))

    for t in _nice_ticks(ymin, ymax):
        _, py = to_px(xmin, t)
        draw.line([(x0, py), (x1, py)], fill="#eeeeee")
        draw.text((x0 - 4, py), _fmt(t), fill="#444444", font=font, anchor="rm")
    for t in _nice_ticks(xmin, xmax if xmax > xmin else xmin + 1):
        px, _ = to_px(t, ymin)
        if x0 <= px <= x1:
            draw.line([(px, y1), (px, y1 + 4)], fill="#888888")
            draw.text((px, y1 + 6), f"{int(t)}", fill="#444444", font=font, anchor="mt")
    for i, (k, s) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        pts = [to_px(x, y) for x, y in s]
        if (
            len(pts) > SMOOTH_FROM and k != "lr"
        ):  # noisy: raw values faint, their moving average on top
            draw.line(pts, fill=_faint(color), width=1)
            draw.line([to_px(x, y) for x, y in _moving_average(s)], fill=color, width=2)
        elif len(pts) > 1:
            draw.line(pts, fill=color, width=2)
        elif pts:
            px, py = pts[0]
            draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill=color)
        lx = x0 + 8 + i * 100
        draw.line([(lx, y0 + 10), (lx + 16, y0 + 10)], fill=color, width=3)
        draw.text((lx + 20, y0 + 10), k, fill="black", font=font, anchor="lm")
    draw.text(((x0 + x1) / 2, y1 + 22), "iteration", fill="#444444", font=font, anchor="mt")


# --------------------------------------------------------------------------------------------
# HTML pages

_STYLE = (
    "body{font-family:sans-serif;margin:1.5em;color:#222} img{max-width:100%} "
    "table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:2px 8px;"
    "text-align:left} h2{margin-top:1.5em}"
)


def _src(path: Path, base: Path) -> str:
    return quote(path.relative_to(base).as_posix())


def write_run_page(
    run_dir: str | Path,
    summary: dict[str, object],
    samples: Sequence[Path],
    losses_png: Path | None,
) -> Path:
    """``RUN_DIR/index.html``: settings, the loss curves and the sample sheets, newest first."""
    run_dir = Path(run_dir)
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in summary.items()
    )
    parts = [
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(run_dir.name)}</title>",
        f"<style>{_STYLE}</style><h1>{html.escape(run_dir.name)}</h1><table>{rows}</table>",
    ]
    if losses_png is not None and losses_png.is_file():
        parts.append(f"<h2>Losses</h2><img src='{_src(losses_png, run_dir)}' alt='loss curves'>")
    parts.append("<h2>Samples (newest first)</h2>")
    for s in sorted(samples, reverse=True):
        parts.append(f"<h3>{html.escape(s.stem)}</h3><img src='{_src(s, run_dir)}' loading=lazy>")
    return atomic_write_text(run_dir / "index.html", "\n".join(parts) + "\n")


def write_results_page(
    out_dir: str | Path,
    title: str,
    header: Sequence[str],
    rows: Sequence[tuple[str, Sequence[Path]]],
) -> Path:
    """An index of test results: one table row per input, one image per column."""
    out_dir = Path(out_dir)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in ["name", *header])
    body = []
    for name, paths in rows:
        cells = "".join(
            f"<td><img src='{_src(p, out_dir)}' width=256 loading=lazy></td>" for p in paths
        )
        body.append(f"<tr><td>{html.escape(name)}</td>{cells}</tr>")
    page = (
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style><h1>{html.escape(title)}</h1>"
        f"<table><tr>{head}</tr>{''.join(body)}</table>\n"
    )
    return atomic_write_text(out_dir / "index.html", page)

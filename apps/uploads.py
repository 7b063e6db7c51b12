"""What the app does with uploaded files before a model sees them: size limits for single
images (downscale or tile, with a note for the user) and unpacking a batch of files or zips into
a folder for :func:`translate.runtime.convert.convert`, with limits that stop zip bombs and path
tricks.

Decoding itself is :func:`translate.runtime.images.load_image` (clear errors that name the file).
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from PIL import Image

from translate.runtime.atomic import atomic_write
from translate.runtime.images import is_image_file, to_mode


@dataclass(frozen=True)
class SizeLimits:
    """How large an image the app translates, and when it switches to tiles."""

    max_pixels: int = 4_000_000  # larger uploads are downscaled to this (aspect kept)
    tile_above: int = 1_048_576  # images with more pixels than this run tiled
    tile: int = 512
    overlap: int = 64
    # Batch conversion tiles per run, not per image: sides above this run tiled, smaller
    # images run whole.
    batch_tile: int = 1024


@dataclass
class Plan:
    image: Image.Image
    tile: int | None = None  # None: the whole image at once
    overlap: int = 64
    notes: list[str] = field(default_factory=list)


def _megapixels(n: int) -> str:
    return f"{n / 1e6:.1f} MP"


def plan_image(img: Image.Image, limits: SizeLimits, native: bool) -> Plan:
    """Downscale images above ``limits.max_pixels`` and choose tiling for large ones.

    ``native``: the output keeps the (possibly downscaled) input size; otherwise the model
    resizes to its own size and neither note is needed."""
    plan = Plan(img, overlap=limits.overlap)
    w, h = img.size
    if w * h > limits.max_pixels:
        scale = (limits.max_pixels / (w * h)) ** 0.5
        size = (max(1, int(w * scale)), max(1, int(h * scale)))
        if img.mode not in ("RGB", "RGBA", "L", "LA"):
            has_alpha = "A" in img.getbands() or "transparency" in img.info
            img = img.convert("RGBA") if has_alpha else to_mode(img, 3)
        plan.image = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        if native:
            plan.notes.append(
                f"Downscaled from {w}×{h} to {size[0]}×{size[1]}: the app translates up to "
                f"{_megapixels(limits.max_pixels)}; `translate convert` keeps full resolution."
            )
    if native and plan.image.width * plan.image.height > limits.tile_above:
        plan.tile = limits.tile
        plan.notes.append(
            f"Large image: translated in {limits.tile}-px tiles with {limits.overlap}-px "
            "blended overlaps, to keep memory low."
        )
    return plan


@dataclass(frozen=True)
class BatchLimits:
    max_files: int = 200  # images per batch, zip members included
    max_bytes: int = 500_000_000  # total unpacked size


class BatchError(ValueError):
    """A batch upload that cannot be processed at all (too many files, too large)."""


def _free_name(dest: Path, rel: PurePosixPath) -> Path:
    """``dest/rel``, or ``dest/<stem> (2)<suffix>`` ... when that name is taken."""
    target = dest.joinpath(*rel.parts)
    n = 2
    while target.exists():
        target = target.with_name(f"{rel.stem} ({n}){rel.suffix}")
        n += 1
    return target


def gather_batch(files: list[str | Path], dest: Path, limits: BatchLimits) -> list[str]:
    """Copy uploaded images, and the images inside uploaded zips, into ``dest``.

    Zip members keep their folders (``convert`` mirrors them); absolute names and ``..`` are
    refused, non-image members are skipped. Returns notes for the user about anything skipped;
    raises :class:`BatchError` when the limits are exceeded."""
    dest.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    count = 0
    budget = limits.max_bytes

    def take(nbytes: int, label: str) -> None:
        nonlocal count, budget
        count += 1
        budget -= nbytes
        if count > limits.max_files:
            raise BatchError(f"too many images: the limit is {limits.max_files} per batch")
        if budget < 0:
            raise BatchError(
                f"{label}: the batch is larger than {limits.max_bytes / 1e6:.0f} MB unpacked"
            )

    for f in files:
        path = Path(f)
        if path.suffix.lower() != ".zip":
            take(path.stat().st_size, path.name)
            shutil.copyfile(path, _free_name(dest, PurePosixPath(path.name)))
            continue
        try:
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    rel = PurePosixPath(info.filename.replace("\\", "/"))
                    if info.is_dir():
                        continue
                    if rel.is_absolute() or ".." in rel.parts or not rel.name:
                        notes.append(f"{path.name}: skipped unsafe member name {info.filename!r}")
                        continue
                    if not is_image_file(rel.name):
                        notes.append(f"{path.name}: skipped {rel} (not an image)")
                        continue
                    take(info.file_size, f"{path.name}/{rel}")
                    target = _free_name(dest / path.stem, rel)
                    with zf.open(info) as src, atomic_write(target) as out:
                        # Copies at most the declared size: a lying header cannot inflate more.
                        shutil.copyfileobj(_Limited(src, info.file_size), out)
        except zipfile.BadZipFile as e:
            notes.append(f"{path.name}: not a readable zip archive ({e})")
    return notes


class _Limited:
    def __init__(self, fh, limit: int):
        self.fh, self.left = fh, limit

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if n < 0 else min(n, self.left)
        data = self.fh.read(n)
        self.left -= len(data)
        return data


def zip_folder(folder: Path, zip_path: Path, paths: list[Path]) -> Path:
    """Write ``paths`` (files inside ``folder``) to ``zip_path`` under their relative names."""
    with atomic_write(zip_path) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
        for p in paths:
            zf.write(p, Path(p).relative_to(folder).as_posix())
    return zip_path

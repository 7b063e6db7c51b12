"""Training data: folder layouts, the scan that checks them, transforms and the data loader.

Layouts, as users of the reference pix2pix/CycleGAN code know them:

- paired, "aligned": ``DIR/train/*.jpg``, each file A | B side by side (split at width/2);
- paired, two folders: ``DIR/train/A/x.png`` + ``DIR/train/B/x.jpg`` (matched by name without
  extension; also ``DIR/A/train`` + ``DIR/B/train`` or just ``DIR/A`` + ``DIR/B``);
- unpaired: ``DIR/trainA``, ``DIR/trainB`` (``testA``/``testB`` for tests); B is drawn at random.

The scan runs before training and fails early with a message naming the folder or the files
(missing or empty folder, A/B names that do not match, images Pillow cannot decode); with
``skip_bad`` unreadable files are dropped and counted instead.

Randomness (crop position, flip, the unpaired B draw) comes from a seed derived from
(seed, epoch, index) for every sample, never from global or per-worker random state: the data a
step sees does not depend on the number of workers, and a resumed run sees the same crops.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..errors import ConfigError, TranslateError
from ..gan.tensors import to_tensor
from ..runtime.images import IMAGE_EXTENSIONS, ImageReadError, is_image_file, load_image, to_mode

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network check at import
import albumentations as A  # noqa: E402
import cv2  # noqa: E402  (albumentations' own dependency: interpolation and border constants)

PREPROCESS = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")
DIRECTIONS = ("AtoB", "BtoA")


class DatasetError(TranslateError, ValueError):
    """A dataset folder that cannot be trained on; the message names the folder or files."""


@dataclass
class DataConfig:
    """Where the images are and how they are prepared. Defaults are the reference's."""

    root: str = ""
    direction: str = field(
        default="AtoB",
        metadata={
            "help": "pix2pix: AtoB translates the left/A image into the right/B one; BtoA the "
            "reverse",
            "choices": DIRECTIONS,
        },
    )
    load_size: int = field(default=286, metadata={"help": "resize images to this side first"})
    crop_size: int = field(default=256, metadata={"help": "then crop a random square of this side"})
    preprocess: str = field(
        default="resize_and_crop",
        metadata={
            "help": "how images become network inputs (none: keep the size, rounded to the "
            "network's size multiple)",
            "choices": PREPROCESS,
        },
    )
    flip: bool = field(
        default=True, metadata={"help": "random horizontal flips (the same on A and B)"}
    )
    serial_batches: bool = field(
        default=False,
        metadata={"help": "take images in order (unpaired: B in order instead of at random)"},
    )
    skip_bad: bool = field(
        default=False,
        metadata={"help": "leave out images that cannot be decoded (reported) instead of stopping"},
    )
    max_images: int | None = field(default=None, metadata={"help": "use at most N images per side"})
    workers: int = field(
        default=2,
        metadata={"help": "data loading processes (0: in the main process)", "resumable": True},
    )

    def __post_init__(self):
        if self.direction not in DIRECTIONS:
            raise ConfigError(f"direction must be AtoB or BtoA, got {self.direction!r}")
        if self.preprocess not in PREPROCESS:
            raise ConfigError(
                f"unknown preprocess {self.preprocess!r}; choose one of {', '.join(PREPROCESS)}"
            )
        for name in ("load_size", "crop_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.workers < 0:
            raise ConfigError(f"workers must be >= 0, got {self.workers}")
        if self.max_images is not None and self.max_images < 1:
            raise ConfigError(f"max_images must be >= 1, got {self.max_images}")
        if self.preprocess == "resize_and_crop" and self.crop_size > self.load_size:
            raise ConfigError(
                f"crop size {self.crop_size} is larger than load size {self.load_size}"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> DataConfig:
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"unknown data config keys: {', '.join(unknown)}")
        return cls(**d)


# --------------------------------------------------------------------------------------------
# Scanning folders


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name; a clear error if there are none."""
    if not folder.exists():
        raise DatasetError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise DatasetError(f"{folder}: not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p))
    if not files:
        raise DatasetError(f"{folder}: no images found (looked for {', '.join(IMAGE_EXTENSIONS)})")
    return files


def _readable(path: Path) -> str | None:
    """None if the file decodes, else the reason."""
    try:
        load_image(path)
    except ImageReadError as e:
        return str(e)
    return None


def check_readable(files: list[Path], skip_bad: bool, workers: int = 4) -> set[Path]:
    """Decode every file once (in threads: Pillow releases the GIL while decoding). Returns the
    unreadable ones when ``skip_bad``; otherwise raises naming them."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        reasons = list(pool.map(_readable, files))
    bad = {f: r for f, r in zip(files, reasons, strict=True) if r is not None}
    if bad and not skip_bad:
        shown = "\n  ".join(list(bad.values())[:10])
        more = f"\n  ... and {len(bad) - 10} more" if len(bad) > 10 else ""
        raise DatasetError(
            f"{len(bad)} unreadable image(s) (use --skip-bad to leave them out):\n  {shown}{more}"
        )
    return set(bad)


def _split_dir(root: Path, phase: str) -> Path:
    """``root/phase`` if it exists (``facades/`` + train -> ``facades/train``), else ``root``."""
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    return root / phase if (root / phase).is_dir() else root


def _two_folders(root: Path, phase: str) -> tuple[Path, Path] | None:
    split = _split_dir(root, phase)
    for a, b in ((split / "A", split / "B"), (root / "A" / phase, root / "B" / phase)):
        if a.is_dir() and b.is_dir():
            return a, b
    return None


def _limit(files: list, n: int | None) -> list:
    return files if n is None else files[:n]


@dataclass
class Scan:
    """The result of scanning a dataset: the files to use and what was left out."""

    a: list[Path]
    b: list[Path]  # empty for the aligned layout (B is the right half of each A file)
    layout: str  # aligned | two_folder | unpaired | single
    skipped: list[Path]

    def describe(self) -> str:
        n = f"{len(self.a)} images" if not self.b else f"{len(self.a)} A / {len(self.b)} B images"
        skipped = f", skipped {len(self.skipped)} unreadable" if self.skipped else ""
        return f"{self.layout} dataset: {n}{skipped}"


def scan_paired(root: str | Path, phase: str, cfg: DataConfig) -> Scan:
    """Find the pairs of a paired dataset and check every image decodes."""
    root = Path(root)
    folders = _two_folders(root, phase)
    if folders is None:
        files = _limit(list_images(_split_dir(root, phase)), cfg.max_images)
        bad = check_readable(files, cfg.skip_bad)
        kept = [f for f in files if f not in bad]
        if not kept:
            raise DatasetError(f"{_split_dir(root, phase)}: no readable images left")
        return Scan(kept, [], "aligned", sorted(bad))
    dir_a, dir_b = folders
    files_a = {p.stem: p for p in list_images(dir_a)}
    files_b = {p.stem: p for p in list_images(dir_b)}
    only_a = sorted(set(files_a) - set(files_b))
    only_b = sorted(set(files_b) - set(files_a))
    if only_a or only_b:
        parts = []
        for names, here, there in ((only_a, dir_a, dir_b), (only_b, dir_b, dir_a)):
            if names:
                shown = ", ".join(repr(files_a.get(n, files_b.get(n)).name) for n in names[:5])
                more = f" and {len(names) - 5} more" if len(names) > 5 else ""
                parts.append(
                    f"{len(names)} file(s) in {here} have no partner in {there}: {shown}{more}"
                )
        raise DatasetError(
            "paired folders must hold the same file names (extensions may differ); "
            + "; ".join(parts)
        )
    stems = _limit(sorted(files_a), cfg.max_images)
    pairs = [(files_a[s], files_b[s]) for s in stems]
    bad = check_readable([p for pair in pairs for p in pair], cfg.skip_bad)
    kept = [(a, b) for a, b in pairs if a not in bad and b not in bad]
    if not kept:
        raise DatasetError(f"{dir_a}, {dir_b}: no readable pairs left")
    return Scan([a for a, _ in kept], [b for _, b in kept], "two_folder", sorted(bad))


def scan_unpaired(root: str | Path, phase: str, cfg: DataConfig) -> Scan:
    """``root/<phase>A`` and ``root/<phase>B`` (or ``root/A`` and ``root/B``)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    dir_a, dir_b = root / f"{phase}A", root / f"{phase}B"
    if not (dir_a.is_dir() or dir_b.is_dir()) and (root / "A").is_dir():
        dir_a, dir_b = root / "A", root / "B"
    files_a = _limit(list_images(dir_a), cfg.max_images)
    files_b = _limit(list_images(dir_b), cfg.max_images)
    bad = check_readable(files_a + files_b, cfg.skip_bad)
    kept_a = [f for f in files_a if f not in bad]
    kept_b = [f for f in files_b if f not in bad]
    for folder, kept in ((dir_a, kept_a), (dir_b, kept_b)):
        if not kept:
            raise DatasetError(f"{folder}: no readable images left")
    return Scan(kept_a, kept_b, "unpaired", sorted(bad))


def scan_single(folder: str | Path, cfg: DataConfig) -> Scan:
    """A plain folder of input images (testing one generator)."""
    files = _limit(list_images(Path(folder)), cfg.max_images)
    bad = check_readable(files, cfg.skip_bad)
    kept = [f for f in files if f not in bad]
    if not kept:
        raise DatasetError(f"{folder}: no readable images left")
    return Scan(kept, [], "single", sorted(bad))


# --------------------------------------------------------------------------------------------
# Transforms


def resized_size(w: int, h: int, cfg: DataConfig, multiple: int) -> tuple[int, int]:
    """The deterministic resize of a preprocess mode, as (width, height)."""
    if cfg.preprocess == "resize_and_crop":
        return cfg.load_size, cfg.load_size
    if cfg.preprocess == "scale_width_and_crop":
        return cfg.load_size, max(int(round(cfg.load_size * h / w)), cfg.crop_size)
    if cfg.preprocess == "scale_width":  # no crop follows: the height must fit the network
        return cfg.load_size, _round_to(cfg.load_size * h / w, multiple)
    if cfg.preprocess == "none":  # keep the size, rounded to the network's size multiple
        return _round_to(w, multiple), _round_to(h, multiple)
    return w, h  # crop: take the crop from the original


def _round_to(x: float, multiple: int) -> int:
    return max(multiple, int(round(x / multiple)) * multiple)


@lru_cache(maxsize=64)
def _resizer(width: int, height: int) -> A.Resize:
    # Bicubic like the reference; area averaging when shrinking, so downscaling does not alias.
    return A.Resize(height, width, interpolation=cv2.INTER_CUBIC, area_for_downscale="image")


def _crops(cfg: DataConfig, train: bool) -> bool:
    return train and cfg.preprocess in ("resize_and_crop", "crop", "scale_width_and_crop")


class PairTransform:
    """Resize each image, then one random crop and flip applied identically to both images
    (albumentations' additional target), then pixels to [-1, 1]."""

    def __init__(self, cfg: DataConfig, multiple: int, train: bool = True):
        self.cfg, self.multiple, self.train = cfg, multiple, train
        steps = []
        if _crops(cfg, train):
            steps.append(
                A.RandomCrop(
                    cfg.crop_size,
                    cfg.crop_size,
                    pad_if_needed=True,  # images smaller than the crop are mirrored out
                    border_mode=cv2.BORDER_REFLECT_101,
                )
            )
        if train and cfg.flip:
            steps.append(A.HorizontalFlip(p=0.5))
        self.joint = A.Compose(steps, additional_targets={"other": "image"})

    def resize(self, arr: np.ndarray) -> np.ndarray:
        h, w = arr.shape[:2]
        if not self.train and self.cfg.preprocess != "none":
            size = (self.cfg.crop_size, self.cfg.crop_size)  # test: the crop size, whole image
        else:
            size = resized_size(w, h, self.cfg, self.multiple)
        if size == (w, h):
            return arr
        return _resizer(*size)(image=arr)["image"]

    def __call__(
        self, a: Image.Image, b: Image.Image | None, seed: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        arr_a = self.resize(_hwc(a))
        arr_b = None if b is None else self.resize(_hwc(b))
        if arr_b is not None and arr_b.shape[:2] != arr_a.shape[:2]:
            arr_b = _resizer(arr_a.shape[1], arr_a.shape[0])(image=arr_b)["image"]
        self.joint.set_random_seed(seed)
        out = self.joint(image=arr_a, other=arr_a if arr_b is None else arr_b)
        return out["image"], (None if arr_b is None else out["other"])


def _hwc(img: Image.Image) -> np.ndarray:
    arr = np.asarray(img)
    return arr[:, :, None] if arr.ndim == 2 else arr


def _tensor(arr: np.ndarray, channels: int) -> torch.Tensor:
    return to_tensor(Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr), channels)


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """Independent, reproducible random stream per (run seed, epoch, sample)."""
    return int(np.random.SeedSequence([seed, epoch, index]).generate_state(1)[0])


# --------------------------------------------------------------------------------------------
# Datasets. Items are indexed by (epoch, index) pairs (see EpochSampler), so augmentation is a
# pure function of the run seed, the epoch and the sample, even in persistent worker processes.


class _TwoSided(Dataset):
    """A scan, the channels of its A and B sides and the transform."""

    def __init__(
        self,
        scan: Scan,
        cfg: DataConfig,
        channels: tuple[int, int],
        multiple: int = 1,
        train: bool = True,
        seed: int = 0,
    ):
        self.scan, self.cfg, self.channels, self.seed = scan, cfg, channels, seed
        self.transform = PairTransform(cfg, multiple, train)


class PairedDataset(_TwoSided):
    """pix2pix data: items {"A", "B", "A_path", "B_path"} with identical crop/flip on A and B."""

    def __len__(self) -> int:
        return len(self.scan.a)

    def _load(self, path: Path, channels: int, box=None) -> Image.Image:
        img = load_image(path)
        if box == "left":
            img = img.crop((0, 0, img.width // 2, img.height))
        elif box == "right":
            img = img.crop((img.width // 2, 0, 2 * (img.width // 2), img.height))
        return to_mode(img, channels)

    def __getitem__(self, key: tuple[int, int] | int) -> dict:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        ca, cb = self.channels
        path_a = self.scan.a[index]
        if self.scan.b:
            path_b = self.scan.b[index]
            a, b = self._load(path_a, ca), self._load(path_b, cb)
        else:
            path_b = path_a
            a, b = self._load(path_a, ca, "left"), self._load(path_a, cb, "right")
        arr_a, arr_b = self.transform(a, b, sample_seed(self.seed, epoch, index))
        return {
            "A": _tensor(arr_a, ca),
            "B": _tensor(arr_b, cb),
            "A_path": str(path_a),
            "B_path": str(path_b),
        }


class UnpairedDataset(_TwoSided):
    """CycleGAN data: A in order, B at random (or in order with ``serial_batches``); the epoch
    length is the larger side, as in the reference."""

    def __len__(self) -> int:
        return max(len(self.scan.a), len(self.scan.b))

    def __getitem__(self, key: tuple[int, int] | int) -> dict:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        seed = sample_seed(self.seed, epoch, index)
        path_a = self.scan.a[index % len(self.scan.a)]
        if self.cfg.serial_batches:
            path_b = self.scan.b[index % len(self.scan.b)]
        else:
            path_b = self.scan.b[np.random.default_rng(seed).integers(len(self.scan.b))]
        ca, cb = self.channels
        # Unpaired images get independent crops and flips: seeds differ per side.
        arr_a, _ = self.transform(to_mode(load_image(path_a), ca), None, seed)
        arr_b, _ = self.transform(to_mode(load_image(path_b), cb), None, seed ^ 0x5A5A5A5A)
        return {
            "A": _tensor(arr_a, ca),
            "B": _tensor(arr_b, cb),
            "A_path": str(path_a),
            "B_path": str(path_b),
        }


class SingleDataset(Dataset):
    """One folder of input images, transformed for testing (no crop, no flip)."""

    def __init__(self, scan: Scan, cfg: DataConfig, channels: int, multiple: int = 1):
        self.scan, self.channels = scan, channels
        self.transform = PairTransform(cfg, multiple, train=False)

    def __len__(self) -> int:
        return len(self.scan.a)

    def __getitem__(self, key: tuple[int, int] | int) -> dict:
        index = key[1] if isinstance(key, tuple) else key
        path = self.scan.a[index]
        arr, _ = self.transform(to_mode(load_image(path), self.channels), None, 0)
        return {"A": _tensor(arr, self.channels), "A_path": str(path)}


# --------------------------------------------------------------------------------------------
# Sampling and loading


class EpochSampler(DistributedSampler):
    """DistributedSampler (a permutation per epoch from the run seed, split across ranks) that
    yields (epoch, index) pairs and can start part-way into an epoch, for exact resume."""

    def __init__(
        self,
        dataset: Dataset,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
        seed: int = 0,
    ):
        super().__init__(dataset, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed)
        self.start = 0

    def set_position(self, epoch: int, start: int = 0) -> None:
        """Iterate epoch ``epoch`` from its ``start``-th sample (of this rank) on."""
        self.set_epoch(epoch)
        self.start = start

    def __iter__(self) -> Iterator[tuple[int, int]]:
        indices = itertools.islice(super().__iter__(), self.start, None)
        return ((self.epoch, i) for i in indices)

    def __len__(self) -> int:
        return self.num_samples - self.start


def batches_per_epoch(sampler: EpochSampler, batch_size: int) -> int:
    return math.ceil(sampler.num_samples / batch_size)


def make_loader(
    dataset: Dataset,
    sampler: EpochSampler | None,
    batch_size: int,
    workers: int,
    device: torch.device,
    seed: int = 0,
) -> DataLoader:
    """Worker processes stay alive across epochs; memory is pinned for CUDA. The loader gets its
    own generator so creating it never draws from the global RNG (exact resume)."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=device.type == "cuda",
        drop_last=False,
        generator=torch.Generator().manual_seed(seed),
    )

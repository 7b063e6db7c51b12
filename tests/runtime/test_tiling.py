"""Tiled inference on a real photo: close to the whole-image output where the network allows it,
and seamless for every generator architecture.

Random networks give either flat or noise-like outputs on which no seam can be seen, so each
network is first fitted for a few steps to an image-like mapping (colour inversion with the
channels swapped) on crops of the photo."""

import numpy as np
import pytest
import torch
from PIL import Image

from translate.gan.nets import create_generator
from translate.gan.tensors import to_tensor
from translate.runtime.inference import Translator, tile_starts

PHOTO = "horse2zebra/testA"
NETWORKS = {  # (arch, norm): (training crop, steps, tile, overlap)
    ("resnet_9blocks", "instance"): (64, 15, 128, 32),
    ("resnet_6blocks", "batch"): (64, 15, 128, 32),
    ("unet_256", "batch"): (256, 8, 256, 64),
    ("unet_128", "instance"): (128, 12, 128, 32),
}
_fitted: dict = {}


@pytest.fixture
def photo(data_dir) -> Image.Image:
    path = sorted((data_dir / PHOTO).glob("*.jpg"))[3]
    return Image.open(path).convert("RGB").resize((384, 320), Image.Resampling.BICUBIC)


def fitted(arch: str, norm: str, photo: Image.Image) -> Translator:
    if (arch, norm) not in _fitted:
        crop, steps, _, _ = NETWORKS[arch, norm]
        torch.manual_seed(0)
        net = create_generator(arch=arch, ngf=4, norm=norm)
        x_all = to_tensor(photo)[None]
        opt = torch.optim.Adam(net.parameters(), lr=5e-3)
        rng = np.random.default_rng(0)
        net.train()
        for _ in range(steps):
            i = rng.integers(0, x_all.shape[2] - crop + 1)
            j = rng.integers(0, x_all.shape[3] - crop + 1)
            x = x_all[:, :, i : i + crop, j : j + crop]
            loss = (net(x) + x.flip(1)).abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        _fitted[arch, norm] = Translator(net.eval(), device="cpu")
    return _fitted[arch, norm]


def seam_ratios(img: Image.Image, tile: int, overlap: int) -> list[float]:
    """For columns, then rows: mean absolute gradient across the tile borders divided by the
    gradient 4, 8 and 12 pixels away (same phase of the networks' stride-4 patterns)."""
    a = np.asarray(img, np.float32)
    ratios = []
    for axis, length in ((1, a.shape[1]), (0, a.shape[0])):
        g = np.abs(np.diff(a, axis=axis)).mean(axis=(0, 2) if axis == 1 else (1, 2))
        t = min(tile, length)
        starts = tile_starts(length, t, overlap)
        borders = sorted({s - 1 for s in starts if s > 0} | {s + t - 1 for s in starts[:-1]})
        near = [g[[b + k for k in (-12, -8, -4, 4, 8, 12) if 0 <= b + k < len(g)]].mean()
                for b in borders]  # fmt: skip
        ratios.append(float(g[borders].mean() / np.mean(near)))
    return ratios


def psnr(a: Image.Image, b: Image.Image) -> float:
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-12)))


@pytest.mark.parametrize("arch,norm", [k for k in NETWORKS if k[1] != "instance"])
def test_tiled_output_close_to_whole_image_without_instance_norm(photo, arch, norm):
    translator = fitted(arch, norm, photo)
    _, _, tile, overlap = NETWORKS[arch, norm]
    whole, tiled = translator(photo), translator(photo, tile=tile, overlap=overlap)
    assert tiled.size == whole.size == photo.size
    assert psnr(whole, tiled) >= 40


@pytest.mark.parametrize("arch,norm", list(NETWORKS))
def test_tiles_leave_no_seam(photo, arch, norm):
    """Across tile borders the output changes no faster than it does around them, relative to
    the same measure at the same places in the whole-image output (the photo's own edges vary
    from place to place)."""
    translator = fitted(arch, norm, photo)
    _, _, tile, overlap = NETWORKS[arch, norm]
    whole, tiled = translator(photo), translator(photo, tile=tile, overlap=overlap)
    baseline = seam_ratios(whole, tile, overlap)
    for ratio, base in zip(seam_ratios(tiled, tile, overlap), baseline, strict=True):
        assert ratio <= 1.1 * base
    if arch.startswith("resnet"):
        # The measure sees seams: tiles butted together without blending show them.
        hard = translator(photo, tile=tile, overlap=0)
        baseline = seam_ratios(whole, tile, 0)
        for ratio, base in zip(seam_ratios(hard, tile, 0), baseline, strict=True):
            assert ratio >= 2 * base


def test_tile_geometry_and_window():
    assert tile_starts(100, 100, 10) == [0]
    assert tile_starts(300, 128, 32) == [0, 96, 172]
    translator = Translator(create_generator(arch="unet_128", ngf=4), device="cpu")
    assert translator.tile_geometry(200, 64) == (256, 64)  # rounded up to the size multiple
    with pytest.raises(ValueError, match="overlap must be between 0 and the tile size"):
        translator.tile_geometry(128, 128)
    with pytest.raises(ValueError, match="tile must be a positive"):
        translator(Image.new("RGB", (8, 8)), tile=0)

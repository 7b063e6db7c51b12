"""Image I/O shared by datasets, inference, conversion and the app."""

import numpy as np
import pytest
import torch
from PIL import Image

from translate.gan.tensors import to_tensor
from translate.runtime.atomic import atomic_write, atomic_write_bytes
from translate.runtime.images import (
    ImageReadError,
    from_array,
    load_image,
    save_image,
    split_alpha,
    to_mode,
)
from translate.runtime.metadata import ModelMetadata


def test_modes_convert_to_rgb_and_gray(tmp_path):
    rgba = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert to_mode(rgba, 3).getpixel((0, 0)) == (255, 255, 255)  # transparent -> white
    assert to_mode(Image.new("CMYK", (2, 2)), 3).mode == "RGB"
    assert to_mode(Image.new("P", (2, 2)), 1).mode == "L"
    sixteen = Image.fromarray(np.full((2, 2), 65535, dtype=np.uint16))
    assert to_mode(sixteen, 1).getpixel((0, 0)) == 255
    rgb, alpha = split_alpha(Image.new("RGBA", (3, 3), (10, 20, 30, 40)))
    assert rgb.mode == "RGB" and alpha.getpixel((0, 0)) == 40


def test_tensor_round_trip():
    img = Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3))
    t = to_tensor(img)
    assert t.shape == (3, 4, 4) and t.min() >= -1 and t.max() <= 1
    assert np.array_equal(np.asarray(from_array(t)), np.asarray(img))
    gray = to_tensor(img, channels=1)
    assert gray.shape == (1, 4, 4) and from_array(gray).mode == "L"
    with pytest.raises(ValueError, match="1 or 3 channels"):
        from_array(torch.zeros(2, 4, 4))


def test_exif_orientation_applied(tmp_path):
    img = Image.new("RGB", (4, 2))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90
    path = tmp_path / "rot.jpg"
    img.save(path, exif=exif)
    assert load_image(path).size == (2, 4)


@pytest.mark.parametrize(
    "content,reason",
    [(b"", "empty file"), (b"hello, I am text", "not an image"), (None, "truncated")],
)
def test_bad_files_name_the_file(tmp_path, content, reason):
    path = tmp_path / "bad photo é.jpg"
    if content is None:
        Image.new("RGB", (64, 64), (9, 9, 9)).save(path, quality=90)
        content = path.read_bytes()[:200]
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=reason) as err:
        load_image(path)
    assert "bad photo é.jpg" in str(err.value)


def test_decompression_bomb_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("L", (200, 200)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ImageReadError, match="too large"):
        load_image(path)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "out.png"
    save_image(Image.new("RGB", (2, 2)), path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with atomic_write(path) as fh:
            fh.write(b"partial")
            raise RuntimeError("killed")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_metadata_round_trip():
    meta = ModelMetadata(task="season", source_domain="summer", target_domain="winter", ngf=32)
    props = meta.to_props()
    assert all(isinstance(v, str) for v in props.values())
    assert ModelMetadata.from_props({**props, "custom": "x"}).ngf == 32
    assert ModelMetadata.from_props(props).value_range == (-1.0, 1.0)
    with pytest.raises(ValueError, match="unknown task"):
        ModelMetadata(task="nonsense")


def test_atomic_write_gives_ordinary_permissions(tmp_path):
    # mkstemp creates 0600 files; an exported model or converted image must be readable by others
    # like any file the user writes (umask applies), and a replaced file keeps its mode.
    import os
    import stat

    fresh = tmp_path / "fresh.bin"
    atomic_write_bytes(fresh, b"x")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
    kept = tmp_path / "kept.bin"
    kept.write_bytes(b"old")
    kept.chmod(0o640)
    atomic_write_bytes(kept, b"new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_bytes() == b"new"

"""Translator: any size and image mode in, same size out, everything read from the metadata."""

import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from translate import Translator as LazyTranslator
from translate.gan.tensors import to_tensor
from translate.runtime.backends import ModelLoadError
from translate.runtime.images import ImageReadError, from_array
from translate.runtime.inference import Translator, target_size


def _photo(w=40, h=28, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def _reference(net, img: Image.Image, multiple: int) -> np.ndarray:
    """What the network gives on the reflect-padded image, cropped back (PyTorch, no engine)."""
    x = to_tensor(img).numpy()
    h, w = x.shape[-2:]
    x = np.pad(x, ((0, 0), (0, -h % multiple), (0, -w % multiple)), mode="reflect")
    with torch.no_grad():
        y = net(torch.from_numpy(x)[None])[0, :, :h, :w]
    return np.asarray(from_array(y), np.int16)


def _close(a: Image.Image, b, levels=1) -> bool:
    return np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).max() <= levels


@pytest.mark.parametrize("arch,norm", [("resnet_6blocks", "instance"), ("unet_128", "batch")])
def test_native_size_pads_and_crops_back(onnx_model, arch, norm):
    path, net = onnx_model(arch=arch, norm=norm)
    translator = Translator(path, backend="onnxruntime")
    assert translator.metadata.size_multiple == net.size_multiple
    img = _photo(37, 29)  # not a multiple of 4 nor 128
    out = translator(img)
    assert out.size == (37, 29) and out.mode == "RGB"
    assert _close(out, _reference(net, img, net.size_multiple))


def test_inputs_path_numpy_pil_bytes_agree(onnx_model, tmp_path):
    translator = Translator(onnx_model()[0])
    img = _photo()
    img.save(tmp_path / "in.png")
    ref = np.asarray(translator(img))
    for source in (tmp_path / "in.png", str(tmp_path / "in.png"), np.asarray(img),
                   (tmp_path / "in.png").read_bytes()):  # fmt: skip
        assert np.array_equal(np.asarray(translator(source)), ref)
    assert isinstance(translator, LazyTranslator)  # translate.Translator is the same class


def test_image_modes_and_alpha(onnx_model, tmp_path):
    translator = Translator(onnx_model()[0])
    rgba = _photo().convert("RGBA")
    alpha = Image.fromarray(np.tile(np.arange(40, dtype=np.uint8) * 6, (28, 1)))
    rgba.putalpha(alpha)
    out = translator(rgba)
    assert out.mode == "RGBA" and np.array_equal(np.asarray(out.getchannel("A")), alpha)
    assert translator(np.asarray(rgba)).mode == "RGBA"  # HxWx4 numpy keeps its alpha too

    palette = _photo().convert("P")
    palette.info["transparency"] = 0
    assert translator(palette).mode == "RGBA"
    assert translator(_photo().convert("LA")).mode == "RGBA"
    assert translator(_photo().convert("CMYK")).mode == "RGB"
    gray = translator(np.asarray(_photo().convert("L")))
    assert gray.mode == "RGB" and gray.size == (40, 28)

    sixteen = np.linspace(0, 65535, 40 * 28).reshape(28, 40).astype(np.uint16)
    Image.fromarray(sixteen).save(tmp_path / "deep.png")
    eight = Image.fromarray((sixteen / 257).round().astype(np.uint8))
    assert _close(translator(tmp_path / "deep.png"), translator(eight))
    assert translator(sixteen).size == (40, 28)
    rgb16 = np.asarray(_photo(), np.uint16) * 257
    assert np.array_equal(np.asarray(translator(rgb16)), np.asarray(translator(_photo())))

    exif = Image.Exif()
    exif[0x0112] = 6  # camera held upright: stored landscape, shown portrait
    _photo().save(tmp_path / "rotated.jpg", exif=exif)
    assert translator(tmp_path / "rotated.jpg").size == (28, 40)


def test_single_channel_model(onnx_model):
    path, net = onnx_model(input_nc=1, output_nc=3)
    translator = Translator(path)
    img = _photo(32, 24)
    out = translator(img)
    assert out.mode == "RGB"
    x = to_tensor(img, channels=1)[None]
    with torch.no_grad():
        assert _close(out, from_array(net(x)[0]))


def test_size_option():
    assert target_size((400, 300), 256) == (341, 256)
    assert target_size((400, 300), (64, 48)) == (64, 48)
    with pytest.raises(ValueError, match="size must be"):
        target_size((400, 300), 0)
    with pytest.raises(ValueError, match="size must be"):
        target_size((400, 300), "big")


def test_resize_and_batch(onnx_model):
    translator = Translator(onnx_model()[0])
    rgba = _photo(60, 40).convert("RGBA")
    out = translator(rgba, size=20)
    assert out.size == (30, 20) and out.mode == "RGBA"
    images = [_photo(40, 28, 1), _photo(24, 24, 2), _photo(40, 28, 3)]
    batched = translator.batch(images, batch_size=2)
    assert [im.size for im in batched] == [(40, 28), (24, 24), (40, 28)]
    for single, together in zip(images, batched, strict=True):
        assert _close(translator(single), together)


def test_model_by_name_and_errors(onnx_model, tmp_path, monkeypatch):
    path, _ = onnx_model()
    shutil.copy(path, tmp_path / "tiny-style.onnx")
    monkeypatch.setenv("TRANSLATE_MODELS", str(tmp_path))
    translator = Translator("tiny-style")
    assert translator.model_path == tmp_path / "tiny-style.onnx"
    with pytest.raises(ModelLoadError, match=r"no model named 'nope'.*tiny-style"):
        Translator("nope")
    with pytest.raises(ModelLoadError, match="missing.onnx: no such model file"):
        Translator(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x00junk")
    with pytest.raises(ModelLoadError, match="junk.onnx"):
        Translator(tmp_path / "junk.onnx")
    with pytest.raises(ValueError, match="translates AtoB.*cannot run BtoA"):
        Translator(path, direction="BtoA")
    with pytest.raises(ImageReadError, match="absent.png: no such file"):
        translator(tmp_path / "absent.png")
    with pytest.raises(ImageReadError, match="dtype float64"):
        translator(np.zeros((8, 8, 3)))
    with pytest.raises(ImageReadError, match="not an image"):
        translator(io.BytesIO(b"text").getvalue())


def test_metadata_value_range_is_honoured(onnx_model):
    """A model declaring inputs in [0, 1] gets [0, 1]: pre/post-processing come from metadata."""
    _, net = onnx_model()
    translator = Translator(net, device="cpu")
    translator.metadata.value_range = (0.0, 1.0)
    img = _photo(32, 32)
    x = (to_tensor(img) + 1) / 2
    with torch.no_grad():
        expected = from_array(net(x[None])[0] * 2 - 1)
    assert _close(translator(img), expected)


def test_pytorch_module_runs_like_its_onnx_export(onnx_model):
    path, net = onnx_model()
    img = _photo()
    assert _close(Translator(net, device="cpu")(img), Translator(path)(img))
    with pytest.raises(ValueError, match="runs with the torch backend"):
        Translator(net, backend="onnxruntime")


def test_onnx_models_run_without_importing_torch(onnx_model, tmp_path):
    """Importing torch costs ~0.5 GiB resident and seconds: the ONNX path must not need it."""
    path, _ = onnx_model()
    _photo().save(tmp_path / "in.png")
    code = (
        "import sys\n"
        "from translate.runtime.convert import convert\n"
        f"report = convert({str(path)!r}, {str(tmp_path / 'in.png')!r}, "
        f"{str(tmp_path / 'out')!r}, progress=False)\n"
        "assert report.converted == 1, report.summary()\n"
        "print('torch' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"


@pytest.mark.parametrize(
    "name", ["G_resnet_9blocks_ngf8_instance", "G_resnet_6blocks_ngf8_instance_in1_out3"]
)
def test_official_reference_weights_reproduce_the_reference(reference_dir, name):
    """An official .pth runs directly (architecture read off the file) with the reference's
    outputs."""
    translator = Translator(reference_dir / f"{name}.pth", device="cpu")
    x = np.load(reference_dir / f"{name}.input.npy")
    expected = np.load(reference_dir / f"{name}.output.npy")
    got = np.stack(translator.infer(list(x)))
    assert np.abs(got - expected).max() <= 1e-5

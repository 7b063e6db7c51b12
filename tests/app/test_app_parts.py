"""The app's parts without a browser: upload limits, batch unpacking, the model pool, the "no
models" page and the CLI's checks. Models here are identity ONNX graphs (output = input), so a
result can be compared with its input."""

from __future__ import annotations

import dataclasses
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from PIL import Image

from translate.apps.pool import ModelPool, UnknownModelError
from translate.apps.uploads import (
    BatchError,
    BatchLimits,
    SizeLimits,
    gather_batch,
    plan_image,
    zip_folder,
)
from translate.cli import main
from translate.runtime.metadata import ModelMetadata


def identity_model(path: Path, **fields) -> Path:
    """A valid translator model that returns its input: enough to test everything around it."""
    dims = ["batch", 3, "height", "width"]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["input"], ["output"])],
        "identity",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, dims)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    props = ModelMetadata(size_multiple=1, recommended_size=16, **fields).to_props()
    helper.set_model_props(model, props)
    onnx.save(model, str(path))
    return path


@pytest.fixture
def models(tmp_path) -> Path:
    d = tmp_path / "models"
    d.mkdir()
    identity_model(d / "summer2winter.onnx", task="season", source_domain="summer",
                   target_domain="winter")  # fmt: skip
    identity_model(d / "summer2winter_int8.onnx", task="season", source_domain="summer",
                   target_domain="winter", precision="int8")  # fmt: skip
    identity_model(d / "a2b.onnx", task="style", source_domain="A", target_domain="B")
    identity_model(d / "b2a.onnx", task="style", source_domain="A", target_domain="B")
    return d


def page_examples(demo) -> dict[str, tuple[str, list[tuple[str, str | None]]]]:
    """What each tab of a built page offers a new user: {tab id: (the model picker's initial
    value, [(example file, the model clicking it selects, or None), ...])}."""
    import gradio as gr

    def inside(block):
        for child in getattr(block, "children", []):
            yield child
            yield from inside(child)

    page = {}
    for tab in (b for b in demo.blocks.values() if isinstance(b, gr.Tab)):
        blocks = list(inside(tab))
        picker = next((b for b in blocks if isinstance(b, gr.Dropdown)), None)
        if picker is None:
            continue
        examples = []
        for dataset in (b for b in blocks if isinstance(b, gr.Dataset)):
            at = next((i for i, c in enumerate(dataset._components) if c is picker), None)
            for sample in dataset.samples:
                image = sample[0].get("background") or sample[0]  # a Sketchpad value or a file
                examples.append((Path(image["path"]).name, None if at is None else sample[at]))
        page[tab.id] = (picker.value, examples)
    return page


def gradient(w: int, h: int) -> Image.Image:
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None, None]
    arr = np.concatenate([x + 0 * y, y + 0 * x, (x + y) / 2], axis=2)
    return Image.fromarray(arr.astype(np.uint8), "RGB")


# --------------------------------------------------------------------------------------------
# single-image limits


def test_small_images_pass_untouched():
    img = gradient(40, 30)
    plan = plan_image(img, SizeLimits(), native=True)
    assert plan.image is img and plan.tile is None and plan.notes == []


def test_large_images_are_downscaled_then_tiled_with_notes():
    limits = SizeLimits(max_pixels=10_000, tile_above=2_000, tile=32, overlap=8)
    plan = plan_image(gradient(400, 300), limits, native=True)
    w, h = plan.image.size
    assert w * h <= 10_000 and abs(w / h - 4 / 3) < 0.03
    assert plan.tile == 32 and plan.overlap == 8
    assert "Downscaled from 400×300" in plan.notes[0] and "tiles" in plan.notes[1]
    # At the model's own size the model resizes anyway: memory is capped, no notes.
    plan = plan_image(gradient(400, 300), limits, native=False)
    assert plan.image.width * plan.image.height <= 10_000 and plan.notes == []


def test_downscaling_keeps_transparency_and_odd_modes():
    limits = SizeLimits(max_pixels=1_000)
    pal = Image.new("P", (100, 100), 0)
    pal.info["transparency"] = 0
    assert plan_image(pal, limits, native=True).image.mode == "RGBA"
    deep = Image.fromarray(np.full((100, 100), 40000, dtype=np.uint16))
    assert plan_image(deep, limits, native=True).image.mode == "RGB"


# --------------------------------------------------------------------------------------------
# batch uploads


def test_gather_batch_keeps_zip_folders_and_refuses_tricks(tmp_path):
    photo = tmp_path / "up" / "a.png"
    photo.parent.mkdir()
    gradient(8, 8).save(photo)
    archive = tmp_path / "up" / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(photo, "x/a.png")
        for unsafe in ("../../evil.png", "/abs.png"):  # ZipInfo keeps names as given
            zf.writestr(zipfile.ZipInfo(unsafe), photo.read_bytes())
        zf.writestr("readme.txt", "hello")
    other = tmp_path / "up2" / "a.png"  # same name as the first upload
    other.parent.mkdir()
    gradient(8, 8).save(other)
    dest = tmp_path / "in"
    notes = gather_batch([photo, archive, other], dest, BatchLimits())
    found = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert found == ["a (2).png", "a.png", "set/x/a.png"]
    assert not (tmp_path / "evil.png").exists()
    assert sum("unsafe" in n for n in notes) == 2 and any("readme.txt" in n for n in notes)


def test_gather_batch_limits(tmp_path):
    photo = tmp_path / "a.png"
    gradient(8, 8).save(photo)
    with pytest.raises(BatchError, match="too many images"):
        gather_batch([photo] * 3, tmp_path / "in1", BatchLimits(max_files=2))
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.png", b"\0" * 2_000_000)  # 2 MB unpacked from a few KB
    assert bomb.stat().st_size < 20_000
    with pytest.raises(BatchError, match="larger than 1 MB"):
        gather_batch([bomb], tmp_path / "in2", BatchLimits(max_bytes=1_000_000))
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK not really")
    assert "not a readable zip" in gather_batch([broken], tmp_path / "in3", BatchLimits())[0]


def test_zip_folder_stores_relative_names(tmp_path):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "a.png").write_bytes(b"1")
    (out / "sub" / "b.png").write_bytes(b"22")
    z = zip_folder(out, tmp_path / "r.zip", [out / "a.png", out / "sub" / "b.png"])
    with zipfile.ZipFile(z) as zf:
        assert {i.filename: zf.read(i) for i in zf.infolist()} == {
            "a.png": b"1",
            "sub/b.png": b"22",
        }


# --------------------------------------------------------------------------------------------
# model pool


def test_pool_lists_by_task_with_unambiguous_labels(models):
    pool = ModelPool(models)
    assert pool.choices(("season",)) == [
        ("summer → winter", "summer2winter"),
        ("summer → winter (int8)", "summer2winter_int8"),
    ]
    assert pool.choices(("style",)) == [("A → B · a2b", "a2b"), ("A → B · b2a", "b2a")]
    assert pool.choices(("sketch-to-photo",)) == []
    with pytest.raises(UnknownModelError, match="unknown model"):
        pool.get(str(models / "a2b.onnx"))


def test_an_int8_variant_shares_its_models_card(models):
    """models/NAME.int8.onnx shows NAME.md unless it has a card of its own."""
    (models / "summer2winter.md").write_text("# summer2winter\n\n## Limits\n\nColours only.\n")
    identity_model(models / "summer2winter.int8.onnx", task="season", source_domain="summer",
                   target_domain="winter", precision="int8")  # fmt: skip
    pool = ModelPool(models)
    assert "Colours only." in pool.get("summer2winter.int8").summary()
    assert pool.get("summer2winter.int8").card_text == pool.get("summer2winter").card_text
    assert pool.get("summer2winter_int8").card_text == ""  # another model, not a variant
    (models / "summer2winter.int8.md").write_text("# int8 card\n")
    assert ModelPool(models).get("summer2winter.int8").card_text == "# int8 card\n"


def test_pool_skips_unreadable_models_and_says_which(models):
    m = onnx.load(str(models / "a2b.onnx"))
    for p in m.metadata_props:
        if p.key == "task":
            p.value = "bogus"
    onnx.save(m, str(models / "bad.onnx"))
    (models / "truncated.onnx").write_bytes((models / "a2b.onnx").read_bytes()[:40])
    pool = ModelPool(models)
    assert "bad" not in pool.models and "truncated" not in pool.models
    assert sorted(pool.models) == ["a2b", "b2a", "summer2winter", "summer2winter_int8"]
    bad, truncated = sorted(pool.problems)
    assert "bad.onnx" in bad and "bogus" in bad
    assert "truncated.onnx: not a readable ONNX model" in truncated


def test_pool_loads_each_model_once_and_limits_concurrency(models):
    pool = ModelPool(models, concurrency=1, threads=1)
    inside, peak, lock = 0, 0, threading.Lock()
    seen = []

    def work():
        nonlocal inside, peak
        with pool.use("a2b") as translator:
            with lock:
                inside += 1
                peak = max(peak, inside)
                seen.append(translator)
            time.sleep(0.05)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 1
    assert len({id(t) for t in seen}) == 1  # one Translator, shared


# --------------------------------------------------------------------------------------------
# the app without a server, and the CLI


def test_tiled_translation_through_the_app_matches_the_input(models):
    from translate.apps.app import AppConfig, AppLogic

    sizes = SizeLimits(max_pixels=20_000, tile_above=2_000, tile=32, overlap=8)
    logic = AppLogic(ModelPool(models, threads=1), AppConfig(sizes=sizes))
    img = gradient(200, 150)
    path, note = logic._run(img, "summer2winter", "original", "gradient")
    assert Path(path).name == "gradient-summer2winter.png"
    out = Image.open(path).convert("RGB")
    expected = img.resize(out.size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    assert out.size[0] * out.size[1] <= 20_000
    diff = np.abs(np.asarray(out, np.int16) - np.asarray(expected, np.int16))
    assert diff.max() <= 1  # identity model: tiles blend back into the input
    assert "Downscaled from 200×150" in note and "32-px tiles" in note


def test_examples_select_the_model_that_takes_them(tmp_path):
    """Issue #11. Which model an example runs through comes from the models' metadata (task and
    source domain), whatever the files are called: clicking an example selects that model (full
    precision before int8), an example no model takes is not offered, and each tab opens on its
    first example's model, so the sketch canvas starts on a sketch model."""
    from translate.apps.app import build_app

    d = tmp_path / "models"
    d.mkdir()
    for name, task, source in [
        ("a_labels", "labels-to-photo", "label map"),
        ("b_edges", "sketch-to-photo", "edges"),
        ("painter.int8", "style", "Photo"),
        ("painter", "style", "photo"),
        ("winter2summer", "season", "winter"),
        ("summer2winter", "season", "summer"),
    ]:
        precision = "int8" if name.endswith("int8") else "fp32"
        identity_model(d / f"{name}.onnx", task=task, source_domain=source, target_domain="x",
                       precision=precision)  # fmt: skip
    page = page_examples(build_app(d))
    assert page["sketch"] == ("b_edges", [
        ("sketch-shoe.png", "b_edges"), ("sketch-sneaker.png", "b_edges"),
        ("labels-facade.png", "a_labels"),
    ])  # fmt: skip
    # No model here takes a Monet painting: that example is left out.
    assert page["style"] == (
        "painter", [("photo-avenue.jpg", "painter"), ("photo-beach.jpg", "painter")]
    )  # fmt: skip
    assert page["season"] == ("summer2winter", [
        ("summer-el-capitan.jpg", "summer2winter"), ("summer-waterfall.jpg", "summer2winter"),
        ("winter-trees.jpg", "winter2summer"),
    ])  # fmt: skip
    assert page["batch"] == ("a_labels", [])


def test_app_starts_without_models_and_says_how_to_get_one(tmp_path):
    from translate.apps.app import THEME, build_app

    empty = tmp_path / "models"
    empty.mkdir()
    demo = build_app(empty)
    texts = [getattr(b, "value", None) or "" for b in demo.blocks.values()]
    assert any("No models found" in t and "translate export" in t for t in texts)
    assert not [b for b in demo.blocks.values() if type(b).__name__ == "Button"]  # nothing dead
    _, url, _ = demo.launch(prevent_thread_lock=True, server_port=None, theme=THEME, quiet=True)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200
    finally:
        demo.close()


def test_cli_flags_land_in_the_app_config_and_the_rest_are_its_defaults(tmp_path, monkeypatch):
    from translate.apps import app

    launched = []
    monkeypatch.setattr(app, "launch", launched.append)
    argv = ["app", "--models", str(tmp_path), "--port", "8123", "--share", "--max-pixels", "99"]
    assert main(argv) == 0
    (config,) = launched
    expected = app.AppConfig(models_dir=tmp_path, port=8123, share=True)
    assert config == dataclasses.replace(
        expected, sizes=dataclasses.replace(expected.sizes, max_pixels=99)
    )


def test_cli_refuses_a_missing_models_folder(tmp_path, capsys):
    assert main(["app", "--models", str(tmp_path / "nope")]) == 2
    assert "nope: no such folder" in capsys.readouterr().err
    assert main(["app", "--concurrency", "0"]) == 2

"""The models shipped in models/ and checkpoints/: what the app serves out of the box and what a
user continues training. Each must load, carry its metadata and card, translate real held-out
images, agree with its checkpoint, and fit the repository's size budget."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from translate.cli import main
from translate.gan.tensors import to_tensor
from translate.runtime.cards import card_path, read_card
from translate.runtime.catalog import file_sha256, list_models, read_checksums
from translate.runtime.edges import extract_edges, take_half
from translate.runtime.images import load_image
from translate.runtime.inference import Translator
from translate.runtime.metadata import ModelMetadata
from translate.training import checkpoint as ckpt
from translate.training.config import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
CHECKPOINTS = ROOT / "checkpoints"
APP_TASKS = ("sketch-to-photo", "labels-to-photo", "season", "style")

# file -> (checkpoint folder, direction, a held-out image: (dataset, split, file), half or None)
SHIPPED = {
    "sketch2photo": ("sketch", "AtoB", None),
    "facades_labels2photo": ("facades", "BtoA", ("facades", "val", "1.jpg", "right")),
    "summer2winter": ("season", "AtoB", ("summer2winter_yosemite", "testA", None, None)),
    "winter2summer": ("season", "BtoA", ("summer2winter_yosemite", "testB", None, None)),
    "monet2photo": ("style", "AtoB", ("monet2photo_kaggle256", "testA", None, None)),
    "photo2monet": ("style", "BtoA", ("monet2photo_kaggle256", "testB", None, None)),
}


def first_image(folder: Path) -> Path:
    return sorted(folder.iterdir())[0]


def fp32_models():
    return [
        e for e in list_models(MODELS) if ModelMetadata.from_props(e.metadata).precision == "fp32"
    ]


def test_every_app_task_has_a_bundled_model_with_card_and_samples():
    entries = fp32_models()
    tasks = {e.task for e in entries}
    assert set(APP_TASKS) <= tasks, f"no bundled model for {set(APP_TASKS) - tasks}"
    for e in entries:
        path = card_path(e.path)
        assert path == e.path.with_suffix(".md"), f"{e.path.name} has no model card"
        card = read_card(path)  # as the app reads it
        assert {"Validation", "Limits"} <= set(card.sections), f"{path.name}: {card.sections}"
        assert "demo model" in card.lead and card.limits
        assert card.sheet == f"{e.path.stem}.png", f"{path.name} does not show its sample sheet"
        assert (MODELS / card.sheet).is_file(), f"{e.path.name} has no sample sheet"
        assert e.path.stat().st_size <= 30 * 2**20, f"{e.path.name} is over 30 MB"
        meta = ModelMetadata.from_props(e.metadata)
        assert meta.training_data and meta.license_note and meta.training_iterations > 0


def test_every_bundled_card_parses_and_reads_back_as_written():
    """The cards follow the format `translate release` writes (translate.runtime.cards): parsed
    and written again, each gives its file byte for byte."""
    cards = [p for p in MODELS.glob("*.md") if p.with_suffix(".onnx").is_file()]
    assert len(cards) == len(SHIPPED)
    for path in cards:
        card = read_card(path)
        assert card.to_markdown() == path.read_text(encoding="utf-8"), path.name
        assert card.title.startswith(f"{path.stem}: ")
        shipped = card.facts["checkpoint"].split("`")[1]
        assert (ROOT / shipped).is_dir(), f"{path.name} names {shipped}, which is not there"


def test_bundled_onnx_files_are_the_ones_released():
    """models/SHA256SUMS (written by `translate release`, checked by `sha256sum -c`) lists every
    bundled ONNX file with its digest: a refactor or a stray re-export cannot change a shipped
    model unnoticed."""
    sums = read_checksums(MODELS)
    assert sorted(sums) == sorted(p.name for p in MODELS.glob("*.onnx"))
    for name, digest in sums.items():
        assert file_sha256(MODELS / name) == digest, name


def test_models_and_checkpoints_fit_the_repository_budget():
    total = sum(
        p.stat().st_size for d in (MODELS, CHECKPOINTS) for p in d.rglob("*") if p.is_file()
    )
    assert total <= 150e6, f"models/ + checkpoints/ hold {total / 2**20:.0f} MB"
    for p in CHECKPOINTS.rglob("*"):
        assert p.suffix not in (".pt", ".pth", ".pkl"), f"{p}: ship safetensors, not pickles"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_bundled_model_translates_held_out_images_like_its_checkpoint(name, data_dir):
    run, direction, held_out = SHIPPED[name]
    model = Translator(MODELS / f"{name}.onnx", backend="onnxruntime", threads=2)
    assert model.metadata.direction == direction
    if held_out is None:  # the sketch model: a held-out shoe sketched as its training data was
        shoe = load_image(first_image(data_dir / "edges2shoes" / "val"))
        image = extract_edges(take_half(shoe, "right"))
    else:
        dataset, split, file, half = held_out
        folder = data_dir / dataset / split
        image = load_image(folder / file if file else first_image(folder))
        image = take_half(image, half) if half else image
    image = image.convert("RGB").resize((128, 128))
    out = model(image, size=128)
    assert out.size == (128, 128)
    y = to_tensor(out)
    assert y.std() > 0.05  # an image, not a flat colour
    assert (y - to_tensor(image)).abs().mean() > 0.02  # and not the input handed back
    # The shipped fp16 checkpoint gives the same image through PyTorch.
    net, info = ckpt.load_generator(CHECKPOINTS / run, direction=direction)
    with torch.no_grad():
        ref = net(to_tensor(image)[None].float())[0].clamp(-1, 1)
    assert (ref - y).abs().mean() < 0.02  # fp16 weights and 8-bit output rounding


@pytest.mark.parametrize("run", ["facades", "season"])
def test_a_shipped_checkpoint_resumes_training(run, tmp_path, data_dir):
    """A user continues a bundled model: copy the checkpoint, point --data at the dataset,
    add an epoch and stop one iteration later."""
    dest = tmp_path / run
    shutil.copytree(CHECKPOINTS / run, dest)
    step = ckpt.read_meta(ckpt.latest_checkpoint(dest))["step"]
    epochs = TrainConfig.load(dest).schedule.n_epochs
    data = {"season": "summer2winter_yosemite", "facades": "facades"}[run]
    flags = f"--max-steps {step + 1} --n-epochs {epochs + 1} --workers 0 --threads 1 --quiet"
    args = ["train", "--resume", str(dest), "--data", str(data_dir / data), *flags.split()]
    assert main(args) == 0
    latest = ckpt.latest_checkpoint(dest)
    assert ckpt.read_meta(latest)["step"] == step + 1
    weights = ckpt.load_weights(latest, "G" if run == "facades" else "G_A")
    assert all(torch.isfinite(v).all() for v in weights.values())


# What `make app` offers a new user (issue #11): the model each tab opens on and the one each
# example selects, so that the first click gives the sensible result.
PAGE = {
    "sketch": ("sketch2photo", {"sketch-shoe.png": "sketch2photo",
                                "sketch-sneaker.png": "sketch2photo",
                                "labels-facade.png": "facades_labels2photo"}),
    "style": ("photo2monet", {"photo-avenue.jpg": "photo2monet", "photo-beach.jpg": "photo2monet",
                              "monet-water-lilies.jpg": "monet2photo"}),
    "season": ("summer2winter", {"summer-el-capitan.jpg": "summer2winter",
                                 "summer-waterfall.jpg": "summer2winter",
                                 "winter-trees.jpg": "winter2summer"}),
}  # fmt: skip


@pytest.fixture(scope="module")
def page():
    from test_app_parts import page_examples

    from translate.apps.app import build_app

    return page_examples(build_app(MODELS))


def test_each_tab_opens_on_and_each_example_selects_the_model_it_fits(page):
    got = {tab: (default, dict(examples)) for tab, (default, examples) in page.items()}
    assert got.pop("batch")[1] == {}
    assert got == PAGE


def test_the_app_runs_every_example_through_the_model_it_selects(page):
    """Each example clicked and translated, the way the page's handlers run it. A shoe sketch
    comes out on light paper, not as the blue-black facade texture the label-map model makes
    of it."""
    from translate.apps.app import EXAMPLES_DIR, AppConfig, AppLogic
    from translate.apps.pool import ModelPool

    logic = AppLogic(ModelPool(MODELS, threads=2), AppConfig())
    examples = [(tab, *example) for tab, (_, shown) in page.items() for example in shown]
    assert len(examples) == 9
    for tab, file, name in examples:
        if tab == "sketch":
            sketch = {"composite": load_image(EXAMPLES_DIR / file)}
            path, note = logic.translate_sketch(sketch, name, "model")
            want = logic.pool.get(name).meta.recommended_size
        else:
            image = {"path": str(EXAMPLES_DIR / file), "orig_name": file}
            path, note = logic.translate_upload(image, name, "original")
            want = load_image(EXAMPLES_DIR / file).width
        out = load_image(path)
        assert out.width == want, (file, name, note)
        assert f"model `{name}`" in note
        assert to_tensor(out).std() > 0.05, (file, name)
        if file.startswith("sketch-"):
            y = to_tensor(out).mean(0)
            border = torch.cat([y[:8].flatten(), y[-8:].flatten(), y[:, :8].flatten(),
                                y[:, -8:].flatten()])  # fmt: skip
            assert border.mean() > -0.1, f"{file} through {name}: dark paper"

"""`translate release`: a tiny training run becomes a model the app lists, with its card, sample
sheet and a weights-only checkpoint; releasing again replaces the files by rename, and a failed
release changes nothing."""

from __future__ import annotations

import os

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from tiny_data import TINY_FLAGS, aligned, unpaired

from translate.apps.pool import ModelPool
from translate.cli import main
from translate.errors import ConfigError, TranslateError
from translate.export.release import CardNotes, release
from translate.gan.tensors import to_tensor
from translate.runtime.cards import read_card
from translate.runtime.catalog import file_sha256, read_checksums, read_metadata
from translate.runtime.images import load_image
from translate.runtime.inference import Translator
from translate.runtime.metadata import ModelMetadata
from translate.training import checkpoint as ckpt


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two-step CycleGAN and pix2pix runs (and an L1-only pix2pix baseline) on tiny data,
    trained through the CLI as a user would."""
    root = tmp_path_factory.mktemp("runs")
    seasons = unpaired(root / "seasons", n=4, splits=("train", "test"))
    facades = aligned(root / "facades", n=3, splits=("train", "val"))
    flags = [*TINY_FLAGS, "--log-every", "1", "--max-steps", "2"]
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: one thread is fastest
    try:
        for argv in (
            ["cyclegan", "--data", seasons, "--domain-a", "summer", "--domain-b", "winter"],
            ["pix2pix", "--data", facades, "--direction", "BtoA", "--domain-a", "facade"],
            ["pix2pix", "--data", facades, "--direction", "BtoA", "--lambda-gan", "0"],
        ):
            out = root / ("season" if argv[0] == "cyclegan" else "facades")
            out = out.with_name(out.name + ("-l1" if "--lambda-gan" in argv else ""))
            assert main(["train", *map(str, argv), "--out", str(out), *flags]) == 0
        yield root
    finally:
        torch.set_num_threads(before)


def test_a_released_cyclegan_direction_is_listed_by_the_app_with_its_card(runs, tmp_path):
    models, checkpoints = tmp_path / "models", tmp_path / "checkpoints"
    notes = CardNotes(
        task="season",
        title="Summer <-> winter",
        lead="A tiny test model.",
        licence="generated test images",
        limits="Trained {time}: coloured blocks only.",
        hardware="1 CPU core",
    )
    done = release(
        runs / "season", "winter2summer", direction="BtoA", notes=notes,
        models_dir=models, checkpoints_dir=checkpoints,
    )  # fmt: skip
    fp32 = models / "winter2summer.onnx"
    int8 = [] if done.int8_note else [models / "winter2summer.int8.onnx"]
    assert done.models == [fp32, *int8]
    sums = models / "SHA256SUMS"  # the digests of the ONNX files, for `sha256sum -c`
    assert sorted(models.iterdir()) == sorted([fp32, *int8, done.sheet, done.card, sums])

    meta = ModelMetadata.from_props(read_metadata(fp32))
    assert (meta.task, meta.direction, meta.source_domain, meta.target_domain) == (
        "season", "BtoA", "winter", "summer",
    )  # fmt: skip
    assert meta.license_note == "generated test images" and meta.training_iterations == 2

    card = read_card(done.card)
    assert card.title == "winter2summer: winter -> summer"
    assert card.lead == "A tiny test model." and card.sheet == "winter2summer.png"
    assert card.facts["task"] == "`season` (Summer <-> winter)"
    assert (
        card.facts["training"].startswith("2 iterations")
        and "on 1 CPU core" in card.facts["training"]
    )
    assert card.facts["checkpoint"].startswith("`checkpoints/season/`")
    assert set(card.facts["final losses"].split(", ")[0].split()) & {"G_A", "G_B", "D_A"}
    validation = card.sections["Validation"]
    measured = card.sections["Measured at 256 px"]  # what `translate eval` reports, as a table
    assert "| checkerboard excess |" in measured and "untranslated" in measured
    for key in ("identity", "model"):
        assert f"| {done.scores[key]['c2st_auc']:.3f} |" in validation
    assert f"**{done.scores['target_share']['outputs']:.0%}**" in validation
    assert card.limits.startswith("Trained ") and card.limits.endswith(": coloured blocks only.")
    assert Image.open(done.sheet).size[0] >= 2 * 128  # input | output, blown up to be seen

    # The checkpoint: weights only, fp16, and the same generator as the ONNX file.
    assert done.checkpoint == checkpoints / "season"
    found = ckpt.latest_checkpoint(done.checkpoint)
    assert sorted(p.name for p in found.iterdir()) == [
        "D_A.safetensors", "D_B.safetensors", "G_A.safetensors", "G_B.safetensors", "meta.json",
    ]  # fmt: skip
    weights = load_file(found / "G_B.safetensors")
    assert all(v.dtype == torch.float16 for v in weights.values() if v.is_floating_point())
    image = load_image(next((runs / "seasons" / "testB").iterdir()))
    y = to_tensor(Translator(fp32, backend="onnxruntime")(image))
    net, _ = ckpt.load_generator(done.checkpoint, "BtoA")
    with torch.no_grad():
        ref = net(to_tensor(image)[None].float())[0].clamp(-1, 1)
    assert (ref - y).abs().mean() < 0.02  # fp16 weights and 8-bit output rounding

    pool = ModelPool(models)
    assert ("winter → summer", "winter2summer") in pool.choices(("season",))
    choice = pool.get("winter2summer")
    assert choice.card == card and choice.card_text == done.card.read_text(encoding="utf-8")
    assert card.limits in choice.summary()
    for variant in done.models:  # an int8 variant shows its model's card
        assert pool.get(variant.name.removesuffix(".onnx")).card == card


def test_releasing_a_name_again_replaces_its_files_by_rename(runs, tmp_path, capsys):
    models, checkpoints = tmp_path / "models", tmp_path / "checkpoints"
    release(
        runs / "season", "summer2winter", notes=CardNotes(limits="First."),
        models_dir=models, checkpoints_dir=checkpoints,
    )  # fmt: skip
    stale = models / "summer2winter.int8.onnx"
    if not stale.exists():  # export's gate refused it: an earlier release's variant, then
        stale.write_bytes((models / "summer2winter.onnx").read_bytes())
    inodes = {p.name: p.stat().st_ino for p in models.iterdir()}
    argv = ["release", str(runs / "season"), "--name", "summer2winter", "--no-int8", "--features"]
    argv += ["none"]
    argv += ["--limits", "Second.", "--models", str(models), "--checkpoints", str(checkpoints)]
    assert main(argv) == 0
    assert f"removed {stale}" in capsys.readouterr().out
    files = ["SHA256SUMS", "summer2winter.md", "summer2winter.onnx", "summer2winter.png"]
    assert sorted(os.listdir(models)) == files  # the stale variant is gone, nothing is left over
    assert read_checksums(models) == {"summer2winter.onnx": file_sha256(models / files[2])}
    assert os.listdir(checkpoints) == ["season"]
    for name in files[1:]:  # each replaced by a rename: readers saw the old file or the new one
        assert (models / name).stat().st_ino != inodes[name]
    card = read_card(models / "summer2winter.md")
    assert card.limits == "Second."
    assert card.sections["Export"] == "No int8 variant: not requested"


def test_a_paired_model_is_scored_beside_the_untrained_network_and_its_baseline(runs, tmp_path):
    models = tmp_path / "models"
    done = release(
        runs / "facades", "labels2facade", baseline=runs / "facades-l1", int8=False,
        sheet_images=["straße 2"], models_dir=models, checkpoints_dir=None,
    )  # fmt: skip
    card = read_card(done.card)
    assert card.title == "labels2facade: B -> facade"  # BtoA: the run's B names the input
    rows = [line for line in card.sections["Validation"].splitlines() if line.startswith("| ")]
    labels = [row.split(" | ")[0] for row in rows[1:]]
    assert labels == [
        "| untrained (same network, initial weights)",
        "| L1 only (same preset and schedule, no GAN)",
        "| **this model** (L1 + cGAN)",
    ]
    for row, key in zip(rows[1:], ("untrained", "baseline", "model"), strict=True):
        assert f"| {done.scores[key]['l1']:.3f} |" in row
    assert done.scores["model"]["count"] == 3  # every val pair
    assert done.checkpoint is None and "checkpoint" not in card.facts
    assert "cp -r" not in card.sections["Use"]
    width, height = Image.open(done.sheet).size
    assert width > 3 * height  # one row: input | L1 only | L1 + cGAN | target


def test_a_failed_release_changes_nothing(runs, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "other.md").write_text("# other\n")
    out = {"models_dir": models, "checkpoints_dir": tmp_path / "checkpoints"}
    with pytest.raises(ConfigError, match="nowhere"):
        release(runs / "season", held_out=tmp_path / "nowhere", **out)
    with pytest.raises(ConfigError, match="no held-out image named missing"):
        release(runs / "season", sheet_images=["missing"], **out)
    with pytest.raises(ConfigError, match="trains BtoA, not AtoB"):
        release(runs / "facades", direction="AtoB", **out)
    with pytest.raises(ConfigError, match="letters, digits"):
        release(runs / "season", "../escape", **out)
    with pytest.raises(TranslateError, match="step_00000001: no such"):
        release(runs / "season", checkpoint="step_00000001", **out)  # only step 2 was kept
    assert os.listdir(models) == ["other.md"]
    assert not (tmp_path / "checkpoints").exists()

"""Folder conversion: safe with inputs, resumable, atomic, and tolerant of bad files."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from translate.cli import build_parser, main
from translate.convert import ConvertConfig, convert, plan
from translate.images import load_image
from translate.inference import Translator


def _image(path: Path, w=24, h=20, seed=0, mode="RGB") -> Path:
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).convert(mode)
    if mode == "RGBA":
        img.putalpha(Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8)))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def folder(tmp_path) -> Path:
    src = tmp_path / "in"
    _image(src / "a photo.jpg", seed=1)
    _image(src / "b.png", 30, 18, seed=2)
    _image(src / "c.webp", seed=3, mode="RGBA")
    (src / "notes.txt").write_text("not an image")
    _image(src / "sub" / "d.png", 16, 16, seed=4)
    return src


def test_converts_folder_and_keeps_names_sizes(onnx_model, folder, tmp_path):
    out = tmp_path / "out"
    before = _digest(folder)
    report = convert(onnx_model()[0], folder, out, progress=False)
    assert (report.converted, report.skipped, report.failed, report.ignored) == (3, 0, [], 1)
    assert sorted(p.name for p in out.iterdir()) == ["a photo.png", "b.png", "c.png"]
    assert Image.open(out / "b.png").size == (30, 18)
    assert Image.open(out / "c.png").mode == "RGBA"  # alpha carried over
    assert sorted(report.outputs) == sorted(out.iterdir())
    assert _digest(folder) == before  # inputs untouched


def test_recursive_mirrors_and_formats(onnx_model, folder, tmp_path):
    translator = Translator(onnx_model()[0])
    out = tmp_path / "out"
    cfg = ConvertConfig(recursive=True, format="same", batch=2)
    report = convert(translator, folder, out, cfg, progress=False)
    assert report.converted == 4 and report.ignored == 1
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "a photo.jpg", "b.png", "c.webp", "sub/d.png",
    ]  # fmt: skip
    assert Image.open(out / "a photo.jpg").format == "JPEG"
    report = convert(translator, folder, tmp_path / "jpg", ConvertConfig(format="jpg"), False)
    assert {Image.open(p).format for p in report.outputs} == {"JPEG"}
    single = convert(translator, folder / "b.png", tmp_path / "one", progress=False)
    assert single.outputs == [tmp_path / "one" / "b.png"]


def test_same_stem_does_not_collide(folder, tmp_path):
    _image(folder / "b.jpg", seed=9)
    jobs, _ = plan(folder, tmp_path / "out", ConvertConfig())
    names = sorted(j.dst.name for j in jobs)
    assert names == ["a photo.png", "b.png", "b_png.png", "c.png"]


def test_bad_images_are_reported_and_the_run_continues(onnx_model, folder, tmp_path, monkeypatch):
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.jpg").write_text("hello, I am not a JPEG")
    whole = (folder / "b.png").read_bytes()
    (folder / "truncated.png").write_bytes(whole[: len(whole) // 2])
    _image(folder / "huge.png", 64, 64)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # a 64x64 image is now a "bomb"
    report = convert(onnx_model()[0], folder, tmp_path / "out", progress=False)
    reasons = {p.name: r for p, r in report.failed}
    assert set(reasons) == {"empty.png", "text.jpg", "truncated.png", "huge.png"}
    assert "empty" in reasons["empty.png"] and "too large" in reasons["huge.png"]
    assert "not an image" in reasons["text.jpg"] and "truncated" in reasons["truncated.png"]
    assert report.converted == 3 and not report.ok
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a photo.png", "b.png", "c.png",
    ]  # fmt: skip


def test_resume_skips_existing_and_overwrite_replaces(onnx_model, folder, tmp_path):
    translator = Translator(onnx_model()[0])
    out = tmp_path / "out"
    convert(translator, folder, out, progress=False)
    (out / "b.png").unlink()
    (out / "c.png").write_bytes(b"stale")  # an old output: kept unless --overwrite
    report = convert(translator, folder, out, progress=False)
    assert (report.converted, report.skipped) == (1, 2) and report.outputs == [out / "b.png"]
    assert (out / "c.png").read_bytes() == b"stale"
    report = convert(translator, folder, out, ConvertConfig(overwrite=True), progress=False)
    assert (report.converted, report.skipped) == (3, 0)
    assert load_image(out / "c.png").size == (24, 20)


def test_refuses_to_write_into_input(onnx_model, folder, tmp_path, capsys):
    model = str(onnx_model()[0])
    before = _digest(folder)
    for target in (folder, folder / "sub", folder / "new"):
        assert main(["convert", model, str(folder), str(target), "-q"]) == 2
        assert "choose a folder outside the input" in capsys.readouterr().err
    # A single input file whose output would replace it.
    assert main(["convert", model, str(folder / "b.png"), str(folder), "-q"]) == 2
    assert "would overwrite the input" in capsys.readouterr().err
    assert _digest(folder) == before and not (folder / "new").exists()


def test_cli_summary_progress_and_exit_codes(onnx_model, folder, tmp_path, capsys):
    model = str(onnx_model()[0])
    assert main(["convert", model, str(folder), str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "converted 3, skipped 0, failed 0, ignored 1" in captured.out
    assert "img/s" in captured.err  # the progress bar shows the rate
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    assert main(["convert", model, str(folder), str(tmp_path / "out"), "-q"]) == 1
    captured = capsys.readouterr()
    assert "converted 0, skipped 3, failed 1, ignored 1" in captured.out
    assert f"failed: {folder / 'broken.jpg'}: " in captured.err
    assert main(["convert", str(tmp_path / "none.onnx"), str(folder), str(tmp_path / "o")]) == 2
    assert "none.onnx: no such model file" in capsys.readouterr().err


def test_killed_run_leaves_only_complete_images_and_resumes(onnx_model, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(40):
        _image(src / f"{i:03d}.png", 192, 192, seed=i)
    model = str(onnx_model()[0])
    cmd = [sys.executable, "-m", "translate", "convert", model, str(src), str(out), "-q"]
    proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parent.parent)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(out.glob("*.png"))) < 3:
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    done = list(out.glob("*.png"))  # glob skips the hidden temporaries of writes in flight
    assert 3 <= len(done) < 40, "the run was not interrupted part-way"
    for p in done:
        assert load_image(p).size == (192, 192)  # every visible output is complete
    report = convert(model, src, out, progress=False)
    assert report.skipped == len(done) and report.converted == 40 - len(done)


def test_encode_failure_leaves_no_file(onnx_model, folder, tmp_path, monkeypatch):
    translator = Translator(onnx_model()[0])
    real_finish = translator.finish

    def finish(prepared, y):
        if prepared.size == (30, 18):  # b.png
            raise OSError("disk full")
        return real_finish(prepared, y)

    monkeypatch.setattr(translator, "finish", finish)
    out = tmp_path / "out"
    cfg = ConvertConfig(tile=16, overlap=4, batch=3)
    report = convert(translator, folder, out, cfg, progress=False)
    assert [(p.name, r) for p, r in report.failed] == [("b.png", "disk full")]
    assert sorted(p.name for p in out.iterdir()) == ["a photo.png", "c.png"]  # no temporaries
    assert Image.open(out / "a photo.png").size == (24, 20)


def test_cli_defaults_are_the_config_defaults():
    args = build_parser().parse_args(["convert", "m.onnx", "in", "out"])
    assert ConvertConfig(**{k: getattr(args, k) for k in vars(ConvertConfig())}) == ConvertConfig()

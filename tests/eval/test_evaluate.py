"""`translate eval`: paired and unpaired folder scoring, JSON output, clear errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from translate.cli import main
from translate.eval.evaluate import evaluate_paired, evaluate_unpaired
from translate.runtime.images import from_array, save_image


def _texture(seed: int, size=(32, 32), noise=0.0) -> np.ndarray:
    """A smooth random colour field in [-1, 1] (CHW), optionally with white noise."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(1, 3, 4, 4, generator=g) * 1.6 - 0.8
    x = torch.nn.functional.interpolate(low, size=size, mode="bilinear")[0]
    return (x + noise * torch.randn(x.shape, generator=g)).clamp(-1, 1).numpy()


def _save(folder: Path, name: str, arr: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return save_image(from_array(arr), folder / name)


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["eval", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_paired_by_name_reports_known_scores(tmp_path, capsys):
    outs, tgts = tmp_path / "out", tmp_path / "tgt"
    for i in range(3):
        t = _texture(i)
        _save(tgts, f"img {i}.jpg" if i == 0 else f"img {i}.png", t)  # any extension matches
        _save(outs, f"img {i}.png", np.clip(t + 0.2, -1, 1))
    _save(tgts, "no output.png", _texture(9))  # a target without an output is not an error
    (outs / "notes.txt").write_text("not an image")  # non-images are ignored

    code, out, _ = _run(capsys, outs, tgts, "--json", "--per-image")
    assert code == 0
    report = json.loads(out)
    assert report["mode"] == "paired" and report["count"] == 3
    assert report["unmatched_targets"] == 1
    assert [r["name"] for r in report["per_image"]] == ["img 0", "img 1", "img 2"]
    png_rows = report["per_image"][1:]  # exact: PNG is lossless; the shift is 0.2 +- 1 level
    for row in png_rows:
        assert row["l1"] == pytest.approx(0.2, abs=1.5 / 127.5)
        assert row["ssim"] > 0.9  # a brightness shift keeps structure
    lib = evaluate_paired(outs, tgts)
    assert lib.l1 == pytest.approx(report["l1"]) and lib.ssim == pytest.approx(report["ssim"])

    code, out, _ = _run(capsys, outs, tgts)
    assert code == 0 and "L1" in out and "PSNR" in out and "SSIM" in out
    assert "1 targets have no output" in out and "sharpness" in out


def test_paired_reports_blurred_outputs_as_less_sharp(tmp_path):
    """The paper's L1-only complaint, measurable: blurred outputs score lower sharpness than
    their targets, exact copies the same."""
    from PIL import ImageFilter

    outs, blurred, tgts = tmp_path / "out", tmp_path / "blur", tmp_path / "tgt"
    for i in range(2):
        t = _texture(i, (48, 48), noise=0.3)
        _save(tgts, f"{i}.png", t)
        _save(outs, f"{i}.png", t)
        blurred.mkdir(exist_ok=True)
        from_array(t).filter(ImageFilter.GaussianBlur(1.5)).save(blurred / f"{i}.png")
    same, blur = evaluate_paired(outs, tgts), evaluate_paired(blurred, tgts)
    assert same.sharpness == pytest.approx(same.target_sharpness)
    assert blur.sharpness < 0.6 * blur.target_sharpness
    assert blur.target_sharpness == pytest.approx(same.target_sharpness)


def test_paired_against_aligned_halves(tmp_path, capsys):
    outs, pairs = tmp_path / "out", tmp_path / "val"
    for i in range(2):
        a, b = _texture(i, (32, 32)), _texture(10 + i, (32, 32))
        _save(pairs, f"{i}.png", np.concatenate([a, b], axis=2))  # A | B side by side
        _save(outs, f"{i}.png", b)
    code, out, _ = _run(capsys, outs, pairs, "--split", "B", "--json")
    report = json.loads(out)
    assert code == 0 and report["split"] == "B"
    assert report["l1"] == 0.0 and report["psnr"] is None  # identical: PSNR inf -> null
    assert report["ssim"] == pytest.approx(1.0)
    report = evaluate_paired(outs, pairs, split="A")
    assert report.l1 > 0.05 and math.isfinite(report.psnr)


def test_paired_errors_name_the_problem(tmp_path, capsys):
    outs, tgts, empty = tmp_path / "out", tmp_path / "tgt", tmp_path / "empty"
    empty.mkdir()
    _save(outs, "a.png", _texture(0))
    _save(tgts, "b.png", _texture(0))
    code, _, err = _run(capsys, outs, tgts)
    assert code == 2 and "1 of 1 outputs have no target" in err and ": a" in err

    code, _, err = _run(capsys, empty, tgts)
    assert code == 2 and "no images in the outputs folder" in err
    code, _, err = _run(capsys, outs, tmp_path / "missing")
    assert code == 2 and "targets folder not found" in err

    _save(tgts, "a.png", np.concatenate([_texture(0), _texture(1)], axis=2))  # an A|B pair
    code, _, err = _run(capsys, outs, tgts)
    assert code == 2 and "a.png is 32x32 but its target" in err and "use --split" in err

    (tgts / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    code, _, err = _run(capsys, outs, tgts)
    assert code == 2 and "a.png" in err and "Traceback" not in err

    _save(outs, "a.jpg", _texture(0))
    code, _, err = _run(capsys, outs, tgts)
    assert code == 2 and "same name" in err

    code, _, err = _run(capsys, outs, tgts, "--unpaired", "--split", "A")
    assert code == 2 and "--split applies to paired" in err


def _unpaired_sets(root: Path, n=24):
    real, same, noisy = root / "real", root / "same", root / "noisy"
    for i in range(n):
        _save(real, f"r{i}.png", _texture(i))
        _save(same, f"s{i}.png", _texture(100 + i))
        _save(noisy, f"n{i}.png", _texture(200 + i, noise=0.15))
    return real, same, noisy


def test_unpaired_c2st_without_weights(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no Inception weights here
    # ... and no [eval] extra: auto falls back to C2ST and says how to get KID/FID
    monkeypatch.setattr("translate.eval.backbones.efficientnet_lite_available", lambda name: False)
    real, same, noisy = _unpaired_sets(tmp_path)
    code, out, _ = _run(capsys, noisy, real, "--unpaired", "--size", "32", "--json")
    report = json.loads(out)
    assert code == 0 and report["mode"] == "unpaired"
    assert (report["generated"], report["real"]) == (24, 24)
    assert report["c2st_auc"] > 0.9
    assert report["kid"] is None and report["fid"] is None
    assert "never downloads" in report["notes"][0]  # auto: says how to get KID/FID
    assert "translate[eval]" in report["notes"][0]
    assert report["checkerboard_excess"] is not None  # needs no weights
    code, out, _ = _run(capsys, same, real, "--unpaired", "--size", "32")
    assert code == 0 and "C2ST AUC" in out
    auc = float(out.split("C2ST AUC")[1].split()[0])
    assert abs(auc - 0.5) < 0.25

    code, _, err = _run(capsys, same, real, "--unpaired", "--features", "inception")
    assert code == 2 and "--inception-weights" in err
    code, _, err = _run(capsys, same, real / "r0.png", "--unpaired")
    assert code == 2 and "real folder not found" in err


def test_unpaired_with_any_feature_extractor(tmp_path):
    real, same, noisy = _unpaired_sets(tmp_path, n=16)

    def colour_stats(x):  # any callable (N, C, H, W) -> (N, D)
        return torch.cat([x.mean((2, 3)), x.std((2, 3))], 1)

    close = evaluate_unpaired(same, real, colour_stats, "colour", size=32, kid_subset=8)
    far = evaluate_unpaired(noisy, real, colour_stats, "colour", size=32, kid_subset=8)
    assert close.features == "colour" and close.kid is not None and close.fid is not None
    assert far.fid > close.fid and far.kid > close.kid
    d = far.to_dict()
    assert d["mode"] == "unpaired" and json.loads(json.dumps(d))["fid"] == pytest.approx(far.fid)
    with pytest.raises(ValueError, match="at least 2 generated"):
        lone = tmp_path / "lone"
        _save(lone, "x.png", _texture(0))
        evaluate_unpaired(lone, real)

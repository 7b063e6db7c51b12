"""`translate eval MODEL INPUTS TARGETS`: a model run on held-out folders and scored beside the
untranslated inputs; the JSON scripts read; the warning for a model trained against the network
that scores it."""

from __future__ import annotations

import json

import onnx
import pytest

from translate.cli import main
from translate.eval.evaluate import evaluate_model

SUMMER, WINTER = "summer2winter_yosemite/testA", "summer2winter_yosemite/testB"


def _eval(capsys, *argv) -> tuple[int, str, str]:
    code = main(["eval", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_model_on_unpaired_folders_json_and_table(onnx_model, data_dir, lite1, capsys, seed):
    path, _ = onnx_model()  # a tiny random generator: its outputs are nothing like winter
    args = [path, data_dir / SUMMER, data_dir / WINTER, "--limit", "6", "--size", "64"]
    code, out, err = _eval(capsys, *args, "--seed", seed, "--json")
    assert code == 0 and err == ""
    report = json.loads(out)
    assert report["mode"] == "model" and (report["inputs"], report["targets"]) == (6, 6)
    assert report["features"] == "efficientnet_lite1" and report["size"] == 64
    numbers = "kid kid_std kid_inputs kid_inputs_std fid fid_inputs checkerboard_excess sharpness"
    for key in [*numbers.split(), "input_sharpness", "target_sharpness"]:
        assert isinstance(report[key], float), key
    assert report["kid"] > report["kid_inputs"]  # a random network is worse than doing nothing
    assert [f["features"] for f in report["by_features"]] == ["efficientnet_lite1", "random_cnn"]
    assert report["checkerboard"]["outputs"]["side"] == 64
    assert report["paired"] is None and report["warnings"] == []

    code, out, _ = _eval(capsys, *args, "--features", "random_cnn")
    assert code == 0
    assert "KID  random_cnn" in out and "inputs (untranslated)" in out
    assert "checkerboard excess over targets" in out and "efficientnet" not in out


def test_paired_folders_add_l1_psnr_ssim_for_outputs_and_inputs(onnx_model, data_dir, tmp_path):
    """facades val: B (label map) halves in, A (photo) halves as targets, same names."""
    path, _ = onnx_model()
    out = tmp_path / "outputs"
    report = evaluate_model(
        path,
        data_dir / "facades" / "val",
        data_dir / "facades" / "val",
        input_split="B",
        target_split="A",
        size=64,
        limit=4,
        features="random_cnn",
        save_outputs=out,
    )
    p = report.paired
    assert set(p) == {"l1", "psnr", "ssim", "l1_inputs", "psnr_inputs", "ssim_inputs"}
    assert all(0 < p[k] < 2 for k in ("l1", "l1_inputs"))
    assert len(list(out.glob("*.png"))) == 4
    assert report.features == "random_cnn" and len(report.by_features) == 1
    d = json.loads(json.dumps(report.to_dict()))
    assert d["paired"]["ssim"] == pytest.approx(p["ssim"])


def test_a_model_trained_against_the_scoring_network_is_flagged(
    onnx_model, data_dir, lite1, tmp_path, capsys
):
    path, _ = onnx_model()
    model = onnx.load(path)
    props = {p.key: p.value for p in model.metadata_props}
    props["training_config"] = json.dumps({"gan": {"projected_backbone": "efficientnet_lite1"}})
    onnx.helper.set_model_props(model, props)
    marked = tmp_path / "marked.onnx"
    onnx.save(model, marked)
    args = [marked, data_dir / SUMMER, data_dir / WINTER, "--limit", "3", "--size", "64"]
    code, out, err = _eval(capsys, *args, "--json")
    assert code == 0
    assert "warning: the model was trained against efficientnet_lite1" in err
    assert "training_config.gan.projected_backbone" in err
    assert json.loads(out)["warnings"] and "flatter" in json.loads(out)["warnings"][0]
    code, out, err = _eval(capsys, *args, "--features", "efficientnet_lite2")
    assert code == 0 and "warning" not in err  # another network: a fair judge


def test_model_mode_errors_are_one_line(onnx_model, data_dir, tmp_path, capsys):
    path, _ = onnx_model()
    code, _, err = _eval(capsys, path, data_dir / SUMMER, tmp_path / "nope")
    assert code == 2 and "nope: targets folder not found" in err
    code, _, err = _eval(capsys, tmp_path, data_dir / WINTER, "--limit", "3")
    assert code == 2 and "--limit needs a MODEL" in err
    code, _, err = _eval(capsys, tmp_path / "none.onnx", data_dir / SUMMER, data_dir / WINTER)
    assert code == 2 and "none.onnx" in err


def test_the_cli_offers_every_feature_network():
    """The parser spells the choices out (building it must not import torch); they stay the
    library's."""
    from translate.cli.eval import FEATURES as offered
    from translate.eval.features import FEATURES

    assert offered == FEATURES

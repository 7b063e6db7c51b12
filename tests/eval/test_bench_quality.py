"""bench/quality.py in the tests' tiny setting: two recipes, the same budget each, resumable, one
table and one sample sheet."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from PIL import Image
from tiny_data import one_thread, unpaired  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
TINY = {
    "data": {"load_size": 36, "crop_size": 32, "workers": 0},
    "generator": {"arch": "resnet_6blocks", "ngf": 4},
    "discriminator": {"ndf": 4},
    "log_every": 1,
}
RECIPES = {
    "plain": {"model": "cyclegan", "description": "CycleGAN defaults"},
    "hinge": {"model": "cyclegan", "overrides": {"gan": {"objective": "hinge"}}},
}


@pytest.fixture
def bench():
    spec = importlib.util.spec_from_file_location("bench_quality", ROOT / "bench" / "quality.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_two_recipes_for_the_same_budget_resumably(bench, tmp_path, one_thread, capsys):  # noqa: F811
    data = unpaired(tmp_path / "data", n=4, splits=("train", "test"))
    recipes = tmp_path / "recipes.json"
    recipes.write_text(json.dumps(RECIPES))
    out = tmp_path / "quality"
    argv = ["--data", str(data), "--recipes", "plain,hinge", "--recipe-file", str(recipes),
            "--common", json.dumps(TINY), "--minutes", "0.02", "--out", str(out),
            "--features", "random_cnn", "--size", "0", "--device", "cpu"]  # fmt: skip
    assert bench.main(argv) == 0

    rows = json.loads((out / "quality.json").read_text())
    assert [r["name"] for r in rows] == ["plain", "hinge"]
    for r in rows:
        assert r["iterations"] > 0
        assert r["seconds"] >= 0.02 * 60 or r["schedule_ended"]  # the whole budget, or done
        rep = r["report"]
        assert isinstance(rep["kid"], float) and isinstance(rep["kid_inputs"], float)
        assert isinstance(rep["checkerboard_excess"], float) and rep["features"] == "random_cnn"
    table = (out / "quality.md").read_text()
    assert "| plain | CycleGAN defaults |" in table and "| hinge |" in table
    assert "checkerboard excess" in table and "s/iter" in table
    sheet = Image.open(out / "samples.png")
    assert sheet.width >= 3 * 32 and sheet.height >= 4 * 32  # input + 2 recipes, 4 rows, 32 px
    hinge = json.loads((out / "hinge" / "config.json").read_text())
    assert hinge["gan"]["objective"] == "hinge" and hinge["generator"]["ngf"] == 4

    # Again with the same budget: nothing more to train, the scores come from the cache.
    eval_cache = (out / "plain" / "bench_eval.json").stat().st_mtime_ns
    assert bench.main(argv) == 0
    again = json.loads((out / "quality.json").read_text())
    assert [r["iterations"] for r in again] == [r["iterations"] for r in rows]
    assert (out / "plain" / "bench_eval.json").stat().st_mtime_ns == eval_cache
    # A larger budget continues the same runs.
    more = [*argv[: argv.index("--minutes") + 1], "0.04", *argv[argv.index("--minutes") + 2 :]]
    assert bench.main(more) == 0
    longer = json.loads((out / "quality.json").read_text())
    assert all(b["iterations"] > a["iterations"] for a, b in zip(rows, longer, strict=True))

    # A recipe changed under an existing run is refused, not mixed.
    recipes.write_text(json.dumps({**RECIPES, "hinge": {"model": "cyclegan"}}))
    with pytest.raises(SystemExit, match="recipe 'hinge' changed"):
        bench.main(argv)

"""What `pip install translate` gives, with no source checkout and no torch: the wheel is built
from a copy of the package's sources, installed with its base dependencies into a fresh venv,
and used from outside the checkout. It converts a folder on the CLI, serves the app (shipped as
translate.apps, example images included) on a bundled model, and answers the commands that need
torch with one line naming the extra.

Slow for a test (marked ``slow``: ``-m "not slow"`` leaves it out): the first run on a machine
downloads the base dependencies from PyPI (Gradio, ONNX Runtime, OpenCV: ~0.5 GB installed);
later runs install them from pip's cache, and the module takes 1-1.5 minutes on 2 cores, most
of it the install. The wheel and the venv are made once per run of the module."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "translate", "apps")  # what the wheel is built from


def smallest_bundled_model() -> Path:
    return min((ROOT / "models").glob("*.onnx"), key=lambda p: p.stat().st_size)


def _run(cmd: list, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run outside the checkout, with nothing of the test's environment on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / name)
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", work / "dist", src], work
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (work / "dist").glob("translate-*.whl")
    return wheel


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel and its base dependencies; its bin/ folder."""
    work = tmp_path_factory.mktemp("venv")
    made = _run([sys.executable, "-m", "venv", work / "venv"], work)
    assert made.returncode == 0, made.stderr
    bin_dir = work / "venv" / "bin"
    installed = _run([bin_dir / "python", "-m", "pip", "install", "--no-compile", wheel], work)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return bin_dir


def test_the_wheel_ships_every_module_and_the_app_with_its_examples(wheel):
    """The package list in pyproject.toml is kept by hand (apps/ is mapped to translate.apps)."""
    shipped = set(zipfile.ZipFile(wheel).namelist())
    want = {p.relative_to(ROOT).as_posix() for p in (ROOT / "translate").rglob("*.py")}
    want |= {
        "translate/apps/" + p.relative_to(ROOT / "apps").as_posix()
        for p in (ROOT / "apps").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert not want - shipped, f"missing from the wheel: {sorted(want - shipped)}"


def test_the_base_install_has_no_torch(venv, tmp_path):
    got = _run([venv / "python", "-c", "import torch"], tmp_path)
    assert got.returncode == 1 and "No module named 'torch'" in got.stderr


def test_convert_a_folder_with_a_bundled_model(venv, tmp_path, seed):
    images = tmp_path / "in"
    (images / "sub").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for name in ("a.png", "sub/b.jpg"):
        Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(images / name)
    got = _run(
        [venv / "translate", "convert", smallest_bundled_model(), images, tmp_path / "out"]
        + ["--recursive", "--quiet"],
        tmp_path,
    )
    assert got.returncode == 0, got.stderr
    out = tmp_path / "out"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*")) == ["a.png", "sub/b.png"]
    assert Image.open(out / "a.png").size == (56, 40)


APP = """
import json, sys
from pathlib import Path
from translate.apps.app import EXAMPLES_DIR, AppConfig, AppLogic, build_app
from translate.apps.pool import ModelPool
from translate.runtime.inference import target_size
from PIL import Image

models = Path(sys.argv[1])
build_app(models)  # the whole page, as `translate app --models DIR` serves it
logic = AppLogic(ModelPool(models, threads=2), AppConfig())
(name,) = [name for _, name in logic.pool.choices()]
example = sorted(EXAMPLES_DIR.glob("*.jpg"))[0]
path, note = logic.translate_upload({"path": str(example)}, name, "model")
size = Image.open(path).size  # the app's work folder is gone once this process ends
want = target_size(Image.open(example).size, logic.pool.get(name).meta.recommended_size)
print(json.dumps({"examples": str(EXAMPLES_DIR), "size": size, "want": want, "note": note,
                  "model": name}))
"""


def test_the_app_serves_a_bundled_model_from_the_installed_package(venv, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy2(smallest_bundled_model(), models)
    got = _run([venv / "python", "-c", APP, models], tmp_path)
    assert got.returncode == 0, got.stderr
    shown = json.loads(got.stdout.strip().splitlines()[-1])
    examples = Path(shown["examples"])
    assert examples.is_relative_to(venv.parent), examples  # package data, not the checkout's
    assert sorted(p.name for p in examples.iterdir()) == sorted(
        p.name for p in (ROOT / "apps" / "examples").iterdir()
    )
    assert shown["size"] == shown["want"]  # "Model's training size", as picked in the page
    assert f"model `{shown['model']}`" in shown["note"]


@pytest.mark.parametrize(
    ("argv", "extra"),
    [
        (["train", "pix2pix", "--data", "data"], "train"),
        (["export", "run", "-o", "model.onnx"], "train"),
        (["eval", "outputs", "reference"], "eval"),
    ],
)
def test_commands_that_need_torch_name_the_extra(venv, tmp_path, argv, extra):
    got = _run([venv / "translate", *argv], tmp_path)
    assert got.returncode == 2, got.stdout + got.stderr
    assert len(got.stderr.strip().splitlines()) == 1, got.stderr
    assert f"pip install 'translate[{extra}]'" in got.stderr


def test_info_says_what_the_base_install_lacks_and_where_models_are_looked_for(venv, tmp_path):
    """An installed package has no bundled models: without --models (or $TRANSLATE_MODELS) the
    app and info look in ./models, and the app then shows how to get a model."""
    got = _run([venv / "translate", "info"], tmp_path)
    assert got.returncode == 0, got.stderr
    assert "torch not installed" in got.stdout and "[train]" in got.stdout
    assert "models in models: 0" in got.stdout
    got = _run([venv / "translate", "info", "--models", ROOT / "models"], tmp_path)
    assert f"  {smallest_bundled_model().stem} " in got.stdout


def test_the_app_command_loads_the_installed_app(venv, tmp_path):
    got = _run([venv / "translate", "app", "--help"], tmp_path)
    assert got.returncode == 0, got.stderr
    assert "--max-pixels" in got.stdout  # read off the app's AppConfig

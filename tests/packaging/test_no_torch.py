"""The base install runs without torch: the runtime, the app and the CLI commands that need only
them never import it (importing torch alone costs seconds and ~0.5 GiB; a plain install does
not have it at all). Checked in a fresh interpreter, since this one has torch loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]

# The steps run in one fresh interpreter, which prints after each one whether torch is loaded:
# the first step that shows it is the culprit.
SCRIPT = """
import contextlib, importlib, io, pkgutil, sys
from pathlib import Path

model, images, out, models = sys.argv[1:5]

def loaded(step):
    print(step, "|", " ".join(sorted({m.split(".")[0] for m in sys.modules} & {"torch"})))

def cli(*argv):
    from translate.cli import main
    with contextlib.redirect_stdout(io.StringIO()) as shown:
        try:
            code = main(list(argv))
        except SystemExit as e:  # --help
            code = e.code
    assert code == 0, (argv, code, shown.getvalue())
    return shown.getvalue()

import translate.runtime
for m in pkgutil.iter_modules(translate.runtime.__path__):
    importlib.import_module("translate.runtime." + m.name)
loaded("import translate.runtime.*")

from translate.runtime.convert import ConvertConfig, convert
report = convert(model, images, Path(out) / "api", ConvertConfig(), progress=False)
assert report.converted == 2 and report.ok, report.summary()
loaded("translate.runtime.convert.convert")

from translate.apps.app import build_app
build_app(models)
loaded("translate.apps.app.build_app")

cli("--help")
loaded("translate --help")
cli("convert", model, images, str(Path(out) / "cli"), "--quiet")
assert len(list((Path(out) / "cli").iterdir())) == 2
loaded("translate convert")
"""


STEPS = [
    "import translate.runtime.*",
    "translate.runtime.convert.convert",
    "translate.apps.app.build_app",
    "translate --help",
    "translate convert",
]
# `translate info` is left out on purpose: where torch is installed it reports torch's devices
# (what training will run on). Without torch it works and says so: tests/packaging/test_wheel.py.


def smallest_bundled_model() -> Path:
    return min((ROOT / "models").glob("*.onnx"), key=lambda p: p.stat().st_size)


def test_runtime_app_and_base_commands_never_import_torch(tmp_path, seed):
    images = tmp_path / "in"
    images.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(images / f"{i}.png")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(smallest_bundled_model()), str(images), str(tmp_path)]
        + [str(ROOT / "models")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    steps = dict(line.split(" | ") for line in result.stdout.splitlines() if " | " in line)
    assert list(steps) == STEPS, result.stdout
    assert not any(steps.values()), "torch was imported:\n" + result.stdout

"""The command line's contract: a user error is one line on stderr and exit status 2, a bug keeps
its traceback, and a command whose extra is not installed says which one to install."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from translate.cli import main


def test_a_user_error_is_one_line_and_exit_status_2(tmp_path, capsys):
    assert main(["edges", str(tmp_path / "missing.png"), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == f"translate edges: error: {tmp_path / 'missing.png'}: no such file or folder\n"


@pytest.mark.parametrize("bug", [ValueError, RuntimeError])
def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch, bug):
    def broken(*args, **kwargs):
        raise bug("a bug, not the user's error")

    monkeypatch.setattr("translate.runtime.edges.edges_to_files", broken)
    with pytest.raises(bug, match="a bug"):
        main(["edges", str(tmp_path / "in.png"), str(tmp_path / "out")])


# Runs each command line in one fresh interpreter where `import torch` fails, as in an install
# without the [train] and [eval] extras; prints {command: [exit status, stderr]}.
WITHOUT_TORCH = """
import contextlib, io, json, sys
sys.modules["torch"] = None
from translate.cli import main
results = {}
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        results[argv[0]] = [main(argv), err.getvalue()]
print(json.dumps(results))
"""


def test_commands_that_need_torch_name_the_extra_to_install(tmp_path):
    commands = {
        "train": (["train", "pix2pix", "--data", "data"], "train"),
        "test": (["test", "run", "--data", "data"], "train"),
        "export": (["export", "run", "-o", "model.onnx"], "train"),
        "report": (["report", "run"], "train"),
        "inspect": (["inspect", "G.pth"], "train"),
        "eval": (["eval", "outputs", "targets"], "eval"),
    }
    argvs = json.dumps([argv for argv, _ in commands.values()])
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH, argvs],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    for name, (_, extra) in commands.items():
        code, err = results[name]
        assert code == 2 and len(err.strip().splitlines()) == 1, (name, err)
        assert f"{name} needs the [{extra}] extra: pip install 'translate[{extra}]'" in err

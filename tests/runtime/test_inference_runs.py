"""Training run folders through the engine (PyTorch backend): Translator and translate convert."""

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_data import TINY_FLAGS, unpaired

from translate.cli import main
from translate.gan.tensors import to_tensor
from translate.runtime.images import from_array
from translate.runtime.inference import Translator
from translate.training import checkpoint as ckpt


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    root = unpaired(tmp / "data", n=3)
    run_dir = tmp / "run"
    args = ["train", "cyclegan", "--data", str(root), "--out", str(run_dir), *TINY_FLAGS,
            "--max-steps", "2", "--domain-a", "summer", "--domain-b", "winter"]  # fmt: skip
    assert main(args) == 0
    return run_dir, root


def test_cyclegan_run_in_both_directions(run):
    run_dir, root = run
    img = Image.open(sorted((root / "trainA").iterdir())[0]).convert("RGB")
    for direction, domains in (("AtoB", ("summer", "winter")), ("BtoA", ("winter", "summer"))):
        translator = Translator(run_dir, direction=direction, device="cpu")
        assert translator.backend_name == "torch"
        md = translator.metadata
        assert (md.source_domain, md.target_domain, md.model_type) == (*domains, "cyclegan")
        net, _ = ckpt.load_generator(run_dir, direction)
        with torch.no_grad():
            expected = np.asarray(from_array(net(to_tensor(img)[None])[0]), np.int16)
        assert np.abs(np.asarray(translator(img), np.int16) - expected).max() <= 1
    with pytest.raises(ValueError, match="runs with the torch backend"):
        Translator(run_dir, backend="onnxruntime")


def test_convert_a_folder_with_a_training_run(run, tmp_path, capsys):
    run_dir, root = run
    out = tmp_path / "out"
    args = ["convert", str(run_dir), str(root / "trainB"), str(out), "--direction", "BtoA", "-q"]
    assert main(args) == 0
    assert "converted 4, skipped 0, failed 0" in capsys.readouterr().out
    assert len(list(out.glob("*.png"))) == 4

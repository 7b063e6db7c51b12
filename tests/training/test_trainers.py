"""Trainers come from a registry: a third trainer, defined in this file and nowhere else, trains,
checkpoints, resumes exactly, runs over a test split, opens in the Translator and exports through
the same code as pix2pix and CycleGAN."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from tiny_data import aligned, one_thread  # noqa: F401  (fixture)

from translate.cli import main
from translate.errors import ConfigError
from translate.eval.metrics import l1
from translate.gan.nets import GeneratorConfig, create_generator
from translate.runtime.catalog import read_metadata
from translate.runtime.inference import Translator
from translate.runtime.metadata import ModelMetadata
from translate.training import checkpoint as ckpt
from translate.training.config import TrainConfig, default_config
from translate.training.loop import train
from translate.training.predict import run_test
from translate.training.presets import merge_overrides
from translate.training.report import read_log
from translate.training.trainer import (
    TRAINERS,
    GeneratorSpec,
    TranslationModel,
    get_trainer,
    register_trainer,
    trainer_names,
)

pytestmark = pytest.mark.usefixtures("one_thread")


class L1Only(TranslationModel):
    """The smallest trainer: one generator, B -> A, stored as "net", trained with L1 alone. Its
    direction and network name differ from the built-in trainers' on purpose."""

    paired = True
    loss_keys = ("L1",)
    plateau_key = "L1"

    @classmethod
    def default_config(cls) -> TrainConfig:
        return TrainConfig(
            model=cls.name,
            generator=GeneratorConfig(arch="resnet_6blocks", ngf=4, norm="instance"),
            domain_a="label",
            domain_b="photo",
        )

    @classmethod
    def generators(cls, cfg: TrainConfig) -> dict[str, GeneratorSpec]:
        return {"BtoA": GeneratorSpec("net", cfg.generator, cfg.domain_b, cfg.domain_a)}

    def __init__(self, cfg, device, dist=None):
        super().__init__(cfg, device, dist)
        net = create_generator(cfg.generator, init=cfg.init, init_gain=cfg.init_gain)
        self.add_net("net", net)
        self.add_optimizer("net", "net")

    def train_step(self, batch: dict) -> dict[str, float]:
        b, a = self.to_device(batch, "B", "A")
        with self.core.autocast():
            loss = F.l1_loss(self.train_nets["net"](b), a).float()
        self.core.step(loss, self.optimizers["net"], [self.nets["net"]])
        return {"L1": loss.item()}

    @torch.no_grad()
    def visuals(self, batch: dict) -> tuple[list[str], list[torch.Tensor]]:
        b, a = self.to_device(batch, "B", "A")
        net = self.nets["net"]
        net.eval()
        try:
            fake = net(b)
        finally:
            net.train()
        return ["input", "output", "target"], [b, fake, a]

    def heldout_losses(self, batch: dict) -> dict[str, float]:
        _, (_, fake, target) = self.visuals(batch)
        return {"val_L1": l1(fake, target)}


@pytest.fixture
def l1_trainer():
    register_trainer("l1")(L1Only)
    yield L1Only
    del TRAINERS["l1"]


def test_the_registry_names_the_choices_and_what_each_trainer_trains():
    assert trainer_names()[:2] == ["pix2pix", "cyclegan"]
    with pytest.raises(ConfigError, match="unknown model 'gan'; choose one of pix2pix, cyclegan"):
        get_trainer("gan")
    with pytest.raises(ConfigError, match="unknown model 'gan'"):
        TrainConfig(model="gan")
    for name in ("pix2pix", "cyclegan"):
        assert default_config(name).model == name == get_trainer(name).name
    assert get_trainer("pix2pix").paired and not get_trainer("cyclegan").paired

    cfg = TrainConfig.from_dict(
        {
            "model": "pix2pix",
            "data": {"direction": "BtoA"},
            "generator": {"output_nc": 1},
            "domain_a": "photo",
            "domain_b": "labels",
        }  # fmt: skip
    )
    (direction, spec), *more = get_trainer("pix2pix").generators(cfg).items()
    assert (direction, spec.net, spec.source, spec.target, more) == (
        "BtoA",
        "G",
        "labels",
        "photo",
        [],
    )
    assert (cfg.source_domain, cfg.target_domain) == ("labels", "photo")
    cfg = TrainConfig.from_dict(
        {"model": "cyclegan", "generator": {"output_nc": 1}, "loss": {"lambda_identity": 0}}
    )
    specs = get_trainer("cyclegan").generators(cfg)
    assert [(d, s.net, s.config.input_nc, s.config.output_nc) for d, s in specs.items()] == [
        ("AtoB", "G_A", 3, 1),
        ("BtoA", "G_B", 1, 3),
    ]
    with pytest.raises(ConfigError, match="identity loss needs as many input as output"):
        TrainConfig.from_dict({"model": "cyclegan", "generator": {"output_nc": 1}})


def _weights(run_dir) -> dict[str, torch.Tensor]:
    found = ckpt.latest_checkpoint(run_dir)
    return {
        f"{p.stem}.{k}": v for p in found.glob("*.safetensors") for k, v in load_file(p).items()
    }


def test_a_registered_trainer_needs_no_other_module(l1_trainer, tmp_path, capsys):
    root = aligned(tmp_path / "data", n=3, splits=("train", "test"))
    tiny = {
        "data": {"root": str(root), "load_size": 36, "crop_size": 32, "workers": 0},
        "log_every": 1,
        "sample_every": 2,
        "save_every": 0,
        "save_epoch_every": 0,
        "schedule": {"n_epochs": 1, "n_epochs_decay": 1},
    }

    def config(run: str, max_steps: int) -> TrainConfig:
        over = {**tiny, "run_dir": str(tmp_path / run), "schedule": {"max_steps": max_steps}}
        return merge_overrides(default_config("l1"), over)

    # Train: 4 steps in one go == 2 steps, resume, 2 steps (mid-epoch, across an lr change).
    train(config("straight", 4), progress=False)
    run = tmp_path / "resumed"
    train(config("resumed", 2), progress=False)
    train(merge_overrides(TrainConfig.load(run), {"schedule": {"max_steps": 4}}), resume=True,
          progress=False)  # fmt: skip
    a, b = _weights(tmp_path / "straight"), _weights(run)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    strip = ("time", "it_s")
    logs = [
        [
            {k: v for k, v in r.items() if k not in strip}
            for r in read_log(tmp_path / n / "log.jsonl")
        ]
        for n in ("straight", "resumed")
    ]
    assert logs[0] == logs[1] and {"L1", "val_L1"} <= {k for r in logs[0] for k in r}

    # The checkpoint holds the trainer's own network; the loader finds its one direction.
    latest = ckpt.latest_checkpoint(run)
    assert {p.name for p in latest.iterdir()} == {"net.safetensors", "state.pt", "meta.json"}
    assert ckpt.read_meta(latest)["model"] == "l1"
    G, info = ckpt.load_generator(run)
    assert (info.model_type, info.direction, info.iterations) == ("l1", "BtoA", 4)
    assert (info.source_domain, info.target_domain) == ("photo", "label")
    with pytest.raises(ckpt.CheckpointError, match="trained BtoA; it cannot run AtoB"):
        ckpt.load_generator(run, "AtoB")

    # translate test: paired, so input | output | target, the input being the B half.
    report = run_test(run, root, tmp_path / "results", progress=False)
    assert report.images == {"BtoA": 3}
    assert len(list((tmp_path / "results" / "target").glob("*.png"))) == 3

    # The engine opens the run (PyTorch), and export writes what the trainer says it learned.
    assert Translator(run, device="cpu").metadata.model_type == "l1"
    out = tmp_path / "photo2label.onnx"
    assert main(["export", str(run), "-o", str(out)]) == 0
    meta = ModelMetadata.from_props(read_metadata(out))
    assert (meta.model_type, meta.direction, meta.source_domain, meta.target_domain) == (
        "l1",
        "BtoA",
        "photo",
        "label",
    )
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        expected = G(x).numpy()
    got = ort.InferenceSession(str(out)).run(None, {"input": x.numpy()})[0]
    assert np.abs(got - expected).max() <= 1e-4

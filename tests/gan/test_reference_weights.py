"""Compatibility with the official pix2pix/CycleGAN model zoo: layouts, parameter counts and the
golden parity vectors in ../shared/reference."""

import json
import pickle

import numpy as np
import pytest
import torch

from translate.gan.nets import count_parameters
from translate.gan.weights import (
    WeightsError,
    build,
    config_for,
    load_reference_weights,
    load_state_dict_file,
    suggest_architectures,
)


def _options(ctor: dict) -> tuple[str, dict]:
    c = dict(ctor)
    arch = c.pop("netG", None) or c.pop("netD")
    kw = {"input_nc": c["input_nc"], "norm": c["norm"]}
    if "ngf" in c:
        kw.update(output_nc=c["output_nc"], ngf=c["ngf"], dropout=c["use_dropout"])
    else:
        kw["ndf"] = c["ndf"]
    if "n_layers_D" in c:
        kw["n_layers"] = c["n_layers_D"]
    return arch, kw


def _layouts(reference_dir):
    return json.loads((reference_dir / "state_dict_layouts.json").read_text())


def _golden(reference_dir):
    manifest = json.loads((reference_dir / "golden_manifest.json").read_text())
    return [
        (name, f, entry)
        for name, entry in manifest.items()
        for f in entry["files"]
        if f.endswith(".pth")
    ]


def test_published_layouts_and_parameter_counts(reference_dir):
    layouts = _layouts(reference_dir)
    assert len(layouts) >= 8
    for name, entry in layouts.items():
        arch, kw = _options(entry["reference_constructor"])
        with torch.device("meta"):
            net = build(config_for(arch, **kw), init=None)
        ours = [[k, list(v.shape)] for k, v in net.state_dict().items()]
        assert ours == entry["state_dict"], name
        assert count_parameters(net) == entry["params"], name


def test_known_parameter_counts(reference_dir):
    expected = {
        "G_resnet_9blocks_ngf64_instance": 11_378_179,
        "G_unet_256_ngf64_batch_dropout": 54_413_955,
        "D_basic_in6_ndf64_batch": 2_768_705,
        "D_basic_in3_ndf64_instance": 2_764_737,
    }
    layouts = _layouts(reference_dir)
    for name, n in expected.items():
        assert layouts[name]["params"] == n


def test_golden_outputs(reference_dir):
    cases = _golden(reference_dir)
    assert any("legacy" in f for _, f, _ in cases)
    for name, fname, entry in cases:
        arch, kw = _options(entry["reference_constructor"])
        net = load_reference_weights(reference_dir / fname, arch, **kw)
        assert not net.training
        x = torch.from_numpy(np.load(reference_dir / f"{name}.input.npy"))
        expected = np.load(reference_dir / f"{name}.output.npy")
        with torch.no_grad():
            out = net(x).numpy()
        assert out.shape == tuple(entry["output_shape"])
        assert np.abs(out - expected).max() <= 1e-5, fname


def test_legacy_dataparallel_file_equals_plain(reference_dir):
    plain = load_reference_weights(
        reference_dir / "G_resnet_9blocks_ngf8_instance.pth", "resnet_9blocks", ngf=8
    )
    legacy = load_reference_weights(
        reference_dir / "G_resnet_9blocks_ngf8_instance.legacy_dataparallel.pth",
        "resnet_9blocks",
        ngf=8,
    )
    for (k, a), (_, b) in zip(plain.state_dict().items(), legacy.state_dict().items(), strict=True):
        assert torch.equal(a, b), k


def test_mismatch_names_keys_and_suggests_architecture(reference_dir):
    path = reference_dir / "G_unet_128_ngf8_instance.pth"
    with pytest.raises(WeightsError) as err:
        load_reference_weights(path, "unet_256", ngf=8, norm="instance")
    msg = str(err.value)
    assert str(path) in msg and "missing keys" in msg and "unexpected keys" in msg
    assert "matches: --arch unet_128 --norm instance --ngf 8" in msg
    with pytest.raises(
        WeightsError,
        match="(?s)shape mismatches.*matches: --arch resnet_9blocks --norm instance --ngf 8",
    ):
        load_reference_weights(
            reference_dir / "G_resnet_9blocks_ngf8_instance.pth", "resnet_9blocks", ngf=16
        )


def test_suggestions_identify_every_golden_file(reference_dir):
    for _name, fname, entry in _golden(reference_dir):
        arch, kw = _options(entry["reference_constructor"])
        fits = suggest_architectures(load_state_dict_file(reference_dir / fname))
        assert any(c.arch == arch and c.norm == kw["norm"] for c in fits), fname


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned-by-pickle",))


def test_code_executing_pickle_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth"
    torch.save({"model.1.weight": torch.zeros(1), "payload": _Evil()}, path)
    with pytest.raises(WeightsError, match="refused to load"):
        load_reference_weights(path, "resnet_9blocks", ngf=8)
    raw = tmp_path / "raw.pth"
    raw.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(WeightsError, match="evil.pth|raw.pth"):
        load_state_dict_file(raw)
    assert not (tmp_path / "pwned-by-pickle").exists()


def test_unreadable_and_missing_files(tmp_path):
    bad = tmp_path / "garbage.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="garbage.pth: not a readable PyTorch weight file"):
        load_state_dict_file(bad)
    with pytest.raises(WeightsError, match="no such weight file"):
        load_state_dict_file(tmp_path / "absent.pth")
    with pytest.raises(ValueError, match="unknown architecture 'unet_512'"):
        load_reference_weights(bad, "unet_512")


def test_safetensors_round_trip(tmp_path, reference_dir):
    from safetensors.torch import save_file

    net = load_reference_weights(
        reference_dir / "D_pixel_in6_ndf8_batch.pth", "pixel", input_nc=6, ndf=8, norm="batch"
    )
    path = tmp_path / "d.safetensors"
    save_file(net.state_dict(), str(path))
    again = load_reference_weights(path, "pixel", input_nc=6, ndf=8, norm="batch")
    x = torch.randn(1, 6, 8, 8)
    assert torch.equal(net(x), again(x))


def test_cli_inspect(reference_dir, capsys):
    from translate.cli import main

    assert main(["inspect", str(reference_dir / "G_unet_256_ngf8_batch_dropout.pth")]) == 0
    assert "--arch unet_256 --norm batch --ngf 8" in capsys.readouterr().out
    rc = main(["inspect", str(reference_dir / "D_basic_in3_ndf8_instance.pth"), "--arch", "pixel"])
    assert rc == 2
    assert "--arch basic --norm instance --ndf 8" in capsys.readouterr().err

"""The architecture registries: every registered network builds, runs, trains and refuses bad
input with a clear message."""

import pytest
import torch

from translate.gan.nets import (
    count_parameters,
    create_discriminator,
    create_generator,
    init_weights,
    list_discriminators,
    list_generators,
)

SIDE = {"resnet_9blocks": 32, "resnet_6blocks": 32, "unet_256": 256, "unet_128": 128}


@pytest.mark.parametrize("arch", list_generators())
@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_generator_forward_backward(arch, norm):
    g = create_generator(arch=arch, ngf=4, norm=norm, input_nc=1, output_nc=3, dropout=True)
    x = torch.rand(2, 1, SIDE[arch], SIDE[arch]) * 2 - 1
    y = g(x)
    assert y.shape == (2, 3, SIDE[arch], SIDE[arch])
    assert torch.isfinite(y).all() and y.abs().max() <= 1
    y.square().mean().backward()
    for name, p in g.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"{name} got a zero gradient"


@pytest.mark.parametrize("arch", list_discriminators())
@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_discriminator_forward_backward(arch, norm):
    d = create_discriminator(arch=arch, ndf=4, norm=norm, input_nc=6, n_layers=2)
    x = torch.randn(2, 6, 64, 64)
    y = d(x)
    assert y.dim() == 4 and y.shape[:2] == (2, 1)
    y.mean().backward()
    for name, p in d.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_patchgan_receptive_field_sizes():
    d = create_discriminator(arch="basic", ndf=4, input_nc=3)
    assert d(torch.randn(1, 3, 256, 256)).shape == (1, 1, 30, 30)
    assert create_discriminator(arch="pixel", ndf=4)(torch.randn(1, 3, 20, 24)).shape == (
        1,
        1,
        20,
        24,
    )


def test_n_layers_depth_changes_size():
    shallow = create_discriminator(arch="n_layers", n_layers=1, ndf=4)
    deep = create_discriminator(arch="n_layers", n_layers=5, ndf=4)
    assert count_parameters(deep) > count_parameters(shallow)


@pytest.mark.parametrize("init", ["normal", "xavier", "kaiming", "orthogonal"])
def test_init_schemes(init):
    g = create_generator(arch="resnet_6blocks", ngf=8, init=init)
    w = g.model[1].weight
    assert torch.isfinite(w).all() and w.std() > 0
    if init == "normal":
        assert abs(w.std().item() - 0.02) < 0.005
    assert g.model[1].bias.abs().sum() == 0


def test_bad_names_are_value_errors():
    with pytest.raises(ValueError, match="unknown generator 'resnet_7blocks'.*resnet_9blocks"):
        create_generator(arch="resnet_7blocks")
    with pytest.raises(ValueError, match="unknown discriminator"):
        create_discriminator(arch="huge")
    with pytest.raises(ValueError, match="unknown norm 'group'"):
        create_generator(norm="group")
    with pytest.raises(ValueError, match="unknown init"):
        init_weights(create_generator(ngf=4), "uniform")
    with pytest.raises(ValueError, match="ngf must be a positive integer"):
        create_generator(ngf=0)


@pytest.mark.parametrize(
    "arch,shape,message",
    [
        ("unet_256", (1, 3, 128, 256), "multiples of 256, got 128x256"),
        ("unet_128", (1, 3, 130, 128), "multiples of 128"),
        ("resnet_9blocks", (1, 3, 30, 32), "multiples of 4, got 30x32"),
        ("resnet_9blocks", (1, 1, 32, 32), "expects 3 input channel"),
        ("resnet_9blocks", (3, 32, 32), "NCHW"),
    ],
)
def test_impossible_inputs_are_value_errors(arch, shape, message):
    g = create_generator(arch=arch, ngf=4)
    with pytest.raises(ValueError, match=message):
        g(torch.zeros(shape))


def test_discriminator_wrong_channels():
    d = create_discriminator(arch="basic", input_nc=6, ndf=4)
    with pytest.raises(ValueError, match="6 channel"):
        d(torch.zeros(1, 3, 64, 64))


def test_config_travels_with_network():
    g = create_generator(arch="unet_128", ngf=8, norm="batch", dropout=True)
    again = create_generator(type(g.config).from_dict(g.config.to_dict()))
    assert again.config == g.config
    assert list(again.state_dict()) == list(g.state_dict())
    with pytest.raises(ValueError, match="unknown GeneratorConfig fields"):
        type(g.config).from_dict({"arch": "unet_128", "depth": 3})

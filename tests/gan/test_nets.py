"""The architecture registries: every registered network builds, runs, trains and refuses bad
input with a clear message."""

import pytest
import torch
import torch.nn.functional as F

from translate.eval.checkerboard import checkerboard_score
from translate.gan.nets import (
    UPSAMPLES,
    count_parameters,
    create_discriminator,
    create_generator,
    init_weights,
    list_discriminators,
    list_generators,
    min_input_size,
)

SIDE = {"resnet_9blocks": 32, "resnet_6blocks": 32, "unet_256": 256, "unet_128": 128}
SIDE |= {f"{arch}_up": side for arch, side in SIDE.items()}
RESIZE_CONV = [arch for arch in list_generators() if arch.endswith("_up")]


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


@pytest.mark.parametrize("arch", RESIZE_CONV)
@pytest.mark.parametrize("upsample", UPSAMPLES)
@pytest.mark.parametrize("antialias", [False, True])
def test_resize_conv_generators_keep_size_down_to_their_minimum(arch, upsample, antialias):
    g = create_generator(arch=arch, ngf=4, upsample=upsample, antialias=antialias)
    m, least = g.size_multiple, min_input_size(g)
    assert least == (8 if arch.startswith("resnet") else m)  # as the reference architectures
    for h, w in ((least, least), (least + m, least + 2 * m)):
        assert g(torch.rand(1, 3, h, w) * 2 - 1).shape == (1, 3, h, w)
    if least > m:
        with pytest.raises(ValueError, match=f"at least {least}"):
            g(torch.zeros(1, 3, least - m, least))
    if antialias:  # a different layout from the plain one: no checkpoint loads into the other
        assert list(g.state_dict()) != list(create_generator(arch=arch, ngf=4).state_dict())


@pytest.mark.parametrize("arch,side", [("resnet_6blocks", 64), ("unet_128", 128)])
def test_resize_conv_has_no_checkerboard_at_init(arch, side, seed, one_thread):
    """The point of the *_up generators: untrained, the ConvTranspose decoder already prints a
    grid (spectral peaks at the 2- and 4-pixel periods of its output on noise), the resize-conv
    one none (score about 0, as for real photos)."""
    torch.manual_seed(seed)
    x = torch.rand(4, 3, side, side) * 2 - 1
    scores = {}
    for name in (arch, f"{arch}_up"):
        with torch.no_grad():
            y = create_generator(arch=name, ngf=8)(x)
        scores[name] = checkerboard_score(list(y.numpy())).score
    assert scores[f"{arch}_up"] < 0.15, scores
    assert scores[arch] > 0.4, scores


def test_bilinear_upsampling_is_cuts_blur_upsampling():
    """So ``upsample=bilinear`` is CUT's [1, 3, 3, 1] blur upsampling (replicate-padded
    transposed blur), borders included."""
    x = torch.randn(2, 3, 5, 7)
    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    kernel = (torch.outer(f, f) / 16).expand(3, 1, 4, 4)
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
    cut = F.conv_transpose2d(padded, kernel, stride=2, padding=2, groups=3)[:, :, 1:-1, 1:-1]
    bilinear = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(cut, bilinear)


def test_resize_options_belong_to_the_up_generators():
    with pytest.raises(ValueError, match="resnet_9blocks keeps the reference's"):
        create_generator(arch="resnet_9blocks", antialias=True)
    with pytest.raises(ValueError, match="use unet_256_up"):
        create_generator(arch="unet_256", upsample="bilinear")
    with pytest.raises(ValueError, match="unknown upsample 'bicubic'"):
        create_generator(arch="unet_256_up", upsample="bicubic")


def test_spectral_norm_bounds_every_discriminator_conv(seed):
    torch.manual_seed(seed)
    d = create_discriminator(arch="basic", ndf=8, spectral_norm=True)
    for _ in range(20):  # power iterations converge over training forwards
        d(torch.randn(2, 3, 64, 64))
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 5
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert sigma == pytest.approx(1.0, abs=0.05)
    again = create_discriminator(d.config)
    again.load_state_dict(d.state_dict())  # strict: the parametrization's state travels
    d.eval(), again.eval()
    x = torch.randn(1, 3, 64, 64)
    torch.testing.assert_close(again(x), d(x))

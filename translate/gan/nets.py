"""Generators and discriminators of pix2pix/CycleGAN, with the reference's names and layouts.

Module structure and attribute names follow the reference implementation exactly (``model.10.
conv_block.1.weight``, ``model.model.1.model.3...``), so official model-zoo state dicts load with
``strict=True``. Architectures live in two small registries; everything that needs a network (the
trainers, export, tests) builds it by name through :func:`create_generator` /
:func:`create_discriminator` from a config dataclass that travels with the weights.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

import torch
from torch import nn

from ..errors import ConfigError

NORMS = ("batch", "instance", "none")
INITS = ("normal", "xavier", "kaiming", "orthogonal")
UPSAMPLES = ("nearest", "bilinear")

GENERATORS: dict[str, Callable[..., nn.Module]] = {}
DISCRIMINATORS: dict[str, Callable[..., nn.Module]] = {}


def register_generator(name: str):
    def wrap(fn):
        GENERATORS[name] = fn
        return fn

    return wrap


def register_discriminator(name: str):
    def wrap(fn):
        DISCRIMINATORS[name] = fn
        return fn

    return wrap


def list_generators() -> list[str]:
    return sorted(GENERATORS)


def list_discriminators() -> list[str]:
    return sorted(DISCRIMINATORS)


# --------------------------------------------------------------------------------------------
# Configs: what is needed to rebuild a network, stored beside its weights.


def _from_dict(cls, d: dict):
    known = {f.name for f in fields(cls)}
    unknown = set(d) - known
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    return cls(**d)


# One `translate train --norm` sets both networks' norm.
_NORM = {"help": "normalisation in both networks", "choices": NORMS}


@dataclass
class GeneratorConfig:
    """Generator architecture. Defaults are CycleGAN's published ones (pix2pix: unet_256, batch,
    dropout on)."""

    arch: str = field(
        default="resnet_9blocks",
        metadata={"help": "generator architecture", "choices": list_generators},
    )
    input_nc: int = field(
        default=3, metadata={"help": "channels of the generator's input", "choices": (1, 3)}
    )
    output_nc: int = field(
        default=3, metadata={"help": "channels of its output", "choices": (1, 3)}
    )
    ngf: int = field(default=64, metadata={"help": "generator filters in the first layer"})
    norm: str = field(default="instance", metadata=_NORM)
    dropout: bool = field(default=False, metadata={"help": "dropout in the generator"})
    upsample: str = field(
        default="nearest",
        metadata={
            "help": "the *_up generators' resize before each decoder conv (bilinear is CUT's "
            "[1,3,3,1] blur)",
            "choices": UPSAMPLES,
        },
    )
    antialias: bool = field(
        default=False,
        metadata={"help": "blur-pool downsampling in the *_up generators' encoders"},
    )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GeneratorConfig:
        return _from_dict(cls, d)


@dataclass
class DiscriminatorConfig:
    """PatchGAN discriminator. ``basic`` is the 70x70 PatchGAN (``n_layers`` with 3 layers)."""

    arch: str = field(
        default="basic",
        metadata={
            "help": "discriminator: basic (70x70 PatchGAN), n_layers, pixel (1x1)",
            "flag": "--netd",
            "choices": list_discriminators,
        },
    )
    input_nc: int = 3  # derived by the trainer
    ndf: int = field(default=64, metadata={"help": "discriminator filters in the first layer"})
    n_layers: int = field(
        default=3, metadata={"help": "depth of the n_layers PatchGAN", "flag": "--n-layers-d"}
    )
    norm: str = field(default="instance", metadata=_NORM)
    spectral_norm: bool = field(
        default=False,
        metadata={"help": "spectral normalisation of the discriminator's convolutions"},
    )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> DiscriminatorConfig:
        return _from_dict(cls, d)


# --------------------------------------------------------------------------------------------
# Building blocks


def norm_layer(norm: str) -> Callable[[int], nn.Module]:
    """Norm factory as the reference defines it: batch norm is affine with running stats, instance
    norm has neither, ``none`` is the identity."""
    if norm == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if norm == "none":
        return lambda _channels: nn.Identity()
    raise ConfigError(f"unknown norm {norm!r}; choose one of {', '.join(NORMS)}")


def _conv_bias(norm: str) -> bool:
    # The reference gives convolutions a bias only before instance norm (batch norm has its own
    # shift; with norm 'none' the reference also omits it, and compatibility wins).
    return norm == "instance"


def _check_positive(**values: int) -> None:
    for name, v in values.items():
        if not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")


class _SizedGenerator(nn.Module):
    """Base for generators: knows the size multiple its input sides must have and checks inputs
    before they reach a convolution, so users see the constraint instead of a shape error."""

    size_multiple: int = 1
    input_nc: int = 3

    def check_input(self, x: torch.Tensor) -> None:
        if torch.compiler.is_compiling() or torch.onnx.is_in_onnx_export():
            return
        if x.dim() != 4:
            raise ValueError(
                f"expected an NCHW batch (4 dimensions), got a tensor of shape {tuple(x.shape)}"
            )
        if x.shape[1] != self.input_nc:
            raise ValueError(
                f"{type(self).__name__} expects {self.input_nc} input channel(s), "
                f"got {x.shape[1]} (shape {tuple(x.shape)})"
            )
        h, w = x.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:
            raise ValueError(
                f"{self.arch} needs image sides that are multiples of {m}, got {h}x{w}; "
                f"pad or resize the input (translate.Translator does this for you)"
            )
        least = min_input_size(self)
        if min(h, w) < least:
            raise ValueError(
                f"{self.arch} needs image sides of at least {least}, got {h}x{w} (its reflect "
                f"pads need more pixels than they add); pad the input (translate.Translator does "
                f"this for you)"
            )


def min_input_size(net: nn.Module) -> int:
    """The smallest input side ``net`` accepts, a multiple of its ``size_multiple``: a reflect
    pad of p pixels at 1/s of the input's resolution needs more than p pixels there, so an input
    side of s * (p + 1) (a ResNet's residual blocks: 4 * 2). Read off the layers in the order the
    forward pass meets them, which is their registration order in these architectures."""
    scale, least = 1.0, 1.0
    for layer in net.modules():
        if isinstance(layer, nn.Conv2d):
            scale *= layer.stride[0]
        elif isinstance(layer, nn.ConvTranspose2d):
            scale /= layer.stride[0]
        elif isinstance(layer, nn.Upsample):
            scale /= layer.scale_factor
        elif isinstance(layer, nn.ReflectionPad2d):
            least = max(least, scale * (max(layer.padding) + 1))
        elif isinstance(layer, BlurPool):  # reflect pad 1, then its stride
            least, scale = max(least, scale * 2), scale * BlurPool.stride
    m = int(getattr(net, "size_multiple", 1))
    return math.ceil(least / m) * m


class BlurPool(nn.Module):
    """Anti-aliased stride-2 downsampling (Zhang 2019, as CUT does it): a fixed [1, 2, 1]
    binomial low-pass per channel, reflect-padded, then every second pixel, so the encoder does
    not alias fine texture into the coarse features the decoder sees."""

    stride = 2

    def __init__(self, channels: int):
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        k = torch.outer(k, k) / 16
        self.register_buffer("kernel", k.expand(channels, 1, 3, 3).clone(), persistent=False)

    def forward(self, x):
        x = nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
        return nn.functional.conv2d(x, self.kernel, stride=self.stride, groups=x.shape[1])


def _resize_conv(in_nc: int, out_nc: int, mode: str, bias: bool) -> list[nn.Module]:
    """x2 upsampling without checkerboard (Odena, Dumoulin and Olah 2016): resize, then a
    stride-1 3x3 convolution, so every output pixel gets the same number of kernel taps (a
    stride-2 ConvTranspose2d gives odd and even pixels different ones, a grid even at random
    init). Bilinear x2 (half-pixel) equals CUT's [1, 3, 3, 1] blur upsampling."""
    resize = nn.Upsample(
        scale_factor=2, mode=mode, **({} if mode == "nearest" else {"align_corners": False})
    )
    return [resize, nn.ReflectionPad2d(1), nn.Conv2d(in_nc, out_nc, 3, padding=0, bias=bias)]


def _strided_conv(in_nc: int, out_nc: int, k: int, bias: bool, antialias: bool) -> list[nn.Module]:
    """The reference's stride-2 convolution, or with ``antialias`` a stride-1 3x3 one followed by
    :class:`BlurPool`."""
    if antialias:
        return [nn.Conv2d(in_nc, out_nc, 3, padding=1, bias=bias), BlurPool(out_nc)]
    return [nn.Conv2d(in_nc, out_nc, k, stride=2, padding=1, bias=bias)]


class ResnetBlock(nn.Module):
    def __init__(self, dim: int, norm: str, dropout: bool):
        super().__init__()
        bias = _conv_bias(norm)
        make_norm = norm_layer(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3, padding=0, bias=bias),
            make_norm(dim),
            nn.ReLU(True),
        ]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3, padding=0, bias=bias),
            make_norm(dim),
        ]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(_SizedGenerator):
    """ResNet encoder/decoder (Johnson et al.): 7x7 stem, two stride-2 downsamplings, residual
    blocks, two transposed-conv upsamplings, tanh output in [-1, 1]. With ``upsample``
    (``nearest`` or ``bilinear``) the decoder resizes and convolves instead (:func:`_resize_conv`;
    the ``*_up`` architectures), optionally with :class:`BlurPool` downsampling (``antialias``);
    ``upsample=None`` is the reference layout, which official checkpoints load into. On the
    identity collapse reported after this swap, see the note above the ``*_up`` registry."""

    size_multiple = 4

    def __init__(
        self,
        input_nc=3,
        output_nc=3,
        ngf=64,
        norm="instance",
        dropout=False,
        n_blocks=9,
        upsample: str | None = None,
        antialias: bool = False,
    ):
        super().__init__()
        _check_positive(input_nc=input_nc, output_nc=output_nc, ngf=ngf, n_blocks=n_blocks)
        suffix = "" if upsample is None else "_up"
        self.arch, self.input_nc = f"resnet_{n_blocks}blocks{suffix}", input_nc
        bias = _conv_bias(norm)
        make_norm = norm_layer(norm)
        model: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(input_nc, ngf, 7, padding=0, bias=bias),
            make_norm(ngf),
            nn.ReLU(True),
        ]
        for i in range(2):
            mult = 2**i
            if antialias:  # CUT's order: conv, norm, ReLU, then the blurred stride
                model += [
                    nn.Conv2d(ngf * mult, ngf * mult * 2, 3, padding=1, bias=bias),
                    make_norm(ngf * mult * 2),
                    nn.ReLU(True),
                    BlurPool(ngf * mult * 2),
                ]
                continue
            model += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=bias),
                make_norm(ngf * mult * 2),
                nn.ReLU(True),
            ]
        model += [ResnetBlock(ngf * 4, norm, dropout) for _ in range(n_blocks)]
        for i in range(2):
            mult = 2 ** (2 - i)
            if upsample is None:
                up = [
                    nn.ConvTranspose2d(
                        ngf * mult, ngf * mult // 2, 3, 2, padding=1, output_padding=1, bias=bias
                    )
                ]
            else:
                up = _resize_conv(ngf * mult, ngf * mult // 2, upsample, bias)
            model += [*up, make_norm(ngf * mult // 2), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        self.check_input(x)
        return self.model(x)


class UnetSkipConnectionBlock(nn.Module):
    """One level of the U-Net: downsample, the inner submodule, upsample, concatenated with the
    level's input (the skip connection) except at the outermost level."""

    def __init__(
        self,
        outer_nc,
        inner_nc,
        input_nc=None,
        submodule=None,
        outermost=False,
        innermost=False,
        norm="batch",
        dropout=False,
        upsample: str | None = None,
        antialias: bool = False,
    ):
        super().__init__()
        self.outermost = outermost
        bias = _conv_bias(norm)
        make_norm = norm_layer(norm)
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = _strided_conv(input_nc, inner_nc, 4, bias, antialias)
        downrelu = nn.LeakyReLU(0.2, True)
        uprelu = nn.ReLU(True)

        def upconv(in_nc: int, bias: bool) -> list[nn.Module]:
            if upsample is None:
                return [nn.ConvTranspose2d(in_nc, outer_nc, 4, stride=2, padding=1, bias=bias)]
            return _resize_conv(in_nc, outer_nc, upsample, bias)

        if outermost:
            model = [*downconv, submodule, uprelu, *upconv(inner_nc * 2, True), nn.Tanh()]
        elif innermost:
            model = [downrelu, *downconv, uprelu, *upconv(inner_nc, bias), make_norm(outer_nc)]
        else:
            model = [downrelu, *downconv, make_norm(inner_nc), submodule]
            model += [uprelu, *upconv(inner_nc * 2, bias), make_norm(outer_nc)]
            if dropout:
                model.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*model)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(_SizedGenerator):
    """U-Net with ``num_downs`` stride-2 levels: an input side of 2**num_downs reaches 1x1 at the
    bottleneck, so sides must be multiples of 2**num_downs. ``upsample`` and ``antialias`` as in
    :class:`ResnetGenerator`."""

    def __init__(
        self,
        input_nc=3,
        output_nc=3,
        num_downs=8,
        ngf=64,
        norm="batch",
        dropout=False,
        upsample: str | None = None,
        antialias: bool = False,
    ):
        super().__init__()
        _check_positive(input_nc=input_nc, output_nc=output_nc, ngf=ngf)
        if num_downs < 5:
            raise ValueError(f"a U-Net needs num_downs >= 5, got {num_downs}")
        suffix = "" if upsample is None else "_up"
        self.arch, self.input_nc = f"unet_{2**num_downs}{suffix}", input_nc
        self.size_multiple = 2**num_downs
        level = functools.partial(
            UnetSkipConnectionBlock, norm=norm, upsample=upsample, antialias=antialias
        )
        block = level(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            block = level(ngf * 8, ngf * 8, submodule=block, dropout=dropout)
        block = level(ngf * 4, ngf * 8, submodule=block)
        block = level(ngf * 2, ngf * 4, submodule=block)
        block = level(ngf, ngf * 2, submodule=block)
        self.model = level(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True)

    def forward(self, x):
        self.check_input(x)
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """PatchGAN: a fully convolutional classifier whose every output logit judges one patch
    (70x70 pixels for n_layers=3)."""

    def __init__(self, input_nc=3, ndf=64, n_layers=3, norm="batch"):
        super().__init__()
        _check_positive(input_nc=input_nc, ndf=ndf, n_layers=n_layers)
        self.input_nc = input_nc
        bias = _conv_bias(norm)
        make_norm = norm_layer(norm)
        seq: list[nn.Module] = [
            nn.Conv2d(input_nc, ndf, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
        ]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2**n, 8)
            seq += [
                nn.Conv2d(ndf * prev, ndf * mult, 4, stride=2, padding=1, bias=bias),
                make_norm(ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        prev, mult = mult, min(2**n_layers, 8)
        seq += [
            nn.Conv2d(ndf * prev, ndf * mult, 4, stride=1, padding=1, bias=bias),
            make_norm(ndf * mult),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1),
        ]
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        _check_disc_input(self, x)
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN: judges every pixel on its own (colour statistics, no spatial structure)."""

    def __init__(self, input_nc=3, ndf=64, norm="batch"):
        super().__init__()
        _check_positive(input_nc=input_nc, ndf=ndf)
        self.input_nc = input_nc
        bias = _conv_bias(norm)
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 1, bias=bias),
            norm_layer(norm)(ndf * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 1, bias=bias),
        )

    def forward(self, x):
        _check_disc_input(self, x)
        return self.net(x)


def _check_disc_input(net: nn.Module, x: torch.Tensor) -> None:
    if torch.compiler.is_compiling() or torch.onnx.is_in_onnx_export():
        return
    if x.dim() != 4 or x.shape[1] != net.input_nc:
        raise ValueError(
            f"{type(net).__name__} expects an NCHW batch with {net.input_nc} channel(s), "
            f"got shape {tuple(x.shape)}"
        )


# --------------------------------------------------------------------------------------------
# Registries


@register_generator("resnet_9blocks")
def resnet_9blocks(**kw):
    return ResnetGenerator(n_blocks=9, **kw)


@register_generator("resnet_6blocks")
def resnet_6blocks(**kw):
    return ResnetGenerator(n_blocks=6, **kw)


@register_generator("unet_256")
def unet_256(**kw):
    return UnetGenerator(num_downs=8, **kw)


@register_generator("unet_128")
def unet_128(**kw):
    return UnetGenerator(num_downs=7, **kw)


# Resize-conv decoders (no checkerboard; ``GeneratorConfig.upsample`` / ``antialias``). Watch for
# identity collapse: the reference's tracker has a CycleGAN run that, after this very swap
# (upsample + 3x3 conv), ended with both generators returning their input after 100 epochs while
# D's loss fell from 1 to 0.2 (junyanz/pytorch-CycleGAN-and-pix2pix#924, unresolved). Identity
# satisfies the cycle and identity losses exactly, so once D wins G's adversarial gradient is all
# that pulls it away. What prevents it: a low identity loss (the maintainers' advice for
# identical outputs, #1080: 0.5 or less, 0 when the domains differ beyond colour), a D that
# cannot simply win (spectral norm, R1, hinge) and the reference's normal(0, 0.02) init, which
# starts G far from identity; never an identity-like init.
@register_generator("resnet_9blocks_up")
def resnet_9blocks_up(upsample="nearest", **kw):
    return ResnetGenerator(n_blocks=9, upsample=upsample, **kw)


@register_generator("resnet_6blocks_up")
def resnet_6blocks_up(upsample="nearest", **kw):
    return ResnetGenerator(n_blocks=6, upsample=upsample, **kw)


@register_generator("unet_256_up")
def unet_256_up(upsample="nearest", **kw):
    return UnetGenerator(num_downs=8, upsample=upsample, **kw)


@register_generator("unet_128_up")
def unet_128_up(upsample="nearest", **kw):
    return UnetGenerator(num_downs=7, upsample=upsample, **kw)


@register_discriminator("basic")
def basic_patchgan(n_layers=3, **kw):
    return NLayerDiscriminator(n_layers=3, **kw)  # the 70x70 PatchGAN: depth is fixed


@register_discriminator("n_layers")
def n_layers_patchgan(n_layers=3, **kw):
    return NLayerDiscriminator(n_layers=n_layers, **kw)


@register_discriminator("pixel")
def pixel_patchgan(n_layers=3, **kw):
    return PixelDiscriminator(**kw)


def _lookup(registry: dict, name: str, what: str):
    if name not in registry:
        raise ConfigError(f"unknown {what} {name!r}; choose one of {', '.join(sorted(registry))}")
    return registry[name]


def _check_norm(norm: str) -> None:
    if norm not in NORMS:
        raise ConfigError(f"unknown norm {norm!r}; choose one of {', '.join(NORMS)}")


def create_generator(
    cfg: GeneratorConfig | None = None,
    *,
    init: str | None = "normal",
    init_gain: float = 0.02,
    **kw,
) -> nn.Module:
    """Build a generator from a config (or keyword overrides of the default config), initialised
    like the reference (normal(0, 0.02)) unless ``init=None``."""
    cfg = GeneratorConfig(**{**(cfg.to_dict() if cfg else {}), **kw})
    ctor = _lookup(GENERATORS, cfg.arch, "generator")
    _check_norm(cfg.norm)
    resize = {}
    if cfg.upsample not in UPSAMPLES:
        raise ConfigError(
            f"unknown upsample {cfg.upsample!r}; choose one of {', '.join(UPSAMPLES)}"
        )
    if cfg.arch.endswith("_up"):
        resize = {"upsample": cfg.upsample, "antialias": cfg.antialias}
    elif cfg.antialias or cfg.upsample != GeneratorConfig.upsample:
        raise ConfigError(
            f"upsample and antialias choose the *_up generators' layers; {cfg.arch} keeps the "
            f"reference's (use {cfg.arch}_up)"
        )
    net = ctor(
        input_nc=cfg.input_nc,
        output_nc=cfg.output_nc,
        ngf=cfg.ngf,
        norm=cfg.norm,
        dropout=cfg.dropout,
        **resize,
    )
    net.config = cfg
    if init:
        init_weights(net, init, init_gain)
    return net


def create_discriminator(
    cfg: DiscriminatorConfig | None = None,
    *,
    init: str | None = "normal",
    init_gain: float = 0.02,
    **kw,
) -> nn.Module:
    """Build a discriminator from a config (or keyword overrides of the default config)."""
    cfg = DiscriminatorConfig(**{**(cfg.to_dict() if cfg else {}), **kw})
    ctor = _lookup(DISCRIMINATORS, cfg.arch, "discriminator")
    _check_norm(cfg.norm)
    net = ctor(input_nc=cfg.input_nc, ndf=cfg.ndf, n_layers=cfg.n_layers, norm=cfg.norm)
    net.config = cfg
    if init:
        init_weights(net, init, init_gain)
    if cfg.spectral_norm:
        apply_spectral_norm(net)
    return net


def apply_spectral_norm(net: nn.Module) -> nn.Module:
    """Divide every convolution's weight by its largest singular value (Miyato et al. 2018; one
    power iteration per training forward), which bounds D's Lipschitz constant without a
    penalty term. After init: the parametrization keeps the initialised weight as ``original``,
    and its state (``original``, ``_u``, ``_v``) is in the state dict, so checkpoints resume
    exactly."""
    from torch.nn.utils.parametrizations import spectral_norm

    for m in list(net.modules()):
        if isinstance(m, nn.Conv2d):
            spectral_norm(m)
    return net


@torch.no_grad()
def init_weights(net: nn.Module, init: str = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise conv/linear weights (biases to 0) and batch-norm scales ~ N(1, gain)."""
    if init not in INITS:
        raise ConfigError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    for m in net.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            if init == "normal":
                nn.init.normal_(m.weight, 0.0, gain)
            elif init == "xavier":
                nn.init.xavier_normal_(m.weight, gain=gain)
            elif init == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return net


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())

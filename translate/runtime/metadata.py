"""What an exported model says about itself (stored in the ONNX file's ``metadata_props``).

The app, the CLI and third-party code read pre- and post-processing from here, so a model file is
usable without any flag or side file. Every value is stored as a string; :class:`ModelMetadata`
converts to and from typed fields.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

from ..errors import ConfigError

TASKS = ("sketch-to-photo", "labels-to-photo", "season", "style", "general")


@dataclass
class ModelMetadata:
    task: str = "general"  # one of TASKS: which app tab lists the model
    direction: str = "AtoB"  # AtoB | BtoA, relative to the training data's A and B
    source_domain: str = "A"  # what the model takes, e.g. "summer", "edge sketch"
    target_domain: str = "B"  # what it produces, e.g. "winter", "photo"
    arch: str = "resnet_9blocks"
    norm: str = "instance"
    ngf: int = 64
    input_nc: int = 3
    output_nc: int = 3
    dropout: bool = False  # the generator has dropout layers (they only act in test_mode train)
    upsample: str = "nearest"  # the *_up generators' decoder resize (GeneratorConfig.upsample)
    antialias: bool = False  # the *_up generators' blur-pool downsampling
    value_range: tuple[float, float] = (-1.0, 1.0)  # input and output pixel range
    layout: str = "NCHW"
    channel_order: str = "RGB"  # "L" for single-channel models
    size_multiple: int = 4  # input sides must be multiples of this (the engine pads)
    min_size: int = 0  # smallest side the network accepts (the engine pads); 0: not recorded
    recommended_size: int = 256  # the side the model was trained at
    test_mode: str = "eval"  # eval: BatchNorm running stats, no dropout; train: the reference's
    precision: str = "fp32"  # fp32 | fp16 | int8
    model_type: str = "cyclegan"  # pix2pix | cyclegan | reference
    training_data: str = ""
    license_note: str = ""
    training_iterations: int = 0
    translate_version: str = ""
    description: str = ""
    input_name: str = "input"
    output_name: str = "output"
    extra: dict[str, str] = field(default_factory=dict)  # anything else, kept as-is

    def __post_init__(self):
        if self.task not in TASKS:
            raise ConfigError(f"unknown task {self.task!r}; choose one of {', '.join(TASKS)}")
        if self.direction not in ("AtoB", "BtoA"):
            raise ConfigError(f"direction must be AtoB or BtoA, got {self.direction!r}")

    def to_props(self) -> dict[str, str]:
        """String key/values for ``onnx.helper.set_model_props``."""
        props = {}
        for k, v in asdict(self).items():
            if k == "extra":
                continue
            if isinstance(v, tuple | list):
                props[k] = json.dumps(list(v))
            else:
                props[k] = str(v)
        props.update(self.extra)
        return props

    @classmethod
    def from_props(cls, props: dict[str, str]) -> ModelMetadata:
        typed = {}
        extra = {}
        known = {f.name: f for f in fields(cls)}
        defaults = cls()
        for k, v in props.items():
            if k not in known or k == "extra":
                extra[k] = v
                continue
            default = getattr(defaults, k)
            if isinstance(default, bool):
                typed[k] = v.lower() == "true"
            elif isinstance(default, int):
                typed[k] = int(v)
            elif isinstance(default, tuple):
                typed[k] = tuple(float(x) for x in json.loads(v))
            else:
                typed[k] = v
        return cls(**typed, extra=extra)

    @property
    def title(self) -> str:
        return f"{self.source_domain} -> {self.target_domain}"

"""The ``translate train`` flags, read off the config dataclasses' field metadata, so that each
flag's default, help and resume rule is written once, on the field it sets.

A field is a flag when its ``metadata`` has ``help``. Other keys:

- ``flag``: the flag when it is not ``--`` and the field name with dashes (``--netd``);
- ``choices``: the allowed values, or a function returning them (a registry filled later);
- ``resumable``: the field may change when a run continues with ``--resume``;
- ``derived_from``: a sibling field whose value decides the default (``None`` until then).

Fields of several configs may share a flag: ``--norm`` sets both networks' norm.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .config import TrainConfig


@dataclass(frozen=True)
class FlagSpec:
    flag: str  # e.g. "--lr-decay-epochs"
    paths: tuple[str, ...]  # the config fields it sets, e.g. ("schedule.step_epochs",)
    type: type  # int, float, str or bool
    nargs: int | None  # a fixed number of values (--betas B1 B2); None: one value
    choices: tuple | None
    help: str
    resumable: bool
    derived_from: str | None


def flag_specs(config: type = TrainConfig) -> list[FlagSpec]:
    """Every flag of the config tree, in field order."""
    specs: dict[str, FlagSpec] = {}
    for path, f, kind in _leaves(config):
        meta = f.metadata
        if "help" not in meta:
            continue
        base, nargs = _base_type(kind, path)
        choices = meta.get("choices")
        spec = FlagSpec(
            flag=meta.get("flag", "--" + f.name.replace("_", "-")),
            paths=(path,),
            type=base,
            nargs=nargs,
            choices=tuple(choices() if callable(choices) else choices) if choices else None,
            help=meta["help"],
            resumable=bool(meta.get("resumable", False)),
            derived_from=meta.get("derived_from"),
        )
        if spec.flag in specs:  # one flag for several fields: they must agree on the rest
            first = specs[spec.flag]
            if dataclasses.replace(first, paths=()) != dataclasses.replace(spec, paths=()):
                raise TypeError(f"{spec.flag}: {first.paths[0]} and {path} disagree")
            spec = dataclasses.replace(first, paths=first.paths + spec.paths)
        specs[spec.flag] = spec
    return list(specs.values())


def to_overrides(given: Iterable[tuple[FlagSpec, object]]) -> dict:
    """Nested config overrides (shaped like config.json) from (flag, value) pairs."""
    out: dict = {}
    for spec, value in given:
        for path in spec.paths:
            *parents, leaf = path.split(".")
            node = out
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
    return out


def shown_default(spec: FlagSpec, defaults: dict[str, TrainConfig]) -> str:
    """The default as ``--help`` shows it, from each model's default config: one value, or
    "X for pix2pix, Y for cyclegan" where they differ, or the objective's values."""
    if spec.derived_from:
        return _derived_default(spec, next(iter(defaults.values())))
    values = {model: _get(cfg, spec.paths[0]) for model, cfg in defaults.items()}
    if len({repr(v) for v in values.values()}) == 1:
        return _shown(next(iter(values.values())))
    return ", ".join(f"{_shown(v)} for {model}" for model, v in values.items())


def _derived_default(spec: FlagSpec, config: TrainConfig) -> str:
    """E.g. "the objective's: 1; 5 for wgan, wgangp": the value under every choice of the field
    that decides it, most common first."""
    *parents, name = spec.paths[0].split(".")
    owner = type(_get(config, ".".join(parents))) if parents else type(config)
    decider = next(f for f in dataclasses.fields(owner) if f.name == spec.derived_from)
    choices = decider.metadata["choices"]
    by_value: dict[str, list[str]] = {}
    for choice in choices() if callable(choices) else choices:
        value = getattr(owner(**{decider.name: choice}), name)
        by_value.setdefault(_shown(value), []).append(choice)
    usual = max(by_value, key=lambda v: len(by_value[v]))
    others = [f"{v} for {', '.join(c)}" for v, c in by_value.items() if v != usual]
    return "; ".join([f"the {decider.name}'s: {usual}", *others])


def _leaves(cls: type, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field, object]]:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            yield from _leaves(kind, f"{prefix}{f.name}.")
        else:
            yield prefix + f.name, f, kind


def _base_type(kind, path: str) -> tuple[type, int | None]:
    """(value type, number of values) of an annotation: ``int | None`` -> (int, None),
    ``tuple[float, float]`` -> (float, 2)."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        (kind,) = [a for a in typing.get_args(kind) if a is not type(None)]
    if typing.get_origin(kind) is tuple:
        args = set(typing.get_args(kind))
        if len(args) != 1:
            raise TypeError(f"{path}: a flag takes values of one type, not {kind}")
        return args.pop(), len(typing.get_args(kind))
    if kind not in (int, float, str, bool):
        raise TypeError(f"{path}: no flag for a field of type {kind}")
    return kind, None


def _get(config, path: str):
    for part in path.split("."):
        config = getattr(config, part)
    return config


def _shown(value) -> str:
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple | list):
        return " ".join(map(str, value))
    return str(value)

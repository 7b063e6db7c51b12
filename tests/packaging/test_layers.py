"""Imports only go downward through the layers (README, "Architecture"): a static check of every
import in translate/ and apps/, at module level and inside functions, so a torch-free layer
cannot start depending on a torch one by a lazy import in some corner."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Bottom to top; a layer may import itself and the layers below it.
ORDER = ("errors", "runtime", "gan", "eval", "training", "export", "cli")
MAY_IMPORT = {layer: set(ORDER[: i + 1]) for i, layer in enumerate(ORDER)}
# The app (apps/, shipped as translate.apps) runs on the runtime alone; the CLI serves it.
MAY_IMPORT["apps"] = {"errors", "runtime", "apps"}
MAY_IMPORT["cli"].add("apps")

# What ``from translate import NAME`` reaches (translate/__init__.py resolves these lazily).
ROOT_NAMES = {"__version__": "errors", "Translator": "runtime"}

# Upward imports by module name (a string, so the lower layer still loads without the higher
# one): each is a deliberate plug-in point, with its reason. A new one is a design decision.
PLUGINS = {
    ("translate.runtime.inference", "translate.export.sources"): (
        "the Translator runs PyTorch sources (training runs, checkpoints, nn.Modules) through "
        "export.sources, found at run time, so ONNX inference never needs torch"
    ),
}
IMPORT_BY_NAME = ("import_extra", "import_module")


@functools.cache
def modules() -> dict[str, Path]:
    """Module name -> file, for the package and the app it ships."""
    found = {}
    for folder, package in ((ROOT / "translate", "translate"), (ROOT / "apps", "translate.apps")):
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def layer_of(module: str) -> str | None:
    """The layer of a translate module; None for the package root (it may import anything, and
    what others import from it is looked up in ROOT_NAMES)."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] == "__main__":
        return None
    return parts[1]


def imported(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, module) for each translate module that ``module`` imports, anywhere in its body;
    ``from translate import NAME`` yields ``translate.NAME`` for submodules, ``translate:NAME``
    for attributes of the root."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            if base == "translate":
                known = modules()
                for a in node.names:
                    sub = f"translate.{a.name}"
                    found.append((node.lineno, sub if sub in known else f"translate:{a.name}"))
            else:
                found.append((node.lineno, base))
    return [(line, name) for line, name in found if name.split(".")[0].startswith("translate")]


def imported_by_name(path: Path) -> list[tuple[int, str]]:
    """(line, module) for ``import_extra("translate...")`` / ``import_module("translate...")``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        arg = node.args[0]
        if name in IMPORT_BY_NAME and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            if arg.value.startswith("translate"):
                found.append((node.lineno, arg.value))
    return found


def allowed(importer: str, target: str) -> bool:
    source = layer_of(importer)
    if source is None:
        return True
    if target.startswith("translate:"):
        name = target.partition(":")[2]
        return name in ROOT_NAMES and ROOT_NAMES[name] in MAY_IMPORT[source]
    layer = layer_of(target)
    return layer is not None and layer in MAY_IMPORT[source]


def test_every_module_belongs_to_a_layer():
    stray = [m for m in modules() if layer_of(m) is not None and layer_of(m) not in MAY_IMPORT]
    assert not stray, f"modules in no layer (add the layer here and in README): {stray}"


def test_imports_only_go_downward():
    wrong = []
    for module, path in modules().items():
        for line, target in imported(module, path):
            if not allowed(module, target):
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {module} imports {target}")
    assert not wrong, "upward imports:\n" + "\n".join(wrong)


def test_upward_imports_by_name_are_the_listed_plugins():
    seen, wrong = set(), []
    for module, path in modules().items():
        for line, target in imported_by_name(path):
            if allowed(module, target):
                continue
            seen.add((module, target))
            if (module, target) not in PLUGINS:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {module} loads {target}")
    assert not wrong, "upward imports by name, not in PLUGINS:\n" + "\n".join(wrong)
    assert seen == set(PLUGINS), f"PLUGINS lists plug-ins that are gone: {set(PLUGINS) - seen}"


@pytest.mark.parametrize(
    ("importer", "source", "target"),
    [
        ("translate.runtime.convert", "import translate.training.loop", "translate.training.loop"),
        ("translate.gan.nets", "from ..export import onnx", "translate.export"),
        ("translate.runtime.x", "from .. import Translator", "translate:Translator"),
        ("translate.apps.app", "from translate.gan.nets import x", "translate.gan.nets"),
    ],
)
def test_the_check_sees_upward_imports_anywhere(tmp_path, importer, source, target):
    """The check itself: an upward import inside a function is found and refused (the last
    two: the runtime may use the root's Translator; the app may not import gan)."""
    path = tmp_path / "mod.py"
    path.write_text(f"def f():\n    {source}\n")
    assert imported(importer, path) == [(2, target)]
    assert allowed(importer, target) == (target == "translate:Translator")


def test_the_plugin_check_sees_import_extra(tmp_path):
    path = tmp_path / "mod.py"
    path.write_text('def f():\n    return import_extra("translate.training.loop", "train", "x")\n')
    assert imported_by_name(path) == [(2, "translate.training.loop")]
    assert not allowed("translate.runtime.convert", "translate.training.loop")

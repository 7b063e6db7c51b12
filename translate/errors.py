"""The project's one error base. A :class:`TranslateError` is the user's to fix (a bad file, a
wrong flag, a missing extra): the CLI prints its message on one line and exits with status 2.
Anything else is a bug and keeps its traceback."""

from __future__ import annotations

import importlib


class TranslateError(Exception):
    """A problem with what the user asked for; the message says what and where."""


class ConfigError(TranslateError, ValueError):
    """A setting or argument that cannot work: a value out of range, an unknown name, an input or
    output path that does not fit. A ValueError too, for callers that validate values."""


class MissingExtra(TranslateError, ImportError):
    """A feature whose dependencies this install lacks; names the extra that brings them."""

    def __init__(self, extra: str, what: str):
        super().__init__(f"{what} needs the [{extra}] extra: pip install 'translate[{extra}]'")
        self.extra = extra


def import_extra(module: str, extra: str, what: str):
    """Import ``module`` (from a higher layer or an optional dependency), or raise
    :class:`MissingExtra` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if isinstance(e, MissingExtra):
            raise
        missing = getattr(e, "name", None) or ""
        if missing.startswith("translate"):
            raise  # our own import bug, not a missing dependency
        raise MissingExtra(extra, what) from e

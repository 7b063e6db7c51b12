"""The app's models: a fixed list built from ``models/`` at start-up, each loaded once on first
use and shared by every request, with a limit on how many requests run one model at a time.

Clients only ever send a model *name*; a name that is not in the list is refused, so no request
can make the server open a path of its choosing.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from translate.runtime.cards import CardError, ModelCard, card_path
from translate.runtime.catalog import list_models
from translate.runtime.metadata import ModelMetadata


class UnknownModelError(ValueError):
    """A request named a model that is not in the app's list."""


@dataclass(frozen=True)
class ModelChoice:
    name: str  # the file stem; what the dropdowns send
    path: Path
    meta: ModelMetadata
    card_text: str  # models/NAME.md as written, or "" when there is none
    card: ModelCard | None = None  # its parts; None without a card or if it does not parse

    @property
    def title(self) -> str:
        title = f"{self.meta.source_domain} → {self.meta.target_domain}"
        return title if self.meta.precision == "fp32" else f"{title} ({self.meta.precision})"

    def summary(self) -> str:
        """The short model card shown under the model picker (Markdown)."""
        m = self.meta
        kind = {"pix2pix": "pix2pix", "cyclegan": "CycleGAN"}.get(m.model_type, m.model_type)
        lines = [f"**{m.source_domain} → {m.target_domain}** · {kind} · {m.arch}, {m.norm} norm"]
        lines[0] += f", ngf {m.ngf} · {m.precision}"
        if m.description:
            lines.append(m.description)
        facts = []
        if m.training_data:
            trained = f"Trained on {m.training_data}"
            if m.training_iterations:
                trained += f" for {m.training_iterations:,} iterations"
            facts.append(trained + ".")
        facts.append(f"Works best at about {m.recommended_size} px.")
        if m.license_note:
            facts.append(f"Data licence: {m.license_note}")
        lines.append(" ".join(facts))
        limits = self.card.limits if self.card else ""
        if limits:
            lines.append(f"**Known limits.** {limits}")
        return "\n\n".join(lines)


class ModelPool:
    """The models an app serves: ``choices(tasks)`` for the pickers, ``use(name)`` to run one.

    Translators are created lazily (start-up stays fast with many models) and cached for the
    life of the app; ``concurrency`` requests may run the same model at once, others wait."""

    def __init__(
        self,
        models_dir: str | Path,
        *,
        concurrency: int = 1,
        backend: str = "auto",
        threads: int | None = None,
    ):
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.models_dir = Path(models_dir)
        self.concurrency = concurrency
        self.backend = backend
        self.threads = threads
        self.models: dict[str, ModelChoice] = {}
        self.problems: list[str] = []  # files that were skipped, with the reason
        for entry in list_models(self.models_dir, self.problems):
            try:
                meta = ModelMetadata.from_props(entry.metadata)
            except (ValueError, TypeError) as e:
                self.problems.append(f"{entry.path.name}: unusable metadata ({e})")
                continue
            card, text = None, ""
            found = card_path(entry.path)  # NAME.int8.onnx shares NAME.md with its fp32 model
            if found is not None:
                text = found.read_text(encoding="utf-8")
                try:
                    card = ModelCard.from_markdown(text, found)
                except CardError as e:  # still shown as written, without its parts
                    self.problems.append(str(e))
            self.models[entry.name] = ModelChoice(entry.name, entry.path, meta, text, card)
        self._translators: dict[str, object] = {}
        self._load_locks = {name: threading.Lock() for name in self.models}
        self._slots = {name: threading.BoundedSemaphore(concurrency) for name in self.models}

    def __len__(self) -> int:
        return len(self.models)

    def for_tasks(self, tasks: tuple[str, ...] | None = None) -> list[ModelChoice]:
        """Models whose metadata task is one of ``tasks`` (all models for None)."""
        return [m for m in self.models.values() if tasks is None or m.meta.task in tasks]

    def fitting(
        self, tasks: tuple[str, ...] | None = None, source_domain: str | None = None
    ) -> ModelChoice | None:
        """The model an input should run through: one whose task is in ``tasks`` (earlier tasks
        first) and, when given, whose metadata takes ``source_domain`` (case-insensitive); full
        precision before its int8 variant, then by name. None if no model fits."""
        fits = [
            m
            for m in self.for_tasks(tasks)
            if source_domain is None or m.meta.source_domain.casefold() == source_domain.casefold()
        ]
        order = {task: i for i, task in enumerate(tasks or ())}
        fits.sort(key=lambda m: (order.get(m.meta.task, 0), m.meta.precision != "fp32"))
        return fits[0] if fits else None

    def choices(self, tasks: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
        """(label, name) pairs: the label is the translation ("summer → winter"), with the file
        name added where two models would otherwise read the same."""
        models = self.for_tasks(tasks)
        titles = [m.title for m in models]
        return [
            (m.title if titles.count(m.title) == 1 else f"{m.title} · {m.name}", m.name)
            for m in models
        ]

    def get(self, name: str) -> ModelChoice:
        try:
            return self.models[name]
        except (KeyError, TypeError):
            raise UnknownModelError(f"unknown model {name!r}: pick one from the list") from None

    def translator(self, name: str):
        """The cached Translator for ``name``, created on first use."""
        choice = self.get(name)
        with self._load_locks[name]:
            if name not in self._translators:
                from translate.runtime.inference import Translator

                self._translators[name] = Translator(
                    choice.path, backend=self.backend, threads=self.threads
                )
            return self._translators[name]

    @contextlib.contextmanager
    def use(self, name: str) -> Iterator:
        """Hold one of the model's run slots while the block runs, yielding its Translator."""
        self.get(name)
        with self._slots[name]:
            yield self.translator(name)

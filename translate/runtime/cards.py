"""Model cards: ``models/NAME.md`` beside ``models/NAME.onnx``, what a person reads before using a
model (its data and licence, how it was trained, held-out figures, limits).

This module owns the format. ``translate release`` writes cards with it and the app reads the
parts it shows (the title, the limits under the model picker, the full text) with it, so the two
cannot drift apart. A card is::

    # TITLE

    LEAD (any Markdown)

    ![held-out samples](SHEET)

    | | |
    |---|---|
    | KEY | VALUE |

    ## SECTION

    BODY (any Markdown: ### subheadings and fenced code stay in the body)

Everything after the title is optional, so a hand-written card (a title and a ``## Limits``
section) is a card too. A ``|`` inside a table cell is written ``\\|``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TranslateError
from .atomic import atomic_write_text

SUFFIX = ".md"
SHEET_ALT = "held-out samples"
FACTS_HEAD = ("| | |", "|---|---|")

_IMAGE = re.compile(r"^!\[[^\]]*\]\(([^()\s]+)\)$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


class CardError(TranslateError, ValueError):
    """A card that does not follow the format; the message names the file and the line."""


@dataclass
class ModelCard:
    title: str  # the "# " heading, e.g. "summer2winter: summer -> winter"
    lead: str = ""  # Markdown between the title and the sample sheet
    sheet: str = ""  # the sample sheet image, relative to the card
    facts: dict[str, str] = field(default_factory=dict)  # the two-column table, in order
    sections: dict[str, str] = field(default_factory=dict)  # "## NAME" -> Markdown body

    def to_markdown(self) -> str:
        if not self.title.strip() or "\n" in self.title:
            raise CardError(f"a card's title must be one non-empty line, got {self.title!r}")
        blocks = [f"# {self.title}"]
        if self.lead.strip():
            blocks.append(_trim(self.lead))
        if self.sheet:
            blocks.append(f"![{SHEET_ALT}]({self.sheet})")
        if self.facts:
            rows = [f"| {_cell(k)} | {_cell(v)} |" for k, v in self.facts.items()]
            blocks.append("\n".join([*FACTS_HEAD, *rows]))
        for name, body in self.sections.items():
            if not name.strip() or "\n" in name:
                raise CardError(f"a section name must be one non-empty line, got {name!r}")
            blocks.append(f"## {name}")
            if body.strip():
                blocks.append(_trim(body))
        return "\n\n".join(blocks) + "\n"

    @classmethod
    def from_markdown(cls, text: str, source: str | Path = "model card") -> ModelCard:
        """Parse a card; ``source`` names it in errors."""
        lines = text.splitlines()
        headings = _headings(lines)
        first = next((i for i, line in enumerate(lines) if line.strip()), None)
        if first is None or headings.get(first, (0,))[0] != 1:
            raise CardError(f"{source}: a model card starts with a '# title' line")
        title = headings[first][1]
        later = [i for i in headings if i > first]
        for i in later:
            if headings[i][0] == 1:
                raise CardError(f"{source}, line {i + 1}: a second '# ' title (sections are '## ')")
        tops = [i for i in later if headings[i][0] == 2]
        end = tops[0] if tops else len(lines)
        lead, sheet, facts = _intro(lines[first + 1 : end], first + 1, source)
        sections: dict[str, str] = {}
        for k, start in enumerate(tops):
            name = headings[start][1]
            if name in sections:
                raise CardError(f"{source}, line {start + 1}: a second '## {name}' section")
            stop = tops[k + 1] if k + 1 < len(tops) else len(lines)
            sections[name] = _trim("\n".join(lines[start + 1 : stop]))
        return cls(title, lead, sheet, facts, sections)

    def section(self, word: str) -> str:
        """The body of the first section whose name contains ``word`` (case-insensitive); ""
        if there is none."""
        return next((b for n, b in self.sections.items() if word.lower() in n.lower()), "")

    @property
    def limits(self) -> str:
        """The Limits section as one paragraph (list markers dropped): the app shows it under
        the model picker."""
        lines = [line.strip().lstrip("-* ").strip() for line in self.section("limit").splitlines()]
        return " ".join(line for line in lines if line)


def read_card(path: str | Path) -> ModelCard:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CardError(f"{path}: cannot read the model card ({e})") from e
    return ModelCard.from_markdown(text, path)


def write_card(card: ModelCard, path: str | Path) -> Path:
    """Write ``card`` to ``path`` atomically (a reader sees the old card or the new one)."""
    return atomic_write_text(path, card.to_markdown())


def card_path(model: str | Path) -> Path | None:
    """The card of the model file ``model``: ``NAME.md`` beside it; a variant
    ``NAME.int8.onnx`` without a card of its own shares ``NAME.md``. None if there is none."""
    model = Path(model)
    for card in (model.with_suffix(SUFFIX), model.with_name(model.name.split(".")[0] + SUFFIX)):
        if card.is_file():
            return card
    return None


# --------------------------------------------------------------------------------------------


def _headings(lines: list[str]) -> dict[int, tuple[int, str]]:
    """line index -> (level, text) of the ATX headings outside fenced code blocks."""
    found, fence = {}, ""
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        marker = stripped[:3]
        if marker in ("```", "~~~"):
            if not fence:
                fence = marker
            elif marker == fence:
                fence = ""
            continue
        m = None if fence else re.match(r"^(#{1,6})\s+(.*?)(?:\s+#+)?\s*$", line)
        if m:
            found[i] = (len(m.group(1)), m.group(2))
    return found


def _intro(lines: list[str], offset: int, source) -> tuple[str, str, dict[str, str]]:
    """(lead, sheet, facts) of the lines between the title and the first section."""
    blocks: list[tuple[int, list[str]]] = []  # (index of the first line, lines)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if blocks and i > 0 and lines[i - 1].strip():
            blocks[-1][1].append(line)
        else:
            blocks.append((i, [line]))
    facts: dict[str, str] = {}
    table = next(
        (k for k, (_, b) in enumerate(blocks) if tuple(x.strip() for x in b[:2]) == FACTS_HEAD),
        None,
    )
    if table is not None:
        start, rows = blocks[table]
        if table != len(blocks) - 1:
            at = offset + blocks[table + 1][0] + 1
            raise CardError(
                f"{source}, line {at}: text after the facts table needs a '## ' heading"
            )
        for n, row in enumerate(rows[2:], start=offset + start + 3):
            cells = _CELL_SPLIT.split(row.strip())
            if len(cells) != 4 or cells[0] or cells[-1]:
                raise CardError(f"{source}, line {n}: a facts row is '| key | value |'")
            key, value = (c.strip().replace("\\|", "|") for c in cells[1:3])
            if key in facts:
                raise CardError(f"{source}, line {n}: a second {key!r} row")
            facts[key] = value
        blocks = blocks[:table]
    sheet = ""
    if blocks and len(blocks[-1][1]) == 1:
        m = _IMAGE.match(blocks[-1][1][0].strip())
        if m:
            sheet = m.group(1)
            blocks = blocks[:-1]
    if not blocks:
        return "", sheet, facts
    lead = _trim("\n".join(lines[blocks[0][0] : blocks[-1][0] + len(blocks[-1][1])]))
    return lead, sheet, facts


def _cell(value: str) -> str:
    if "\n" in value:
        raise CardError(f"a facts table cell must be one line, got {value!r}")
    return value.replace("|", "\\|")


def _trim(text: str) -> str:
    """``text`` without blank lines at the start and the end (indentation kept)."""
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)

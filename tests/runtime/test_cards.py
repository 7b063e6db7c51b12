"""Model cards (translate.runtime.cards): what `translate release` writes is what the app reads
back, hand-written cards are cards too, and a broken one is named with its line."""

from __future__ import annotations

import pytest

from translate.runtime.cards import CardError, ModelCard, card_path, read_card, write_card


def full_card() -> ModelCard:
    return ModelCard(
        title="summer2winter: summer -> winter",
        lead="**A small demo model**: not reference quality.\n\nSecond paragraph.",
        sheet="summer2winter.png",
        facts={
            "task": "`season` (Summer <-> winter)",
            "data": "500 sketch|photo pairs, `a|b` too",  # pipes inside cells
            "licence": "Tyleček & Šára 2013",
        },
        sections={
            "Validation": "| images | AUC |\n|---|---|\n| outputs | 0.936 |",
            "Limits": "- Colours, not objects.\n- Details are soft.",
            "Use": "```bash\n# a comment, not a heading\ntranslate convert m.onnx in/ out/\n```"
            "\n\n### Made by\n\nA subheading stays in its section.",
        },
    )


def test_a_written_card_reads_back_the_same(tmp_path):
    card = full_card()
    path = write_card(card, tmp_path / "summer2winter.md")
    back = read_card(path)
    assert back == card
    assert back.to_markdown() == path.read_text(encoding="utf-8")
    assert "sketch\\|photo" in path.read_text(encoding="utf-8")  # one cell in Markdown too
    assert back.limits == "Colours, not objects. Details are soft."  # what the app shows
    assert back.section("valid").startswith("| images")
    assert [p.name for p in tmp_path.iterdir()] == ["summer2winter.md"]  # no temporary file


@pytest.mark.parametrize(
    "text",
    [
        "# int8 card\n",
        "# summer2winter\n\n## Limits\n\nColours only.\n",
        "# t\n\n![held-out samples](t.png)\n",
        "# t\n\n| | |\n|---|---|\n| a | b |\n",
        "# t\n\nLead.\n\n## A\n\n## B\n\nbody\n",
    ],
)
def test_partial_cards_round_trip(text):
    card = ModelCard.from_markdown(text)
    assert card.to_markdown() == text
    assert ModelCard.from_markdown(card.to_markdown()) == card


def test_hand_written_cards_keep_what_they_say():
    card = ModelCard.from_markdown(
        "\n# horse2zebra\n\n![a zebra](z.png)\n\nMy own words.\n\n| x | y | z |\n|---|---|---|\n\n"
        "## Known limitations\n\n* only horses\n"
    )
    assert card.title == "horse2zebra" and card.sheet == ""  # the image is not the last block
    assert "![a zebra](z.png)" in card.lead and "| x | y | z |" in card.lead and not card.facts
    assert card.limits == "only horses"


@pytest.mark.parametrize(
    "text, problem",
    [
        ("no title\n\n## Limits\n", "starts with a '# title' line"),
        ("", "starts with a '# title' line"),
        ("# t\n\n| | |\n|---|---|\n| a | b | c |\n", "line 5: a facts row is"),
        ("# t\n\n| | |\n|---|---|\n| a | b |\n\nstray words\n", "line 7: text after the facts"),
        ("# t\n\n## Limits\n\na\n\n## Limits\n\nb\n", "line 7: a second '## Limits'"),
        ("# t\n\n# u\n", "line 3: a second '# ' title"),
    ],
)
def test_broken_cards_are_refused_naming_file_and_line(text, problem):
    with pytest.raises(CardError, match="^models/x.md") as e:
        ModelCard.from_markdown(text, "models/x.md")
    assert problem in str(e.value)


def test_cards_that_cannot_be_written_are_refused():
    with pytest.raises(CardError, match="one line"):
        ModelCard("t", facts={"a": "two\nlines"}).to_markdown()
    with pytest.raises(CardError, match="title"):
        ModelCard("").to_markdown()


def test_an_int8_variant_shares_its_models_card(tmp_path):
    for name in ("m.onnx", "m.int8.onnx", "m_int8.onnx"):
        (tmp_path / name).write_bytes(b"")
    assert card_path(tmp_path / "m.onnx") is None
    (tmp_path / "m.md").write_text("# m\n")
    assert card_path(tmp_path / "m.int8.onnx") == tmp_path / "m.md"
    assert card_path(tmp_path / "m_int8.onnx") is None  # another model, not a variant
    (tmp_path / "m.int8.md").write_text("# m int8\n")
    assert card_path(tmp_path / "m.int8.onnx") == tmp_path / "m.int8.md"

"""The review pages' light Markdown: runs keep every character (offsets), mark the markup."""

from __future__ import annotations

from autocoder.review.markdown import Marks, question_wordings

TEXT = (
    "# Verslag <b>T01</b>\n\n"
    "**Interviewer:** Vraag 5. Hoe werkt u samen met de partners?\n\n"
    "**Respondent:** We hebben **duidelijke** afspraken.\n"
    "- eerste punt\n"
    "- tweede punt\n\n"
    "33. Wat is het belangrijkste?\n\n"
    "Dat je elkaar kent. 2 * 3 is geen **vet\n"
)


def classes_of(text: str, start: int, end: int) -> dict[str, str]:
    return {piece: cls for piece, cls in Marks.of(text).runs(text, start, end)}


def test_runs_keep_every_character_in_order() -> None:
    marks = Marks.of(TEXT)
    assert "".join(piece for piece, _ in marks.runs(TEXT, 0, len(TEXT))) == TEXT
    start = TEXT.index("afspraken")
    assert (
        "".join(p for p, _ in marks.runs(TEXT, start - 4, start + 3)) == TEXT[start - 4 : start + 3]
    )


def test_headings_bold_and_items_are_marked_and_markup_hidden() -> None:
    runs = classes_of(TEXT, 0, len(TEXT))
    assert runs["# "] == "mk"
    assert runs["Verslag <b>T01</b>"] == "md-h md-h1"  # no HTML: it stays text
    assert runs["Interviewer:"] == "md-b" and runs["duidelijke"] == "md-b"
    assert runs["**"] == "mk"
    assert runs["- "] == "md-li"
    assert "2 * 3 is geen **vet\n" in "".join(p for p, c in runs.items() if not c)  # unclosed


def test_a_fragment_cutting_through_bold_keeps_its_part_bold() -> None:
    start = TEXT.index("duidelijke") + 3
    runs = Marks.of(TEXT).runs(TEXT, start, start + 12)
    assert runs == [("delijke", "md-b"), ("**", "mk"), (" af", "")]


def test_question_wording_from_the_report_lines() -> None:
    wordings = question_wordings(TEXT)
    assert wordings[5] == "Hoe werkt u samen met de partners?"
    assert wordings[33] == "Wat is het belangrijkste?"

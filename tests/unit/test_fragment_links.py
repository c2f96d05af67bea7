"""Linking the fragments of a report's old version to those of its new version."""

from __future__ import annotations

from autocoder.fragment_links import Carried, Link, link_fragments
from tests.conftest import sentence_report


def texts_to_fragments(*sentences: str, source: str = "a.txt") -> list:
    return sentence_report(" ".join(sentences), source)[1]


def test_unchanged_moved_changed_and_dropped() -> None:
    old = texts_to_fragments(
        "De lijnen zijn kort.",
        "Het budget schiet tekort.",
        "Het weer was erg mooi.",
        "Daarna werd koffie gedronken.",
    )
    new = texts_to_fragments(
        "Daarna werd koffie gedronken.",  # moved to the front
        "De lijnen zijn kort.",
        "Het weer was heel mooi.",  # one word changed
        "Een heel nieuwe zin over iets anders.",
    )
    links = {(k.old, k.new): k.same for k in link_fragments(old, new)}
    by_text = {f.text.strip(): f.id for f in old}
    new_by_text = {f.text.strip(): f.id for f in new}
    assert links[(by_text["De lijnen zijn kort."], new_by_text["De lijnen zijn kort."])] is True
    moved = (by_text["Daarna werd koffie gedronken."], new_by_text["Daarna werd koffie gedronken."])
    assert links[moved] is True
    changed = (by_text["Het weer was erg mooi."], new_by_text["Het weer was heel mooi."])
    assert links[changed] is False
    assert by_text["Het budget schiet tekort."] not in {old_id for old_id, _ in links}
    assert len(links) == 3


def test_counts_follow_the_links() -> None:
    links = [Link("a", "x", True), Link("b", "y", False)]
    counts = Carried.count(links, {"a": 2, "b": 1, "c": 1})
    assert (counts.carried, counts.reopened, counts.dropped) == (2, 1, 1)


def test_identical_texts_link_one_to_one() -> None:
    old = texts_to_fragments("Ja.", "Ja.", "Nee.")
    new = texts_to_fragments("Ja.", "Nee.")
    links = link_fragments(old, new)
    assert len({k.new for k in links}) == len(links) == 2

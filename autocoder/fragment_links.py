"""Which fragment of a report's new version continues which fragment of its old version.

Pure logic over Fragment records (no I/O). The fragment texts of both versions (white space
aside) are aligned with ``difflib.SequenceMatcher``: fragments in equal runs keep their text;
a fragment that left its place but whose text is found unchanged elsewhere has moved (same text);
in a replaced run each old fragment is paired with the most similar new one (changed), when
they are similar enough. An old fragment without a partner is gone (dropped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from autocoder.records import Fragment

SIMILAR = 0.6  # a changed fragment shares at least this share of its text with the old one
MAX_PAIRS = 40_000  # bigger replaced runs are paired by position, not compared pair by pair

__all__ = ["Carried", "Link", "link_fragments"]


@dataclass(frozen=True)
class Link:
    old: str  # fragment id in the old version
    new: str  # fragment id in the new version
    same: bool  # True: the same text (unchanged or moved); False: changed text


@dataclass
class Carried:
    """What a new version of a report's text did with the codings (a coder's current
    decision on a fragment) of the previous version."""

    carried: int = 0  # on unchanged (or moved) text: appended again on the new fragment
    reopened: int = 0  # on changed text: the new fragment is open, linked to the old one
    dropped: int = 0  # on text that is gone

    @classmethod
    def count(cls, links: Sequence[Link], decided: Mapping[str, int]) -> Carried:
        """The codings (``decided``: old fragment id -> number of codings) by their links."""
        linked = {link.old: link.same for link in links}
        counts = cls()
        for fragment_id, n in decided.items():
            if fragment_id not in linked:
                counts.dropped += n
            elif linked[fragment_id]:
                counts.carried += n
            else:
                counts.reopened += n
        return counts

    def add(self, other: Carried) -> None:
        self.carried += other.carried
        self.reopened += other.reopened
        self.dropped += other.dropped


def link_fragments(old: Sequence[Fragment], new: Sequence[Fragment]) -> list[Link]:
    """Links from ``old`` fragments to ``new`` ones, at most one per old and per new one."""
    matcher = SequenceMatcher(None, [_key(f) for f in old], [_key(f) for f in new], autojunk=False)
    links: list[Link] = []
    runs: list[tuple[list[Fragment], list[Fragment]]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            links += [Link(a.id, b.id, True) for a, b in zip(old[i1:i2], new[j1:j2], strict=True)]
        else:
            runs.append((list(old[i1:i2]), list(new[j1:j2])))
    links += _moved(runs)
    for old_run, new_run in runs:
        links += _changed(old_run, new_run)
    return links


def _moved(runs: list[tuple[list[Fragment], list[Fragment]]]) -> list[Link]:
    """Unchanged text found in another place; the fragments found are taken out of ``runs``."""
    waiting: dict[str, list[Fragment]] = {}
    for _, new_run in runs:
        for fragment in new_run:
            waiting.setdefault(_key(fragment), []).append(fragment)
    links: list[Link] = []
    taken: set[str] = set()
    for old_run, _ in runs:
        for fragment in old_run:
            if waiting.get(_key(fragment)):
                partner = waiting[_key(fragment)].pop(0)
                links.append(Link(fragment.id, partner.id, True))
                taken.update((fragment.id, partner.id))
    for old_run, new_run in runs:
        old_run[:] = [f for f in old_run if f.id not in taken]
        new_run[:] = [f for f in new_run if f.id not in taken]
    return links


def _changed(old_run: list[Fragment], new_run: list[Fragment]) -> list[Link]:
    if len(old_run) * len(new_run) > MAX_PAIRS:
        pairs = zip(old_run, new_run, strict=False)
        return [Link(a.id, b.id, False) for a, b in pairs if _similarity(a, b) >= SIMILAR]
    links: list[Link] = []
    free = list(new_run)
    for fragment in old_run:
        if not free:
            break
        scores = [_similarity(fragment, other) for other in free]
        best = max(range(len(free)), key=scores.__getitem__)  # the first of equals
        if scores[best] >= SIMILAR:
            links.append(Link(fragment.id, free.pop(best).id, False))
    return links


def _key(fragment: Fragment) -> str:
    """The text as compared: runs of white space count as one space (layout is not text)."""
    return " ".join(fragment.text.split())


def _similarity(a: Fragment, b: Fragment) -> float:
    matcher = SequenceMatcher(None, _key(a), _key(b), autojunk=False)
    if matcher.real_quick_ratio() < SIMILAR or matcher.quick_ratio() < SIMILAR:
        return 0.0
    return matcher.ratio()

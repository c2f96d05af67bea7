"""Priority per code, the matrix's last column. Pure.

A counted fragment gives its code priority when the person marked it
``priority: high`` or it answers one of the codebook's ``priority_questions``. Per code: the
respondents giving it priority (``n_respondents``, ``share`` of all respondents), the fragment
ids, a competition ``rank`` (1 = most respondents; ties share a rank) and a ``level``: "core"
when at least one respondent gives priority and the rank lies in the top ``core_top_fraction``
of the codes (ceil) or the share reaches ``core_share``; else "supporting".
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from autocoder.codebook import Codebook
from autocoder.matrix_model import Evidence, MatrixRules, PriorityEntry, strength_order


def priority_entries(
    evidence: Sequence[Evidence], codebook: Codebook, n_respondents: int, rules: MatrixRules
) -> tuple[PriorityEntry, ...]:
    questions = set(codebook.priority_questions)
    marked: dict[str, list[Evidence]] = defaultdict(list)
    for item in evidence:
        if item.priority or (item.question is not None and item.question in questions):
            marked[item.code].append(item)
    counts = {code: len({e.respondent for e in marked[code]}) for code in codebook.ids}
    top = math.ceil(len(codebook.ids) * rules.core_top_fraction)
    entries = []
    for code in codebook.ids:
        count = counts[code]
        rank = 1 + sum(1 for other in counts.values() if other > count)
        share = round(count / n_respondents, 4) if n_respondents else 0.0
        core = count > 0 and (rank <= top or share >= rules.core_share)
        fragments = tuple(e.fragment_id for e in strength_order(marked[code]))
        entries.append(
            PriorityEntry(code, count, share, fragments, rank, "core" if core else "supporting")
        )
    return tuple(entries)

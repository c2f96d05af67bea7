"""The matrix roll-up: verdict rules at their boundaries, confirmation, suggestions, priority."""

from __future__ import annotations

import json
from itertools import count

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from autocoder.codebook import Codebook
from autocoder.matrix import (
    DEFAULT_RULES,
    By,
    MatrixRules,
    Verdict,
    build_matrix,
    ink,
    judge,
    matrix_to_dict,
    rounded_share,
    shade,
)
from autocoder.matrix_io import cell_summary, csv_text, json_text
from autocoder.records import Coding, Fragment, FragmentRecord, Presence, Suggestion
from autocoder.report_html import render_report

_ids = count()


def make_codebook(n: int, priority_questions: tuple[int, ...] = (35,)) -> Codebook:
    codes = [
        {
            "id": f"code_{i}",
            "name": f"Factor {i}",
            "colour": f"#{(i * 37) % 256:02x}{(i * 91) % 256:02x}{(i * 53) % 256:02x}",
            "definition": "Een factor.",
            "presence": {"present": "aanwezig", "absent": "afwezig"},
        }
        for i in range(n)
    ]
    return Codebook.model_validate(
        {
            "id": f"book{n}",
            "name": f"Codeboek {n}",
            "no_code": {"label": "Geen", "description": "Geen factor."},
            "priority_questions": list(priority_questions),
            "codes": codes,
        }
    )


BOOK = make_codebook(5)


def rec(
    code: str | None,
    presence: str | None = "present",
    *,
    respondent: str = "R1",
    group: str = "uitvoerend",
    question: int | None = None,
    priority: str | None = None,
    suggest: tuple[str, str, float] | None = None,
    coded: bool = True,
    status: str | None = None,
    fid: str | None = None,
    text: str = "Een fragment.",
) -> FragmentRecord:
    number = next(_ids)
    fragment = Fragment(
        id=fid or f"r{respondent}:{number}-{number + 1}",
        report=f"r{respondent}",
        start=number,
        end=number + 1,
        text=text,
        respondent=respondent,
        group=group,
        question=question,
    )
    coding = None
    if coded:
        coding = Coding(code, Presence(presence) if presence else None, priority, "anna")
    suggestion = None
    if suggest is not None:
        factor, pres, confidence = suggest
        suggestion = Suggestion(factor, Presence(pres), confidence, {}, None, (), "m1")
    extra = {"status": status} if status else {}
    return FragmentRecord(fragment, coding, suggestion, extra)


def counts(n_present: int, n_absent: int, code: str = "code_0", **kw) -> list[FragmentRecord]:
    return [rec(code, "present", **kw) for _ in range(n_present)] + [
        rec(code, "absent", **kw) for _ in range(n_absent)
    ]


# --- verdict rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("present", "absent", "verdict"),
    [
        (67, 33, Verdict.PRESENT),  # exactly 0.67
        (66, 34, Verdict.PARTLY),
        (33, 67, Verdict.ABSENT),  # exactly 0.33
        (34, 66, Verdict.PARTLY),
        (2, 1, Verdict.PRESENT),  # 0.666.. rounds to 0.67
        (1, 2, Verdict.ABSENT),  # 0.333.. rounds to 0.33
        (1, 1, Verdict.PARTLY),
        (5, 0, Verdict.PRESENT),
        (0, 5, Verdict.ABSENT),
        (0, 0, Verdict.NOT_DISCUSSED),
    ],
)
def test_verdict_boundaries(present: int, absent: int, verdict: Verdict) -> None:
    assert judge(present, absent) == verdict
    matrix = build_matrix(counts(present, absent), BOOK)
    assert matrix.cell("code_0", "all").verdict == verdict


@given(st.integers(0, 300), st.integers(0, 300))
def test_verdict_follows_the_rounded_share(present: int, absent: int) -> None:
    verdict = judge(present, absent)
    if present + absent == 0:
        assert verdict == Verdict.NOT_DISCUSSED
        return
    share = round(present / (present + absent) + 1e-9, 2)
    expected = (
        Verdict.PRESENT if share >= 0.67 else Verdict.ABSENT if share <= 0.33 else Verdict.PARTLY
    )
    assert verdict == expected


PEOPLE = st.lists(
    st.tuples(
        st.sampled_from(["R1", "R2", "R3"]),
        st.sampled_from(["uitvoerend", "management"]),
        st.sampled_from(["code_0", "code_1", "code_2"]),
        st.sampled_from(["present", "absent"]),
        st.booleans(),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(PEOPLE)
def test_columns_add_up_to_all(rows: list[tuple[str, str, str, str, bool]]) -> None:
    records = [
        rec(code, pres, respondent=r, group=g)
        if person
        else rec(None, coded=False, respondent=r, group=g, suggest=(code, pres, 0.7))
        for r, g, code, pres, person in rows
    ]
    overall = build_matrix(records, BOOK, include_suggestions=True)
    for by in ("respondent", "group"):
        view = build_matrix(records, BOOK, by=by, include_suggestions=True)
        for code in BOOK.ids:
            row = view.row(code)
            total = overall.cell(code, "all")
            assert sum(c.n_present for c in row) == total.n_present
            assert sum(c.n_unconfirmed for c in row) == total.n_unconfirmed


def test_share_rounds_half_up_exactly() -> None:
    assert rounded_share(133, 200) == 0.67  # 0.665 -> 0.67, not binary 0.66
    assert rounded_share(67, 200) == 0.34  # 0.335 -> 0.34: partly
    assert judge(67, 133) == Verdict.PARTLY
    assert judge(133, 67) == Verdict.PRESENT


def test_min_evidence_flags_thin_but_still_judges() -> None:
    one = build_matrix(counts(1, 0), BOOK).cell("code_0", "all")
    assert (one.verdict, one.thin_evidence) == (Verdict.PRESENT, True)
    two = build_matrix(counts(1, 1), BOOK).cell("code_0", "all")
    assert (two.verdict, two.thin_evidence) == (Verdict.PARTLY, False)
    strict = MatrixRules(min_evidence=3)
    assert build_matrix(counts(2, 0), BOOK, rules=strict).cell("code_0", "all").thin_evidence
    assert not build_matrix(counts(3, 0), BOOK, rules=strict).cell("code_0", "all").thin_evidence
    empty = build_matrix(counts(0, 0), BOOK).cell("code_0", "all")
    assert (empty.verdict, empty.thin_evidence, empty.share_present) == (
        Verdict.NOT_DISCUSSED,
        False,
        None,
    )


def test_rules_are_configurable_and_validated() -> None:
    rules = MatrixRules(present_share=0.8, absent_share=0.2)
    assert judge(3, 1, rules) == Verdict.PARTLY  # 0.75 < 0.8
    assert judge(4, 1, rules) == Verdict.PRESENT
    assert judge(1, 4, rules) == Verdict.ABSENT
    with pytest.raises(ValidationError):
        MatrixRules(present_share=0.4, absent_share=0.5)
    with pytest.raises(ValidationError):
        MatrixRules(min_evidence=0)
    with pytest.raises(ValidationError):
        MatrixRules(unknown_key=1)  # type: ignore[call-arg]


# --- confirmation and suggestions ----------------------------------------------------------


VERDICT_ROW = {
    "code": "code_0",
    "column": "all",
    "verdict": "absent",
    "note": "zie <b>R1</b>",
    "coder": "anna",
    "timestamp": "2026-03-01T10:00:00",
}


def test_confirmed_verdict_overrides_everywhere_and_computed_stays() -> None:
    matrix = build_matrix(counts(3, 0), BOOK, verdicts=[VERDICT_ROW])
    cell = matrix.cell("code_0", "all")
    assert cell.verdict == Verdict.PRESENT
    assert cell.confirmed_verdict == cell.final_verdict == Verdict.ABSENT
    data = next(c for c in matrix_to_dict(matrix)["cells"] if c["code"] == "code_0")
    assert (data["verdict"], data["confirmed_verdict"], data["final_verdict"]) == (
        "present",
        "absent",
        "absent",
    )
    assert data["confirmation"]["coder"] == "anna"
    row = csv_text(matrix).splitlines()[1].split(",")
    assert row[3:6] == ["absent", "present", "absent"]  # final, computed, confirmed
    assert cell_summary(cell).startswith("absent (confirmed; computed: present)")
    html = render_report(matrix, matrix, build_matrix(counts(3, 0), BOOK, by="group"))
    assert "✔ absent</div>" in html and "confirmed; computed: present" in html
    assert 'class="cell conf"' in html


def test_later_verdict_row_wins_and_other_cells_untouched() -> None:
    later = dict(VERDICT_ROW, verdict="partly")
    matrix = build_matrix(counts(3, 0), BOOK, verdicts=[VERDICT_ROW, later])
    assert matrix.cell("code_0", "all").final_verdict == Verdict.PARTLY
    assert matrix.cell("code_1", "all").confirmed is None


def test_suggestions_count_only_when_asked_and_are_flagged_unconfirmed() -> None:
    records = [
        *counts(2, 0),
        rec(None, coded=False, suggest=("code_0", "absent", 0.9)),
        rec(None, coded=False, suggest=("code_0", "absent", 0.6)),
    ]
    people = build_matrix(records, BOOK).cell("code_0", "all")
    assert (people.n, people.n_unconfirmed, people.unconfirmed) == (2, 0, False)
    both = build_matrix(records, BOOK, include_suggestions=True).cell("code_0", "all")
    assert (both.n_present, both.n_absent, both.n_confirmed, both.n_unconfirmed) == (2, 2, 2, 2)
    assert both.unconfirmed and both.verdict == Verdict.PARTLY
    html = render_report(*(build_matrix(records, BOOK, include_suggestions=True),) * 3)
    assert 'class="cell unconf"' in html and "Unconfirmed cells (1)" in html


def test_confirmed_verdict_settles_an_unconfirmed_cell() -> None:
    records = [rec(None, coded=False, suggest=("code_0", "present", 0.9))]
    matrix = build_matrix(records, BOOK, include_suggestions=True, verdicts=[VERDICT_ROW])
    cell = matrix.cell("code_0", "all")
    assert cell.n_unconfirmed == 1 and not cell.unconfirmed


def test_a_persons_decision_always_beats_the_suggestion() -> None:
    records = [
        rec("code_1", "absent", suggest=("code_0", "present", 0.99)),  # corrected
        rec(None, None, suggest=("code_0", "present", 0.99)),  # person: no factor
        rec("code_0", None, suggest=("code_0", "present", 0.99)),  # no presence: not counted
        rec(None, coded=False, status="rejected", suggest=("code_0", "present", 0.99)),
        rec(None, coded=False, suggest=("not_a_code", "present", 0.99)),
    ]
    matrix = build_matrix(records, BOOK, include_suggestions=True)
    assert matrix.cell("code_0", "all").n == 0
    assert matrix.cell("code_1", "all").n_absent == 1
    assert matrix.n_ignored == 1


def test_evidence_strongest_first_and_respondents_distinct() -> None:
    records = [
        rec(None, coded=False, suggest=("code_0", "present", 0.55), fid="low", respondent="R2"),
        rec(None, coded=False, suggest=("code_0", "present", 0.95), fid="high", respondent="R2"),
        rec("code_0", "absent", fid="person", respondent="R1"),
    ]
    cell = build_matrix(records, BOOK, include_suggestions=True).cell("code_0", "all")
    assert cell.evidence == ("person", "high", "low")
    assert cell.n_respondents == 2


def test_a_fragment_counts_once_last_record_wins() -> None:
    records = [rec("code_0", "present", fid="same"), rec("code_0", "absent", fid="same")]
    cell = build_matrix(records, BOOK).cell("code_0", "all")
    assert (cell.n_present, cell.n_absent) == (0, 1)


# --- columns -------------------------------------------------------------------------------


def test_by_respondent_group_and_all() -> None:
    records = [
        rec("code_0", "present", respondent="R10", group="management"),
        rec("code_0", "absent", respondent="R2", group="uitvoerend"),
        rec("code_0", "present", respondent="R2", group="uitvoerend"),
        rec(None, None, respondent="R1", group="observatie"),  # no codes: still a column
    ]
    by_resp = build_matrix(records, BOOK, by="respondent")
    assert by_resp.columns == ("R1", "R2", "R10")
    assert by_resp.cell("code_0", "R2").verdict == Verdict.PARTLY
    assert by_resp.cell("code_0", "R1").verdict == Verdict.NOT_DISCUSSED
    by_group = build_matrix(records, BOOK, by=By.GROUP)
    assert by_group.columns == ("uitvoerend", "management", "observatie")
    assert by_group.cell("code_0", "management").n_present == 1
    overall = build_matrix(records, BOOK)
    assert overall.columns == ("all",)
    assert (overall.cell("code_0", "all").n_respondents, overall.n_respondents) == (2, 3)
    assert len(by_resp.cells) == len(BOOK.codes) * 3


@pytest.mark.parametrize("n_codes", [5, 30])
def test_any_codebook_size(n_codes: int) -> None:
    book = make_codebook(n_codes)
    records = [
        rec(f"code_{i % n_codes}", "present" if i % 3 else "absent", respondent=f"R{i % 7}")
        for i in range(4 * n_codes)
    ]
    matrix = build_matrix(records, book, by="respondent", include_suggestions=True)
    assert len(matrix.cells) == n_codes * 7
    assert [entry.code for entry in matrix.priority] == list(book.ids)
    data = json.loads(json_text(matrix))
    assert len(data["cells"]) == n_codes * 7 and len(data["priority"]) == n_codes
    html = render_report(
        matrix, build_matrix(records, book), build_matrix(records, book, by="group")
    )
    assert html.count('<tr><td class="code">') == n_codes


# --- priority ------------------------------------------------------------------------------


def test_priority_ranks_levels_and_questions() -> None:
    book = make_codebook(6)
    records = [
        # code_0: 3 respondents (two by priority: high, one by answering question 35)
        rec("code_0", "absent", respondent="A", priority="high", fid="p1"),
        rec("code_0", "absent", respondent="B", priority="high", fid="p2"),
        rec("code_0", "present", respondent="C", question=35, fid="p3"),
        rec("code_0", "present", respondent="C", question=35, fid="p4"),  # same respondent
        # code_1 and code_2: 1 respondent each (tie)
        rec("code_1", "present", respondent="A", priority="high"),
        rec("code_2", "present", respondent="B", question=35),
        # code_3: coded but no priority; question 5 is no priority question
        rec("code_3", "present", respondent="D", question=5),
    ]
    matrix = build_matrix(records, book)
    ranks = {e.code: (e.n_respondents, e.rank, e.level) for e in matrix.priority}
    assert ranks["code_0"] == (3, 1, "core")
    assert ranks["code_1"] == ranks["code_2"] == (1, 2, "core")  # top third of 6 = ranks 1-2
    assert ranks["code_3"] == (0, 4, "supporting")
    assert ranks["code_5"] == (0, 4, "supporting")
    entry = matrix.priority_of("code_0")
    assert entry.share == 0.75 and set(entry.fragments) == {"p1", "p2", "p3", "p4"}
    assert matrix_to_dict(matrix)["priority"]["code_0"] == {
        "n_respondents": 3,
        "share": 0.75,
        "fragments": list(entry.fragments),
        "rank": 1,
        "level": "core",
    }


def test_core_by_share_even_outside_the_top_ranks() -> None:
    book = make_codebook(9)  # top third = ranks 1-3
    people = ["A", "B", "C", "D"]
    records = [rec(f"code_{i}", respondent=r, priority="high") for i in range(4) for r in people]
    records += [rec("code_4", respondent=r, priority="high") for r in people[:2]]  # share 0.5
    records += [rec("code_5", respondent="A", priority="high")]  # share 0.25, rank 6
    levels = {e.code: (e.rank, e.level) for e in build_matrix(records, book).priority}
    assert levels["code_4"] == (5, "core")  # by share >= 0.5
    assert levels["code_5"] == (6, "supporting")
    rules = MatrixRules(core_share=0.75)
    assert build_matrix(records, book, rules=rules).priority_of("code_4").level == "supporting"


def test_no_priority_at_all_means_no_core() -> None:
    matrix = build_matrix(counts(2, 2), BOOK)
    assert {entry.level for entry in matrix.priority} == {"supporting"}
    assert {entry.rank for entry in matrix.priority} == {1}


# --- output safety -------------------------------------------------------------------------


def test_json_schema_keys() -> None:
    data = matrix_to_dict(build_matrix(counts(1, 1), BOOK, by="group"))
    assert {"codebook", "by", "columns", "cells", "priority", "rules"} <= set(data)
    assert set(data["cells"][0]) >= {
        "code",
        "column",
        "n_present",
        "n_absent",
        "share_present",
        "n_respondents",
        "verdict",
        "confirmed_verdict",
        "n_confirmed",
        "n_unconfirmed",
        "evidence",
    }
    assert data["rules"] == DEFAULT_RULES.model_dump()


def test_html_escapes_every_text_and_stays_offline() -> None:
    evil = "<script>alert(1)</script> $x$ https://evil.example"
    records = [
        rec("code_0", "present", respondent="<img src=x>", group="<b>g</b>", text=evil),
        rec("code_0", "absent", respondent="R2", text='Niet "goed" & <i>slecht</i>'),
    ]
    matrix = build_matrix(records, BOOK, by="respondent", verdicts=[dict(VERDICT_ROW)])
    html = render_report(
        matrix, build_matrix(records, BOOK), build_matrix(records, BOOK, by="group")
    )
    assert "<script" not in html and "<img src=x>" not in html and "<b>g</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "https&#58;//evil.example" in html  # shown as written, but no reference
    assert "https://" not in html and "http://" not in html
    assert 'src="http' not in html and "<link" not in html


def test_csv_neutralises_formulas() -> None:
    records = [rec("code_0", "present", respondent="=HYPERLINK(1)")]
    text = csv_text(build_matrix(records, BOOK, by="respondent"))
    assert "'=HYPERLINK(1)" in text


def test_shade_and_ink() -> None:
    assert shade("#000000", None) == "#f2f2f2"
    assert shade("#000000", 1.0) < shade("#000000", 0.0)  # darker with more present
    assert ink("#ffffff") == "#000000" and ink("#000000") == "#ffffff"

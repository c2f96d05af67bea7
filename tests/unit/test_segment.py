"""Unit tests for autocoder.segment: structure, sentences, units, cues and invariants."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocoder.errors import AutocoderError
from autocoder.records import Fragment, Group, Report, ReportMeta
from autocoder.segment import (
    MAX_BLOCK_CHARS,
    TextAnalysis,
    analyse_texts,
    segment_report,
    segment_reports,
)
from autocoder.segment_components import cue_flags

UNITS = ("sentence", "paragraph", "answer")


def make_report(text: str, report_id: str = "r1", meta: ReportMeta | None = None) -> Report:
    return Report(id=report_id, source="test", text=text, meta=meta or ReportMeta())


def texts(text: str, unit: str = "sentence") -> list[str]:
    return [f.text for f in segment_report(make_report(text), unit)]


def check_invariants(report: Report, fragments: list[Fragment]) -> None:
    previous_end = 0
    for fragment in fragments:
        assert report.text[fragment.start : fragment.end] == fragment.text
        assert fragment.text, "empty fragment"
        assert fragment.text == fragment.text.strip()
        assert fragment.start >= previous_end, "fragments overlap or are out of order"
        assert fragment.id == f"{report.id}:{fragment.start}-{fragment.end}"
        assert fragment.report == report.id
        previous_end = fragment.end


# --- records --------------------------------------------------------------------------------------


def test_fragment_fields_come_from_report_meta() -> None:
    meta = ReportMeta(respondent="R07", group=Group.MANAGEMENT)
    report = make_report("Vraag 5. Heeft u elkaar nodig?\n\nJa. Zeker.", "rep-7", meta)
    fragments = segment_report(report)
    assert [f.text for f in fragments] == ["Ja.", "Zeker."]
    first = fragments[0]
    assert first.id == f"rep-7:{first.start}-{first.end}"
    assert first.report == "rep-7"
    assert first.respondent == "R07"
    assert first.group == "management"
    assert first.question == 5
    assert first.speaker is None


def test_unknown_unit_is_an_autocoder_error() -> None:
    with pytest.raises(AutocoderError, match="unit"):
        segment_report(make_report("Tekst."), "woord")  # type: ignore[arg-type]


def test_empty_and_blank_reports_have_no_fragments() -> None:
    for text in ("", "   ", "\n\n\n", "# Kop\n\n**Vraag 3**\n\n---"):
        for unit in UNITS:
            assert segment_report(make_report(text), unit) == []


# --- question headings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "number"),
    [
        ("Vraag 12", 12),
        ("Vraag 12:", 12),
        ("Vraag 12.", 12),
        ("Vraag 12: Hoe werkt u samen?", 12),
        ("vraag 12. Hoe werkt u samen?", 12),
        ("12.", 12),
        ("12. Hoe werkt u samen?", 12),
        ("12) Hoe werkt u samen?", 12),
        ("V12:", 12),
        ("V12: Hoe werkt u samen?", 12),
        ("V 12. Hoe werkt u samen?", 12),
        ("**12. Hoe werkt u samen?**", 12),
        ("**Vraag 12** Hoe werkt u samen?", 12),
        ("**Vraag 12**", 12),
        ("# Vraag 12", 12),
        ("## 12. Hoe werkt u samen?", 12),
        ("Vraag 12 – Samenwerking", 12),
        ("I: Vraag 12. Hoe werkt u samen?", 12),
        ("I: Dan gaan we naar vraag 12, over samenwerking.", 12),
        ("Interviewer: 12. Hoe werkt u samen?", 12),
        ("I (vraag 12): Hoe werkt u samen?", 12),
    ],
)
def test_question_heading_forms(heading: str, number: int) -> None:
    report = make_report(f"Eerst iets anders.\n\n{heading}\n\nHet gaat goed. Echt.")
    fragments = segment_report(report)
    assert [(f.text, f.question) for f in fragments] == [
        ("Eerst iets anders.", None),
        ("Het gaat goed.", number),
        ("Echt.", number),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Inleiding.\n\nVraag 3. Een?\n\nA.\n\n**Anders?**\n\nB.\n\nVraag 4. Twee?\n\nC.",
            [
                ("Inleiding.", None),
                ("A.", 3),
                ("B.", 3),
                ("C.", 4),
            ],
            id="the-latest-heading-above-counts",
        ),
        pytest.param(
            "Vraag 9. Zijn de rollen helder?\n\n1. Nee.\n2. Niemand weet wie de regie heeft",
            [
                ("Nee.", 9),
                ("Niemand weet wie de regie heeft", 9),
            ],
            id="numbered-line-without-question-mark-is-a-list-item",
        ),
        pytest.param(
            "Vraag 11. Doelen?\n\nZe vraagt zich af:\n1. Wie doet wat?\n2. Wie betaalt?",
            [
                ("Ze vraagt zich af:", 11),
                ("Wie doet wat?", 11),
                ("Wie betaalt?", 11),
            ],
            id="numbered-question-lines-under-a-colon-are-list-items",
        ),
        pytest.param(
            "Vraag 33. Middelen?\n\n1. Geld wel.\n2. Tijd niet.\n\n34. Regels?\nDe AVG.",
            [
                ("Geld wel.", 33),
                ("Tijd niet.", 33),
                ("De AVG.", 34),
            ],
            id="question-heading-after-a-list-and-blank-line",
        ),
        pytest.param(
            "Vraag 30. Hoe lang al? Sinds 2013. Al lang.",
            [("Sinds 2013.", 30), ("Al lang.", 30)],
            id="answer-on-the-question-line",
        ),
    ],
)
def test_question_numbers(text: str, expected: list[tuple[str, int | None]]) -> None:
    fragments = segment_report(make_report(text))
    assert [(f.text, f.question) for f in fragments] == expected


# --- speakers -------------------------------------------------------------------------------------


def test_interviewer_turns_are_skipped_and_respondent_turns_kept() -> None:
    text = (
        "I: Kunt u iets over uzelf vertellen?\n"
        "R: Ik ben wijkagent. Al twintig jaar.\n"
        "I: Ik wil het nu hebben over de stuurgroep,\n"
        "hoe zit dat?\n"
        "R: Die vergadert weinig."
    )
    fragments = segment_report(make_report(text))
    assert [(f.text, f.speaker) for f in fragments] == [
        ("Ik ben wijkagent.", "respondent"),
        ("Al twintig jaar.", "respondent"),
        ("Die vergadert weinig.", "respondent"),
    ]


@pytest.mark.parametrize(
    ("label", "speaker"),
    [
        ("R:", "respondent"),
        ("Respondent:", "respondent"),
        ("respondent:", "respondent"),
        ("Antwoord:", "respondent"),
        ("A:", "respondent"),
        ("**R:**", "respondent"),
        ("**Respondent**:", "respondent"),
        ("JV:", "JV"),
        ("MK:", "MK"),
    ],
)
def test_speaker_labels(label: str, speaker: str) -> None:
    fragments = segment_report(make_report(f"I: Hoe gaat het?\n{label} Goed. Prima zelfs."))
    assert [(f.text, f.speaker) for f in fragments] == [
        ("Goed.", speaker),
        ("Prima zelfs.", speaker),
    ]


@pytest.mark.parametrize("label", ["I:", "Interviewer:", "V:", "Vraag:", "Onderzoeker:", "**I:**"])
def test_interviewer_labels_are_not_fragments(label: str) -> None:
    fragments = segment_report(make_report(f"{label} Hoe gaat het?\nR: Goed."))
    assert [f.text for f in fragments] == ["Goed."]


def test_nb_is_not_a_speaker() -> None:
    fragments = segment_report(make_report("NB: dit is een opmerking."))
    assert [(f.text, f.speaker) for f in fragments] == [("NB: dit is een opmerking.", None)]


def test_respondent_speaker_lasts_until_next_question() -> None:
    text = "R: Ik denk het.\n\nMaar het kan beter.\n\nVraag 7. Opbrengst?\n\nTijd."
    fragments = segment_report(make_report(text))
    assert [(f.text, f.speaker, f.question) for f in fragments] == [
        ("Ik denk het.", "respondent", None),
        ("Maar het kan beter.", "respondent", None),
        ("Tijd.", None, 7),
    ]


def test_unlabelled_answer_after_interviewer_question() -> None:
    fragments = segment_report(make_report("I: Hoe gaat het?\nGoed, zegt ze."))
    assert [(f.text, f.speaker) for f in fragments] == [("Goed, zegt ze.", None)]


# --- headings, markup, lists ----------------------------------------------------------------------


def test_headings_and_markers_are_not_in_fragments() -> None:
    text = (
        "# Verslag\n\nAchtergrond\n\nZe werkt er sinds 2015.\n\n**Afhankelijkheid**\n\n"
        "**Toelichting:** later aangevuld.\n\n- **Tijd:** te weinig.\n* geld\n• mensen\n"
        "1. Eerste punt.\n2) Tweede punt."
    )
    assert texts(text) == [
        "Ze werkt er sinds 2015.",
        "later aangevuld.",
        "te weinig.",
        "geld",
        "mensen",
        "Eerste punt.",
        "Tweede punt.",
    ]


HEADER = (
    "Gespreksverslag interview teamleider Veilig Thuis Waterlanden-Oost\n\n"
    "Datum\n\n4 maart 2026\n\nPlaats en duur\n\nHavenkade Brakwijk; circa 60 minuten\n\n"
    "Datum: 4 maart 2026\nDuur: 60 minuten\n\n"
    "Respondent: mevr. J. de Vries (procesregisseur)\nInterviewer: P. Jansen\nPlaats: Brakwijk\n\n"
    "Mevrouw Terpstra werkt sinds 2019 als procesregisseur. Ze zit het overleg voor.\n\n"
)


@pytest.mark.parametrize(
    "opening", ["Vraag 5. Hoe gaat het?", "I: Hoe gaat het?", "R: Goed.", "# Vraag 5"]
)
def test_header_titles_labels_and_values_are_not_fragments(opening: str) -> None:
    """Before the first question or a turn that says more than a label, one-line paragraphs
    without final punctuation (a title, "Respondent: ..." lines, the cells of a metadata
    table) are dropped; sentences there stay."""
    fragments = texts(HEADER + f"{opening}\n\nHet gaat goed.\n\nDuur: 60 minuten")
    assert fragments[:2] == [
        "Mevrouw Terpstra werkt sinds 2019 als procesregisseur.",
        "Ze zit het overleg voor.",
    ]
    assert fragments[-2:] == ["Het gaat goed.", "Duur: 60 minuten"]  # after it, labels stay
    assert len(fragments) == 4 + (opening == "R: Goed.")


def test_without_questions_or_turns_short_lines_stay() -> None:
    assert texts("Datum\n\n4 maart 2026\n\nHet gaat goed.") == ["Datum", "Het gaat goed."]


def test_list_item_is_one_fragment_and_keeps_indented_continuation() -> None:
    text = "Nodig:\n- korte lijnen. Echt waar.\n- vertrouwen tussen de\n  uitvoerders\nKlaar."
    assert texts(text) == [
        "Nodig:",
        "korte lijnen. Echt waar.",
        "vertrouwen tussen de\n  uitvoerders",
        "Klaar.",
    ]


def test_line_breaks_inside_a_paragraph() -> None:
    wrapped = (
        "De samenwerking met de politie is de laatste jaren\n"
        "sterk verbeterd, vooral sinds er een vaste contactpersoon\n"
        "is. Dat scheelt veel tijd."
    )
    assert texts(wrapped) == [wrapped[: wrapped.index(" Dat")], "Dat scheelt veel tijd."]
    narrow = "De samenwerking met het\nVeiligheidshuis gaat goed,\nvooral met\nVeilig Thuis."
    assert texts(narrow) == [narrow]
    # a short unpunctuated line before a capital is a boundary, and so are label lines
    assert texts("Tijd\nGeld\nMensen") == ["Tijd", "Geld", "Mensen"]
    assert texts("Plaats: stadhuis (kamer 4)\nDuur: een uur") == [
        "Plaats: stadhuis (kamer 4)",
        "Duur: een uur",
    ]


def test_blank_line_is_always_a_boundary() -> None:
    assert texts("Eerste deel zonder punt\n\ntweede deel") == [
        "Eerste deel zonder punt",
        "tweede deel",
    ]


def test_punctuation_only_lines_are_dropped() -> None:
    assert texts("---\n\n...\n\nTekst.\n\n***") == ["Tekst."]


# --- sentences ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "De partners, o.a. de politie, zitten bijv. elke week aan tafel.",
        "Dhr. Jansen en mevr. De Vries zijn er, mw. Kok ook.",
        "Afspraken m.b.t. privacy en t.a.v. dossiers staan i.p.v. daar hier.",
        "Het is z.g.a.n., d.w.z. nieuw.",
        "Er zijn ca. 40 zaken, zie nr. 3.",
        "Op 12 jan. 2024 om 9.30 uur waren er 1.200 meldingen.",
        "Het Veiligheidshuis Rivierenland e.o. bestaat al lang.",
        "Ik sprak met J. de Vries en A.B. Jansen.",
        "De kosten incl. personeel zijn i.v.m. bezuinigingen lager.",
        "„Dat klopt niet,” zei hij.",
        "„Dat klopt niet.” zei hij.",
        "„Dat klopt niet!” Aldus de officier.",
        "Tja... dat weet ik niet.",
    ],
)
def test_no_boundary_inside(sentence: str) -> None:
    assert texts(f"{sentence} Daarna ging het verder.") == [sentence, "Daarna ging het verder."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wie weet? Niemand.", ["Wie weet?", "Niemand."]),
        ("Wie had dat gedacht?! Ik niet.", ["Wie had dat gedacht?!", "Ik niet."]),
        ("Zorg, wonen etc. Daarna niets.", ["Zorg, wonen etc.", "Daarna niets."]),
        ("Duur 70 min. Verslag gezien.", ["Duur 70 min.", "Verslag gezien."]),
        ("Dat zei ik al. Toen ging hij.", ["Dat zei ik al.", "Toen ging hij."]),
        ("Dat begrijpt u. Rond 2016 niet.", ["Dat begrijpt u.", "Rond 2016 niet."]),
        ("Dat is VT. Bij VT weten ze het.", ["Dat is VT.", "Bij VT weten ze het."]),
        ("Dat was 2019. 2020 was erger.", ["Dat was 2019.", "2020 was erger."]),
        ("Vorige week. 's Avonds belde ze.", ["Vorige week.", "'s Avonds belde ze."]),
        ("Hij zei: „Nee.” En weg.", ["Hij zei: „Nee.”", "En weg."]),
        ("Ze zei: ‘Dat regel ik.’ Klaar.", ["Ze zei: ‘Dat regel ik.’", "Klaar."]),
        ('Hij zei: "Nee." Toen ging hij.', ['Hij zei: "Nee."', "Toen ging hij."]),
        ("Stil. (Dat is zo.) Verder.", ["Stil.", "(Dat is zo.)", "Verder."]),
        ("Dat klopt: echt; zeker. Ja.", ["Dat klopt: echt; zeker.", "Ja."]),
        ("Het ging mis.Daarna niet.", ["Het ging mis.", "Daarna niet."]),
    ],
)
def test_sentence_boundaries(text: str, expected: list[str]) -> None:
    assert texts(text) == expected


# --- units ----------------------------------------------------------------------------------------

UNIT_TEXT = (
    "Achtergrond\n\nZe werkt er sinds 2015. Daarvoor elders.\n\n"
    "Vraag 5. Heeft u elkaar nodig?\n\n"
    "Ja. Zeker weten.\nEn vaak.\n\n- punt een\n- punt twee\n\n"
    "I: En informeel?\nR: Dagelijks. Bij de koffie.\n\nOok buiten het werk."
)


def test_paragraph_unit() -> None:
    fragments = segment_report(make_report(UNIT_TEXT), "paragraph")
    assert [(f.text, f.question, f.speaker) for f in fragments] == [
        ("Ze werkt er sinds 2015. Daarvoor elders.", None, None),
        ("Ja. Zeker weten.\nEn vaak.", 5, None),
        ("punt een", 5, None),
        ("punt twee", 5, None),
        ("Dagelijks. Bij de koffie.", 5, "respondent"),
        ("Ook buiten het werk.", 5, "respondent"),
    ]


def test_answer_unit() -> None:
    fragments = segment_report(make_report(UNIT_TEXT), "answer")
    assert [(f.text, f.question, f.speaker) for f in fragments] == [
        ("Ze werkt er sinds 2015. Daarvoor elders.", None, None),
        ("Ja. Zeker weten.\nEn vaak.\n\n- punt een\n- punt twee", 5, None),
        ("Dagelijks. Bij de koffie.\n\nOok buiten het werk.", 5, "respondent"),
    ]


def test_sentence_unit_default() -> None:
    fragments = segment_report(make_report(UNIT_TEXT))
    assert [f.text for f in fragments] == [
        "Ze werkt er sinds 2015.",
        "Daarvoor elders.",
        "Ja.",
        "Zeker weten.",
        "En vaak.",
        "punt een",
        "punt twee",
        "Dagelijks.",
        "Bij de koffie.",
        "Ook buiten het werk.",
    ]


# --- streaming ------------------------------------------------------------------------------------


def test_segment_reports_streams_in_order_and_keeps_empty_reports() -> None:
    reports = [
        make_report("Een. Twee.", "a"),
        make_report("# Alleen een kop", "b"),
        make_report("- alleen een item", "c"),
        make_report("Drie.", "d"),
    ]
    result = list(segment_reports(reports, batch_size=2))
    assert [report.id for report, _ in result] == ["a", "b", "c", "d"]
    assert [[f.text for f in fragments] for _, fragments in result] == [
        ["Een.", "Twee."],
        [],
        ["alleen een item"],
        ["Drie."],
    ]


def test_segment_reports_is_lazy() -> None:
    endless = (make_report(f"Zin {n}. Nog een zin.", f"r{n}") for n in itertools.count())
    first = list(itertools.islice(segment_reports(endless, batch_size=4), 3))
    assert [report.id for report, _ in first] == ["r0", "r1", "r2"]


def test_very_long_paragraph_is_processed_in_pieces() -> None:
    sentence = "Dit is een vrij lange zin over de samenwerking tussen partners. "
    text = sentence * (2 * MAX_BLOCK_CHARS // len(sentence) + 10)
    report = make_report(text)
    fragments = segment_report(report)
    check_invariants(report, fragments)
    assert len(fragments) == text.count(".")
    unbroken = "woord " * (MAX_BLOCK_CHARS // 3)
    report = make_report(unbroken)
    for unit in UNITS:
        check_invariants(report, segment_report(report, unit))


# --- negation and hedging -------------------------------------------------------------------------


def analyse(text: str) -> TextAnalysis:
    return next(analyse_texts([text]))


def marked(analysis: TextAnalysis, flags: tuple[bool, ...]) -> list[str]:
    return [token for token, flag in zip(analysis.tokens, flags, strict=True) if flag]


def test_analysis_shape_and_lowercasing() -> None:
    analysis = analyse("De Samenwerkingen ontbraken.\nNiet echt!")
    size = len(analysis.tokens)
    for column in (
        analysis.lemmas,
        analysis.negated,
        analysis.cue,
        analysis.hedge,
        analysis.is_punct,
    ):
        assert len(column) == size
    assert analysis.tokens == ("de", "samenwerkingen", "ontbraken", ".", "niet", "echt", "!")
    assert analysis.lemmas[1] == "samenwerking"
    assert analysis.lemmas[2] == "ontbreken"
    assert analysis.is_punct == (False, False, False, True, False, False, True)


def test_analyse_texts_streams_in_order_including_empty_and_long_texts() -> None:
    repeats = MAX_BLOCK_CHARS // 10
    long_text = "Er is geen tijd. " * repeats
    results = list(analyse_texts(["Een.", "", long_text, "Twee."], batch_size=2))
    assert [r.tokens for r in (results[0], results[1], results[3])] == [
        ("een", "."),
        (),
        ("twee", "."),
    ]
    assert len(results[2].tokens) == 5 * repeats
    assert sum(results[2].cue) == repeats


@pytest.mark.parametrize(
    ("text", "cues", "negated"),
    [
        ("Er is geen tijd.", ["geen"], ["tijd"]),
        ("Het werkt niet goed, maar het gaat.", ["niet"], ["goed"]),
        ("Er is nooit overleg want niemand belt.", ["nooit", "niemand"], ["overleg", "belt"]),
        (
            "Er is te weinig geld voor de aanpak.",
            ["te", "weinig"],
            ["geld", "voor", "de", "aanpak"],
        ),
        ("Het ontbreekt aan tijd; verder prima.", ["ontbreekt"], ["aan", "tijd"]),
        ("Ik mis terugkoppeling omdat het druk is.", ["mis"], ["terugkoppeling"]),
        ("Er is gebrek aan vertrouwen.", ["gebrek"], ["aan", "vertrouwen"]),
        ("Het is onvoldoende geregeld.", ["onvoldoende"], ["geregeld"]),
        ("We werken zonder afspraken.", ["zonder"], ["afspraken"]),
        ("Er is nauwelijks contact en amper tijd.", ["nauwelijks", "amper"], None),
        ("Het is allerminst duidelijk.", ["allerminst"], ["duidelijk"]),
        ("Er is geen gebrek aan vertrouwen.", ["geen", "gebrek"], ["gebrek"]),
        ("Het gaat niet zonder overleg.", ["niet", "zonder"], ["zonder"]),
        ("Het is niet alleen tijd.", [], []),
        ("Er is geen tijd en geen geld.", ["geen", "geen"], ["tijd", "en", "geen", "geld"]),
    ],
)
def test_negation_cues_and_scope(text: str, cues: list[str], negated: list[str] | None) -> None:
    analysis = analyse(text)
    assert marked(analysis, analysis.cue) == cues
    if negated is not None:
        assert marked(analysis, analysis.negated) == negated


@pytest.mark.parametrize(
    ("text", "hedges"),
    [
        ("Misschien is het wellicht soms beter.", ["misschien", "wellicht", "soms"]),
        ("Het is enigszins en deels geregeld.", ["enigszins", "deels"]),
        ("Het gaat redelijk, een beetje.", ["redelijk", "een", "beetje"]),
        ("Het is min of meer af en toe zo.", ["min", "of", "meer", "af", "en", "toe"]),
        ("Het vertrouwen is groot.", []),
    ],
)
def test_hedge_cues(text: str, hedges: list[str]) -> None:
    analysis = analyse(text)
    assert marked(analysis, analysis.hedge) == hedges


def test_token_extensions_on_the_internal_pipeline() -> None:
    from autocoder.segment import _pipeline

    doc = _pipeline()("Er is geen overleg, misschien later.")
    flags = [(t.text, t._.negation_cue, t._.negated, t._.hedge) for t in doc]
    assert flags[2] == ("geen", True, False, False)
    assert flags[3] == ("overleg", False, True, False)
    assert flags[5] == ("misschien", False, False, True)
    assert [t.is_sent_start for t in doc][:2] == [True, False]


def test_cue_flags_double_negation_window() -> None:
    cue, negated, _ = cue_flags(["niet", "te", "weinig", "mensen", ",", "geen", "tijd"])
    assert cue == [True, True, True, False, False, True, False]
    assert negated == [False, True, True, False, False, False, True]


# --- property-based invariants --------------------------------------------------------------------

SENTENCES = [
    "Het vertrouwen is groot.",
    "Er is geen tijd, maar wel geld.",
    "Dhr. Jansen zegt o.a. dat het z.g.a.n. is.",
    "„Dat klopt niet,” zei ze.",
    "„Wij hebben elkaar nodig.” Aldus de officier.",
    "Op 12 jan. 2024 om 9.30 uur waren er 1.200 mensen.",
    "Wie is er eigenlijk verantwoordelijk?",
    "Tja... misschien wel.",
    "Zorg, wonen etc. Daarna niets.",
    "(Dat is te weinig.)",
    "Het probleem: te weinig mensen; te veel werk",
    "'s Avonds belt de politie.",
    "De samenwerking is de laatste",
    "jaren sterk verbeterd",
    "Dat is VT.",
    "",
    "   ",
]
MARKUP = [
    "",
    "# ",
    "## Vraag 3 ",
    "**",
    "- ",
    "* ",
    "• ",
    "1. ",
    "12) ",
    "Vraag 7. ",
    "V12: ",
    "I: ",
    "R: ",
    "JV: ",
    "Interviewer: ",
    "Respondent: ",
    "  ",
]
SEPARATORS = ["\n", "\n\n", " ", "\n  ", "\r\n", "\n\n\n"]

line = st.builds(
    lambda prefix, sentences, suffix: prefix + " ".join(sentences) + suffix,
    st.sampled_from(MARKUP),
    st.lists(st.sampled_from(SENTENCES), max_size=3),
    st.sampled_from(["", "**", "?", " ", ":"]),
)
document = st.builds(
    lambda parts: "".join(part for pair in parts for part in pair),
    st.lists(st.tuples(line, st.sampled_from(SEPARATORS)), max_size=12),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document)
def test_invariants_on_markup_mixes(text: str) -> None:
    report = make_report(text)
    for unit in UNITS:
        check_invariants(report, segment_report(report, unit))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_invariants_on_arbitrary_text(text: str) -> None:
    report = make_report(text)
    for unit in UNITS:
        check_invariants(report, segment_report(report, unit))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=5))
def test_analysis_columns_align_on_arbitrary_text(items: list[str]) -> None:
    results = list(analyse_texts(items))
    assert len(results) == len(items)
    for analysis in results:
        size = len(analysis.tokens)
        assert all(
            len(column) == size
            for column in (
                analysis.lemmas,
                analysis.negated,
                analysis.cue,
                analysis.hedge,
                analysis.is_punct,
            )
        )

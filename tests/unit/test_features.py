from autocoder.classify.features import feature_docs, scoped_words
from autocoder.classify.lexicon import build_lexicons
from autocoder.codebook import load_codebook
from autocoder.segment import analyse_texts


def analysis(text):
    return next(iter(analyse_texts([text])))


def docs(texts, questions=None, positions=None):
    codebook = load_codebook()
    questions = questions or [None] * len(texts)
    return feature_docs(texts, questions, codebook, build_lexicons(codebook), positions)


def test_double_negation_reads_differently_from_single():
    single = scoped_words(analysis("Er is gebrek aan vertrouwen."))
    double = scoped_words(analysis("Er is geen gebrek aan vertrouwen."))
    plain = scoped_words(analysis("Er is vertrouwen."))
    assert "POL_NEG_vertrouwen" in single
    assert "POL_DNEG_vertrouwen" in double
    assert "POL_POS_vertrouwen" in plain


def test_negative_adjective_counts_as_negation():
    assert "POL_DNEG" in scoped_words(analysis("Dat is niet onbelangrijk."))


def test_contrast_and_wish_scopes():
    words = scoped_words(analysis("Het contact is goed, maar de afspraken zijn vaag."))
    assert "AFTER_afspraak" in words or "AFTER_afspraken" in words
    assert "AFTER_contact" not in words
    wish = scoped_words(analysis("Er is behoefte aan meer evaluatie."))
    assert "WISH_evaluatie" in wish


def test_indicators_match_lemmas_and_compounds():
    (doc,) = docs(["De werkafspraken over de taakverdeling zijn vastgelegd."])
    codes = {code for code, _, _ in doc.matches}
    assert "concretisering" in codes
    (negated,) = docs(["Er is geen vertrouwen meer tussen de partners."])
    assert ("onderlinge_verhoudingen", "vertrouwen", True) in negated.matches
    assert "CB_onderlinge_verhoudingen_NEG" in negated.meta


def test_question_feature_names_the_code_block_not_the_number():
    (doc,) = docs(["Dat klopt."], questions=[19])
    assert "Q_onderlinge_verhoudingen" in doc.meta
    (prio,) = docs(["Vertrouwen."], questions=[35])
    assert "Q_priority" in prio.meta
    (unknown,) = docs(["Ja."], questions=[None])
    assert "Q_unknown" in unknown.meta


def test_context_comes_from_neighbours_in_the_same_report_only():
    texts = ["Eerste zin over budget.", "Tweede zin.", "Andere rapport."]
    positions = [("r1", 0), ("r1", 30), ("r2", 0)]
    first, second, other = docs(texts, positions=positions)
    assert "N_tweede" in first.context
    assert "P_eerste" in second.context
    assert "P_" not in other.context and "N_" not in other.context
    shuffled = docs(list(reversed(texts)), positions=list(reversed(positions)))
    assert shuffled[1].context == second.context

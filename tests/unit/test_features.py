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


def test_clause_polarity_reads_evaluative_words_under_negation():
    assert "POL_EV_NEG" in scoped_words(analysis("De samenwerking loopt niet goed."))
    assert "POL_EV_POS" in scoped_words(analysis("Daar hebben wij geen probleem mee."))
    assert "POL_EV_NEG" in scoped_words(analysis("Er is geen overleg."))  # negation alone
    assert "POL_EV_POS" in scoped_words(analysis("Dat is minder lastig."))  # a downtoner
    assert "POL_EV_POS" in scoped_words(analysis("Dat waren lastige maar goede gesprekken."))


def test_the_last_clause_with_a_polarity_is_the_claim():
    words = scoped_words(analysis("Vroeger was het moeizaam, nu loopt het goed."))
    assert words.split()[-1] == "POL_END_NOW_POS"
    assert "POL_END_NEG" in scoped_words(analysis("Het contact is prima, alleen de regie is zwak."))


def test_restrictive_alleen_opens_a_contrast_and_token_cues_count():
    words = scoped_words(analysis("Het loopt goed, alleen verwateren de afspraken."))
    assert "AFTER_verwateren" in words and "AFTER_lopen" not in words
    (doc,) = docs(["Het zou beter kunnen."])
    assert "WISH" in doc.words.split()  # "zou" is lemmatised "zullen"


def test_on_words_that_are_no_negation():
    assert "POL_DNEG" not in scoped_words(analysis("Dat is niet onmiddellijk duidelijk."))
    assert "POL_DNEG" in scoped_words(analysis("Dat is niet onduidelijk."))

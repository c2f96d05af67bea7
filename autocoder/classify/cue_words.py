"""General Dutch words the features read: cue classes, clause breaks and contrasts, scope
openers, negating "on-" words, downtoners and a small sentiment lexicon. Not tied to any
codebook or corpus; data only.
"""

from __future__ import annotations

# General Dutch cue classes (not tied to any codebook or corpus). They mark how a statement is
# made, which is what presence hinges on: a wish implies something is missing now.
CUES: dict[str, frozenset[str]] = {
    "WISH": frozenset(
        [
            "behoefte",
            "wens",
            "wensen",
            "zou",
            "zouden",
            "moeten",
            "mogen",
            "graag",
            "hopen",
            "hoop",
            "verlangen",
            "missen",
            "verbeteren",
            "verbetering",
            "beter",
            "ontbreken",
            "nodig",
        ]
    ),
    "CONTRAST": frozenset(
        ["maar", "echter", "toch", "alleen", "hoewel", "terwijl", "daarentegen", "wel"]
    ),
    "PAST": frozenset(
        ["vroeger", "eerst", "destijds", "toen", "voorheen", "ooit", "begin", "aanvankelijk"]
    ),
    "NOW": frozenset(["nu", "inmiddels", "tegenwoordig", "momenteel", "sindsdien", "intussen"]),
    "LACK": frozenset(
        ["te", "weinig", "gebrek", "tekort", "krap", "onvoldoende", "amper", "nauwelijks"]
    ),
    "PRAISE": frozenset(
        ["goed", "prima", "fijn", "sterk", "helder", "duidelijk", "uitstekend", "prettig"]
    ),
}


# Per lemma: the cue classes it belongs to, in CUES order.
CUE_NAMES: dict[str, tuple[str, ...]] = {}
for _name, _words in CUES.items():
    for _word in _words:
        CUE_NAMES[_word] = (*CUE_NAMES.get(_word, ()), _name)


SCOPE_OPENERS = {
    "WISH_": CUES["WISH"],
    "PAST_": CUES["PAST"] | {"was", "waren", "had", "hadden"},
    "NOW_": CUES["NOW"],
}
CONTRAST = frozenset("maar echter toch".split())
CLAUSE_BREAKS = frozenset("maar want omdat terwijl hoewel".split())
# A clause that opens with "alleen" restricts what came before, like "maar" ("het contact is
# goed, alleen haal je bij spoed niemand").
RESTRICTIVE = frozenset(["alleen", "enkel"])
NEGATIVE_AFFIX = (
    "ijk",
    "baar",
    "handig",
    "realistisch",
    "voldoende",
    "zeker",
    "bekend",
    "tevreden",
    "prettig",
    "helder",
)
# "on-" words that are no negation: other prefixes (ontvankelijk, onderhandelbaar) and
# lexicalised adverbs (onmiddellijk, onmiskenbaar).
NOT_NEGATIVE_ON = ("ont", "onder", "onmiddel", "onmiskenba")

# General Dutch evaluative words (a small sentiment lexicon, not tied to any codebook or
# corpus): what a clause says about how things are. Under the clause's negation parity they
# give its polarity ("niet goed" is negative, "geen probleem" positive). Words that are mostly
# intensifiers or idioms in speech ("duidelijk", "sterk", "eerlijk gezegd", "ruim tien",
# "bij twijfel") are left out.
POSITIVE = frozenset(
    """goed prima fijn prettig plezierig aangenaam helder uitstekend soepel makkelijk
    gemakkelijk eenvoudig vlot stabiel rustig tevreden positief waardevol nuttig effectief
    efficiënt zinvol succesvol geslaagd voldoende genoeg ruimschoots toereikend mooi prachtig
    geweldig handig overzichtelijk professioneel gemotiveerd enthousiast gelijkwaardig
    respectvol collegiaal vanzelfsprekend haalbaar lukken slagen succes waardering gewaardeerd
    bereikbaar toegankelijk flexibel laagdrempelig hecht volwassen gezond solide degelijk
    adequaat behulpzaam gunstig optimaal ideaal meerwaarde voordeel blij trots dankbaar
    betrouwbaar constructief vertrouwd""".split()
)
NEGATIVE = frozenset(
    """slecht zwak traag moeizaam stroef lastig moeilijk ingewikkeld omslachtig probleem
    problematisch knelpunt pijnpunt zorgpunt bezorgd frustratie gefrustreerd frustrerend
    ergernis ergeren irritatie geïrriteerd spanning conflict ruzie wantrouwen onrust
    onzekerheid chaotisch chaos rommelig helaas jammer teleurgesteld teleurstelling
    teleurstellend krap overbelast overbelasting achterstand vertraging belemmering belemmeren
    obstakel hinderen wrijving botsen haperen vastlopen stagneren verslappen verslechteren
    verslechtering kwijt verliezen verlies falen mislukken mislukt tekortschieten gebrekkig
    matig zwakte klacht klagen ontevreden negatief vaag versnipperd versnippering willekeurig
    afstandelijk eenzijdig scheef moeite gedoe bureaucratie bureaucratisch stroperig
    weerstand tegenwerken tegenwerking strijd wringen knellen worstelen leemte afhaken
    zorgelijk kritiek""".split()
)
POLARITY = {**dict.fromkeys(POSITIVE, 1), **dict.fromkeys(NEGATIVE, -1)}
# Downtoners turn an evaluation around like a negation ("minder positief", "weinig
# problemen", "zelden gedoe").
DOWNTONERS = frozenset("minder weinig zelden".split())
PARITY = ("POL_POS", "POL_NEG", "POL_DNEG")  # a clause's negations: none, odd, even


# Per lemma (or token: the lookup lemmatiser leaves "goede", "was" as they are and makes
# "zou" "zullen"): the scope it opens (the first of SCOPE_OPENERS that holds it).
SCOPE_OF: dict[str, str] = {}
for _name, _words in reversed(SCOPE_OPENERS.items()):
    SCOPE_OF.update(dict.fromkeys(_words, _name))

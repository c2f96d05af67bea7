"""Classifiers that suggest a code and presence for fragments.

``Suggester`` is the protocol every backend meets (the sklearn default in ``linear``, the
optional transformer backend in ``transformer``); ``SuggestionModel`` turns its calibrated
probabilities into Suggestion records with reasons.
"""

from autocoder.classify.model import Suggester, SuggestionModel

__all__ = ["Suggester", "SuggestionModel"]

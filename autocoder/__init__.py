"""autocoder: suggests codes for interview reports against a codebook; people confirm them."""

from autocoder.codebook import Codebook, load_codebook
from autocoder.errors import AutocoderError
from autocoder.records import (
    Coding,
    Decision,
    Fragment,
    FragmentRecord,
    Presence,
    Report,
    Suggestion,
)

__version__ = "0.1.0"

__all__ = [
    "AutocoderError",
    "Codebook",
    "Coding",
    "Decision",
    "Fragment",
    "FragmentRecord",
    "Presence",
    "Report",
    "Suggestion",
    "__version__",
    "load_codebook",
]

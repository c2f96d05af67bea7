"""Library versions a model directory was saved with, and the check made when it loads.

The rule: a model whose scikit-learn major.minor version, or whose major version of any other
recorded library (numpy, scipy, spaCy; torch, transformers ... for the transformer backend),
differs from this environment's is refused (its saved state may not mean the same there); any
other difference (a numpy or scipy minor or patch release) loads with one warning. Python's and
autocoder's own versions are not compared (``format_version`` covers autocoder's files).
"""

from __future__ import annotations

import platform
import re
import warnings
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from pathlib import Path

from autocoder.errors import ModelError, ModelFilesWarning

VERSIONED = ("autocoder", "scikit-learn", "spacy", "spacy-lookups-data", "numpy", "scipy")
NOT_COMPARED = frozenset({"python", "autocoder"})
# Release parts that must be equal (the default is the major version alone).
MUST_MATCH = {"scikit-learn": 2}  # its estimators' state changes between minor releases
UNKNOWN = "unknown"
RELEASE = re.compile(r"\d+(?:\.\d+)*")


def library_versions(names: Sequence[str] = VERSIONED) -> dict[str, str]:
    """The Python version and those of ``names`` (the linear backend's libraries by default)."""
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = version(name)
        except Exception:
            found[name] = UNKNOWN
    return found


def check_versions(
    directory: Path, saved: Mapping[str, object], installed: Mapping[str, str]
) -> None:
    """Refuse a model saved with incompatible library versions; warn (one line) about other
    differences. Libraries missing or unknown on either side are not compared."""
    differing = []
    for name, was in sorted(saved.items()):
        now = installed.get(name, UNKNOWN)
        if name in NOT_COMPARED or UNKNOWN in (str(was), now) or str(was) == now:
            continue
        parts = MUST_MATCH.get(name, 1)
        if _release(str(was), parts) != _release(now, parts):
            kept = "major.minor" if parts == 2 else "major"
            raise ModelError(
                f"model directory {directory}: saved with {name} {was}, this environment has "
                f"{now} (the {kept} version must match); train it again here, or install "
                f"{name} {was}"
            )
        differing.append(f"{name} {was} (now {now})")
    if differing:
        warnings.warn(
            f"model directory {directory}: saved with {', '.join(differing)}; "
            "suggestions may differ slightly from the model's measured figures",
            ModelFilesWarning,
            stacklevel=3,
        )


def _release(text: str, parts: int) -> tuple[int, ...] | str:
    """The first ``parts`` numbers of a version ("2.13.0+cpu" -> (2, 13) for 2)."""
    match = RELEASE.match(text)
    if match is None:
        return text  # compared as written
    return tuple(int(n) for n in match.group(0).split("."))[:parts]

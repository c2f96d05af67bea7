"""Blind (independent) double coding: what a coder may see of other coders and the model.

Two project options, logged in the project's ``options`` table (the latest entry counts):

- ``review.blind``: ``auto`` (the default), ``on`` or ``off``. With ``auto`` blind mode is on
  as soon as the project's decision log holds a confirmed, corrected or rejected fragment by
  any coder other than the one reviewing (adjudications not counted): that coder is then at
  least the second coder, and neither sees the other's codes. A lone coder sees nothing to
  hide either way.
- ``review.blind_suggestions``: ``off`` (the default) or ``on``: in blind mode also hide the
  model's suggestion (the queue order still follows its confidence).

``autocoder review --blind on|off|auto --blind-suggestions on|off`` logs a new value under the
coder's name before the app starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autocoder.store import Project
from autocoder.store_review import ReviewStore

BLIND = "review.blind"
BLIND_SUGGESTIONS = "review.blind_suggestions"


@dataclass(frozen=True)
class Blind:
    """What the reviewing coder's pages hide."""

    others: bool = False
    suggestion: bool = False
    setting: str = "auto"

    @property
    def on(self) -> bool:
        return self.others


def blind_mode(project: Project, coder: str) -> Blind:
    store = ReviewStore(project)
    setting = store.option(BLIND) or "auto"
    on = setting == "on" or (setting == "auto" and store.others_decided(coder))
    hide_suggestion = on and store.option(BLIND_SUGGESTIONS) == "on"
    return Blind(others=on, suggestion=hide_suggestion, setting=setting)


def set_blind_options(
    project_path: Path | str, coder: str, blind: str | None, blind_suggestions: str | None
) -> list[str]:
    """Log the options given (None: leave as it is); returns what changed, for the user."""
    changed = []
    with Project.open(project_path, create=False) as project, project.transaction():
        store = ReviewStore(project)
        for key, value in ((BLIND, blind), (BLIND_SUGGESTIONS, blind_suggestions)):
            if value is not None and store.set_option(key, value, coder) is not None:
                changed.append(f"{key} = {value}")
    return changed

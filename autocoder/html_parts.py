"""Parts both HTML reports share: escaping, plots as inline PNG, and the page shell.

A page is one self-contained file: inline CSS, plots as base64 PNG (matplotlib's Agg canvas, no
pyplot, no global state), no scripts. Its Content-Security-Policy forbids scripts and any outside
resource, and ``esc`` breaks "://" so that no text from the data reads as an http(s) reference.
"""

from __future__ import annotations

import base64
import io
from html import escape

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
LABEL_CHARS = 30


def esc(value: object) -> str:
    """HTML-escape; also break '://' so that no text reads as an http(s) reference."""
    return escape(str(value)).replace("://", "&#58;//")


def png(figure: Figure) -> str:
    """The figure as an ``<img>`` holding a base64 PNG (no creator metadata)."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="" src="data:image/png;base64,{data}">'


def plot_label(text: str, limit: int = LABEL_CHARS) -> str:
    """Plot label: shortened, with '$' escaped so matplotlib does not read it as maths."""
    short = text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return short.replace("$", r"\$")


def page(title: str, css: str, body: str) -> str:
    """The whole document: ``title`` (escaped here), inline ``css``, the policy, ``body``."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="referrer" content="no-referrer"><title>{esc(title)}</title>'
        f"<style>{css}</style></head>\n<body><main>\n{body}\n</main></body></html>\n"
    )

"""The agreement report as one HTML page, and ``render`` for every format ``agree`` writes.

The page is self-contained: inline CSS, plots as base64 PNG (matplotlib's Agg canvas, no
pyplot), no scripts and no outside reference; a Content-Security-Policy forbids both
(``autocoder.html_parts``). Every text from the data (fragments, coder names, codes, file
names) is HTML-escaped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from autocoder.agreement import Agreement, Stat
from autocoder.agreement_result import (
    CSV_COLUMNS,
    STAT_NAMES,
    AgreementReport,
    LeftOut,
    UnitRow,
    csv_text,
    disagreement_lines,
    format_stat,
    json_text,
    stat_rows,
)
from autocoder.html_parts import esc, page, plot_label, png

BAND_COLOURS = {"reliable": "#2e7d32", "tentative": "#ef6c00", "not reliable": "#c62828"}


def render(report: AgreementReport, fmt: str) -> str:
    """The report as "json", "csv" (one row per scope and statistic) or "html"."""
    if fmt == "json":
        return json_text(report)
    if fmt == "csv":
        return csv_text(report)
    if fmt == "html":
        return render_html(report)
    raise ValueError(f"unknown format {fmt!r}")


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
 color:#1d1d1f;margin:0;background:#fafafa}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:30px 0 8px;
 border-bottom:1px solid #ddd;padding-bottom:4px}.note{color:#555;font-size:13px}
.band{display:inline-block;color:#fff;border-radius:6px;padding:6px 12px;font-weight:700}
table{border-collapse:collapse}td,th{border-bottom:1px solid #e3e3e3;padding:5px 10px;
 text-align:left;font-size:13px;vertical-align:top}th{background:#f6f7f8}
td.num{text-align:right;white-space:nowrap}img{max-width:100%;height:auto}
.scroll{overflow-x:auto}
"""


def render_html(report: AgreementReport) -> str:
    agreement = report.agreement
    presence = "Presence, on units where all coders chose the same code"
    body = "\n".join(
        (
            _header(report),
            _stats_table("Overall", agreement.stats),
            _per_code(agreement),
            _stats_table(presence, agreement.presence),
            _pairwise(agreement),
            _confusion(agreement),
            _matching(report),
            _disagreement_table(report),
        )
    )
    return page("Agreement", CSS, body)


def _header(report: AgreementReport) -> str:
    agreement = report.agreement
    band = agreement.band
    colour = next((c for key, c in BAND_COLOURS.items() if band.startswith(key)), "#616161")
    sources = "".join(
        f"<li><b>{esc(coder)}</b>: {esc(source)}</li>" for coder, source in report.sources.items()
    )
    alpha = format_stat(agreement.stats["alpha"])
    return (
        "<h1>Agreement between coders</h1>"
        f'<p class="note">Codebook {esc(report.codebook)}; {agreement.n_units} units matched '
        f"by {esc(report.matched_by)}; 95% intervals from {agreement.n_boot} bootstrap "
        f"resamples of units (seed {agreement.seed}).</p><ul>{sources}</ul>"
        f'<p>Krippendorff\'s alpha {esc(alpha)}: <span class="band" '
        f'style="background:{colour}">{esc(band)}</span></p>'
        '<p class="note">Alpha of at least 0.800: reliable; 0.667 to 0.800: tentative '
        "conclusions only; below 0.667: not reliable.</p>"
    )


def _stats_table(title: str, stats: dict[str, Stat]) -> str:
    rows = "".join(
        f"<tr><td>{esc(STAT_NAMES[name])}</td><td class=num>{esc(format_stat(stat))}</td>"
        f"<td class=num>{stat.n}</td></tr>"
        for name, stat in stats.items()
    )
    return (
        f"<h2>{esc(title)}</h2><table><tr><th>statistic</th><th>value [95% CI]</th>"
        f"<th>units</th></tr>{rows}</table>"
    )


def _short(stat: Stat) -> str:
    return "n/c" if stat.value is None else format_stat(stat)


def _per_code(agreement: Agreement) -> str:
    kappa = "cohen" if len(agreement.coders) == 2 else "fleiss"
    rows = "".join(
        f"<tr><td>{esc(code.code)}</td>"
        + "".join(f"<td class=num>{n}</td>" for n in code.applied)
        + f"<td class=num>{code.all_applied}</td><td class=num>{code.some_applied}</td>"
        f"<td class=num>{esc(_short(code.stats[kappa]))}</td>"
        f"<td class=num>{esc(_short(code.stats['alpha']))}</td></tr>"
        for code in agreement.per_code
    )
    heads = "".join(f"<th>{esc(c)}</th>" for c in agreement.coders)
    reasons = sorted({s.reason for c in agreement.per_code for s in c.stats.values() if s.reason})
    missing = f" n/c: not computable ({esc('; '.join(reasons))})." if reasons else ""
    return (
        "<h2>Per code (applied / not applied)</h2>"
        f"{png(_code_bars(agreement))}<div class=scroll><table><tr><th>code</th>{heads}"
        f"<th>all applied</th><th>differ</th><th>{esc(STAT_NAMES[kappa])}</th>"
        f"<th>alpha [95% CI]</th></tr>{rows}</table></div>"
        '<p class="note">A coder column counts the units that coder gave the code; "all '
        'applied" counts units every coder gave it, "differ" units some but not all did.'
        f"{missing}</p>"
    )


def _pairwise(agreement: Agreement) -> str:
    if not agreement.pairwise:
        return ""
    names = ("percent", "cohen", "alpha", "ac1")
    heads = "".join(f"<th>{esc(STAT_NAMES[name])}</th>" for name in names)
    rows = "".join(
        f"<tr><td>{esc(a)} and {esc(b)}</td>"
        + "".join(f"<td class=num>{esc(_short(stats[name]))}</td>" for name in names)
        + "</tr>"
        for (a, b), stats in agreement.pairwise.items()
    )
    return f"<h2>Pairs of coders</h2><table><tr><th>pair</th>{heads}</tr>{rows}</table>"


def _code_bars(agreement: Agreement) -> Figure:
    codes = agreement.per_code
    figure = Figure(figsize=(8, 0.45 * len(codes) + 1.2))
    ax = figure.add_subplot()
    lowest = 0.0
    for row, code in enumerate(codes):
        stat = code.stats["alpha"]
        if stat.value is None:
            ax.text(0.01, row, "not computable", va="center", fontsize=8, color="#666")
            continue
        low, high = stat.ci if stat.ci else (stat.value, stat.value)
        ax.barh(row, stat.value, color="#5c7cfa")
        ax.errorbar(stat.value, row, xerr=[[stat.value - low], [high - stat.value]], color="k")
        lowest = min(lowest, low, stat.value)
    ax.set_yticks(range(len(codes)), [plot_label(c.code) for c in codes], fontsize=8)
    ax.set_ylim(len(codes) - 0.5, -0.5)
    for x in (0.667, 0.8):
        ax.axvline(x, color="#999", linestyle="--", linewidth=0.8)
    ax.set_xlim(lowest - 0.05, 1.05)
    ax.set_xlabel("Krippendorff's alpha per code, with 95% interval")
    figure.tight_layout()
    return figure


def _confusion_figure(agreement: Agreement) -> Figure | None:
    """Counts of the first two coders' categories (used ones only), or None."""
    if len(agreement.coders) < 2:
        return None
    first, second = agreement.coders[:2]
    full = np.asarray(agreement.confusion)
    used = np.flatnonzero(full.sum(axis=0) + full.sum(axis=1))
    if used.size == 0:
        return None
    matrix = full[np.ix_(used, used)]
    labels = [plot_label(agreement.categories[i]) for i in used]
    size = 1.5 + 0.55 * len(labels)
    figure = Figure(figsize=(size + 1.5, size + 0.5))
    ax = figure.add_subplot()
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel(plot_label(second, 60))
    ax.set_ylabel(plot_label(first, 60))
    peak = matrix.max(initial=0)
    for (i, j), value in np.ndenumerate(matrix):
        colour = "white" if value > peak / 2 else "black"
        ax.text(j, i, str(value), ha="center", va="center", fontsize=7, color=colour)
    figure.tight_layout()
    return figure


def _confusion(agreement: Agreement) -> str:
    figure = _confusion_figure(agreement)
    if figure is None:
        return ""
    first, second = agreement.coders[:2]
    return (
        f"<h2>Confusion matrix: {esc(first)} (rows) and {esc(second)} (columns)</h2>{png(figure)}"
    )


def _matching(report: AgreementReport) -> str:
    parts = []
    if report.alignment:
        keys = list(next(iter(report.alignment.values())))
        heads = "".join(f"<th>{esc(k.replace('_', ' '))}</th>" for k in keys)
        rows = "".join(
            f"<tr><td>{esc(coder)}</td>"
            + "".join(f"<td class=num>{counts[k]}</td>" for k in keys)
            + "</tr>"
            for coder, counts in report.alignment.items()
        )
        parts.append(f"<h2>Spans aligned on sentences</h2><table><tr><th>coder</th>{heads}</tr>")
        parts.append(f"{rows}</table>")
    items = "".join(
        f"<li>{esc(item.coder)}: {item.count} {esc(item.reason)}</li>" for item in report.left_out
    )
    parts.append(f"<h2>Left out</h2><ul>{items or '<li>nothing</li>'}</ul>")
    return "".join(parts)


def _disagreement_table(report: AgreementReport) -> str:
    coders = report.agreement.coders
    heads = "".join(f"<th>{esc(c)}</th>" for c in coders)
    rows = []
    for item in report.disagreements():
        cells = "".join(_code_cell(item["codes"].get(coder)) for coder in coders)
        text = esc(item["text"] or "")
        rows.append(f"<tr><td><code>{esc(item['id'])}</code></td><td>{text}</td>{cells}</tr>")
    return (
        f"<h2>Disagreements to discuss ({len(rows)})</h2><div class=scroll><table><tr><th>id</th>"
        f"<th>text</th>{heads}</tr>{''.join(rows)}</table></div>"
    )


def _code_cell(code: dict[str, Any] | None) -> str:
    if code is None:
        return "<td>(not coded)</td>"
    factor = code["factor"] or "no factor"
    presence = f" ({code['presence']})" if code["presence"] else ""
    return f"<td>{esc(factor + presence)}</td>"


__all__ = [  # the records and their JSON/CSV forms are agreement_result's; importable here too
    "CSV_COLUMNS",
    "STAT_NAMES",
    "AgreementReport",
    "LeftOut",
    "UnitRow",
    "disagreement_lines",
    "format_stat",
    "render",
    "render_html",
    "stat_rows",
]

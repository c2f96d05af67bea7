"""The matrix as one self-contained HTML file: inline CSS, plots as base64 PNG, no scripts.

Every text from the data (codebook, respondents, quotes, notes) is HTML-escaped; the page
declares a Content-Security-Policy that forbids scripts and any outside resource, and holds no
http(s) reference at all (``autocoder.html_parts``). The plots are drawn in ``report_plots``.
"""

from __future__ import annotations

import shlex

from autocoder.html_parts import esc, page, png
from autocoder.matrix import By, Cell, Evidence, Matrix, ink, shade, strength_order
from autocoder.matrix_model import TEAM
from autocoder.records import Presence
from autocoder.report_plots import NAMED_POINTS, bars_figure, quadrant_figure, quadrant_points

QUOTE_MIN_WORDS = 4
QUOTE_CHARS = 360
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
 color:#1d1d1f;margin:0;background:#fafafa}
main{max-width:1240px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:34px 0 8px;
 border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
.sub{color:#555;margin:0 0 14px}.note{color:#555;font-size:13px;max-width:900px}
.facts{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0}
.fact{background:#f1f3f5;border-radius:6px;padding:6px 10px;font-size:13px}
.fact b{font-size:16px;display:block}
.scroll{overflow-x:auto}table{border-collapse:collapse}
table.heat td,table.heat th{border:1px solid #fff;padding:6px 8px;vertical-align:top}
table.heat th{background:#eceff1;font-size:12px;font-weight:600}
table.heat td.cell{min-width:96px;font-size:12px}
td.code{min-width:200px;max-width:260px;font-weight:600;font-size:13px;
 position:sticky;left:0;background:#fff;z-index:1}
.sw{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;
 border:1px solid rgba(0,0,0,.25);vertical-align:-1px}
.v{font-weight:700;font-size:13px}.m{font-size:11px;opacity:.92}
td.unconf{outline:2px dashed #222;outline-offset:-4px;background-image:
 repeating-linear-gradient(135deg,rgba(255,255,255,.28) 0 5px,transparent 5px 11px)}
td.conf{box-shadow:inset 0 0 0 3px #1b1b1b}
.tag{display:inline-block;border-radius:3px;padding:0 5px;font-size:11px;font-weight:600}
.tag.u{background:#fde7e7;color:#a31515}.tag.c{background:#1b1b1b;color:#fff}
.tag.core{background:#263238;color:#fff}.tag.sup{background:#e0e0e0;color:#333}
.tag.t{background:#fff3cd;color:#6b4e00}
table.list td,table.list th{border-bottom:1px solid #e3e3e3;padding:5px 10px;text-align:left;
 font-size:13px}table.list th{background:#f6f7f8}td.num{text-align:right}
img{max-width:100%;height:auto}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:#333;margin:8px 0}
.legend span.box{display:inline-block;width:22px;height:14px;vertical-align:-3px;margin-right:5px}
details{margin:10px 0 14px;border-left:6px solid var(--c);padding-left:10px}
summary{cursor:pointer;font-weight:700;font-size:15px;padding:4px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(270px,1fr));gap:10px;
 margin-top:6px}
.card{border:1px solid #e1e1e1;border-radius:6px;padding:6px 10px;background:#fcfcfc}
.card h3{margin:2px 0 6px;font-size:13px}
blockquote{margin:4px 0 8px;padding:2px 8px;border-left:3px solid #ccc;font-size:13px}
blockquote.p{border-left-color:#2e7d32}blockquote.a{border-left-color:#9e9e9e}
.key{columns:3 260px;list-style:none;padding:0;font-size:12px}
.meta{font-size:11px;color:#666}code{font-size:12px}.nw{white-space:nowrap}
"""


def render_report(
    matrix: Matrix,
    overall: Matrix,
    groups: Matrix,
    *,
    source: str = "",
    created: str = "",
    source_args: str = "",
) -> str:
    """The whole page: ``matrix`` (the chosen view), ``overall`` (by all), ``groups`` (by group).

    ``source_args`` (e.g. ``--project study.db``) completes the commands the page suggests.
    """
    body = "\n".join(
        (
            _header(matrix, source, created),
            _heatmap(matrix),
            _quadrant_section(overall),
            _bars_section(groups),
            _priority_section(overall),
            _unconfirmed_section(matrix, source_args),
            _disagreements_section(matrix),
            _evidence_section(matrix),
            _rules_section(matrix),
        )
    )
    return page(f"Matrix - {matrix.codebook.name}", CSS, body)


def _header(matrix: Matrix, source: str, created: str) -> str:
    counted = list(matrix.evidence.values())
    unconfirmed = sum(1 for e in counted if not e.confirmed)
    mode = (
        "people's codings and model suggestions (suggestions are unconfirmed)"
        if matrix.include_suggestions
        else "people's codings only"
    )
    facts = (
        ("respondents", matrix.n_respondents),
        ("codes", len(matrix.codebook.codes)),
        ("counted fragments", len(counted)),
        ("of which unconfirmed", unconfirmed),
        ("unconfirmed cells", sum(1 for c in matrix.cells if c.unconfirmed)),
        ("confirmed verdicts", sum(1 for c in matrix.cells if c.confirmed)),
        ("coder disagreements", len(matrix.disagreements)),
    )
    boxes = "".join(f'<div class="fact"><b>{n}</b>{esc(k)}</div>' for k, n in facts)
    where = f" from <code>{esc(source)}</code>" if source else ""
    when = f", made {esc(created)}" if created else ""
    return (
        f"<h1>Presence/priority matrix</h1><p class='sub'>{esc(matrix.codebook.name)} "
        f"(<code>{esc(matrix.codebook.id)}</code>), by {esc(matrix.by.value)}{where}{when}."
        f" Counting: {esc(mode)}; codings: {esc(_codings_note(matrix))}.</p>"
        f"<div class='facts'>{boxes}</div>"
    )


def _codings_note(matrix: Matrix) -> str:
    if matrix.codings == TEAM:
        return "the team's consensus (codes all coders of a fragment agree on)"
    return matrix.codings


def _cell_html(cell: Cell, colour: str, by_respondent: bool) -> str:
    background = shade(colour, cell.share_present)
    classes = ["cell", "unconf" if cell.unconfirmed else "", "conf" if cell.confirmed else ""]
    mark = "✔ " if cell.confirmed is not None else ""
    lines = [f'<div class="v">{mark}{esc(cell.final_verdict.value)}</div>']
    if cell.n:
        share = f"{cell.share_present:.0%}" if cell.share_present is not None else ""
        lines.append(f'<div class="m">{share} present ({cell.n_present}/{cell.n})</div>')
        if not by_respondent:
            lines.append(f'<div class="m">{cell.n_respondents} respondent(s)</div>')
    if cell.confirmed is not None:
        lines.append(f'<div class="m">confirmed; computed: {esc(cell.verdict.value)}</div>')
    if cell.thin_evidence:
        lines.append('<div class="m">thin evidence</div>')
    if cell.unconfirmed:
        lines.append(f'<div class="m">◌ {cell.n_unconfirmed} unconfirmed</div>')
    style = f"background-color:{background};color:{ink(background)}"
    return f'<td class="{" ".join(filter(None, classes))}" style="{style}">{"".join(lines)}</td>'


def _code_label(name: str, colour: str) -> str:
    return f'<span class="sw" style="background:{esc(colour)}"></span>{esc(name)}'


def _heatmap(matrix: Matrix) -> str:
    head = "".join(f"<th>{esc(column)}</th>" for column in matrix.columns)
    rows = []
    for code in matrix.codebook.codes:
        by_respondent = matrix.by == By.RESPONDENT
        cells = "".join(_cell_html(c, code.colour, by_respondent) for c in matrix.row(code.id))
        entry = matrix.priority_of(code.id)
        level = "core" if entry.level == "core" else "sup"
        rank = f" rank {entry.rank}" if entry.n_respondents else ""  # nobody named it
        priority = f'<span class="tag {level}">{esc(entry.level)}</span>{rank}'
        label = _code_label(code.name, code.colour)
        rows.append(f'<tr><td class="code">{label}</td>{cells}<td class="m">{priority}</td></tr>')
    legend = (
        '<div class="legend"><span><span class="box" style="background:linear-gradient(90deg,'
        "#eee,#777)\"></span>shade: share of fragments coded present (in the code's colour)</span>"
        '<span><span class="box" style="outline:2px dashed #222;outline-offset:-3px;'
        'background:repeating-linear-gradient(135deg,#bbb 0 5px,#eee 5px 11px)"></span>'
        "unconfirmed: rests partly on model suggestions</span>"
        '<span><span class="box" style="box-shadow:inset 0 0 0 3px #1b1b1b"></span>'
        "verdict confirmed by a person (computed verdict beside it)</span></div>"
    )
    return (
        f"<h2>The matrix</h2>{legend}<div class='scroll'><table class='heat'>"
        f"<tr><th>code</th>{head}<th>priority</th></tr>{''.join(rows)}</table></div>"
    )


def _quadrant_section(overall: Matrix) -> str:
    points = quadrant_points(overall)
    figure, x_cut = quadrant_figure(points)
    key = ""
    if len(points) > NAMED_POINTS:
        items = "".join(
            f"<li>{index}. {_code_label(code.name, code.colour)}</li>"
            for index, code in enumerate(overall.codebook.codes, start=1)
        )
        key = f"<ol class='key'>{items}</ol>"
    return (
        "<h2>Presence versus priority</h2><p class='note'>One point per code. Right of the "
        f"dashed line: more respondents give the code priority than on average ({x_cut:.2f}); "
        "below the line: under half of its fragments say it is present. The shaded corner holds "
        "the factors respondents find important but miss.</p>" + png(figure) + key
    )


def _bars_section(groups: Matrix) -> str:
    return (
        "<h2>Present and absent per code and group</h2><p class='note'>Fragments coded present "
        "(right, in the code's colour) and absent (left, grey) per respondent group; hatched "
        "parts are unconfirmed model suggestions.</p>" + png(bars_figure(groups))
    )


def _priority_section(overall: Matrix) -> str:
    rows = []
    ranked = sorted(overall.priority, key=lambda e: (e.rank, overall.codebook.ids.index(e.code)))
    for entry in ranked:
        code = overall.codebook.code(entry.code)
        level = "core" if entry.level == "core" else "sup"
        rank = entry.rank if entry.n_respondents else "–"  # nobody named it
        rows.append(
            f"<tr><td class='num'>{rank}</td><td>{_code_label(code.name, code.colour)}</td>"
            f"<td class='num'>{entry.n_respondents}</td><td class='num'>{entry.share:.0%}</td>"
            f"<td><span class='tag {level}'>{esc(entry.level)}</span></td>"
            f"<td class='num'>{len(entry.fragments)}</td></tr>"
        )
    questions = ", ".join(map(str, overall.codebook.priority_questions)) or "none"
    return (
        "<h2>Priority</h2><p class='note'>Respondents who mark a code as among the most important "
        f"(<code>priority: high</code>, or a fragment answering priority question(s) {questions} "
        "coded with the code).</p><table class='list'><tr><th>rank</th><th>code</th>"
        "<th>respondents</th><th>share</th><th>level</th><th>fragments</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _unconfirmed_section(matrix: Matrix, source_args: str) -> str:
    cells = [cell for cell in matrix.cells if cell.unconfirmed]
    if not cells:
        return (
            "<h2>Unconfirmed cells</h2><p class='note'>None: every cell rests on people's "
            "codings or on a verdict a person confirmed.</p>"
        )
    rows = "".join(_unconfirmed_row(matrix, cell, source_args) for cell in cells)
    return (
        f"<h2>Unconfirmed cells ({len(cells)})</h2><p class='note'>These verdicts rest partly on "
        "model suggestions. Check the evidence and confirm a verdict with "
        "<code>autocoder matrix confirm</code>.</p><table class='list'><tr><th>code</th>"
        "<th>column</th><th>computed verdict</th><th>unconfirmed fragments</th>"
        f"<th>see the evidence</th></tr>{rows}</table>"
    )


def _unconfirmed_row(matrix: Matrix, cell: Cell, source_args: str) -> str:
    code = matrix.codebook.code(cell.code)
    command = (
        f"autocoder matrix evidence {source_args} --code {shlex.quote(cell.code)} "
        f"--column {shlex.quote(cell.column)} --by {matrix.by.value}"
    ).replace("  ", " ")
    return (
        f"<tr><td>{_code_label(code.name, code.colour)}</td><td>{esc(cell.column)}</td>"
        f"<td>{esc(cell.verdict.value)}</td>"
        f"<td class='num'>{cell.n_unconfirmed} of {cell.n}</td>"
        f"<td><code>{_nowrap_words(command)}</code></td></tr>"
    )


def _disagreements_section(matrix: Matrix) -> str:
    if not matrix.disagreements:
        return ""
    rows = "".join(
        f"<tr><td><code>{esc(item.fragment_id)}</code></td><td>{esc(item.respondent)}</td>"
        f"<td>{esc('; '.join(_coding_text(matrix, c) for c in item.codings))}</td></tr>"
        for item in matrix.disagreements
    )
    return (
        f"<h2>Coder disagreements ({len(matrix.disagreements)})</h2><p class='note'>Fragments "
        "whose coders gave different codings; the team's matrix does not count them until "
        "the coders agree.</p><table class='list'><tr><th>fragment</th><th>respondent</th>"
        f"<th>codings</th></tr>{rows}</table>"
    )


def _coding_text(matrix: Matrix, coding: tuple[str, str | None, str | None]) -> str:
    who, factor, presence = coding
    name = matrix.codebook.code(factor).name if factor in matrix.codebook.ids else "no factor"
    return f"{who}: {name}" + (f" ({presence})" if presence else "")


def _nowrap_words(command: str) -> str:
    """Escaped, breaking lines only between options (never inside '--code')."""
    groups: list[list[str]] = []
    for word in command.split():
        joins = groups and groups[-1][0].startswith("--") and len(groups[-1]) == 1
        if joins and not word.startswith("--"):
            groups[-1].append(word)
        else:
            groups.append([word])
    return " ".join(f"<span class='nw'>{esc(' '.join(group))}</span>" for group in groups)


def _quote(item: Evidence) -> str:
    text = item.text if len(item.text) <= QUOTE_CHARS else item.text[: QUOTE_CHARS - 1] + "…"
    who = "confirmed" if item.confirmed else f"suggestion {item.confidence or 0:.2f}"
    tag = "c" if item.confirmed else "u"
    side = "p" if item.presence == Presence.PRESENT else "a"
    return (
        f"<blockquote class='{side}'>{esc(text)}<div class='meta'>"
        f"<b>{esc(item.presence.value)}</b> · {esc(item.respondent)} · "
        f"<span class='tag {tag}'>{esc(who)}</span> · <code>{esc(item.fragment_id)}</code>"
        "</div></blockquote>"
    )


def informative_first(items: list[Evidence]) -> list[Evidence]:
    """Fragments of at least ``QUOTE_MIN_WORDS`` words first ("Nee." says little on its own);
    the order is kept otherwise, so short ones are quoted only when nothing else is left."""
    return sorted(items, key=lambda item: len(item.text.split()) < QUOTE_MIN_WORDS)


def _evidence_card(matrix: Matrix, cell: Cell) -> str:
    limit = matrix.rules.quotes_per_cell
    items = informative_first(strength_order(matrix.evidence[f] for f in cell.evidence))[:limit]
    more = len(cell.evidence) - len(items)
    extra = f"<div class='meta'>and {more} more fragment(s)</div>" if more > 0 else ""
    flag = " <span class='tag u'>unconfirmed</span>" if cell.unconfirmed else ""
    title = f"{esc(cell.column)}: {esc(cell.final_verdict.value)}{flag}"
    quotes = "".join(_quote(item) for item in items)
    return f"<div class='card'><h3>{title}</h3>{quotes}{extra}</div>"


def _evidence_section(matrix: Matrix) -> str:
    limit = matrix.rules.quotes_per_cell
    parts = []
    for code in matrix.codebook.codes:
        cards = [_evidence_card(matrix, c) for c in matrix.row(code.id) if c.evidence]
        if cards and limit > 0:
            summary = esc(code.name)
            parts.append(
                f"<details open style='--c:{esc(code.colour)}'><summary>{summary}</summary>"
                f"<div class='cards'>{''.join(cards)}</div></details>"
            )
    body = "".join(parts) or "<p class='note'>No counted fragments.</p>"
    return (
        f"<h2>Evidence</h2><p class='note'>Each cell's strongest fragments (at most {limit}): "
        f"confirmed codings first, then suggestions by confidence; fragments of fewer than "
        f"{QUOTE_MIN_WORDS} words only when nothing longer is left.</p>{body}"
    )


def _rules_section(matrix: Matrix) -> str:
    rules = matrix.rules
    return (
        "<h2>Verdict rules</h2><p class='note'>No counted fragment: not discussed. Otherwise the "
        f"share present (rounded to two decimals) decides: at least {rules.present_share:.2f} "
        f"present, at most {rules.absent_share:.2f} absent, between partly. Fewer than "
        f"{rules.min_evidence} fragments: thin evidence. Priority level core: rank in the top "
        f"{rules.core_top_fraction:.0%} of codes or named by at least {rules.core_share:.0%} of "
        "respondents. A verdict confirmed by a person overrides the computed one.</p>"
    )

"""The matrix report's figures (matplotlib, Agg canvas, no pyplot): presence versus priority
per code, and present/absent fragment counts per code and group."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from autocoder.html_parts import plot_label
from autocoder.matrix import ALL_COLUMN, Evidence, Matrix
from autocoder.records import Presence

NAMED_POINTS = 12  # more codes than this: points carry numbers and a key follows the plot


def _spread(points: Sequence[tuple[float, float]], width: float, gap: float = 0.05) -> list[float]:
    """Label heights nudged apart so that labels of nearby points do not overlap."""
    heights = [y for _, y in points]
    for _ in range(80):
        moved = False
        for i in range(len(points)):
            for j in range(i + 1, len(points)):
                close = abs(points[i][0] - points[j][0]) < width
                if close and abs(heights[i] - heights[j]) < gap:
                    low, high = (i, j) if heights[i] <= heights[j] else (j, i)
                    heights[low] -= gap / 4
                    heights[high] += gap / 4
                    moved = True
        if not moved:
            break
    return heights


def _nice_max(value: float) -> float:
    """An axis end a little above ``value``: 0.25, 0.5, 0.75 or 1."""
    return min(1.0, max(0.25, math.ceil(value * 1.15 * 4) / 4))


def quadrant_points(overall: Matrix) -> list[tuple[str, str, float, float | None]]:
    """(label, colour, priority share, share present) per code; numbers for big codebooks."""
    numbered = len(overall.codebook.codes) > NAMED_POINTS
    return [
        (
            str(index) if numbered else plot_label(code.name),
            code.colour,
            overall.priority_of(code.id).share,
            overall.cell(code.id, ALL_COLUMN).share_present,
        )
        for index, code in enumerate(overall.codebook.codes, start=1)
    ]


def quadrant_figure(points: list[tuple[str, str, float, float | None]]) -> tuple[Figure, float]:
    xs = [x for _, _, x, _ in points]
    x_cut = max(sum(xs) / len(xs), 0.01)
    x_max = _nice_max(max(xs))
    figure = Figure(figsize=(10.5, 6.6))
    axes = figure.add_subplot()
    axes.fill_between([x_cut, x_max], -0.04, 0.5, color="#d32f2f", alpha=0.1, linewidth=0)
    corner = Patch(facecolor="#f6dada", edgecolor="#d32f2f", label="important but missing")
    legend = axes.legend(
        handles=[corner], loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=11
    )
    legend.get_texts()[0].set_color("#b71c1c")
    legend.get_texts()[0].set_fontweight("bold")
    axes.axvline(x_cut, color="#777", linestyle="--", linewidth=1)
    axes.axhline(0.5, color="#777", linestyle="--", linewidth=1)
    axes.axhspan(-0.14, -0.04, color="#eeeeee", zorder=0)
    placed = [(x, -0.09 if y is None else y) for _, _, x, y in points]
    short = all(len(label) <= 3 for label, _, _, _ in points)
    heights = _spread(placed, x_max * (0.05 if short else 0.3), gap=0.045 if short else 0.05)
    for (label, colour, _, y), (x, py), ly in zip(points, placed, heights, strict=True):
        axes.scatter(
            [x],
            [py],
            s=80,
            facecolors="none" if y is None else colour,
            edgecolors=colour if y is None else "#222",
            linewidths=1.4,
            zorder=3,
        )
        leader = {"arrowstyle": "-", "color": "#999", "lw": 0.6} if abs(ly - py) > 0.02 else None
        axes.annotate(
            label,
            (x, py),
            xytext=(x + x_max * 0.015, ly),
            fontsize=9,
            va="center",
            zorder=4,
            arrowprops=leader,
        )
    axes.set_xlim(-x_max * 0.04, x_max)
    axes.set_ylim(-0.14, 1.05)
    ticks = [-0.09, 0, 0.25, 0.5, 0.75, 1.0]
    axes.set_yticks(ticks, ["not discussed", "0", "0.25", "0.5", "0.75", "1"])
    axes.set_xlabel("priority: share of respondents who name the code among the most important")
    axes.set_ylabel("share of fragments coded present (all respondents)")
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure, x_cut


def _split(items: Iterable[Evidence]) -> tuple[int, int, int, int]:
    counts = [0, 0, 0, 0]  # present confirmed, present unconfirmed, absent confirmed, unconf.
    for item in items:
        index = (0 if item.presence == Presence.PRESENT else 2) + (0 if item.confirmed else 1)
        counts[index] += 1
    return counts[0], counts[1], counts[2], counts[3]


def bars_figure(groups: Matrix) -> Figure:
    """Per group: present (right, code colour) and absent (left, grey) fragment counts;
    hatched parts are unconfirmed suggestions."""
    codes = list(groups.codebook.codes)
    columns = list(groups.columns) or [ALL_COLUMN]
    width = max(10.5, 3.2 * len(columns) + 3)
    figure = Figure(figsize=(min(width, 16), 1.4 + 0.34 * len(codes)))
    axes_list = figure.subplots(1, len(columns), sharey=True, squeeze=False)[0]
    split = {
        (cell.code, cell.column): _split(groups.evidence[f] for f in cell.evidence)
        for cell in groups.cells
    }
    limit = max([sum(v[:2]) for v in split.values()] + [sum(v[2:]) for v in split.values()] + [1])
    rows = list(range(len(codes)))[::-1]
    for axes, column in zip(axes_list, columns, strict=True):
        values = [split.get((code.id, column), (0, 0, 0, 0)) for code in codes]
        colours = [code.colour for code in codes]
        axes.barh(rows, [v[0] for v in values], color=colours, edgecolor="#333", linewidth=0.4)
        axes.barh(
            rows,
            [v[1] for v in values],
            left=[v[0] for v in values],
            color=colours,
            alpha=0.35,
            hatch="///",
            edgecolor="#333",
            linewidth=0.4,
        )
        axes.barh(rows, [-v[2] for v in values], color="#8a8a8a", edgecolor="#333", linewidth=0.4)
        axes.barh(
            rows,
            [-v[3] for v in values],
            left=[-v[2] for v in values],
            color="#cfcfcf",
            hatch="///",
            edgecolor="#333",
            linewidth=0.4,
        )
        axes.axvline(0, color="#333", linewidth=0.8)
        axes.set_xlim(-limit * 1.08, limit * 1.08)
        axes.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{abs(value):g}"))
        axes.set_title(plot_label(column), fontsize=11)
        axes.set_xlabel("← absent · present →", fontsize=9)
        axes.spines[["top", "right"]].set_visible(False)
    axes_list[0].set_yticks(rows, [plot_label(code.name) for code in codes], fontsize=9)
    figure.tight_layout(w_pad=2.0)
    return figure

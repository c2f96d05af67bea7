"""`autocoder agree`: agreement between coders (people, and a model as one more coder)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from autocoder.cli.app import CodebookOpt, app, err, handles_errors, out, show_warnings

if TYPE_CHECKING:
    from autocoder.agreement import Agreement, Stat
    from autocoder.agreement_result import AgreementReport

FORMATS = ("table", "json", "csv", "html")


@app.command("agree")
@handles_errors
def agree(
    sources: Annotated[
        list[str],
        typer.Argument(help="Coded JSONL or CSV files, or study.db@coder / study.db@model."),
    ],
    model_dir: Annotated[
        Path | None,
        typer.Option("--model", help="Apply this model to the units as one more coder."),
    ] = None,
    codebook: CodebookOpt = None,
    reports: Annotated[
        Path | None,
        typer.Option("--reports", help="Folder with the report files (to align different spans)."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json, csv or html.")] = "table",
    out_path: Annotated[Path | None, typer.Option("--out", help="Write the report here.")] = None,
    disagreements: Annotated[
        Path | None,
        typer.Option("--disagreements", help="Write the units where coders differ (JSONL)."),
    ] = None,
    n_boot: Annotated[
        int, typer.Option("--bootstrap", min=0, help="Resamples for 95% intervals (0: none).")
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 13,
) -> None:
    """Agreement between coders: kappa, alpha and AC1 overall and per code, with intervals."""
    from autocoder.agreement_result import disagreement_lines
    from autocoder.agreement_sources import agree as run_agree
    from autocoder.files import atomic_write_lines, atomic_write_text
    from autocoder.report_agreement import render

    if fmt not in FORMATS:
        raise typer.BadParameter("use table, json, csv or html", param_hint="--format")
    if fmt == "html" and out_path is None:
        raise typer.BadParameter("--format html needs --out FILE", param_hint="--out")
    if fmt == "table" and out_path is not None:
        raise typer.BadParameter("--out needs --format json, csv or html", param_hint="--out")
    report = run_agree(
        sources,
        model_dir=model_dir,
        codebook_path=codebook,
        reports_dir=reports,
        n_boot=n_boot,
        seed=seed,
    )
    show_warnings(report.warnings)
    if fmt != "table":
        show_warnings([f"left out: {i.coder}: {i.count} {i.reason}" for i in report.left_out])
    if disagreements is not None:
        count = atomic_write_lines(disagreements, disagreement_lines(report))
        err.print(f"{count} disagreements -> {escape(str(disagreements))}")  # stdout: data
    if fmt == "table":
        print_report(report)
    elif out_path is None:
        typer.echo(render(report, fmt), nl=False)
    else:
        atomic_write_text(out_path, render(report, fmt))
        out.print(f"{fmt} report -> {escape(str(out_path))}")


def _fmt(stat: Stat) -> str:
    from autocoder.agreement_result import format_stat

    text = escape(format_stat(stat))
    return f"[dim]{text}[/dim]" if stat.value is None else text


def _stats_table(title: str, stats: dict[str, Stat]) -> Table:
    from autocoder.agreement_result import STAT_NAMES

    table = Table(title=title, title_justify="left")
    table.add_column("statistic")
    table.add_column("value [95% CI]", justify="right")
    table.add_column("units", justify="right")
    for name, stat in stats.items():
        table.add_row(STAT_NAMES[name], _fmt(stat), str(stat.n))
    return table


def print_report(report: AgreementReport) -> None:
    agreement = report.agreement
    for coder, source in report.sources.items():
        out.print(f"coder {escape(coder)}: {escape(source)}")
    out.print(
        f"codebook {escape(report.codebook)}; {agreement.n_units} units matched by "
        f"{report.matched_by}; {agreement.n_boot} bootstrap resamples (seed {agreement.seed})"
    )
    out.print(_stats_table("Overall", agreement.stats))
    colour = "green" if agreement.band.startswith("reliable") else "red"
    colour = "yellow" if agreement.band.startswith("tentative") else colour
    out.print(f"alpha: [{colour}]{agreement.band}[/{colour}]")
    out.print(_code_table(agreement))
    out.print(
        _stats_table("Presence, on units where all coders chose the same code", agreement.presence)
    )
    if agreement.pairwise:
        out.print(_pair_table(agreement))
    if report.alignment:
        out.print(_alignment_table(report.alignment))
    for item in report.left_out:
        out.print(f"left out: {escape(item.coder)}: {item.count} {escape(item.reason)}")
    out.print(f"{sum(u.differs() for u in report.units)} units where the coders differ")


def _code_table(agreement: Agreement) -> Table:
    """Per code: units each coder applied it to, units all / not all applied it, kappa, alpha."""
    kappa = "cohen" if len(agreement.coders) == 2 else "fleiss"
    table = Table(title="Per code (applied / not applied)", title_justify="left")
    table.add_column("code", overflow="fold")
    for coder in agreement.coders:
        table.add_column(escape(coder), justify="right")
    for column in ("all", "differ", "kappa", "alpha [95% CI]"):
        table.add_column(column, justify="right", no_wrap=True)
    for code in agreement.per_code:
        k, alpha = code.stats[kappa], code.stats["alpha"]
        table.add_row(
            escape(code.code),
            *map(str, code.applied),
            str(code.all_applied),
            str(code.some_applied),
            "n/c" if k.value is None else f"{k.value:.3f}",
            "n/c" if alpha.value is None else _fmt(alpha),
        )
    reasons = sorted({s.reason for c in agreement.per_code for s in c.stats.values() if s.reason})
    if reasons:
        table.caption = escape("n/c: not computable (" + "; ".join(reasons) + ")")
        table.caption_justify = "left"
    return table


def _pair_table(agreement: Agreement) -> Table:
    table = Table(title="Pairs of coders", title_justify="left")
    table.add_column("pair")
    names = ("percent", "cohen", "alpha", "ac1")
    for name in names:
        table.add_column(name, justify="right")
    for (first, second), stats in agreement.pairwise.items():
        values = ("n/c" if s.value is None else f"{s.value:.3f}" for s in map(stats.get, names))
        table.add_row(escape(f"{first} and {second}"), *values)
    return table


def _alignment_table(alignment: dict[str, dict[str, int]]) -> Table:
    table = Table(title="Spans aligned on sentence units", title_justify="left")
    keys = list(next(iter(alignment.values())))
    table.add_column("coder")
    for key in keys:
        table.add_column(key.replace("_", " "), justify="right")
    for coder, counts in alignment.items():
        table.add_row(escape(coder), *(str(counts[k]) for k in keys))
    return table

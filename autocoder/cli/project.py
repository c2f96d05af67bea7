"""Project commands: code (pre-code reports into a project), status, export, import-codings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from autocoder.cli.app import app, err, handles_errors, out, show_warnings

if TYPE_CHECKING:
    from autocoder.project import CodeSummary

ProjectOpt = Annotated[
    Path, typer.Option("--project", help="Project file (such as study.db).", show_default=False)
]
UNITS = ("sentence", "paragraph", "answer")
FORMATS = ("jsonl", "csv", "xlsx")
COUNTS = ("confirmed", "corrected", "rejected", "open")


@app.command("code")
@handles_errors
def code(
    project: ProjectOpt,
    paths: Annotated[list[Path] | None, typer.Argument(help="Report files or folders.")] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="Model directory for this run (default: the project's active model, else "
            "models/default).",
        ),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", min=1, help="Processes that read, segment, classify and store reports."
        ),
    ] = 1,
    unit: Annotated[str, typer.Option(help="sentence, paragraph or answer.")] = "sentence",
    rescore: Annotated[
        bool,
        typer.Option(
            "--rescore", help="Score the undecided fragments with --model (after coding PATHs)."
        ),
    ] = False,
    activate: Annotated[
        bool,
        typer.Option("--activate", help="Make --model the project's active model (reviewed)."),
    ] = False,
) -> None:
    """Read, segment and pre-code reports into a project; running it again adds nothing."""
    if unit not in UNITS:
        raise typer.BadParameter("use sentence, paragraph or answer", param_hint="--unit")
    if not paths and not rescore:
        raise typer.BadParameter("give report files or folders (or --rescore)")
    if activate and model is None:
        raise typer.BadParameter("--activate needs --model DIR", param_hint="--activate")
    if paths:
        _code(paths, project, model, jobs, unit, activate)
    if rescore:
        _rescore(project, model, activate)


def _code(
    paths: list[Path], project: Path, model: Path | None, jobs: int, unit: str, activate: bool
) -> None:
    from autocoder.project import code_reports

    with _bar() as bar:
        task = bar.add_task("coding", total=None, fragments=0, rate="")

        def progress(summary: CodeSummary) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            rate = f"{summary.fragments / elapsed:,.0f} fragments/s" if elapsed else ""
            bar.update(
                task,
                total=summary.files,
                completed=summary.files_done,
                fragments=summary.fragments,
                rate=rate,
            )

        summary = code_reports(paths, project, model, jobs, unit, progress, activate)  # type: ignore[arg-type]
    _print_code_summary(summary, project)


def _bar() -> Progress:
    return Progress(
        TextColumn("reports"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[fragments]} fragments"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def _print_code_summary(summary: CodeSummary, project: Path) -> None:
    show_warnings(summary.warnings)
    table = Table(title=f"Coded into {escape(str(project))} in {summary.seconds} s")
    for column in ("reports", "new", "new versions", "unchanged", "fragments", "low confidence"):
        table.add_column(column, justify="right")
    table.add_row(
        *map(
            str,
            (
                summary.reports,
                summary.new,
                summary.new_versions,
                summary.unchanged,
                summary.fragments,
                summary.low_confidence,
            ),
        )
    )
    out.print(table)
    if summary.suggestions:
        counts = ", ".join(f"{k} {v}" for k, v in summary.suggestions.most_common())
        out.print(f"suggestions ({escape(summary.model or '')}): {escape(counts)}")
    if summary.new_versions:
        codings = summary.codings
        out.print(
            f"codings of the earlier versions (per coder and fragment): {codings.carried} "
            f"carried (text unchanged), {codings.reopened} reopened (text changed: open again, "
            f"linked to the earlier coding), {codings.dropped} dropped (text removed)",
            soft_wrap=True,
        )
    if summary.filled:
        out.print(f"{summary.filled} fragments stored earlier got their first suggestion")
    if summary.note:
        err.print(f"[yellow]note:[/yellow] {escape(summary.note)}", soft_wrap=True)
    for failure in summary.failures:
        err.print(f"[red]skipped:[/red] {escape(str(failure))}", soft_wrap=True)
    if summary.interrupted:
        err.print("[yellow]interrupted:[/yellow] stored reports are kept; run again to finish")
        raise typer.Exit(130)
    if summary.failures:
        err.print(
            f"[red]{len(summary.failures)} files could not be read; the others were coded.[/]"
        )
        raise typer.Exit(1)


def _rescore(project: Path, model: Path | None, activate: bool) -> None:
    from autocoder.project import rescore_open

    summary = rescore_open(project, model, activate)
    counts = ", ".join(f"{k} {v}" for k, v in summary.suggestions.most_common())
    out.print(f"rescored {summary.fragments} open fragments with {escape(summary.model)}")
    if summary.active != summary.model:
        err.print(
            f"[yellow]note:[/yellow] the active model stays {escape(str(summary.active))} (its "
            "suggestions are the ones reviewed); add --activate to switch",
            soft_wrap=True,
        )
    if counts:
        out.print(f"suggestions: {escape(counts)}; {summary.low_confidence} below 0.5")
    if summary.interrupted:
        err.print("[yellow]interrupted:[/yellow] scored batches are kept; run again to finish")
        raise typer.Exit(130)


@app.command("status")
@handles_errors
def status(
    project: ProjectOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Reports, fragments and how many suggestions each coder confirmed, corrected, rejected."""
    from autocoder.store import Project

    with Project.open(project, create=False) as opened:
        info = opened.status()
    if as_json:
        out.print_json(json.dumps(info))
        return
    out.print(
        f"{escape(str(project))}: {info['reports']} reports ({info['versions']} versions), "
        f"{info['fragments']} fragments, {info['suggestions']} suggestions; codebook "
        f"{info['codebook']}, model {escape(str(info['active_model']))}, unit {info['unit']}"
    )
    if info["reopened"]:
        out.print(
            f"reopened fragments: {info['reopened']} (coded before, their text changed in a new "
            "version of the report: decide them again)",
            soft_wrap=True,
        )
    if info["duplicates"]:
        out.print(
            f"[yellow]{info['duplicates']} reports have the same text as another file[/] "
            "(marked 'same text as'); each file is its own report",
            soft_wrap=True,
        )
    out.print(_coder_table(info["coders"]))
    out.print(_report_table(info["per_report"], sorted(info["coders"])))


def _coder_table(coders: dict[str, dict[str, int]]) -> Table:
    table = Table(title="Per coder")
    for column in ("coder", "confirmed", "corrected", "rejected", "open"):
        table.add_column(column, justify="left" if column == "coder" else "right")
    for name, counts in sorted(coders.items()):
        table.add_row(escape(name), *(str(counts[k]) for k in COUNTS))
    if not coders:
        table.add_row("(no decisions yet)", "", "", "", "")
    return table


def _report_table(reports: list[dict[str, Any]], coders: list[str]) -> Table:
    table = Table(title="Per report")
    for column in ("report", "fragm.", "sugg.", "coder", "conf.", "corr.", "rej.", "open"):
        table.add_column(column, justify="left" if column in ("report", "coder") else "right")
    for report in reports:
        version = f" (v{report['version']})" if report["version"] > 1 else ""
        label = Path(report["source"]).name + version
        if report.get("reopened"):
            label += f"\n{report['reopened']} reopened"
        if report.get("same_text_as"):
            others = ", ".join(Path(other).name for other in report["same_text_as"])
            label += f"\nsame text as {others}"
        sizes = (str(report.get("fragments", 0)), str(report.get("suggestions", 0)))
        for index, name in enumerate(coders or [""]):
            counts = report.get("coders", {}).get(name)
            cells = [str(counts[k]) for k in COUNTS] if counts else [""] * len(COUNTS)
            first = (escape(label), *sizes) if index == 0 else ("", "", "")
            table.add_row(*first, escape(name), *cells)
    return table


@app.command("export")
@handles_errors
def export(
    project: ProjectOpt,
    fmt: Annotated[str, typer.Option("--format", help="jsonl, csv or xlsx.")] = "xlsx",
    out_path: Annotated[Path | None, typer.Option("--out", help="Output file.")] = None,
    coder: Annotated[
        str | None,
        typer.Option(
            "--coder",
            help="Only this person's codes (default: xlsx none, for any reviewer; "
            "jsonl and csv every coder's latest).",
        ),
    ] = None,
) -> None:
    """Write the fragment records with suggestions and codings (xlsx: a reviewer's sheet)."""
    from autocoder.project import export_project

    if fmt not in FORMATS:
        raise typer.BadParameter("use jsonl, csv or xlsx", param_hint="--format")
    target = out_path or project.with_suffix(f".{fmt}")
    summary = export_project(project, fmt, target, coder)
    out.print(
        f"{summary.records} fragments of {summary.reports} reports with {escape(summary.holds)} "
        f"-> {escape(str(target))}"
    )


@app.command("import-codings")
@handles_errors
def import_codings(
    path: Annotated[Path, typer.Argument(help="Reviewed export: .xlsx, .csv or .jsonl.")],
    project: ProjectOpt,
    coder: Annotated[str, typer.Option("--coder", help="Whose codings these are.")] = "",
    partial: Annotated[
        bool,
        typer.Option("--partial", help="Import the rows without conflicts; skip the others."),
    ] = False,
) -> None:
    """Bring reviewed codings back as decisions (matched by fragment id): all rows, or none
    when a row has a conflict (unless --partial)."""
    from autocoder.project import import_codings as run_import

    if not coder.strip():
        raise typer.BadParameter("give the coder's name", param_hint="--coder")
    summary = run_import(path, project, coder, partial=partial)
    for conflict in summary.conflicts:
        err.print(f"[yellow]conflict:[/yellow] {escape(conflict)}", soft_wrap=True)
    out.print(
        f"{summary.rows} rows: {summary.confirmed} confirmed, {summary.corrected} corrected, "
        f"{summary.rejected} rejected, {summary.unchanged} unchanged, {summary.blank} not "
        f"reviewed, {len(summary.conflicts)} conflicts",
        soft_wrap=True,
    )
    if not summary.written:
        err.print(
            f"[red]nothing imported: {len(summary.conflicts)} rows have conflicts (listed "
            f"above); fix them, or give --partial to import the other {summary.recorded} "
            "decisions[/red]",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    if summary.conflicts:
        err.print(
            f"[yellow]imported {summary.recorded} decisions; skipped {len(summary.conflicts)} "
            "rows with conflicts (listed above)[/yellow]",
            soft_wrap=True,
        )

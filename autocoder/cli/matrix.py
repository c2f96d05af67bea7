"""`autocoder matrix`: the presence/priority matrix, its evidence, and confirming verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from autocoder.cli.app import CodebookOpt, app, handles_errors, out, show_warnings
from autocoder.matrix import Matrix
from autocoder.matrix_model import TEAM

matrix_app = typer.Typer(
    help="The presence/priority matrix: codes by respondent, group or all; people confirm.",
    no_args_is_help=True,
)
app.add_typer(matrix_app, name="matrix")

ProjectOpt = Annotated[Path | None, typer.Option("--project", help="Project file (study.db).")]
FragmentsOpt = Annotated[
    Path | None, typer.Option("--fragments", help="Coded fragment records (JSONL).")
]
ByOpt = Annotated[str, typer.Option("--by", help="Columns: respondent, group or all.")]
CoderOpt = Annotated[str | None, typer.Option("--coder", help="Only this person's codings.")]
TeamOpt = Annotated[
    bool,
    typer.Option(
        "--team",
        help="The team's consensus: codings all coders of a fragment agree on (the default).",
    ),
]
SuggestOpt = Annotated[
    bool,
    typer.Option("--include-suggestions", help="Count model suggestions too (unconfirmed)."),
]
BY_CHOICES = ("respondent", "group", "all")


def _check_by(by: str | None) -> None:
    if by is not None and by not in BY_CHOICES:
        raise typer.BadParameter("use respondent, group or all", param_hint="--by")


@matrix_app.callback(invoke_without_command=True)
@handles_errors
def matrix(
    ctx: typer.Context,
    project: ProjectOpt = None,
    fragments: FragmentsOpt = None,
    by: ByOpt = "all",
    coder: CoderOpt = None,
    team: TeamOpt = False,
    include_suggestions: SuggestOpt = False,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, xlsx, json or html.")] = "table",
    out_path: Annotated[Path | None, typer.Option("--out", help="Output file.")] = None,
    rules: Annotated[
        Path | None, typer.Option("--rules", help="TOML file overriding the verdict rules.")
    ] = None,
    codebook: CodebookOpt = None,
) -> None:
    """Roll codings up into the matrix and print or write it."""
    if ctx.invoked_subcommand is not None:
        return
    from autocoder.matrix_io import MatrixSource, matrix_job

    _check_by(by)
    _check_codings(coder, team)
    source = MatrixSource(project, fragments, codebook, coder, include_suggestions)
    result = matrix_job(source, by=by, fmt=fmt, out=out_path, rules_path=rules)
    show_warnings(_warnings(result.matrix))
    if result.text is not None:
        typer.echo(result.text, nl=False)
    elif result.written is not None:
        out.print(f"matrix by {by} ({fmt}) -> {escape(str(result.written))}")
    else:
        for table in matrix_tables(result.matrix, out.width):
            out.print(table)
        _footer(result.matrix)


def _check_codings(coder: str | None, team: bool) -> None:
    if coder is not None and team:
        raise typer.BadParameter("give --coder NAME or --team, not both", param_hint="--team")


def _warnings(matrix: Matrix) -> list[str]:
    messages = []
    if matrix.n_ignored:
        messages.append(f"{matrix.n_ignored} suggestions name codes outside the codebook")
    if not matrix.evidence:
        hint = "" if matrix.include_suggestions else "; --include-suggestions counts suggestions"
        messages.append(f"no fragment is coded with a code and a presence{hint}")
    return messages


CODE_WIDTH, CELL_WIDTH, PRIORITY_WIDTH = 22, 16, 14  # the last two with border and padding


def matrix_tables(matrix: Matrix, width: int) -> list[Table]:
    """The matrix as tables that fit ``width`` characters: as many columns per table as fit,
    each table repeating the codes; the priority column comes with the last."""
    longest = max((len(code.name) for code in matrix.codebook.codes), default=4)
    room = width - min(longest + 2, CODE_WIDTH) - 5  # the code column, its padding, borders
    per_table, in_last = max(1, room // CELL_WIDTH), max(1, (room - PRIORITY_WIDTH) // CELL_WIDTH)
    columns = matrix.columns
    parts = [columns[i : i + per_table] for i in range(0, len(columns), per_table)] or [()]
    if len(parts[-1]) > in_last:  # the last table also holds the priority column
        tail = parts.pop()
        parts += [tail[:-in_last], tail[-in_last:]]
    title = f"{matrix.codebook.name} by {matrix.by.value}"
    tables = []
    for number, part in enumerate(parts, start=1):
        suffix = f" ({number}/{len(parts)})" if len(parts) > 1 else ""
        tables.append(_table(matrix, part, title + suffix, last=number == len(parts)))
    return tables


def _table(matrix: Matrix, columns: tuple[str, ...], title: str, *, last: bool) -> Table:
    table = Table(title=title, show_lines=True)
    table.add_column("code", overflow="fold", max_width=CODE_WIDTH)
    for column in columns:
        table.add_column(escape(column), overflow="fold", min_width=8)
    if last:
        table.add_column("priority", overflow="fold", min_width=10)
    for code in matrix.codebook.codes:
        cells = [_cell_text(matrix, code.id, column) for column in columns]
        priority = ["\n".join(matrix.priority_of(code.id).label.split(" ", 1))] if last else []
        table.add_row(f"[{code.colour}]■[/] {escape(code.name)}", *cells, *priority)
    return table


def _cell_text(matrix: Matrix, code: str, column: str) -> str:
    cell = matrix.cell(code, column)
    text = f"[bold]{cell.final_verdict.value}[/bold]"
    if cell.confirmed is not None:
        text += f" ✔\n(computed:\n{cell.verdict.value})"
    if cell.n:
        text += f"\n{cell.share_present:.2f} ({cell.n_present}/{cell.n})"
    if cell.thin_evidence:
        text += "\n[yellow](thin)[/yellow]"
    if cell.unconfirmed:
        text += f"\n[red]*{cell.n_unconfirmed} unconf.[/red]"
    return text


def _footer(matrix: Matrix) -> None:
    counted = list(matrix.evidence.values())
    unconfirmed = sum(1 for item in counted if not item.confirmed)
    out.print(
        f"{matrix.n_respondents} respondents, {len(counted)} counted fragments"
        f" ({unconfirmed} unconfirmed model suggestions)"
    )
    if any(cell.unconfirmed for cell in matrix.cells):
        out.print("[red]*N unconf.[/red]: the cell rests partly on N unconfirmed model suggestions")
    if any(cell.thin_evidence for cell in matrix.cells):
        out.print(f"(thin): fewer than {matrix.rules.min_evidence} fragments")
    out.print(f"codings: {escape(_codings_note(matrix))}")
    if matrix.disagreements:
        out.print(
            f"[yellow]{len(matrix.disagreements)} fragments where coders disagree "
            "(not counted):[/yellow]"
        )
        for item in matrix.disagreements:
            out.print(f"  {escape(item.describe())}")


def _codings_note(matrix: Matrix) -> str:
    if matrix.codings == TEAM:
        return (
            "the team's consensus (codes all coders of a fragment agree on); --coder NAME for one"
        )
    return matrix.codings


@matrix_app.command("evidence")
@handles_errors
def evidence(
    code: Annotated[str, typer.Option("--code", help="Code id.")],
    column: Annotated[str, typer.Option("--column", help="Respondent, group or 'all'.")],
    project: ProjectOpt = None,
    fragments: FragmentsOpt = None,
    by: Annotated[
        str | None, typer.Option("--by", help="respondent, group or all (default: guessed).")
    ] = None,
    coder: CoderOpt = None,
    include_suggestions: SuggestOpt = False,
    codebook: CodebookOpt = None,
) -> None:
    """List a cell's evidence fragments, strongest first."""
    from autocoder.matrix_io import MatrixSource, cell_evidence
    from autocoder.matrix_sheets import cell_summary

    _check_by(by)
    source = MatrixSource(project, fragments, codebook, coder, include_suggestions)
    cell, items = cell_evidence(source, code, column, by)
    out.print(f"[bold]{escape(code)} / {escape(column)}[/bold]: {escape(cell_summary(cell))}")
    for number, item in enumerate(items, start=1):
        status = "confirmed" if item.confirmed else f"suggestion {item.confidence or 0:.2f}"
        colour = "green" if item.confirmed else "red"
        out.print(
            f"\n{number}. {escape(item.fragment_id)}  {escape(item.respondent)}  "
            f"{item.presence.value}  [{colour}]{status}[/{colour}]",
            soft_wrap=True,
        )
        out.print(f"   {escape(item.text)}", soft_wrap=True)
    if not items:
        out.print("no counted fragments")


@matrix_app.command("confirm")
@handles_errors
def confirm(
    project: Annotated[Path, typer.Option("--project", help="Project file (study.db).")],
    code: Annotated[str, typer.Option("--code", help="Code id.")],
    column: Annotated[str, typer.Option("--column", help="Respondent, group or 'all'.")],
    verdict: Annotated[str, typer.Option("--verdict", help="present, partly or absent.")],
    coder: Annotated[str, typer.Option("--coder", help="Who confirms.")],
    note: Annotated[str, typer.Option("--note", help="Why (kept with the verdict).")] = "",
) -> None:
    """Store a person's verdict for a cell; it overrides the computed one in every output."""
    from autocoder.matrix_io import confirm_verdict

    stored = confirm_verdict(project, code, column, verdict, note, coder)
    out.print(
        f"[green]confirmed[/green] {escape(stored.code)} / {escape(stored.column)}: "
        f"{stored.verdict.value} ({escape(stored.coder)})"
    )

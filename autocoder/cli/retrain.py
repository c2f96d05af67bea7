"""Retraining commands: retrain (on a project's human codings, with a guard) and models."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from autocoder.cli.app import app, handles_errors, out, show_warnings
from autocoder.store import Project

if TYPE_CHECKING:
    from autocoder.retrain import RetrainResult

ProjectOpt = Annotated[
    Path, typer.Option("--project", help="Project file (such as study.db).", show_default=False)
]
FIGURES = (
    ("macro_f1", "macro-F1"),
    ("kappa", "kappa"),
    ("presence_accuracy", "presence accuracy"),
    ("accuracy", "accuracy"),
    ("n", "fragments"),
)
SHOWN_STATUSES = ("confirmed", "corrected", "rejected", "open")


@app.command("retrain")
@handles_errors
def retrain_command(
    project: ProjectOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="New model directory (models/NAME).")],
    base: Annotated[
        Path | None,
        typer.Option("--base", help="The model to start from (default: the shipped model)."),
    ] = None,
    correction_weight: Annotated[
        float, typer.Option("--correction-weight", help="Weight of a corrected coding.")
    ] = 2.0,
    holdout: Annotated[
        float, typer.Option("--holdout", help="Share of the project's reports held out.")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed for the held-out split and training.")] = 13,
    force: Annotated[
        bool, typer.Option("--force", help="Activate the new model even when it is worse.")
    ] = False,
    no_rescore: Annotated[
        bool, typer.Option("--no-rescore", help="Do not re-score open fragments.")
    ] = False,
) -> None:
    """Train on the base data plus the project's confirmed and corrected codings; compare old
    and new on held-out project codings; activate the new model only if it is not worse."""
    from autocoder.retrain import retrain
    from autocoder.shipped import DEFAULT_MODEL

    result = retrain(
        project,
        base or DEFAULT_MODEL,
        out_dir,
        correction_weight=correction_weight,
        holdout=holdout,
        seed=seed,
        force=force,
        rescore=not no_rescore,
    )
    show_warnings(result.warnings)
    _print_result(result)


def _print_result(result: RetrainResult) -> None:
    counts = result.counts
    if result.holdout_by == "report":
        source = f"{counts['held_out_reports']} held-out report(s)"
    else:
        source = "held-out fragments"
    table = Table(title=f"Project codings from {source}")
    table.add_column("")
    table.add_column(f"old ({escape(result.base)})", justify="right")
    table.add_column(f"new ({escape(result.model_dir.name)})", justify="right")
    for key, label in FIGURES:
        table.add_row(label, _number(result.old.get(key)), _number(result.new.get(key)))
    out.print(table)
    out.print(
        f"trained on {counts['training']} fragments ({counts['base_training']} base + "
        f"{counts['project_training']} project codings; {counts['held_out']} held out; the "
        f"project has {counts['confirmed']} confirmed and {counts['corrected']} corrected) "
        f"-> {result.model_dir}"
    )
    for note in result.notes:
        out.print(f"note: {note}", soft_wrap=True)
    colour = "green" if result.activated else "yellow"
    out.print(f"[{colour}]{escape(result.reason)}[/]  (project model id {result.model_id})")
    if "rescored" in counts:
        out.print(f"re-scored {counts['rescored']} open fragments with the new model")


def _number(value: Any) -> str:
    if value is None:
        return "-"
    return str(value) if isinstance(value, int) else f"{value:.3f}"


@dataclass
class ModelRow:
    """A model version in a project and the fate of the suggestions people see from it."""

    id: str
    active: bool
    added_at: str
    meta: dict[str, Any]
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SHOWN_STATUSES, 0))

    @property
    def suggestions(self) -> int:
        return sum(self.counts.values())

    def cv_macro_f1(self) -> float | None:
        cv = self.meta.get("cv_metrics") or {}
        return (cv.get("factor") or {}).get("macro_f1")

    def holdout_macro_f1(self) -> tuple[float | None, float | None]:
        scores = self.meta.get("holdout_metrics") or {}
        return (scores.get("old") or {}).get("macro_f1"), (scores.get("new") or {}).get("macro_f1")


def model_overview(project_path: Path) -> list[ModelRow]:
    """Every model registered in the project, oldest first, with its metrics (from meta) and,
    per fragment of the current reports, the suggestion a person sees (the active model's,
    else the latest) counted under its model with the fragment's latest human decision.
    Read-only, through the store's public API."""
    with Project.open(project_path, create=False) as project:
        rows = {
            m["id"]: ModelRow(m["id"], m["active"], m["added_at"], m["meta"])
            for m in project.models()
        }
        for record in project.coded_fragments(include_suggestions=True):
            suggestion = record.suggestion
            status = record.extra.get("status")
            if suggestion is not None and suggestion.model in rows and status in SHOWN_STATUSES:
                rows[suggestion.model].counts[status] += 1
    return list(rows.values())


models_app = typer.Typer(help="The project's model versions; activate one.")
app.add_typer(models_app, name="models")


@models_app.command("activate")
@handles_errors
def activate_command(
    model_id: Annotated[str, typer.Argument(help="The model's id in the project (see models).")],
    project: ProjectOpt,
) -> None:
    """Make a registered model the active one: code, review and rescore use it."""
    from autocoder.project import activate_model

    before = activate_model(project, model_id)
    out.print(f"active model: {escape(model_id)} (was {escape(before)})")
    out.print(
        f"open fragments it has not scored yet: autocoder code --rescore --project {project}",
        soft_wrap=True,
        markup=False,
    )


@models_app.callback(invoke_without_command=True)
@handles_errors
def models_command(
    ctx: typer.Context,
    project: Annotated[
        Path | None, typer.Option("--project", help="Project file (such as study.db).")
    ] = None,
) -> None:
    """List the project's model versions: metrics, the active one, and what people did with
    the suggestions shown from each."""
    if ctx.invoked_subcommand is not None:
        return
    if project is None:
        raise typer.BadParameter("give the project file", param_hint="--project")
    rows = model_overview(project)
    if not rows:
        out.print(f"{project}: no models registered yet (autocoder code --model DIR)")
        return
    table = Table(title=f"Models in {escape(str(project))}", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("")
    table.add_column("model", no_wrap=True)
    table.add_column("base", no_wrap=True)
    for column in (
        "CV F1",
        "held-out F1\nold → new",
        "shown",
        "confirmed/\ncorrected/\nrejected/open",
    ):
        table.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        base = (row.meta.get("base_model") or {}).get("model_id") or "-"
        old, new = row.holdout_macro_f1()
        table.add_row(
            "✔" if row.active else "",
            escape(row.id),
            escape(str(base)),
            _number(row.cv_macro_f1()),
            "-" if new is None else f"{_number(old)} → {_number(new)}",
            str(row.suggestions),
            "/".join(str(row.counts[s]) for s in SHOWN_STATUSES),
        )
    out.print(table)
    out.print(
        "✔ active; F1: macro-F1. shown: per fragment, the suggestion a person sees (the active "
        "model's, else the latest), with the person's latest decision on it."
    )

"""Core commands: codebook, segment, train, classify, evaluate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from autocoder import __version__
from autocoder.cli.app import (
    CodebookOpt,
    app,
    codebook_app,
    err,
    fail_if,
    handles_errors,
    out,
    show_warnings,
)
from autocoder.codebook import codebook_table, load_codebook


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        out.print(__version__)
        raise typer.Exit()


@codebook_app.command("show")
@handles_errors
def codebook_show(path: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Print a codebook (default: the shipped one) as a table."""
    codebook = load_codebook(path)
    table = Table(title=f"{codebook.name} ({codebook.id}, hash {codebook.hash[:12]})")
    for column in ("id", "name", "questions", "indicators"):
        table.add_column(column, overflow="fold")
    for row in codebook_table(codebook):
        colour = row["colour"]
        ident = f"[{colour}]■[/] {row['id']}" if colour else row["id"]
        table.add_row(ident, row["name"], row["questions"], row["indicators"])
    out.print(table)
    out.print(f"Priority questions: {', '.join(map(str, codebook.priority_questions)) or '-'}")


@codebook_app.command("check")
@handles_errors
def codebook_check(path: Path) -> None:
    """Validate a codebook file; prints its id, size and content hash."""
    codebook = load_codebook(path)
    out.print(
        f"[green]ok[/green] {path}: codebook {codebook.id!r}, {len(codebook.codes)} codes, "
        f"hash {codebook.hash}"
    )


@app.command("segment")
@handles_errors
def segment(
    paths: Annotated[list[Path], typer.Argument(help="Report files or folders.")],
    out_path: Annotated[Path, typer.Option("--out", help="Output JSONL of fragment records.")],
    unit: Annotated[str, typer.Option(help="sentence, paragraph or answer.")] = "sentence",
) -> None:
    """Cut reports into fragments with exact offsets; write fragment records as JSONL."""
    from autocoder.pipeline import segment_to_jsonl

    if unit not in ("sentence", "paragraph", "answer"):
        raise typer.BadParameter("use sentence, paragraph or answer", param_hint="--unit")
    summary = segment_to_jsonl(paths, out_path, unit=unit)  # type: ignore[arg-type]
    show_warnings(summary.warnings)
    out.print(f"{summary.reports} reports, {summary.fragments} fragments -> {out_path}")
    fail_if(summary.failures, "files")


@app.command("train")
@handles_errors
def train(
    data: Annotated[list[Path], typer.Option("--data", help="training_data folder or JSONL.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Model directory to write.")],
    codebook: CodebookOpt = None,
    folds: Annotated[int, typer.Option(help="Grouped CV folds for metrics/calibration.")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
    backend: Annotated[str, typer.Option(help="linear (default) or transformer.")] = "linear",
    base_model: Annotated[
        Path | None, typer.Option("--base-model", help="Local HF model dir (transformer).")
    ] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid")] = False,
) -> None:
    """Train a suggestion model on coded fragment records."""
    from autocoder.pipeline import train_to_dir

    if backend != "linear":
        from autocoder.transformer_dir import train_transformer_to_dir

        summary = train_transformer_to_dir(data, out_dir, codebook, base_model, seed=seed)
    else:
        summary = train_to_dir(
            data, out_dir, codebook, folds=folds, seed=seed, skip_invalid=skip_invalid
        )
    for problem in summary.skipped:
        err.print(f"[yellow]skipped:[/yellow] {escape(str(problem))}", soft_wrap=True)
    show_warnings(summary.warnings)
    meta = summary.model.meta
    out.print(
        f"trained {meta['model_id']!r} on {meta['n_fragments']} fragments from "
        f"{meta['n_reports']} reports in {meta['training_seconds']} s -> {out_dir}"
    )
    if meta.get("cv_metrics"):
        print_metrics(meta["cv_metrics"], f"{meta['cv_folds']}-fold grouped CV")


@app.command("classify")
@handles_errors
def classify(
    inputs: Annotated[list[Path], typer.Argument(help="Fragment JSONL, report files or folders.")],
    out_path: Annotated[Path, typer.Option("--out", help="Output JSONL with suggestions.")],
    model_dir: Annotated[
        Path | None, typer.Option("--model", help="Model directory (default: the shipped model).")
    ] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid")] = False,
) -> None:
    """Suggest a code, presence and confidence for every fragment."""
    from autocoder.pipeline import classify_to_jsonl
    from autocoder.shipped import DEFAULT_MODEL
    from autocoder.transformer_dir import load_any_model

    model = load_any_model(model_dir or DEFAULT_MODEL)
    summary = classify_to_jsonl(inputs, model, out_path, skip_invalid=skip_invalid)
    show_warnings(summary.warnings)
    for problem in summary.skipped:
        err.print(f"[yellow]skipped:[/yellow] {escape(str(problem))}", soft_wrap=True)
    counts = ", ".join(f"{k} {v}" for k, v in summary.per_factor.most_common())
    out.print(f"{summary.fragments} fragments -> {out_path}; {counts}")
    out.print(f"{summary.low_confidence} suggestions below confidence 0.5")


@app.command("evaluate")
@handles_errors
def evaluate(
    gold: Annotated[Path | None, typer.Argument(help="Coded fragment JSONL.")] = None,
    model_dir: Annotated[Path | None, typer.Option("--model", help="Model directory.")] = None,
    cv: Annotated[int | None, typer.Option("--cv", help="Grouped k-fold CV instead.")] = None,
    data: Annotated[list[Path] | None, typer.Option("--data", help="Data for --cv.")] = None,
    codebook: CodebookOpt = None,
    png: Annotated[Path | None, typer.Option("--png", help="Confusion-matrix PNG.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid")] = False,
) -> None:
    """Measure suggestions against a person's codes (or by grouped cross-validation)."""
    import json

    from autocoder.evaluate import confusion_png, evaluate_cv, evaluate_model
    from autocoder.transformer_dir import load_any_model

    if cv is not None:
        if not data:
            raise typer.BadParameter("--cv needs --data PATH", param_hint="--data")
        result = evaluate_cv(data, load_codebook(codebook), cv, skip_invalid=skip_invalid)
    elif gold is not None and model_dir is not None:
        result = evaluate_model(gold, load_any_model(model_dir), skip_invalid=skip_invalid)
    else:
        raise typer.BadParameter("give GOLD.jsonl --model DIR, or --cv K --data PATH")
    if png is not None:
        result.confusion_png = confusion_png(result.metrics, png)
    if as_json:
        out.print_json(json.dumps(result.to_dict(), default=str))
        return
    for problem in result.skipped:
        err.print(f"[yellow]skipped:[/yellow] {escape(str(problem))}", soft_wrap=True)
    print_metrics(result.metrics, result.source)
    if result.confusion_png:
        out.print(f"confusion matrix -> {result.confusion_png}")


def print_metrics(metrics: dict[str, Any], title: str) -> None:
    factor, presence = metrics["factor"], metrics["presence"]
    summary = Table(title=title)
    for column in ("fragments", "accuracy", "macro-F1", "kappa", "ECE", "presence acc", "kappa"):
        summary.add_column(column, justify="right")
    summary.add_row(
        str(factor["n"]),
        f"{factor['accuracy']:.3f}",
        f"{factor['macro_f1']:.3f}",
        f"{factor['kappa']:.3f}",
        f"{factor['ece']:.3f}",
        f"{presence['accuracy']:.3f}",
        f"{presence['kappa']:.3f}",
    )
    out.print(summary)
    per = Table(title="Per code")
    for column in ("code", "precision", "recall", "F1", "n"):
        per.add_column(column, justify="right" if column != "code" else "left")
    for label, row in factor["per_label"].items():
        per.add_row(
            label,
            f"{row['precision']:.2f}",
            f"{row['recall']:.2f}",
            f"{row['f1']:.2f}",
            str(row["support"]),
        )
    out.print(per)
    confusion = factor["confusion"]
    grid = Table(title="Confusion (rows gold, columns suggested)")
    grid.add_column("")
    for index in range(len(confusion["labels"])):
        grid.add_column(str(index), justify="right")
    for index, (label, row) in enumerate(
        zip(confusion["labels"], confusion["matrix"], strict=True)
    ):
        grid.add_row(f"{index} {label}", *map(str, row))
    out.print(grid)
    curve = Table(title="Coverage: suggestions at or above a confidence")
    for column in ("threshold", "coverage", "accuracy", "left to a person"):
        curve.add_column(column, justify="right")
    for row in factor["coverage"]:
        curve.add_row(
            f"{row['threshold']:.2f}",
            f"{row['coverage']:.2f}",
            f"{row['accuracy']:.3f}",
            str(row["left_to_person"]),
        )
    out.print(curve)

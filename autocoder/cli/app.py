"""The typer app and what every command module shares: consoles and error handling.

Every AutocoderError becomes one red line on stderr and exit code 1.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from autocoder.errors import AutocoderError, AutocoderWarning

app = typer.Typer(
    help="Suggest codes for interview reports against a codebook; people confirm.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
codebook_app = typer.Typer(help="Show or check codebooks.", no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
F = TypeVar("F", bound=Callable[..., Any])

CodebookOpt = Annotated[
    Path | None, typer.Option("--codebook", help="Codebook YAML (default: the shipped one).")
]


def handles_errors(func: F) -> F:
    """Errors become one red line and exit 1; autocoder's warnings that the library did not
    collect (as when a model loads) become one yellow line."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _one_line_warning(warnings.showwarning)
                return func(*args, **kwargs)
        except AutocoderError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _one_line_warning(default: Callable[..., None]) -> Callable[..., None]:
    def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if issubclass(category, AutocoderWarning):
            show_warnings([str(message)])
        else:
            default(message, category, *args, **kwargs)

    return show


def fail_if(failures: list[Any], what: str) -> None:
    for failure in failures:
        err.print(f"[red]skipped:[/red] {escape(str(failure))}", soft_wrap=True)
    if failures:
        err.print(f"[red]{len(failures)} {what} could not be read; the others were processed.[/]")
        raise typer.Exit(1)


def show_warnings(messages: list[str]) -> None:
    for message in messages:
        err.print(f"[yellow]warning:[/yellow] {escape(message)}", soft_wrap=True)

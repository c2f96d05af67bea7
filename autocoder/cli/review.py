"""The review command: serve the local review web app for one project and coder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from autocoder.cli.app import app, handles_errors, out, show_warnings


@app.command("review")
@handles_errors
def review(
    project: Annotated[Path, typer.Option("--project", help="Project file (study.db).")],
    coder: Annotated[str, typer.Option("--coder", help="Your name; every decision carries it.")],
    port: Annotated[int, typer.Option("--port", help="Port (0: any free port).")] = 0,
    host: Annotated[
        str, typer.Option("--host", help="Interface; keep 127.0.0.1 unless you know why.")
    ] = "127.0.0.1",
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a browser.")
    ] = False,
    blind: Annotated[
        str | None,
        typer.Option(
            "--blind",
            help="Project option: hide other coders' codes (on, off; auto: once a second "
            "coder decides).",
        ),
    ] = None,
    blind_suggestions: Annotated[
        str | None,
        typer.Option(
            "--blind-suggestions",
            help="Project option: in blind mode also hide the model's suggestion (on, off).",
        ),
    ] = None,
) -> None:
    """Review suggestions in a local web app (Ctrl+C stops it)."""
    from autocoder.review.server import exposure_warning, serve

    show_warnings([warning] if (warning := exposure_warning(host)) else [])

    from autocoder.review.blind import set_blind_options

    for change in set_blind_options(project, coder, blind, blind_suggestions):
        out.print(f"Project option set: {change}", markup=False)

    def announce(url: str) -> None:
        out.print(f"Reviewing {project} as {coder!r}; open this link (Ctrl+C stops):", markup=False)
        out.print(url, soft_wrap=True, markup=False)

    serve(project, coder, host=host, port=port, open_browser=not no_browser, announce=announce)

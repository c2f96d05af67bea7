"""The autocoder command line: parse arguments, call one library function, print its result.

Each command module registers its commands on the one typer app in ``cli.app``.
"""

from autocoder.cli import (
    agree,  # noqa: F401
    core,  # noqa: F401  (registers commands)
    matrix,  # noqa: F401
    project,  # noqa: F401
    retrain,  # noqa: F401
    review,  # noqa: F401
)
from autocoder.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]

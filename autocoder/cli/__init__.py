"""The autocoder command line: parse arguments, call one library function, print its result.

Each command module registers its commands on the one typer app in ``cli.app``.
"""

from autocoder.cli import core  # noqa: F401  (registers commands)
from autocoder.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]

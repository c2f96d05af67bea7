"""`autocoder review --host`: any address beyond loopback is named in a warning line."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocoder.cli import app
from autocoder.review.server import exposure_warning
from autocoder.store import Project


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.2", "localhost", "LOCALHOST", "::1", "[::1]"]
)
def test_loopback_hosts_give_no_warning(host: str) -> None:
    assert exposure_warning(host) is None


@pytest.mark.parametrize(
    ("host", "where"),
    [
        ("0.0.0.0", "every network interface"),
        ("::", "every network interface"),
        ("192.168.1.20", "192.168.1.20"),
        ("werkplek.local", "werkplek.local"),
    ],
)
def test_other_hosts_are_warned_about(host: str, where: str) -> None:
    warning = exposure_warning(host)
    assert warning is not None and f"listens on {where}," in warning
    assert "--host 127.0.0.1" in warning


def test_review_prints_the_warning_before_it_binds(tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is on no interface here: binding fails, so nothing listens.
    with Project.open(tmp_path / "study.db"):
        pass  # an empty project: the app opens it before it binds
    args = ["review", "--project", str(tmp_path / "study.db"), "--coder", "ann"]
    result = CliRunner().invoke(app, [*args, "--host", "192.0.2.1", "--no-browser"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("warning: --host 192.0.2.1: the review app listens on 192.0.2.1,")
    assert "cannot listen on 192.0.2.1" in result.stderr

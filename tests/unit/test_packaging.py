"""The tested pins (constraints.txt) satisfy the version floors pyproject.toml declares."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    pairs = (line.split("==", 1) for line in lines if "==" in line and not line.startswith("#"))
    return {canonicalize_name(name): version.strip() for name, version in pairs}


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"].values()
    return [Requirement(r) for r in [*project["dependencies"], *(r for e in extras for r in e)]]


def test_every_pin_satisfies_the_declared_range() -> None:
    pinned = pins()
    outside = [
        f"{r.name}=={pinned[canonicalize_name(r.name)]} (needs {r.specifier})"
        for r in declared()
        if canonicalize_name(r.name) in pinned
        and not r.specifier.contains(pinned[canonicalize_name(r.name)])
    ]
    assert not outside


def test_floors_above_published_advisories() -> None:
    floors = {r.name: r.specifier for r in declared()}
    assert not floors["pypdf"].contains("6.5.9") and floors["pypdf"].contains("6.6.0")
    assert not floors["starlette"].contains("1.0.0") and floors["starlette"].contains("1.0.1")


def test_the_review_extra_stays_as_an_empty_alias() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["optional-dependencies"]["review"] == []
    names = {Requirement(r).name.lower() for r in project["dependencies"]}
    assert {"starlette", "jinja2", "uvicorn", "python-multipart"} <= names

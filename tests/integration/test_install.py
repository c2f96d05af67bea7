"""An installed copy works outside the checkout: build the wheel, install it into a fresh
virtualenv (no network), then code, classify, review and retrain with the shipped defaults
from a folder that is not the repository."""

from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from autocoder.store import Project

pytestmark = pytest.mark.slow  # a wheel build, a venv and four CLI runs: about a minute

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "respondent-b.txt"
# What the build reads; copied so the build writes nothing into the checkout.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "autocoder", "models")
SOURCES += ("training_data",)


def run(args: list[str | Path], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{args[:3]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh venv with the wheel installed; the shared dependencies are made visible with a
    .pth file after the install (so pip sees no other autocoder). Returns its bin folder and
    an environment without PYTHONPATH (which would point at the checkout)."""
    root = tmp_path_factory.mktemp("install")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(REPO / name, source / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip"]
    wheels = root / "wheels"
    run([*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w", wheels, "."],
        source, env)  # fmt: skip
    (wheel,) = wheels.glob("autocoder-*.whl")
    venv = root / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], root, env)
    python = venv / "bin" / "python"
    run([*pip, "--python", python, "install", "-q", "--no-deps", "--no-index", wheel], root, env)
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    root, env).strip())  # fmt: skip
    shared = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "shared_dependencies.pth").write_text("\n".join(shared) + "\n", encoding="utf-8")
    return venv / "bin", env


@pytest.fixture(scope="module")
def coded(installed: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`autocoder code EXAMPLE --project study.db` run in a folder outside the checkout."""
    bin_dir, env = installed
    work = tmp_path_factory.mktemp("work")
    shutil.copy2(EXAMPLE, work / EXAMPLE.name)
    run([bin_dir / "autocoder", "code", EXAMPLE.name, "--project", "study.db"], work, env)
    return work


def test_the_installed_copy_is_not_the_checkout(installed: tuple[Path, dict[str, str]]) -> None:
    bin_dir, env = installed
    where = run(
        [bin_dir / "python", "-c", "import autocoder.shipped as s; print(s.DEFAULT_MODEL)"],
        bin_dir,
        env,
    )
    model = Path(where.strip())
    assert bin_dir.parent in model.parents and REPO not in model.parents
    assert model.parts[-4:] == ("autocoder", "_shipped", "models", "default")
    assert (model / "meta.json").is_file()


def test_the_review_app_needs_no_extra(installed: tuple[Path, dict[str, str]]) -> None:
    bin_dir, env = installed
    script = "import importlib.metadata as m; print('\\n'.join(m.requires('autocoder')))"
    requires = run([bin_dir / "python", "-c", script], bin_dir, env).splitlines()
    base = {Requirement(line).name.lower() for line in requires if "extra" not in line}
    assert {"starlette", "jinja2", "uvicorn", "python-multipart"} <= base
    assert not [line for line in requires if 'extra == "review"' in line]


def test_code_stores_suggestions_of_the_shipped_model(coded: Path) -> None:
    with Project.open(coded / "study.db", create=False) as project:
        models = project.models()
        records = list(project.coded_fragments(include_suggestions=True))
    assert [m["meta"]["model_id"] for m in models] == ["default"]
    assert records and all(r.suggestion is not None for r in records)
    assert {r.suggestion.model for r in records} == {models[0]["id"]}


def test_classify_uses_the_shipped_model_by_default(
    installed: tuple[Path, dict[str, str]], coded: Path
) -> None:
    bin_dir, env = installed
    run([bin_dir / "autocoder", "classify", EXAMPLE.name, "--out", "out.jsonl"], coded, env)
    lines = (coded / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines and all(json.loads(line)["suggestion"]["model"] == "default" for line in lines)


def test_retrain_finds_the_shipped_base_data(
    installed: tuple[Path, dict[str, str]], coded: Path
) -> None:
    """The default model's meta.json names its data by a repository path; the installed copy
    resolves it to the packaged corpus, unchanged since the model was trained (no note)."""
    bin_dir, env = installed
    script = (
        "import json; from autocoder.codebook import load_codebook; "
        "from autocoder.retrain import base_records; from autocoder.shipped import DEFAULT_MODEL; "
        "notes = []; records = base_records(DEFAULT_MODEL, load_codebook(), notes); "
        "print(json.dumps({'records': len(records), 'notes': notes}))"
    )
    found = json.loads(run([bin_dir / "python", "-c", script], coded, env))
    meta = json.loads((REPO / "models" / "default" / "meta.json").read_text(encoding="utf-8"))
    assert found["notes"] == [] and found["records"] >= meta["n_fragments"]


def test_review_serves_the_project(installed: tuple[Path, dict[str, str]], coded: Path) -> None:
    bin_dir, env = installed
    args = ["review", "--project", "study.db", "--coder", "anna", "--no-browser"]
    server = subprocess.Popen(
        [bin_dir / "autocoder", *args], cwd=coded, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = next(line.strip() for line in server.stdout if line.startswith("http://"))
        cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        browser = urllib.request.build_opener(cookies)
        browser.open(url, timeout=30).close()  # the token URL sets the session cookie
        with browser.open(url.split("?")[0], timeout=30) as response:
            page = response.read().decode("utf-8")
        assert response.status == 200 and EXAMPLE.name in page
    finally:
        server.terminate()
        server.wait(timeout=30)

"""Data flows one way (ARCHITECTURE.md): a module imports only modules that come before it.

Every module under ``autocoder/`` is parsed with ``ast``; every ``autocoder`` import in it counts,
at the top, inside functions and under ``if TYPE_CHECKING``. A new module must be placed in
ORDER: after every module it imports and before every module that imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "autocoder"
ROOT = "autocoder"  # the package's own __init__

# Leaves first, then the stages in the order data flows through them; the CLI last.
LEAVES = (
    "errors",
    "records",
    "files",
    "metrics",
    "config",
    "codebook",
    "jsonl",
    ROOT,
    "shipped",  # where the default model and starter corpus are (checkout or installed copy)
    "html_parts",  # escaping, inline PNG and the page shell of both HTML reports
)
INGEST = (
    "ingest_zip",
    "ingest_kinds",
    "ingest_docx",
    "ingest_formats",
    "ingest_text",
    "ingest_meta",
    "ingest",
)
SEGMENT = (
    "segment_sentences",
    "segment_cues",
    "segment_components",
    "segment_lines",
    "segment_blocks",
    "segment_analysis",
    "segment_pieces",
    "segment_arrays",
    "segment",
    "standoff",
)
CLASSIFY = (
    "classify.lexicon",
    "classify.cue_words",
    "classify.features",
    "classify.token_index",
    "classify.clauses",
    "classify.string_tables",
    "classify.batch_features",
    "classify.char_table",
    "classify.fast_vectoriser",
    "classify.contributions",
    "classify.descriptions",
    "classify.blocks",
    "classify.linear",
    "classify.fold_features",
    "classify.model",
    "classify",
    "classify.transformer",
    "classify.transformer_train",
)
MODELS = ("estimator_file", "model_versions", "modeldir", "train", "evaluate")
STORE = (
    "store_schema",
    "store_versions",
    "store_read",
    "store_review",
    "fragment_links",
    "store",
)
PIPELINE = ("pipeline", "transformer_dir")
PROJECT = (
    "project_work",
    "project_pool",
    "project_export",
    "project_import_rows",
    "project_import",
    "project",
    "retrain",
)
MATRIX = (
    "matrix_model",
    "matrix_priority",
    "matrix",
    "matrix_team",
    "matrix_sheets",
    "report_plots",
    "report_html",
    "matrix_io",
)
AGREEMENT = (
    "agreement_stats",
    "agreement",
    "agreement_result",
    "agreement_align",
    "agreement_sources",
    "report_agreement",
)
REVIEW = (
    "review.security",
    "review.markdown",
    "review.blind",
    "review.state",
    "review.changes",
    "review.adjudicate",
    "review.matrix_view",
    "review.routes",
    "review.app",
    "review",
    "review.server",
)
CLI = (
    "cli.app",
    "cli.core",
    "cli.agree",
    "cli.matrix",
    "cli.project",
    "cli.retrain",
    "cli.review",
    "cli",
    "__main__",
)
ORDER = (
    *LEAVES,
    *INGEST,
    *SEGMENT,
    *CLASSIFY,
    *MODELS,
    *STORE,
    *PIPELINE,
    *PROJECT,
    *MATRIX,
    *AGREEMENT,
    *REVIEW,
    *CLI,
)

# Backwards imports that remain on purpose, (importer, imported): why. Keep this empty;
# an entry must say why and until when, and is refused once the import is gone.
EXCEPTIONS: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or ROOT


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The module an ``from ... import`` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    here = [ROOT, *([] if importer == ROOT else importer.split("."))]
    base = here if is_package else here[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _short(dotted: str) -> str | None:
    """``autocoder.x.y`` -> ``x.y``; ``autocoder`` -> ROOT; anything else -> None."""
    if dotted == ROOT:
        return ROOT
    return dotted.removeprefix(ROOT + ".") if dotted.startswith(ROOT + ".") else None


def imports_of(name: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """Every autocoder module ``name`` imports, with the line (anywhere in the file)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [_short(alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _short(_absolute(node, name, path.name == "__init__.py"))
            if source is None:
                continue
            prefix = "" if source == ROOT else source + "."
            targets = [
                prefix + alias.name if prefix + alias.name in known else source
                for alias in node.names
            ]
        else:
            continue
        found.extend((target, node.lineno) for target in targets if target is not None)
    return list(dict.fromkeys(found))  # one entry per module and line


def backwards_imports() -> list[tuple[str, str, str]]:
    """(importer, imported, where) for every import of a module that is not earlier."""
    found = modules()
    rank = {name: index for index, name in enumerate(ORDER)}
    problems = []
    for name, path in found.items():
        for target, line in imports_of(name, path, set(found)):
            if target not in rank or name not in rank:
                continue  # reported by test_every_module_is_in_order
            if rank[target] >= rank[name]:
                problems.append((name, target, f"{path.relative_to(PACKAGE.parent)}:{line}"))
    return problems


def test_every_module_is_in_order() -> None:
    found = set(modules())
    missing = sorted(found - set(ORDER))
    assert not missing, (
        f"module(s) missing from ORDER in tests/unit/test_architecture.py: {', '.join(missing)}; "
        "add each to its stage, after every module it imports and before every module that "
        "imports it"
    )
    gone = sorted(set(ORDER) - found)
    assert not gone, f"ORDER names module(s) that no longer exist: {', '.join(gone)}"
    twice = sorted({name for name in ORDER if ORDER.count(name) > 1})
    assert not twice, f"ORDER names module(s) twice: {', '.join(twice)}"


def test_imports_point_only_to_earlier_modules() -> None:
    found = set(modules())
    unknown = [
        f"{name} imports autocoder.{target}, which does not exist"
        for name, path in modules().items()
        for target, _ in imports_of(name, path, found)
        if target not in found
    ]
    assert not unknown, "\n".join(unknown)
    wrong = [
        f"{where}: {name} imports {target}, which comes after it in the data flow"
        for name, target, where in backwards_imports()
        if (name, target) not in EXCEPTIONS
    ]
    assert not wrong, "backwards import(s) (see ARCHITECTURE.md):\n" + "\n".join(wrong)


def test_documented_exceptions_are_still_needed() -> None:
    present = {(name, target) for name, target, _ in backwards_imports()}
    stale = sorted(f"{a} -> {b}" for a, b in EXCEPTIONS if (a, b) not in present)
    assert not stale, f"no longer imported; remove from EXCEPTIONS: {', '.join(stale)}"


def test_the_checker_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    source = tmp_path / "probe.py"
    source.write_text(
        "from autocoder.matrix import Matrix\n"
        "def f():\n"
        "    from autocoder.review import routes\n"
        "    import autocoder.store\n"
        "    from . import pipeline\n"
        "    from .cli.app import app\n",
        encoding="utf-8",
    )
    known = {"matrix", "review", "review.routes", "store", "pipeline", "cli.app"}
    found = [target for target, _ in imports_of("probe", source, known)]
    assert found == ["matrix", "review.routes", "store", "pipeline", "cli.app"]

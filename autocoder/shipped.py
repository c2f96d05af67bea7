"""Where the shipped default model and starter corpus are, in a checkout or an installed copy.

In the repository they sit at the top (models/default, training_data). A wheel has no
repository: the build (setup.py) maps them into the package as autocoder/_shipped/, keeping
the same layout below it. Paths a model's meta.json stores (its training data, its base model)
are relative to this root, so a model names the same files in either layout.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """The folder holding models/ and training_data/: the installed package's copy if there
    is one, else the top of the source checkout."""
    packaged = resources.files("autocoder") / "_shipped"
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged.resolve()
    return CHECKOUT


DATA_ROOT = data_root()
DEFAULT_MODEL = DATA_ROOT / "models" / "default"
STARTER_CORPUS = DATA_ROOT / "training_data"


def portable_path(path: Path) -> str:
    """A path relative to the data root when inside it (models travel with the package)."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(DATA_ROOT).as_posix()
    except ValueError:
        return str(resolved)


def resolve_portable(name: str | Path) -> Path:
    """The file a path stored by ``portable_path`` names."""
    path = Path(name)
    return path if path.is_absolute() else DATA_ROOT / path

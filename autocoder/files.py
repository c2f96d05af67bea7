"""Atomic file writes: write to a temporary file beside the target, fsync, then rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write_chunks(path, [data])


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_chunks(path, [text.encode("utf-8")])


def atomic_write_lines(path: Path, lines: Iterable[str]) -> int:
    """Write ``lines`` (each without newline) atomically; returns the number written."""
    count = 0

    def chunks() -> Iterable[bytes]:
        nonlocal count
        for line in lines:
            count += 1
            yield (line + "\n").encode("utf-8")

    atomic_write_chunks(path, chunks())
    return count


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_chunks(path: Path, chunks: Iterable[bytes]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

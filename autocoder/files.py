"""Atomic writes: a file is written to a temporary file beside the target, fsynced and renamed;
a directory is filled as a temporary sibling and renamed into place as a whole. A failed
write removes its temporary file; one left by a killed process is removed by the next write of
the same file.

A crash at any point leaves the old or the new file (or directory), never a mix: a replaced
directory is first renamed aside (``.NAME.old-*``), and ``recover_directory`` renames it back
when the crash came before the new one was renamed in. Leftover siblings are hidden and removed
by the next replacement.
"""

from __future__ import annotations

import glob
import hashlib
import os
import secrets
import shutil
import signal
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

# Test hook: the process kills itself (SIGKILL) at the n-th step of a directory replacement
# (each file written, then each rename), to show that a real crash leaves no mixed directory.
CRASH_ENV = "AUTOCODER_TEST_CRASH_AT_STEP"
_steps = 0


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
    """Write ``chunks`` to ``path`` atomically; on any failure (an error in ``chunks``, a full
    disk, KeyboardInterrupt) the temporary file is removed and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    crash_point()


def _remove_orphans(path: Path) -> None:
    """Remove temporary files of ``path`` left by a process that was killed while writing
    (they may hold report text); a live writer's are left alone."""
    prefix = f".{path.name}."
    for leftover in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        pid = leftover.name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if os.name != "posix" or pid == os.getpid():
        return True  # elsewhere os.kill(pid, 0) would end the process: leave its files
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process
    return True


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def crash_point() -> None:
    """Count a step of a write; kill the process at the step ``CRASH_ENV`` names (tests)."""
    global _steps
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    _steps += 1
    if _steps == int(wanted):
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


@contextmanager
def replaced_directory(target: Path) -> Iterator[Path]:
    """Yield an empty hidden sibling of ``target`` to fill; when the block ends without error
    it replaces ``target`` as a whole (on an error it is removed and ``target`` is untouched)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_directory(target)
    for leftover in _siblings(target, ".new-") + _siblings(target, ".old-"):
        shutil.rmtree(leftover, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        yield staging
        for path in staging.rglob("*"):
            if path.is_file():
                _fsync(path)
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def recover_directory(target: Path) -> bool:
    """Rename a directory set aside by an interrupted replacement back to ``target`` when
    ``target`` is missing; True when it did."""
    target = Path(target)
    if target.exists():
        return False
    aside = sorted(_siblings(target, ".old-"), key=lambda p: p.stat().st_mtime)
    if not aside:
        return False
    try:
        os.rename(aside[-1], target)
    except OSError:
        return target.exists()  # another process recovered it first
    return True


def _swap_in(staging: Path, target: Path) -> None:
    aside = target.parent / f".{target.name}.old-{secrets.token_hex(4)}"
    if target.exists():
        os.rename(target, aside)
        _fsync_dir(target.parent)
        crash_point()
    os.rename(staging, target)
    _fsync_dir(target.parent)
    crash_point()
    shutil.rmtree(aside, ignore_errors=True)


def _siblings(target: Path, mark: str) -> list[Path]:
    prefix = f".{target.name}{mark}"
    return [p for p in target.parent.glob(f"{glob.escape(prefix)}*") if p.is_dir()]


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return  # directories cannot be opened for fsync elsewhere
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

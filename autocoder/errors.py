"""One exception hierarchy for autocoder. The CLI turns any AutocoderError into one red line."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager


class AutocoderError(Exception):
    """Base of every error autocoder raises on purpose."""


class InputError(AutocoderError):
    """A file or record that cannot be read; names the file (and place) and the reason."""

    def __init__(self, source: str, reason: str, *, line: int | None = None) -> None:
        self.source = source
        self.reason = reason
        self.line = line
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")

    def __reduce__(self) -> tuple[object, ...]:
        # Worker processes send these back; the keyword-only ``line`` needs its own rebuild.
        return _rebuild_input_error, (type(self), self.source, self.reason, self.line)


def _rebuild_input_error(
    kind: type[InputError], source: str, reason: str, line: int | None
) -> InputError:
    return kind(source, reason, line=line)


class UnsupportedFormatError(InputError):
    """The file type is not one autocoder reads."""


class FileTooLargeError(InputError):
    """The file (or its uncompressed content) exceeds a documented cap."""


class DecodeError(InputError):
    """Bytes that no supported encoding decodes as text."""


class RecordError(InputError):
    """A JSONL/CSV record that is not a valid fragment record."""


class CodebookError(AutocoderError):
    """A codebook file that does not validate; the message names the field and line."""


class ModelError(AutocoderError):
    """A model directory that is missing, foreign, tampered with or does not fit."""


class CodebookMismatchError(ModelError):
    """A model trained on another codebook than the one in use."""


class TrainingError(AutocoderError):
    """Training data that cannot train a model."""


class StoreError(AutocoderError):
    """A project database that cannot be opened or written."""


class SchemaVersionError(StoreError):
    """A project file from a newer autocoder."""


class StoreBusyError(StoreError):
    """The project file stayed locked by another writer for the whole busy timeout."""


class StaleError(StoreError):
    """A change made from a state that is no longer the latest (another change came first)."""


class OptionalDependencyError(AutocoderError):
    """A feature needs an optional extra that is not installed."""


class AutocoderWarning(UserWarning):
    """Base of autocoder's warnings (shown, never fatal)."""


class MetadataWarning(AutocoderWarning):
    """A report without (complete) metadata; the missing fields become 'unknown'."""


class ModelFilesWarning(AutocoderWarning):
    """A model directory whose files cannot be checked, or saved with other library versions."""


class SkippedFileWarning(AutocoderWarning):
    """A file in a report folder that is no report file type; it is left out, by name."""


class FewExamplesWarning(AutocoderWarning):
    """A code with too few training examples to learn it well."""


@contextmanager
def collected_warnings() -> Iterator[list[str]]:
    """Collect autocoder's warnings raised inside the block as messages for the caller to show.

    The list is filled when the block ends.
    """
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AutocoderWarning)
        yield messages
    messages.extend(str(w.message) for w in caught if issubclass(w.category, AutocoderWarning))

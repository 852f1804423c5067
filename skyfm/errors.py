"""skyfm's own exceptions: every one names what was wrong and what was expected."""

from __future__ import annotations

from pathlib import Path


class SkyfmError(Exception):
    """Base class of every error skyfm raises on purpose."""


class DataFormatError(SkyfmError, ValueError):
    """A file or an in-memory observation is not what skyfm expected.

    ``file`` is the path (or ``None`` for in-memory data), ``field`` the column,
    HDU, key or array at fault, ``expected`` what would have been accepted.
    """

    def __init__(self, message: str, *, file: str | Path | None = None,
                 field: str | None = None, expected: str | None = None):
        self.file = None if file is None else str(file)
        self.field = field
        self.expected = expected
        parts = []
        if self.file:
            parts.append(f"{self.file}")
        if field:
            parts.append(f"field '{field}'")
        where = ": ".join(parts)
        text = f"{where}: {message}" if where else message
        if expected:
            text += f" (expected {expected})"
        super().__init__(text)


class UnknownFormatError(DataFormatError):
    """``read()`` could not tell which reader a path needs."""


class DataNotFoundError(SkyfmError, FileNotFoundError):
    """A registered data set or a file is not where skyfm looked for it."""


class OutputExistsError(DataFormatError, FileExistsError):
    """An output directory already holds something that skyfm will not overwrite."""


class IncompleteOutputError(DataFormatError):
    """An output directory is partial (an interrupted run) or changed since it was written."""


class ChecksumError(SkyfmError):
    """A file's sha256 differs from the one the registry records."""


class MissingExtraError(SkyfmError, ImportError):
    """An optional dependency is not installed."""


def require(module: str, extra: str):
    """Import an optional dependency, or say which skyfm extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(f"this needs the optional package '{module}': "
                                f"pip install 'skyfm[{extra}]'") from exc

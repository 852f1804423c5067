"""Readers: ``read(path)`` looks at a file or directory and picks the reader."""

from __future__ import annotations

from pathlib import Path

from skyfm.data.observations import ObservationSet
from skyfm.errors import DataNotFoundError, UnknownFormatError


def read(path, **kwargs) -> ObservationSet:
    """Read a file or directory into an :class:`ObservationSet`."""
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(f"{p}: no such file or directory")
    raise UnknownFormatError("no reader recognises this path", file=p)

"""Cheap content checks shared by the identify functions: leading bytes, gzip, FITS, tables.

Everything here reads at most a few KB (table columns: :data:`tabular.SNIFF_BYTES`) and never
raises for an unreadable file (it is then "nothing").
"""

from __future__ import annotations

import gzip
import os
from functools import lru_cache
from pathlib import Path

GZIP = b"\x1f\x8b"

#: names read as tables (also gzipped, ``.csv.gz``), whatever their content looks like
TABLE_EXTENSIONS = (".parquet", ".pq", ".csv", ".tsv", ".txt", ".dat", ".data", ".ecsv", ".tbl",
                    ".ipac", ".cds", ".mrt", ".lc")
XML_EXTENSIONS = (".xml", ".vot", ".votable")


def head(p: Path, n: int = 4096) -> bytes:
    """The first ``n`` bytes (empty when the file cannot be read or is not a regular file)."""
    if not os.path.isfile(p):
        return b""
    try:
        with open(p, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def gunzip_head(p: Path, n: int = 4096) -> bytes:
    """The first ``n`` bytes of a gzipped file's content (empty when it is not gzip)."""
    if not os.path.isfile(p):
        return b""
    try:
        with gzip.open(p, "rb") as fh:
            return fh.read(n)
    except Exception:  # corrupt gzip (zlib.error, EOFError, OSError): not a gzipped format
        return b""


def is_text(data: bytes) -> bool:
    """Leading bytes that are UTF-8 text (a table under any name)."""
    if not data or b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end is still text
        return exc.start >= len(data) - 3
    return True


def _stat_key(p) -> tuple[str, int, int] | None:
    """(path, mtime, size): the cache key of a file's content checks (None: not a file)."""
    try:
        st = os.stat(p)
    except (OSError, ValueError):
        return None
    return (os.fspath(p), st.st_mtime_ns, st.st_size)


def fits_kind(p) -> str | None:
    """``'fits'`` for a FITS file, ``'fits.gz'`` for a gzipped one (whose first 4 KB
    decompress), else None."""
    key = _stat_key(p)
    return None if key is None else _fits_kind(*key)


@lru_cache(maxsize=128)
def _fits_kind(path: str, mtime_ns: int, size: int) -> str | None:
    p = Path(path)
    h = head(p, 8)
    if h.startswith(b"SIMPLE"):
        return "fits"
    if h[:2] == GZIP and gunzip_head(p).startswith(b"SIMPLE"):
        return "fits.gz"
    return None


def _looks_like_table(p: Path) -> bool:
    from skyfm.data.io.tabular import looks_like_table

    return looks_like_table(p)


def table_kind(path) -> str | None:
    """``'xml'`` (VOTable), ``'table'`` (text, Parquet, ECSV/IPAC/CDS; gzipped or not) or None.

    Tables are known by their extension or, under any name, by content (text or Parquet whose
    first lines split into columns). FITS files are never tables here.
    """
    if not os.path.isfile(path):
        return None
    key = _stat_key(path)
    return None if key is None else _table_kind(*key)


@lru_cache(maxsize=128)
def _table_kind(path: str, mtime_ns: int, size: int) -> str | None:
    p = Path(path)
    name = p.name.lower()
    h = head(p)
    if h[:2] == GZIP:
        inner = gunzip_head(p)
        if inner.startswith(b"SIMPLE"):
            return None
        if name.endswith(tuple(e + ".gz" for e in TABLE_EXTENSIONS)) or (
                (inner[:4] == b"PAR1" or is_text(inner)) and _looks_like_table(p)):
            return "table"
    if h.startswith(b"SIMPLE"):
        return None
    if h.lstrip().startswith(b"<?xml") or name.endswith(XML_EXTENSIONS):
        return "xml"
    if name.endswith(TABLE_EXTENSIONS) or (
            (h[:4] == b"PAR1" or is_text(h)) and _looks_like_table(p)):
        return "table"
    return None


@lru_cache(maxsize=128)
def _columns_cached(path: str, mtime_ns: int, size: int) -> tuple[str, ...] | None:
    from skyfm.data.io.tabular import sniff_columns

    cols = sniff_columns(Path(path))
    return None if cols is None else tuple(cols)


def columns(path) -> list[str] | None:
    """Column names from the start of a table file (None when it is not one)."""
    key = _stat_key(path)
    if key is None:
        return None
    cols = _columns_cached(*key)
    return None if cols is None else list(cols)


def time_like_first_value(p: Path) -> bool:
    """A headerless table's first value is a Julian date or a date - 2450000."""
    from skyfm.data.io.tabular import first_row

    row = first_row(p)
    try:
        v = float(row[0])
    except (IndexError, ValueError):
        return False
    return 2.4e6 < v < 2.5e6 or 400.0 < v < 2.0e4


def files_in(folder) -> frozenset[str]:
    """Names of the entries of a folder (empty when it cannot be listed)."""
    key = _stat_key(folder)
    return frozenset() if key is None else _files_in(*key)


@lru_cache(maxsize=64)
def _files_in(path: str, mtime_ns: int, size: int) -> frozenset[str]:
    try:
        return frozenset(f.name for f in Path(path).iterdir())
    except OSError:
        return frozenset()

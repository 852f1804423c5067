"""Any table file -> DataFrame, identified by content rather than by name.

Parquet (``PAR1``), VOTable (XML), ECSV (``# %ECSV``, e.g. an astropy ``TimeSeries.write``),
IPAC (``|`` header bars or ``\\`` keywords), CDS/MRT (``Byte-by-byte Description``) are read
with ``astropy.table.Table.read``; anything else as delimited text: comma, tab or whitespace,
a header line (also a last ``#`` comment line) or none (then columns are ``col1``, ``col2``,
...). Gzipped files of any of these are read the same way, under any file name.
"""

from __future__ import annotations

import gzip
import io
import warnings
from pathlib import Path

from skyfm.data.io._common import check_file, wrap_errors
from skyfm.errors import DataFormatError

SNIFF_BYTES = 1 << 16


def raw_bytes(p: Path, n: int | None = None) -> bytes:
    """The file's bytes (gunzipped when gzipped); the first ``n`` only when given."""
    with wrap_errors(p, expected="a readable (optionally gzipped) file"):
        with open(p, "rb") as fh:
            magic = fh.read(2)
        opener = gzip.open if magic == b"\x1f\x8b" else open
        with opener(p, "rb") as fh:
            return fh.read() if n is None else fh.read(n)


def kind_of(data: bytes) -> str:
    """'parquet', 'votable', 'ecsv', 'ipac', 'cds', 'fits' or 'text' from leading bytes."""
    if data[:4] == b"PAR1":
        return "parquet"
    if data[:6] == b"SIMPLE":
        return "fits"
    head = data[:SNIFF_BYTES].lstrip()
    if head.startswith(b"<?xml") or head[:200].lower().startswith(b"<votable"):
        return "votable"
    if head.startswith(b"# %ECSV"):
        return "ecsv"
    if b"Byte-by-byte Description" in head:
        return "cds"
    first = head.split(b"\n", 1)[0]
    if first.startswith(b"\\") or (first.startswith(b"|") and first.rstrip().endswith(b"|")):
        return "ipac"
    return "text"


def _decode(p: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"not UTF-8 text (byte {exc.start})", file=p, field="content",
                              expected="a text, Parquet, FITS or VOTable table") from exc


def _split(line: str, sep: str | None) -> list[str]:
    return [c.strip() for c in (line.split(sep) if sep else line.split())]


def is_number(s: str) -> bool:
    """True when ``s`` parses as a float."""
    try:
        float(s)
        return True
    except ValueError:
        return False


def text_layout(text: str) -> tuple[list[str] | None, int, str | None]:
    """(header names or None, index of the first data line, separator or None = whitespace)."""
    lines = text.splitlines()
    comment_header = None
    start = 0
    for i, line in enumerate(lines):
        s = line.strip()
        if not s:
            start = i + 1
            continue
        if s.startswith("#"):
            body = s.lstrip("#").strip()
            if body:
                comment_header = body
            start = i + 1
            continue
        break
    first = lines[start] if start < len(lines) else ""
    sep = "," if "," in first else "\t" if "\t" in first else None
    toks = _split(first, sep)
    if toks and not any(is_number(t) for t in toks):
        return toks, start + 1, sep  # the first line is the header (names, no numbers)
    if comment_header is not None:
        names = _split(comment_header, sep)
        if len(names) == len(toks) or not toks:
            return names, start, sep
    return None, start, sep


def read_text(p: Path, text: str, names: list[str] | None = None):
    import pandas as pd

    header, start, sep = text_layout(text)
    lines = text.splitlines()
    body = "\n".join(lines[start:])
    with wrap_errors(p, field="content", expected="a delimited text table"):
        if not body.strip():
            df = pd.DataFrame(columns=header or [])
        else:
            df = pd.read_csv(io.StringIO(body), header=None, comment="#", low_memory=False,
                             sep=sep if sep else r"\s+", skipinitialspace=sep is not None,
                             engine="c")
    cols = names or header
    if cols is None:
        cols = [f"col{i + 1}" for i in range(df.shape[1])]
    elif df.shape[1] and df.shape[1] != len(cols):
        raise DataFormatError(f"{df.shape[1]} columns but the header names {len(cols)}",
                              file=p, field="header", expected="one name per column")
    df.columns = cols
    return df


def read_astropy(p: Path, data: bytes, fmt: str):
    """(DataFrame, units, time hints) of an astropy-readable table."""
    import numpy as np
    import pandas as pd
    from astropy.table import Table
    from astropy.time import Time

    astro_fmt = {"votable": "votable", "ecsv": "ascii.ecsv", "ipac": "ascii.ipac",
                 "cds": "ascii.cds"}[fmt]
    with wrap_errors(p, field="content", expected=f"a valid {fmt.upper()} table"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        src = io.BytesIO(data) if fmt == "votable" else data.decode("utf-8")
        t = Table.read(src, format=astro_fmt)
    units: dict = {}
    times: dict = {}
    out = {}
    for c in t.colnames:
        col = t[c]
        if isinstance(col, Time):
            out[c] = np.asarray(col.mjd, dtype=float)
            times[c] = {"system": "MJD", "scale": col.scale, "format": col.format}
            continue
        if getattr(col, "ndim", 1) > 1:  # fixed-length arrays: one array per row
            out[c] = list(np.ma.filled(np.ma.asarray(col, dtype=float), np.nan)) \
                if col.dtype.kind in "fiu" else list(np.asarray(col))
            continue
        if getattr(col, "unit", None) is not None:
            units[c] = col.unit.to_string()
        if col.dtype == object:  # variable-length arrays (Gaia epoch photometry)
            out[c] = list(col)
            continue
        arr = np.asarray(getattr(col, "value", col))
        mask = getattr(col, "mask", None)
        if mask is not None and np.any(mask):
            if arr.dtype.kind in "fciu":
                arr = np.where(np.asarray(mask), np.nan, arr.astype(float))
            else:  # masked strings/booleans: missing (None), never a filler value
                arr = np.where(np.asarray(mask), None, arr.astype(object))
        if arr.dtype.kind == "S":
            arr = arr.astype(str)
        out[c] = arr
    return pd.DataFrame(out), units, times


def read_frame(path, names: list[str] | None = None):
    """(DataFrame, units {column: unit}, time hints {column: info}, content kind)."""
    import pandas as pd

    p = check_file(path)
    data = raw_bytes(p)
    kind = kind_of(data)
    units: dict = {}
    times: dict = {}
    if kind == "parquet":
        with wrap_errors(p, expected="a Parquet table"):
            df = pd.read_parquet(io.BytesIO(data))
    elif kind == "fits":
        raise DataFormatError("is a FITS file", file=p, field="content",
                              expected="a text, Parquet or VOTable table")
    elif kind != "text":
        df, units, times = read_astropy(p, data, kind)
    else:
        df = read_text(p, _decode(p, data), names)
    dup = df.columns[df.columns.duplicated()]
    if len(dup):  # which of two 'mag' columns is meant? never guess
        raise DataFormatError(f"column {dup[0]!r} appears more than once", file=p,
                              field=str(dup[0]), expected="unique column names")
    return df, units, times, kind


def sniff_columns(path) -> list[str] | None:
    """Column names from the start of a file (None when it is not a table)."""
    p = Path(path)
    try:
        data = raw_bytes(p, SNIFF_BYTES)
        kind = kind_of(data)
        if kind == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(io.BytesIO(raw_bytes(p))).names)
        if kind == "fits":
            return None
        if kind != "text":
            df, _, _ = read_astropy(p, raw_bytes(p), kind)
            return [str(c) for c in df.columns]
        text = data.decode("utf-8", errors="strict" if len(data) < SNIFF_BYTES else "ignore")
        if len(data) == SNIFF_BYTES:
            text = text[: text.rfind("\n") + 1]
        header, start, sep = text_layout(text)
        if header is not None:
            return header
        lines = text.splitlines()
        if start < len(lines):
            return [f"col{i + 1}" for i in range(len(_split(lines[start], sep)))]
        return None
    except Exception:  # not a readable table: the caller falls back to other readers
        return None


def looks_like_table(path) -> bool:
    """Content check for files without a table extension: a table format, or text whose first
    lines split into the same number (>= 2) of fields."""
    p = Path(path)
    try:
        data = raw_bytes(p, SNIFF_BYTES)
    except DataFormatError:
        return False
    kind = kind_of(data)
    if kind != "text":
        return kind != "fits"
    text = data.decode("utf-8", errors="ignore")
    if len(data) == SNIFF_BYTES:
        text = text[: text.rfind("\n") + 1]
    header, start, sep = text_layout(text)
    rows = [ln for ln in text.splitlines()[start:start + 20] if ln.strip()]
    if not rows or rows[0].lstrip().startswith(("{", "[", "<")):
        return False
    counts = {len(_split(ln, sep)) for ln in rows}
    n = len(header) if header is not None else counts.pop() if len(counts) == 1 else 0
    return n >= 2 and counts <= {n} and all(
        any(is_number(t) for t in _split(ln, sep)) for ln in rows)


def first_row(path) -> list[str]:
    """The first data row's fields of a text table (empty when there is none)."""
    try:
        data = raw_bytes(Path(path), SNIFF_BYTES)
    except DataFormatError:
        return []
    text = data.decode("utf-8", errors="ignore")
    _, start, sep = text_layout(text)
    lines = text.splitlines()
    return _split(lines[start], sep) if start < len(lines) else []

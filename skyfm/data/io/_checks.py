"""Column checks the table-based readers share: numeric columns hold numbers (not booleans or
text), column names are unique, a table has rows. Each raises a DataFormatError naming the
file, the column and what was expected."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np

from skyfm.errors import DataFormatError


def numeric(df, col: str, path, *, what: str = "numbers") -> np.ndarray:
    """``df[col]`` as float64; booleans or text (other than blanks, read as NaN) raise."""
    import pandas as pd

    s = df[col]
    if s.dtype == bool or (s.dtype == object and
                           s.map(lambda v: isinstance(v, (bool, np.bool_))).any()):
        raise DataFormatError("boolean values in a numeric column", file=path, field=str(col),
                              expected=what)
    if s.dtype.kind in "iuf":
        return s.to_numpy(dtype=float)
    vals = pd.to_numeric(s, errors="coerce")
    bad = vals.isna().to_numpy() & s.notna().to_numpy()
    if bad.any():
        text = s.astype(str).str.strip().to_numpy()
        bad &= text != ""
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(f"non-numeric value {s.iloc[i]!r} (row {i + 1} of the table)",
                              file=path, field=str(col), expected=what)
    return vals.to_numpy(dtype=float)


def unique_columns(path) -> None:
    """Raise if the table's header names a column twice (pandas would rename the second)."""
    p = Path(path)
    name = p.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            names = list(pq.read_schema(p).names)
        else:
            opener = gzip.open if name.endswith(".gz") else open
            with opener(p, "rt", encoding="utf-8", errors="replace", newline="") as fh:
                names = next(csv.reader([fh.readline()]), [])
    except Exception:  # noqa: BLE001 - unreadable: the table reader reports it with its field
        return
    seen = set()
    for c in names:
        if c in seen:
            raise DataFormatError(f"column {c!r} appears twice", file=p, field=c,
                                  expected="unique column names")
        seen.add(c)


def require_rows(df, path, what: str) -> None:
    """Raise if the table has its header but no rows."""
    if len(df) == 0:
        raise DataFormatError("the table has no rows (header only)", file=path, field=None,
                              expected=f"at least one {what} row")

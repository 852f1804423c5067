"""Checks ``skyfm serve`` makes on a ``skyfm discover`` OUT directory before serving it.

A run killed while writing leaves a truncated ``candidates.csv``; served as is, its last
row would have an empty or cut rank and every page load would fail. :func:`check_candidates`
refuses such a file with a :class:`~skyfm.errors.DataFormatError` naming the file, the row
and the field instead.
"""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from skyfm.errors import DataFormatError

__all__ = ["check_candidates", "check_feedback", "reading"]


@contextmanager
def reading(path: Path):
    """Turn a parser's failure on ``path`` (a CSV of the OUT directory) into a
    :class:`DataFormatError` naming the file, instead of a bare pandas/codec error."""
    import pandas as pd

    try:
        yield
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            csv.Error) as exc:
        raise DataFormatError(f"not a readable CSV table ({str(exc).strip()[:200]})",
                              file=path, expected="the file skyfm wrote there") from None


def check_candidates(path: Path) -> None:
    """Raise DataFormatError unless ``path`` (a ``candidates.csv``) is a complete list.

    Checked: the file ends with a newline (else its last line was cut off); every row has a
    non-empty, unique ``object_id`` and a positive whole ``rank``; ``score`` is a number or
    empty. Row numbers in messages are file lines (the header is line 1).
    """
    path = Path(path)
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        if size == 0:
            raise DataFormatError("the file is empty", file=path,
                                  expected="a header and one row per candidate")
        fh.seek(size - 1)
        if fh.read(1) not in (b"\n", b"\r"):
            raise DataFormatError(
                "the last line has no line end: the file looks truncated (was `skyfm discover` "
                "interrupted?)", file=path, expected="a complete file: rerun `skyfm discover`")
    df = _read(path)
    if "object_id" not in df.columns:
        raise DataFormatError("column missing", file=path, field="object_id",
                              expected="columns object_id, score, rank, ...")
    ids = df["object_id"].astype(str).str.strip()
    empty = ids == ""
    if empty.any():
        raise DataFormatError(f"empty object id on line {_line(empty)}", file=path,
                              field="object_id", expected="an id on every row")
    dup = ids.duplicated()
    if dup.any():
        raise DataFormatError(f"object id {ids[dup].iloc[0][:80]!r} repeated on line "
                              f"{_line(dup)}", file=path, field="object_id",
                              expected="each candidate once")
    for col, allow_empty in (("rank", False), ("score", True)):
        if col not in df.columns:
            continue
        text = df[col].astype(str).str.strip()
        num = _to_float(text)
        blank = text.str.lower().isin(["", "nan"]).to_numpy() if allow_empty else False
        bad = np.isnan(num) & ~np.asarray(blank, bool)
        if col == "rank":
            bad |= ~np.isnan(num) & ((num < 1) | (num != np.round(num)))
        if bad.any():
            raise DataFormatError(f"value {text[bad].iloc[0][:40]!r} on line {_line(bad)}",
                                  file=path, field=col,
                                  expected="a whole number >= 1" if col == "rank" else
                                  "a number or an empty cell")


def check_feedback(path: Path) -> None:
    """Raise DataFormatError unless every complete line of ``path`` (``feedback.csv``) has
    the header's number of fields and the header names ``object_id`` and ``label``.

    An unterminated last line (a write cut short) is left to
    :func:`skyfm.discover.feedback.load_feedback` to judge. An absent file is fine.
    """
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return
    with reading(path), path.open(newline="", encoding="utf-8") as fh:
        text = fh.read()
    complete = text if text.endswith(("\n", "\r")) else text[:max(text.rfind("\n"), 0)]
    rows = list(csv.reader(io.StringIO(complete)))
    if not rows:
        return
    header = rows[0]
    for col in ("object_id", "label"):
        if col not in header:
            raise DataFormatError("column missing", file=path, field=col,
                                  expected="columns object_id, label, timestamp, source")
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataFormatError(f"line {i} has {len(row)} fields", file=path,
                                  expected=f"{len(header)} fields, as the header")


def _read(path: Path):
    import pandas as pd

    with reading(path):
        return pd.read_csv(path, dtype=str, keep_default_na=False)


def _to_float(text) -> np.ndarray:
    import pandas as pd

    return pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(float)


def _line(mask) -> int:
    """File line of the first True in ``mask`` (rows counted from line 2)."""
    return int(np.argmax(np.asarray(mask))) + 2

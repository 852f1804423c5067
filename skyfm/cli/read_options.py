"""Shared options of the commands that read a data set, and :func:`read_input`.

``--column KEY=COL`` (repeatable, or a comma list ``time=mjd,mag=m``; KEY is a standard name:
object_id, time, band, mag, mag_err, flux, flux_err, upper_limit; COL a column name, or a
0-based position for headerless files; ``band=`` alone means one unnamed band),
``--duplicates mean|first|error``, ``--time-format``, ``--modality`` and ``--file``. Each is
passed to :func:`skyfm.read` only when the user gives it.
"""

from __future__ import annotations

from typing import Annotated

import typer

COLUMN_HELP = ("light-curve tables: KEY=COL column mapping, repeatable or comma-separated "
               "(KEY: object_id, time, band, mag, mag_err, flux, flux_err, upper_limit; COL: a "
               "column name or a 0-based position); e.g. --column time=HJD --column mag=V")
ColumnOpt = Annotated[list[str] | None, typer.Option("--column", help=COLUMN_HELP)]
DuplicatesOpt = Annotated[str | None, typer.Option(
    "--duplicates", help="repeated (object, band, time) rows: mean (inverse-variance, the "
                         "default), first or error")]
ModalityOpt = Annotated[str | None, typer.Option(
    "--modality", help="read only this modality (lightcurve, spectrum, image, table)")]
TimeFormatOpt = Annotated[str | None, typer.Option(
    "--time-format", help="light-curve tables: the time column's system when its name does not "
                          "say: mjd, jd, hjd, bjd, btjd, bkjd, gaia or e.g. hjd-2450000")]
FileOpt = Annotated[str | None, typer.Option(
    "--file", help="inside a data-set directory: read only this file")]

STANDARD = ("object_id", "time", "band", "mag", "mag_err", "flux", "flux_err", "upper_limit")
DUPLICATES = ("mean", "first", "error")


def parse_columns(values: list[str] | None) -> dict | None:
    """``["time=mjd", "mag=m,mag_err=dm"]`` -> ``{"time": "mjd", "mag": "m", "mag_err": "dm"}``;
    digits become positions, an empty value None (``band=``: one unnamed band)."""
    if not values:
        return None
    out: dict = {}
    for value in values:
        for item in (v.strip() for v in value.split(",")):
            if not item:
                continue
            key, sep, col = (s.strip() for s in item.partition("="))
            if not sep or key not in STANDARD:
                raise typer.BadParameter(f"{item!r}: expected KEY=COL with KEY one of "
                                         + ", ".join(STANDARD), param_hint="--column")
            if key in out:
                raise typer.BadParameter(f"{key} given twice", param_hint="--column")
            out[key] = int(col) if col.isdigit() else (col or None)
    return out or None


def read_input(path, *, columns: list[str] | dict | None = None, duplicates: str | None = None,
               modality: str | None = None, file: str | None = None, limit: int | None = None,
               time_format: str | None = None, **kwargs):
    """:func:`skyfm.read` with the options the user gave (the others are not passed)."""
    from skyfm.data import read

    kw = dict(kwargs)
    cols = columns if isinstance(columns, dict) else parse_columns(columns)
    if cols:
        kw["columns"] = cols
    if duplicates is not None:
        if duplicates not in DUPLICATES:
            raise typer.BadParameter(f"{duplicates!r}: expected one of {', '.join(DUPLICATES)}",
                                     param_hint="--duplicates")
        kw["duplicates"] = duplicates
    given = {"time_format": time_format, "modality": modality, "file": file, "limit": limit}
    kw |= {k: v for k, v in given.items() if v is not None}  # unset options: reader defaults
    return read(path, **kw)

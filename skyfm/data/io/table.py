"""Long-format light-curve tables (one row per measurement).

Files are read by content through :mod:`skyfm.data.io.exports` (any export layout, CSV/TSV/
whitespace/headerless text, Parquet, ECSV/IPAC/CDS/VOTable, gzipped or not);
:func:`lightcurves_from_frame` builds curves from a DataFrame with the standard columns.

Standard columns: ``object_id``, ``time`` (MJD, days), ``band`` and either ``mag``/``mag_err``
or ``flux``/``flux_err``, optional ``upper_limit`` (bool). Any other table is read by giving
``columns={standard_name: your_column}``, e.g.
``read("lc.csv", columns={"object_id": "oid", "time": "mjd", "band": "filter", "flux": "f",
"flux_err": "df"})``; ``columns={"band": None}`` reads a single-band table (band ``"x"``).
"""

from __future__ import annotations

import numpy as np

from skyfm.data.io._common import (
    Progress,
    build_lightcurves,
    check_file,
    new_report,
    wrap_errors,
)
from skyfm.errors import DataFormatError

STANDARD = ("object_id", "time", "band", "mag", "mag_err", "flux", "flux_err", "upper_limit")


def read_table_file(path, columns: list[str] | None = None):
    """Parquet or CSV (optionally gzipped) into a DataFrame, errors wrapped."""
    import pandas as pd

    p = check_file(path)
    name = p.name.lower()
    with wrap_errors(p, expected="a readable Parquet/CSV table"):
        if name.endswith(".parquet") or name.endswith(".pq"):
            return pd.read_parquet(p, columns=columns)
        if name.endswith((".csv", ".csv.gz", ".txt", ".tsv")):
            sep = "\t" if name.endswith(".tsv") else ","
            return pd.read_csv(p, usecols=columns, sep=sep, low_memory=False)
    raise DataFormatError("unknown table extension", file=p, field=None,
                          expected=".parquet, .csv or .csv.gz")


def lightcurves_from_frame(df, *, source, columns: dict | None = None, kind: str | None = None,
                           flux_unit: str | None = None, survey: str | None = None,
                           reader: str = "table", dataset: str | None = None, labels=None,
                           meta=None, common_meta=None, report=None, strict: bool = False,
                           limit: int | None = None, progress: Progress = None,
                           band_names: dict | None = None, extra: dict | None = None,
                           duplicates: str | None = None):
    """Build light curves from a long DataFrame; ``columns`` maps standard names to columns."""
    report = report if report is not None else new_report(source)
    cmap = {k: k for k in STANDARD}
    cmap.update(columns or {})
    unknown = set(columns or {}) - set(STANDARD)
    if unknown:
        raise DataFormatError(f"unknown standard name(s) {sorted(unknown)} in columns=",
                              file=source, field=sorted(unknown)[0],
                              expected="keys among " + ", ".join(STANDARD))

    def has(k):
        return cmap.get(k) is not None and cmap[k] in df.columns

    for k in ("object_id", "time", "band"):
        if k == "band" and cmap["band"] is None:  # columns={"band": None}: one unnamed band
            continue
        if not has(k):
            raise DataFormatError(f"no column {cmap[k]!r} for {k}", file=source, field=cmap[k],
                                  expected=f"a {k} column (or columns={{'{k}': name}})")
    if kind is None:
        if has("mag") and has("flux"):
            raise DataFormatError("both magnitude and flux columns", file=source, field="mag",
                                  expected="either mag/mag_err or flux/flux_err (or pass kind=)")
        if has("mag"):
            kind = "mag"
        elif has("flux"):
            kind = "flux"
        else:
            raise DataFormatError("no measurement column", file=source, field="mag",
                                  expected=f"{cmap['mag']!r} or {cmap['flux']!r}")
    vcol, ecol = (cmap["mag"], cmap["mag_err"]) if kind == "mag" else (cmap["flux"],
                                                                       cmap["flux_err"])
    other = cmap["flux_err"] if kind == "mag" else cmap["mag_err"]
    if other in df.columns and ecol not in df.columns:
        raise DataFormatError(f"{kind} values with an {other!r} column", file=source,
                              field=other, expected=f"{ecol!r} errors for {vcol!r} values")
    if vcol not in df.columns:
        raise DataFormatError(f"no column {vcol!r}", file=source, field=vcol,
                              expected=f"a {kind} column")
    for c in (cmap["time"], vcol, ecol):
        if c in df.columns and df[c].dtype == bool:
            raise DataFormatError("boolean values", file=source, field=c,
                                  expected="numbers (time, magnitude, flux or error)")
    err = df[ecol].to_numpy() if ecol in df.columns else None
    band = df[cmap["band"]].astype(str).to_numpy() if has("band") else "x"
    if band_names and not isinstance(band, str):
        import pandas as pd

        band = pd.Series(band).map(lambda b: band_names.get(b, b)).to_numpy()
    ul = None
    if has("upper_limit"):
        col = df[cmap["upper_limit"]]
        if col.dtype == bool:
            ul = col.to_numpy()
        else:
            s = col.astype(str).str.strip().str.lower()
            okv = s.isin(["true", "false", "1", "0", "1.0", "0.0"])
            if not okv.all():
                raise DataFormatError(f"non-boolean value {col[~okv].iloc[0]!r}", file=source,
                                      field=cmap["upper_limit"], expected="True/False or 1/0")
            ul = s.isin(["true", "1", "1.0"]).to_numpy()
    lcs = build_lightcurves(
        df[cmap["object_id"]].to_numpy(), df[cmap["time"]].to_numpy(), df[vcol].to_numpy(),
        err, band, upper_limit=ul, kind=kind, flux_unit=flux_unit, source=source,
        survey=survey, reader=reader, dataset=dataset, labels=labels, meta=meta,
        common_meta=common_meta, report=report, strict=strict, limit=limit,
        errors_given=err is not None, progress=progress, extra=extra, duplicates=duplicates,
        fields={"time": cmap["time"], "value": vcol, "error": ecol, "band": cmap["band"],
                "object_id": cmap["object_id"], "upper_limit": cmap["upper_limit"]})
    return lcs, report


def read_lightcurve_table(path, *, columns: dict | None = None, kind: str | None = None,
                          flux_unit: str | None = None, time_format: str | None = None,
                          duplicates: str | None = None, labels=None, strict: bool = False,
                          limit: int | None = None, dataset: str | None = None,
                          survey: str | None = None, progress: Progress = None):
    """Read a light-curve table of any layout and format, identified by its content.

    See :mod:`skyfm.data.io.exports`: column aliases of the usual exports, ``columns=``
    (standard name -> column name or 0-based position), ``time_format=``, ``duplicates=``
    ('mean', 'first' or 'error' for repeated (object, band, time) rows)."""
    from skyfm.data.io.exports import read_export

    return read_export(path, columns=columns, kind=kind, flux_unit=flux_unit,
                       time_format=time_format, duplicates=duplicates, labels=labels,
                       strict=strict, limit=limit, dataset=dataset, survey=survey,
                       progress=progress, catalog_fallback=columns is None)


def looks_like_lightcurve_table(columns) -> bool:
    """A time column and a magnitude or flux column (any of the usual export names)."""
    from skyfm.data.io.lccolumns import is_lightcurve

    return is_lightcurve(columns)


def detect_wavelength_unit(w: np.ndarray) -> str:
    """Guess a wavelength unit from the median value: < 30 -> um, < 3000 -> nm, else Angstrom."""
    med = float(np.nanmedian(w)) if w.size else 1.0
    if med < 30:
        return "um"
    if med < 3000:
        return "nm"
    return "Angstrom"


def identify_lightcurve_table(path) -> bool:
    """A table (any name, gzipped or not) whose columns hold time and magnitude/flux, or a
    headerless 2-4 column text table whose first value is a date (OGLE, ASAS)."""
    from pathlib import Path

    from skyfm.data.io import sniff

    p = Path(path)
    kind = sniff.table_kind(p)
    if kind is None:
        return False
    cols = sniff.columns(p)
    if not cols:
        return False
    if looks_like_lightcurve_table(cols):
        return True
    if kind != "table":
        return False
    from skyfm.data.io.catalogs import _known

    return (2 <= len(cols) <= 4 and cols == [f"col{i + 1}" for i in range(len(cols))]
            and not _known(p.name) and sniff.time_like_first_value(p))

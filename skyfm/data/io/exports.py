"""Light-curve tables as people export them (ZTF/IRSA, Gaia, ATLAS, ASAS-SN, OGLE, LSST, ...).

The table is read by content (:mod:`.tabular`), its columns found by alias (:mod:`.lccolumns`)
or the user's ``columns=`` (names, or 0-based positions for headerless files), times converted
to MJD-like days (:mod:`.lctime`), bands resolved to canonical names (:mod:`skyfm.data.bands`).
A table without an object-id column is **one** light curve named after the file. What was
inferred (columns, time system, bands, flux unit) is written to ``report.warnings`` and to each
curve's ``meta['time']`` / ``meta['columns']``.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from skyfm.data.bands import resolve_bands
from skyfm.data.io import lccolumns, lctime
from skyfm.data.io._common import (
    DataQualityWarning,
    Progress,
    build_lightcurves,
    finish,
    new_report,
    to_float,
)
from skyfm.data.io.tabular import read_frame
from skyfm.errors import DataFormatError

# default flux units and single bands of the exports
SURVEY_FLUX_UNIT = {"LSST": "nJy", "Gaia DR3": "e-/s", "ATLAS": "uJy", "ASAS-SN": "mJy"}
# forced photometry (fluxes stay finite below zero) and Gaia (errors are given for fluxes only)
PREFER_FLUX = ("ATLAS", "ASAS-SN", "LSST", "Gaia DR3")
_SUFFIXES = re.compile(r"(\.(gz|csv|tsv|txt|dat|ecsv|tbl|ipac|cds|mrt|parquet|pq|xml|vot|"
                       r"votable|lc|data))+$", re.IGNORECASE)


def object_name(p: Path) -> str:
    """The object id of a single-curve file: its name without table/gzip extensions."""
    return _SUFFIXES.sub("", p.name) or p.name


def _user_columns(columns, df, p: Path) -> dict:
    given = {}
    for k, v in (columns or {}).items():
        if k not in lccolumns.STANDARD:
            raise DataFormatError(f"unknown standard name {k!r} in columns=", file=p, field=k,
                                  expected="keys among " + ", ".join(lccolumns.STANDARD))
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            if not 0 <= int(v) < df.shape[1]:
                raise DataFormatError(f"column position {v} for {k} (the table has "
                                      f"{df.shape[1]} columns)", file=p, field=k,
                                      expected=f"0..{df.shape[1] - 1}")
            v = df.columns[int(v)]
        elif v is not None and v not in df.columns:
            raise DataFormatError(f"no column {v!r} for {k} (columns=)", file=p, field=str(v),
                                  expected=f"one of {list(map(str, df.columns))[:20]}")
        given[k] = v
    return given


def _numeric(df, col, p: Path, what: str) -> np.ndarray:
    s = df[col]
    if s.dtype == bool:
        raise DataFormatError(f"boolean values in the {what} column", file=p, field=str(col),
                              expected=f"numbers ({what})")
    return to_float(s.to_numpy(), p, str(col))


def _limits(df, col, p: Path):
    """ASAS-SN style magnitudes: '>17.5' is an upper limit of 17.5."""
    s = df[col]
    if s.dtype != object:
        return _numeric(df, col, p, "magnitude"), None
    txt = s.astype(str).str.strip()
    ul = txt.str.startswith(">").to_numpy()
    vals = to_float(txt.str.lstrip(">").to_numpy(), p, str(col))
    return vals, ul if ul.any() else None


def read_export(path, *, columns: dict | None = None, kind: str | None = None,
                flux_unit: str | None = None, time_format: str | None = None,
                duplicates: str | None = None, labels=None, strict: bool = False,
                limit: int | None = None, dataset: str | None = None,
                survey: str | None = None, progress: Progress = None,
                catalog_fallback: bool = True):
    """Read one light-curve table file (see module docstring) into an ObservationSet.

    ``catalog_fallback``: a table whose id column never repeats (one row per object, no
    ``columns=`` given) is a catalogue; it is read as one, with a report line saying why."""
    p = Path(path)
    df, units, time_hints, content = read_frame(p)
    report = new_report(p)
    if len(df) == 0:
        raise DataFormatError("no data rows (a header only)", file=p, field="rows",
                              expected="at least one measurement row")
    if "g_transit_time" in df.columns:
        df = gaia_wide_to_long(df, p, report)
    given = _user_columns(columns, df, p)
    headerless = all(str(c) == f"col{i + 1}" for i, c in enumerate(df.columns))
    if headerless and not given:
        # OGLE/ASAS style: time, magnitude, error
        if df.shape[1] < 2:
            raise DataFormatError("one column and no header", file=p, field="header",
                                  expected="time and magnitude columns (or columns=)")
        given = {"time": "col1", "mag": "col2", **({"mag_err": "col3"} if df.shape[1] > 2
                                                    else {})}
        report.warnings.append(f"{p}: no header: columns 1, 2{', 3' if df.shape[1] > 2 else ''} "
                               "read as time, magnitude, error (pass columns= otherwise)")
    cmap = lccolumns.find_columns(df.columns, given)
    survey = survey or lccolumns.survey_of(df.columns)
    if cmap["time"] is None:
        raise DataFormatError("no time column", file=p, field="time",
                              expected="one of " + ", ".join(lccolumns.ALIASES["time"]) +
                              " (or columns={'time': name})")
    if (catalog_fallback and not given and cmap["object_id"] is not None and len(df) > 1
            and not df[cmap["object_id"]].duplicated().any()):
        from skyfm.data.io.catalogs import read_catalog

        out = read_catalog(p, limit=limit, dataset=dataset, strict=strict)
        out.report.warnings.append(
            f"{p}: read as a catalogue: every value of id column {cmap['object_id']!r} is "
            "different (one row per object); to read light curves of one point each, pass "
            "columns={'object_id': ...}")
        return out
    if kind is None and ("mag" in given) != ("flux" in given):
        kind = "mag" if "mag" in given else "flux"  # the user's mapping decides
    kind = _choose_kind(cmap, kind, survey, p, report)
    vcol, ecol = (cmap["mag"], cmap["mag_err"]) if kind == "mag" else (cmap["flux"],
                                                                       cmap["flux_err"])
    if vcol is None:
        raise DataFormatError(f"no {kind} column", file=p, field=kind,
                              expected=f"one of {lccolumns.ALIASES[kind]} (or columns=)")
    keep = np.ones(len(df), bool)
    flags = next((c for c in df.columns if str(c).lower() == "catflags"), None)
    if flags is not None:
        bad = _numeric(df, flags, p, "flag") != 0
        if bad.any():
            if strict:
                raise DataFormatError(f"{int(bad.sum())} flagged row(s)", file=p,
                                      field=str(flags), expected="catflags == 0 (strict=True)")
            report.drop(f"ZTF {flags} != 0 (flagged exposure)", int(bad.sum()))
            keep &= ~bad
    for flag in (c for c in df.columns if str(c).lower() in GAIA_REJECTED):
        bad = _bool_flags(df[flag], p, flag)
        if bad.any():
            if strict:
                raise DataFormatError(f"{int(bad.sum())} rejected row(s)", file=p,
                                      field=str(flag), expected="no rejected rows (strict=True)")
            report.drop(f"Gaia {flag}", int((bad & keep).sum()))
            keep &= ~bad
    df = df[keep].reset_index(drop=True)
    tcol = cmap["time"]
    t_raw = _numeric(df, tcol, p, "time")
    if tcol in time_hints and time_format is None:
        t, tinfo = t_raw, {"column": str(tcol), **time_hints[tcol], "note": "MJD (Time column)"}
    else:
        name = "jd" if headerless and tcol == "col1" and time_format is None else str(tcol)
        t, tinfo = lctime.to_mjd(t_raw, name, time_format=time_format, survey=survey, source=p)
        tinfo["column"] = str(tcol)
    if kind == "mag":
        val, ul = _limits(df, vcol, p)
    else:
        val, ul = _numeric(df, vcol, p, "flux"), None
    err = _numeric(df, ecol, p, "error") if ecol is not None else None
    if ul is not None and err is not None:
        err = np.where(ul & (err >= 90), np.nan, err)  # 99.99 placeholders of limits
    if cmap["upper_limit"] is not None:
        col = df[cmap["upper_limit"]]
        s = col.astype(str).str.strip().str.lower()
        okv = s.isin(["true", "false", "1", "0", "1.0", "0.0"])
        if not okv.all():
            raise DataFormatError(f"non-boolean value {col[~okv].iloc[0]!r}", file=p,
                                  field=str(cmap["upper_limit"]), expected="True/False or 1/0")
        ul = s.isin(["true", "1", "1.0"]).to_numpy() | (ul if ul is not None else False)
    band, band_note = _bands(df, cmap["band"], survey, p, report)
    if cmap["object_id"] is None:
        oid = np.full(len(df), object_name(p), dtype=object)
        id_note = f"one object (no id column), object_id {object_name(p)!r} from the file name"
    else:
        oid = df[cmap["object_id"]].to_numpy()
        id_note = f"object ids from {cmap['object_id']!r}"
    unit = (flux_unit or units.get(vcol)) if kind == "flux" else None
    if kind == "flux" and unit is None:
        unit = lccolumns.FLUX_UNITS.get(str(vcol).lower()) or SURVEY_FLUX_UNIT.get(survey)
    used = {k: str(cmap[k]) for k in ("object_id", "time", "band", "upper_limit")
            if cmap[k] is not None}
    used[kind] = str(vcol)
    if ecol is not None:
        used[f"{kind}_err"] = str(ecol)
    report.warnings.append(
        f"{p}: read as light curves ({content}{', ' + survey if survey else ''}): {id_note}; "
        f"time from {tcol!r} as {tinfo['note']} converted to MJD-like days"
        f"{' (scale ' + tinfo['scale'] + ')' if tinfo.get('scale') else ''}; "
        f"{kind} from {vcol!r}{' in ' + unit if unit else ''}; {band_note}")
    lcs = build_lightcurves(
        oid, t, val, err, band, upper_limit=ul, kind=kind, flux_unit=unit, source=p,
        survey=survey, reader="table", dataset=dataset, labels=labels, report=report,
        strict=strict, limit=limit, errors_given=err is not None, progress=progress,
        duplicates=duplicates, common_meta={"time": tinfo, "columns": used},
        fields={"time": str(tcol), "value": str(vcol), "error": str(ecol),
                "band": str(cmap["band"]), "object_id": str(cmap["object_id"]),
                "upper_limit": str(cmap["upper_limit"])})
    return finish(lcs, report)


GAIA_REJECTED = ("rejected_by_photometry", "rejected_by_variability")
# wide (one row per source, one array per band) Gaia DR3 epoch photometry
GAIA_WIDE = {"G": ("g_transit_time", "g_transit_mag", "g_transit_flux", "g_transit_flux_error"),
             "BP": ("bp_obs_time", "bp_mag", "bp_flux", "bp_flux_error"),
             "RP": ("rp_obs_time", "rp_mag", "rp_flux", "rp_flux_error")}


def _bool_flags(col, p: Path, name) -> np.ndarray:
    if col.dtype == bool:
        return col.to_numpy()
    s = col.astype(str).str.strip().str.lower()
    ok = s.isin(["true", "false", "1", "0", "1.0", "0.0"])
    if not ok.all():
        raise DataFormatError(f"non-boolean value {col[~ok].iloc[0]!r}", file=p, field=str(name),
                              expected="True/False or 1/0")
    return s.isin(["true", "1", "1.0"]).to_numpy()


def _array_cell(v, p: Path, field: str) -> np.ndarray:
    if isinstance(v, str):  # '[1.0, 2.0]' or '(1.0 2.0)' in text exports
        body = v.strip().strip("[]()")
        parts = [x for x in re.split(r"[,\s]+", body) if x]
        return to_float(parts, p, field)
    if v is None:
        return np.empty(0)
    arr = np.ma.filled(np.ma.asarray(v, dtype=float), np.nan)
    return np.atleast_1d(arr).astype(float)


def gaia_wide_to_long(df, p: Path, report):
    """Gaia DR3 epoch photometry with one row per source and arrays per band -> long rows
    (``source_id, band, time, mag, flux, flux_error``)."""
    import pandas as pd

    if "source_id" not in df.columns:
        raise DataFormatError("wide Gaia epoch photometry without source_id", file=p,
                              field="source_id", expected="a source_id column")
    parts = []
    for band, cols in GAIA_WIDE.items():
        if cols[0] not in df.columns:
            continue
        for sid, row in zip(df["source_id"], df.to_dict("records")):
            arrays = {k: _array_cell(row[c], p, c) if c in row else None
                      for k, c in zip(("time", "mag", "flux", "flux_error"), cols)}
            n = arrays["time"].size
            for k, a in arrays.items():
                if a is not None and a.size != n:
                    raise DataFormatError(f"{a.size} values for {n} times (source {sid})",
                                          file=p, field=cols[("time", "mag", "flux",
                                                              "flux_error").index(k)],
                                          expected=f"one value per {cols[0]}")
            parts.append(pd.DataFrame({"source_id": np.full(n, sid), "band": band,
                                       **{k: a for k, a in arrays.items() if a is not None}}))
    if not parts:
        raise DataFormatError("no epoch arrays", file=p, field="g_transit_time",
                              expected="g_transit_time / bp_obs_time / rp_obs_time arrays")
    report.warnings.append(f"{p}: wide Gaia epoch photometry ({len(df)} source rows) read as "
                           "one row per transit and band")
    return pd.concat(parts, ignore_index=True)


def _choose_kind(cmap, kind, survey, p: Path, report) -> str:
    if kind is not None:
        if kind not in ("mag", "flux"):
            raise DataFormatError(f"kind={kind!r}", file=p, field="kind",
                                  expected="'mag' or 'flux'")
        return kind
    has_mag, has_flux = cmap["mag"] is not None, cmap["flux"] is not None
    if not (has_mag or has_flux):
        raise DataFormatError("no magnitude or flux column", file=p, field="mag",
                              expected="one of " + ", ".join(lccolumns.ALIASES["mag"] +
                                                             lccolumns.ALIASES["flux"]) +
                              " (or columns={'mag': name})")
    if has_mag and has_flux:
        kind = "flux" if survey in PREFER_FLUX else "mag"
        other = cmap["mag" if kind == "flux" else "flux"]
        report.warnings.append(f"{p}: both magnitude and flux columns; {kind} read, "
                               f"{other!r} not used (pass kind= to choose)")
        return kind
    return "mag" if has_mag else "flux"


def _bands(df, col, survey, p: Path, report):
    if col is None:
        return "x", "one band, name not given ('x')"
    raw = df[col]
    codes = None
    if str(col).lower() == "fid":
        codes = "ZTF"
    elif str(col).lower() == "passband" and raw.dtype.kind in "iu":
        codes = "PLAsTiCC"
    vals = raw.dropna()
    # whole numbers written as floats (1.0 -> "1"); beyond 2**53 a float is no exact integer
    if raw.dtype.kind == "f" and np.all(np.mod(vals, 1) == 0) and np.all(np.abs(vals) < 2**53):
        raw = raw.astype("Int64")
    band, unknown = resolve_bands(raw.astype(str).to_numpy(), survey=codes)
    note = f"bands from {col!r}: " + ", ".join(sorted(set(map(str, band))))
    if unknown:
        msg = (f"{p}: unknown band name(s) {unknown} in column {col!r} kept as they are "
               "(not in skyfm.data.bands)")
        report.warnings.append(msg)
        warnings.warn(msg, DataQualityWarning, stacklevel=4)
    return band, note

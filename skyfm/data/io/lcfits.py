"""Kepler/K2/TESS light-curve FITS (SPOC/Kepler pipeline layout) -> one flux light curve.

Identified by content: a binary-table HDU with ``TIME`` and ``PDCSAP_FLUX``/``SAP_FLUX``/
``FLUX`` columns. Times are BTJD (BJD - 2457000) or BKJD (BJD - 2454833), from the HDU's
``BJDREFI + BJDREFF`` (or the mission's reference when those keys are absent), converted to
BJD - 2400000.5 with the system and scale (``TIMESYS``) recorded in ``meta['time']``. Flagged
cadences (``QUALITY`` != 0) and NaN fluxes/times are dropped and counted. The object id is
``OBJECT``, else ``TIC <TICID>`` / ``KIC <KEPLERID>``, else the file name.
"""

from __future__ import annotations

import numpy as np

from skyfm.data.bands import resolve_band
from skyfm.data.io._common import (
    Progress,
    build_lightcurves,
    check_file,
    finish,
    new_report,
    open_fits,
    to_float,
)
from skyfm.data.io.exports import object_name
from skyfm.errors import DataFormatError

FLUX_COLUMNS = ("PDCSAP_FLUX", "SAP_FLUX", "FLUX")
MISSION_BJDREF = {"TESS": 2457000.0, "KEPLER": 2454833.0, "K2": 2454833.0}
MJD0 = 2400000.5


def _lc_hdu(hdul):
    from astropy.io import fits

    for i, h in enumerate(hdul):
        if isinstance(h, fits.BinTableHDU):
            names = {n.upper() for n in h.columns.names}
            if "TIME" in names and names & set(FLUX_COLUMNS):
                return i, h
    return None, None


def is_lightcurve_fits(path) -> bool:
    """True when a binary table of the file has TIME and a (PDC)SAP/FLUX column."""
    try:
        with open_fits(path) as hd:
            return _lc_hdu(hd)[1] is not None
    except Exception:  # unreadable FITS: the generic FITS reader reports it
        return False


def read_lightcurve_fits(path, *, flux_column: str | None = None, strict: bool = False,
                         limit: int | None = None, dataset: str | None = None,
                         progress: Progress = None, duplicates: str | None = None):
    """Read a Kepler/TESS light-curve FITS file (see module docstring)."""
    p = check_file(path)
    report = new_report(p)
    with open_fits(p) as hd:
        i, h = _lc_hdu(hd)
        if h is None:
            raise DataFormatError("no light-curve table", file=p, field="HDU",
                                  expected="a binary table with TIME and PDCSAP_FLUX, SAP_FLUX "
                                  "or FLUX")
        prim = hd[0].header
        hdr = h.header
        names = {n.upper(): n for n in h.columns.names}
        fcol = (flux_column or next(c for c in FLUX_COLUMNS if c in names)).upper()
        if fcol not in names:
            raise DataFormatError(f"no column {fcol!r}", file=p, field=fcol,
                                  expected=f"one of {sorted(names)}")
        data = h.data
        t = to_float(data[names["TIME"]], p, "TIME")
        flux = to_float(data[names[fcol]], p, fcol)
        ecol = names.get(f"{fcol}_ERR")
        err = to_float(data[ecol], p, ecol) if ecol else None
        quality = np.asarray(data[names["QUALITY"]]) if "QUALITY" in names else None
        unit = h.columns[names[fcol]].unit
        mission = str(prim.get("TELESCOP") or prim.get("MISSION") or hdr.get("TELESCOP")
                      or "").strip()
        bjdref = None
        if "BJDREFI" in hdr or "BJDREFI" in prim:
            src = hdr if "BJDREFI" in hdr else prim
            bjdref = float(src["BJDREFI"]) + float(src.get("BJDREFF", 0.0))
        elif mission.upper() in MISSION_BJDREF:
            bjdref = MISSION_BJDREF[mission.upper()]
        if bjdref is None:
            raise DataFormatError("no time reference", file=p, field="BJDREFI",
                                  expected="BJDREFI/BJDREFF keys or TELESCOP TESS/Kepler")
        scale = str(hdr.get("TIMESYS") or prim.get("TIMESYS") or "TDB").strip().lower()
        oid = str(prim.get("OBJECT") or "").strip()
        if not oid:
            for key, pre in (("TICID", "TIC"), ("KEPLERID", "KIC")):
                if prim.get(key) is not None:
                    oid = f"{pre} {prim[key]}"
                    break
        oid = oid or object_name(p)
    keep = np.ones(t.size, bool)
    if quality is not None:
        flagged = quality != 0
        if flagged.any():
            if strict:
                raise DataFormatError(f"{int(flagged.sum())} flagged cadence(s)", file=p,
                                      field="QUALITY", expected="QUALITY == 0 (strict=True)")
            report.drop("flagged cadence (QUALITY != 0)", int(flagged.sum()))
            report.warnings.append(f"{p}: dropped {int(flagged.sum())} cadence(s) with "
                                   "QUALITY != 0")
            keep &= ~flagged
    band, _ = resolve_band(mission or "x")
    red = {2457000.0: "BTJD", 2454833.0: "BKJD"}.get(round(bjdref, 6), f"BJD - {bjdref}")
    tinfo = {"column": "TIME", "system": "BJD", "scale": scale, "offset": bjdref,
             "note": f"{red} (BJD - {bjdref:.10g})"}
    report.warnings.append(f"{p}: read as one light curve ({mission or 'unknown mission'}, HDU "
                           f"{i}): {oid!r}, {fcol} in {unit or 'unknown unit'}, time {red} "
                           f"converted to BJD - 2400000.5 (scale {scale}), band {band!r}")
    lcs = build_lightcurves(
        np.full(int(keep.sum()), oid, dtype=object), t[keep] + (bjdref - MJD0), flux[keep],
        None if err is None else err[keep], band, kind="flux", flux_unit=unit, source=p,
        survey=mission or None, reader="lightcurve_fits", dataset=dataset, report=report,
        strict=strict, limit=limit, errors_given=err is not None, progress=progress,
        duplicates=duplicates, common_meta={"time": tinfo, "columns": {"time": "TIME",
                                                                        "flux": fcol}},
        fields={"time": "TIME", "value": fcol, "error": str(ecol), "object_id": "OBJECT"})
    return finish(lcs, report)


def identify_lightcurve_fits(path) -> bool:
    """FITS (gzipped or not) with a TIME and FLUX binary table."""
    from skyfm.data.io.sniff import fits_kind

    return fits_kind(path) is not None and is_lightcurve_fits(path)

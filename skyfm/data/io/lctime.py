"""Time columns of light-curve exports -> MJD-like days, with the system recorded.

MJD, JD, HJD, BJD and their reduced forms (``HJD-2450000``, TESS BTJD = BJD - 2457000, Kepler
BKJD = BJD - 2454833, Gaia DR3 epoch-photometry ``time`` = BJD(TCB) - 2455197.5) become
``days - 2400000.5`` in the same system: heliocentric and barycentric times stay heliocentric
or barycentric (no light-travel correction is applied, which would need the position), and
the result records which system, scale and offset were used (``LightCurve.meta['time']``).
"""

from __future__ import annotations

import numpy as np

from skyfm.data.io.lccolumns import OFFSET_TIME
from skyfm.errors import DataFormatError

MJD0 = 2400000.5
# named reduced forms: name -> (system, offset added to give a full JD-type date, scale)
REDUCED = {"btjd": ("BJD", 2457000.0, "tdb"), "bkjd": ("BJD", 2454833.0, "tdb"),
           "gaia": ("BJD", 2455197.5, "tcb")}
FORMATS = ("mjd", "jd", "hjd", "bjd", "btjd", "bkjd", "gaia")
_SCALES = {"midpointmjdtai": "tai", "bjd_tdb": "tdb", "hjd_utc": "utc"}


def _system(name: str) -> str:
    n = name.lower()
    if n.startswith("hjd"):
        return "HJD"
    if n.startswith("bjd"):
        return "BJD"
    return "JD"


def to_mjd(values, column: str, *, time_format: str | None = None, survey: str | None = None,
           source=None) -> tuple[np.ndarray, dict]:
    """``values`` of ``column`` as MJD-like days and a dict describing the conversion.

    ``time_format`` (one of :data:`FORMATS` or ``'jd-2450000'``-style) overrides the inference
    from the column name; full JD-type columns must hold values above 2,400,000, reduced
    ``jd``/``hjd``/``bjd`` columns (below 20,000) are read as date - 2450000 (the OGLE/ASAS
    convention) and said so; other values raise."""
    t = np.asarray(values, dtype=float)
    fmt = (time_format or column).strip().lower()
    finite = t[np.isfinite(t)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    info: dict = {"column": str(column)}
    m = OFFSET_TIME.match(fmt)
    if fmt in REDUCED or (fmt == "time" and survey == "Gaia DR3"):
        system, off, scale = REDUCED["gaia" if fmt == "time" else fmt]
        info.update(system=system, scale=scale, offset=off,
                    note=f"{system} - {off:.10g} ({fmt if fmt != 'time' else 'Gaia DR3'})")
        return t + (off - MJD0), info
    if m:
        system, off = m.group("sys").upper(), float(m.group("off"))
        info.update(system=system, scale=None, offset=off, note=f"{system} - {off:.10g}")
        return t + (off - MJD0), info
    if fmt in ("mjd", "time") or "mjd" in fmt:
        if hi > 2.0e6:
            raise DataFormatError(f"values up to {hi:.1f} look like Julian dates, not MJD",
                                  file=source, field=str(column),
                                  expected="MJD (days since 1858-11-17), or time_format='jd'")
        info.update(system="MJD", scale=_SCALES.get(str(column).lower()), offset=MJD0,
                    note="MJD")
        return t, info
    if fmt in ("jd", "hjd", "bjd", "bjd_tdb", "hjd_utc") or fmt.startswith(("jd", "hjd", "bjd")):
        system = _system(fmt)
        scale = _SCALES.get(fmt)
        if lo > 2.0e6:
            info.update(system=system, scale=scale, offset=0.0, note=f"{system} - 2400000.5")
            return t - MJD0, info
        if hi < 2.0e4:
            info.update(system=system, scale=scale, offset=2450000.0,
                        note=f"{system} - 2450000 (values {lo:.1f}..{hi:.1f} are a reduced "
                        "date; pass time_format= if another offset is meant)")
            return t + (2450000.0 - MJD0), info
        raise DataFormatError(f"values {lo:.1f}..{hi:.1f} are neither a full {system} nor "
                              f"{system} - 2450000", file=source, field=str(column),
                              expected="a full Julian date (> 2400000) or time_format= such as "
                              "'hjd-2400000'")
    if time_format is not None:
        raise DataFormatError(f"unknown time format {fmt!r}", file=source, field="time_format",
                              expected="one of " + ", ".join(FORMATS) + " or e.g. "
                              "'hjd-2450000'")
    # a column name that says nothing: skyfm's standard (MJD), said so, and checked
    if hi > 2.0e6:
        raise DataFormatError(f"values up to {hi:.1f} look like Julian dates; the column name "
                              "does not say which time system", file=source, field=str(column),
                              expected="MJD, or time_format= (e.g. 'jd', 'hjd', 'bjd')")
    info.update(system="MJD", scale=None, offset=MJD0,
                note="MJD (skyfm's default for a time column whose name does not say; pass "
                "time_format= otherwise)")
    return t, info

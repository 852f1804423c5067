"""Which columns of a table are a light curve's: column-name aliases of the usual exports.

ZTF/IRSA (``oid, mjd, mag, magerr, filtercode``, ``fid`` 1/2/3, ``catflags``), Gaia DR3 epoch
photometry (``source_id, band, time, mag, flux, flux_error``), ATLAS forced photometry
(``MJD, m, dm, uJy, duJy, F``), ASAS-SN (``HJD, mag, mag_err, flux(mJy), flux_err, Filter``),
OGLE (headerless ``HJD mag err``), LSST (``diaObjectId, midpointMjdTai, band, psfFlux,
psfFluxErr``) and skyfm's own ``object_id, time, band, mag, mag_err, flux, flux_err``.
Names match case-insensitively; the first alias present wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

STANDARD = ("object_id", "time", "band", "mag", "mag_err", "flux", "flux_err", "upper_limit")

ALIASES: dict[str, tuple[str, ...]] = {
    "object_id": ("object_id", "objectid", "oid", "source_id", "sourceid", "diaobjectid",
                  "objid", "obj_id", "id", "star_id", "ticid", "tic_id", "kepid", "keplerid"),
    "time": ("time", "mjd", "midpointmjdtai", "mjd_obs", "mjd-obs", "obsmjd", "expmjd", "jd",
             "hjd", "bjd", "btjd", "bkjd", "bjd_tdb", "hjd_utc", "date_mjd"),
    "band": ("band", "filter", "filtercode", "fid", "passband", "f", "filtername", "bandpass",
             "flt", "phot_filter"),
    "mag": ("mag", "magnitude", "m", "magpsf", "psfmag", "mag_psf"),
    "mag_err": ("mag_err", "magerr", "mag_error", "e_mag", "emag", "dm", "sigmapsf",
                "sigma_mag", "magpsf_err", "mag_unc", "err_mag"),
    "flux": ("flux", "ujy", "flux(mjy)", "flux_mjy", "flux_ujy", "flux_njy", "psfflux",
             "pdcsap_flux", "sap_flux", "forcediffimflux"),
    "flux_err": ("flux_err", "flux_error", "fluxerr", "e_flux", "dujy", "flux_err(mjy)",
                 "psffluxerr", "pdcsap_flux_err", "sap_flux_err", "flux_unc",
                 "forcediffimfluxunc"),
    "upper_limit": ("upper_limit", "is_upper_limit", "upperlimit"),
}
# an error column named only "err"/"error"/"sigma" belongs to whichever measurement is read
GENERIC_ERRORS = ("err", "error", "sigma", "e", "unc", "uncertainty")
# reduced/offset JD names such as "HJD-2450000", "BJD - 2457000", "jd_2400000"
OFFSET_TIME = re.compile(r"^(?P<sys>[hb]?jd)\s*[-_]\s*(?P<off>\d{5,7}(?:\.\d+)?)$",
                         re.IGNORECASE)

# flux units implied by a column name (tables with units, e.g. ECSV/VOTable, give their own)
FLUX_UNITS = {"ujy": "uJy", "dujy": "uJy", "flux(mjy)": "mJy", "flux_mjy": "mJy",
              "flux_ujy": "uJy", "flux_njy": "nJy", "psfflux": "nJy"}


def _lower_map(columns: Iterable) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in columns:
        out.setdefault(str(c).strip().lower(), str(c))
    return out


def find_columns(columns: Iterable, given: Mapping | None = None) -> dict[str, str | None]:
    """Standard name -> column of ``columns`` (None when absent); ``given`` (the user's
    ``columns=``) wins over the aliases."""
    low = _lower_map(columns)
    given = dict(given or {})
    out: dict[str, str | None] = {}
    for std in STANDARD:
        if std in given:
            out[std] = given[std]
            continue
        out[std] = next((low[a] for a in ALIASES[std] if a in low), None)
        if std == "time" and out[std] is None:
            out[std] = next((c for k, c in low.items() if OFFSET_TIME.match(k)), None)
    taken = {v for v in out.values() if v is not None}
    for std, meas in (("mag_err", "mag"), ("flux_err", "flux")):
        if out[std] is None and out[meas] is not None:
            gen = next((low[a] for a in GENERIC_ERRORS if a in low and low[a] not in taken),
                       None)
            if gen is not None and out["flux" if meas == "mag" else "mag"] is None:
                out[std] = gen
    return out


def survey_of(columns: Iterable) -> str | None:
    """The export a set of column names comes from, when it is recognisable."""
    low = set(_lower_map(columns))
    if "diaobjectid" in low or "midpointmjdtai" in low or "psfflux" in low:
        return "LSST"
    if "source_id" in low and ({"band", "time"} <= low or "g_transit_time" in low
                               or "rejected_by_photometry" in low):
        return "Gaia DR3"
    if {"ujy", "dujy"} & low or {"m", "dm", "f"} <= low:
        return "ATLAS"
    if "flux(mjy)" in low or ("camera" in low and ({"hjd", "phot_filter"} & low)):
        return "ASAS-SN"
    if {"filtercode", "catflags", "fid", "forcediffimflux"} & low or ("oid" in low and
                                                                      "mjd" in low):
        return "ZTF"
    return None


def is_lightcurve(columns: Iterable) -> bool:
    """True when the names include a time and a magnitude or flux column (or are Gaia's wide
    epoch photometry)."""
    if "g_transit_time" in _lower_map(columns):
        return True
    cols = find_columns(columns)
    return cols["time"] is not None and (cols["mag"] is not None or cols["flux"] is not None)


def why_catalogue(columns: Iterable) -> str:
    """Which columns (or their absence) made a table a catalogue rather than light curves."""
    cols = find_columns(columns)
    missing = []
    if cols["time"] is None:
        missing.append("no time column (one of " + ", ".join(ALIASES["time"][:8]) + ", ...)")
    if cols["mag"] is None and cols["flux"] is None:
        missing.append("no magnitude or flux column (one of " +
                       ", ".join(ALIASES["mag"][:3] + ALIASES["flux"][:3]) + ", ...)")
    reason = "; ".join(missing) if missing else "its columns"
    return (f"read as a catalogue (one row per object): {reason}; for light curves pass "
            "columns={'time': ..., 'mag': ... or 'flux': ..., 'object_id': ..., 'band': ...} "
            "(CLI: --column time=COL)")

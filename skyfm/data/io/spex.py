"""IRTF/SpeX prism spectra (SPLAT library): one gzipped FITS per spectrum, wavelength in µm.

Array layouts met in the real files (all handled):

* ``(3, N)``: wavelength, flux, error (the common case); ``(N, 3)``: the same, transposed;
* ``(4, N)``: wavelength, flux, error, Spextool quality flags (kept in ``meta['flags']``);
* ``(2, N)``: wavelength, flux, no error (error NaN = unknown);
* ``(2, 3, N)``: two apertures (``NAPS = 2``, a resolved binary); aperture 1 is the object,
  aperture 2 becomes a second spectrum ``<id>_ap2`` (label None).

Units come from ``XUNITS``/``YUNITS`` (µm; ``W m-2 um-1`` or ``erg s-1 cm-2 Angstrom-1``); an
unknown unit raises. Labels: ``SPEX_TYPE`` of ``spectral_data.csv`` (joined on the file's
``DATA_KEY``; source properties from ``source_data.csv`` joined on ``SOURCE_KEY``).
Pixels with non-finite wavelength or flux are dropped and counted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skyfm.data.io._checks import unique_columns
from skyfm.data.io._common import (
    Dropper,
    Progress,
    check_file,
    finish,
    new_report,
    open_fits,
    wrap_errors,
)
from skyfm.data.observations import Provenance, Spectrum
from skyfm.errors import DataFormatError

FLUX_UNITS = {"wm-2um-1": "W m-2 um-1", "ergs-1cm-2a-1": "erg s-1 cm-2 Angstrom-1", "": None,
              "none": None}
# header spellings seen in the real files: 'um', 'Microns', missing or empty (SpeX is in µm)
WAVE_UNITS = {"microns": "um", "micron": "um", "none": "um"}
SOURCE_META = ("NAME", "DESIGNATION", "RA", "DEC", "OBJECT_TYPE", "OPT_TYPE", "NIR_TYPE",
               "LIT_TYPE", "J_2MASS", "J_2MASS_E", "H_2MASS", "H_2MASS_E", "KS_2MASS",
               "KS_2MASS_E", "GRAVITY_CLASS_OPTICAL", "GRAVITY_CLASS_NIR", "BINARY", "SBINARY",
               "PARALLAX", "PARALLAX_E", "LUMINOSITY_CLASS", "METALLICITY_CLASS", "CLUSTER")
SPECTRUM_META = ("DATA_KEY", "SOURCE_KEY", "OBSERVATION_DATE", "JULIAN_DATE", "RESOLUTION",
                 "MEDIAN_SNR", "SPEX_GRAVITY_CLASSIFICATION", "PUBLISHED", "QUALITY_FLAG")


def split_array(d: np.ndarray, source) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None,
                                                      np.ndarray | None]]:
    """A SpeX data array -> list of (wavelength, flux, error|None, flags|None), one per aperture."""
    d = np.asarray(d, dtype=float)
    if d.ndim == 3 and d.shape[1] in (2, 3, 4):
        return [split_array(a, source)[0] for a in d]
    if d.ndim != 2:
        raise DataFormatError(f"array of shape {d.shape}", file=source, field="PRIMARY",
                              expected="(2|3|4, N), (N, 2|3|4) or (apertures, 3, N)")
    if d.shape[0] not in (2, 3, 4) and d.shape[1] in (2, 3, 4):
        d = d.T
    if d.shape[0] not in (2, 3, 4) or d.shape[1] < 2:
        raise DataFormatError(f"array of shape {d.shape}", file=source, field="PRIMARY",
                              expected="rows wavelength, flux[, error[, flags]]")
    err = d[2] if d.shape[0] >= 3 else None
    flags = d[3] if d.shape[0] == 4 else None
    return [(d[0], d[1], err, flags)]


def _units(header, source):
    import astropy.units as u

    xu = str(header.get("XUNITS") or "um").strip() or "um"
    try:
        wu = u.Unit(WAVE_UNITS.get(xu.lower(), xu))
        wu.to(u.um)
    except (ValueError, u.UnitsError) as exc:
        raise DataFormatError(f"unknown wavelength unit {xu!r}", file=source, field="XUNITS",
                              expected="a length unit such as 'um'") from exc
    yu = str(header.get("YUNITS") or "").strip()
    key = yu.lower().replace(" ", "").replace("ergss", "ergs")
    if key in FLUX_UNITS:
        fu = FLUX_UNITS[key]
    else:
        try:
            fu = u.Unit(yu).to_string()
        except ValueError as exc:
            raise DataFormatError(f"unknown flux unit {yu!r}", file=source, field="YUNITS",
                                  expected="e.g. 'W m-2 um-1' or 'erg s-1 cm-2 Angstrom-1'"
                                  ) from exc
    return wu, fu


def read_spex_file(path, *, label=None, meta=None, report=None, strict=False, dataset=None,
                   object_id=None) -> list[Spectrum]:
    p = check_file(path)
    report = report if report is not None else new_report(p)
    with open_fits(p, field="PRIMARY", expected="a (gzipped) SpeX FITS spectrum") as hd:
        data = hd[0].data
        header = hd[0].header
        if data is None:
            raise DataFormatError("primary HDU has no data", file=p, field="PRIMARY",
                                  expected="a spectrum array")
        data = np.array(data, dtype=float)
    wu, fu = _units(header, p)
    key = object_id or p.name.split(".")[0]
    out = []
    for i, (w, f, e, flags) in enumerate(split_array(data, p)):
        dropper = Dropper(report, p, strict)
        keep = dropper.drop(~np.isfinite(w), "non-finite wavelength", "wavelength")
        keep &= dropper.drop(keep & ~np.isfinite(f), "non-finite flux", "flux")
        if e is not None:
            keep &= dropper.drop(keep & np.isinf(e), "infinite error", "error")
        w, f = w[keep], f[keep]
        e = None if e is None else e[keep]
        if e is not None and np.any(e < 0):
            raise DataFormatError(f"{int((e < 0).sum())} negative error(s)", file=p, field="error",
                                  expected="errors >= 0")
        if w.size > 1 and not np.all(np.diff(w) > 0):
            raise DataFormatError("wavelengths are not strictly increasing", file=p,
                                  field="wavelength", expected="sorted, unique wavelengths")
        m = dict(meta or {})
        if flags is not None:
            m["flags"] = flags[keep].astype(int)
        res = header.get("RES")
        m.update(aperture=i + 1, object_name=header.get("OBJECT"))
        out.append(Spectrum(w, f, error=e, wavelength_unit=wu, flux_unit=fu,
                            resolution=float(res) if isinstance(res, (int, float)) else 120.0,
                            object_id=key if i == 0 else f"{key}_ap{i + 1}",
                            label=label if i == 0 else None,
                            provenance=Provenance(survey="IRTF/SpeX prism", file=str(p),
                                                  reader="spex", dataset=dataset),
                            meta={k: v for k, v in m.items() if v is not None}))
    return out


def _tables(root: Path):
    import pandas as pd

    sd_path, so_path = root / "spectral_data.csv", root / "source_data.csv"
    if not sd_path.exists():
        return {}
    unique_columns(sd_path)
    with wrap_errors(sd_path, expected="SPLAT spectral_data.csv"):
        sd = pd.read_csv(sd_path, low_memory=False)
    for c in ("DATA_KEY", "SOURCE_KEY", "SPEX_TYPE"):
        if c not in sd.columns:
            raise DataFormatError(f"no column {c!r}", file=sd_path, field=c,
                                  expected="DATA_KEY, SOURCE_KEY, SPEX_TYPE")
    if so_path.exists():
        with wrap_errors(so_path, expected="SPLAT source_data.csv"):
            so = pd.read_csv(so_path, low_memory=False)
        if "SOURCE_KEY" not in so.columns:
            raise DataFormatError("no column 'SOURCE_KEY'", file=so_path, field="SOURCE_KEY",
                                  expected="SOURCE_KEY to join spectral_data.csv")
        so = so[[c for c in ("SOURCE_KEY",) + SOURCE_META if c in so.columns]]
        so = so.drop_duplicates("SOURCE_KEY")
        sd = sd.merge(so, on="SOURCE_KEY", how="left")
    cols = [c for c in SPECTRUM_META + SOURCE_META + ("SPEX_TYPE",) if c in sd.columns]
    sd = sd.astype({"DATA_KEY": str})
    recs = sd[cols].to_dict("records")
    out = {}
    for r in recs:
        out[str(r["DATA_KEY"])] = {k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()
                                   if not (isinstance(v, float) and np.isnan(v))}
    return out


def read_spex(path, *, limit: int | None = None, strict: bool = False,
              dataset: str | None = None, progress: Progress = None):
    """A SpeX folder (``spectra/`` + ``spectral_data.csv`` + ``source_data.csv``) or one file."""
    p = Path(path)
    root = p if p.is_dir() else (p.parent.parent if p.parent.name == "spectra" else p.parent)
    files = (sorted(f for f in (p / "spectra").iterdir() if ".fits" in f.name.lower())
             if p.is_dir() else [check_file(p)])
    if limit is not None:
        files = files[:limit]
    info = _tables(root)
    report = new_report(*files)
    out = []
    for f in files:
        key = f.name.split(".")[0].split("_")[0]
        m = dict(info.get(key, {}))
        label = m.pop("SPEX_TYPE", None)
        out += read_spex_file(f, label=label, meta=m, report=report, strict=strict,
                              dataset=dataset, object_id=key)
        if progress is not None:
            progress(1)
    if info or (root / "spectral_data.csv").exists():
        unl = sum(1 for s in out if s.label is None and not s.object_id.endswith("_ap2"))
        if unl:
            report.warnings.append(f"{unl} spectra have no SPEX_TYPE (label None)")
    return finish(out, report)


def identify_spex(path) -> bool:
    """A gzipped FITS spectrum of the SpeX library: named ``spex`` or in the ``spectra/``
    folder beside ``spectral_data.csv``."""
    from skyfm.data.io.sniff import fits_kind

    p = Path(path)
    if fits_kind(p) != "fits.gz":
        return False
    return "spex" in p.name.lower() or (p.parent.name == "spectra" and
                                        (p.parent.parent / "spectral_data.csv").exists())


def identify_spex_folder(path) -> bool:
    p = Path(path)
    return (p / "spectral_data.csv").exists() and (p / "spectra").is_dir()

"""DESI coadd spectra (``coadd-*.fits``): ``FIBERMAP`` + per-arm ``{B,R,Z}_WAVELENGTH``,
``_FLUX``, ``_IVAR``, ``_MASK``, ``_RESOLUTION`` image HDUs (wavelength in Å, flux in
1e-17 erg s-1 cm-2 Å-1).

By default the three arms are joined into one spectrum per fibre on their common 0.8 Å grid
(overlap pixels: inverse-variance weighted mean, as DESI's ``coadd_cameras``); ``combine=False``
gives one spectrum per arm (``<TARGETID>_B`` ...). Pixels with ``MASK != 0`` or ``IVAR == 0``
are masked (``mask=True``, error NaN). The per-arm resolution matrices (11 diagonals x N) stay
in ``meta['resolution_matrix'][arm]``. DESI has no labels here: ``meta`` keeps TARGETID,
OBJTYPE (TGT/SKY; empty for unassigned fibres with negative TARGETID), RA/Dec and target bits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skyfm.data.io._common import Progress, check_file, finish, new_report, open_fits
from skyfm.data.observations import Provenance, Spectrum
from skyfm.errors import DataFormatError

ARMS = ("B", "R", "Z")
FIBERMAP_META = ("TARGETID", "OBJTYPE", "TARGET_RA", "TARGET_DEC", "FIBER", "DESI_TARGET",
                 "BGS_TARGET", "MWS_TARGET", "SV3_DESI_TARGET", "SV3_BGS_TARGET",
                 "SV3_MWS_TARGET", "MORPHTYPE", "FLUX_G", "FLUX_R", "FLUX_Z", "COADD_FIBERSTATUS")
FLUX_UNIT = "1e-17 erg s-1 cm-2 Angstrom-1"


def _arm(hd, arm, p):
    names = {h.name for h in hd}
    need = [f"{arm}_{k}" for k in ("WAVELENGTH", "FLUX", "IVAR")]
    for n in need:
        if n not in names:
            raise DataFormatError("missing HDU", file=p, field=n,
                                  expected="DESI coadd HDUs " + ", ".join(need))
    w = np.asarray(hd[f"{arm}_WAVELENGTH"].data, float)
    f = np.atleast_2d(np.asarray(hd[f"{arm}_FLUX"].data, float))
    iv = np.atleast_2d(np.asarray(hd[f"{arm}_IVAR"].data, float))
    m = (np.atleast_2d(np.asarray(hd[f"{arm}_MASK"].data)) if f"{arm}_MASK" in names
         else np.zeros(f.shape, int))
    r = (np.asarray(hd[f"{arm}_RESOLUTION"].data, np.float32) if f"{arm}_RESOLUTION" in names
         else None)
    unit = hd[f"{arm}_WAVELENGTH"].header.get("BUNIT", "Angstrom")
    if f.shape != iv.shape or f.shape != m.shape or f.shape[1] != w.size:
        raise DataFormatError(f"flux {f.shape}, ivar {iv.shape}, mask {m.shape}, wavelength "
                              f"{w.shape}", file=p, field=f"{arm}_FLUX",
                              expected="(n_spectra, n_wavelength) arrays of equal shape")
    if np.any(iv < 0):
        raise DataFormatError("negative inverse variance", file=p, field=f"{arm}_IVAR",
                              expected="ivar >= 0")
    if not np.all(np.isfinite(w)) or np.any(np.diff(w) <= 0):
        raise DataFormatError("wavelengths not finite and increasing", file=p,
                              field=f"{arm}_WAVELENGTH", expected="a sorted wavelength grid")
    return w, f, iv, m, r, unit


def read_desi_file(path, *, combine: bool = True, dataset=None, report=None, strict=False,
                   limit=None) -> list[Spectrum]:
    p = check_file(path)
    report = report if report is not None else new_report(p)
    with open_fits(p, field="HDU", expected="a DESI coadd FITS file") as hd:
        names = {h.name for h in hd}
        if "FIBERMAP" not in names:
            raise DataFormatError("missing HDU", file=p, field="FIBERMAP",
                                  expected="a DESI coadd with a FIBERMAP table")
        fm = hd["FIBERMAP"].data
        arms = {a: _arm(hd, a, p) for a in ARMS if f"{a}_FLUX" in names}
        fmcols = [c for c in FIBERMAP_META if c in fm.columns.names]
        rows = [{c: fm[c][i] for c in fmcols} for i in range(len(fm))]
    if not arms:
        raise DataFormatError("no spectral arms", file=p, field="B_FLUX",
                              expected="B/R/Z_FLUX HDUs")
    nspec = {a[1].shape[0] for a in arms.values()}
    if len(nspec) != 1 or nspec.pop() != len(rows):
        raise DataFormatError("arms and FIBERMAP differ in the number of spectra", file=p,
                              field="FIBERMAP", expected="one FIBERMAP row per spectrum")
    for r in rows:
        for k, v in list(r.items()):
            r[k] = v.item() if hasattr(v, "item") else v
            if isinstance(r[k], bytes):
                r[k] = r[k].decode()
            if isinstance(r[k], str):
                r[k] = r[k].strip()
    out = []
    n = len(rows) if limit is None else min(limit, len(rows))
    for i in range(n):
        meta = dict(rows[i])
        tid = str(meta.get("TARGETID", i))
        prov = Provenance(survey="DESI EDR", file=str(p), reader="desi", dataset=dataset)
        res = {a: v[4][i] for a, v in arms.items() if v[4] is not None}
        if combine:
            w, f, e, mask = _combine({a: (v[0], v[1][i], v[2][i], v[3][i]) for a, v in
                                      arms.items()})
            if w is None:
                combine_failed = True
            else:
                combine_failed = False
                out.append(Spectrum(w, f, error=e, mask=mask, wavelength_unit="Angstrom",
                                    flux_unit=FLUX_UNIT, object_id=tid, provenance=prov,
                                    meta=dict(meta, arms="".join(arms), resolution_matrix=res)))
        if not combine or combine_failed:
            for a, (w, fl, iv, m, _r, unit) in arms.items():
                bad = (m[i] != 0) | (iv[i] <= 0) | ~np.isfinite(fl[i])
                with np.errstate(divide="ignore"):
                    e = np.where(iv[i] > 0, 1 / np.sqrt(np.where(iv[i] > 0, iv[i], 1)), np.nan)
                out.append(Spectrum(w, np.where(np.isfinite(fl[i]), fl[i], 0.0), error=e,
                                    mask=bad, wavelength_unit=unit or "Angstrom",
                                    flux_unit=FLUX_UNIT, object_id=f"{tid}_{a}",
                                    provenance=prov,
                                    meta=dict(meta, arms=a, resolution_matrix={a: res.get(a)})))
    _report_all_masked(out, p, report)
    return out


def _report_all_masked(spectra: list[Spectrum], p: Path, report) -> None:
    """Spectra with no valid pixel (sky fibres, unassigned or broken fibres) are kept, flagged
    ``meta['all_masked'] = True`` and listed by OBJTYPE in the report and a warning."""
    import warnings

    from skyfm.data.io._common import DataQualityWarning

    empty = [s for s in spectra if bool(np.all(s.mask))]
    for s in empty:
        s.meta["all_masked"] = True
    if not empty:
        return
    kinds: dict = {}
    for s in empty:
        kinds.setdefault(s.meta.get("OBJTYPE") or "unassigned", []).append(s.object_id)
    parts = "; ".join(f"{k}: {len(v)} ({', '.join(v[:3])}{', ...' if len(v) > 3 else ''})"
                      for k, v in sorted(kinds.items()))
    text = (f"{p}: {len(empty)} spectrum/spectra have no valid pixel (IVAR = 0 or MASK != 0 "
            f"everywhere), kept with meta['all_masked'] = True; by OBJTYPE: {parts}")
    report.warnings.append(text)
    warnings.warn(text, DataQualityWarning, stacklevel=3)


def _combine(arms: dict):
    """Join arms on their shared grid (ivar-weighted in overlaps); None if grids don't align."""
    ws = [v[0] for v in arms.values()]
    step = np.median(np.diff(ws[0]))
    w0 = min(w[0] for w in ws)
    idx = {}
    for a, (w, *_rest) in arms.items():
        k = (w - w0) / step
        if not np.allclose(k, np.round(k), atol=1e-3):
            return None, None, None, None
        idx[a] = np.round(k).astype(int)
    n = max(int(i.max()) for i in idx.values()) + 1
    num = np.zeros(n)
    ivs = np.zeros(n)
    any_pix = np.zeros(n, bool)
    fallback = np.zeros(n)
    for a, (_w, f, iv, m) in arms.items():
        good = (m == 0) & (iv > 0) & np.isfinite(f)
        ii = idx[a]
        np.add.at(num, ii[good], f[good] * iv[good])
        np.add.at(ivs, ii[good], iv[good])
        any_pix[ii] = True
        fallback[ii] = np.where(np.isfinite(f), f, 0.0)
    grid = w0 + step * np.arange(n)
    keep = any_pix
    with np.errstate(divide="ignore", invalid="ignore"):
        flux = np.where(ivs > 0, num / np.where(ivs > 0, ivs, 1), fallback)
        err = np.where(ivs > 0, 1 / np.sqrt(np.where(ivs > 0, ivs, 1)), np.nan)
    return grid[keep], flux[keep], err[keep], (ivs <= 0)[keep]


def read_desi(path, *, combine: bool = True, limit: int | None = None, strict: bool = False,
              dataset: str | None = None, progress: Progress = None):
    """A DESI coadd file or a folder of ``coadd*.fits`` -> spectra."""
    p = Path(path)
    files = sorted(p.glob("coadd*.fits")) if p.is_dir() else [check_file(p)]
    if not files:
        raise DataFormatError("no coadd*.fits files", file=p, expected="DESI coadd files")
    report = new_report(*files)
    out = []
    for f in files:
        out += read_desi_file(f, combine=combine, dataset=dataset, report=report, strict=strict)
        if progress is not None:
            progress(1)
    if limit is not None:
        out = out[:limit]
    return finish(out, report)


def identify_desi(path) -> bool:
    """A (not gzipped) FITS file with a B/R/Z_FLUX HDU."""
    from skyfm.data.io.sniff import fits_kind

    p = Path(path)
    if fits_kind(p) != "fits":
        return False
    import warnings

    from astropy.io import fits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a damaged header: the reader says what is wrong
            with fits.open(p, memmap=False) as hd:
                names = {h.name for h in hd}
    except Exception:  # noqa: BLE001 - not readable as FITS: not a DESI coadd
        return False
    return {"B_FLUX", "R_FLUX", "Z_FLUX"} & names != set()


def identify_desi_folder(path) -> bool:
    from skyfm.data.io.sniff import files_in

    return any(f.startswith("coadd") and f.endswith(".fits") for f in files_in(Path(path)))

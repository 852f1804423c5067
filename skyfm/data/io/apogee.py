"""APOGEE H-band spectra stored as npz (The Payne's examples).

* ``apogee_combined_<2MASS id>.npz``: ``spectrum``, ``spec_err`` (one combined spectrum);
* ``apogee_visits_<2MASS id>.npz``: ``spectra``, ``spec_errs`` (visits x pixels), ``snrs``,
  ``vhelios`` (km/s), ``hjds`` -> one spectrum per visit, ``<id>_visit<k>``;
* ``apogee_wavelength.npz`` (``wavelength``, vacuum Å, 7,214 pixels) — required beside them;
* ``apogee_mask.npz`` (``apogee_mask``, True = pixel to ignore) -> ``Spectrum.mask``;
* ``cannon_cont_pixels_apogee.npz`` -> ``meta['continuum_pixels']``.

Spectra are continuum-normalised (``flux_unit=None``). ``NN_normalized_spectra*.npz`` is The
Payne's neural spectral *emulator* (weights ``w_array_*``/``b_array_*``, label ranges
``x_min``/``x_max``), not an observation: ``read()`` on it raises UnknownFormatError; the
emulator is used by :mod:`skyfm.sim`.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np

from skyfm.data.io._common import Progress, check_file, finish, new_report, wrap_errors
from skyfm.data.observations import Provenance, Spectrum
from skyfm.errors import DataFormatError, UnknownFormatError

EMULATOR_KEYS = {"w_array_0", "w_array_1", "b_array_0", "b_array_1"}


def load_npz(path) -> dict:
    p = check_file(path)
    with wrap_errors(p, field="npz", expected="a valid numpy .npz archive"):
        try:
            with np.load(p, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except zipfile.BadZipFile as exc:
            raise DataFormatError(f"not a zip archive ({exc})", file=p, field="npz",
                                  expected="a valid numpy .npz archive") from exc


def is_emulator(arrays: dict) -> bool:
    return EMULATOR_KEYS <= set(arrays)


def _aux(folder: Path, name: str, key: str, n: int | None):
    f = folder / name
    if not f.exists():
        return None
    a = load_npz(f)
    if key not in a:
        raise DataFormatError(f"no array {key!r}", file=f, field=key,
                              expected=f"an npz with '{key}'")
    arr = np.asarray(a[key]).reshape(-1)
    if n is not None and arr.size != n:
        raise DataFormatError(f"{arr.size} values for {n} pixels", file=f, field=key,
                              expected="one value per APOGEE pixel")
    return arr


def _spectra_from(p: Path, arrays: dict, wave, mask, cont, dataset, report):
    star = re.sub(r"^apogee_(combined|visits)_", "", p.name[: -len(".npz")])
    prov = Provenance(survey="SDSS/APOGEE", file=str(p), reader="apogee", dataset=dataset)
    if "spectrum" in arrays:
        fl = [np.asarray(arrays["spectrum"], float).reshape(-1)]
        er = [np.asarray(arrays.get("spec_err", np.full(fl[0].size, np.nan)), float).reshape(-1)]
        ids, metas = [star], [{"star": star, "kind": "combined"}]
    elif "spectra" in arrays:
        fl = list(np.atleast_2d(np.asarray(arrays["spectra"], float)))
        er_all = arrays.get("spec_errs")
        er = (list(np.atleast_2d(np.asarray(er_all, float))) if er_all is not None
              else [np.full(f.size, np.nan) for f in fl])
        if len(er) != len(fl):
            raise DataFormatError(f"{len(er)} error rows for {len(fl)} spectra", file=p,
                                  field="spec_errs", expected="one error row per visit")
        ids = [f"{star}_visit{k + 1}" for k in range(len(fl))]
        metas = []
        for k in range(len(fl)):
            m = {"star": star, "kind": "visit", "visit": k + 1}
            for key, name in (("snrs", "snr"), ("vhelios", "vhelio_kms"), ("hjds", "hjd")):
                if key in arrays and np.size(arrays[key]) == len(fl):
                    m[name] = float(np.asarray(arrays[key]).reshape(-1)[k])
            metas.append(m)
    else:
        raise UnknownFormatError(f"npz arrays {sorted(arrays)[:6]} are not APOGEE spectra",
                                 file=p, field="npz", expected="'spectrum' + 'spec_err' or "
                                 "'spectra' + 'spec_errs'")
    if wave is None:
        raise DataFormatError("no wavelength grid", file=p.parent / "apogee_wavelength.npz",
                              field="wavelength", expected="apogee_wavelength.npz beside the "
                              "spectra (or pass wavelength=...)")
    out = []
    for f, e, oid, m in zip(fl, er, ids, metas):
        if f.size != wave.size or e.size != wave.size:
            raise DataFormatError(f"{f.size} pixels but the wavelength grid has {wave.size}",
                                  file=p, field="spectrum", expected="7214 APOGEE pixels")
        if np.any(e[np.isfinite(e)] < 0):
            raise DataFormatError("negative error(s)", file=p, field="spec_err",
                                  expected="errors >= 0")
        bad = ~np.isfinite(f)
        if bad.any():
            report.drop("non-finite flux (masked)", int(bad.sum()))
        mk = bad | (mask if mask is not None else False)
        if cont is not None:
            m = dict(m, continuum_pixels=cont.astype(bool))
        out.append(Spectrum(wave, np.where(bad, 0.0, f), error=np.where(np.isinf(e), np.nan, e),
                            mask=mk, wavelength_unit="Angstrom", flux_unit=None,
                            resolution=22500.0, object_id=oid, provenance=prov,
                            meta=dict(m, normalized="continuum", air_or_vacuum="vacuum")))
    return out


def read_apogee(path, *, wavelength=None, dataset: str | None = None, limit: int | None = None,
                progress: Progress = None, strict: bool = False):
    """An APOGEE npz spectrum file or the folder of them (see module docstring)."""
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    if p.is_dir():
        files = sorted(f for f in p.glob("*.npz") if f.name.startswith(("apogee_combined",
                                                                           "apogee_visits")))
        skipped = sorted(f.name for f in p.glob("*.npz") if f not in files)
    else:
        files, skipped = [check_file(p)], []
    report = new_report(*files)
    wave = (np.asarray(wavelength, float) if wavelength is not None
            else _aux(folder, "apogee_wavelength.npz", "wavelength", None))
    n = None if wave is None else wave.size
    mask = _aux(folder, "apogee_mask.npz", "apogee_mask", n)
    cont = _aux(folder, "cannon_cont_pixels_apogee.npz", "pixels_cannon", n)
    out = []
    for f in files:
        arrays = load_npz(f)
        if is_emulator(arrays):
            raise UnknownFormatError(
                "this is The Payne's neural spectral emulator (network weights w_array_*, "
                "b_array_*, label ranges x_min/x_max), not an observation; load it with "
                "skyfm.sim (it generates labelled spectra)", file=f, field="w_array_0",
                expected="observed spectra ('spectrum'/'spectra' arrays)")
        if not p.is_dir() and not ({"spectrum", "spectra"} & set(arrays)):
            if {"wavelength"} == set(arrays) or {"apogee_mask"} == set(arrays) or \
                    {"pixels_cannon"} == set(arrays):
                raise UnknownFormatError(
                    f"an auxiliary APOGEE file ({', '.join(arrays)}), not a spectrum",
                    file=f, field=next(iter(arrays)), expected="apogee_combined_*.npz or "
                    "apogee_visits_*.npz (the folder reads all of them)")
        out += _spectra_from(f, arrays, wave, mask.astype(bool) if mask is not None else None,
                             cont, dataset, report)
        if progress is not None:
            progress(1)
    for s in skipped:
        if s.startswith("NN_"):
            report.warnings.append(f"skipped {s}: The Payne emulator (used by skyfm.sim), not "
                                   "an observation")
    if limit is not None:
        out = out[:limit]
    return finish(out, report)


def identify_apogee(path) -> bool:
    """An ``.npz`` file (a zip archive of arrays)."""
    from skyfm.data.io.sniff import head

    p = Path(path)
    return p.name.lower().endswith(".npz") or head(p, 4) == b"PK\x03\x04"


def identify_apogee_folder(path) -> bool:
    from skyfm.data.io.sniff import files_in

    return any(f.endswith(".npz") for f in files_in(Path(path)))

"""Typed observations: light curves, spectra, images and catalogue rows.

Each object carries its measurements with units, masks and provenance, and has
methods that return new objects, so a notebook session reads like the science:

>>> lc.remove_nans().normalize().fold(period=0.57)      # doctest: +SKIP

Inside, arrays are plain float64 numpy arrays; units are attached at the edges
(``*_quantity`` properties, axis labels of ``plot()``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import astropy.units as u
import numpy as np

from skyfm.errors import DataFormatError

__all__ = [
    "Provenance",
    "LightCurve",
    "Spectrum",
    "Image",
    "Catalog",
    "ObservationSet",
    "ReadReport",
]


@dataclass(frozen=True)
class Provenance:
    """Where an observation came from: survey, file and the reader that made it."""

    survey: str | None = None
    file: str | None = None
    reader: str | None = None
    dataset: str | None = None  # registry name, when read from a registered set
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"survey": self.survey, "file": self.file, "reader": self.reader,
                "dataset": self.dataset, **self.extra}


def _as_1d_float(values, name: str, n: int | None, source) -> np.ndarray:
    arr = np.asarray(values, dtype=float).reshape(-1) if values is not None else None
    if arr is None:
        return arr
    if n is not None and arr.shape[0] != n:
        raise DataFormatError(f"has {arr.shape[0]} values but time has {n}", file=source,
                              field=name, expected="one value per time stamp")
    return arr


# --------------------------------------------------------------------------- light curves


class LightCurve:
    """A multi-band, irregularly sampled light curve.

    Parameters
    ----------
    time : array (days, MJD unless ``meta['time_format']`` says otherwise)
    value : array of magnitudes (``kind='mag'``) or fluxes (``kind='flux'``)
    error : array of 1-sigma errors in the units of ``value`` (NaN where unknown)
    band : array of band names, or one name for all points
    upper_limit : bool array, True where ``value`` is a non-detection limit
    kind : ``'mag'`` or ``'flux'``
    flux_unit : unit of ``value`` when ``kind='flux'`` (e.g. ``'nJy'``, ``'adu'``)

    Points are kept sorted by time (stable within a band). Times must be finite,
    errors non-negative, and no band may repeat a time stamp.
    """

    def __init__(self, time, value, error=None, band="x", *, upper_limit=None,
                 kind: str = "mag", flux_unit: str | None = None, object_id: str | None = None,
                 label: Any = None, provenance: Provenance | None = None,
                 meta: dict | None = None, validate: bool = True):
        self.provenance = provenance or Provenance()
        src = self.provenance.file
        t = _as_1d_float(time, "time", None, src)
        n = t.shape[0]
        self.time = t
        self.value = _as_1d_float(value, "value", n, src)
        self.error = (np.full(n, np.nan) if error is None
                      else _as_1d_float(error, "error", n, src))
        if isinstance(band, (str, bytes)) or np.ndim(band) == 0:
            band = np.full(n, str(band), dtype=object)
        b = np.asarray(band).astype(str).astype(object).reshape(-1)
        if b.shape[0] != n:
            raise DataFormatError(f"has {b.shape[0]} values but time has {n}", file=src,
                                  field="band", expected="one band name per time stamp")
        self.band = b
        self.upper_limit = (np.zeros(n, bool) if upper_limit is None
                            else np.asarray(upper_limit, dtype=bool).reshape(-1))
        if self.upper_limit.shape[0] != n:
            raise DataFormatError("length differs from time", file=src, field="upper_limit",
                                  expected=f"{n} booleans")
        if kind not in ("mag", "flux"):
            raise DataFormatError(f"unknown kind {kind!r}", file=src, field="kind",
                                  expected="'mag' or 'flux'")
        self.kind = kind
        self.flux_unit = flux_unit if kind == "flux" else "mag"
        self.object_id = None if object_id is None else str(object_id)
        self.label = label
        self.meta = dict(meta or {})
        if validate:
            self._validate()
        order = np.argsort(self.time, kind="stable")
        if np.any(order != np.arange(n)):
            self._take(order)

    # -- validation ---------------------------------------------------------
    def _validate(self) -> None:
        src = self.provenance.file
        who = f" (object {self.object_id})" if self.object_id else ""
        if not np.all(np.isfinite(self.time)):
            bad = int((~np.isfinite(self.time)).sum())
            raise DataFormatError(f"{bad} non-finite time stamp(s){who}", file=src, field="time",
                                  expected="finite times (MJD)")
        det = ~self.upper_limit
        if not np.all(np.isfinite(self.value[det])):
            bad = int((~np.isfinite(self.value[det])).sum())
            raise DataFormatError(f"{bad} non-finite value(s) among detections{who}", file=src,
                                  field="value", expected="finite magnitudes or fluxes; "
                                  "drop or mark them before building the light curve")
        err = self.error
        if np.any(np.isinf(err)):
            raise DataFormatError(f"infinite error(s){who}", file=src, field="error",
                                  expected="finite non-negative errors or NaN when unknown")
        if np.any(err[np.isfinite(err)] < 0):
            raise DataFormatError(f"negative error(s){who}", file=src, field="error",
                                  expected="errors >= 0")
        if self.time.size:
            key = np.rec.fromarrays([self.band.astype(str), self.time])
            if np.unique(key).size != key.size:
                raise DataFormatError(f"duplicate (band, time) pairs{who}", file=src, field="time",
                                      expected="each band observed at most once per time stamp")

    def _take(self, idx) -> None:
        self.time = self.time[idx]
        self.value = self.value[idx]
        self.error = self.error[idx]
        self.band = self.band[idx]
        self.upper_limit = self.upper_limit[idx]

    # -- basic protocol -----------------------------------------------------
    def __len__(self) -> int:
        return int(self.time.shape[0])

    def __repr__(self) -> str:
        span = f"{self.time.min():.2f}–{self.time.max():.2f}" if len(self) else "empty"
        return (f"LightCurve(object_id={self.object_id!r}, n={len(self)}, bands={self.bands}, "
                f"kind={self.kind!r}, time={span}, label={self.label!r})")

    def copy(self) -> "LightCurve":
        return copy.deepcopy(self)

    def _new(self, idx=None, **changes) -> "LightCurve":
        new = copy.copy(self)
        new.meta = dict(self.meta)
        for name in ("time", "value", "error", "band", "upper_limit"):
            arr = getattr(self, name)
            setattr(new, name, (arr[idx] if idx is not None else arr).copy())
        for k, v in changes.items():
            setattr(new, k, v)
        return new

    @property
    def bands(self) -> list[str]:
        """Band names in order of first appearance."""
        _, first = np.unique(self.band.astype(str), return_index=True)
        return [str(self.band[i]) for i in sorted(first)]

    @property
    def detections(self) -> "LightCurve":
        """Only the detected points (non-detection limits removed)."""
        return self._new(~self.upper_limit)

    @property
    def time_quantity(self) -> u.Quantity:
        return self.time * u.day

    @property
    def value_quantity(self) -> u.Quantity:
        return self.value * (u.mag if self.kind == "mag" else u.Unit(self.flux_unit or ""))

    def band_data(self, band: str) -> "LightCurve":
        """The points of one band."""
        if band not in self.bands:
            raise KeyError(f"band {band!r} not in {self.bands}")
        return self._new(self.band == band)

    def remove_nans(self) -> "LightCurve":
        """Drop points whose value is not finite; the count goes to ``meta['dropped_nan']``."""
        keep = np.isfinite(self.value)
        new = self._new(keep)
        new.meta["dropped_nan"] = int(self.meta.get("dropped_nan", 0) + (~keep).sum())
        return new

    # -- science methods ----------------------------------------------------
    def to_flux(self, zeropoint: float = 23.9) -> "LightCurve":
        """Magnitudes to flux (default zero point 23.9 gives microjansky, AB)."""
        if self.kind == "flux":
            return self._new()
        f = 10 ** (-0.4 * (self.value - zeropoint))
        e = np.abs(f * 0.4 * np.log(10) * self.error)
        unit = "uJy" if zeropoint == 23.9 else f"zp={zeropoint}"
        return self._new(value=f, error=e, kind="flux", flux_unit=unit)

    def to_mag(self, zeropoint: float = 23.9) -> "LightCurve":
        """Flux to magnitude; non-positive fluxes become upper limits at 5-sigma."""
        if self.kind == "mag":
            return self._new()
        f = np.asarray(self.value)
        e = np.asarray(self.error)
        pos = f > 0
        mag = np.where(pos, -2.5 * np.log10(np.where(pos, f, 1.0)) + zeropoint, np.nan)
        merr = np.where(pos, 2.5 / np.log(10) * e / np.where(pos, f, 1.0), np.nan)
        lim = np.where(np.isfinite(e) & (e > 0), -2.5 * np.log10(5 * np.where(e > 0, e, 1)) + zeropoint,
                       np.nan)
        upper = self.upper_limit | ~pos
        mag = np.where(~pos, lim, mag)
        new = self._new(value=mag, error=np.where(~pos, np.nan, merr), kind="mag", flux_unit="mag")
        new.upper_limit = upper
        return new

    def normalize(self) -> "LightCurve":
        """Per-band normalisation: magnitudes minus the band median, or fluxes over it."""
        value = self.value.copy()
        error = self.error.copy()
        for b in self.bands:
            sel = (self.band == b) & ~self.upper_limit & np.isfinite(self.value)
            if not sel.any():
                continue
            med = np.median(self.value[sel])
            m = self.band == b
            if self.kind == "mag":
                value[m] = self.value[m] - med
            elif med != 0:
                value[m] = self.value[m] / med
                error[m] = self.error[m] / abs(med)
        new = self._new(value=value, error=error)
        new.meta["normalized"] = True
        return new

    def fold(self, period: float, epoch_time: float | None = None) -> "LightCurve":
        """Phase-fold: ``time`` becomes phase in [0, 1) and ``meta['period']`` keeps the period."""
        if not np.isfinite(period) or period <= 0:
            raise ValueError(f"period must be a positive number of days, got {period!r}")
        t0 = self.time.min() if epoch_time is None else epoch_time
        phase = np.mod(self.time - t0, period) / period
        new = self._new()
        new.time = phase
        order = np.argsort(phase, kind="stable")
        new._take(order)
        new.meta.update(period=float(period), epoch_time=float(t0), folded=True)
        return new

    def resample(self, times, band: str | None = None) -> "LightCurve":
        """Linear interpolation of each band (or one band) onto ``times`` (days)."""
        times = np.asarray(times, dtype=float)
        bands = [band] if band else self.bands
        ts, vs, es, bs = [], [], [], []
        for b in bands:
            d = self.band_data(b).detections
            if len(d) < 2:
                continue
            ts.append(times)
            vs.append(np.interp(times, d.time, d.value))
            es.append(np.interp(times, d.time, np.nan_to_num(d.error, nan=0.0)))
            bs.append(np.full(times.size, b, dtype=object))
        if not ts:
            raise ValueError("resample needs at least two detections in a band")
        return LightCurve(np.concatenate(ts), np.concatenate(vs), np.concatenate(es),
                          np.concatenate(bs), kind=self.kind, flux_unit=self.flux_unit,
                          object_id=self.object_id, label=self.label, provenance=self.provenance,
                          meta=dict(self.meta, resampled=True), validate=False)

    def to_pandas(self):
        """Long-format table in the generic layout's columns."""
        import pandas as pd

        vname, ename = ("mag", "mag_err") if self.kind == "mag" else ("flux", "flux_err")
        return pd.DataFrame({"object_id": self.object_id, "time": self.time, "band": self.band.astype(str),
                             vname: self.value, ename: self.error,
                             "upper_limit": self.upper_limit})

    def plot(self, ax=None, **kwargs):
        """Errorbar plot per band; magnitudes have the y axis inverted. Returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        for b in self.bands:
            m = self.band == b
            det = m & ~self.upper_limit
            line = ax.errorbar(self.time[det], self.value[det],
                               yerr=np.nan_to_num(self.error[det]), fmt="o", ms=3, label=b,
                               alpha=0.8, **kwargs)
            lim = m & self.upper_limit
            if lim.any():
                ax.plot(self.time[lim], self.value[lim], "v", ms=4, alpha=0.4,
                        color=line[0].get_color())
        folded = self.meta.get("folded")
        ax.set_xlabel("phase" if folded else "time [MJD, d]")
        ax.set_ylabel("magnitude [mag]" if self.kind == "mag" else f"flux [{self.flux_unit or 'arb.'}]")
        if self.kind == "mag":
            ax.invert_yaxis()
        title = self.object_id or ""
        if self.label is not None:
            title += f"  ({self.label})"
        ax.set_title(title)
        ax.legend(fontsize=8, title="band")
        return ax


# --------------------------------------------------------------------------- spectra


class Spectrum:
    """A 1-D spectrum with wavelength units, errors (or inverse variance), mask and resolution.

    ``wavelength`` is an array in ``wavelength_unit`` (default Angstrom) or a Quantity.
    ``mask`` is True where a pixel is bad. Give ``error`` or ``ivar``, not both.
    """

    def __init__(self, wavelength, flux, error=None, *, ivar=None, mask=None,
                 wavelength_unit: str | u.Unit = "Angstrom", flux_unit: str | None = None,
                 resolution: float | np.ndarray | None = None, object_id: str | None = None,
                 label: Any = None, provenance: Provenance | None = None, meta: dict | None = None,
                 validate: bool = True):
        self.provenance = provenance or Provenance()
        src = self.provenance.file
        if isinstance(wavelength, u.Quantity):
            wavelength_unit = wavelength.unit
            wavelength = wavelength.value
        try:
            self.wavelength_unit = u.Unit(wavelength_unit)
            self.wavelength_unit.to(u.AA, equivalencies=u.spectral())
        except (ValueError, u.UnitsError, TypeError) as exc:
            raise DataFormatError(f"unknown wavelength unit {wavelength_unit!r}", file=src,
                                  field="wavelength_unit", expected="a length unit such as "
                                  "'Angstrom', 'nm' or 'um'") from exc
        w = _as_1d_float(wavelength, "wavelength", None, src)
        n = w.shape[0]
        self.wavelength = w
        self.flux = _as_1d_float(flux, "flux", n, src)
        if error is not None and ivar is not None:
            raise ValueError("give error or ivar, not both")
        if ivar is not None:
            iv = _as_1d_float(ivar, "ivar", n, src)
            with np.errstate(divide="ignore"):
                error = np.where(iv > 0, 1 / np.sqrt(np.where(iv > 0, iv, 1)), np.nan)
        self.error = np.full(n, np.nan) if error is None else _as_1d_float(error, "error", n, src)
        self.mask = np.zeros(n, bool) if mask is None else np.asarray(mask, bool).reshape(-1)
        if self.mask.shape[0] != n:
            raise DataFormatError("length differs from wavelength", file=src, field="mask",
                                  expected=f"{n} booleans")
        self.flux_unit = flux_unit
        self.resolution = resolution
        self.object_id = None if object_id is None else str(object_id)
        self.label = label
        self.meta = dict(meta or {})
        if validate:
            self._validate()

    def _validate(self) -> None:
        src = self.provenance.file
        w = self.wavelength
        if not np.all(np.isfinite(w)):
            raise DataFormatError("non-finite wavelength(s)", file=src, field="wavelength",
                                  expected="finite wavelengths")
        if w.size > 1 and not np.all(np.diff(w) > 0):
            raise DataFormatError("wavelengths are not strictly increasing", file=src,
                                  field="wavelength", expected="sorted, unique wavelengths")
        if np.any(self.error[np.isfinite(self.error)] < 0):
            raise DataFormatError("negative error(s)", file=src, field="flux_err",
                                  expected="errors >= 0")
        bad = ~np.isfinite(self.flux) & ~self.mask
        if bad.any():
            raise DataFormatError(f"{int(bad.sum())} non-finite flux value(s) not masked", file=src,
                                  field="flux", expected="finite flux or mask=True")

    def __len__(self) -> int:
        return int(self.wavelength.shape[0])

    def __repr__(self) -> str:
        rng = (f"{self.wavelength.min():.4g}–{self.wavelength.max():.4g} {self.wavelength_unit}"
               if len(self) else "empty")
        return f"Spectrum(object_id={self.object_id!r}, n={len(self)}, {rng}, label={self.label!r})"

    def copy(self) -> "Spectrum":
        return copy.deepcopy(self)

    @property
    def wavelength_quantity(self) -> u.Quantity:
        return self.wavelength * self.wavelength_unit

    @property
    def ivar(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.where(self.error > 0, 1 / self.error**2, 0.0)

    def _with(self, **changes) -> "Spectrum":
        new = copy.copy(self)
        new.meta = dict(self.meta)
        for k, v in changes.items():
            setattr(new, k, v)
        return new

    def to_unit(self, unit: str | u.Unit) -> "Spectrum":
        """The same spectrum with wavelengths in another length unit."""
        unit = u.Unit(unit)
        w = (self.wavelength * self.wavelength_unit).to_value(unit, equivalencies=u.spectral())
        return self._with(wavelength=w, wavelength_unit=unit)

    def normalize(self, method: str = "median") -> "Spectrum":
        """Divide by the median good flux (``'median'``) or a running-median continuum (``'continuum'``)."""
        good = ~self.mask & np.isfinite(self.flux)
        if not good.any():
            raise ValueError("no good pixels to normalise")
        if method == "median":
            scale = np.median(self.flux[good])
            cont = np.full(len(self), scale if scale != 0 else 1.0)
        elif method == "continuum":
            from scipy.ndimage import median_filter

            filled = np.interp(np.arange(len(self)), np.flatnonzero(good), self.flux[good])
            cont = median_filter(filled, size=max(3, len(self) // 20), mode="nearest")
            cont = np.where(cont == 0, 1.0, cont)
        else:
            raise ValueError(f"method must be 'median' or 'continuum', got {method!r}")
        new = self._with(flux=self.flux / cont, error=self.error / np.abs(cont), flux_unit=None)
        new.meta["normalized"] = method
        return new

    def resample(self, wavelength, unit: str | u.Unit | None = None) -> "Spectrum":
        """Linear interpolation onto a new wavelength grid; pixels outside the range are masked."""
        unit = u.Unit(unit) if unit is not None else self.wavelength_unit
        src = self.to_unit(unit)
        w = np.asarray(wavelength.to_value(unit) if isinstance(wavelength, u.Quantity) else wavelength,
                       float)
        good = ~src.mask & np.isfinite(src.flux)
        if good.sum() < 2:
            raise ValueError("resample needs at least two good pixels")
        f = np.interp(w, src.wavelength[good], src.flux[good], left=np.nan, right=np.nan)
        e = np.interp(w, src.wavelength[good], np.nan_to_num(src.error[good], nan=0.0),
                      left=np.nan, right=np.nan)
        mask = ~np.isfinite(f)
        return self._with(wavelength=w, flux=np.nan_to_num(f), error=np.where(mask, np.nan, e),
                          mask=mask, wavelength_unit=unit)

    def plot(self, ax=None, **kwargs):
        """Flux against wavelength with units on the axes. Returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        f = np.where(self.mask, np.nan, self.flux)
        ax.plot(self.wavelength, f, lw=0.8, **kwargs)
        if np.isfinite(self.error).any():
            e = np.where(self.mask, np.nan, self.error)
            ax.fill_between(self.wavelength, f - e, f + e, alpha=0.25, lw=0)
        ax.set_xlabel(f"wavelength [{self.wavelength_unit.to_string()}]")
        ax.set_ylabel(f"flux [{self.flux_unit}]" if self.flux_unit else "flux [normalised]")
        title = self.object_id or ""
        if self.label is not None:
            title += f"  ({self.label})"
        ax.set_title(title)
        return ax


# --------------------------------------------------------------------------- images


class Image:
    """A multi-band image: ``data`` is (bands, height, width) float.

    ``wcs`` is an astropy WCS when known, ``psf`` a 2-D kernel (or one per band),
    ``pixel_scale`` in arcsec/pixel when known.
    """

    def __init__(self, data, bands: Sequence[str] | None = None, *, wcs=None, psf=None,
                 pixel_scale: float | None = None, unit: str | None = None,
                 mask=None, object_id: str | None = None, label: Any = None,
                 provenance: Provenance | None = None, meta: dict | None = None):
        self.provenance = provenance or Provenance()
        arr = np.asarray(data, dtype=np.float32)
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3:
            raise DataFormatError(f"image has shape {arr.shape}", file=self.provenance.file,
                                  field="data", expected="(height, width) or (bands, height, width)")
        self.data = arr
        if bands is None:
            bands = [f"b{i}" for i in range(arr.shape[0])]
        bands = [str(b) for b in bands]
        if len(bands) != arr.shape[0]:
            raise DataFormatError(f"{len(bands)} band names for {arr.shape[0]} planes",
                                  file=self.provenance.file, field="bands",
                                  expected="one name per plane")
        self.bands = bands
        self.wcs = wcs
        self.psf = None if psf is None else np.asarray(psf, dtype=np.float32)
        self.pixel_scale = pixel_scale
        self.unit = unit
        self.mask = None if mask is None else np.asarray(mask, bool)
        self.object_id = None if object_id is None else str(object_id)
        self.label = label
        self.meta = dict(meta or {})

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.data.shape)

    def __repr__(self) -> str:
        return (f"Image(object_id={self.object_id!r}, bands={self.bands}, shape={self.shape}, "
                f"wcs={'yes' if self.wcs is not None else 'no'}, label={self.label!r})")

    def copy(self) -> "Image":
        return copy.deepcopy(self)

    def normalize(self, method: str = "asinh") -> "Image":
        """Per-band scaling: ``'asinh'`` (sky-subtracted, MAD-scaled) or ``'minmax'``."""
        out = np.empty_like(self.data)
        for i, plane in enumerate(self.data):
            p = np.nan_to_num(plane)
            if method == "minmax":
                lo, hi = np.percentile(p, [0.5, 99.5])
                out[i] = np.clip((p - lo) / (hi - lo + 1e-12), 0, 1)
            elif method == "asinh":
                med = np.median(p)
                mad = np.median(np.abs(p - med)) * 1.4826 + 1e-12
                out[i] = np.arcsinh((p - med) / (3 * mad))
            else:
                raise ValueError(f"method must be 'asinh' or 'minmax', got {method!r}")
        new = copy.copy(self)
        new.data = out
        new.meta = dict(self.meta, normalized=method)
        return new

    def resize(self, size: int) -> "Image":
        """Resample every band to ``size`` x ``size`` pixels (bilinear); WCS is dropped."""
        import torch
        import torch.nn.functional as F

        t = torch.from_numpy(np.nan_to_num(self.data))[None]
        r = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        new = copy.copy(self)
        new.data = r[0].numpy()
        new.wcs = None
        if self.pixel_scale:
            new.pixel_scale = self.pixel_scale * self.data.shape[-1] / size
        return new

    def plot(self, ax=None, band: int | str | None = None, **kwargs):
        """Show the image (RGB when three bands, else one band). Axes in pixels, or RA/Dec with WCS."""
        import matplotlib.pyplot as plt

        if ax is None:
            fig = plt.figure(figsize=(4, 4))
            if self.wcs is not None and band is not None or (self.wcs is not None and self.data.shape[0] == 1):
                ax = fig.add_subplot(projection=self.wcs.celestial)
            else:
                ax = fig.add_subplot()
        norm = self.normalize("minmax").data
        if band is None and norm.shape[0] == 3:
            # RGB wants red first: reverse planes stored blue-to-red (e.g. g, r, i).
            order = "ugrizy"
            idx = [order.find(b[-1].lower()) if b else -1 for b in self.bands]
            if all(i >= 0 for i in idx) and idx == sorted(idx):
                norm = norm[::-1]
            ax.imshow(np.moveaxis(norm, 0, -1), origin="lower", **kwargs)
        else:
            i = 0 if band is None else (self.bands.index(band) if isinstance(band, str) else band)
            ax.imshow(norm[i], origin="lower", cmap="gray", **kwargs)
        if self.wcs is None:
            ax.set_xlabel("x [pix]")
            ax.set_ylabel("y [pix]")
        title = self.object_id or ""
        if self.label is not None:
            title += f"  ({self.label})"
        ax.set_title(title)
        return ax


# --------------------------------------------------------------------------- catalogues


_BOOKKEEPING = {"ra", "dec", "raj2000", "dej2000", "ra_deg", "dec_deg", "radeg", "decdeg", "glon",
                "glat", "elon", "elat", "run", "rerun", "camcol", "field", "plate", "mjd", "fiber",
                "index", "unnamed: 0", "row", "hjd0", "epoch"}


def _is_bookkeeping(name: str) -> bool:
    """Identifier, position or survey-bookkeeping column (not a property of the object)."""
    n = name.strip().lower()
    return n in _BOOKKEEPING or n.endswith("id") or n.endswith("_id") or n.startswith("unnamed")


class Catalog:
    """Catalogue rows: a pandas DataFrame of photometry/features, one row per object.

    ``id_column`` names the object id, ``label_column`` the label when known,
    ``target_columns`` other label-like columns (e.g. a spectroscopic redshift) that are
    targets, never input features, ``units`` maps column names to astropy unit strings.
    """

    def __init__(self, table, *, id_column: str = "object_id", label_column: str | None = None,
                 units: dict[str, str] | None = None, provenance: Provenance | None = None,
                 meta: dict | None = None, object_id: str | None = None,
                 target_columns: Sequence[str] = ()):
        import pandas as pd

        self.provenance = provenance or Provenance()
        # The catalogue's own name (e.g. its file stem); its rows carry their ids in ``id_column``.
        self.object_id = object_id or (Path(self.provenance.file).stem if self.provenance.file
                                       else None)
        self.label = None
        if not isinstance(table, pd.DataFrame):
            table = pd.DataFrame(table)
        if id_column not in table.columns:
            table = table.copy()
            table.insert(0, id_column, [str(i) for i in range(len(table))])
        self.table = table
        self.id_column = id_column
        if label_column is not None and label_column not in table.columns:
            raise DataFormatError("label column not in table", file=self.provenance.file,
                                  field=label_column, expected=f"one of {list(table.columns)}")
        self.label_column = label_column
        missing = [c for c in target_columns if c not in table.columns]
        if missing:
            raise DataFormatError("target column not in table", file=self.provenance.file,
                                  field=missing[0], expected=f"one of {list(table.columns)}")
        self.target_columns = list(target_columns)
        self.units = dict(units or {})
        self.meta = dict(meta or {})

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        return (f"Catalog(n={len(self)}, columns={list(self.table.columns)[:8]}"
                f"{'...' if self.table.shape[1] > 8 else ''}, label={self.label_column!r})")

    @property
    def object_ids(self) -> np.ndarray:
        return self.table[self.id_column].astype(str).to_numpy()

    @property
    def labels(self):
        return None if self.label_column is None else self.table[self.label_column].to_numpy()

    @property
    def feature_columns(self) -> list[str]:
        """Numeric columns that describe the object: not the id, the label, the target columns,
        other identifiers (``*id``), sky position or survey bookkeeping (run, plate, MJD of the
        spectrum, ...)."""
        import pandas as pd

        skip = {self.id_column, self.label_column, *self.target_columns}
        return [c for c in self.table.columns
                if c not in skip and not _is_bookkeeping(str(c))
                and pd.api.types.is_numeric_dtype(self.table[c])]

    def features(self) -> np.ndarray:
        """(n_rows, n_features) float array of the numeric feature columns."""
        return self.table[self.feature_columns].to_numpy(dtype=float)

    def quantity(self, column: str) -> u.Quantity:
        """One column as an astropy Quantity (dimensionless if no unit is known)."""
        return self.table[column].to_numpy(dtype=float) * u.Unit(self.units.get(column, ""))

    def plot(self, x: str, y: str, ax=None, **kwargs):
        """Scatter of two columns, coloured by label when known. Returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        if self.label_column:
            for lab, grp in self.table.groupby(self.label_column):
                ax.scatter(grp[x], grp[y], s=4, label=str(lab), **kwargs)
            ax.legend(fontsize=8, markerscale=3)
        else:
            ax.scatter(self.table[x], self.table[y], s=4, **kwargs)
        ux, uy = self.units.get(x), self.units.get(y)
        ax.set_xlabel(f"{x} [{ux}]" if ux else x)
        ax.set_ylabel(f"{y} [{uy}]" if uy else y)
        return ax


# --------------------------------------------------------------------------- collections


@dataclass
class ReadReport:
    """What a reader did: how many objects and points it read and what it dropped, and why."""

    files: list[str] = field(default_factory=list)
    n_objects: int = 0
    n_points: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> count of points/rows
    warnings: list[str] = field(default_factory=list)

    def drop(self, reason: str, count: int) -> None:
        if count:
            self.dropped[reason] = self.dropped.get(reason, 0) + int(count)

    def merge(self, other: "ReadReport") -> None:
        self.files += other.files
        self.n_objects += other.n_objects
        self.n_points += other.n_points
        for k, v in other.dropped.items():
            self.drop(k, v)
        self.warnings += other.warnings

    def summary(self) -> str:
        text = f"{self.n_objects} objects, {self.n_points} points from {len(self.files)} file(s)"
        if self.dropped:
            text += "; dropped " + ", ".join(f"{v} {k}" for k, v in sorted(self.dropped.items()))
        return text


class ObservationSet(list):
    """A list of observations with the :class:`ReadReport` of the read that made it."""

    def __init__(self, items: Iterable = (), report: ReadReport | None = None):
        super().__init__(items)
        self.report = report or ReadReport(n_objects=len(self))

    @property
    def object_ids(self) -> list[str]:
        return [o.object_id for o in self]

    @property
    def labels(self) -> list:
        return [o.label for o in self]

    def by_id(self) -> dict[str, Any]:
        return {o.object_id: o for o in self}

    def of_type(self, cls) -> "ObservationSet":
        return ObservationSet([o for o in self if isinstance(o, cls)], self.report)

    def __repr__(self) -> str:
        kinds = sorted({type(o).__name__ for o in self})
        return f"ObservationSet(n={len(self)}, types={kinds}; {self.report.summary()})"

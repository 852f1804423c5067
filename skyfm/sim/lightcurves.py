"""Labelled light curves of variable stars and transients, observed by a simulated survey.

Every class is a vectorised model: parameters are drawn for all objects of a class at once
(from published relations, cited where used), all points of all objects are evaluated in
one numpy pass, and noise comes from :mod:`skyfm.sim.cadence`. Magnitudes are AB-like
apparent magnitudes; times are MJD [d].

>>> obs = simulate_lightcurves(100, survey="ztf", seed=1)        # doctest: +SKIP
>>> obs[0].label, obs[0].meta["period"]                           # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from skyfm.data.observations import LightCurve, ObservationSet, Provenance, ReadReport
from skyfm.sim.cadence import (
    MAG_PER_FLUX,
    SURVEYS,
    Survey,
    band_index,
    get_survey,
    observe,
    observe_flux,
    sample_cadence,
)
from skyfm.sim.lc_models import (
    _MODEL,
    _WINDOW,
    class_model,
    davenport_flare,
    flare_ratio,
    paczynski,
)
from skyfm.sim.lc_params import (
    _DRAW,
    ALL_CLASSES,
    COMMON_CLASSES,
    PERIODIC_CLASSES,
    RARE_CLASSES,
    TRANSIENT_CLASSES,
    draw_parameters,
    wavelengths,
)

__all__ = [
    "ALL_CLASSES",
    "COMMON_CLASSES",
    "PERIODIC_CLASSES",
    "RARE_CLASSES",
    "TRANSIENT_CLASSES",
    "class_model",
    "davenport_flare",
    "draw_parameters",
    "inject_lightcurve",
    "paczynski",
    "simulate_lightcurves",
]

# --------------------------------------------------------------------------- simulation


def _epochs(cls: str, p: dict, times: list[np.ndarray], rng) -> None:
    """Set the reference epoch t0 (and flare peaks) of every object from its cadence."""
    n = len(times)
    tmin = np.array([t[0] if t.size else 0.0 for t in times])
    tmax = np.array([t[-1] if t.size else 1.0 for t in times])
    if cls in PERIODIC_CLASSES or cls == "constant":
        per = p.get("period", np.ones(n))
        p["t0"] = tmin + rng.uniform(0, 1, n) * per
        return
    # transients: peak at (or near) a real observing epoch, so the event is sampled
    pick = np.array([t[rng.integers(t.size)] if t.size else 0.0 for t in times])
    if cls in ("sn_ia", "sn_ii", "tde"):
        p["t0"] = pick + rng.uniform(-5, 15, n)
    elif cls == "microlensing":
        p["t0"] = pick + rng.uniform(-2, 2, n)
    elif cls == "flare":
        k = p["t_half"].shape[1]
        peaks = np.empty((n, k))
        for j in range(k):
            peaks[:, j] = [t[rng.integers(t.size)] if t.size else 0.0 for t in times]
        peaks -= rng.uniform(0, 0.4, (n, k)) * p["t_half"]  # observed just after the peak
        p["t_peak"] = peaks
        p["t0"] = peaks[:, 0]
    p["t_min"], p["t_max"] = tmin, tmax


def _simulate_class(
    cls: str,
    n: int,
    survey: Survey,
    rng: np.random.Generator,
    baseline: float | None,
    id_offset: int,
    prefix: str,
    kind: str = "mag",
) -> list[LightCurve]:
    if n <= 0:
        return []
    p = draw_parameters(cls, n, rng, survey)
    cad = [sample_cadence(survey, rng, baseline) for _ in range(n)]
    times = [c[0] for c in cad]
    _epochs(cls, p, times, rng)
    lengths = np.array([t.size for t in times])
    t = np.concatenate(times) if n else np.zeros(0)
    bands = np.concatenate([c[1] for c in cad]) if n else np.zeros(0, object)
    oi = np.repeat(np.arange(n), lengths)
    if cls in _WINDOW:  # transients: keep the points within the event's window
        before, after = _WINDOW[cls]
        zf = 1 + p["redshift"]
        keep = (t >= (p["t0"] - before * zf)[oi]) & (t <= (p["t0"] + after * zf)[oi])
        t, bands, oi = t[keep], bands[keep], oi[keep]
        lengths = np.bincount(oi, minlength=n)
    lam = wavelengths(survey, bands)
    true = _MODEL[cls](t, lam, oi, p)
    if survey.zp_scatter:  # each object's own calibration offset per band
        off = rng.normal(0.0, survey.zp_scatter, (n, len(survey.bands)))
        true = true + off[oi, band_index(survey, bands)]
    if kind == "flux":
        mag, err = observe_flux(true, bands, survey, rng)
        upper = np.zeros(mag.size, bool)
    else:
        mag, err, upper = observe(true, bands, survey, rng)
    splits = np.cumsum(lengths)[:-1]
    out = []
    prov = Provenance(
        survey=survey.name, reader="skyfm.sim", dataset="simulated", extra={"class": cls}
    )
    for i, (tt, mm, ee, bb, uu) in enumerate(
        zip(
            np.split(t, splits),
            np.split(mag, splits),
            np.split(err, splits),
            np.split(bands, splits),
            np.split(upper, splits),
        )
    ):
        meta = {"survey": survey.name, "simulated": True}
        for k, v in p.items():
            val = v[i]
            meta[k] = (
                val.tolist()
                if isinstance(val, np.ndarray)
                else (val.item() if hasattr(val, "item") else val)
            )
        out.append(
            LightCurve(
                tt,
                mm,
                ee,
                bb,
                upper_limit=uu,
                kind=kind,
                flux_unit="nJy" if kind == "flux" else None,
                object_id=f"{prefix}{id_offset + i:06d}",
                label=cls,
                provenance=prov,
                meta=meta,
                validate=False,
            )
        )
    return out


def simulate_lightcurves(
    n_per_class: int | dict[str, int],
    classes=None,
    survey: str = "ztf",
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    baseline: float | None = None,
    kind: str = "mag",
) -> ObservationSet:
    """Simulate labelled light curves as ``survey`` would observe them.

    Parameters
    ----------
    n_per_class : number of curves per class, or ``{class: n}``
    classes : classes to simulate (default: :data:`COMMON_CLASSES`, or the keys of
        ``n_per_class`` when it is a dict); see :data:`ALL_CLASSES`
    survey : ``'ztf'``, ``'lsst'``, ``'ogle'`` or ``'eros'``
    seed : random seed; each class has its own stream, so adding a class leaves the
        others unchanged
    progress : called with the number of curves finished after each chunk
    baseline : survey length [d] (default: the survey's own)
    kind : ``'mag'`` (AB magnitudes; faint epochs are upper limits at the epoch's 5-sigma
        depth) or ``'flux'`` (forced-photometry fluxes in nJy, every epoch measured)

    Returns an :class:`ObservationSet` of :class:`LightCurve` (``label`` = the class name;
    ``meta`` = the true parameters: period [d], amplitude [mag], redshift, ...).
    """
    if kind not in ("mag", "flux"):
        raise ValueError(f"kind must be 'mag' or 'flux', got {kind!r}")
    s = get_survey(survey)
    if isinstance(n_per_class, dict):
        counts = {str(k): int(v) for k, v in n_per_class.items()}
        if classes is not None:
            counts = {c: counts.get(c, 0) for c in classes}
    else:
        counts = {c: int(n_per_class) for c in (classes or COMMON_CLASSES)}
    unknown = [c for c in counts if c not in _DRAW]
    if unknown:
        raise ValueError(f"unknown class(es) {unknown}; choose from {list(ALL_CLASSES)}")
    out: list[LightCurve] = []
    chunk = 1000
    for cls, n in counts.items():
        cidx = ALL_CLASSES.index(cls)
        rng = np.random.default_rng([int(seed), cidx])
        for start in range(0, n, chunk):
            k = min(chunk, n - start)
            out += _simulate_class(cls, k, s, rng, baseline, start, f"sim-{s.name}-{cls}-", kind)
            if progress is not None:
                progress(k)
    report = ReadReport(files=[], n_objects=len(out), n_points=int(sum(len(lc) for lc in out)))
    return ObservationSet(out, report)


# --------------------------------------------------------------------------- injection


def _lc_wavelengths(lc: LightCurve) -> np.ndarray:
    """Band wavelengths [AA] of a real curve, survey-specific when its survey is known
    (``'EROS-2'`` -> eros, ``'OGLE-III'`` -> ogle, ``'PLAsTiCC'`` -> lsst, ...)."""
    name = str(lc.provenance.survey or "").lower()
    name = "lsst" if name.startswith("plasticc") else name
    survey = next((s for k, s in SURVEYS.items() if name.startswith(k)), None)
    return wavelengths(survey, lc.band)


def inject_lightcurve(
    lc: LightCurve, cls: str, rng: np.random.Generator | int | None = None
) -> LightCurve:
    """A copy of a real light curve with a simulated ``cls`` signal on its own times and bands.

    ``cls`` is one of ``'microlensing'``, ``'flare'``, ``'tde'``, ``'sn_ia'``, ``'sn_ii'``.
    The signal is added in flux to the observed values (magnitudes or fluxes, per
    ``lc.kind``), relative to each band's median level, so the curve keeps its own noise;
    where the signal brightens a point its error grows as source noise would
    (``sigma^2 -> sigma^2 F_new/F_old``) and that extra noise is drawn. Upper limits are
    left alone. The result has ``label = cls``, ``meta['injected']`` (the parameters) and
    ``meta['original_label']``.
    """
    if cls not in ("microlensing", "flare", "tde", "sn_ia", "sn_ii"):
        raise ValueError(f"cannot inject {cls!r}; choose microlensing, flare, tde, sn_ia or sn_ii")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    new = lc.copy()
    det = ~new.upper_limit & np.isfinite(new.value)
    if det.sum() < 3:
        raise ValueError(f"light curve {lc.object_id} has fewer than 3 detections to inject into")
    lam = _lc_wavelengths(new)
    t = new.time
    tdet = t[det]
    params: dict = {"class": cls}
    if cls == "microlensing":
        t0 = float(tdet[rng.integers(tdet.size)] + rng.uniform(-2, 2))
        u0, te = (
            float(rng.uniform(0.05, 0.8)),
            float(np.clip(rng.lognormal(np.log(20), 0.6), 5, 200)),
        )
        fs = float(rng.uniform(0.5, 1.0))
        ratio = fs * paczynski(t, t0, u0, te) + 1 - fs  # total flux / baseline flux
        params.update(t0=t0, u0=u0, t_E=te, blend_fraction=fs)
    elif cls == "flare":
        nfl = int(rng.integers(1, 4))
        peaks = tdet[rng.integers(tdet.size, size=nfl)]
        t_half = np.clip(rng.lognormal(np.log(0.03), 0.6, nfl), 0.005, 0.2)
        peaks = peaks - rng.uniform(0, 0.4, nfl) * t_half
        amp = np.clip(rng.lognormal(0.3, 0.7, nfl), 0.3, 20.0)
        extra = sum(a * davenport_flare((t - tp) / th) for a, tp, th in zip(amp, peaks, t_half))
        ratio = 1 + flare_ratio(lam) * extra
        params.update(t_peak=peaks.tolist(), t_half=t_half.tolist(), amplitude_g=amp.tolist())
    else:
        t0 = float(tdet[rng.integers(tdet.size)] + rng.uniform(-5, 10))
        contrast = float(rng.uniform(0.5, 4.0))  # peak flux / baseline flux
        p = draw_parameters(cls, 1, rng, "ztf")
        p["t0"] = np.array([t0])
        p["distance_modulus"] = np.zeros(1)
        oi = np.zeros(t.size, int)
        m = _MODEL[cls](t, lam, oi, p)
        f = 10 ** (-0.4 * (m - np.min(m)))
        ratio = 1 + contrast * f
        params.update(
            t0=t0,
            peak_contrast=contrast,
            **{
                k: (v[0].item() if hasattr(v[0], "item") else v[0])
                for k, v in p.items()
                if k not in ("t0", "distance_modulus")
            },
        )
    value, err = new.value.copy(), new.error.copy()
    for b in np.unique(new.band.astype(str)):
        sel = new.band == b
        dsel = sel & det
        if not dsel.any():
            continue
        if new.kind == "mag":
            base = np.median(value[dsel])
            f_old = 10 ** (-0.4 * (value[sel] - base))  # in units of the baseline flux
            sig_f = np.nan_to_num(err[sel], nan=0.0) * f_old / MAG_PER_FLUX
        else:
            base = np.median(value[dsel])
            scale = base if base > 0 else max(np.nanmedian(err[dsel]) * 5, 1e-30)
            f_old = value[sel] / scale
            sig_f = np.nan_to_num(err[sel], nan=0.0) / scale
        add = ratio[sel] - 1.0
        f_new = f_old + add
        grow = np.maximum(f_new / np.maximum(f_old, 1e-6), 1.0)
        sig_new = sig_f * np.sqrt(grow)
        f_new = f_new + np.sqrt(np.maximum(sig_new**2 - sig_f**2, 0)) * rng.standard_normal(
            f_new.size
        )
        keep = ~new.upper_limit[sel] & (np.abs(add) > 1e-6)  # untouched away from the event
        if new.kind == "mag":
            f_pos = np.maximum(f_new, 1e-6)
            v_new = base - 2.5 * np.log10(f_pos)
            e_new = MAG_PER_FLUX * sig_new / f_pos
        else:
            v_new = f_new * scale
            e_new = sig_new * scale
        idx = np.flatnonzero(sel)[keep]
        value[idx] = v_new[keep]
        err[idx] = np.where(np.isfinite(new.error[idx]), e_new[keep], np.nan)
    new.value, new.error = value, err
    new.meta = dict(new.meta, injected=params, original_label=lc.label)
    new.label = cls
    return new

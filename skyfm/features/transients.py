"""Shape features of transients (supernovae, TDEs, ...): how fast they rise and fade, how bright
they peak, in what colour, and for how long — from Bazin and Villar fits per band.

Each band is fitted in flux (magnitudes are turned into fluxes on the AB scale with zero point
23.9, i.e. microjansky) with the Rust ``light-curve`` package: :class:`light_curve.BazinFit`
(Bazin et al. 2009; >= 6 points) and :class:`light_curve.VillarFit` (Villar et al. 2019, a
rise, a plateau and a decline; >= 8 points), both by MCMC followed by a Levenberg–Marquardt
polish. Only the points of the *season* of the peak are fitted: within
``[t_peak - before, t_peak + after]`` of the brightest significant point (S/N > 5 for fluxes,
the brightest detection for magnitudes), so a multi-year curve of a single transient is fitted
where the transient is.

Per band ``b`` (NaN when the band has too few points or the fit fails):

- ``rise_time_b`` [d]: from half maximum to maximum of the fitted Bazin curve (numerically,
  so it is the observable rise, not the model's ``tau_rise``);
- ``decline_time_b`` [d]: from maximum down to half maximum;
- ``half_max_duration_b`` [d]: time above half maximum (rise + decline);
- ``peak_mag_b``: AB magnitude at maximum (``-2.5 log10(peak flux / 1 uJy) + 23.9`` for flux
  curves, whatever the flux unit; the true peak magnitude for magnitude curves);
- ``plateau_b`` [d]: the Villar fit's plateau duration;
- ``fit_quality_b``: ``log10(1 + reduced chi2)`` of the Bazin fit (0 = perfect; > 1 = poor);

then ``peak_colour_<b1>-<b2>`` for consecutive bands: ``-2.5 log10(f_b1 / f_b2)`` of the two
fitted curves at the peak time of the better-sampled band (g - r at peak for ZTF).

:func:`looks_transient` decides, by a documented rule, whether a light-curve set is a set of
transients (used by ``discover(kind='auto')``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "TRANSIENT_BAND_FEATURES",
    "looks_transient",
    "season",
    "transient_feature_names",
    "transient_features",
]

TRANSIENT_BAND_FEATURES = ["rise_time", "decline_time", "half_max_duration", "peak_mag",
                           "plateau", "fit_quality"]
#: magnitude zero point of the flux scale used for fits (AB, flux in microjansky)
ZP_UJY = 23.9
_MIN_BAZIN, _MIN_VILLAR = 6, 8
#: a fitted peak more than this many days outside the fitted points, or brighter than this
#: factor times the brightest point (+1 sigma), is rejected as an extrapolation
_PEAK_SLACK_D, _PEAK_SLACK_FLUX = 30.0, 2.0
_FITTERS = None


def _fitters():
    global _FITTERS
    if _FITTERS is None:
        import light_curve as lcf

        _FITTERS = (lcf.BazinFit("mcmc-lmsder"), lcf.VillarFit("mcmc-lmsder"))
    return _FITTERS


def _fluxes(lc) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(time, flux, flux error, band) of the points usable for a fit: detections with a finite
    value and a positive finite error; magnitudes become microjansky."""
    ok = ~lc.upper_limit & np.isfinite(lc.value) & np.isfinite(lc.error) & (lc.error > 0)
    t, v, e, b = lc.time[ok], lc.value[ok], lc.error[ok], lc.band[ok]
    if lc.kind == "mag":
        f = 10 ** (-0.4 * (v - ZP_UJY))
        e = f * 0.4 * np.log(10) * e
        v = f
    return t, v, e, b


def season(lc, before: float = 100.0, after: float = 250.0) -> tuple[float, float] | None:
    """``(start, end)`` of the season around the brightest significant point, or None when
    the curve has none (no detection; for fluxes no point with S/N > 5)."""
    t, f, e, _ = _fluxes(lc)
    if t.size == 0:
        return None
    sig = f / e > 5 if lc.kind == "flux" else np.ones(t.size, bool)
    if not sig.any():
        return None
    tp = t[sig][np.argmax(f[sig])]
    return tp - before, tp + after


def _half_max_times(model, params, t0: float, lo: float, hi: float) -> tuple[float, ...]:
    """(time of maximum, peak flux, rise, decline) of a fitted curve on a fine grid; the
    baseline is subtracted so 'half maximum' is half the transient's own amplitude."""
    grid = np.linspace(lo, hi, 4001)
    f = model(grid, params) - params[1]
    i = int(np.argmax(f))
    peak = f[i]
    if not np.isfinite(peak) or peak <= 0:
        return (np.nan,) * 4
    above = f >= peak / 2
    j0 = i
    while j0 > 0 and above[j0 - 1]:
        j0 -= 1
    j1 = i
    while j1 < len(f) - 1 and above[j1 + 1]:
        j1 += 1
    # a half-max crossing at the grid edge is not seen: the duration is unknown, not short
    rise = grid[i] - grid[j0] if j0 > 0 else np.nan
    decline = grid[j1] - grid[i] if j1 < len(f) - 1 else np.nan
    return grid[i], peak + params[1], rise, decline


def _fit_band(t, f, e, span: tuple[float, float]) -> dict:
    bazin, villar = _fitters()
    out: dict = {}
    if t.size < _MIN_BAZIN:
        return out
    try:
        p = np.asarray(bazin(t, f, e, sorted=True, check=False), float)
    except (ValueError, RuntimeError):
        return out
    if not np.all(np.isfinite(p)) or p[0] <= 0:
        return out
    lo, hi = span[0] - 200.0, span[1] + 400.0
    tmax, fpeak, rise, decline = _half_max_times(bazin.model, p[:5], p[2], lo, hi)
    # a peak the data do not support (far outside the points, or far brighter than any) is
    # an extrapolation, not a measurement: the fit counts as failed
    if not (t[0] - _PEAK_SLACK_D <= tmax <= t[-1] + _PEAK_SLACK_D) or \
            not fpeak <= _PEAK_SLACK_FLUX * np.max(f + e):
        return out
    out.update(t_peak=tmax, f_peak=fpeak, rise_time=rise, decline_time=decline,
               half_max_duration=rise + decline,
               peak_mag=-2.5 * np.log10(fpeak) + ZP_UJY if fpeak > 0 else np.nan,
               fit_quality=np.log10(1 + p[5]), params=p[:5])
    if t.size >= _MIN_VILLAR:
        try:
            v = np.asarray(villar(t, f, e, sorted=True, check=False), float)
            out["plateau"] = v[6] if np.isfinite(v[6]) and v[6] >= 0 else np.nan
        except (ValueError, RuntimeError):
            pass
    return out


def transient_feature_names(bands: Sequence[str]) -> list[str]:
    names = [f"{f}_{b}" for b in bands for f in TRANSIENT_BAND_FEATURES]
    return names + [f"peak_colour_{a}-{b}" for a, b in zip(bands[:-1], bands[1:])]


def transient_features(lcs: Sequence, bands: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """(N, F) transient shape features of ``lcs`` in ``bands`` (module docstring) and names.
    Bands are put in order of effective wavelength (so the colours are blue minus red)."""
    from skyfm.models.lightcurve_tokens import band_wavelength

    bands = sorted(bands, key=band_wavelength)
    bazin, _ = _fitters()
    nb, nf = len(bands), len(TRANSIENT_BAND_FEATURES)
    out = np.full((len(lcs), nb * nf + max(nb - 1, 0)), np.nan)
    for i, lc in enumerate(lcs):
        span = season(lc)
        if span is None:
            continue
        t, f, e, b = _fluxes(lc)
        inside = (t >= span[0]) & (t <= span[1])
        fits = []
        for j, band in enumerate(bands):
            m = inside & (b == band)
            keep = np.flatnonzero(m)
            if keep.size:  # light_curve needs strictly increasing times
                keep = keep[np.concatenate([[True], np.diff(t[keep]) > 0])]
            r = _fit_band(t[keep], f[keep], e[keep], span)
            r["n"] = keep.size
            fits.append(r)
            out[i, j * nf:(j + 1) * nf] = [r.get(k, np.nan) for k in TRANSIENT_BAND_FEATURES]
        for j in range(nb - 1):
            a, c = fits[j], fits[j + 1]
            if "params" not in a or "params" not in c:
                continue
            ref = a if a["n"] >= c["n"] else c  # the better-sampled band sets the peak time
            tp = np.array([ref["t_peak"]])
            fa = bazin.model(tp, a["params"])[0]
            fc = bazin.model(tp, c["params"])[0]
            if fa > 0 and fc > 0:
                out[i, nb * nf + j] = -2.5 * np.log10(fa / fc)
    return out, transient_feature_names(list(bands))


def looks_transient(lcs: Sequence, max_span: float = 300.0, min_fraction: float = 0.6) -> bool:
    """The rule ``discover(kind='auto')`` uses: a set is one of transients when at least
    ``min_fraction`` of its curves with >= 3 significant points (a detection for magnitudes,
    S/N > 5 for fluxes) have all of them within ``max_span`` days — one season, where periodic
    and stochastic variables are seen over years. (A brightness criterion was tried and
    dropped: alert-stream curves hold detections near the peak only, so a peak above a quiet
    level is not seen.) Pass ``kind='transient'`` or ``'general'`` to decide yourself."""
    votes, n = 0, 0
    for lc in lcs:
        t, f, e, _ = _fluxes(lc)
        sig = f / e > 5 if lc.kind == "flux" else np.ones(t.size, bool)
        if sig.sum() < 3:
            continue
        n += 1
        votes += bool(np.ptp(t[sig]) <= max_span)
    return n > 0 and votes >= min_fraction * n

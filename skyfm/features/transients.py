"""Shape features of transients (supernovae, TDEs, ...): how fast they rise and fade, how bright
they peak, in what colour, and for how long.

The curve is fitted in flux (magnitudes become fluxes on the AB scale with zero point 23.9, i.e.
microjansky), over the *season* of its peak only: points within ``[t_bright - 100 d,
t_bright + 250 d]`` of the brightest significant point (S/N > 5 for fluxes, the brightest
detection for magnitudes), so a multi-year curve of one transient is fitted where it is.

:func:`joint_bazin` fits one Bazin shape (Bazin et al. 2009) to all bands at once — a shared
time of maximum, rise and fall time, one amplitude per band — because sparse multi-band surveys
(LSST: a handful of points per band and season) rarely give the 6 points per band a separate
fit needs; the plateau comes from :class:`light_curve.VillarFit` (Villar et al. 2019; >= 8
points) on the best-sampled band. (A first version fitted each band separately with
``light_curve.BazinFit``; on a PLAsTiCC draw of 150 SNe Ia + 28 others the discovery AUROC of
"not SNIa" was 0.663 with it vs 0.686 with the joint fit, both beside the encoder and periodic
features; the amplitudes are solved exactly, so the joint fit is also cheap.)

Features (NaN where the fit is impossible — too few points, nothing significant — or a band's
peak is an extrapolation far above its points):

- ``rise_time`` [d]: from half maximum to maximum of the fitted shape (numerically, so it is
  the observable rise, not the model's ``tau_rise``);
- ``decline_time`` [d]: from maximum down to half maximum;
- ``half_max_duration`` [d]: time above half maximum (rise + decline);
- ``plateau`` [d]: the Villar fit's plateau duration (best-sampled band);
- ``fit_quality``: ``log10(1 + reduced chi2)`` of the joint fit (0 = perfect; > 1 = poor);
- ``peak_mag_<b>`` per band: AB magnitude at maximum (for flux curves ``-2.5 log10(peak flux)
  + 23.9`` whatever the flux unit, i.e. a log peak flux);
- ``peak_colour_<b1>-<b2>`` for consecutive bands in wavelength order (g - r at peak for ZTF).

:func:`looks_transient` decides, by a documented rule, whether a light-curve set is a set of
transients (used by ``discover(kind='auto')``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

__all__ = [
    "TRANSIENT_GLOBAL_FEATURES",
    "joint_bazin",
    "looks_transient",
    "season",
    "transient_feature_names",
    "transient_feature_specs",
    "transient_features",
]

TRANSIENT_GLOBAL_FEATURES = ["rise_time", "decline_time", "half_max_duration", "plateau",
                             "fit_quality"]
#: magnitude zero point of the flux scale used for fits (AB, flux in microjansky)
ZP_UJY = 23.9
_MIN_VILLAR = 8
#: a band's fitted peak brighter than this factor times its brightest point (+1 sigma) is
#: an extrapolation: that band's peak magnitude is NaN
_PEAK_SLACK_FLUX = 2.0
@functools.cache
def _villar():
    """The Villar fit (built once)."""
    import light_curve as lcf

    return lcf.VillarFit("mcmc-lmsder")


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


_BEFORE, _AFTER = 100.0, 250.0


def season(lc, before: float = _BEFORE, after: float = _AFTER) -> tuple[float, float] | None:
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


def _bazin_shape(t: np.ndarray, t0, trise, tfall) -> np.ndarray:
    """The Bazin curve of unit amplitude, ``exp(-(t-t0)/tfall) / (1 + exp(-(t-t0)/trise))``."""
    x = t - t0
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(-x / tfall) / (1 + np.exp(-x / trise))


def _profile(S: np.ndarray, f, w, onehot) -> tuple[np.ndarray, np.ndarray]:
    """Best non-negative amplitude per band for each candidate shape row of ``S`` (K, n)
    (weighted least squares, closed form) and the chi2 of each: (amp (K, nb), chi2 (K,))."""
    S = np.nan_to_num(S, posinf=0.0)  # exp overflow far from t0: a zero-flux shape there
    sws = (S * S * w) @ onehot  # (K, nb)
    swf = (S * f * w) @ onehot
    amp = np.clip(np.divide(swf, sws, out=np.zeros_like(swf), where=sws > 0), 0, None)
    model = (amp @ onehot.T) * S
    return amp, ((model - f) ** 2 * w).sum(axis=1)


_GRID_RISE = np.geomspace(0.3, 150.0, 11)
_GRID_FALL = np.geomspace(1.0, 800.0, 13)
#: the fitted maximum stays within this many days of the brightest significant point
PEAK_WINDOW_D = 30.0


def _t0_of(tmax, trise, tfall):
    """Bazin ``t0`` of a curve whose maximum is at ``tmax`` (needs ``tfall > trise``)."""
    return tmax - trise * np.log(tfall / trise - 1)


def joint_bazin(t, f, e, band_idx, nb: int, t_bright: float) -> dict | None:
    """One Bazin shape for all bands (shared time of maximum, rise and fall times) and a
    non-negative peak amplitude per band, fitted to the transient's flux above zero
    (difference-imaging fluxes; for total magnitudes the host's light counts as part of the
    transient).

    Sparse multi-band curves (LSST: a handful of points per band) constrain one shared shape
    where a per-band fit has too few points. The time of maximum is kept within
    :data:`PEAK_WINDOW_D` days of the brightest significant point ``t_bright`` (a peak far
    from every bright point is not what the data show). The amplitudes are solved exactly for
    each shape (variable projection): a grid over (maximum, rise, fall), then a bounded
    Nelder–Mead polish. Returns ``t0, tmax, trise, tfall, amp (nb,), chi2`` (reduced) or None
    with too few points (fewer than the parameters + 1)."""
    from scipy.optimize import minimize

    seen = np.bincount(band_idx, minlength=nb) > 0
    n_par = 3 + int(seen.sum())
    if t.size < n_par + 1:
        return None
    w = 1.0 / e ** 2
    onehot = np.zeros((t.size, nb))
    onehot[np.arange(t.size), band_idx] = 1.0
    tms = t_bright + np.arange(-PEAK_WINDOW_D, PEAK_WINDOW_D + 0.1, 3.0)
    TM, R, F = np.meshgrid(tms, _GRID_RISE, _GRID_FALL, indexing="ij")
    ok = (F > 1.2 * R).ravel()  # a Bazin curve has a maximum only when it falls slower
    TM, R, F = TM.ravel()[ok], R.ravel()[ok], F.ravel()[ok]
    S = _bazin_shape(t[None, :], _t0_of(TM, R, F)[:, None], R[:, None], F[:, None])
    _, chi2 = _profile(S, f, w, onehot)
    k = int(np.argmin(chi2))

    def shape(p):
        tr, tf = np.exp(p[1]), np.exp(p[2])
        return _bazin_shape(t, _t0_of(p[0], tr, tf), tr, tf)[None, :]

    def cost(p):
        if p[2] <= p[1] + np.log(1.2):
            return np.inf
        return float(_profile(shape(p), f, w, onehot)[1][0])

    bounds = [(tms[0], tms[-1]), (np.log(_GRID_RISE[0]), np.log(_GRID_RISE[-1])),
              (np.log(_GRID_FALL[0]), np.log(_GRID_FALL[-1]))]
    x0 = np.array([TM[k], np.log(R[k]), np.log(F[k])])
    r = minimize(cost, x0, method="Nelder-Mead", bounds=bounds,
                 options={"xatol": 1e-3, "fatol": 1e-3, "maxiter": 600})
    p = r.x if r.fun <= chi2[k] else x0
    trise, tfall = float(np.exp(p[1])), float(np.exp(p[2]))
    amp, c2 = _profile(shape(p), f, w, onehot)
    return {"t0": float(_t0_of(p[0], trise, tfall)), "tmax": float(p[0]), "trise": trise,
            "tfall": tfall, "amp": np.where(seen, amp[0], np.nan),
            "chi2": float(c2[0]) / (t.size - n_par)}


def _shape_times(t0: float, trise: float, tfall: float) -> tuple[float, float, float, float]:
    """(time of maximum, shape value at maximum, rise from half maximum, decline to half
    maximum) of a Bazin shape, on a fine grid."""
    grid = np.linspace(t0 - 12 * trise - 5, t0 + 12 * tfall + 5, 6001)
    s = _bazin_shape(grid, t0, trise, tfall)
    i = int(np.argmax(s))
    above = np.flatnonzero(s >= s[i] / 2)
    return grid[i], s[i], grid[i] - grid[above[0]], grid[above[-1]] - grid[i]


def transient_feature_names(bands: Sequence[str]) -> list[str]:
    names = list(TRANSIENT_GLOBAL_FEATURES)
    names += [f"peak_mag_{b}" for b in bands]
    return names + [f"peak_colour_{a}-{b}" for a, b in pairwise(bands)]


_TRANSIENT_SPECS = {
    "rise_time": ("d", "rise time from half maximum to peak"),
    "decline_time": ("d", "decline time from peak to half maximum"),
    "half_max_duration": ("d", "time above half maximum"),
    "plateau": ("d", "plateau duration of the Villar fit"),
    "fit_quality": ("", "log10(1 + reduced chi2) of the joint shape fit"),
}


def transient_feature_specs(bands: Sequence[str]) -> list:
    """:class:`~skyfm.models.base.FeatureSpec` of each :func:`transient_features` column."""
    from skyfm.models.base import FeatureSpec

    out = [FeatureSpec(n, *_TRANSIENT_SPECS[n]) for n in TRANSIENT_GLOBAL_FEATURES]
    names = transient_feature_names(bands)[len(TRANSIENT_GLOBAL_FEATURES):]
    return out + [FeatureSpec(n, "mag", ("peak magnitude, band " + n[len("peak_mag_"):])
                              if n.startswith("peak_mag_") else
                              "colour at peak " + n[len("peak_colour_"):]) for n in names]


def transient_features(lcs: Sequence, bands: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """(N, F) transient shape features of ``lcs`` in ``bands`` (module docstring) and names.
    Bands are put in order of effective wavelength (so the colours are blue minus red)."""
    from skyfm.data.bands import band_wavelength

    bands = sorted(bands, key=band_wavelength)
    nb, ng = len(bands), len(TRANSIENT_GLOBAL_FEATURES)
    villar = _villar()
    out = np.full((len(lcs), ng + nb + max(nb - 1, 0)), np.nan)
    for i, lc in enumerate(lcs):
        span = season(lc)
        if span is None:
            continue
        t, f, e, b = _fluxes(lc)
        inside = (t >= span[0]) & (t <= span[1]) & np.isin(b, bands)
        t, f, e, b = t[inside], f[inside], e[inside], b[inside]
        bidx = np.array([bands.index(x) for x in b], int)
        r = joint_bazin(t, f, e, bidx, nb, span[0] + _BEFORE)
        if r is None:
            continue
        _, smax, rise, decline = _shape_times(r["t0"], r["trise"], r["tfall"])
        fpeak = r["amp"] * smax
        # a band's peak far brighter than any of its points is an extrapolation (its points
        # all lie on the tails): unknown, not measured
        for j in range(nb):
            m = bidx == j
            if m.any() and not fpeak[j] <= _PEAK_SLACK_FLUX * np.max(f[m] + e[m]):
                fpeak[j] = np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            mag = np.where(fpeak > 0, -2.5 * np.log10(fpeak) + ZP_UJY, np.nan)
        plateau = np.nan
        counts = np.bincount(bidx, minlength=nb)
        jb = int(np.argmax(counts))
        if counts[jb] >= _MIN_VILLAR:
            m = bidx == jb
            keep = np.flatnonzero(m)[np.concatenate([[True], np.diff(t[m]) > 0])]
            try:
                v = np.asarray(villar(t[keep], f[keep], e[keep], sorted=True, check=False))
                plateau = v[6] if np.isfinite(v[6]) and v[6] >= 0 else np.nan
            except (ValueError, RuntimeError):
                pass
        out[i, :ng] = [rise, decline, rise + decline, plateau, np.log10(1 + r["chi2"])]
        out[i, ng:ng + nb] = mag
        out[i, ng + nb:] = mag[:-1] - mag[1:]
    return out, transient_feature_names(bands)


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

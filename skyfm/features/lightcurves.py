"""Classical light-curve features (the honest baseline) and a gradient-boosted trees classifier.

Per band (bands ordered by effective wavelength) we compute ~30 statistics with the Rust
``light-curve`` package (amplitude, percentiles, skew, kurtosis, Stetson K, Eta, slopes, Cusum,
reduced chi2, linear trend, ...) plus a Lomb-Scargle period and peak strength per band; on all
bands together (each band centred on its median) a multi-band period, its peak strength, and
the string length of the curve folded at P and 2P (smooth folds mean a real period); and colours
(median differences of neighbouring bands). Fluxes are turned into asinh magnitudes first, so the
same features work for magnitude and flux surveys. Missing bands give NaN (the trees handle it).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from skyfm.data.bands import band_wavelength
from skyfm.data.observations import LightCurve
from skyfm.timeseries.magnitudes import to_magnitudes
from skyfm.timeseries.period import estimate_period

__all__ = [
    "SUMMARY_BAND_FEATURES",
    "GradientBoostedBaseline",
    "choose_bands",
    "fourier_residual",
    "lightcurve_summary",
    "sparse_covariates",
    "summary_feature_specs",
    "lightcurve_feature_names",
    "lightcurve_features",
]

@functools.cache
def _extractor():
    """The baseline's per-band feature extractor (built once)."""
    import light_curve as lc

    feats = [lc.Amplitude(), lc.AndersonDarlingNormal(), lc.BeyondNStd(1.0),
             lc.BeyondNStd(2.0), lc.Cusum(), lc.Eta(), lc.EtaE(),
             lc.InterPercentileRange(0.1), lc.InterPercentileRange(0.25), lc.Kurtosis(),
             lc.LinearTrend(), lc.MaximumSlope(), lc.Mean(), lc.Median(),
             lc.MedianAbsoluteDeviation(), lc.MedianBufferRangePercentage(0.1),
             lc.PercentAmplitude(), lc.PercentDifferenceMagnitudePercentile(0.05),
             lc.PercentDifferenceMagnitudePercentile(0.2), lc.ReducedChi2(), lc.Skew(),
             lc.StandardDeviation(), lc.StetsonK(), lc.WeightedMean(), lc.Duration(),
             lc.MaximumTimeInterval(), lc.ExcessVariance()]
    return lc.Extractor(*feats)


def _band_feature_names() -> list[str]:
    return list(_extractor().names)


def choose_bands(lcs: Sequence, max_bands: int = 6) -> list[str]:
    """The (up to ``max_bands``) most common band names, ordered by effective wavelength."""
    from collections import Counter

    cnt: Counter = Counter()
    for lc in lcs:
        names, counts = np.unique(lc.band.astype(str), return_counts=True)
        cnt.update(dict(zip(names, counts)))
    top = [b for b, _ in cnt.most_common(max_bands)]
    return sorted(top, key=lambda b: (band_wavelength(b), b))


def lightcurve_feature_names(bands: Sequence[str]) -> list[str]:
    names = ["n_points", "n_bands", "duration", "period", "log_period", "period_snr",
             "fold_string_p", "fold_string_2p", "fold_string_ratio"]
    for b in bands:
        names += [f"{b}_{n}" for n in _band_feature_names()]
        names += [f"{b}_n", f"{b}_period", f"{b}_period_snr", f"{b}_fold_string_p"]
    names += [f"colour_{a}-{b}" for a, b in itertools.pairwise(bands)]
    return names


def _string_length(t, v, period) -> float:
    if t.size < 4 or period <= 0:
        return np.nan
    o = np.argsort(np.mod(t / period, 1.0))
    vv = v[o]
    var = np.var(vv)
    return float(np.mean(np.diff(vv) ** 2) / (2 * var)) if var > 0 else np.nan


def _one(lc, bands: Sequence[str], n_feat: int) -> np.ndarray:
    ext = _extractor()
    det = ~lc.upper_limit
    mag, err = to_magnitudes(lc)
    ok = det & np.isfinite(mag)
    t, v, e, b = lc.time[ok], mag[ok], err[ok], lc.band[ok].astype(str)
    e = np.where(np.isfinite(e) & (e > 0), e, np.nan)
    if np.isnan(e).all():
        e = np.full_like(v, 0.01)
    else:
        e = np.where(np.isnan(e), np.nanmedian(e), e)
    e = np.maximum(e, 1e-4)
    row = np.full(n_feat, np.nan)
    centred = v.copy()
    for name in np.unique(b):
        m = b == name
        centred[m] -= np.median(v[m])
    row[0], row[1] = t.size, len(np.unique(b))
    row[2] = t[-1] - t[0] if t.size else np.nan
    if t.size >= 8:
        p, snr = estimate_period(t, centred)
        row[3:9] = [p, np.log10(p), snr, _string_length(t, centred, p),
                    _string_length(t, centred, 2 * p), np.nan]
        row[8] = row[7] / row[6] if row[6] and np.isfinite(row[6]) else np.nan
    k = 9
    nb = len(_band_feature_names())
    meds = []
    for name in bands:
        m = b == name
        meds.append(np.median(v[m]) if m.any() else np.nan)
        if m.sum() >= 5:
            tb, vb, eb = t[m].astype(np.float64), v[m].astype(np.float64), e[m].astype(np.float64)
            _, iu = np.unique(tb, return_index=True)
            tb, vb, eb = tb[iu], vb[iu], eb[iu]
            try:
                row[k:k + nb] = ext(tb, vb, eb, sorted=True, check=False)
            except (ValueError, RuntimeError):
                pass
            row[k + nb] = m.sum()
            if tb.size >= 8:
                pb, sb = estimate_period(tb, vb - np.median(vb))
                row[k + nb + 1:k + nb + 4] = [np.log10(pb), sb, _string_length(tb, vb, pb)]
        else:
            row[k + nb] = m.sum()
        k += nb + 4
    meds = np.array(meds)
    row[k:k + len(bands) - 1] = meds[:-1] - meds[1:]
    return row


def lightcurve_features(lcs: Sequence, progress: Callable[[int], None] | None = None,
                        bands: Sequence[str] | None = None) -> np.ndarray:
    """(N, F) float array of classical features; names from
    ``lightcurve_feature_names(bands)`` (``bands`` default: ``choose_bands(lcs)``)."""
    bands = list(bands) if bands is not None else choose_bands(lcs)
    n_feat = len(lightcurve_feature_names(bands))
    out = np.full((len(lcs), n_feat), np.nan)
    for i, lc in enumerate(lcs):
        with np.errstate(all="ignore"):
            out[i] = _one(lc, bands, n_feat)
        if progress:
            progress(1)
    out[~np.isfinite(out)] = np.nan
    return out


# --------------------------------------------------------------------------- discovery summary
# A shorter per-band set in the curve's own units, which the discovery embedder scales and the
# explanations turn into sentences (names and units from :func:`summary_feature_specs`).

SUMMARY_NOT_EMBEDDED = ("log_n_", "median_snr_")
SUMMARY_BAND_FEATURES = ["median", "amplitude", "std", "skew", "kurtosis", "eta", "stetson_k",
                     "beyond_1std", "log_period", "period_snr", "log_n", "median_snr"]


def summary_extractors(max_freq: float = 4.0, n_freq_log2: int = 13):
    import light_curve as lcf

    freqs = np.linspace(0.0, 2 * np.pi * max_freq, 2**n_freq_log2 + 1)
    stats = lcf.Extractor(lcf.Median(), lcf.InterPercentileRange(0.05), lcf.StandardDeviation(),
                          lcf.Skew(), lcf.Kurtosis(), lcf.Eta(), lcf.StetsonK(), lcf.BeyondNStd(1.0))
    period = lcf.Periodogram(peaks=1, freqs=freqs, fast=True)
    return stats, period


def lightcurve_summary(lcs: Sequence[LightCurve], bands: Sequence[str] | None = None,
                       progress: Callable[[int], None] | None = None,
                       fixed_periods: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """Interpretable per-band features of light curves (NaN where a band has < 5 detections).

    Per band: median value, amplitude (5–95 % range), standard deviation, skew, kurtosis,
    von Neumann eta, Stetson K, fraction beyond 1 sigma, log10 period [d] and its periodogram
    S/N, log10 number of points, median S/N; then colours (median differences of consecutive
    bands; for fluxes -2.5 log10 of their ratio, i.e. magnitudes). Units: those of the values
    (mag or flux), periods in days.
    ``fixed_periods`` (N, n_bands, 2) of (log10 period, S/N) skips the periodogram (used for
    noise re-draws of curves whose period is already known).
    """
    if bands is None:
        bands = choose_bands(lcs)
    stats, period = summary_extractors()
    nb = len(bands)
    nf = len(SUMMARY_BAND_FEATURES)
    out = np.full((len(lcs), nb * nf + max(nb - 1, 0)), np.nan)
    for i, lc in enumerate(lcs):
        det = ~lc.upper_limit & np.isfinite(lc.value)
        meds = [np.nan] * nb
        for j, b in enumerate(bands):
            m = det & (lc.band == b)
            t, v, e = lc.time[m], lc.value[m], lc.error[m]
            if t.size < 5:
                continue
            e = np.where(np.isfinite(e) & (e > 0), e, np.nanmedian(np.abs(v - np.median(v))) + 1e-6)
            # drop duplicate times (light_curve needs strictly increasing time)
            keep = np.concatenate([[True], np.diff(t) > 0])
            t, v, e = t[keep], v[keep], e[keep]
            if t.size < 5:
                continue
            try:
                s = stats(t, v, e, sorted=True, check=False)
            except ValueError:
                continue
            if fixed_periods is not None:
                p, psn = 10 ** fixed_periods[i, j, 0], fixed_periods[i, j, 1]
            else:
                try:
                    p, psn = period(t, v, e, sorted=True, check=False)
                except ValueError:
                    p, psn = np.nan, np.nan
            snr = np.median(np.abs(v) / e) if lc.kind == "flux" else np.median(1.0857 / e)
            row = [s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
                   np.log10(p) if p > 0 else np.nan, psn, np.log10(t.size), snr]
            out[i, j * nf:(j + 1) * nf] = row
            meds[j] = s[0]
        for j in range(nb - 1):
            if lc.kind == "flux":  # a colour is a flux ratio in magnitudes
                ok = meds[j] > 0 and meds[j + 1] > 0
                out[i, nb * nf + j] = -2.5 * np.log10(meds[j] / meds[j + 1]) if ok else np.nan
            else:
                out[i, nb * nf + j] = meds[j] - meds[j + 1]
        if progress and (i + 1) % 256 == 0:
            progress(256)
    if progress and len(lcs) % 256:
        progress(len(lcs) % 256)
    names = [f"{f}_{b}" for b in bands for f in SUMMARY_BAND_FEATURES]
    names += [f"colour_{bands[j]}-{bands[j + 1]}" for j in range(nb - 1)]
    return out, names


#: what each per-band summary feature measures and its unit (``value``: the curve's own unit,
#: mag or flux)
_SUMMARY_SPECS = {
    "median": ("value", "median value"),
    "amplitude": ("value", "amplitude: 5-95 % range of the values"),
    "std": ("value", "standard deviation of the values"),
    "skew": ("", "skewness"),
    "kurtosis": ("", "excess kurtosis"),
    "eta": ("", "von Neumann eta (smoothness of consecutive points)"),
    "stetson_k": ("", "Stetson K"),
    "beyond_1std": ("", "fraction of points beyond 1 sigma of the mean"),
    "log_period": ("dex(d)", "log10 of the periodogram's best period in days"),
    "period_snr": ("", "signal-to-noise ratio of the periodogram peak"),
    "log_n": ("", "log10 of the number of points"),
    "median_snr": ("", "median signal-to-noise ratio of a point"),
}


def summary_feature_specs(bands: Sequence[str], kind: str = "mag") -> list:
    """:class:`~skyfm.models.base.FeatureSpec` of each :func:`lightcurve_summary` column, with
    units: values in mag (``kind='mag'``) or in the flux unit given as ``kind``, colours in mag,
    periods in dex(d)."""
    from skyfm.models.base import FeatureSpec

    value_unit = "mag" if kind == "mag" else ("" if kind == "flux" else kind)
    out = []
    for b in bands:
        for f in SUMMARY_BAND_FEATURES:
            unit, what = _SUMMARY_SPECS[f]
            out.append(FeatureSpec(f"{f}_{b}", value_unit if unit == "value" else unit,
                                   f"{what}, band {b}"))
    out += [FeatureSpec(f"colour_{a}-{b}", "mag", f"colour {a} - {b} (median difference)")
            for a, b in itertools.pairwise(bands)]
    return out


def sparse_covariates(lc: LightCurve, names: Sequence[str]) -> np.ndarray:
    """``median_snr_<band>`` (>= 1 detection) and ``amplitude_<band>`` (5-95 % range, >= 2
    detections) of one curve, computed directly (NaN where the band has too few points)."""
    det = ~lc.upper_limit & np.isfinite(lc.value)
    out = np.full(len(names), np.nan)
    for k, name in enumerate(names):
        what = "median_snr" if name.startswith("median_snr_") else "amplitude"
        band = name[len(what) + 1:]
        m = det & (lc.band == band)
        v, e = lc.value[m], lc.error[m]
        if what == "median_snr":
            ok = np.isfinite(e) & (e > 0)
            if ok.any():
                out[k] = (np.median(np.abs(v[ok]) / e[ok]) if lc.kind == "flux"
                          else np.median(1.0857 / e[ok]))
        elif what == "amplitude" and v.size >= 2:
            q5, q95 = np.percentile(v, [5, 95])
            out[k] = q95 - q5
    return out


def fourier_residual(lc: LightCurve, n_harm: int = 3) -> np.ndarray:
    _, period = summary_extractors()
    res = np.full(len(lc), np.nan)
    for b in lc.bands:
        m = (lc.band == b) & ~lc.upper_limit & np.isfinite(lc.value)
        t, v = lc.time[m], lc.value[m]
        if t.size < 2 * n_harm + 3:
            continue
        e = np.nan_to_num(lc.error[m], nan=1.0) + 1e-6
        keep = np.concatenate([[True], np.diff(t) > 0])
        try:
            p = period(t[keep], v[keep], e[keep], sorted=True, check=False)[0]
        except ValueError:
            continue
        ph = 2 * np.pi * t / p
        A = np.column_stack([np.ones_like(t)] + [f(k * ph) for k in range(1, n_harm + 1)
                                                 for f in (np.sin, np.cos)])
        coef, *_ = np.linalg.lstsq(A, v, rcond=None)
        res[np.flatnonzero(m)] = v - A @ coef
    return res


class GradientBoostedBaseline(BaseEstimator, ClassifierMixin):
    """Classical features + sklearn HistGradientBoosting with balanced class weights."""

    def __init__(self, bands: Sequence[str] | None = None, max_iter: int = 300,
                 learning_rate: float = 0.06, random_state: int = 0):
        self.bands = bands
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.random_state = random_state

    def _clf(self, n: int):
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate,
            max_leaf_nodes=15 if n > 200 else 7, min_samples_leaf=max(2, min(20, n // 40)),
            l2_regularization=1.0, class_weight="balanced", early_stopping=False,
            random_state=self.random_state)

    def fit_features(self, X: np.ndarray, labels, unlabelled: np.ndarray | None = None
                     ) -> GradientBoostedBaseline:
        """Predictions are made under the survey's class mix, as the skyfm heads do (so the
        two stay comparable): the labels' mix, or with ``unlabelled`` (features of the same
        survey's unlabelled curves) that of labelled + unlabelled, estimated by EM
        (:func:`skyfm.models.prior.estimate_prior`)."""
        from skyfm.models.prior import class_priors

        y = np.asarray(labels)
        self.model_ = self._clf(len(y)).fit(X, y)
        self.classes_ = self.model_.classes_
        self.train_prior_, self.prior_ = class_priors(  # balanced class weights
            self.classes_, y, True, None if unlabelled is None or not len(unlabelled)
            else self.model_.predict_proba(unlabelled))
        return self

    def fit(self, light_curves: Sequence, labels, unlabelled: Sequence | None = None
            ) -> GradientBoostedBaseline:
        self.bands_ = list(self.bands) if self.bands is not None else choose_bands(light_curves)
        U = self.transform(unlabelled) if unlabelled is not None and len(unlabelled) else None
        return self.fit_features(self.transform(light_curves), labels, U)

    def transform(self, light_curves: Sequence) -> np.ndarray:
        check_is_fitted(self, "bands_")
        return lightcurve_features(light_curves, bands=self.bands_)

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        from skyfm.models.prior import shift_prior

        check_is_fitted(self, "model_")
        return shift_prior(self.model_.predict_proba(X), self.train_prior_, self.prior_)

    def predict_proba(self, light_curves: Sequence) -> np.ndarray:
        return self.predict_proba_features(self.transform(light_curves))

    def predict(self, light_curves: Sequence) -> np.ndarray:
        proba = self.predict_proba(light_curves)  # NotFittedError before fit
        return self.classes_[proba.argmax(1)]

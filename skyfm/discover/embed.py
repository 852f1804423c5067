"""Embed any observation set for discovery: one vector per object, plus interpretable features.

Each modality has an *embedder* with the scikit-learn contract (``fit`` returns self, learned
attributes end in ``_``) and four jobs:

- ``transform(obs) -> (N, D) float32``: the embedding the scorers work in;
- ``features(obs) -> (N, F)`` with ``feature_names_``: interpretable quantities (period, amplitude,
  colour, line depth, ...) that :mod:`skyfm.discover.explain` turns into sentences;
- ``perturb(obs, rng)``: the observations re-drawn within their measurement errors (for the
  aleatoric uncertainty of :mod:`skyfm.discover.uncertainty`);
- ``reconstruction_error(obs)`` / ``residual(ob)``: how badly the model reproduces an object
  (``None`` when the embedder has no generative side).

Light curves use the pretrained light-curve X model (``skyfm-lc-base``) when it is available,
concatenated with robust-scaled classical light-curve features; without the model the features
alone are the embedding (recorded in ``info_['encoder']``).

**Spectra, images and tables use placeholder encoders** (PCA on a common grid, hand-made
morphology statistics, robust-scaled columns) **until their X models land**; they are swapped
here, behind the same interface, when they do.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import ClassVar

import numpy as np

from skyfm.data.observations import Catalog, Image, LightCurve, ObservationSet, Spectrum
from skyfm.errors import DataFormatError

__all__ = [
    "ImageEmbedder",
    "LightCurveEmbedder",
    "SpectrumEmbedder",
    "TableEmbedder",
    "TableRow",
    "detect_modality",
    "expand_catalogs",
    "lightcurve_summary",
    "load_embedder",
    "make_embedder",
    "save_embedder",
]

Progress = Callable[[int], None] | None

_MODALITY = {LightCurve: "lightcurve", Spectrum: "spectrum", Image: "image", Catalog: "table"}


class TableRow:
    """One catalogue row as an observation (discovery ranks rows, not whole catalogues)."""

    def __init__(self, values: dict, object_id: str, label=None, errors: dict | None = None,
                 units: dict | None = None):
        self.values = dict(values)
        self.errors = dict(errors or {})
        self.units = dict(units or {})
        self.object_id = str(object_id)
        self.label = label
        self.meta: dict = {}

    def __repr__(self) -> str:
        return f"TableRow(object_id={self.object_id!r}, label={self.label!r})"

    def plot(self, ax=None, **kwargs):
        """Bar chart of the row's numeric values. Returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3))
        names = list(self.values)[:20]
        ax.bar(range(len(names)), [self.values[n] for n in names], **kwargs)
        ax.set_xticks(range(len(names)), names, rotation=60, fontsize=7)
        title = self.object_id + (f"  ({self.label})" if self.label is not None else "")
        ax.set_title(title)
        return ax


def expand_catalogs(observations: Sequence) -> list:
    """Replace every :class:`Catalog` by one :class:`TableRow` per row (other objects unchanged)."""
    out: list = []
    for ob in observations:
        if not isinstance(ob, Catalog):
            out.append(ob)
            continue
        cols = ob.feature_columns
        errcols = _error_columns(cols)
        values = [c for c in cols if c not in errcols.values()]
        ids = ob.object_ids
        labels = ob.labels
        table = ob.table
        arr = table[values].to_numpy(dtype=float)
        errs = {c: table[e].to_numpy(dtype=float) for c, e in errcols.items()}
        for i in range(len(ob)):
            lab = None if labels is None else labels[i]
            if lab is not None and isinstance(lab, float) and np.isnan(lab):
                lab = None
            out.append(TableRow(dict(zip(values, arr[i])), ids[i], lab,
                                {c: e[i] for c, e in errs.items()},
                                {c: ob.units.get(c) for c in values}))
    return out


def _error_columns(cols: Sequence[str]) -> dict[str, str]:
    """Map value column -> its error column (``x_err``, ``err_x``, ``x_error``, ``e_x``, ``sigma_x``)."""
    found = {}
    cset = set(cols)
    for c in cols:
        for cand in (f"{c}_err", f"err_{c}", f"{c}_error", f"e_{c}", f"sigma_{c}", f"{c}err"):
            if cand in cset:
                found[c] = cand
                break
    return found


def detect_modality(observations: Sequence) -> str:
    """``'lightcurve'``, ``'spectrum'``, ``'image'`` or ``'table'``; raises on a mixed or empty set."""
    kinds = set()
    for ob in observations:
        if isinstance(ob, TableRow):
            kinds.add("table")
            continue
        for cls, name in _MODALITY.items():
            if isinstance(ob, cls):
                kinds.add(name)
                break
        else:
            raise DataFormatError(f"cannot discover on a {type(ob).__name__}", field="observations",
                                  expected="LightCurve, Spectrum, Image or Catalog objects")
    if not kinds:
        raise DataFormatError("no observations", field="observations",
                              expected="at least one object")
    if len(kinds) > 1:
        raise DataFormatError(f"mixed modalities {sorted(kinds)}", field="observations",
                              expected="one modality per discovery run")
    return kinds.pop()


def make_embedder(modality: str, **kwargs):
    """The default embedder for a modality (keyword arguments go to its constructor)."""
    cls = {"lightcurve": LightCurveEmbedder, "spectrum": SpectrumEmbedder,
           "image": ImageEmbedder, "table": TableEmbedder}.get(modality)
    if cls is None:
        raise ValueError(f"unknown modality {modality!r}")
    return cls(**kwargs)


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


class _RobustScaler:
    """Median/IQR scaling with median imputation of non-finite values and clipping at +-clip."""

    def __init__(self, clip: float = 20.0):
        self.clip = clip

    @classmethod
    def from_arrays(cls, center: np.ndarray, scale: np.ndarray, clip: float) -> _RobustScaler:
        out = cls(clip)
        out.center_, out.scale_ = np.asarray(center, float), np.asarray(scale, float)
        return out

    def fit(self, X: np.ndarray) -> _RobustScaler:
        X = np.where(np.isfinite(X), X, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.center_ = np.nan_to_num(np.nanmedian(X, axis=0))
            q75, q25 = np.nanpercentile(X, [75, 25], axis=0)
            std = np.nan_to_num(np.nanstd(X, axis=0))
        iqr = np.nan_to_num(q75 - q25)
        self.scale_ = np.where(iqr > 1e-12, iqr / 1.349, np.where(std > 1e-12, std, 1.0))
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.where(np.isfinite(X), X, np.nan)
        Z = (X - self.center_) / self.scale_
        return np.clip(np.nan_to_num(Z, nan=0.0), -self.clip, self.clip)


# --------------------------------------------------------------------------- light curves

_LC_NOT_EMBEDDED = ("log_n_", "median_snr_")
_LC_BAND_FEATURES = ["median", "amplitude", "std", "skew", "kurtosis", "eta", "stetson_k",
                     "beyond_1std", "log_period", "period_snr", "log_n", "median_snr"]


def _lc_extractors(max_freq: float = 4.0, n_freq_log2: int = 13):
    import light_curve as lcf

    freqs = np.linspace(0.0, 2 * np.pi * max_freq, 2**n_freq_log2 + 1)
    stats = lcf.Extractor(lcf.Median(), lcf.InterPercentileRange(0.05), lcf.StandardDeviation(),
                          lcf.Skew(), lcf.Kurtosis(), lcf.Eta(), lcf.StetsonK(), lcf.BeyondNStd(1.0))
    period = lcf.Periodogram(peaks=1, freqs=freqs, fast=True)
    return stats, period


def lightcurve_summary(lcs: Sequence[LightCurve], bands: Sequence[str] | None = None,
                       progress: Progress = None,
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
        bands = _common_bands(lcs)
    stats, period = _lc_extractors()
    nb = len(bands)
    nf = len(_LC_BAND_FEATURES)
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
    names = [f"{f}_{b}" for b in bands for f in _LC_BAND_FEATURES]
    names += [f"colour_{bands[j]}-{bands[j + 1]}" for j in range(nb - 1)]
    return out, names


def _common_bands(lcs: Sequence[LightCurve], max_bands: int = 6) -> list[str]:
    from collections import Counter

    count: Counter = Counter()
    order: dict[str, int] = {}
    for lc in lcs:
        for b in lc.bands:
            count[b] += 1
            order.setdefault(b, len(order))
    common = [b for b, _ in count.most_common(max_bands)]
    return sorted(common, key=lambda b: order[b])


def _load_lc_encoder(name: str):
    """The pretrained light-curve encoder, or ``(None, reason)`` when it is not available."""
    try:
        from skyfm.models.lightcurve import LightCurveEncoder
    except ImportError as exc:
        return None, f"light-curve X model not installed ({exc.__class__.__name__})"
    # A named model that exists but fails to load is a bug or a broken install: say so.
    return LightCurveEncoder.from_pretrained(name), None


class LightCurveEmbedder:
    """Light curves -> [X-model embedding | robust-scaled classical features].

    Parameters
    ----------
    encoder : name or directory of the pretrained light-curve encoder (``None``: features only)
    use_features : append the robust-scaled interpretable features to the embedding
    n_components : PCA size of the encoder embedding (``None`` keeps it whole)
    batch_size : light curves per encoder call (bounds memory)
    transient : embed the transient shape features (rise and decline times, peak magnitude
        and colour, plateau, duration above half maximum; :mod:`skyfm.features.transients`)
        instead of the periodic ones; the classical features are still computed for the
        explanations. Use it with ``encoder=None``: on ZTF and PLAsTiCC supernovae the
        encoder (pretrained on variable stars) and the periodic features only dilute the shape
        features (``bench/transients.py``: AUROC of "not SNIa" 0.92 / 0.71 with the shape
        features alone vs 0.85 / 0.68 with the encoder added)
    """

    modality = "lightcurve"
    #: fusion weights: the X model's masked-reconstruction error is computed and reported
    #: (``score_recon``) but does not enter the combined score. It mostly measures the curve's
    #: noise level (rank correlation ~0.75 with relative noise on real EROS curves), and even
    #: noise-calibrated it lowers detection on the digital twin: with digital-twin
    #: microlensing/flare/TDE signals injected into real EROS curves
    #: (:func:`skyfm.benchmarks.discovery.twin_recon_weight_check`) every weight > 0 lowered
    #: recall@1 %/5 % and AUROC, for skyfm-lc-base and for an encoder pretrained without Mira
    #: alike (e.g. recall@5 % 0.47 / 0.43 / 0.38 at weights 0 / 0.5 / 1 with skyfm-lc-base).
    default_weights: ClassVar[dict[str, float]] = {"recon": 0.0}

    def __init__(self, encoder: str | None = "skyfm-lc-base", use_features: bool = True,
                 n_components: int | None = 32, feature_weight: float = 1.0,
                 encoder_weight: float = 1.0, batch_size: int = 512, transient: bool = False):
        self.encoder = encoder
        self.transient = transient
        self.use_features = use_features
        self.n_components = n_components
        self.feature_weight = feature_weight
        self.encoder_weight = encoder_weight
        self.batch_size = batch_size

    # -- fitting ------------------------------------------------------------
    def fit(self, lcs: Sequence[LightCurve], progress: Progress = None, *,
            _features: np.ndarray | None = None, _encoded: np.ndarray | None = None,
            _prepared: list | None = None) -> LightCurveEmbedder:
        """Fit the scalers/PCA (``_features``/``_encoded``/``_prepared``: precomputed rows of
        ``lightcurve_summary``, the encoder and its tokens, when the caller has them)."""
        self.bands_ = _common_bands(lcs)
        self._fit_obs = lcs
        self.model_, reason = (None, "disabled") if self.encoder is None else \
            _load_lc_encoder(self.encoder)
        self.info_ = {"encoder": self.encoder if self.model_ is not None else
                      f"classical features only ({reason})", "bands": self.bands_}
        if _features is None:
            feats, self.feature_names_ = self._summary(lcs, progress)
        else:
            feats = _features
            self.feature_names_ = self._summary([])[1]
        self._fit_features = feats
        self.scaler_ = _RobustScaler().fit(self._feature_matrix(feats))
        if self.model_ is not None:
            if _encoded is None:
                Z = self._encode(lcs, keep_prepared=True)
            else:
                Z = _encoded
                if _prepared is not None:
                    self._fit_prepared = _prepared
            self._fit_encoded = Z
            self.z_scaler_ = _RobustScaler().fit(Z)
            Zs = self.z_scaler_.transform(Z)
            self.pca_ = None
            if self.n_components and Zs.shape[1] > self.n_components and len(lcs) > self.n_components:
                from sklearn.decomposition import PCA

                self.pca_ = PCA(self.n_components, random_state=0).fit(Zs)
        if not self.use_features and self.model_ is None:
            self.use_features = True  # nothing else to embed with
        return self

    def _summary(self, lcs, progress: Progress = None,
                 fixed_periods: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
        """The interpretable features: :func:`lightcurve_summary`, then (``transient=True``)
        the transient shape features of :func:`skyfm.features.transients.transient_features`."""
        F, names = lightcurve_summary(lcs, self.bands_, progress, fixed_periods=fixed_periods)
        if not self.transient:
            return F, names
        from skyfm.features.transients import transient_features

        T, tnames = transient_features(lcs, self.bands_)
        return np.hstack([F, T]), names + tnames

    def _feature_matrix(self, feats: np.ndarray) -> np.ndarray:
        if self.transient:  # the transient shape block (the last columns) alone
            from skyfm.features.transients import transient_feature_names

            k = len(transient_feature_names(self.bands_))
            return _signed_log(feats[:, feats.shape[1] - k:])
        # sampling and data-quality quantities explain, but do not define, unusualness
        keep = [i for i, n in enumerate(self.feature_names_)
                if not n.startswith(_LC_NOT_EMBEDDED)]
        return _signed_log(feats[:, keep])

    def _prepare(self, chunk: list) -> list:
        """The encoder's tokenised curves (the costly periodogram step), computed once."""
        if hasattr(self.model_, "prepare"):
            return self.model_.prepare(chunk)
        return chunk

    def _encode(self, lcs, keep_prepared: bool = False) -> np.ndarray:
        parts, prepared = [], []
        for s in range(0, len(lcs), self.batch_size):
            chunk = self._prepare(list(lcs[s:s + self.batch_size]))
            if keep_prepared:
                prepared.extend(chunk)
            parts.append(np.asarray(self.model_.embed(chunk), float))
        if keep_prepared:
            self._fit_prepared = prepared
        return np.concatenate(parts) if parts else np.zeros((0, 1))

    # -- outputs ------------------------------------------------------------
    def transform(self, lcs: Sequence[LightCurve], _features: np.ndarray | None = None,
                  _encoded: np.ndarray | None = None) -> np.ndarray:
        blocks = []
        if self.model_ is not None:
            Z = self._encode(lcs) if _encoded is None else _encoded
            Zs = self.z_scaler_.transform(Z)
            if self.pca_ is not None:  # keep the PCA's ordering, unit mean variance per dim
                Zs = self.pca_.transform(Zs) / np.sqrt(self.pca_.explained_variance_.mean())
            blocks.append(self.encoder_weight * Zs)
        if self.use_features:
            F = self._summary(lcs)[0] if _features is None else _features
            blocks.append(self.feature_weight * self.scaler_.transform(self._feature_matrix(F)))
        return np.hstack(blocks).astype(np.float32)

    def fit_transform(self, lcs, progress: Progress = None) -> np.ndarray:
        self.fit(lcs, progress)
        return self.transform(lcs, _features=self._fit_features,
                              _encoded=getattr(self, "_fit_encoded", None))

    def transform_draw(self, draw: Sequence[LightCurve]) -> np.ndarray:
        """Embed noise re-draws of the fitted curves (``draw[i]`` re-draws fitted curve i),
        keeping each curve's period at its clean value: the periodogram is the costly step
        and a within-errors re-draw moves amplitudes and shapes far more than periods."""
        nb = len(self.bands_)
        nf = len(_LC_BAND_FEATURES)
        F0 = self._fit_features
        ip, isn = _LC_BAND_FEATURES.index("log_period"), _LC_BAND_FEATURES.index("period_snr")
        fixed = np.stack([np.stack([F0[:, j * nf + ip], F0[:, j * nf + isn]], axis=1)
                          for j in range(nb)], axis=1)
        F = self._summary(draw, fixed_periods=fixed)[0]
        Z = None
        if self.model_ is not None and hasattr(self, "_fit_prepared"):
            Z = self._encode_with_periods(draw, self._fit_prepared)
        return self.transform(draw, _features=F, _encoded=Z)

    def _encode_with_periods(self, draw, clean_prepared) -> np.ndarray:
        try:
            from skyfm.models import lightcurve_tokens as tok
        except ImportError:
            return self._encode(draw)
        c = self.model_.config
        prepared = []
        for lc, p0 in zip(draw, clean_prepared, strict=True):
            p = tok.prepare(lc, c.min_period, c.period_resolution, period=p0.period)
            if p.ctx.shape == p0.ctx.shape:
                p.ctx[:2] = p0.ctx[:2]  # log period and periodogram S/N of the clean curve
            prepared.append(p)
        parts = [np.asarray(self.model_.embed(prepared[s:s + self.batch_size]), float)
                 for s in range(0, len(prepared), self.batch_size)]
        return np.concatenate(parts)

    def features(self, lcs) -> np.ndarray:
        if lcs is getattr(self, "_fit_obs", None):
            return self._fit_features
        return self._summary(lcs)[0]

    def reconstruction_error(self, lcs) -> np.ndarray | None:
        """The encoder's masked-reconstruction (pretraining) loss per curve; None without one."""
        if self.model_ is None or not hasattr(self.model_, "reconstruction_error"):
            return None
        reuse = lcs is getattr(self, "_fit_obs", None) and hasattr(self, "_fit_prepared")
        parts = []
        for s in range(0, len(lcs), self.batch_size):
            if reuse:  # tokens of the fitted curves are already there: skip re-tokenising
                chunk = self._fit_prepared[s:s + self.batch_size]
                parts.append(np.asarray(_recon_from_prepared(self.model_, chunk), float))
            else:
                parts.append(np.asarray(
                    self.model_.reconstruction_error(list(lcs[s:s + self.batch_size])), float))
        err = np.concatenate(parts)
        # one detection leaves nothing to mask and reconstruct: the model reports 0, which
        # would read as "perfectly ordinary"; the error is undefined there
        n_det = np.array([int((~lc.upper_limit & np.isfinite(lc.value)).sum()) for lc in lcs])
        return np.where(n_det < 2, np.nan, err)

    def noise_covariates(self, lcs) -> np.ndarray:
        """(N, 2 n_bands): log10 median S/N and signed-log amplitude per band (NaN if absent),
        the covariates the reconstruction error is calibrated against."""
        F = self.features(lcs)
        idx = [i for i, n in enumerate(self.feature_names_)
               if n.startswith(("median_snr_", "amplitude_"))]
        C = F[:, idx].copy()
        # the features need 5 points per band; S/N needs 1 and an amplitude 2, so a sparse
        # curve still gets its covariates (else a set of sparse curves has none at all)
        for r in np.flatnonzero(~np.isfinite(C).all(axis=1)):
            C[r] = np.where(np.isfinite(C[r]), C[r], _sparse_covariates(
                lcs[r], [self.feature_names_[i] for i in idx]))
        for k, i in enumerate(idx):
            C[:, k] = (np.log10(np.clip(C[:, k], 1e-6, None))
                       if self.feature_names_[i].startswith("median_snr_") else
                       _signed_log(C[:, k]))
        return C

    @property
    def costly_reconstruction(self) -> bool:
        """True when the reconstruction error needs the X model (noise draws then reuse the
        clean curve's value, see :func:`skyfm.discover.uncertainty.aleatoric`)."""
        return self.model_ is not None

    def perturb(self, lc: LightCurve, rng: np.random.Generator, scale: float = 1.0) -> LightCurve:
        """The curve with every value re-drawn within its 1-sigma error (unknown errors: no change)."""
        err = np.nan_to_num(lc.error, nan=0.0)
        new = lc._new()
        new.value = lc.value + scale * err * rng.standard_normal(len(lc))
        return new

    def residual(self, lc: LightCurve):
        """(time, value - model, label): the encoder's reconstruction when it offers one, else the
        residual from a 3-harmonic Fourier fit at the best period of each band."""
        if self.model_ is not None and hasattr(self.model_, "reconstruct_values"):
            rec = np.asarray(self.model_.reconstruct_values([lc])[0], float)
            if rec.shape == lc.value.shape:
                return lc.time, lc.value - rec, "X-model reconstruction residual"
        return lc.time, _fourier_residual(lc), "residual from a periodic (Fourier) model"


def _sparse_covariates(lc: LightCurve, names: Sequence[str]) -> np.ndarray:
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


def _recon_from_prepared(model, prepared: list) -> np.ndarray:
    """``model.reconstruction_error`` on already-tokenised curves (its ``prepare`` is skipped)."""
    original = model.prepare
    model.prepare = lambda items, *a, **k: list(items)
    try:
        return model.reconstruction_error(prepared)
    finally:
        model.prepare = original


def _fourier_residual(lc: LightCurve, n_harm: int = 3) -> np.ndarray:
    _, period = _lc_extractors()
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


# --------------------------------------------------------------------------- spectra


class SpectrumEmbedder:
    """Spectra -> PCA of [shape | continuum-normalised flux] on a common log-wavelength grid.

    Placeholder encoder until the spectrum X model lands. Every spectrum is resampled onto
    ``n_pixels`` points uniform in log(wavelength) over the range most spectra cover (the 10th
    percentile of their blue ends to the 90th of their red ends), masked/missing pixels filled by
    interpolation; the *shape* block is flux over its median, the *line* block flux over a
    running-median continuum; the embedding is the whitened principal components above the noise
    floor (at most ``n_components``). ``reconstruction_error`` is the RMS residual of the PCA model
    (cross-fitted for the spectra the model was fitted on).
    """

    modality = "spectrum"

    def __init__(self, n_pixels: int = 256, n_components: int = 16, continuum_window: int = 15):
        self.n_pixels = n_pixels
        self.n_components = n_components
        self.continuum_window = continuum_window

    def fit(self, specs: Sequence[Spectrum], progress: Progress = None) -> SpectrumEmbedder:
        import astropy.units as u
        from sklearn.decomposition import PCA

        lo = np.array([s.to_unit(u.AA).wavelength[~s.mask].min() for s in specs])
        hi = np.array([s.to_unit(u.AA).wavelength[~s.mask].max() for s in specs])
        a, b = np.percentile(lo, 10), np.percentile(hi, 90)
        if not b > a:
            a, b = lo.min(), hi.max()
        self.grid_ = np.exp(np.linspace(np.log(a), np.log(b), self.n_pixels))  # Angstrom
        G, E = self._grid(specs)
        self._fit_obs, self._fit_grid = specs, (G, E)
        X = self._blocks(G)
        k = int(min(self.n_components, len(specs) - 1, X.shape[1]))
        full = PCA(int(min(len(specs) - 1, X.shape[1], 64)) or 1, random_state=0).fit(X)
        # keep the components above the noise floor (eigenvalue > 5x the median one): noise-only
        # components would dilute tree- and distance-based scorers
        ev = full.explained_variance_
        k = int(min(k, max(2, int((ev > 5 * np.median(ev)).sum()))))
        self.pca_ = PCA(k, random_state=0).fit(X)
        self._fit_recon = _crossfit_pca_error(X, k)
        self.info_ = {"encoder": f"placeholder: PCA ({k} whitened PCs) of spectra on a common "
                                 f"log-wavelength grid"}
        self.feature_names_ = ["slope_blue_red", "flux_q1", "flux_q2", "flux_q3", "flux_q4",
                               "line_depth_max", "line_wavelength", "emission_peak",
                               "emission_wavelength", "median_snr"]
        if progress:
            progress(len(specs))
        return self

    def _grid(self, specs):
        import astropy.units as u

        G = np.empty((len(specs), self.n_pixels))
        E = np.empty((len(specs), self.n_pixels))
        for i, s in enumerate(specs):
            s = s.to_unit(u.AA)
            good = ~s.mask & np.isfinite(s.flux)
            w, f = s.wavelength[good], s.flux[good]
            e = np.nan_to_num(s.error[good], nan=np.nan)
            G[i] = np.interp(self.grid_, w, f)
            ef = np.where(np.isfinite(e), e, np.nan)
            E[i] = np.interp(self.grid_, w, np.nan_to_num(ef, nan=np.nanmedian(ef) if
                                                          np.isfinite(ef).any() else 0.0))
        return G, E

    def _normalised(self, G):
        med = np.median(G, axis=1, keepdims=True)
        med = np.where(np.abs(med) > 0, med, 1.0)
        return G / med

    def _continuum(self, shape):
        from scipy.ndimage import median_filter

        w = max(3, self.n_pixels // self.continuum_window)
        cont = median_filter(shape, size=(1, w), mode="nearest")
        # shape has median 1: a floor keeps near-zero continua (noisy ends) from blowing up
        return np.maximum(cont, 0.1)

    def _blocks(self, G):
        shape = np.clip(self._normalised(G), -5, 10)
        lines = np.clip(shape / self._continuum(shape), -3, 5)
        return np.hstack([shape, lines])

    def transform(self, specs) -> np.ndarray:
        G = self._fit_grid[0] if specs is self._fit_obs else self._grid(specs)[0]
        Z = self.pca_.transform(self._blocks(G))  # whitened: each component in units of its std
        return (Z / np.sqrt(self.pca_.explained_variance_)).astype(np.float32)

    def fit_transform(self, specs, progress: Progress = None) -> np.ndarray:
        return self.fit(specs, progress).transform(specs)

    def features(self, specs) -> np.ndarray:
        G, E = self._fit_grid if specs is self._fit_obs else self._grid(specs)
        B = self._blocks(G)
        shape, lines = B[:, :self.n_pixels], B[:, self.n_pixels:]
        q = np.array_split(np.arange(self.n_pixels), 4)
        fq = np.column_stack([np.median(shape[:, i], axis=1) for i in q])
        slope = np.log(np.clip(fq[:, 3], 1e-6, None) / np.clip(fq[:, 0], 1e-6, None))
        depth = 1 - lines.min(axis=1)
        dw = self.grid_[lines.argmin(axis=1)]
        peak = lines.max(axis=1) - 1
        pw = self.grid_[lines.argmax(axis=1)]
        with np.errstate(divide="ignore", invalid="ignore"):
            snr = np.nanmedian(np.abs(G) / np.where(E > 0, E, np.nan), axis=1)
        return np.column_stack([slope, fq, depth, dw, peak, pw, snr])

    def _reconstruct(self, specs):
        G = self._fit_grid[0] if specs is self._fit_obs else self._grid(specs)[0]
        Xs = self._blocks(G)
        rec = self.pca_.inverse_transform(self.pca_.transform(Xs))
        return Xs, rec

    def reconstruction_error(self, specs) -> np.ndarray:
        """RMS residual of the PCA model; for the fitted spectra, of a model fitted without
        them (5-fold cross-fitting), so an odd spectrum cannot hide in its own component."""
        if specs is self._fit_obs:
            return self._fit_recon
        Xs, rec = self._reconstruct(specs)
        return np.sqrt(np.mean((Xs - rec) ** 2, axis=1))

    def perturb(self, spec: Spectrum, rng: np.random.Generator, scale: float = 1.0) -> Spectrum:
        err = np.nan_to_num(spec.error, nan=0.0)
        return spec._with(flux=spec.flux + scale * err * rng.standard_normal(len(spec)))

    def residual(self, spec: Spectrum):
        """(wavelength [Angstrom], continuum-normalised flux minus its PCA reconstruction, label)."""
        import astropy.units as u

        Xs, rec = self._reconstruct([spec])
        n = self.n_pixels
        r = (Xs - rec)[0, n:]
        x = (self.grid_ * u.AA).to_value(spec.wavelength_unit, equivalencies=u.spectral())
        return x, r, "residual along wavelength (continuum-normalised, PCA model)"


# --------------------------------------------------------------------------- images


class ImageEmbedder:
    """Images -> [whitened PCA of rotation-invariant polar features | morphology statistics].

    Placeholder encoder until the image X model lands. Each image is centre-cropped to
    ``crop`` of its width, binned to ``size`` x ``size`` and asinh-scaled per band (sky
    median subtracted, MAD-scaled). The fixed feature extractor samples every band on
    ``n_radii`` circles around the centre and keeps the amplitudes of the azimuthal Fourier
    modes m = 0..``n_modes`` on each circle — the radial profile (m = 0) and its lopsided,
    elliptical, three- and four-fold structure (m = 1..4), per band, so colour gradients,
    rings, arcs, bars and spiral arms show up and the orientation of the galaxy does not. These
    are reduced to the principal components above the noise floor (at most ``n_components``),
    whitened, and joined by robust-scaled morphology statistics: light in 5 annuli,
    concentration, asymmetry (180° rotation), ellipticity and position angle from second
    moments, smoothness, half-light radius and band colours (log flux ratios).
    ``reconstruction_error`` is the residual of the PCA model of the polar features
    (cross-fitted on the fitted images).
    """

    modality = "image"

    def __init__(self, size: int = 48, n_components: int = 24, crop: float = 1.0,
                 n_radii: int = 12, n_modes: int = 4, stats_weight: float = 1.0):
        self.size = size
        self.n_components = n_components
        self.crop = crop
        self.n_radii = n_radii
        self.n_modes = n_modes
        self.stats_weight = stats_weight

    def _stamps(self, imgs) -> np.ndarray:
        if imgs is getattr(self, "_fit_obs", None):
            return self._fit_stamps
        out = []
        for im in imgs:
            d = np.nan_to_num(np.asarray(im.data, np.float32))
            if self.crop < 1.0:
                h, w = d.shape[-2:]
                ch, cw = max(2, round(h * self.crop)), max(2, round(w * self.crop))
                y0, x0 = (h - ch) // 2, (w - cw) // 2
                d = d[:, y0:y0 + ch, x0:x0 + cw]
            out.append(_resize(d, self.size))
        nb = max(o.shape[0] for o in out)
        return np.stack([np.concatenate([o] + [o[-1:]] * (nb - o.shape[0])) for o in out])

    def fit(self, imgs: Sequence[Image], progress: Progress = None) -> ImageEmbedder:
        from sklearn.decomposition import PCA

        self._fit_obs = None
        S = self._stamps(imgs)
        self._fit_obs, self._fit_stamps = imgs, S
        P = self._polar(S)
        self._fit_polar = P
        full = PCA(int(max(1, min(len(imgs) - 1, P.shape[1], 64))), random_state=0).fit(P)
        ev = full.explained_variance_
        k = int(min(self.n_components, len(imgs) - 1,
                    max(2, int((ev > 5 * np.median(ev)).sum()))))
        self.pca_ = PCA(max(k, 1), random_state=0).fit(P)
        self._fit_recon = _crossfit_pca_error(P, max(k, 1))
        F = self.features(imgs)
        self.scaler_ = _RobustScaler().fit(F)
        self.feature_names_ = (["light_r0", "light_r1", "light_r2", "light_r3", "light_r4",
                                "concentration", "asymmetry", "ellipticity", "position_angle",
                                "smoothness", "size_r50"] +
                               [f"colour_{i}-{i + 1}" for i in range(S.shape[1] - 1)])
        self.info_ = {"encoder": f"placeholder: polar Fourier features ({self.pca_.n_components_} "
                                 f"PCs) + morphology statistics"}
        if progress:
            progress(len(imgs))
        return self

    @staticmethod
    def _asinh(S, scale_from=None):
        R = S if scale_from is None else scale_from
        med = np.median(R, axis=(2, 3), keepdims=True)
        mad = np.median(np.abs(R - med), axis=(2, 3), keepdims=True) * 1.4826 + 1e-6
        return np.arcsinh((S - med) / (3 * mad))

    def _polar(self, S, scale_from=None) -> np.ndarray:
        if S is getattr(self, "_fit_stamps", None) and hasattr(self, "_fit_polar"):
            return self._fit_polar
        from scipy.ndimage import map_coordinates

        n, nb, h, w = S.shape
        A = self._asinh(S, scale_from)
        n_theta = 32
        r = (np.arange(self.n_radii) + 0.5) / self.n_radii * (min(h, w) / 2 - 1)
        th = np.arange(n_theta) / n_theta * 2 * np.pi
        coords = np.array([((h - 1) / 2 + r[:, None] * np.sin(th)[None]).ravel(),
                           ((w - 1) / 2 + r[:, None] * np.cos(th)[None]).ravel()])
        out = np.empty((n, nb, self.n_radii, self.n_modes + 1))
        for i in range(n):
            for b in range(nb):
                v = map_coordinates(A[i, b], coords, order=1).reshape(self.n_radii, n_theta)
                out[i, b] = np.abs(np.fft.rfft(v, axis=1))[:, :self.n_modes + 1] / n_theta
        return out.reshape(n, -1)

    def transform(self, imgs) -> np.ndarray:
        S = self._stamps(imgs)
        Z = self.pca_.transform(self._polar(S)) / np.sqrt(self.pca_.explained_variance_)
        F = self.scaler_.transform(self._stats(S))
        return np.hstack([Z, self.stats_weight * F]).astype(np.float32)

    def fit_transform(self, imgs, progress: Progress = None) -> np.ndarray:
        return self.fit(imgs, progress).transform(imgs)

    def features(self, imgs) -> np.ndarray:
        return self._stats(self._stamps(imgs))

    def _stats(self, S) -> np.ndarray:
        n, nb, h, w = S.shape
        yy, xx = np.mgrid[:h, :w]
        r = np.hypot(yy - (h - 1) / 2, xx - (w - 1) / 2)
        rmax = min(h, w) / 2
        med = np.median(S, axis=(2, 3), keepdims=True)
        sky = np.clip(S - med, 0, None)
        tot_b = sky.sum(axis=(2, 3)) + 1e-9  # (n, nb)
        L = sky.sum(axis=1)  # all bands
        tot = L.reshape(n, -1).sum(axis=1) + 1e-9
        edges = np.linspace(0, rmax, 6)
        rings = np.column_stack([L[:, (r >= a) & (r < b)].sum(axis=1) / tot
                                 for a, b in pairwise(edges)])
        order = np.argsort(r.ravel())
        cum = np.cumsum(L.reshape(n, -1)[:, order], axis=1) / tot[:, None]
        rs = r.ravel()[order]
        r20 = rs[np.argmax(cum >= 0.2, axis=1)] + 0.5
        r50 = rs[np.argmax(cum >= 0.5, axis=1)] + 0.5
        r80 = rs[np.argmax(cum >= 0.8, axis=1)] + 0.5
        conc = 5 * np.log10(r80 / r20)
        asym = np.abs(L - L[:, ::-1, ::-1]).reshape(n, -1).sum(axis=1) / (2 * tot)
        x0 = (L * xx).reshape(n, -1).sum(1) / tot
        y0 = (L * yy).reshape(n, -1).sum(1) / tot
        dx, dy = xx[None] - x0[:, None, None], yy[None] - y0[:, None, None]
        qxx = (L * dx * dx).reshape(n, -1).sum(1) / tot
        qyy = (L * dy * dy).reshape(n, -1).sum(1) / tot
        qxy = (L * dx * dy).reshape(n, -1).sum(1) / tot
        lam = np.sqrt((qxx - qyy) ** 2 + 4 * qxy**2)
        a2, b2 = (qxx + qyy + lam) / 2, np.clip((qxx + qyy - lam) / 2, 1e-9, None)
        ell = 1 - np.sqrt(b2 / np.clip(a2, 1e-9, None))
        pa = 0.5 * np.degrees(np.arctan2(2 * qxy, qxx - qyy))
        from scipy.ndimage import uniform_filter

        smooth = uniform_filter(L, size=(1, 3, 3))
        smoothness = np.clip(L - smooth, 0, None).reshape(n, -1).sum(1) / tot
        cols = [np.log10(tot_b[:, i] / tot_b[:, i + 1]) for i in range(nb - 1)]
        return np.column_stack([rings, conc, asym, ell, pa, smoothness, r50] + cols)

    def reconstruction_error(self, imgs) -> np.ndarray:
        """RMS residual of the PCA model of the polar features (cross-fitted when fitted)."""
        if imgs is self._fit_obs:
            return self._fit_recon
        P = self._polar(self._stamps(imgs))
        rec = self.pca_.inverse_transform(self.pca_.transform(P))
        return np.sqrt(np.mean((P - rec) ** 2, axis=1))

    def draw_transform(self, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
        """Embedding of one noise re-draw of all fitted images, drawn on the binned stamps
        (noise at each stamp's own background level, per band), so the full-resolution images
        need not be read again."""
        S = self._fit_stamps
        med = np.median(S, axis=(2, 3), keepdims=True)
        sig = np.median(np.abs(S - med), axis=(2, 3), keepdims=True) * 1.4826
        D = (S + scale * sig * rng.standard_normal(S.shape)).astype(np.float32)
        # asinh scale from the clean stamps: the re-draw must not also change the units
        Z = self.pca_.transform(self._polar(D, scale_from=S)) / np.sqrt(
            self.pca_.explained_variance_)
        F = self.scaler_.transform(self._stats(D))
        self._last_draw_stamps = D
        return np.hstack([Z, self.stats_weight * F]).astype(np.float32)

    def draw_reconstruction_error(self) -> np.ndarray:
        """Reconstruction error of the last :meth:`draw_transform` draw."""
        P = self._polar(self._last_draw_stamps, scale_from=self._fit_stamps)
        rec = self.pca_.inverse_transform(self.pca_.transform(P))
        return np.sqrt(np.mean((P - rec) ** 2, axis=1))

    def perturb(self, img: Image, rng: np.random.Generator, scale: float = 1.0) -> Image:
        """The image with Gaussian pixel noise at its own background level (per-band MAD)."""
        d = np.nan_to_num(np.asarray(img.data, np.float32))
        med = np.median(d, axis=(1, 2), keepdims=True)
        sig = np.median(np.abs(d - med), axis=(1, 2), keepdims=True) * 1.4826
        return Image((d + scale * sig * rng.standard_normal(d.shape)).astype(np.float32),
                     list(img.bands), object_id=img.object_id, label=img.label,
                     provenance=img.provenance, meta=dict(img.meta))

    def residual(self, img: Image):
        """(None, asinh image minus its azimuthal mean, summed over bands, label): the
        non-axisymmetric structure (arms, arcs, bars, companions)."""
        A = self._asinh(self._stamps([img]))[0].sum(axis=0)
        h, w = A.shape
        yy, xx = np.mgrid[:h, :w]
        rr = np.hypot(yy - (h - 1) / 2, xx - (w - 1) / 2).astype(int)
        prof = np.bincount(rr.ravel(), A.ravel()) / np.maximum(np.bincount(rr.ravel()), 1)
        return None, A - prof[rr], "minus its azimuthal mean (asinh)"


def _crossfit_pca_error(X: np.ndarray, n_components: int, folds: int = 5,
                        seed: int = 0) -> np.ndarray:
    """RMS residual of each row under a PCA fitted on the other folds."""
    from sklearn.decomposition import PCA

    n = len(X)
    out = np.empty(n)
    folds = int(min(folds, n))
    if folds < 2:
        return np.full(n, np.nan)
    parts = np.array_split(np.random.default_rng(seed).permutation(n), folds)
    for te in parts:
        tr = np.setdiff1d(np.arange(n), te)
        k = int(max(1, min(n_components, len(tr) - 1, X.shape[1])))
        pca = PCA(k, random_state=seed).fit(X[tr])
        rec = pca.inverse_transform(pca.transform(X[te]))
        out[te] = np.sqrt(np.mean((X[te] - rec) ** 2, axis=1))
    return out


def _resize(d: np.ndarray, size: int) -> np.ndarray:
    """(B, H, W) -> (B, size, size) by area averaging (PIL), no torch needed."""
    from PIL import Image as PILImage

    if d.shape[1] == size and d.shape[2] == size:
        return d.astype(np.float32)
    return np.stack([np.asarray(PILImage.fromarray(p.astype(np.float32), mode="F")
                                .resize((size, size), PILImage.Resampling.BOX), np.float32)
                     for p in d])


# --------------------------------------------------------------------------- tables

_MAG_NAMES = ["fuv", "nuv", "u", "g", "r", "i", "z", "y", "j", "h", "k", "ks", "w1", "w2", "w3",
              "w4", "b", "v", "bp", "rp", "g_mag"]


class TableEmbedder:
    """Catalogue rows -> robust-scaled numeric columns (+ colours of magnitude columns).

    Placeholder encoder until the table X model lands. ``columns`` picks the feature columns
    (default: every numeric column that is not an id, label or error column); when two or more
    columns are recognised as magnitudes (u, g, r, i, z, J, H, K, ..., or ``*mag*``) the
    differences of consecutive ones (colours) are added, since colours, not brightness, separate
    most classes. Non-finite values are imputed with the column median.
    """

    modality = "table"

    def __init__(self, columns: Sequence[str] | None = None, colours: bool = True):
        self.columns = columns
        self.colours = colours

    def _matrix(self, rows) -> np.ndarray:
        return np.array([[r.values.get(c, np.nan) for c in self.columns_] for r in rows], float)

    def fit(self, rows: Sequence[TableRow], progress: Progress = None) -> TableEmbedder:
        cols = list(self.columns) if self.columns is not None else list(rows[0].values)
        self.columns_ = cols
        mags = [c for c in cols if c.lower() in _MAG_NAMES or "mag" in c.lower()]
        self.colour_pairs_ = list(pairwise(mags)) if self.colours and len(mags) > 1 else []
        self.feature_names_ = cols + [f"colour_{a}-{b}" for a, b in self.colour_pairs_]
        self.info_ = {"encoder": f"placeholder: robust-scaled columns {cols}"
                                 + (" + colours" if self.colour_pairs_ else "")}
        self.scaler_ = _RobustScaler().fit(self.features(rows))
        if progress:
            progress(len(rows))
        return self

    def features(self, rows) -> np.ndarray:
        X = self._matrix(rows)
        idx = {c: i for i, c in enumerate(self.columns_)}
        cols = [X[:, idx[a]] - X[:, idx[b]] for a, b in self.colour_pairs_]
        return np.column_stack([X] + cols) if cols else X

    def transform(self, rows) -> np.ndarray:
        return self.scaler_.transform(self.features(rows)).astype(np.float32)

    def fit_transform(self, rows, progress: Progress = None) -> np.ndarray:
        return self.fit(rows, progress).transform(rows)

    def reconstruction_error(self, rows) -> None:
        return None

    def perturb(self, row: TableRow, rng: np.random.Generator, scale: float = 1.0) -> TableRow:
        """The row re-drawn within its error columns (columns without errors unchanged)."""
        vals = dict(row.values)
        for c, e in row.errors.items():
            if c in vals and np.isfinite(e) and e > 0:
                vals[c] = vals[c] + scale * e * rng.standard_normal()
        return TableRow(vals, row.object_id, row.label, row.errors, row.units)

    def has_errors(self, rows) -> bool:
        return any(r.errors for r in rows[:50])

    def residual(self, row):
        return None


def as_list(observations) -> list:
    """Observations as a plain list, catalogues expanded to rows."""
    obs = list(observations) if not isinstance(observations, list) else observations
    if any(isinstance(o, Catalog) for o in obs):
        obs = expand_catalogs(obs)
    return obs


def ensure_ids(observations: list) -> list[str]:
    """Object ids (``obj<i>`` where missing); raises on duplicates."""
    ids = []
    for i, o in enumerate(observations):
        oid = getattr(o, "object_id", None)
        if oid is None:
            oid = f"obj{i}"
            o.object_id = oid
        ids.append(str(oid))
    if len(set(ids)) != len(ids):
        from collections import Counter

        dup = [k for k, v in Counter(ids).items() if v > 1][:5]
        raise DataFormatError(f"duplicate object ids {dup}", field="object_id",
                              expected="one id per object")
    return ids


_ = ObservationSet  # re-exported type for annotations


# --------------------------------------------------------------------------- persistence

#: files :func:`save_embedder` writes into a discovery OUT directory (no pickle)
EMBEDDER_JSON = "embedder.json"
EMBEDDER_ARRAYS = "embedder.npz"


class _FrozenPCA:
    """The transform of a fitted (non-whitened) scikit-learn PCA, from its arrays."""

    def __init__(self, mean: np.ndarray, components: np.ndarray, explained_variance: np.ndarray):
        self.mean_ = np.asarray(mean, float)
        self.components_ = np.asarray(components, float)
        self.explained_variance_ = np.asarray(explained_variance, float)
        self.n_components_ = len(self.components_)

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, float) - self.mean_) @ self.components_.T

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        return np.asarray(Z, float) @ self.components_ + self.mean_


def _pca_arrays(pca, prefix: str) -> dict[str, np.ndarray]:
    if getattr(pca, "whiten", False):
        raise ValueError("a whitening PCA cannot be saved as its plain transform")
    return {f"{prefix}_mean": pca.mean_, f"{prefix}_components": pca.components_,
            f"{prefix}_explained_variance": pca.explained_variance_}


def _pca_from(arrays, prefix: str) -> _FrozenPCA:
    return _FrozenPCA(arrays[f"{prefix}_mean"], arrays[f"{prefix}_components"],
                      arrays[f"{prefix}_explained_variance"])


def _scaler_arrays(sc: _RobustScaler, prefix: str) -> dict[str, np.ndarray]:
    return {f"{prefix}_center": sc.center_, f"{prefix}_scale": sc.scale_}


def _scaler_from(arrays, prefix: str, clip: float) -> _RobustScaler:
    return _RobustScaler.from_arrays(arrays[f"{prefix}_center"], arrays[f"{prefix}_scale"], clip)


def _encoder_ref(name: str) -> str:
    """A shipped model's name as is; a directory as an absolute path."""
    try:
        from skyfm.models.lightcurve import WEIGHTS_DIR

        if (Path(WEIGHTS_DIR) / name / "config.json").is_file():
            return name
    except ImportError:
        pass
    p = Path(name)
    return str(p.resolve()) if p.is_dir() else name


def _embedder_state(emb) -> tuple[dict, dict[str, np.ndarray]]:
    """(JSON-able parameters, named arrays) that re-create ``emb``'s transform."""
    common = {"feature_names": list(getattr(emb, "feature_names_", [])),
              "info": getattr(emb, "info_", {})}
    if isinstance(emb, LightCurveEmbedder):
        arrays = _scaler_arrays(emb.scaler_, "feature_scaler")
        params = {"class": "LightCurveEmbedder", "bands": list(emb.bands_),
                  "use_features": bool(emb.use_features), "n_components": emb.n_components,
                  "feature_weight": emb.feature_weight, "encoder_weight": emb.encoder_weight,
                  "batch_size": emb.batch_size, "clip": emb.scaler_.clip, "encoder": None,
                  "transient": bool(emb.transient)}
        if emb.model_ is not None:
            params["encoder"] = _encoder_ref(str(emb.encoder))
            params["encoder_dim"] = int(emb.z_scaler_.center_.shape[0])
            arrays |= _scaler_arrays(emb.z_scaler_, "encoder_scaler")
            if emb.pca_ is not None:
                arrays |= _pca_arrays(emb.pca_, "encoder_pca")
    elif isinstance(emb, TableEmbedder):
        arrays = _scaler_arrays(emb.scaler_, "feature_scaler")
        params = {"class": "TableEmbedder", "columns": list(emb.columns_),
                  "colour_pairs": [list(p) for p in emb.colour_pairs_],
                  "colours": emb.colours, "clip": emb.scaler_.clip}
    elif isinstance(emb, SpectrumEmbedder):
        arrays = {"grid": emb.grid_} | _pca_arrays(emb.pca_, "pca")
        params = {"class": "SpectrumEmbedder", "n_pixels": emb.n_pixels,
                  "n_components": emb.n_components, "continuum_window": emb.continuum_window}
    elif isinstance(emb, ImageEmbedder):
        arrays = _pca_arrays(emb.pca_, "pca") | _scaler_arrays(emb.scaler_, "feature_scaler")
        params = {"class": "ImageEmbedder", "size": emb.size, "n_components": emb.n_components,
                  "crop": emb.crop, "n_radii": emb.n_radii, "n_modes": emb.n_modes,
                  "stats_weight": emb.stats_weight, "clip": emb.scaler_.clip}
    else:
        raise TypeError(f"cannot save a {type(emb).__name__} (not a skyfm embedder)")
    return {**params, **common, "modality": emb.modality, "format": 1}, {
        k: np.asarray(v, float) for k, v in arrays.items()}


def save_embedder(embedder, out_dir) -> Path:
    """Write what re-embeds a new observation exactly as ``embedder`` (fitted) embeds:
    ``embedder.json`` (settings, feature names, encoder name or directory) and
    ``embedder.npz`` (scaler centres/scales, PCA matrices; plain arrays, no pickle).
    Read back with :func:`load_embedder`. Returns the JSON file's path."""
    import json
    params, arrays = _embedder_state(embedder)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / EMBEDDER_ARRAYS, **arrays)
    path = out / EMBEDDER_JSON
    path.write_text(json.dumps(params, indent=1, default=lambda o: o.item()
                               if hasattr(o, "item") else str(o)), encoding="utf-8")
    return path


def load_embedder(out_dir):
    """The fitted embedder saved by :func:`save_embedder` in ``out_dir`` (a ``skyfm discover``
    OUT directory): its ``transform(observations)`` gives the vectors of ``embeddings.npy``
    for the same objects, and comparable vectors for new ones. The light-curve encoder is
    loaded by its name (or directory); raises ``DataNotFoundError`` when it is not there."""
    import json

    from skyfm.errors import DataNotFoundError

    d = Path(out_dir)
    jf, af = d / EMBEDDER_JSON, d / EMBEDDER_ARRAYS
    if not jf.is_file() or not af.is_file():
        raise DataNotFoundError(f"{d}: no saved embedder ({EMBEDDER_JSON} + {EMBEDDER_ARRAYS}); "
                                "re-run `skyfm discover` to write them")
    try:
        p = json.loads(jf.read_text(encoding="utf-8"))
        with np.load(af, allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
    except (ValueError, OSError) as exc:
        raise DataFormatError(f"cannot read the saved embedder ({exc})", file=jf,
                              field="embedder", expected="files written by save_embedder") from exc
    cls = p.get("class")
    try:
        if cls == "LightCurveEmbedder":
            emb = LightCurveEmbedder(encoder=p["encoder"], use_features=p["use_features"],
                                     n_components=p["n_components"],
                                     feature_weight=p["feature_weight"],
                                     encoder_weight=p["encoder_weight"],
                                     batch_size=p["batch_size"],
                                     transient=bool(p.get("transient", False)))
            emb.bands_ = list(p["bands"])
            emb.scaler_ = _scaler_from(a, "feature_scaler", p["clip"])
            emb.model_, emb.pca_ = None, None
            if p["encoder"] is not None:
                emb.model_, reason = _load_lc_encoder(p["encoder"])
                if emb.model_ is None:
                    raise DataNotFoundError(f"{jf}: the embedding needs the light-curve encoder "
                                            f"{p['encoder']!r}: {reason}")
                dim = int(getattr(emb.model_, "embed_dim", p["encoder_dim"]))
                if dim != p["encoder_dim"]:
                    raise DataFormatError(
                        f"encoder {p['encoder']!r} now makes {dim}-D vectors, the saved "
                        f"embedding used {p['encoder_dim']}-D ones (the model changed)",
                        file=jf, field="encoder_dim", expected=str(p["encoder_dim"]))
                emb.z_scaler_ = _scaler_from(a, "encoder_scaler", p["clip"])
                if "encoder_pca_mean" in a:
                    emb.pca_ = _pca_from(a, "encoder_pca")
        elif cls == "TableEmbedder":
            emb = TableEmbedder(columns=p["columns"], colours=p["colours"])
            emb.columns_ = list(p["columns"])
            emb.colour_pairs_ = [tuple(x) for x in p["colour_pairs"]]
            emb.scaler_ = _scaler_from(a, "feature_scaler", p["clip"])
        elif cls == "SpectrumEmbedder":
            emb = SpectrumEmbedder(p["n_pixels"], p["n_components"], p["continuum_window"])
            emb.grid_ = a["grid"]
            emb.pca_ = _pca_from(a, "pca")
            emb._fit_obs = None
        elif cls == "ImageEmbedder":
            emb = ImageEmbedder(size=p["size"], n_components=p["n_components"], crop=p["crop"],
                                n_radii=p["n_radii"], n_modes=p["n_modes"],
                                stats_weight=p["stats_weight"])
            emb.pca_ = _pca_from(a, "pca")
            emb.scaler_ = _scaler_from(a, "feature_scaler", p["clip"])
            emb._fit_obs = None
        else:
            raise DataFormatError(f"unknown embedder class {cls!r}", file=jf, field="class",
                                  expected="LightCurveEmbedder, TableEmbedder, "
                                           "SpectrumEmbedder or ImageEmbedder")
    except KeyError as exc:
        raise DataFormatError(f"saved embedder lacks {exc}", file=jf, field=str(exc),
                              expected="files written by save_embedder") from None
    emb.feature_names_ = list(p.get("feature_names", []))
    emb.info_ = dict(p.get("info", {}))
    return emb

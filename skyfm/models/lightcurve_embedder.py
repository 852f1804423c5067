"""Light curves: :class:`LightCurveEmbedder`, the pretrained ``skyfm-lc-base`` encoder
(:mod:`skyfm.models.lightcurve`) joined with robust-scaled classical features
(:func:`skyfm.features.lightcurves.lightcurve_summary`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from skyfm.data.observations import LightCurve
from skyfm.features.lightcurves import (
    SUMMARY_BAND_FEATURES,
    SUMMARY_NOT_EMBEDDED,
    choose_bands,
    fourier_residual,
    lightcurve_summary,
    sparse_covariates,
    summary_feature_specs,
)
from skyfm.models.base import MIN_POINTS_PER_BAND, Embedder, FeatureSpec, Progress
from skyfm.models.preprocessing import (
    RobustScaler,
    pca_arrays,
    pca_from,
    scaler_arrays,
    scaler_from,
    signed_log,
)
from skyfm.models.weights_io import weights_ref

__all__ = ["LightCurveEmbedder"]


def _load_lc_encoder(name: str):
    """The pretrained light-curve encoder, or ``(None, reason)`` when it is not available."""
    try:
        from skyfm.models.lightcurve import LightCurveEncoder
    except ImportError as exc:
        return None, f"light-curve X model not installed ({exc.__class__.__name__})"
    # A named model that exists but fails to load is a bug or a broken install: say so.
    return LightCurveEncoder.from_pretrained(name), None


class LightCurveEmbedder(Embedder):
    """Light curves -> [X-model embedding | robust-scaled classical features].

    Uses the trained ``skyfm-lc-base`` encoder by default; with ``encoder=None`` (or when the
    model cannot be loaded) the classical features alone are the embedding, and the embedder
    reports itself as a baseline (``uses_trained_model_`` False).

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
    costly_reconstruction: ClassVar[bool] = True  # a network pass (only with a model)

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

    @staticmethod
    def assess(lc) -> tuple[str, str]:
        """Quality before embedding:
        no valid point: skipped; fewer than MIN_POINTS_PER_BAND in every band: few_points."""
        valid = ~np.asarray(lc.upper_limit, bool) & np.isfinite(lc.value)
        n = int(valid.sum())
        if n == 0:
            n_lim = int(np.asarray(lc.upper_limit, bool).sum())
            extra = f" ({n_lim} upper limit(s) only)" if n_lim else ""
            return "", f"0 valid points{extra}"
        per_band = [int((valid & (lc.band == b)).sum()) for b in np.unique(lc.band[valid])]
        if max(per_band) < MIN_POINTS_PER_BAND:
            return "few_points", ""
        return "ok", ""

    # -- fitting ------------------------------------------------------------
    def fit(self, lcs: Sequence[LightCurve], progress: Progress = None) -> LightCurveEmbedder:
        """Fit the scalers (and the PCA of the encoder's vectors) on ``lcs``."""
        return self.fit_precomputed(lcs, progress=progress)

    def fit_precomputed(self, lcs: Sequence[LightCurve], features: np.ndarray | None = None,
                        encoded: np.ndarray | None = None, prepared: list | None = None,
                        progress: Progress = None) -> LightCurveEmbedder:
        """:meth:`fit` with some per-curve pieces already computed by the caller (rows in the
        order of ``lcs``): ``features`` (:meth:`summary` rows), ``encoded`` (the encoder's
        vectors) and ``prepared`` (its tokenised curves). Benchmarks that embed many subsets of
        one set compute them once."""
        for name in ("_fit_rows", "_fit_features", "_fit_encoded", "_fit_prepared"):
            self.__dict__.pop(name, None)  # a refit forgets the previous set
        self.bands_ = choose_bands(lcs)
        self.model_, reason = (None, "disabled") if self.encoder is None else \
            _load_lc_encoder(self.encoder)
        self.uses_trained_model_ = self.model_ is not None
        self.use_features_ = bool(self.use_features or self.model_ is None)  # something to embed
        self.info_ = {"encoder": self.encoder if self.model_ is not None else
                      f"classical features only ({reason})", "bands": self.bands_}
        first = lcs[0] if len(lcs) else None
        kind = "mag" if first is None or first.kind != "flux" else (first.flux_unit or "flux")
        self.feature_specs_ = self._specs(kind)
        feats = self.summary(lcs, progress) if features is None else np.asarray(features, float)
        self._fit_features = feats
        self.scaler_ = RobustScaler().fit(self._feature_matrix(feats))
        if self.model_ is not None:
            if encoded is None:
                Z = self._encode(lcs, keep_prepared=True)
            else:
                Z = np.asarray(encoded, float)
                if prepared is not None:
                    self._fit_prepared = list(prepared)
            self._fit_encoded = Z
            self.z_scaler_ = RobustScaler().fit(Z)
            Zs = self.z_scaler_.transform(Z)
            self.pca_ = None
            k = self.n_components
            if k and Zs.shape[1] > k and len(lcs) > k:
                from sklearn.decomposition import PCA

                self.pca_ = PCA(self.n_components, random_state=0).fit(Zs)
        self._remember(lcs)
        return self

    def _specs(self, kind: str) -> list[FeatureSpec]:
        specs = summary_feature_specs(self.bands_, kind)
        if self.transient:
            from skyfm.features.transients import transient_feature_specs

            specs += transient_feature_specs(self.bands_)
        return specs

    @property
    def embeds_transients(self) -> bool:
        return bool(self.transient)

    def summary(self, lcs, progress: Progress = None,
                fixed_periods: np.ndarray | None = None) -> np.ndarray:
        """The interpretable features: :func:`~skyfm.features.lightcurves.lightcurve_summary`,
        then (``transient=True``) the transient shape features of
        :func:`skyfm.features.transients.transient_features`."""
        F, _ = lightcurve_summary(lcs, self.bands_, progress, fixed_periods=fixed_periods)
        if not self.transient:
            return F
        from skyfm.features.transients import transient_features

        T, _ = transient_features(lcs, self.bands_)
        return np.hstack([F, T])

    def _feature_matrix(self, feats: np.ndarray) -> np.ndarray:
        if self.transient:  # the transient shape block (the last columns) alone
            from skyfm.features.transients import transient_feature_names

            k = len(transient_feature_names(self.bands_))
            return signed_log(feats[:, feats.shape[1] - k:])
        # sampling and data-quality quantities explain, but do not define, unusualness
        keep = [i for i, n in enumerate(self.feature_names_)
                if not n.startswith(SUMMARY_NOT_EMBEDDED)]
        return signed_log(feats[:, keep])

    def _prepare(self, chunk: list) -> list:
        """The encoder's tokenised curves (the costly periodogram step), computed once."""
        return self.model_.prepare(chunk)

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
    def transform(self, lcs: Sequence[LightCurve]) -> np.ndarray:
        self.check_fitted()
        Z = None
        if self.model_ is not None:
            Z = self._rows_or_compute(lcs, getattr(self, "_fit_encoded", None), self._encode)
        return self.transform_precomputed(self.features(lcs), Z)

    def transform_precomputed(self, features: np.ndarray,
                              encoded: np.ndarray | None = None) -> np.ndarray:
        """The vectors of curves whose :meth:`summary` rows (and encoder vectors, when the
        embedder has an encoder) the caller computed."""
        self.check_fitted()
        blocks = []
        if self.model_ is not None:
            if encoded is None:
                raise ValueError("this embedder has an encoder: pass the encoded vectors")
            Zs = self.z_scaler_.transform(encoded)
            if self.pca_ is not None:  # keep the PCA's ordering, unit mean variance per dim
                Zs = self.pca_.transform(Zs) / np.sqrt(self.pca_.explained_variance_.mean())
            blocks.append(self.encoder_weight * Zs)
        if self.use_features_:
            blocks.append(self.feature_weight
                          * self.scaler_.transform(self._feature_matrix(features)))
        return np.hstack(blocks).astype(np.float32)

    def transform_draw(self, draw: Sequence[LightCurve]) -> np.ndarray:
        """Embed noise re-draws of the fitted curves (``draw[i]`` re-draws fitted curve i),
        keeping each curve's period at its clean value: the periodogram is the costly step
        and a within-errors re-draw moves amplitudes and shapes far more than periods."""
        self.check_fitted()
        if "_fit_features" not in vars(self) or len(draw) != len(self._fit_features):
            return self.transform(draw)  # not re-draws of the fitted set: nothing to keep
        nb = len(self.bands_)
        nf = len(SUMMARY_BAND_FEATURES)
        F0 = self._fit_features
        ip = SUMMARY_BAND_FEATURES.index("log_period")
        isn = SUMMARY_BAND_FEATURES.index("period_snr")
        fixed = np.stack([np.stack([F0[:, j * nf + ip], F0[:, j * nf + isn]], axis=1)
                          for j in range(nb)], axis=1)
        F = self.summary(draw, fixed_periods=fixed)
        Z = None
        if self.model_ is not None:
            Z = (self._encode_with_periods(draw, self._fit_prepared)
                 if "_fit_prepared" in vars(self) else self._encode(draw))
        return self.transform_precomputed(F, Z)

    def _encode_with_periods(self, draw, clean_prepared) -> np.ndarray:
        from skyfm.models import lightcurve_tokens as tok

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
        self.check_fitted()
        return self._rows_or_compute(lcs, getattr(self, "_fit_features", None), self.summary)

    def reconstruction_error(self, lcs) -> np.ndarray | None:
        """The encoder's masked-reconstruction (pretraining) loss per curve; None without one."""
        self.check_fitted()
        if self.model_ is None:
            return None
        idx = self._fitted_rows(lcs) if "_fit_prepared" in vars(self) else None
        # tokens of the fitted curves are already there: skip re-tokenising them
        items = list(lcs) if idx is None else [
            self._fit_prepared[j] if j >= 0 else lc for j, lc in zip(idx, lcs, strict=True)]
        parts = []
        for s in range(0, len(items), self.batch_size):
            chunk = self.model_.prepare(items[s:s + self.batch_size])  # Prepared pass through
            parts.append(np.asarray(self.model_.reconstruction_error(chunk), float))
        err = np.concatenate(parts) if parts else np.zeros(0)
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
            C[r] = np.where(np.isfinite(C[r]), C[r], sparse_covariates(
                lcs[r], [self.feature_names_[i] for i in idx]))
        for k, i in enumerate(idx):
            C[:, k] = (np.log10(np.clip(C[:, k], 1e-6, None))
                       if self.feature_names_[i].startswith("median_snr_") else
                       signed_log(C[:, k]))
        return C

    def perturb(self, lc: LightCurve, rng: np.random.Generator, scale: float = 1.0) -> LightCurve:
        """The curve with every value re-drawn within its 1-sigma error (unknown errors: no
        change)."""
        err = np.nan_to_num(lc.error, nan=0.0)
        new = lc._new()
        new.value = lc.value + scale * err * rng.standard_normal(len(lc))
        return new

    def residual(self, lc: LightCurve):
        """(time, value - model, label): the encoder's reconstruction when it offers one, else the
        residual from a 3-harmonic Fourier fit at the best period of each band."""
        return lc.time, fourier_residual(lc), "residual from a periodic (Fourier) model"

    # -- state -------------------------------------------------------------------------------
    def get_state(self):
        self.check_fitted()
        arrays = scaler_arrays(self.scaler_, "feature_scaler")
        params = {"bands": list(self.bands_), "use_features": bool(self.use_features),
                  "use_features_fitted": bool(self.use_features_),
                  "n_components": self.n_components, "feature_weight": self.feature_weight,
                  "encoder_weight": self.encoder_weight, "batch_size": self.batch_size,
                  "clip": self.scaler_.clip, "encoder": None, "transient": bool(self.transient)}
        if self.model_ is not None:
            params["encoder"] = weights_ref(str(self.encoder))
            params["encoder_dim"] = int(self.z_scaler_.center_.shape[0])
            arrays |= scaler_arrays(self.z_scaler_, "encoder_scaler")
            if self.pca_ is not None:
                arrays |= pca_arrays(self.pca_, "encoder_pca")
        return params, arrays

    @classmethod
    def from_state(cls, params, arrays) -> LightCurveEmbedder:
        from skyfm.errors import DataFormatError, DataNotFoundError

        emb = cls(encoder=params["encoder"], use_features=params["use_features"],
                  n_components=params["n_components"], feature_weight=params["feature_weight"],
                  encoder_weight=params["encoder_weight"], batch_size=params["batch_size"],
                  transient=bool(params.get("transient", False)))
        emb.bands_ = list(params["bands"])
        emb.scaler_ = scaler_from(arrays, "feature_scaler", params["clip"])
        emb.model_, emb.pca_ = None, None
        emb.use_features_ = bool(params.get("use_features_fitted",
                                            params["use_features"] or params["encoder"] is None))
        if params["encoder"] is not None:
            emb.model_, reason = _load_lc_encoder(params["encoder"])
            if emb.model_ is None:
                raise DataNotFoundError(f"the embedding needs the light-curve encoder "
                                        f"{params['encoder']!r}: {reason}")
            dim = int(emb.model_.embed_dim)
            if dim != params["encoder_dim"]:
                raise DataFormatError(
                    f"encoder {params['encoder']!r} now makes {dim}-D vectors, the saved "
                    f"embedding used {params['encoder_dim']}-D ones (the model changed)",
                    field="encoder_dim", expected=str(params["encoder_dim"]))
            emb.z_scaler_ = scaler_from(arrays, "encoder_scaler", params["clip"])
            if "encoder_pca_mean" in arrays:
                emb.pca_ = pca_from(arrays, "encoder_pca")
        emb.uses_trained_model_ = emb.model_ is not None
        return emb

"""Spectra: :class:`SpectrumPCABaseline`, a baseline encoder (no trained model).

Until the spectrum X model is trained, spectra are embedded by a PCA of their shape and
continuum-normalised flux on a common log-wavelength grid; every output that uses it says
"baseline encoder, no trained model".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skyfm.data.observations import Spectrum
from skyfm.models.base import MIN_PIXELS, Embedder, FeatureSpec, Progress
from skyfm.models.preprocessing import crossfit_pca_error, pca_arrays, pca_from

__all__ = ["FEATURES", "SpectrumPCABaseline"]

#: the interpretable features of a spectrum (fluxes relative to the spectrum's median)
FEATURES = (
    FeatureSpec("slope_blue_red", "", "log ratio of the red-quarter to the blue-quarter flux"),
    FeatureSpec("flux_q1", "", "median flux of the bluest quarter, relative to the median"),
    FeatureSpec("flux_q2", "", "median flux of the second quarter, relative to the median"),
    FeatureSpec("flux_q3", "", "median flux of the third quarter, relative to the median"),
    FeatureSpec("flux_q4", "", "median flux of the reddest quarter, relative to the median"),
    FeatureSpec("line_depth_max", "", "depth of the deepest absorption below the continuum"),
    FeatureSpec("line_wavelength", "Angstrom", "wavelength of the deepest absorption"),
    FeatureSpec("emission_peak", "", "height of the strongest emission above the continuum"),
    FeatureSpec("emission_wavelength", "Angstrom", "wavelength of the strongest emission"),
    FeatureSpec("median_snr", "", "median signal-to-noise ratio per pixel"),
)


class SpectrumPCABaseline(Embedder):
    """Spectra -> PCA of [shape | continuum-normalised flux] on a common log-wavelength grid.

    Baseline encoder, no trained model (until the spectrum X model lands). Every spectrum is
    resampled onto
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

    @staticmethod
    def assess(spec) -> tuple[str, str]:
        """Quality before embedding (no valid pixel: skipped; fewer than MIN_PIXELS: few_pixels)."""
        good = ~np.asarray(spec.mask, bool) & np.isfinite(spec.flux)
        n = int(good.sum())
        if n == 0:
            return "", f"all pixels masked ({len(spec.flux)} pixel(s))"
        return ("few_pixels" if n < MIN_PIXELS else "ok"), ""

    def fit(self, specs: Sequence[Spectrum], progress: Progress = None) -> SpectrumPCABaseline:
        import astropy.units as u
        from sklearn.decomposition import PCA

        lo = np.array([s.to_unit(u.AA).wavelength[~s.mask].min() for s in specs])
        hi = np.array([s.to_unit(u.AA).wavelength[~s.mask].max() for s in specs])
        a, b = np.percentile(lo, 10), np.percentile(hi, 90)
        if not b > a:
            a, b = lo.min(), hi.max()
        self.grid_ = np.exp(np.linspace(np.log(a), np.log(b), self.n_pixels))  # Angstrom
        G, E = self._grid(specs)
        self._remember(specs)
        self._fit_G, self._fit_E = G, E
        X = self._blocks(G)
        k = int(min(self.n_components, len(specs) - 1, X.shape[1]))
        full = PCA(int(min(len(specs) - 1, X.shape[1], 64)) or 1, random_state=0).fit(X)
        # keep the components above the noise floor (eigenvalue > 5x the median one): noise-only
        # components would dilute tree- and distance-based scorers
        ev = full.explained_variance_
        k = int(min(k, max(2, int((ev > 5 * np.median(ev)).sum()))))
        self.pca_ = PCA(k, random_state=0).fit(X)
        self._fit_recon = crossfit_pca_error(X, k)
        self.info_ = {"encoder": f"PCA ({k} whitened PCs) of spectra on a common "
                                 f"log-wavelength grid"}
        self.feature_specs_ = list(FEATURES)
        self.uses_trained_model_ = False
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

    def _gridded(self, specs) -> tuple[np.ndarray, np.ndarray]:
        """(flux, error) on the grid; the fitted spectra's are kept from ``fit``."""
        self.check_fitted()
        G = self._rows_or_compute(specs, getattr(self, "_fit_G", None),
                                  lambda s: self._grid(s)[0])
        E = self._rows_or_compute(specs, getattr(self, "_fit_E", None),
                                  lambda s: self._grid(s)[1])
        return G, E

    def transform(self, specs) -> np.ndarray:
        G = self._gridded(specs)[0]
        Z = self.pca_.transform(self._blocks(G))  # whitened: each component in units of its std
        return (Z / np.sqrt(self.pca_.explained_variance_)).astype(np.float32)

    def features(self, specs) -> np.ndarray:
        G, E = self._gridded(specs)
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
        G = self._gridded(specs)[0]
        Xs = self._blocks(G)
        rec = self.pca_.inverse_transform(self.pca_.transform(Xs))
        return Xs, rec

    def reconstruction_error(self, specs) -> np.ndarray:
        """RMS residual of the PCA model; for the fitted spectra, of a model fitted without
        them (5-fold cross-fitting), so an odd spectrum cannot hide in its own component."""
        def in_sample(s):
            Xs, rec = self._reconstruct(s)
            return np.sqrt(np.mean((Xs - rec) ** 2, axis=1))

        self.check_fitted()
        return self._rows_or_compute(specs, getattr(self, "_fit_recon", None), in_sample)

    def perturb(self, spec: Spectrum, rng: np.random.Generator, scale: float = 1.0) -> Spectrum:
        err = np.nan_to_num(spec.error, nan=0.0)
        return spec._with(flux=spec.flux + scale * err * rng.standard_normal(len(spec)))

    def residual(self, spec: Spectrum):
        """(wavelength [Angstrom], continuum-normalised flux minus its PCA reconstruction,
        label)."""
        import astropy.units as u

        Xs, rec = self._reconstruct([spec])
        n = self.n_pixels
        r = (Xs - rec)[0, n:]
        x = (self.grid_ * u.AA).to_value(spec.wavelength_unit, equivalencies=u.spectral())
        return x, r, "residual along wavelength (continuum-normalised, PCA model)"

    # -- state -------------------------------------------------------------------------------
    def get_state(self):
        self.check_fitted()
        params = {"n_pixels": self.n_pixels, "n_components": self.n_components,
                  "continuum_window": self.continuum_window}
        mp, ma = self._memory_state(recon=getattr(self, "_fit_recon", None))
        return params | mp, {"grid": self.grid_} | pca_arrays(self.pca_, "pca") | ma

    @classmethod
    def from_state(cls, params, arrays) -> SpectrumPCABaseline:
        emb = cls(params["n_pixels"], params["n_components"], params["continuum_window"])
        emb.grid_ = np.asarray(arrays["grid"], float)
        emb.pca_ = pca_from(arrays, "pca")
        emb._fit_recon = emb._restore_memory(params, arrays).get("recon")
        emb.uses_trained_model_ = False
        return emb

"""Images: :class:`ImageMorphologyBaseline`, a baseline encoder (no trained model).

Until the image X model is trained, an image is embedded by rotation-invariant polar Fourier
features and morphology statistics; every output that uses it says "baseline encoder, no
trained model".
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from skyfm.data.observations import Image
from skyfm.models.base import Embedder, FeatureSpec, Progress
from skyfm.models.preprocessing import (
    RobustScaler,
    crossfit_pca_error,
    pca_arrays,
    pca_from,
    resize,
    scaler_arrays,
    scaler_from,
)

__all__ = ["ImageMorphologyBaseline"]


class ImageMorphologyBaseline(Embedder):
    """Images -> [whitened PCA of rotation-invariant polar features | morphology statistics].

    Baseline encoder, no trained model (until the image X model lands). Each image is
    centre-cropped to
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
                 n_radii: int = 12, n_modes: int = 4, stats_weight: float = 1.0,
                 artefact_model: str | None = "skyfm-image-artefact"):
        self.size = size
        self.n_components = n_components
        self.crop = crop
        self.n_radii = n_radii
        self.n_modes = n_modes
        self.stats_weight = stats_weight
        self.artefact_model = artefact_model

    def artefact_flags(self, imgs) -> list[str] | None:
        """``likely_artefact(cnn p=...)`` for the colour cutouts the ``artefact_model`` head
        (:mod:`skyfm.models.image_artefact`) judges artefacts, ``""`` for the others (and for
        images it does not read: not 8-bit colour); ``None`` when ``artefact_model`` is None."""
        if self.artefact_model is None:
            return None
        from skyfm.models.image_artefact import ArtefactHead

        head = getattr(self, "_artefact_head", None)
        if head is None:
            head = self._artefact_head = ArtefactHead.from_pretrained(self.artefact_model)
        p = head.predict_proba(imgs)
        return [f"likely_artefact(cnn p={v:.2f})" if np.isfinite(v) and
                v >= head.config.threshold else "" for v in p]

    def _stamps(self, imgs) -> np.ndarray:
        """(N, bands, size, size) binned stamps; the fitted images' are kept from ``fit``."""
        return self._rows_or_compute(imgs, getattr(self, "_fit_stamps", None), self._bin)

    def _bin(self, imgs) -> np.ndarray:
        out = []
        for im in imgs:
            d = np.nan_to_num(np.asarray(im.data, np.float32))
            if self.crop < 1.0:
                h, w = d.shape[-2:]
                ch, cw = max(2, round(h * self.crop)), max(2, round(w * self.crop))
                y0, x0 = (h - ch) // 2, (w - cw) // 2
                d = d[:, y0:y0 + ch, x0:x0 + cw]
            out.append(resize(d, self.size))
        nb = max(o.shape[0] for o in out)
        return np.stack([np.concatenate([o] + [o[-1:]] * (nb - o.shape[0])) for o in out])

    @staticmethod
    def assess(img) -> tuple[str, str]:
        """Quality before embedding (no finite pixel: skipped)."""
        d = np.asarray(img.data, float)
        if d.size == 0 or not np.isfinite(d).any():
            return "", "no finite pixels"
        return "ok", ""

    def fit(self, imgs: Sequence[Image], progress: Progress = None) -> ImageMorphologyBaseline:
        from sklearn.decomposition import PCA

        for name in ("_fit_rows", "_fit_stamps", "_fit_polar", "_fit_recon"):
            self.__dict__.pop(name, None)  # a refit forgets the previous set
        S = self._bin(imgs)
        P = self._polar(S)
        full = PCA(int(max(1, min(len(imgs) - 1, P.shape[1], 64))), random_state=0).fit(P)
        ev = full.explained_variance_
        k = int(min(self.n_components, len(imgs) - 1,
                    max(2, int((ev > 5 * np.median(ev)).sum()))))
        self.pca_ = PCA(max(k, 1), random_state=0).fit(P)
        self._fit_recon = crossfit_pca_error(P, max(k, 1))
        self._remember(imgs)
        self._fit_stamps, self._fit_polar = S, P
        self.scaler_ = RobustScaler().fit(self._stats(S))
        self.feature_specs_ = _feature_specs(S.shape[1], self.size)
        self.info_ = {"encoder": f"polar Fourier features ({self.pca_.n_components_} PCs) + "
                                 f"morphology statistics"}
        self.uses_trained_model_ = False
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

    def _polar_of(self, imgs) -> tuple[np.ndarray, np.ndarray]:
        """(stamps, polar features) of ``imgs``; the fitted images' are kept from ``fit``."""
        self.check_fitted()
        S = self._stamps(imgs)
        idx = self._fitted_rows(imgs) if hasattr(self, "_fit_polar") else None
        if idx is not None and (idx >= 0).all():
            return S, self._fit_polar[idx]
        return S, self._polar(S)

    def _embed(self, S, P) -> np.ndarray:
        Z = self.pca_.transform(P) / np.sqrt(self.pca_.explained_variance_)
        F = self.scaler_.transform(self._stats(S))
        return np.hstack([Z, self.stats_weight * F]).astype(np.float32)

    def transform(self, imgs) -> np.ndarray:
        return self._embed(*self._polar_of(imgs))

    def features(self, imgs) -> np.ndarray:
        self.check_fitted()
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

    def _pca_error(self, P) -> np.ndarray:
        rec = self.pca_.inverse_transform(self.pca_.transform(P))
        return np.sqrt(np.mean((P - rec) ** 2, axis=1))

    def reconstruction_error(self, imgs) -> np.ndarray:
        """RMS residual of the PCA model of the polar features (cross-fitted for the images the
        model was fitted on)."""
        self.check_fitted()
        return self._rows_or_compute(imgs, getattr(self, "_fit_recon", None),
                                     lambda sub: self._pca_error(self._polar(self._bin(sub))))

    def noise_draw(self, observations, rng: np.random.Generator, scale: float = 1.0,
                   reconstruction: bool = False):
        """One noise re-draw, made on the binned stamps (noise at each stamp's own background
        level, per band) so the full-resolution images need not be re-binned; the asinh scale
        comes from the clean stamps, so the re-draw does not also change the units."""
        S = self._stamps(observations)
        med = np.median(S, axis=(2, 3), keepdims=True)
        sig = np.median(np.abs(S - med), axis=(2, 3), keepdims=True) * 1.4826
        D = (S + scale * sig * rng.standard_normal(S.shape)).astype(np.float32)
        P = self._polar(D, scale_from=S)
        rec = self.reconstruction_input(observations, self._pca_error(P)) if reconstruction \
            else None
        return self._embed(D, P), rec

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

    # -- state -------------------------------------------------------------------------------
    def get_state(self):
        self.check_fitted()
        params = {"size": self.size, "n_components": self.n_components, "crop": self.crop,
                  "n_radii": self.n_radii, "n_modes": self.n_modes,
                  "stats_weight": self.stats_weight, "clip": self.scaler_.clip,
                  "artefact_model": self.artefact_model}
        mp, ma = self._memory_state(recon=getattr(self, "_fit_recon", None))
        return params | mp, (pca_arrays(self.pca_, "pca")
                             | scaler_arrays(self.scaler_, "feature_scaler") | ma)

    @classmethod
    def from_state(cls, params, arrays) -> ImageMorphologyBaseline:
        emb = cls(size=params["size"], n_components=params["n_components"], crop=params["crop"],
                  n_radii=params["n_radii"], n_modes=params["n_modes"],
                  stats_weight=params["stats_weight"],
                  artefact_model=params.get("artefact_model"))  # older runs had none
        emb.pca_ = pca_from(arrays, "pca")
        emb.scaler_ = scaler_from(arrays, "feature_scaler", params["clip"])
        emb._fit_recon = emb._restore_memory(params, arrays).get("recon")
        emb.uses_trained_model_ = False
        return emb


def _feature_specs(n_bands: int, size: int) -> list[FeatureSpec]:
    rings = [FeatureSpec(f"light_r{i}", "", f"share of the light in annulus {i} of 5")
             for i in range(5)]
    return rings + [
        FeatureSpec("concentration", "", "5 log10(r80 / r20)"),
        FeatureSpec("asymmetry", "", "light changed by a 180 degree rotation, over the total"),
        FeatureSpec("ellipticity", "", "1 - b/a from second moments"),
        FeatureSpec("position_angle", "deg", "major axis angle from second moments"),
        FeatureSpec("smoothness", "", "light in structure finer than 3 pixels, over the total"),
        FeatureSpec("size_r50", "pix", f"half-light radius on the {size} x {size} stamp"),
    ] + [FeatureSpec(f"colour_{i}-{i + 1}", "dex", f"log10 flux ratio of bands {i} and {i + 1}")
         for i in range(n_bands - 1)]

"""Small numeric pieces the baseline embedders share: robust scaling, a PCA kept as plain
arrays (saved without pickle), cross-fitted PCA residuals and area resampling of images.

Written here rather than taken from scikit-learn where the library's object cannot be saved as
plain arrays (``RobustScaler`` would need pickle) or lacks a step we need (median imputation
and clipping in one transform)."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["FrozenPCA", "RobustScaler", "crossfit_pca_error", "pca_arrays", "pca_from",
           "resize", "scaler_arrays", "scaler_from", "signed_log"]


def signed_log(x: np.ndarray) -> np.ndarray:
    """sign(x) log(1 + |x|): compresses heavy tails, keeps the sign."""
    return np.sign(x) * np.log1p(np.abs(x))


class RobustScaler:
    """Median/IQR scaling with median imputation of non-finite values and clipping at +-clip."""

    def __init__(self, clip: float = 20.0):
        self.clip = clip

    @classmethod
    def from_arrays(cls, center: np.ndarray, scale: np.ndarray, clip: float) -> RobustScaler:
        out = cls(clip)
        out.center_, out.scale_ = np.asarray(center, float), np.asarray(scale, float)
        return out

    def fit(self, X: np.ndarray) -> RobustScaler:
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


class FrozenPCA:
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


def pca_arrays(pca, prefix: str) -> dict[str, np.ndarray]:
    if getattr(pca, "whiten", False):
        raise ValueError("a whitening PCA cannot be saved as its plain transform")
    return {f"{prefix}_mean": pca.mean_, f"{prefix}_components": pca.components_,
            f"{prefix}_explained_variance": pca.explained_variance_}


def pca_from(arrays, prefix: str) -> FrozenPCA:
    return FrozenPCA(arrays[f"{prefix}_mean"], arrays[f"{prefix}_components"],
                     arrays[f"{prefix}_explained_variance"])


def scaler_arrays(sc: RobustScaler, prefix: str) -> dict[str, np.ndarray]:
    return {f"{prefix}_center": sc.center_, f"{prefix}_scale": sc.scale_}


def scaler_from(arrays, prefix: str, clip: float) -> RobustScaler:
    return RobustScaler.from_arrays(arrays[f"{prefix}_center"], arrays[f"{prefix}_scale"], clip)


def crossfit_pca_error(X: np.ndarray, n_components: int, folds: int = 5,
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


def resize(d: np.ndarray, size: int) -> np.ndarray:
    """(B, H, W) -> (B, size, size) by area averaging (PIL), no torch needed."""
    from PIL import Image as PILImage

    if d.shape[1] == size and d.shape[2] == size:
        return d.astype(np.float32)
    return np.stack([np.asarray(PILImage.fromarray(p.astype(np.float32), mode="F")
                                .resize((size, size), PILImage.Resampling.BOX), np.float32)
                     for p in d])

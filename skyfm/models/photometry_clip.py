"""CLIP-style alignment of broad-band photometry and spectroscopic class + redshift (SDSS).

Two towers map into one unit sphere (trained with the symmetric InfoNCE loss and the trainer of
:mod:`skyfm.models.spectrum_clip`):

* the photometry tower reads the magnitudes and the colours of neighbouring bands
  (:func:`~skyfm.models.catalog.magnitude_features`), robust-standardised;
* the spectroscopic tower reads the spectroscopic class (one-hot) and ``log(1 + z)``.

Uses: "objects whose photometry looks like a z = 2 quasar" (rank photometry by cosine to a
(class, z) embedding), and zero-shot class and redshift of an object from photometry alone: the
similarity-weighted vote and median over a bank of (class, z) pairs (e.g. the spectroscopic
training set; no photometry needed for the bank).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from skyfm.models.catalog import magnitude_features
from skyfm.models.spectrum_clip import ClipConfig, train_towers

__all__ = ["PhotoSpecClip", "weighted_vote"]


def _robust(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    center = np.median(X, axis=0)
    q75, q25 = np.percentile(X, [75, 25], axis=0)
    return center, np.where(q75 > q25, (q75 - q25) / 1.349, 1.0)


class PhotoSpecClip:
    """The photometry and spectroscopic towers and their input scalings."""

    def __init__(self, phot_tower, spec_tower, bands: Sequence[str], classes: Sequence[str],
                 x_center, x_scale, z_scale: float, config: ClipConfig):
        self.phot_tower, self.spec_tower = phot_tower, spec_tower
        self.bands, self.classes = list(bands), list(classes)
        self.x_center, self.x_scale = np.asarray(x_center), np.asarray(x_scale)
        self.z_scale = float(z_scale)
        self.config = config

    # -- inputs ------------------------------------------------------------------------------
    def _phot_inputs(self, mags: np.ndarray) -> np.ndarray:
        X, _ = magnitude_features(mags, self.bands)
        if not np.isfinite(X).all():
            from skyfm.errors import DataFormatError

            raise DataFormatError(f"{int((~np.isfinite(X)).any(1).sum())} object(s) with a "
                                  "non-finite magnitude", field="magnitudes",
                                  expected=f"finite {'/'.join(self.bands)} magnitudes")
        return (X - self.x_center) / self.x_scale

    def _spec_inputs(self, classes: Sequence[str], z: np.ndarray) -> np.ndarray:
        classes = np.asarray(classes).astype(str)
        unknown = sorted(set(classes) - set(self.classes))
        if unknown:
            raise ValueError(f"unknown class(es) {unknown[:5]}; the model knows {self.classes}")
        onehot = (classes[:, None] == np.array(self.classes)[None, :]).astype(float)
        lz = np.log1p(np.clip(np.asarray(z, float), 0.0, None)) / self.z_scale
        return np.column_stack([onehot, lz])

    @staticmethod
    def _embed(tower, X) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        with torch.no_grad():
            return F.normalize(tower(torch.as_tensor(X, dtype=torch.float32)), dim=-1).numpy()

    def embed_photometry(self, mags: np.ndarray) -> np.ndarray:
        """(N, B) magnitudes in ``bands`` -> (N, dim) unit vectors."""
        return self._embed(self.phot_tower, self._phot_inputs(mags))

    def embed_spectroscopic(self, classes: Sequence[str], z: np.ndarray) -> np.ndarray:
        """Spectroscopic classes and redshifts -> (N, dim) unit vectors."""
        return self._embed(self.spec_tower, self._spec_inputs(classes, z))

    def zero_shot(self, Zp: np.ndarray, bank_classes: Sequence[str], bank_z: np.ndarray,
                  top: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """(class, redshift) of photometry embeddings ``Zp``: over the ``top`` bank entries most
        similar to each, the softmax(cosine / temperature)-weighted class vote and weighted
        median redshift."""
        bank_classes = np.asarray(bank_classes).astype(str)
        bank_z = np.asarray(bank_z, float)
        Zb = self.embed_spectroscopic(bank_classes, bank_z)
        return weighted_vote(Zp @ Zb.T / self.config.temperature, bank_classes, bank_z, top)

    # -- training ----------------------------------------------------------------------------
    @classmethod
    def train(cls, mags: np.ndarray, bands: Sequence[str], classes: Sequence[str],
              z: np.ndarray, config: ClipConfig | None = None,
              log: Callable[[str], None] | None = print) -> PhotoSpecClip:
        """Train on paired photometry (``mags``, (N, B)) and spectroscopy (``classes``, ``z``);
        seeded (``config.seed``), bit-reproducible on CPU with ``config.threads`` threads."""
        import torch

        from skyfm.models.spectrum_clip import SpecLabelClip

        c = config or ClipConfig(epochs=80, temperature=0.1)
        torch.manual_seed(c.seed)
        torch.set_num_threads(c.threads)
        rng = np.random.default_rng([c.seed, 37])
        X, _ = magnitude_features(mags, bands)
        xc, xs = _robust(X)
        lz = np.log1p(np.clip(np.asarray(z, float), 0.0, None))
        z_scale = float(np.std(lz)) or 1.0
        model = cls(None, None, bands, sorted(set(np.asarray(classes).astype(str))), xc, xs,
                    z_scale, c)
        A = torch.as_tensor(model._phot_inputs(mags), dtype=torch.float32)
        B = torch.as_tensor(model._spec_inputs(classes, z), dtype=torch.float32)
        pt, st = SpecLabelClip._tower(A.shape[1], c), SpecLabelClip._tower(B.shape[1], c)
        model.losses_ = train_towers(pt, st, A, B, c, rng, log)
        model.phot_tower, model.spec_tower = pt.eval(), st.eval()
        return model


def weighted_vote(logits: np.ndarray, classes: np.ndarray, z: np.ndarray,
                  top: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``logits`` (queries x bank): over its ``top`` largest entries, the
    softmax-weighted majority class and weighted median redshift of those bank entries."""
    top = min(top, logits.shape[1])
    idx = np.argpartition(-logits, top - 1, axis=1)[:, :top]
    lg = np.take_along_axis(logits, idx, 1)
    w = np.exp(lg - lg.max(1, keepdims=True))
    w /= w.sum(1, keepdims=True)
    labs = np.unique(classes)
    votes = np.stack([(w * (classes[idx] == c)).sum(1) for c in labs], axis=1)
    cls_pred = labs[votes.argmax(1)]
    zz = z[idx]
    order = np.argsort(zz, axis=1)
    zs, ws = np.take_along_axis(zz, order, 1), np.take_along_axis(w, order, 1)
    half = (np.cumsum(ws, axis=1) >= 0.5).argmax(1)
    return cls_pred, zs[np.arange(len(zs)), half]

"""Spectra: :class:`SpectrumEncoderEmbedder`, the pretrained ``skyfm-spec-base`` encoder
(:mod:`skyfm.models.spectrum_encoder`) for discovery, with the interpretable features, the
PCA reconstruction error and the residual of :class:`~skyfm.models.spectrum.SpectrumPCABaseline`
(fitted alongside on the same spectra); :class:`SpectrumHybridEmbedder`, the same with the
PCA baseline's whitened components appended to the embedding."""

from __future__ import annotations

import numpy as np

from skyfm.models.encoder_over_baseline import EncoderOverBaseline
from skyfm.models.spectrum import FEATURES, SpectrumPCABaseline

__all__ = ["SpectrumEncoderEmbedder", "SpectrumHybridEmbedder"]


class SpectrumEncoderEmbedder(EncoderOverBaseline):
    """Spectra -> robust-scaled embedding of the pretrained spectrum encoder.

    Parameters
    ----------
    encoder : name or directory of the pretrained encoder (``skyfm-spec-base``)
    n_pixels, n_components, continuum_window : of the :class:`SpectrumPCABaseline` fitted
        alongside for the interpretable features, the reconstruction error and the residual
    batch_size : spectra per encoder call (bounds memory)
    """

    modality = "spectrum"

    def __init__(self, encoder: str = "skyfm-spec-base", n_pixels: int = 256,
                 n_components: int = 16, continuum_window: int = 15, batch_size: int = 256):
        self.encoder = encoder
        self.n_pixels = n_pixels
        self.n_components = n_components
        self.continuum_window = continuum_window
        self.batch_size = batch_size

    assess = staticmethod(SpectrumPCABaseline.assess)

    def _load(self):
        from skyfm.models.spectrum_encoder import SpectrumEncoder

        return SpectrumEncoder.from_pretrained(self.encoder)

    def _new_baseline(self) -> SpectrumPCABaseline:
        return SpectrumPCABaseline(self.n_pixels, self.n_components, self.continuum_window)

    @classmethod
    def _from_params(cls, params: dict) -> SpectrumEncoderEmbedder:
        bp = params["baseline"]
        return cls(params["encoder"], bp["n_pixels"], bp["n_components"],
                   bp["continuum_window"], params["batch_size"])

    def _restore_baseline(self, params: dict, arrays: dict) -> SpectrumPCABaseline:
        base = SpectrumPCABaseline.from_state(params["baseline"], arrays)
        base.feature_specs_ = list(FEATURES)
        base.info_ = {}
        return base


class SpectrumHybridEmbedder(SpectrumEncoderEmbedder):
    """Spectra -> [robust-scaled ``skyfm-spec-base`` embedding | whitened PCA components of the
    :class:`SpectrumPCABaseline` fitted alongside] (same parameters, features, reconstruction
    error, residual and saved state as :class:`SpectrumEncoderEmbedder`; the embedding the
    SpeX "embedding + PCA" rows of ``bench/spectra.py`` use)."""

    def _info(self) -> dict:
        k = int(self.baseline_.pca_.n_components_)
        return {"encoder": f"{self.encoder} ({self.model_.embed_dim}-D, robust-scaled) + "
                           f"{k} whitened PCA components"}

    def transform(self, specs) -> np.ndarray:
        Z = super().transform(specs)
        return np.hstack([Z, self.baseline_.transform(specs)]).astype(np.float32)

"""Spectra: :class:`SpectrumEncoderEmbedder`, the pretrained ``skyfm-spec-base`` encoder
(:mod:`skyfm.models.spectrum_encoder`) for discovery, with the interpretable features, the
PCA reconstruction error and the residual of :class:`~skyfm.models.spectrum.SpectrumPCABaseline`
(fitted alongside on the same spectra); :class:`SpectrumHybridEmbedder`, the same with the
PCA baseline's whitened components appended to the embedding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skyfm.data.observations import Spectrum
from skyfm.models.base import Embedder, Progress
from skyfm.models.preprocessing import RobustScaler, scaler_arrays, scaler_from
from skyfm.models.spectrum import FEATURES, SpectrumPCABaseline
from skyfm.models.weights_io import weights_ref

__all__ = ["SpectrumEncoderEmbedder", "SpectrumHybridEmbedder"]


class SpectrumEncoderEmbedder(Embedder):
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

    def fit(self, specs: Sequence[Spectrum], progress: Progress = None
            ) -> SpectrumEncoderEmbedder:
        self.__dict__.pop("_fit_rows", None)
        self.model_ = self._load()
        self.baseline_ = SpectrumPCABaseline(self.n_pixels, self.n_components,
                                             self.continuum_window).fit(specs)
        Z = self.model_.embed(list(specs), batch_size=self.batch_size)
        self.scaler_ = RobustScaler().fit(Z)
        self._fit_Z = self.scaler_.transform(Z).astype(np.float32)
        self._remember(specs)
        self.feature_specs_ = list(self.baseline_.feature_specs_)
        self.uses_trained_model_ = True
        self.info_ = {"encoder": f"{self.encoder} ({self.model_.embed_dim}-D, robust-scaled)"}
        if progress:
            progress(len(specs))
        return self

    def transform(self, specs) -> np.ndarray:
        self.check_fitted()

        def compute(s):
            Z = self.model_.embed(list(s), batch_size=self.batch_size)
            return self.scaler_.transform(Z).astype(np.float32)

        return self._rows_or_compute(specs, getattr(self, "_fit_Z", None), compute)

    def features(self, specs) -> np.ndarray:
        self.check_fitted()
        return self.baseline_.features(specs)

    def reconstruction_error(self, specs) -> np.ndarray:
        self.check_fitted()
        return self.baseline_.reconstruction_error(specs)

    def residual(self, spec: Spectrum):
        return self.baseline_.residual(spec)

    def perturb(self, spec: Spectrum, rng: np.random.Generator, scale: float = 1.0) -> Spectrum:
        return self.baseline_.perturb(spec, rng, scale)

    # -- state -------------------------------------------------------------------------------
    def get_state(self):
        self.check_fitted()
        bp, ba = self.baseline_.get_state()
        params = {"encoder": weights_ref(str(self.encoder)), "batch_size": self.batch_size,
                  "encoder_dim": int(self.model_.embed_dim), "clip": self.scaler_.clip,
                  "baseline": bp}
        arrays = scaler_arrays(self.scaler_, "encoder_scaler")
        arrays |= {f"baseline_{k}": v for k, v in ba.items()}
        return params, arrays

    @classmethod
    def from_state(cls, params, arrays) -> SpectrumEncoderEmbedder:
        from skyfm.errors import DataFormatError

        bp = params["baseline"]
        emb = cls(params["encoder"], bp["n_pixels"], bp["n_components"], bp["continuum_window"],
                  params["batch_size"])
        emb.model_ = emb._load()
        if int(emb.model_.embed_dim) != int(params["encoder_dim"]):
            raise DataFormatError(
                f"encoder {params['encoder']!r} now makes {emb.model_.embed_dim}-D vectors, the "
                f"saved embedding used {params['encoder_dim']}-D ones (the model changed)",
                field="encoder_dim", expected=str(params["encoder_dim"]))
        emb.scaler_ = scaler_from(arrays, "encoder_scaler", params["clip"])
        emb.baseline_ = SpectrumPCABaseline.from_state(
            bp, {k[len("baseline_"):]: v for k, v in arrays.items() if k.startswith("baseline_")})
        emb.baseline_.feature_specs_ = list(FEATURES)
        emb.baseline_.info_ = {}
        emb.feature_specs_ = list(FEATURES)
        emb.uses_trained_model_ = True
        emb.info_ = {"encoder": f"{emb.encoder} ({emb.model_.embed_dim}-D, robust-scaled)"}
        return emb



class SpectrumHybridEmbedder(SpectrumEncoderEmbedder):
    """Spectra -> [robust-scaled ``skyfm-spec-base`` embedding | whitened PCA components of the
    :class:`SpectrumPCABaseline` fitted alongside] (same parameters, features, reconstruction
    error, residual and saved state as :class:`SpectrumEncoderEmbedder`; the embedding the
    SpeX "embedding + PCA" rows of ``bench/spectra.py`` use)."""

    def fit(self, specs: Sequence[Spectrum], progress: Progress = None
            ) -> SpectrumHybridEmbedder:
        super().fit(specs, progress)
        self.info_ = self._info()
        return self

    def _info(self) -> dict:
        k = int(self.baseline_.pca_.n_components_)
        return {"encoder": f"{self.encoder} ({self.model_.embed_dim}-D, robust-scaled) + "
                           f"{k} whitened PCA components"}

    def transform(self, specs) -> np.ndarray:
        Z = super().transform(specs)
        return np.hstack([Z, self.baseline_.transform(specs)]).astype(np.float32)

    @classmethod
    def from_state(cls, params, arrays) -> SpectrumHybridEmbedder:
        emb = super().from_state(params, arrays)
        emb.info_ = emb._info()
        return emb

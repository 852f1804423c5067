"""The shape every trained embedder shares: the vectors are a pretrained
:class:`~skyfm.models.base.Encoder`'s embedding, robust-scaled; everything a person reads or a
scorer needs beside them (named features, reconstruction error, residual, noise re-draws) comes
from the modality's baseline, fitted alongside on the same observations.

A subclass names its encoder and baseline through three hooks (:meth:`_load`,
:meth:`_new_baseline`, :meth:`_restore_baseline`) and, when it has settings of its own,
:meth:`_extra_params` / :meth:`_from_params`; fitting, transforming and the saved state (JSON +
float arrays) are here once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skyfm.models.base import Embedder, Progress
from skyfm.models.preprocessing import RobustScaler, scaler_arrays, scaler_from
from skyfm.models.weights_io import weights_ref

__all__ = ["EncoderOverBaseline"]


class EncoderOverBaseline(Embedder):
    """Observations -> robust-scaled embedding of a pretrained encoder, with a baseline's
    features, reconstruction error, residual and perturbation (see the module docstring).

    Subclasses set ``encoder`` and ``batch_size`` in their constructor."""

    encoder: str
    batch_size: int

    # -- hooks -------------------------------------------------------------------------------
    def _load(self):
        """The pretrained :class:`~skyfm.models.base.Encoder` named by ``self.encoder``."""
        raise NotImplementedError

    def _new_baseline(self) -> Embedder:
        """An unfitted baseline with this embedder's settings."""
        raise NotImplementedError

    def _restore_baseline(self, params: dict, arrays: dict) -> Embedder:
        """The fitted baseline from the saved state: ``params`` are all the saved settings
        (the baseline's own are ``params["baseline"]``), ``arrays`` the baseline's arrays."""
        raise NotImplementedError

    def _extra_params(self) -> dict:
        """Settings of the subclass saved beside the common ones."""
        return {}

    @classmethod
    def _from_params(cls, params: dict) -> EncoderOverBaseline:
        """An unfitted instance with the saved settings."""
        return cls(params["encoder"], batch_size=params["batch_size"])

    def _info(self) -> dict:
        return {"encoder": f"{self.encoder} ({self.model_.embed_dim}-D, robust-scaled)"}

    # -- Embedder ----------------------------------------------------------------------------
    def _encode(self, obs) -> np.ndarray:
        return self.model_.embed(list(obs), batch_size=self.batch_size)

    def fit(self, obs: Sequence, progress: Progress = None):
        self.__dict__.pop("_fit_rows", None)
        self.model_ = self._load()
        self.baseline_ = self._new_baseline().fit(obs)
        Z = self._encode(obs)
        self.scaler_ = RobustScaler().fit(Z)
        self._fit_Z = self.scaler_.transform(Z).astype(np.float32)
        self._remember(obs)
        self.feature_specs_ = list(self.baseline_.feature_specs_)
        self.uses_trained_model_ = True
        self.info_ = self._info()
        if progress:
            progress(len(obs))
        return self

    def transform(self, obs) -> np.ndarray:
        self.check_fitted()

        def compute(o):
            return self.scaler_.transform(self._encode(o)).astype(np.float32)

        return self._rows_or_compute(obs, getattr(self, "_fit_Z", None), compute)

    def features(self, obs) -> np.ndarray:
        self.check_fitted()
        return self.baseline_.features(obs)

    def reconstruction_error(self, obs) -> np.ndarray:
        self.check_fitted()
        return self.baseline_.reconstruction_error(obs)

    def residual(self, ob):
        return self.baseline_.residual(ob)

    def perturb(self, ob, rng: np.random.Generator, scale: float = 1.0):
        return self.baseline_.perturb(ob, rng, scale)

    # -- state -------------------------------------------------------------------------------
    def get_state(self):
        self.check_fitted()
        bp, ba = self.baseline_.get_state()
        params = {"encoder": weights_ref(str(self.encoder)), "batch_size": self.batch_size,
                  "encoder_dim": int(self.model_.embed_dim), "clip": self.scaler_.clip,
                  "baseline": bp, **self._extra_params()}
        mp, ma = self._memory_state(Z=getattr(self, "_fit_Z", None))
        arrays = scaler_arrays(self.scaler_, "encoder_scaler") | ma
        arrays |= {f"baseline_{k}": v for k, v in ba.items()}
        return params | mp, arrays

    @classmethod
    def from_state(cls, params, arrays):
        from skyfm.errors import DataFormatError

        emb = cls._from_params(params)
        emb.model_ = emb._load()
        if int(emb.model_.embed_dim) != int(params["encoder_dim"]):
            raise DataFormatError(
                f"encoder {params['encoder']!r} now makes {emb.model_.embed_dim}-D vectors, the "
                f"saved embedding used {params['encoder_dim']}-D ones (the model changed)",
                field="encoder_dim", expected=str(params["encoder_dim"]))
        emb.scaler_ = scaler_from(arrays, "encoder_scaler", params["clip"])
        emb.baseline_ = emb._restore_baseline(
            params,
            {k[len("baseline_"):]: v for k, v in arrays.items() if k.startswith("baseline_")})
        Z = emb._restore_memory(params, arrays).get("Z")
        if Z is not None:  # the run's own vectors for its own objects
            emb._fit_Z = Z.astype(np.float32)
        emb.feature_specs_ = list(emb.baseline_.feature_specs_)
        emb.uses_trained_model_ = True
        emb.info_ = emb._info()
        return emb

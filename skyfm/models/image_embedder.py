"""Images: :class:`ImageEncoderEmbedder`, the pretrained ``skyfm-img-base`` encoder
(:mod:`skyfm.models.image_encoder`) for discovery, with the interpretable morphology features,
the reconstruction error, the residual and the artefact flags of
:class:`~skyfm.models.image.ImageMorphologyBaseline` (fitted alongside on the same images)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skyfm.data.observations import Image
from skyfm.models.base import Embedder, Progress
from skyfm.models.image import ImageMorphologyBaseline, _feature_specs
from skyfm.models.preprocessing import RobustScaler, scaler_arrays, scaler_from
from skyfm.models.weights_io import weights_ref

__all__ = ["ImageEncoderEmbedder"]


class ImageEncoderEmbedder(Embedder):
    """Images -> robust-scaled embedding of the pretrained image encoder.

    Any :class:`~skyfm.data.observations.Image` is read: 8-bit colour cutouts and multi-band
    FITS stamps of any size, prepared by :func:`~skyfm.models.image_encoder.prepare_stamps`
    (central crop, per-band robust asinh stretch, three channels).

    Parameters
    ----------
    encoder : name or directory of the pretrained encoder (``skyfm-img-base``)
    batch_size : images per encoder call (bounds memory)
    artefact_model : the artefact head behind :meth:`artefact_flags` (None: no flags)
    """

    modality = "image"

    def __init__(self, encoder: str = "skyfm-img-base", batch_size: int = 256,
                 artefact_model: str | None = "skyfm-image-artefact"):
        self.encoder = encoder
        self.batch_size = batch_size
        self.artefact_model = artefact_model

    assess = staticmethod(ImageMorphologyBaseline.assess)

    def _load(self):
        from skyfm.models.image_encoder import ImageEncoder

        return ImageEncoder.from_pretrained(self.encoder)

    def _embed(self, imgs) -> np.ndarray:
        return self.scaler_.transform(self.model_.embed(list(imgs), self.batch_size)
                                      ).astype(np.float32)

    def fit(self, imgs: Sequence[Image], progress: Progress = None) -> ImageEncoderEmbedder:
        self.__dict__.pop("_fit_rows", None)
        self.model_ = self._load()
        self.baseline_ = ImageMorphologyBaseline(artefact_model=self.artefact_model).fit(imgs)
        Z = self.model_.embed(list(imgs), self.batch_size)
        self.scaler_ = RobustScaler().fit(Z)
        self._fit_Z = self.scaler_.transform(Z).astype(np.float32)
        self._remember(imgs)
        self.feature_specs_ = list(self.baseline_.feature_specs_)
        self.uses_trained_model_ = True
        self.info_ = {"encoder": f"{self.encoder} ({self.model_.embed_dim}-D, robust-scaled)"}
        if progress:
            progress(len(imgs))
        return self

    def transform(self, imgs) -> np.ndarray:
        self.check_fitted()
        return self._rows_or_compute(imgs, getattr(self, "_fit_Z", None), self._embed)

    def features(self, imgs) -> np.ndarray:
        self.check_fitted()
        return self.baseline_.features(imgs)

    def reconstruction_error(self, imgs) -> np.ndarray:
        self.check_fitted()
        return self.baseline_.reconstruction_error(imgs)

    def residual(self, img: Image):
        return self.baseline_.residual(img)

    def artefact_flags(self, imgs) -> list[str] | None:
        return self.baseline_.artefact_flags(imgs)

    def perturb(self, img: Image, rng: np.random.Generator, scale: float = 1.0) -> Image:
        return self.baseline_.perturb(img, rng, scale)

    # -- state -------------------------------------------------------------------------------
    def get_state(self):
        self.check_fitted()
        bp, ba = self.baseline_.get_state()
        params = {"encoder": weights_ref(str(self.encoder)), "batch_size": self.batch_size,
                  "encoder_dim": int(self.model_.embed_dim), "clip": self.scaler_.clip,
                  "artefact_model": self.artefact_model, "baseline": bp,
                  "n_bands": len(self.feature_specs_) - len(_feature_specs(1, 1)) + 1}
        arrays = scaler_arrays(self.scaler_, "encoder_scaler")
        arrays |= {f"baseline_{k}": v for k, v in ba.items()}
        return params, arrays

    @classmethod
    def from_state(cls, params, arrays) -> ImageEncoderEmbedder:
        from skyfm.errors import DataFormatError

        emb = cls(params["encoder"], params["batch_size"], params.get("artefact_model"))
        emb.model_ = emb._load()
        if int(emb.model_.embed_dim) != int(params["encoder_dim"]):
            raise DataFormatError(
                f"encoder {params['encoder']!r} now makes {emb.model_.embed_dim}-D vectors, the "
                f"saved embedding used {params['encoder_dim']}-D ones (the model changed)",
                field="encoder_dim", expected=str(params["encoder_dim"]))
        emb.scaler_ = scaler_from(arrays, "encoder_scaler", params["clip"])
        bp = params["baseline"]
        emb.baseline_ = ImageMorphologyBaseline.from_state(
            bp, {k[len("baseline_"):]: v for k, v in arrays.items() if k.startswith("baseline_")})
        specs = _feature_specs(int(params["n_bands"]), int(bp["size"]))
        emb.baseline_.feature_specs_ = specs
        emb.baseline_.info_ = {}
        emb.feature_specs_ = list(specs)
        emb.uses_trained_model_ = True
        emb.info_ = {"encoder": f"{emb.encoder} ({emb.model_.embed_dim}-D, robust-scaled)"}
        return emb

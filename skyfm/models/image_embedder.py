"""Images: :class:`ImageEncoderEmbedder`, the pretrained ``skyfm-img-base`` encoder
(:mod:`skyfm.models.image_encoder`) for discovery, with the interpretable morphology features,
the reconstruction error, the residual and the artefact flags of
:class:`~skyfm.models.image.ImageMorphologyBaseline` (fitted alongside on the same images)."""

from __future__ import annotations

from skyfm.models.encoder_over_baseline import EncoderOverBaseline
from skyfm.models.image import ImageMorphologyBaseline, _feature_specs

__all__ = ["ImageEncoderEmbedder"]


class ImageEncoderEmbedder(EncoderOverBaseline):
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

    def _new_baseline(self) -> ImageMorphologyBaseline:
        return ImageMorphologyBaseline(artefact_model=self.artefact_model)

    def _extra_params(self) -> dict:
        return {"artefact_model": self.artefact_model,
                "n_bands": len(self.feature_specs_) - len(_feature_specs(1, 1)) + 1}

    @classmethod
    def _from_params(cls, params: dict) -> ImageEncoderEmbedder:
        return cls(params["encoder"], params["batch_size"], params.get("artefact_model"))

    def _restore_baseline(self, params: dict, arrays: dict) -> ImageMorphologyBaseline:
        bp = params["baseline"]
        base = ImageMorphologyBaseline.from_state(bp, arrays)
        base.feature_specs_ = _feature_specs(int(params["n_bands"]), int(bp["size"]))
        base.info_ = {}
        return base

    def artefact_flags(self, imgs) -> list[str] | None:
        return self.baseline_.artefact_flags(imgs)

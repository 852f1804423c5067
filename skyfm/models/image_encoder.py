"""skyfm-img-base: a small residual CNN over galaxy-sized image cutouts.

Every image (an 8-bit JPEG/PNG colour cutout or a multi-band FITS stamp in physical units, any
size) is prepared the same way by :func:`prepare_stamps`: the central ``crop`` of its width is
area-binned to ``stamp`` x ``stamp``; each band is sky-subtracted (median), divided by its
robust noise (1.4826 MAD, floored) and asinh-stretched (``stretch="noise"``, the shipped
weights; ``"signal"`` puts each band on a signal-relative scale instead, see :func:`_stretch`;
a config.json without the key means ``"noise"``); the bands are grouped into three
channels (3 bands as they are; 1 band repeated; 2 bands as b0, mean, b1; more bands averaged in
three contiguous groups, in the order of the bands). The network sees the central
``size`` x ``size`` of that stamp (the outer ring gives rotated training views real pixels in
their corners).

The network: a stride-2 3x3 conv stem, four residual blocks of two 3x3 convs (BatchNorm, ReLU;
``width`` -> ``width`` -> 2 ``width`` at half resolution -> 4 ``width`` at half again -> 4
``width``) and global average pooling; the embedding is the pooled ``4 * width`` channels (a
small MLP projection on top is used only in pretraining). Pretraining
(:mod:`skyfm.train.images`) is SimCLR-style contrastive learning between two views of each
image: rotations by any angle, small shifts and
zoom, pixel noise and per-channel colour jitter, **never a mirror flip**, so a galaxy and its
mirror image (a clockwise and an anticlockwise spiral) are not taught to look the same.

>>> enc = ImageEncoder.from_pretrained("skyfm-img-base")      # doctest: +SKIP
>>> z = enc.embed(images)                                      # (N, D) numpy
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from skyfm.models.base import Encoder
from skyfm.models.weights_io import load_weights, save_weights

__all__ = ["ImageConfig", "ImageEncoder", "ImageNet", "center", "prepare_stamps",
           "three_channels"]


@dataclass
class ImageConfig:
    size: int = 48           # network input (pixels)
    stamp: int = 60          # prepared stamp; the outer ring feeds rotated views
    crop: float = 0.375      # share of the image width the stamp covers
    width: int = 16          # channels of the first stage (then 2x, 4x)
    proj_dim: int = 64       # contrastive projection (pretraining only)
    noise_floor: float = 1e-3  # lowest noise scale, as a share of the band's 99.5 % range
    stretch: str = "noise"   # "noise" (the shipped weights) or "signal" (see _stretch)
    soften: float = 0.05     # signal stretch: asinh softening as a share of the scale

    @property
    def embed_dim(self) -> int:
        return 4 * self.width


# ------------------------------------------------------------------------- preparation
def three_channels(d: np.ndarray) -> np.ndarray:
    """(B, H, W) -> (3, H, W): 3 bands as they are, 1 repeated, 2 as (b0, mean, b1), more
    averaged in three contiguous groups (in the order of the bands)."""
    nb = d.shape[0]
    if nb == 3:
        return d
    if nb == 1:
        return np.repeat(d, 3, axis=0)
    if nb == 2:
        return np.stack([d[0], d.mean(axis=0), d[1]])
    return np.stack([g.mean(axis=0) for g in np.array_split(d, 3, axis=0)])


STRETCHES = ("signal", "noise")


def _stretch(d: np.ndarray, cfg: ImageConfig) -> np.ndarray:
    """Per band of a (B, S, S) stamp, asinh-stretched on the scale ``cfg.stretch`` names.

    ``"signal"``: sky = median of the outer ring (1/8 of the side), scale = 99th percentile of
    the sky-subtracted central half, floored at the robust noise (1.4826 MAD about the sky);
    ``asinh((x - sky) / (cfg.soften * scale))``. A noise re-draw moves a stamp by about
    noise / (soften * scale): little for a high-S/N image, a lot for a faint one.
    ``"noise"`` (v1): ``asinh((x - median) / (3 * robust noise))``."""
    if cfg.stretch == "signal":
        s = d.shape[-1]
        ring = max(1, s // 8)
        mask = np.ones(d.shape[-2:], bool)
        mask[ring:s - ring, ring:s - ring] = False
        sky = np.median(d[:, mask], axis=1)[:, None, None]
        x = d - sky
        mad = 1.4826 * np.median(np.abs(x), axis=(1, 2), keepdims=True)
        q = s // 4
        top = np.percentile(x[:, q:s - q, q:s - q], 99, axis=(1, 2), keepdims=True)
        scale = np.maximum(top, mad) + 1e-12
        return np.arcsinh(x / (cfg.soften * scale)).astype(np.float32)
    if cfg.stretch != "noise":
        raise ValueError(f"unknown stretch {cfg.stretch!r}; choose from {STRETCHES}")
    floor = cfg.noise_floor
    med = np.median(d, axis=(1, 2), keepdims=True)
    mad = 1.4826 * np.median(np.abs(d - med), axis=(1, 2), keepdims=True)
    top = np.percentile(d, 99.5, axis=(1, 2), keepdims=True) - med
    sig = np.maximum(mad, floor * np.maximum(top, 0)) + 1e-12
    return np.arcsinh((d - med) / (3 * sig)).astype(np.float32)


def prepare_stamps(images: Sequence, config: ImageConfig | None = None) -> np.ndarray:
    """(N, 3, stamp, stamp) float32 network stamps of ``images`` (see the module docstring).

    Non-finite pixels count as the band's median. Raises
    :class:`~skyfm.errors.DataFormatError` for an image without a finite pixel."""
    from skyfm.errors import DataFormatError
    from skyfm.models.preprocessing import resize

    cfg = config or ImageConfig()
    out = np.empty((len(images), 3, cfg.stamp, cfg.stamp), np.float32)
    for i, img in enumerate(images):
        d = np.asarray(img.data, np.float32)
        finite = np.isfinite(d)
        if d.size == 0 or not finite.any():
            raise DataFormatError(f"image {getattr(img, 'object_id', i)!r} has no finite pixel",
                                  file=getattr(getattr(img, "provenance", None), "file", None),
                                  field="data", expected="an image with finite pixel values")
        if not finite.all():
            med = np.array([np.median(p[np.isfinite(p)]) if np.isfinite(p).any() else 0.0
                            for p in d], np.float32)
            d = np.where(finite, d, med[:, None, None])
        h, w = d.shape[-2:]
        side = max(2, round(min(h, w) * cfg.crop))
        y0, x0 = (h - side) // 2, (w - side) // 2
        d = d[:, y0:y0 + side, x0:x0 + side]
        out[i] = three_channels(_stretch(resize(d, cfg.stamp), cfg))
    return out


def center(x: torch.Tensor, size: int) -> torch.Tensor:
    """The central ``size`` x ``size`` of (N, C, H, W) stamps."""
    h, w = x.shape[-2:]
    y0, x0 = (h - size) // 2, (w - size) // 2
    return x[..., y0:y0 + size, x0:x0 + size]


# --------------------------------------------------------------------------- network
class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.skip = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                   nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        return F.relu(self.b2(self.c2(y)) + self.skip(x))


class ImageNet(nn.Module):
    """The CNN: ``forward`` gives the (N, embed_dim) pooled embedding of (N, 3, size, size)."""

    def __init__(self, config: ImageConfig):
        super().__init__()
        w = config.width
        self.stem = nn.Sequential(nn.Conv2d(3, w, 3, 2, 1, bias=False), nn.BatchNorm2d(w),
                                  nn.ReLU())
        self.stages = nn.Sequential(_Block(w, w, 1), _Block(w, 2 * w, 2),
                                    _Block(2 * w, 4 * w, 2), _Block(4 * w, 4 * w, 1))
        self.proj = nn.Sequential(nn.Linear(4 * w, 4 * w), nn.ReLU(),
                                  nn.Linear(4 * w, config.proj_dim))

    def forward(self, x):
        return self.stages(self.stem(x)).mean(dim=(2, 3))


class ImageEncoder(Encoder):
    """The pretrained :class:`ImageNet` with its config: load, save, embed images."""

    modality = "image"
    config_class = ImageConfig

    def __init__(self, config: ImageConfig | None = None, net: ImageNet | None = None):
        self.config = config or ImageConfig()
        self.net = (net or ImageNet(self.config)).eval()

    @classmethod
    def from_pretrained(cls, name_or_dir: str | Path = "skyfm-img-base") -> ImageEncoder:
        """A shipped encoder by name (``skyfm/models/weights/NAME``) or from a directory."""
        config, state = load_weights(name_or_dir, ImageConfig, "image encoder",
                                     "make one with `skyfm train images`")
        net = ImageNet(config)
        net.load_state_dict(state)
        return cls(config, net)

    def save_pretrained(self, directory: str | Path, extra: dict | None = None) -> Path:
        """Write ``config.json`` and ``model.safetensors`` (no pickle) to ``directory``."""
        return save_weights(directory, self.config, self.net,
                            architecture="skyfm-img residual CNN", extra=extra)

    @property
    def embed_dim(self) -> int:
        return self.config.embed_dim

    @torch.no_grad()
    def embed_stamps(self, stamps: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """(N, embed_dim) embeddings of prepared (N, 3, stamp, stamp) stamps."""
        self.net.eval()
        out = [self.net(center(torch.from_numpy(np.ascontiguousarray(stamps[i:i + batch_size])),
                               self.config.size)).numpy()
               for i in range(0, len(stamps), batch_size)]
        return np.concatenate(out) if out else np.empty((0, self.embed_dim), np.float32)

    def embed(self, images: Sequence, batch_size: int = 256) -> np.ndarray:
        """(N, embed_dim) embeddings of images (prepared by :func:`prepare_stamps`)."""
        images = list(images)
        out = [self.embed_stamps(prepare_stamps(images[i:i + batch_size], self.config))
               for i in range(0, len(images), batch_size)]
        return np.concatenate(out) if out else np.empty((0, self.embed_dim), np.float32)

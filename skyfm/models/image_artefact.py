"""skyfm-image-artefact: a tiny CNN that tells instrumental artefacts in colour cutouts from
real sky, so discovery can say "likely artefact" apart from "unusual".

Trained (:mod:`skyfm.train.artefacts`) on real Galaxy Zoo SDSS cutouts, each shown once as it
is and once with a twin artefact painted on (:mod:`skyfm.sim.artefacts`: cosmic rays,
satellite and aeroplane trails, bad columns, saturation bleed, ghosts, missing-data
placeholders, missing bands). Input: the cutout binned to ``size`` x ``size`` (area average)
in 0..255 colour units over 255; output: the probability that it carries an artefact.

It reads 8-bit colour cutouts (3 bands, values 0..255, as JPEG/PNG give them); other images
(FITS in physical units) get ``NaN``: the head does not judge what it was not trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from skyfm.models.weights_io import WEIGHTS_DIR, load_weights, save_weights  # noqa: F401

__all__ = ["ArtefactHead", "ArtefactHeadConfig", "ArtefactNet", "colour_stamp"]


@dataclass
class ArtefactHeadConfig:
    size: int = 64
    channels: tuple = (16, 32, 48, 64)
    threshold: float = 0.5

    def __post_init__(self):
        self.channels = tuple(int(c) for c in self.channels)


class ArtefactNet(nn.Module):
    """Strided 3 x 3 convolutions, global max and mean pooling, one logit."""

    def __init__(self, config: ArtefactHeadConfig):
        super().__init__()
        layers, cin = [], 3
        for c in config.channels:
            layers += [nn.Conv2d(cin, c, 3, stride=2, padding=1), nn.BatchNorm2d(c), nn.GELU(),
                       nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.GELU()]
            cin = c
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(2 * cin, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.body(x)
        return self.head(torch.cat([z.amax((2, 3)), z.mean((2, 3))], 1))[:, 0]


def colour_stamp(img, size: int) -> np.ndarray | None:
    """(3, size, size) float32 in 0..1 of an 8-bit colour cutout, or ``None`` when ``img`` is
    not one (not 3 bands, or values outside 0..255)."""
    from skyfm.models.preprocessing import resize

    d = np.asarray(img.data, np.float32)
    if d.ndim != 3 or d.shape[0] != 3:
        return None
    finite = np.isfinite(d)
    if not finite.any() or d[finite].min() < 0 or d[finite].max() > 255:
        return None
    return resize(np.nan_to_num(d), size) / 255.0


class ArtefactHead:
    """A trained :class:`ArtefactNet` with its config: load, save, judge cutouts."""

    def __init__(self, config: ArtefactHeadConfig, net: ArtefactNet | None = None):
        self.config = config
        self.net = (net or ArtefactNet(config)).eval()

    @classmethod
    def from_pretrained(cls, name_or_dir: str | Path = "skyfm-image-artefact") -> ArtefactHead:
        """A shipped head by name (``skyfm/models/weights/NAME``) or from a directory."""
        config, state = load_weights(name_or_dir, ArtefactHeadConfig, "artefact head",
                                     "make one with `skyfm train artefacts`")
        net = ArtefactNet(config)
        net.load_state_dict(state)
        return cls(config, net)

    def save_pretrained(self, directory: str | Path, extra: dict | None = None) -> Path:
        """Write ``config.json`` and ``model.safetensors`` (no pickle) to ``directory``."""
        return save_weights(directory, self.config, self.net,
                            architecture="skyfm-image-artefact CNN", extra=extra)

    @torch.no_grad()
    def predict_stamps(self, stamps: np.ndarray, batch: int = 256) -> np.ndarray:
        """Artefact probabilities of (N, 3, size, size) stamps in 0..1."""
        out = [torch.sigmoid(self.net(torch.from_numpy(np.ascontiguousarray(
            stamps[i:i + batch], np.float32)))).numpy() for i in range(0, len(stamps), batch)]
        return np.concatenate(out) if out else np.empty(0, np.float32)

    def predict_proba(self, images: Sequence) -> np.ndarray:
        """Artefact probability of each image (``NaN`` for images it does not read)."""
        p = np.full(len(images), np.nan)
        stamps, rows = [], []
        for i, img in enumerate(images):
            s = colour_stamp(img, self.config.size)
            if s is not None:
                stamps.append(s)
                rows.append(i)
        if stamps:
            p[rows] = self.predict_stamps(np.stack(stamps))
        return p

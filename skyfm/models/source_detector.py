"""skyfm-detect: a small fully convolutional network that finds point sources in an image.

Input: the background-subtracted image in units of its local noise (see
:func:`skyfm.images.detect.prepare`), compressed with ``asinh(x / 3)`` so bright stars and
faint ones share one range. Output, per pixel: a heat map (the logit that a source centre lies
in this pixel, CenterNet-style) and the sub-pixel offset (dx, dy) of that centre from the
pixel's centre. Plain 3 x 3 convolutions with growing dilation give a receptive field of
``1 + 2 * sum(dilations)`` pixels, enough to tell a point source from a hot pixel, a cosmic
ray or a ridge of nebulosity. Trained only on twin star fields (:mod:`skyfm.sim.starfield`)
by :mod:`skyfm.train.detector`.

>>> det = SourceDetector.from_pretrained("skyfm-detect-twin")     # doctest: +SKIP
>>> xy = det.find(snr_image)                                      # (N, 2) x, y
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from skyfm.models.weights_io import WEIGHTS_DIR, load_weights, save_weights  # noqa: F401

__all__ = ["SourceDetector", "SourceDetectorConfig", "SourceDetectorNet"]


@dataclass
class SourceDetectorConfig:
    channels: int = 32
    dilations: tuple = (1, 2, 4, 2, 1)
    threshold: float = 0.5   # heat-map probability of a detection
    stretch: float = 3.0     # input = asinh(snr / stretch)

    def __post_init__(self):
        self.dilations = tuple(int(d) for d in self.dilations)


class SourceDetectorNet(nn.Module):
    """Dilated 3 x 3 convolutions -> (heat logit, dx, dy) per pixel."""

    def __init__(self, config: SourceDetectorConfig):
        super().__init__()
        c = config.channels
        layers, cin = [], 1
        for d in config.dilations:
            layers += [nn.Conv2d(cin, c, 3, padding=d, dilation=d), nn.GroupNorm(4, c),
                       nn.GELU()]
            cin = c
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(c, 3, 1)
        nn.init.constant_(self.head.bias[:1], -4.0)  # sources are rare: start near p = 0.02

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class SourceDetector:
    """A trained :class:`SourceDetectorNet` with its config: load, save, find sources."""

    def __init__(self, config: SourceDetectorConfig, net: SourceDetectorNet | None = None):
        self.config = config
        self.net = (net or SourceDetectorNet(config)).eval()

    @classmethod
    def from_pretrained(cls, name_or_dir: str | Path = "skyfm-detect-twin") -> SourceDetector:
        """A shipped detector by name (``skyfm/models/weights/NAME``) or from a directory."""
        config, state = load_weights(name_or_dir, SourceDetectorConfig, "source detector",
                                     "make one with `skyfm train detector`")
        net = SourceDetectorNet(config)
        net.load_state_dict(state)
        return cls(config, net)

    def save_pretrained(self, directory: str | Path, extra: dict | None = None) -> Path:
        """Write ``config.json`` and ``model.safetensors`` (no pickle) to ``directory``."""
        return save_weights(directory, self.config, self.net,
                            architecture="skyfm-detect dilated CNN heat map", extra=extra)

    def inputs(self, snr: np.ndarray) -> torch.Tensor:
        """(1, 1, H, W) network input of a noise-normalised image (NaN/inf -> 0)."""
        x = np.arcsinh(np.nan_to_num(snr, nan=0.0, posinf=0.0, neginf=0.0) / self.config.stretch)
        return torch.from_numpy(x.astype(np.float32))[None, None]

    @torch.no_grad()
    def heatmap(self, snr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probability map (H, W), offsets (2, H, W)) of a noise-normalised image."""
        out = self.net(self.inputs(snr))[0]
        return torch.sigmoid(out[0]).numpy(), out[1:].numpy()

    def find(self, snr: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """(N, 2) x, y (0-based pixels) of the local maxima of the heat map above
        ``threshold`` (the config's when not given), each moved by its predicted offset."""
        prob, off = self.heatmap(snr)
        t = torch.from_numpy(prob)[None, None]
        peak = (F.max_pool2d(t, 3, stride=1, padding=1) == t)[0, 0].numpy()
        thr = self.config.threshold if threshold is None else threshold
        ys, xs = np.nonzero(peak & (prob >= thr))
        return np.column_stack([xs + off[0, ys, xs], ys + off[1, ys, xs]]).astype(float)

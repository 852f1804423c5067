"""Twin artefacts painted onto real image cutouts: what makes an image look unusual without
anything astrophysical in it.

:func:`add_artefact` draws one of :data:`ARTEFACT_KINDS` onto a ``(bands, H, W)`` image in
0..255 colour-JPEG units (SDSS gri composites; each band of a colour image was exposed at
another moment, so a moving or transient artefact lights up one band only and shows as a
pure colour):

- ``cosmic_ray``: a few sharp 1-2 pixel tracks, 2..25 pixels long, in one band;
- ``satellite_trail``: a straight line across the whole cutout, 1..4 pixels wide, in one band
  or in all (an aeroplane: two or three parallel lines);
- ``bad_column``: one to three adjacent columns (or rows) stuck high in one band;
- ``saturation_bleed``: a saturated white star with a vertical bleed trail;
- ``ghost``: a faint, large, out-of-focus ring (a reflection of a bright star);
- ``placeholder``: the cutout replaced by a missing-data filler: a flat grey field with a
  little JPEG noise and a darker frame or text-like block, like SDSS's "no image" stamp;
- ``missing_band``: one band blank (0) over a strip or the whole stamp (an edge of the
  detector in that band).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ARTEFACT_KINDS", "add_artefact"]

ARTEFACT_KINDS = ("cosmic_ray", "satellite_trail", "bad_column", "saturation_bleed", "ghost",
                  "placeholder", "missing_band")


def _line(h: int, w: int, rng, width: float, x0=None, y0=None, angle=None, length=None):
    """Pixel weights (H, W) of a straight line with a soft edge."""
    yy, xx = np.mgrid[:h, :w].astype(float)
    x0 = rng.uniform(0, w) if x0 is None else x0
    y0 = rng.uniform(0, h) if y0 is None else y0
    ang = rng.uniform(0, np.pi) if angle is None else angle
    c, s = np.cos(ang), np.sin(ang)
    across = np.abs(-(xx - x0) * s + (yy - y0) * c)
    along = (xx - x0) * c + (yy - y0) * s
    weight = np.clip(width / 2 + 0.5 - across, 0, 1)
    if length is not None:
        weight *= (along >= 0) & (along <= length)
    return weight


def add_artefact(img: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``img`` (bands, H, W; 0..255) with one artefact of ``kind`` drawn on it."""
    if kind not in ARTEFACT_KINDS:
        raise ValueError(f"unknown artefact {kind!r}; one of {', '.join(ARTEFACT_KINDS)}")
    out = np.array(img, dtype=np.float32, copy=True)
    nb, h, w = out.shape
    scale = h / 423.0  # artefact sizes are given for a 423-pixel SDSS cutout
    band = int(rng.integers(nb))
    if kind == "cosmic_ray":
        for _ in range(int(rng.integers(1, 6))):
            wt = _line(h, w, rng, rng.uniform(1, 2) * max(scale, 0.5),
                       length=rng.uniform(2, 25) * max(scale, 0.3))
            out[int(rng.integers(nb))] += wt * rng.uniform(120, 255)
    elif kind == "satellite_trail":
        bands = [band] if rng.uniform() < 0.7 else list(range(nb))
        angle, x0, y0 = rng.uniform(0, np.pi), rng.uniform(0, w), rng.uniform(0, h)
        n_lines = 1 if rng.uniform() < 0.7 else int(rng.integers(2, 4))
        gap = rng.uniform(4, 12) * scale
        level = rng.uniform(60, 255)
        for k in range(n_lines):
            wt = _line(h, w, rng, rng.uniform(1, 4) * max(scale, 0.5),
                       x0=x0 - k * gap * np.sin(angle), y0=y0 + k * gap * np.cos(angle),
                       angle=angle)
            for b in bands:
                out[b] += wt * level
    elif kind == "bad_column":
        width = int(rng.integers(1, 4))
        pos = int(rng.integers(0, (w if rng.uniform() < 0.8 else h) - width))
        value = rng.uniform(80, 255)  # stuck high (a dead column on dark sky is invisible)
        if rng.uniform() < 0.8:
            out[band, :, pos:pos + width] = value
        else:
            out[band, pos:pos + width, :] = value
    elif kind == "saturation_bleed":
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(6, 20) * scale + 1
        yy, xx = np.mgrid[:h, :w]
        star = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r**2)) * 600
        bleed = (np.abs(xx - cx) < max(1.0, r / 3)) & (np.abs(yy - cy) < rng.uniform(3, 10) * r)
        out += star[None]
        out[:, bleed] = 255.0
    elif kind == "ghost":
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r0 = rng.uniform(40, 140) * scale
        yy, xx = np.mgrid[:h, :w]
        rr = np.hypot(xx - cx, yy - cy)
        ring = np.exp(-((rr - r0) ** 2) / (2 * (0.15 * r0) ** 2)) + 0.4 * (rr < r0)
        out += (ring * rng.uniform(15, 40))[None] * rng.uniform(0.6, 1.0, (nb, 1, 1))
    elif kind == "placeholder":
        grey = rng.uniform(100, 200)
        out[:] = grey + rng.normal(0, 2, (nb, h, w))
        y0, x0 = int(h * rng.uniform(0.3, 0.5)), int(w * rng.uniform(0.15, 0.35))
        out[:, y0:y0 + max(1, int(0.12 * h)), x0:w - x0] -= rng.uniform(30, 80)  # "text"
        if rng.uniform() < 0.5:
            edge = max(1, int(0.03 * h))
            out[:, :edge] = out[:, -edge:] = out[:, :, :edge] = out[:, :, -edge:] = grey - 60
    elif kind == "missing_band":
        if rng.uniform() < 0.5:
            out[band] = 0.0
        else:
            cut = int(rng.uniform(0.2, 0.7) * w)
            if rng.uniform() < 0.5:
                out[band, :, :cut] = 0.0
            else:
                out[band, :, cut:] = 0.0
    return np.clip(out, 0, 255)

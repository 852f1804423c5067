"""Does an oddity look like an artefact rather than astrophysics? One flag per object.

The ``artefact`` column of ``candidates.csv`` and the warning on a report card. Rules
(documented here because readers of ``candidates.csv`` rely on them); several can apply, then
they are joined with ``;``; ``none`` when no rule applies:

- ``impossible_colour(g-r=+4.21 mag)``: a light curve whose median magnitudes in two adjacent
  bands (wavelength order) differ by more than :data:`MAX_COLOUR` mag. Stars, supernovae and
  quasars stay within about 2 mag in adjacent optical bands; more usually means a bad
  zero point, a wrong band label, or two sources mixed in one light curve.
- ``few_points``: the light curve's quality flag is ``few_points`` (see
  :mod:`skyfm.discover.quality`): a handful of points makes almost anything look odd.
- ``placeholder_image(...)``: an image (or alert cutout) whose band is constant, or whose
  pixels are mostly (more than :data:`MAX_BLANK_FRACTION`) NaN or exactly zero: a filler
  stamp, an edge of the detector, a failed cutout.
- ``real_bogus(drb=0.01)``: an alert cutout (image with ``meta['drb']``, or ``meta['rb']``
  when the packet has no ``drb``) whose survey real-bogus score is below
  :data:`MIN_REAL_BOGUS`: ZTF's own deep classifier (braai) calls the detection bogus (a bad
  subtraction, a cosmic ray, a bad pixel). On the 58 judged ZTF stamps of
  ``tests/images/data/ztf_top_candidates.csv`` it catches 6 of the 8 artefacts and 1 of the
  50 real detections (an old packet with only ``rb`` = 0.45).
- ``flat_spectrum``: a spectrum whose unmasked flux is constant.
- ``likely_artefact(cnn p=0.97)``: the modality's embedder judges the object an instrumental
  artefact (:meth:`skyfm.models.base.Embedder.artefact_flags`; images: the
  ``skyfm-image-artefact`` CNN trained on twin artefacts painted on real cutouts, see
  :mod:`skyfm.models.image_artefact`), with its probability.

An object with any flag is a *likely artefact*; the rest that rank high are *unusual*.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

__all__ = ["MAX_BLANK_FRACTION", "MAX_COLOUR", "MIN_REAL_BOGUS", "artefact_flag",
           "artefact_flags",
           "image_artefact", "lightcurve_colours"]

#: |colour| of two adjacent bands above this (mag) is not a point source's colour
MAX_COLOUR = 3.0
#: an image band with more than this fraction of NaN or exactly-zero pixels is a placeholder
MAX_BLANK_FRACTION = 0.5
#: an alert cutout whose real-bogus score (ZTF drb, else rb) is below this is flagged
MIN_REAL_BOGUS = 0.5


def lightcurve_colours(lc) -> dict[str, float]:
    """``{"g-r": median_g - median_r, ...}`` (mag) for adjacent bands in wavelength order.

    Detections only; flux light curves use ``-2.5 log10`` of the ratio of positive medians.
    """
    from skyfm.data.bands import BANDS, resolve_band

    med = {}
    for b in lc.bands:
        m = (lc.band == b) & ~lc.upper_limit & np.isfinite(lc.value)
        if m.any():
            med[b] = float(np.median(lc.value[m]))

    def wavelength(b):
        canon, _ = resolve_band(str(b))
        return BANDS[canon].wavelength.value if canon in BANDS else np.inf

    order = sorted(med, key=wavelength)
    out = {}
    for a, b in itertools.pairwise(order):
        if lc.kind == "mag":
            out[f"{a}-{b}"] = med[a] - med[b]
        elif med[a] > 0 and med[b] > 0:
            out[f"{a}-{b}"] = float(-2.5 * np.log10(med[a] / med[b]))
    return out


def image_artefact(data: np.ndarray, bands: Sequence[str] | None = None) -> str | None:
    """Why an image (``(bands, H, W)`` or ``(H, W)``) looks like a placeholder, or None."""
    arr = np.asarray(data, float)
    if arr.ndim == 2:
        arr = arr[None]
    names = list(bands) if bands is not None else [str(i) for i in range(len(arr))]
    for name, plane in zip(names, arr):
        finite = np.isfinite(plane)
        blank = float(np.mean(~finite | (plane == 0)))
        if blank > MAX_BLANK_FRACTION:
            return f"placeholder_image({name}: {100 * blank:.0f}% NaN or zero pixels)"
        if finite.any() and np.ptp(plane[finite]) == 0:
            return f"placeholder_image({name}: constant)"
    return None


def artefact_flag(ob, quality: str = "ok") -> str:
    """The artefact flag of one observation (``none`` when nothing looks wrong)."""
    from skyfm.data import Image, LightCurve, Spectrum

    bits = []
    if isinstance(ob, LightCurve):
        for pair, c in lightcurve_colours(ob).items():
            if abs(c) > MAX_COLOUR:
                bits.append(f"impossible_colour({pair}={c:+.2f} mag)")
        if quality == "few_points":
            bits.append("few_points")
    elif isinstance(ob, Image):
        why = image_artefact(ob.data, ob.bands)
        if why:
            bits.append(why)
        meta = ob.meta or {}
        key = "drb" if meta.get("drb") is not None else "rb"
        rb = meta.get(key)
        if isinstance(rb, (int, float)) and np.isfinite(rb) and rb < MIN_REAL_BOGUS:
            bits.append(f"real_bogus({key}={rb:.2f})")
    elif isinstance(ob, Spectrum):
        f = np.asarray(ob.flux, float)[~np.asarray(ob.mask, bool)]
        f = f[np.isfinite(f)]
        if f.size and np.ptp(f) == 0:
            bits.append("flat_spectrum")
    return ";".join(bits) or "none"


def artefact_flags(observations: Sequence, quality: Sequence[str] | None = None,
                   model: Sequence[str] | None = None) -> list[str]:
    """:func:`artefact_flag` of each observation (``quality``: their quality flags), joined
    with the embedder's own flags ``model`` (:meth:`~skyfm.models.base.Embedder.
    artefact_flags`; ``""`` where it sees none)."""
    q = list(quality) if quality is not None else ["ok"] * len(observations)
    flags = [artefact_flag(o, qi) for o, qi in zip(observations, q)]
    if model is None:
        return flags
    if len(model) != len(flags):
        raise ValueError(f"{len(model)} model artefact flags for {len(flags)} objects")
    out = []
    for rule, extra in zip(flags, model):
        bits = [] if rule == "none" else [rule]
        if extra:
            bits.append(str(extra))
        out.append(";".join(bits) or "none")
    return out

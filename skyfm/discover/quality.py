"""Which objects can be scored, which are thin, and which must be skipped — and why.

Discovery accounts for every object it is given: each one is either **scored** (a row of
``candidates.csv``, with a ``quality`` flag) or **skipped** (a row of ``skipped.csv``:
``object_id, reason``). Objects in = scored + skipped, always (:func:`check_accounting`).

Rules, per modality (documented here because ``candidates.csv`` readers rely on them):

- light curve: a *valid point* is a detection (not an upper limit) with a finite value.
  0 valid points -> skipped (``"0 valid points"``). Fewer than
  :data:`MIN_POINTS_PER_BAND` valid points in every band -> scored, ``quality='few_points'``:
  the per-band classical features need that many points, so the object's embedding rests on
  little (the encoder alone, and the sampling); its uncertainties are raised to
  :data:`THIN_UNCERTAINTY` (see :func:`raise_thin_uncertainty`).
- spectrum: a *valid pixel* is unmasked with finite flux. None -> skipped
  (``"all pixels masked"``); fewer than :data:`MIN_PIXELS` -> ``quality='few_pixels'``.
- image: no finite pixel -> skipped (``"no finite pixels"``).
- table row: no finite value -> skipped (``"no finite values"``); some values missing ->
  ``quality='missing_values'`` (they are imputed with the column median).

- transient light curves (``discover(kind='transient')``): no transient shape fit (too few
  points in the season, or none significant) -> ``quality='no_shape_fit'``: the shape features
  are imputed with the set's medians, so the object looks ordinary for want of data; its
  uncertainties are raised like those of ``few_points``. With a fit the curve is ``ok`` even
  with < 5 points per band (the shape fit, not the periodic features, is its embedding).

``quality='ok'`` otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "MIN_PIXELS",
    "MIN_POINTS_PER_BAND",
    "SKIPPED_COLUMNS",
    "THIN_FLAGS",
    "THIN_UNCERTAINTY",
    "Triage",
    "check_accounting",
    "no_shape_fit",
    "raise_thin_uncertainty",
    "thin_note",
    "triage",
]

from skyfm.models.base import MIN_PIXELS, MIN_POINTS_PER_BAND  # noqa: E402  (the rules' numbers)

#: the epistemic/aleatoric floor of a thin object: the standard deviation of a score drawn
#: uniformly on [0, 1] (1/sqrt(12)), i.e. "its rank could be anywhere"
THIN_UNCERTAINTY = float(1 / np.sqrt(12))
SKIPPED_COLUMNS = ["object_id", "reason"]
#: quality flags whose objects get the raised uncertainty (their embedding rests on little)
THIN_FLAGS = ("few_points", "few_pixels", "no_shape_fit")


class Triage:
    """The verdict on each object: ``keep`` (bool mask), ``quality`` (flag per object, '' for
    skipped ones) and ``reason`` (why skipped, '' for kept ones)."""

    def __init__(self, keep: np.ndarray, quality: list[str], reason: list[str]):
        self.keep = np.asarray(keep, bool)
        self.quality = list(quality)
        self.reason = list(reason)

    @property
    def n_in(self) -> int:
        return len(self.keep)

    @property
    def n_skipped(self) -> int:
        return int((~self.keep).sum())

    def skipped(self, ids: Sequence[str]) -> pd.DataFrame:
        """``skipped.csv``'s rows: ``object_id, reason``."""
        idx = np.flatnonzero(~self.keep)
        return pd.DataFrame({"object_id": [ids[i] for i in idx],
                             "reason": [self.reason[i] for i in idx]}, columns=SKIPPED_COLUMNS)

    def kept_quality(self) -> np.ndarray:
        return np.array([q for q, k in zip(self.quality, self.keep) if k], dtype=object)


def triage(observations: Sequence, modality: str) -> Triage:
    """Keep/skip each object and give the kept ones a quality flag (module docstring rules)."""
    from skyfm.models.registry import embedder_class

    fn = embedder_class(modality).assess  # ValueError naming the known ones when unregistered
    quality, reason = zip(*(fn(o) for o in observations)) if observations else ((), ())
    keep = np.array([r == "" for r in reason], bool)
    return Triage(keep, list(quality), list(reason))


def check_accounting(n_in: int, n_scored: int, n_skipped: int) -> None:
    """Raise when objects were lost: every object must be scored or skipped, once."""
    if n_scored + n_skipped != n_in:
        raise RuntimeError(f"object accounting broken: {n_in} in but {n_scored} scored + "
                           f"{n_skipped} skipped (a bug in skyfm: please report it)")


def raise_thin_uncertainty(values: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Uncertainties with every thin object (:data:`THIN_FLAGS`) raised to at least
    :data:`THIN_UNCERTAINTY` (a NaN — unknown — also becomes that floor for thin objects)."""
    v = np.asarray(values, float).copy()
    thin = np.isin(np.asarray(quality, dtype=object), THIN_FLAGS)
    v[thin] = np.fmax(v[thin], THIN_UNCERTAINTY)
    return v


_NOTES = {"few_points": "Thin data (fewer than 5 points in every band): the score is uncertain. ",
          "few_pixels": f"Thin data (fewer than {MIN_PIXELS} valid pixels): the score is "
                        "uncertain. ",
          "no_shape_fit": "No transient shape fit (too few points in the season): the score "
                          "is uncertain. "}


def thin_note(quality: str) -> str:
    """The sentence that opens a thin object's reason ('' for other objects)."""
    return _NOTES.get(str(quality), "")


def no_shape_fit(quality: np.ndarray, features: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The quality of light curves embedded by their transient shape: ``'no_shape_fit'``
    where the fit failed (``rise_time`` NaN in the embedder's features), ``'ok'`` where it
    worked — then ``few_points`` (the periodic features' 5 points per band) does not apply:
    the joint fit needs only its parameters + 1 points over all bands."""
    q = np.asarray(quality, dtype=object).copy()
    if "rise_time" in names:
        failed = ~np.isfinite(np.asarray(features, float)[:, list(names).index("rise_time")])
        light = np.isin(q, ("ok", "few_points"))
        q[failed & light] = "no_shape_fit"
        q[~failed & light] = "ok"
    return q

"""The contract every X model of skyfm follows, whatever it observes.

Two kinds of object:

* an :class:`Encoder` is a *pretrained network* for one modality (``skyfm-lc-base`` for light
  curves): a config dataclass, ``from_pretrained`` / ``save_pretrained`` (weights as plain
  tensors, never pickle) and ``embed(observations) -> (N, D)``;
* an :class:`Embedder` is the *scikit-learn estimator* discovery, evaluation, the CLI and the
  service use: ``fit`` on a set of observations (scalers, PCA, the encoder it wraps), then
  ``transform`` (the vectors the scorers work in), ``features`` (interpretable quantities with
  names and units, :class:`FeatureSpec`), ``perturb`` (an observation re-drawn within its
  errors), optionally ``reconstruction_error`` and ``residual``, and ``get_state`` /
  ``from_state`` (JSON + named arrays, no pickle) so a fitted one is saved with a run.

An embedder without a trained network (PCA of spectra, morphology statistics of images, scaled
catalogue columns) says so: ``uses_trained_model_`` is False and :meth:`Embedder.describe` reads
"baseline encoder, no trained model". Every modality registers its embedder (and encoder, when
it has one) in :mod:`skyfm.models.registry`; nothing else may probe an embedder for methods.

Results never depend on *which* Python list holds the observations: what a fitted embedder
remembers about the objects it was fitted on (their features, their cross-fitted
reconstruction error) is looked up by each object's content :func:`fingerprint`.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

__all__ = ["BASELINE", "MIN_PIXELS", "MIN_POINTS_PER_BAND", "Embedder", "Encoder", "FeatureSpec",
           "Progress", "fingerprint"]

Progress = Callable[[int], None] | None

#: how every output names an embedder that has no trained network behind it
BASELINE = "baseline encoder, no trained model"
#: a light-curve band needs this many detections for the classical features
MIN_POINTS_PER_BAND = 5
#: fewer valid pixels than this and a spectrum is ``few_pixels``
MIN_PIXELS = 10


@dataclass(frozen=True)
class FeatureSpec:
    """One interpretable feature: its column name, its unit (an astropy unit string; ``""``
    for a dimensionless number) and what it measures, in words."""

    name: str
    unit: str = ""
    description: str = ""

    def quantity(self, value: float):
        """``value`` as an astropy Quantity in this feature's unit (dimensionless when none)."""
        import astropy.units as u

        return value * (u.Unit(self.unit) if self.unit else u.dimensionless_unscaled)


def fingerprint(ob) -> str:
    """A content key of one observation: its id, type and the bytes of its data arrays.

    Two objects with the same id and data give the same key, whichever list holds them; a
    noise re-draw (every value moved) gives another. Large arrays (images) are keyed by their
    shape, sum and a strided sample of their values, which is enough to tell a re-draw or
    another image apart at a fraction of the cost of hashing every pixel.
    """
    h = hashlib.blake2b(digest_size=16)
    h.update(type(ob).__name__.encode())
    h.update(str(getattr(ob, "object_id", "")).encode())
    arrays = []
    for name in ("time", "value", "error", "band", "wavelength", "flux", "data", "mask",
                 "upper_limit"):
        a = getattr(ob, name, None)
        if isinstance(a, np.ndarray):
            arrays.append((name, a))
    values = getattr(ob, "values", None)
    if isinstance(values, dict):  # a catalogue row
        h.update(repr(sorted(values.items())).encode())
    for name, a in arrays:
        h.update(name.encode())
        h.update(str(a.shape).encode())
        if a.dtype.kind in "OUS":
            h.update("|".join(map(str, a.ravel().tolist())).encode())
        elif a.size > 65536:
            flat = np.ascontiguousarray(a).reshape(-1)
            h.update(np.ascontiguousarray(flat[::97]).tobytes())
            h.update(np.float64(np.nansum(flat, dtype=np.float64)).tobytes())
        else:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


class Encoder(ABC):
    """A pretrained network for one modality (the nanoGPT-style model behind an embedder).

    Subclasses hold a ``config`` (a dataclass, ``config_class``), load and save their weights
    with ``from_pretrained`` / ``save_pretrained`` (a shipped name or a directory; no pickle)
    and map observations to vectors with ``embed``."""

    modality: ClassVar[str]
    config_class: ClassVar[type]

    @classmethod
    @abstractmethod
    def from_pretrained(cls, name_or_dir: str | Path, **kwargs) -> Encoder:
        """The encoder saved under a shipped name or in a directory."""

    @abstractmethod
    def save_pretrained(self, directory: str | Path, extra: dict | None = None) -> Path:
        """Write config and weights to ``directory``; returns it."""

    @abstractmethod
    def embed(self, observations: Sequence, **kwargs) -> np.ndarray:
        """(N, embed_dim) vectors, one per observation."""

    @property
    @abstractmethod
    def embed_dim(self) -> int:
        """The length of one vector."""


class Embedder(BaseEstimator, ABC):
    """Observations of one modality -> vectors for discovery, plus interpretable features.

    scikit-learn contract: configuration in the constructor (stored unchanged), ``fit`` returns
    self, fitted attributes end in ``_``, :func:`sklearn.base.clone` works, and using an
    unfitted embedder raises :class:`~sklearn.exceptions.NotFittedError`.

    A subclass sets ``modality`` and implements ``fit`` (which must set ``feature_specs_``,
    ``info_`` and ``uses_trained_model_``), ``transform``, ``features``, ``perturb``,
    ``get_state`` and ``from_state``; the rest have defaults meaning "not available".
    """

    #: the modality this embedder reads (a key of :mod:`skyfm.models.registry`)
    modality: ClassVar[str]
    #: per-scorer fusion weights this embedder recommends (``None``: the ensemble's defaults)
    default_weights: ClassVar[dict[str, float] | None] = None
    #: True when the reconstruction error needs a network pass (noise draws then keep the
    #: clean value; see :func:`skyfm.discover.uncertainty.aleatoric`)
    costly_reconstruction: ClassVar[bool] = False
    #: True when the embedder embeds transient shape features (transient quality checks apply)
    embeds_transients: ClassVar[bool] = False

    # -- what every embedder does ---------------------------------------------------------
    @abstractmethod
    def fit(self, observations: Sequence, progress: Progress = None) -> Embedder:
        """Learn the scalers / projections from ``observations``; returns self."""

    @abstractmethod
    def transform(self, observations: Sequence) -> np.ndarray:
        """(N, D) float32 vectors the scorers work in."""

    @abstractmethod
    def features(self, observations: Sequence) -> np.ndarray:
        """(N, F) interpretable features, columns as in ``feature_specs_``."""

    @abstractmethod
    def perturb(self, ob, rng: np.random.Generator, scale: float = 1.0):
        """A copy of ``ob`` re-drawn within its measurement errors (``scale`` sigma)."""

    @abstractmethod
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able settings, named float arrays) that re-create the fitted transform."""

    @classmethod
    @abstractmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> Embedder:
        """The fitted embedder :meth:`get_state` described."""

    # -- defaults ---------------------------------------------------------------------------
    @staticmethod
    def assess(ob) -> tuple[str, str]:
        """(quality flag, skip reason) of one observation before embedding: ``('ok', '')``,
        a flag such as ``'few_points'`` for thin but usable data, or ``('', why)`` when it
        cannot be embedded at all (it goes to ``skipped.csv``). Default: every object is ok."""
        return "ok", ""

    def fit_transform(self, observations: Sequence, progress: Progress = None) -> np.ndarray:
        return self.fit(observations, progress).transform(observations)

    def transform_draw(self, draw: Sequence) -> np.ndarray:
        """Vectors of noise re-draws of the fitted objects (``draw[i]`` re-draws object i);
        an embedder may reuse what it knows of the clean objects (light curves: the period)."""
        return self.transform(draw)

    def noise_draw(self, observations: Sequence, rng: np.random.Generator, scale: float = 1.0,
                   reconstruction: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """One re-draw of the fitted ``observations`` within their errors: its vectors and,
        with ``reconstruction``, the input of the reconstruction scorer
        (:meth:`reconstruction_input`). Each object is re-drawn by :meth:`perturb`."""
        draw = [self.perturb(o, rng, scale) for o in observations]
        X = self.transform_draw(draw)
        rec = self.reconstruction_input(draw, self.reconstruction_error(draw)) \
            if reconstruction else None
        return X, rec

    def reconstruction_input(self, observations: Sequence,
                             errors: np.ndarray | None) -> np.ndarray | None:
        """What the reconstruction scorer gets: the errors, followed by the noise covariates
        (:meth:`noise_covariates`) as extra columns when the embedder has them."""
        if errors is None:
            return None
        cov = self.noise_covariates(observations)
        return errors if cov is None else np.column_stack([errors, cov])

    def has_errors(self, observations: Sequence) -> bool:
        """Whether ``observations`` carry measurement errors to re-draw within."""
        return True

    def reconstruction_error(self, observations: Sequence) -> np.ndarray | None:
        """How badly the model reproduces each object, or ``None`` (no generative side)."""
        self.check_fitted()
        return None

    def artefact_flags(self, observations: Sequence) -> list[str] | None:
        """The embedder's own judgement of which objects look like instrumental artefacts: one
        string per object (``""`` when it sees none, else a flag such as
        ``likely_artefact(cnn p=0.97)``), or ``None`` when it has no artefact model. Discovery
        joins these to the rule-based flags of :mod:`skyfm.discover.artefact`."""
        return None

    def noise_covariates(self, observations: Sequence) -> np.ndarray | None:
        """(N, c) quantities the reconstruction error is calibrated against, or ``None``."""
        return None

    def residual(self, ob):
        """(x, data minus model, label) for the report's residual panel, or ``None``."""
        return None

    # -- description -------------------------------------------------------------------------
    @property
    def feature_names_(self) -> list[str]:
        """The feature columns' names (from ``feature_specs_``)."""
        self.check_fitted()
        return [s.name for s in self.feature_specs_]

    def feature_units(self) -> dict[str, str]:
        """{feature name: unit string}."""
        return {s.name: s.unit for s in self.feature_specs_}

    def describe(self) -> str:
        """One line for report headers, ``summary.json`` and the CLI: which model embeds, or
        that a baseline without a trained model does."""
        self.check_fitted()
        what = self.info_.get("encoder", "")
        if self.uses_trained_model_:
            return f"{type(self).__name__}: trained model {what}"
        return f"{type(self).__name__}: {BASELINE} ({what})"

    def check_fitted(self) -> None:
        """Raise :class:`NotFittedError` unless :meth:`fit` (or :meth:`from_state`) ran."""
        if "feature_specs_" not in vars(self):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit() "
                                 "(or load a saved one) before using it")

    # -- memory of the fitted objects, by content ---------------------------------------------
    def _remember(self, observations: Sequence) -> None:
        """Key the fitted objects by content (row i of the fitted caches is object i)."""
        self._fit_rows = {fingerprint(o): i for i, o in enumerate(observations)}

    def _memory_state(self, **cached: np.ndarray | None) -> tuple[dict, dict]:
        """The fitted objects' fingerprints (params) and ``cached`` per-object rows (arrays,
        ``fit_<name>``) for :meth:`get_state`: a loaded embedder then gives a fitted object the
        same row the run gave it (e.g. its cross-fitted reconstruction error), so
        ``skyfm discover score`` reproduces the run's own scores."""
        rows = getattr(self, "_fit_rows", None)
        kept = {k: v for k, v in cached.items() if v is not None}
        if not rows or not kept:
            return {}, {}
        fps = [fp for fp, _ in sorted(rows.items(), key=lambda kv: kv[1])]
        return ({"fit_fingerprints": fps},
                {f"fit_{k}": np.asarray(v, dtype=float) for k, v in kept.items()})

    def _restore_memory(self, params: dict, arrays: dict) -> dict[str, np.ndarray]:
        """Undo :meth:`_memory_state`: sets the fitted rows, returns ``{name: rows}``."""
        fps = params.get("fit_fingerprints")
        if not fps:
            return {}
        self._fit_rows = {fp: i for i, fp in enumerate(fps)}
        return {k[len("fit_"):]: np.asarray(v) for k, v in arrays.items()
                if k.startswith("fit_") and len(v) == len(fps)}

    def _fitted_rows(self, observations: Sequence) -> np.ndarray | None:
        """Row of each object in the fitted set (-1 where it was not fitted), or ``None`` when
        none was."""
        rows = getattr(self, "_fit_rows", None)
        if not rows:
            return None
        idx = np.array([rows.get(fingerprint(o), -1) for o in observations], dtype=int)
        return idx if (idx >= 0).any() else None

    def _rows_or_compute(self, observations: Sequence, cached: np.ndarray | None,
                         compute: Callable[[Sequence], np.ndarray]) -> np.ndarray:
        """``cached`` rows for the fitted objects, ``compute(others)`` for the rest."""
        idx = None if cached is None else self._fitted_rows(observations)
        if idx is None:
            return compute(observations)
        if (idx >= 0).all():
            return cached[idx]
        new = np.flatnonzero(idx < 0)
        fresh = compute([observations[i] for i in new])
        out = np.empty((len(observations),) + fresh.shape[1:], dtype=np.result_type(cached,
                                                                                   fresh))
        out[idx >= 0] = cached[idx[idx >= 0]]
        out[new] = fresh
        return out

"""Discovery: rank every object of a data set by how unusual it is, with uncertainty and reasons.

>>> from skyfm.discover import discover                      # doctest: +SKIP
>>> run = discover(observations, "out")                     # doctest: +SKIP
>>> run.candidates.head(); run.score(new_observations)      # doctest: +SKIP

Modules: ``embed`` (per-modality embedders), ``scorers`` (k-NN, isolation forest,
reconstruction, open set; fusion), ``ensemble``, ``uncertainty`` (epistemic / aleatoric),
``explain`` (neighbours, reasons, plots), ``report`` (HTML), ``pipeline`` (:func:`discover`),
``persist`` (fitted scorers as JSON + arrays) and ``run`` (a saved run as a model:
:func:`~skyfm.discover.run.load_run`, ``skyfm discover score``).
``index`` and ``feedback`` (similarity search and re-ranking from user feedback) read the files
:func:`discover` writes. The open-set, injection and feedback experiments live in
:mod:`skyfm.benchmarks`, so this package imports neither the simulator nor training code.
"""

from __future__ import annotations

__all__ = ["CANDIDATE_COLUMNS", "discover"]


def __getattr__(name: str):
    # lazy, so ``import skyfm.discover.index`` does not pull in scikit-learn and matplotlib
    if name in ("discover", "CANDIDATE_COLUMNS", "score_observations"):
        from skyfm.discover import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'skyfm.discover' has no attribute {name!r}")

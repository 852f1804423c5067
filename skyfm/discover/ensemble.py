"""Several scorers, one combined score, and a seeded/subsampled ensemble of the lot.

:class:`ScoreEnsemble` fits every requested scorer on a reference set (the data itself in a
discovery run, a clean reference in an evaluation), combines them by rank averaging (or robust
z-scores), and keeps ``n_members`` extra copies fitted on random subsamples with other seeds:
their disagreement is the *epistemic* uncertainty (see :mod:`skyfm.discover.uncertainty`).

All scores are unusualness (higher = more unusual). The combined score is on a [0, 1] scale:
the mean percentile of the object among the reference objects, over the scorers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from skyfm.discover.scorers import (
    OpenSetScorer,
    make_scorer,
    percentile_of,
    rank_fusion,
    zscore_fusion,
)

__all__ = ["DEFAULT_SCORERS", "ScoreEnsemble"]

DEFAULT_SCORERS = ("knn", "iforest", "recon", "openset")


class ScoreEnsemble(BaseEstimator):
    """k-NN, isolation forest, reconstruction error and open-set scores, fused.

    Parameters
    ----------
    scorers : names among ``knn``, ``iforest``, ``recon``, ``openset``; those that cannot run
        (no reconstruction error, fewer than two labelled classes) are dropped at ``fit``
        and listed in ``dropped_``
    weights : per-scorer weight in the fusion (default 1 each)
    fusion : ``'rank'`` (mean percentile) or ``'zscore'`` (mean robust z, then percentile)
    n_members : subsampled/seeded copies for the epistemic spread (0: none)
    subsample : fraction of the reference each member is fitted on
    """

    def __init__(self, scorers: Sequence[str] = DEFAULT_SCORERS,
                 weights: Mapping[str, float] | None = None, fusion: str = "rank",
                 k: int = 10, n_estimators: int = 200, openset_method: str = "gaussian",
                 n_members: int = 5, subsample: float = 0.8, random_state: int = 0):
        self.scorers = scorers
        self.weights = weights
        self.fusion = fusion
        self.k = k
        self.n_estimators = n_estimators
        self.openset_method = openset_method
        self.n_members = n_members
        self.subsample = subsample
        self.random_state = random_state

    def _make(self, name: str, seed: int):
        if name == "knn":
            return make_scorer("knn", k=self.k)
        if name == "iforest":
            return make_scorer("iforest", random_state=seed, n_estimators=self.n_estimators)
        if name == "openset":
            return make_scorer("openset", random_state=seed, method=self.openset_method)
        return make_scorer(name, random_state=seed)

    def _input(self, name: str, X, recon):
        return recon if name == "recon" else X

    # -- fitting --------------------------------------------------------------
    def fit(self, X: np.ndarray, y=None, recon: np.ndarray | None = None) -> ScoreEnsemble:
        """Fit on the reference set and keep its scores (self-excluded) as the percentile scale."""
        X = np.asarray(X, np.float32)
        n = len(X)
        self.active_, self.dropped_ = [], {}
        for name in tuple(self.scorers):
            if name == "recon" and (recon is None or not np.isfinite(recon).any()):
                self.dropped_[name] = "no reconstruction error for this modality/model"
            elif name == "openset" and not OpenSetScorer().can_fit(y):
                self.dropped_[name] = "fewer than two labelled classes"
            elif name not in ("knn", "iforest", "recon", "openset"):
                raise ValueError(f"unknown scorer {name!r}")
            else:
                self.active_.append(name)
        if not self.active_:
            raise ValueError("no scorer can run on this data")
        self.fitted_ = {}
        self.reference_ = {}
        for name in self.active_:
            sc = self._make(name, self.random_state)
            self.reference_[name] = np.asarray(sc.fit_score_samples(self._input(name, X, recon),
                                                                    y), float)
            self.fitted_[name] = sc
        self.reference_fused_ = self._fuse(self.reference_)
        # epistemic members: subsample + reseed every scorer
        rng = np.random.default_rng(self.random_state)
        self.members_, self.member_subsets_ = [], []
        m = max(2, round(self.subsample * n))
        for j in range(self.n_members if n >= 10 else 0):
            sub = np.sort(rng.choice(n, size=min(m, n), replace=False))
            pos = np.full(n, -1)
            pos[sub] = np.arange(len(sub))
            member, ref = {}, {}
            for name in self.active_:
                sc = self._make(name, self.random_state + 1 + j)
                inp = self._input(name, X, recon)
                ysub = None if y is None else np.asarray(y, dtype=object)[sub]
                if name == "openset":
                    if not sc.can_fit(ysub):
                        continue
                    sc.fit(inp[sub], ysub)
                else:
                    sc.fit(inp[sub])
                member[name] = sc
                ref[name] = sc.score_samples(inp, exclude=pos) if name == "knn" else \
                    sc.score_samples(inp)
            self.members_.append((member, ref))
            self.member_subsets_.append(sub)
        self.X_ = X
        return self

    def _fuse(self, scores: Mapping[str, np.ndarray],
              references: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        weights = self.weights
        if self.fusion == "rank":
            return rank_fusion(scores, weights, references)
        if self.fusion == "zscore":
            z = zscore_fusion(scores, weights, references)
            zref = z if references is None else zscore_fusion(references, weights, references)
            return percentile_of(z, zref)
        raise ValueError(f"fusion must be 'rank' or 'zscore', got {self.fusion!r}")

    # -- scoring ---------------------------------------------------------------
    def reference_scores(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """(per-scorer scores, combined score) of the reference set itself."""
        check_is_fitted(self, "reference_fused_")
        return dict(self.reference_), self.reference_fused_

    def score(self, X: np.ndarray, recon: np.ndarray | None = None,
              exclude: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """(per-scorer scores, combined score in [0, 1]) of new objects on the reference's scale.

        ``exclude[i]`` names a reference index object i may not use as its own neighbour
        (and, for the open-set scorer, the reference object whose out-of-fold classifier
        judges it, as in the reference scores); -1 for none.
        """
        check_is_fitted(self, "reference_fused_")
        X = np.asarray(X, np.float32)
        comp = {}
        for name in self.active_:
            sc = self.fitted_[name]
            inp = self._input(name, X, recon)
            comp[name] = sc.score_samples(inp, exclude=exclude) if name in ("knn", "openset") \
                else sc.score_samples(inp)
        return comp, self._fuse(comp, self.reference_)

    def member_scores(self) -> np.ndarray:
        """(n_members, N) combined score of the reference objects under each member."""
        check_is_fitted(self, "reference_fused_")
        out = []
        for member, ref in self.members_:
            comp = {n: ref.get(n, self.reference_[n]) for n in self.active_}
            out.append(self._fuse(comp))
        return np.array(out) if out else np.zeros((0, len(self.reference_fused_)))

    def member_scores_new(self, X: np.ndarray, recon: np.ndarray | None = None,
                          exclude: np.ndarray | None = None) -> np.ndarray:
        """(n_members, N) combined score of new objects under each member.

        ``exclude[i]``: a reference index (or -1) object i may not use as its own neighbour,
        as in :meth:`score`; mapped onto each member's subsample."""
        check_is_fitted(self, "reference_fused_")
        X = np.asarray(X, np.float32)
        out = []
        subsets = getattr(self, "member_subsets_", [None] * len(self.members_))
        for (member, ref), sub in zip(self.members_, subsets):
            comp = {}
            for name in self.active_:
                if name == "knn" and name in member and exclude is not None and sub is not None:
                    pos = np.full(len(self.X_) + 1, -1)
                    pos[sub] = np.arange(len(sub))
                    ex = pos[np.where(np.asarray(exclude) >= 0, exclude, len(self.X_))]
                    comp[name] = member[name].score_samples(X, exclude=ex)
                elif name in member:
                    comp[name] = member[name].score_samples(self._input(name, X, recon))
                else:
                    comp[name] = self.fitted_[name].score_samples(self._input(name, X, recon))
            refs = {n: ref.get(n, self.reference_[n]) for n in self.active_}
            out.append(self._fuse(comp, refs))
        return np.array(out) if out else np.zeros((0, len(X)))

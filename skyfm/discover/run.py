"""A discovery run as a model: :class:`DiscoveryRun` ranks new objects without refitting.

:func:`skyfm.discover.discover` returns a :class:`DiscoveryRun` and saves its fitted embedder
(``embedder.json`` + ``.npz``) and scorers (``ensemble.json`` + ``.npz``, see
:mod:`skyfm.discover.persist`); :func:`load_run` reads them back from the OUT directory.
:meth:`DiscoveryRun.score` embeds new observations with the run's embedder and scores them with
its scorers on the run's scale: ``score`` is the mean percentile among the run's objects, as in
``candidates.csv``, and ``rank_in_run`` where the object would rank among them. An object that
is already in the run (same ``object_id``) may not be its own k-NN neighbour, exactly as in the
run, so it gets back its own score (up to the open-set scorer, which judged labelled run
objects out of fold).

``scores.csv`` (``skyfm discover score``): ``object_id, score, rank_in_run, epistemic,
aleatoric, quality, neighbours, reason`` then one ``score_<scorer>`` percentile column per scorer;
``skipped.csv``: ``object_id, reason``; objects in = scored + skipped.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from skyfm.discover.ensemble import ScoreEnsemble
from skyfm.errors import DataFormatError, IncompleteOutputError

__all__ = ["SCORE_COLUMNS", "DiscoveryRun", "ScoredObjects", "load_run"]

SCORE_COLUMNS = ["object_id", "score", "rank_in_run", "epistemic", "aleatoric", "quality",
                 "neighbours", "reason"]
RUN_FILES = ("candidates.csv", "summary.json", "object_ids.txt")


@dataclass
class ScoredObjects:
    """New objects scored against a run: ``scores`` (``scores.csv``'s rows, best first),
    ``skipped`` (``object_id, reason``), ``n_in`` = ``len(scores) + len(skipped)``."""

    scores: pd.DataFrame
    skipped: pd.DataFrame
    n_in: int

    def write(self, out, overwrite: bool = False) -> Path:
        """Write ``scores.csv`` + ``skipped.csv`` into a fresh run directory ``out``."""
        from skyfm.outputs import Run, run_directory, write_csv, write_json

        staged = contextlib.nullcontext(out) if isinstance(out, Run) else run_directory(
            out, overwrite=overwrite, kind="discover-score", recognise=is_score_output)
        with staged as run:
            write_csv(run.path / "scores.csv", self.scores)
            write_csv(run.path / "skipped.csv", self.skipped)
            write_json(run.path / "summary.json", {
                "n_in": self.n_in, "n_scored": len(self.scores), "n_skipped": len(self.skipped)})
        return Path(getattr(out, "target", out))


def is_score_output(path) -> bool:
    """True when ``path`` holds a ``skyfm discover score`` output (``scores.csv``)."""
    return (Path(path) / "scores.csv").is_file()


@dataclass
class DiscoveryRun:
    """What :func:`~skyfm.discover.discover` found, and the fitted model that found it.

    ``candidates``: the ``candidates.csv`` rows sorted by rank; ``skipped``: the
    ``skipped.csv`` rows; ``summary``: ``summary.json``'s content (``{}`` when nothing was
    written); ``out_dir``: where the files are (``None``); ``embedder`` / ``ensemble``: the
    fitted embedder and :class:`~skyfm.discover.ensemble.ScoreEnsemble` (``None`` when every
    object was skipped). For code written when ``discover`` returned the candidates
    DataFrame, indexing, ``len`` and DataFrame attributes go to ``candidates``.
    """

    candidates: pd.DataFrame
    skipped: pd.DataFrame
    summary: dict = field(default_factory=dict)
    out_dir: Path | None = None
    embedder: object = None
    ensemble: ScoreEnsemble | None = None
    modality: str | None = None
    object_ids: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (f"DiscoveryRun({len(self.candidates)} scored, {len(self.skipped)} skipped, "
                f"modality={self.modality!r}, out_dir={self.out_dir!r})")

    # -- the old return value (the candidates DataFrame) ----------------------------------
    def __getitem__(self, key):
        return self.candidates[key]

    def __len__(self) -> int:
        return len(self.candidates)

    def __getattr__(self, name):
        if name.startswith("__") or name in ("candidates", "skipped"):
            raise AttributeError(name)
        return getattr(self.candidates, name)

    # -- scoring new objects ---------------------------------------------------------------
    def score(self, observations, n_noise: int = 0, seed: int = 0,
              n_neighbours: int = 5) -> ScoredObjects:
        """Score ``observations`` against this run without refitting.

        The same quality rules as the run skip objects that cannot be scored (``skipped``);
        ``epistemic`` is the spread of the score over the ensemble members, ``aleatoric``
        (with ``n_noise`` > 0) the RMS change of the score when each observation is re-drawn
        within its errors (NaN without errors or with ``n_noise=0``)."""
        from skyfm.discover.embed import as_list, detect_modality, ensure_ids
        from skyfm.discover.quality import (
            check_accounting,
            no_shape_fit,
            raise_thin_uncertainty,
            thin_note,
            triage,
        )

        if self.ensemble is None or self.embedder is None:
            raise IncompleteOutputError("the run scored no object, so it has no model",
                                        file=self.out_dir, expected="a run with scored objects")
        emb, ens = self.embedder, self.ensemble
        obs_in = as_list(observations)
        ids_in = ensure_ids(obs_in)
        modality = detect_modality(obs_in) if obs_in else self.modality
        if self.modality and modality != self.modality:
            raise DataFormatError(f"the new data are {modality}s, the run scored "
                                  f"{self.modality}s", file=self.out_dir, field="modality",
                                  expected=f"{self.modality} observations")
        tri = triage(obs_in, modality)
        obs = [o for o, k in zip(obs_in, tri.keep) if k]
        ids = [str(i) for i, k in zip(ids_in, tri.keep) if k]
        quality = tri.kept_quality()
        skipped = tri.skipped(ids_in)
        check_accounting(len(obs_in), len(obs), len(skipped))
        if not obs:
            return ScoredObjects(pd.DataFrame(columns=SCORE_COLUMNS), skipped, len(obs_in))
        X = np.asarray(emb.transform(obs), np.float32)
        if X.shape[1] != ens.X_.shape[1]:
            raise DataFormatError(f"the saved embedder gives {X.shape[1]} dimensions, the saved "
                                  f"scorers expect {ens.X_.shape[1]}", file=self.out_dir,
                                  expected="embedder and scorers of the same run")
        if emb.embeds_transients:
            quality = no_shape_fit(quality, emb.features(obs), emb.feature_names_)
        recon = emb.reconstruction_input(obs, emb.reconstruction_error(obs)) \
            if "recon" in ens.active_ else None
        where = {str(i): j for j, i in enumerate(self.object_ids)}
        exclude = np.array([where.get(i, -1) for i in ids])  # a run object is not its own
        comp, score = ens.score(X, recon, exclude=exclude)    # neighbour, as in the run
        M = ens.member_scores_new(X, recon, exclude=exclude)
        epi = M.std(axis=0, ddof=1) if len(M) >= 2 else np.full(len(obs), np.nan)
        epi = raise_thin_uncertainty(epi, quality)
        alea = raise_thin_uncertainty(self._aleatoric(obs, score, exclude, n_noise, seed),
                                      quality)
        run_scores = np.asarray(ens.reference_fused_, float)
        rank_in_run = 1 + (run_scores[None, :] > score[:, None]).sum(axis=1)
        nb = ens.fitted_["knn"].nn_ if "knn" in ens.active_ else None
        if nb is None:
            from sklearn.neighbors import NearestNeighbors

            nb = NearestNeighbors(n_jobs=1).fit(ens.X_)
        k = min(n_neighbours + 1, len(ens.X_))
        _, idx = nb.kneighbors(X, n_neighbors=k)
        run_ids = np.asarray(self.object_ids, dtype=object)
        neighbours = [";".join(run_ids[[j for j in row if j != ex][:n_neighbours]])
                      for row, ex in zip(idx, exclude)]
        pct = {n: _percentiles(v, ens.reference_[n]) for n, v in comp.items()}
        top = [max(pct, key=lambda n: pct[n][i]) for i in range(len(obs))]
        reason = [f"{thin_note(q)}most unusual to {t} (percentile {pct[t][i]:.2f} in the run)"
                  for i, (q, t) in enumerate(zip(quality, top))]
        df = pd.DataFrame({"object_id": ids, "score": score, "rank_in_run": rank_in_run,
                           "epistemic": epi, "aleatoric": alea, "quality": quality,
                           "neighbours": neighbours, "reason": reason})
        for n, p in pct.items():
            df[f"score_{n}"] = p
        df = df.iloc[np.argsort(-score, kind="stable")].reset_index(drop=True)
        return ScoredObjects(df, skipped, len(obs_in))

    def _aleatoric(self, obs: list, score: np.ndarray, exclude: np.ndarray, n_noise: int,
                   seed: int) -> np.ndarray:
        """RMS change of the score (on the run's scale) over ``n_noise`` noise re-draws."""
        emb, ens = self.embedder, self.ensemble
        if n_noise <= 0 or not emb.has_errors(obs):
            return np.full(len(obs), np.nan)
        rng = np.random.default_rng(seed)
        sq = np.zeros(len(obs))
        for _ in range(n_noise):
            draw = [emb.perturb(o, rng) for o in obs]
            Xd = emb.transform(draw)
            rec = emb.reconstruction_input(draw, emb.reconstruction_error(draw)) \
                if "recon" in ens.active_ else None
            sq += (ens.score(Xd, rec, exclude=exclude)[1] - score) ** 2
        return np.sqrt(sq / n_noise)


def _percentiles(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    from skyfm.discover.scorers import percentile_of

    return percentile_of(values, reference)


def load_run(out_dir) -> DiscoveryRun:
    """The :class:`DiscoveryRun` a ``skyfm discover`` OUT directory holds, ready to score.

    Refuses (:class:`~skyfm.errors.IncompleteOutputError`) a run that is incomplete or changed
    (:func:`skyfm.outputs.check_run`) and one without saved scorers (written by an older skyfm,
    or with an embedder skyfm cannot save)."""
    import json

    from skyfm.discover.embed import EMBEDDER_ARRAYS, EMBEDDER_JSON, load_embedder
    from skyfm.discover.persist import ENSEMBLE_ARRAYS, ENSEMBLE_JSON, load_ensemble
    from skyfm.outputs import check_run

    d = Path(out_dir)
    check_run(d, required=("candidates.csv", "summary.json"))
    missing = [n for n in (ENSEMBLE_JSON, ENSEMBLE_ARRAYS, EMBEDDER_JSON, EMBEDDER_ARRAYS,
                           "object_ids.txt") if not (d / n).is_file()]
    if missing:
        raise IncompleteOutputError(
            f"no saved model ({', '.join(missing)} missing): the run was written by an older "
            "skyfm, scored no object, or used an embedder skyfm cannot save", file=d,
            expected="a run written by this skyfm's `skyfm discover` (run it again)")
    summary = json.loads((d / "summary.json").read_text(encoding="utf-8"))
    ens = load_ensemble(d)
    ids = (d / "object_ids.txt").read_text(encoding="utf-8").splitlines()
    if len(ids) != len(ens.X_):
        raise IncompleteOutputError(f"{len(ids)} ids for {len(ens.X_)} saved embeddings",
                                    file=d / "object_ids.txt",
                                    expected="one id per object of the run")
    cands = pd.read_csv(d / "candidates.csv", dtype=str, keep_default_na=False)
    for c in cands.columns:  # ids and reasons stay text ('NA' is an id); numbers are numbers
        if c in ("score", "rank", "epistemic", "aleatoric") or c.startswith("score_"):
            cands[c] = pd.to_numeric(cands[c].replace("", np.nan))
    skipped = pd.read_csv(d / "skipped.csv", dtype=str, keep_default_na=False) \
        if (d / "skipped.csv").is_file() else pd.DataFrame(columns=["object_id", "reason"])
    return DiscoveryRun(cands, skipped, summary, d, load_embedder(d), ens,
                        summary.get("modality"), ids)

"""``discover()``: embed, score, explain and report every object of a data set.

Files written under ``out_dir`` (the interface other tools read):

- ``candidates.csv`` — every scored object once: ``object_id, score, rank, epistemic, aleatoric,
  neighbours, reason, quality, artefact`` (rank 1 = most unusual; ``neighbours`` = ids of the
  nearest ordinary objects joined by ``;``; ``quality`` is ``ok`` or why the data are thin, e.g.
  ``few_points`` — such objects carry uncertainties of at least 0.29, see
  :mod:`skyfm.discover.quality`; ``artefact`` is ``none`` or why the oddity may be an artefact,
  e.g. ``impossible_colour(g-r=+4.21 mag)``, see :mod:`skyfm.discover.artefact`), then
  ``label`` and one ``score_<scorer>`` percentile column per scorer;
- ``skipped.csv`` — ``object_id, reason`` of every object that could not be scored (e.g.
  ``0 valid points``, ``all pixels masked``): objects in = scored + skipped, always (the three
  counts are in ``summary.json``: ``n_in``, ``n_scored``, ``n_skipped``);
- ``embeddings.npy`` — (N, D) float32, rows in the order of ``object_ids.txt`` (one id a line);
- ``embedder.json`` + ``embedder.npz`` — the fitted embedder (settings, scalers, PCA; no pickle):
  :func:`skyfm.discover.embed.load_embedder` re-embeds new observations the same way;
- ``ensemble.json`` + ``ensemble.npz`` — the fitted scorers, their reference scores and the
  ensemble members (no pickle, :mod:`skyfm.discover.persist`): with the embedder they make the
  run a model, :func:`skyfm.discover.run.load_run` scores new objects against it
  (``skyfm discover score RUN NEW_DATA``);
- ``plots/<object_id>.png`` — the top candidates next to their nearest ordinary neighbour
  (:func:`skyfm.discover.explain.safe_filename`: odd ids get a readable prefix + a hash);
- ``report/index.html`` — self-contained report; ``summary.json`` — run settings and timings;
- ``run.json`` — written last: every file's size (:func:`skyfm.outputs.check_run`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from skyfm.discover.embed import as_list, detect_modality, ensure_ids, make_embedder
from skyfm.discover.ensemble import DEFAULT_SCORERS, ScoreEnsemble
from skyfm.discover.quality import (
    check_accounting,
    no_shape_fit,
    raise_thin_uncertainty,
    thin_note,
    triage,
)
from skyfm.discover.run import DiscoveryRun
from skyfm.discover.scorers import is_missing, percentile_of
from skyfm.errors import SkyfmError
from skyfm.models import registry
from skyfm.models.base import Embedder

__all__ = ["CANDIDATE_COLUMNS", "NothingToScoreError", "discover", "is_discover_output",
           "score_observations"]

KINDS = ("auto", "transient", "general")
CANDIDATE_COLUMNS = ["object_id", "score", "rank", "epistemic", "aleatoric", "neighbours", "reason",
                     "quality", "artefact"]


class NothingToScoreError(SkyfmError):
    """Every object of the set was skipped (``skipped``: the ``skipped.csv`` rows)."""

    def __init__(self, skipped: pd.DataFrame, n_in: int):
        self.skipped = skipped
        self.n_in = n_in
        reasons = skipped["reason"].value_counts().head(3)
        why = "; ".join(f"{c} x {r!r}" for r, c in reasons.items())
        super().__init__(f"none of the {n_in} object(s) can be scored ({why})")


def _labels(obs: list) -> np.ndarray | None:
    y = np.array([getattr(o, "label", None) for o in obs], dtype=object)
    known = [v for v in y if not is_missing(v)]
    return y if known else None


def score_observations(observations, *, modality: str | None = None, embedder=None,
                       scorers: Sequence[str] = DEFAULT_SCORERS, weights=None,
                       fusion: str = "rank", k: int = 10, n_members: int = 5, n_noise: int = 2,
                       use_labels: bool = True, seed: int = 0, kind: str = "auto",
                       progress: Callable[[int], None] | None = None) -> dict:
    """The numeric part of :func:`discover` (no files): a dict with ``obs``, ``ids``, ``X``,
    ``embedder``, ``ensemble``, ``components`` (per-scorer percentiles), ``score``,
    ``epistemic``, ``aleatoric``, ``labels``, ``timings``, ``quality`` (per scored object),
    ``skipped`` (the ``skipped.csv`` rows) and ``n_in``. ``obs``/``ids`` are the scored objects.

    ``kind`` (light curves, default embedder only): ``'transient'`` embeds the transient shape
    features (:mod:`skyfm.features.transients`: rise, decline, peak magnitudes and colours)
    without the encoder, ``'general'`` the encoder and periodic features, ``'auto'`` picks
    ``'transient'`` when :func:`skyfm.features.transients.looks_transient` says the set is one
    of transients (single season).
    Raises :class:`NothingToScoreError` when every object is skipped."""
    t = {}
    t0 = time.perf_counter()
    obs_in = as_list(observations)
    ids_in = ensure_ids(obs_in)
    modality = modality or detect_modality(obs_in)
    tri = triage(obs_in, modality)
    obs = [o for o, k in zip(obs_in, tri.keep) if k]
    ids = [i for i, k in zip(ids_in, tri.keep) if k]
    quality = tri.kept_quality()
    skipped = tri.skipped(ids_in)
    check_accounting(len(obs_in), len(obs), len(skipped))
    if len(obs) == 1:  # unusual compared with what? a ranking needs two objects at least
        alone = pd.DataFrame({"object_id": [str(ids[0])], "reason": [
            "the only object that can be scored: a ranking needs at least 2"]})
        skipped = pd.concat([skipped, alone], ignore_index=True)
        obs, ids, quality = [], [], []
        check_accounting(len(obs_in), 0, len(skipped))
    if not obs:
        raise NothingToScoreError(skipped, len(obs_in))
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if embedder is None and modality == "lightcurve":
        from skyfm.features.transients import looks_transient

        if kind == "transient" or (kind == "auto" and looks_transient(obs)):
            emb = make_embedder(modality, transient=True, encoder=None)
        else:
            emb = make_embedder(modality)
    else:
        emb = embedder if embedder is not None else make_embedder(modality)
    if not isinstance(emb, Embedder):
        raise TypeError(f"embedder must be a skyfm.models.base.Embedder (fit, transform, "
                        f"features, perturb, get_state), got a {type(emb).__name__}")
    if emb.modality != registry.get_modality(modality).name:
        raise ValueError(f"a {type(emb).__name__} embeds {emb.modality} data, these are "
                         f"{modality} data")
    X = emb.fit_transform(obs)
    if emb.embeds_transients:
        quality = no_shape_fit(quality, emb.features(obs), emb.feature_names_)
    t["embed"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    recon = (emb.reconstruction_input(obs, emb.reconstruction_error(obs))
             if "recon" in scorers else None)
    t["reconstruction"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    y = _labels(obs) if use_labels else None
    if weights is None:
        weights = emb.default_weights
    ens = ScoreEnsemble(scorers, weights=weights, fusion=fusion, k=k, n_members=n_members,
                        random_state=seed).fit(X, y, recon)
    comp, score = ens.reference_scores()
    pct = {n: percentile_of(v, v) for n, v in comp.items()}
    t["score"] = time.perf_counter() - t1
    if progress:
        progress(1)
    from skyfm.discover.uncertainty import aleatoric, epistemic

    t1 = time.perf_counter()
    epi = raise_thin_uncertainty(epistemic(ens), quality)
    t["epistemic"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    alea = raise_thin_uncertainty(aleatoric(obs, emb, ens, n_draws=n_noise, seed=seed + 1),
                                  quality)
    t["aleatoric"] = time.perf_counter() - t1
    if progress:
        progress(1)
    return {"obs": obs, "ids": ids, "X": X, "embedder": emb, "ensemble": ens,
            "components": pct, "raw": comp, "score": score, "epistemic": epi, "aleatoric": alea,
            "labels": y, "modality": modality, "recon": recon, "timings": t,
            "quality": quality, "skipped": skipped, "n_in": len(obs_in)}


def is_discover_output(path) -> bool:
    """True when ``path`` holds a discovery run (``candidates.csv``) that overwrite may replace."""
    return (Path(path) / "candidates.csv").is_file()


def _check_out(out_dir, overwrite: bool) -> None:
    """Fail before any work when ``out_dir`` may not be written (see :func:`discover`)."""
    from skyfm.outputs import Run, check_target

    if out_dir is not None and not isinstance(out_dir, Run):
        check_target(out_dir, overwrite, is_discover_output, "discover")


def discover(observations, out_dir: str | Path | None = None, *, modality: str | None = None,
             embedder=None, scorers: Sequence[str] = DEFAULT_SCORERS, weights=None,
             fusion: str = "rank", k: int = 10, n_members: int = 5, n_noise: int = 2,
             n_neighbours: int = 5, top: int = 20, use_labels: bool = True,
             report: bool = True, map_method: str = "pca", seed: int = 0, kind: str = "auto",
             progress: Callable[[int], None] | None = None,
             overwrite: bool = False) -> DiscoveryRun:
    """Rank every object of ``observations`` by how unusual it is, explain the top ones.

    Parameters
    ----------
    observations : an ObservationSet / list of LightCurve, Spectrum, Image or Catalog
        (catalogue rows are the objects); labels (``obs.label``) are optional — with two or
        more labelled classes the open-set scorer joins in
    out_dir : where the files are written (see module docstring); ``None`` writes nothing.
        It must be new or empty: the run is built in a hidden sibling directory and moved
        into place whole when complete (:func:`skyfm.outputs.run_directory`; a
        :class:`skyfm.outputs.Run` already being built is written into directly)
    overwrite : replace an existing discovery output in ``out_dir`` whole (its feedback and
        plots included) instead of refusing
    scorers : among ``knn``, ``iforest``, ``recon`` (X-model reconstruction), ``openset``
    kind : light curves: ``'auto'`` / ``'transient'`` / ``'general'`` (see
        :func:`score_observations`)
    fusion : ``'rank'`` (mean percentile) or ``'zscore'``
    n_members : ensemble size for the epistemic uncertainty; ``n_noise`` noise re-draws for
        the aleatoric one (each re-embeds the data set)
    top : candidates that get a plot and a card in the report
    progress : called with 1 after each of the 5 stages (embed+score, uncertainty, explain,
        plots, report)

    Returns
    -------
    :class:`~skyfm.discover.run.DiscoveryRun`: ``candidates`` (the ``candidates.csv`` rows,
    sorted by rank), ``skipped``, ``summary``, ``out_dir``, the fitted embedder and ensemble;
    ``run.score(new_observations)`` ranks new objects against it without refitting.

    Example
    -------
    >>> from skyfm.sim import simulate_lightcurves           # doctest: +SKIP
    >>> run = discover(simulate_lightcurves(50), "out")     # doctest: +SKIP
    >>> run.candidates.head()                               # doctest: +SKIP
    """
    from skyfm.discover.artefact import artefact_flags
    from skyfm.discover.explain import (
        ordinary_neighbours,
        plot_candidate,
        reasons,
        safe_filename,
        value_unit,
    )

    _check_out(out_dir, overwrite)
    t0 = time.perf_counter()
    try:
        res = score_observations(observations, modality=modality, embedder=embedder,
                                 scorers=scorers, weights=weights, fusion=fusion, k=k,
                                 n_members=n_members, n_noise=n_noise, use_labels=use_labels,
                                 seed=seed, kind=kind, progress=progress)
    except NothingToScoreError as exc:
        return _nothing_scored(exc, out_dir, t0, overwrite)
    obs, ids, X, score, emb = res["obs"], res["ids"], res["X"], res["score"], res["embedder"]
    n = len(obs)
    timings = res["timings"]
    t1 = time.perf_counter()
    nb_idx, _ = ordinary_neighbours(X, score, k=max(n_neighbours, 20))
    F = emb.features(obs)
    names = emb.feature_names_
    predicted = None
    ens = res["ensemble"]
    if "openset" in ens.active_:
        predicted = ens.fitted_["openset"].predict(X)
    why, _ = reasons(F, names, nb_idx, res["components"], score, res["labels"], predicted,
                     unit=value_unit(obs), units=emb.feature_units())
    why = [thin_note(q) + w for q, w in zip(res["quality"], why)]
    order = np.argsort(-score, kind="stable")
    rank = np.empty(n, int)
    rank[order] = np.arange(1, n + 1)
    idarr = np.asarray(ids, dtype=object)
    df = pd.DataFrame({
        "object_id": ids, "score": score, "rank": rank, "epistemic": res["epistemic"],
        "aleatoric": res["aleatoric"],
        "neighbours": [";".join(idarr[nb_idx[i, :n_neighbours]]) for i in range(n)],
        "reason": why, "quality": res["quality"],
        # see skyfm.discover.artefact: rules, plus the embedder's own artefact model
        "artefact": artefact_flags(obs, res["quality"], emb.artefact_flags(obs)),
    })
    if res["labels"] is not None:
        df["label"] = [None if is_missing(v) else str(v) for v in res["labels"]]
    for name, p in res["components"].items():
        df[f"score_{name}"] = p
    df = df.iloc[order].reset_index(drop=True)
    df.attrs["skipped"], df.attrs["n_in"] = res["skipped"], res["n_in"]
    timings["explain"] = time.perf_counter() - t1
    if progress:
        progress(1)
    result = DiscoveryRun(df, res["skipped"], {}, None, emb, ens, res["modality"],
                          [str(i) for i in ids])
    if out_dir is None:
        return result
    from skyfm.outputs import (
        Run,
        kill_point,
        run_directory,
        save_npy,
        write_csv,
        write_json,
        write_text,
    )

    kill_point("discover-scored")
    staged = contextlib.nullcontext(out_dir) if isinstance(out_dir, Run) else run_directory(
        out_dir, overwrite=overwrite, kind="discover", recognise=is_discover_output)
    with staged as run:  # built aside, moved into place whole when complete
        out = run.path
        write_csv(out / "candidates.csv", df)
        write_csv(out / "skipped.csv", res["skipped"])
        kill_point("discover-candidates")
        save_npy(out / "embeddings.npy", np.asarray(X, np.float32))
        write_text(out / "object_ids.txt", "".join(f"{i}\n" for i in ids))
        from skyfm.discover.embed import save_embedder
        from skyfm.discover.persist import save_ensemble

        save_embedder(emb, out)  # lets `skyfm index query --file` embed new objects alike
        save_ensemble(ens, out)  # with the embedder: `skyfm discover score` needs no refit
        t1 = time.perf_counter()
        plots = {}
        for i in order[:top]:
            nb = obs[nb_idx[i, 0]] if nb_idx.shape[1] else None
            try:
                resid = emb.residual(obs[i])
            except Exception:  # noqa: BLE001 - a residual is a nicety; never fail the run for it
                resid = None
            path = out / "plots" / f"{safe_filename(ids[i])}.png"
            plots[ids[i]] = plot_candidate(obs[i], nb, path, resid,
                                           title=f"rank {rank[i]}: {why[i][:110]}")
        timings["plots"] = time.perf_counter() - t1
        if progress:
            progress(1)
        t1 = time.perf_counter()
        info = {"n": n, "modality": res["modality"], "encoder": emb.info_.get(
            "encoder", type(emb).__name__), "embedder": emb.describe(),
            "trained_model": bool(emb.uses_trained_model_), "scorers": list(ens.active_),
            "dropped": ens.dropped_, "fusion": fusion, "n_members": n_members,
            "n_noise": n_noise, "seed": seed, "embedding_dim": int(X.shape[1]),
            "transient_features": bool(emb.embeds_transients)}
        info |= counts(res["n_in"], n, res["skipped"])
        if report:
            from skyfm.discover.report import embedding_map, score_histogram, write_report

            mp = embedding_map(X, score, list(order[:top]), ids, res["labels"],
                               method=map_method, seed=seed)
            hp = score_histogram(score, top)
            info["seconds"] = time.perf_counter() - t0
            write_report(out / "report" / "index.html", df, plots=plots, map_png=mp,
                         hist_png=hp, info=info, top=top,
                         observations={ids[i]: obs[i] for i in order[:top]})
        timings["report"] = time.perf_counter() - t1
        timings["total"] = time.perf_counter() - t0
        info["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
        write_json(out / "summary.json", info)
    if progress:
        progress(1)
    result.summary = info
    result.out_dir = Path(getattr(out_dir, "target", out_dir))
    return result


def counts(n_in: int, n_scored: int, skipped: pd.DataFrame) -> dict:
    """``summary.json``'s accounting: objects in = scored + skipped (checked)."""
    check_accounting(n_in, n_scored, len(skipped))
    return {"n_in": n_in, "n_scored": n_scored, "n_skipped": len(skipped),
            "skipped_reasons": {str(r): int(c) for r, c in
                                skipped["reason"].value_counts().items()}}


def _nothing_scored(exc: NothingToScoreError, out_dir, t0: float,
                   overwrite: bool = False) -> DiscoveryRun:
    """Every object was skipped: an empty ``candidates.csv``, ``skipped.csv`` with the
    reasons, and ``summary.json`` with the counts (a whole run, like any other)."""
    from skyfm.outputs import Run, run_directory, write_csv, write_json

    df = pd.DataFrame(columns=CANDIDATE_COLUMNS)
    summary = {}
    if out_dir is not None:
        staged = contextlib.nullcontext(out_dir) if isinstance(out_dir, Run) else run_directory(
            out_dir, overwrite=overwrite, kind="discover", recognise=is_discover_output)
        with staged as run:
            write_csv(run.path / "candidates.csv", df)
            write_csv(run.path / "skipped.csv", exc.skipped)
            summary = {"n": 0, **counts(exc.n_in, 0, exc.skipped),
                       "seconds": round(time.perf_counter() - t0, 3)}
            write_json(run.path / "summary.json", summary)
    df.attrs["skipped"], df.attrs["n_in"] = exc.skipped, exc.n_in
    return DiscoveryRun(df, exc.skipped, summary,
                        None if out_dir is None else Path(getattr(out_dir, "target", out_dir)))

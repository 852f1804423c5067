"""Feedback experiments: a simulated person labels discovery's candidates.

:func:`simulate_feedback_session` replays a labelling session on embeddings with known truth;
:func:`twin_feedback_experiment` runs it on a digital-twin survey (``bench/feedback.py``).
Experiments live here, outside :mod:`skyfm.discover`, so the discovery package imports neither
the simulator nor training code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from skyfm.discover.feedback import FeedbackRanker

__all__ = ["TWIN_BORING_ODD", "TWIN_INTERESTING", "constant_with_bad_points",
           "simulate_feedback_session", "twin_feedback_experiment", "twin_survey"]


def simulate_feedback_session(X, is_interesting, *, prior_score=None, rounds: int = 10,
                              per_round: int = 10, top: int = 100, seed: int = 0,
                              progress: Callable[[int], None] | None = None,
                              **ranker_params) -> dict:
    """A simulated person labels the ``per_round`` best unlabelled objects, ``rounds`` times.

    After every round the ranking is refit with all labels so far. Returns a dict:
    ``before``: share of truly interesting among the first ``top`` of the ranking without
    feedback; ``shown``: share among the first ``top`` objects the person was shown during
    the session (rounds x per_round of them); ``after``: share among the first ``top`` of the
    final re-ranked list (labelled boring ones last); ``after_unseen``: share among the
    first ``top`` objects not yet shown; ``per_round``: the running count found.
    """
    y = np.asarray(is_interesting, dtype=bool)
    ranker = FeedbackRanker(random_seed=seed, **ranker_params).fit(X, prior_score=prior_score)
    before = float(y[ranker.order()[:top]].mean())
    shown: list[int] = []
    found = []
    for _ in range(rounds):
        seen = set(shown)
        batch = [int(i) for i in ranker.order() if int(i) not in seen][:per_round]
        shown += batch
        ranker.update(batch, y[batch])
        found.append(int(y[shown].sum()))
        if progress is not None:
            progress(1)
    seen = set(shown)
    order = ranker.order()
    unseen = [i for i in order if int(i) not in seen][:top]
    return {"before": before, "shown": float(y[shown[:top]].mean()),
            "after": float(y[order[:top]].mean()), "after_unseen": float(y[unseen].mean()),
            "found_per_round": found, "n_interesting": int(y.sum()), "n": len(y),
            "rounds": rounds, "per_round": per_round, "top": top}


# --------------------------------------------------------------------------- the digital twin

TWIN_INTERESTING = ("microlensing", "tde")
TWIN_BORING_ODD = ("flare", "constant_outliers")


def constant_with_bad_points(lcs, rng: np.random.Generator, n_bad=(2, 5), jump=(1.0, 3.0)):
    """Constant stars with a few wildly wrong points (cosmic rays, bad subtraction) [mag]."""
    from skyfm.data.observations import LightCurve

    out = []
    for i, lc in enumerate(lcs):
        v = lc.value.copy()
        k = int(rng.integers(n_bad[0], n_bad[1] + 1))
        idx = rng.choice(len(v), size=min(k, len(v)), replace=False)
        v[idx] += rng.choice([-1.0, 1.0], len(idx)) * rng.uniform(*jump, len(idx))
        out.append(LightCurve(lc.time, v, lc.error, lc.band, upper_limit=lc.upper_limit,
                              kind=lc.kind, flux_unit=lc.flux_unit if lc.kind == "flux" else None,
                              object_id=f"sim-constant-outliers-{i:06d}",
                              label="constant_outliers", provenance=lc.provenance,
                              meta=dict(lc.meta, bad_points=idx.tolist())))
    return out


def twin_survey(n_common: int = 300, n_rare: int = 30, n_odd: int = 60, survey: str = "ztf",
                seed: int = 0) -> list:
    """A simulated survey: every common class of :mod:`skyfm.sim` (``n_common`` each), the rare
    classes (``n_rare`` each) and ``n_odd`` constant stars with bad points; labelled curves."""
    from skyfm.sim import COMMON_CLASSES, RARE_CLASSES, simulate_lightcurves

    rng = np.random.default_rng(seed)
    counts = {c: n_common for c in COMMON_CLASSES}
    counts.update({c: n_rare for c in RARE_CLASSES})
    obs = list(simulate_lightcurves(counts, survey=survey, seed=seed))
    const = simulate_lightcurves(n_odd, classes=["constant"], survey=survey, seed=seed + 1000)
    return obs + constant_with_bad_points(const, rng)


def twin_feedback_experiment(n_common: int = 300, n_rare: int = 30, n_odd: int = 60, *,
                             interesting: Sequence[str] = TWIN_INTERESTING, rounds: int = 10,
                             per_round: int = 10, top: int = 100, seed: int = 0) -> dict:
    """Feedback on the digital twin, reproducibly (fixed seeds).

    Simulates :func:`twin_survey`, embeds and scores it with discovery
    (:func:`skyfm.discover.pipeline.score_observations`, no labels used), then runs
    :func:`simulate_feedback_session` twice: with discovery's score as the prior, and with
    the plain isolation forest (no prior). Objects whose class is in ``interesting`` are the
    ones the simulated person wants. Returns a dict with both sessions' results, the class
    counts in discovery's top ``top`` and run information.
    """
    import time

    from skyfm.discover.pipeline import score_observations

    t0 = time.perf_counter()
    obs = twin_survey(n_common, n_rare, n_odd, seed=seed)
    t_sim = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = score_observations(obs, use_labels=False, n_members=2, n_noise=0, seed=seed)
    t_disc = time.perf_counter() - t0
    X, prior = res["X"], res["score"]
    # the scored objects (curves without a valid point are skipped, see skyfm.discover.quality)
    labels = np.array([str(o.label) for o in res["obs"]])
    y = np.isin(labels, list(interesting))
    out = {"n": len(obs), "n_scored": len(res["obs"]), "n_skipped": len(res["skipped"]),
           "skipped_classes": {str(k): int(v) for k, v in zip(*np.unique(
               [str(o.label) for o in obs if o.object_id in set(res["skipped"]["object_id"])],
               return_counts=True))},
           "n_interesting": int(y.sum()), "dim": int(X.shape[1]),
           "encoder": res["embedder"].info_.get("encoder", "?"),
           "sim_s": t_sim, "discover_s": t_disc, "interesting": tuple(interesting)}
    for name, p in (("discovery prior", prior), ("isolation forest", None)):
        t0 = time.perf_counter()
        r = simulate_feedback_session(X, y, prior_score=p, rounds=rounds, per_round=per_round,
                                      top=top, seed=seed)
        r["seconds"] = time.perf_counter() - t0
        out[name] = r
    first = np.argsort(-prior, kind="stable")[:top]
    names, counts = np.unique(labels[first], return_counts=True)
    out["prior_top_classes"] = {str(k): int(v) for k, v in zip(names, counts)}
    return out

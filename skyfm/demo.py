"""``skyfm demo``: the whole pipeline end to end on a small simulated survey (or on real data).

digital twin (or ``read(data_dir)``) → light-curve X model embeddings → discovery ranking with
uncertainty and explanations → ``OUT/candidates.csv`` and ``OUT/report/index.html``.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["DemoResult", "load_demo_observations", "run_demo"]

ProgressFactory = Callable[[str, int | None], Callable[[int], None]]


@dataclass
class DemoResult:
    out_dir: Path
    n_objects: int
    wall_s: float
    candidates: object  # pandas.DataFrame
    rare_in_top: dict = field(default_factory=dict)  # top-k -> number of rare objects found there
    n_rare: int = 0


def _no_progress(description: str, total: int | None) -> Callable[[int], None]:
    return lambda k=1: None


def load_demo_observations(data_dir: str | Path | None, n_per_class: int, n_rare: int, seed: int,
                           limit: int | None, survey: str, progress: ProgressFactory,
                           labelled_fraction: float = 0.5):
    """Simulated survey (``data_dir=None``) or a real dataset read with :func:`skyfm.data.read`."""
    from skyfm.data import LightCurve, ObservationSet

    if data_dir is None:
        from skyfm import sim

        common = list(sim.COMMON_CLASSES)
        rare = list(sim.RARE_CLASSES)
        counts = {c: n_per_class for c in common}
        # A handful of rare objects, spread over the rare classes.
        for i in range(n_rare):
            counts[rare[i % len(rare)]] = counts.get(rare[i % len(rare)], 0) + 1
        total = sum(counts.values())
        obs = sim.simulate_lightcurves(counts, survey=survey, seed=seed,
                                       progress=progress("simulating survey", total))
        # What a survey knows: labels for part of its common objects, none for the rare ones.
        # The truth stays in meta for scoring the demo.
        rng = np.random.default_rng(seed + 7)
        for o in obs:
            o.meta["true_class"] = str(o.label)
            if o.label in rare or rng.random() > labelled_fraction:
                o.label = None
        return anonymise(obs, seed), set(rare)
    from skyfm.data import read

    obs = read(data_dir)
    lcs = [o for o in obs if isinstance(o, LightCurve)]
    if lcs:
        if limit and len(lcs) > limit:
            rng = np.random.default_rng(seed)
            keep = np.sort(rng.choice(len(lcs), size=limit, replace=False))
            lcs = [lcs[i] for i in keep]
        return ObservationSet(lcs, obs.report), set()
    if limit and len(obs) > limit:
        obs = ObservationSet(list(obs)[:limit], obs.report)
    return obs, set()


def anonymise(observations, seed: int = 0):
    """The simulated objects in a random order, renamed ``obj-0001``, ``obj-0002``, ...

    The simulator names objects after their class (``sim-rrlyrae-000003``) and simulates them
    class by class; a demo whose ids or order gave the class away would hide nothing.
    """
    from skyfm.data import ObservationSet

    items = list(observations)
    perm = np.random.default_rng(seed + 11).permutation(len(items))
    width = max(4, len(str(len(items))))
    out = []
    for k, j in enumerate(perm):
        o = items[j]
        o.object_id = f"obj-{k + 1:0{width}d}"
        out.append(o)
    report = getattr(observations, "report", None)
    return ObservationSet(out, report) if report is not None else out


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _class_examples(observations, per_class: int = 2) -> list[dict]:
    """Example plots of each class the survey *labels* (what "normal" looks like)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skyfm.data import LightCurve
    from skyfm.discover.style import plot_lightcurve

    by_class: dict = {}
    for o in observations:
        if o.label is not None:
            by_class.setdefault(str(o.label), []).append(o)
    out = []
    for label in sorted(by_class):
        for o in by_class[label][:per_class]:
            fig, ax = plt.subplots(figsize=(4.2, 2.6))
            if isinstance(o, LightCurve):
                plot_lightcurve(o, ax, title=f"{label}: {o.object_id}")
            else:
                o.plot(ax=ax)
                ax.set_title(f"{label}: {o.object_id}", fontsize=9)
            out.append({"label": label, "object_id": str(o.object_id), "png": _png(fig)})
    return out


def _hidden(observations, rare_classes, candidates) -> list[dict]:
    """The hidden (unlabelled, rare) objects with their true class and rank, by rank."""
    rank = dict(zip(candidates["object_id"].astype(str), candidates["rank"].astype(int)))
    rows = [{"object_id": str(o.object_id), "true_class": o.meta.get("true_class"),
             "rank": rank.get(str(o.object_id))} for o in observations
            if o.meta.get("true_class") in rare_classes]
    return sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0))


def run_demo(out_dir: str | Path = "demo_out", *, data_dir: str | Path | None = None,
             n_per_class: int = 120, n_rare: int = 12, seed: int = 0, limit: int | None = 3000,
             survey: str = "ztf", progress: ProgressFactory | None = None,
             overwrite: bool = False) -> DemoResult:
    """Run the demo and return where it wrote its outputs and what it found.

    ``out_dir`` must be new or empty (or an earlier demo, with ``overwrite=True``, replaced
    whole); everything is built beside it and moved into place when complete.

    With ``data_dir=None`` it simulates ``n_per_class`` curves of each common class plus
    ``n_rare`` rare objects (microlensing, flares, TDE-like) under the ``survey`` cadence, so
    the demo needs neither network nor shared data; with ``data_dir`` it reads real data.
    """
    from skyfm.data.layout import write_dataset
    from skyfm.discover import discover
    from skyfm.discover.pipeline import is_discover_output
    from skyfm.outputs import check_target, run_directory

    progress = progress or _no_progress
    t0 = time.perf_counter()
    out = Path(out_dir)
    check_target(out, overwrite, is_discover_output, "demo")  # before any work
    observations, rare_classes = load_demo_observations(data_dir, n_per_class, n_rare, seed, limit,
                                                        survey, progress)
    with run_directory(out, overwrite=overwrite, kind="demo",
                       recognise=is_discover_output) as run:  # moved into place when complete
        write_dataset(observations, run / "data")
        candidates = discover(observations, run, report=False,
                              progress=progress("embedding, scoring, explaining", 5)).candidates
        from skyfm.discover.report import report_from_run

        # the demo's view of the report: examples of the labelled classes before the ranking,
        # what was hidden (true classes and their ranks) only after it
        report_from_run(run.path, candidates, observations, template="demo_report.html.j2",
                        title="skyfm demo: discovery report",
                        examples=_class_examples(observations),
                        hidden=_hidden(observations, rare_classes, candidates))
        result = DemoResult(out_dir=out, n_objects=len(observations),
                            wall_s=time.perf_counter() - t0, candidates=candidates)
        _summarise(result, observations, rare_classes, candidates, run / "demo_summary.json",
                   data_dir=data_dir, seed=seed, survey=survey)
    return result


def _summarise(result: DemoResult, observations, rare_classes, candidates, path: Path, *,
               data_dir, seed: int, survey: str) -> None:
    """Count the hidden rare objects among the top candidates; write ``demo_summary.json``."""
    from skyfm.outputs import write_json

    if rare_classes:
        labels = {o.object_id: o.meta.get("true_class") for o in observations}
        ranked = candidates.sort_values("rank")["object_id"].astype(str).tolist()
        is_rare = np.array([labels.get(i) in rare_classes for i in ranked])
        result.n_rare = int(is_rare.sum())
        for k in (10, 25, 50, 100):
            result.rare_in_top[k] = int(is_rare[:k].sum())
    write_json(path, {
        "n_objects": result.n_objects, "wall_s": round(result.wall_s, 2), "n_rare": result.n_rare,
        "rare_in_top": result.rare_in_top, "data_dir": None if data_dir is None else str(data_dir),
        "seed": seed, "survey": survey})

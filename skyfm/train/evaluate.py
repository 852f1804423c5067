"""``skyfm evaluate``: skyfm's classifiers against classical features + boosted trees, side by
side, on any two directories in the generic layout (light curves + labels.csv).

Rows: ``skyfm-hybrid`` (the default classifier: embedding probe x feature trees,
:class:`~skyfm.models.heads.HybridClassifier`), ``skyfm`` (linear probe on the embedding alone),
``skyfm-finetune`` (with ``finetune``) and ``baseline`` (the features' trees alone)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

Progress = Callable[[str, int], Callable[[int], None]] | None


def _subsample(y: np.ndarray, k: int | None, rng: np.random.Generator) -> np.ndarray:
    if k is None:
        return np.arange(y.size)
    out = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        out.extend(rng.choice(idx, size=min(k, idx.size), replace=False))
    return np.sort(np.array(out, int))


def _scores(y_true, y_pred, classes) -> dict:
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    rec = recall_score(y_true, y_pred, labels=classes, average=None, zero_division=0)
    return {"macro_f1": float(f1_score(y_true, y_pred, labels=classes, average="macro",
                                       zero_division=0)),
            "accuracy": float(accuracy_score(y_true, y_pred)),
            "per_class_recall": {str(c): float(r) for c, r in zip(classes, rec)}}


def load_labelled(path, **read_kw) -> list:
    """Light curves with a label from a generic-layout directory (``read_kw``: e.g.
    ``duplicates=`` for :func:`~skyfm.data.layout.load_dataset`)."""
    from skyfm.data.layout import load_dataset
    from skyfm.data.observations import LightCurve
    from skyfm.errors import DataFormatError

    obs = load_dataset(path, **read_kw)
    lcs = [o for o in obs if isinstance(o, LightCurve) and o.label is not None
           and str(o.label) not in ("", "nan")]
    if not lcs:
        raise DataFormatError("no labelled light curves", file=str(path), field="labels.csv",
                              expected="a label per object_id for light curves")
    return lcs


def _usable(lcs: Sequence) -> tuple[list, list[dict], int]:
    """(curves that can be embedded, ``[{object_id, reason}]`` of those that cannot — no
    valid point —, number of thin curves among the kept ones): the rules of
    :mod:`skyfm.discover.quality`; every curve is kept or listed, none is lost."""
    from skyfm.discover.quality import THIN_FLAGS, check_accounting, triage

    lcs = list(lcs)
    tri = triage(lcs, "lightcurve")
    kept = [o for o, k in zip(lcs, tri.keep) if k]
    skipped = [{"object_id": str(o.object_id), "reason": r}
               for o, k, r in zip(lcs, tri.keep, tri.reason) if not k]
    check_accounting(len(lcs), len(kept), len(skipped))
    return kept, skipped, int(np.isin(tri.kept_quality(), THIN_FLAGS).sum())


def parse_settings(text: str) -> list[int | str]:
    out: list[int | str] = []
    for part in str(text).split(","):
        part = part.strip().lower()
        if part:
            out.append("all" if part == "all" else int(part))
    return out


def evaluate(train: Sequence, test: Sequence, labels_per_class: Sequence = (20, 100, "all"),
             n_draws: int = 3, encoder="skyfm-lc-base", seed: int = 0,
             progress: Progress = None, finetune: bool = False,
             finetune_epochs: int = 15, finetune_members: int = 4,
             prior_shift: bool = False, hybrid_cv: bool = False) -> dict:
    """Train both methods on labelled subsets of ``train`` and score on ``test``.

    Every method predicts under the class mix of its labelled subset (k per class: uniform;
    ``all``: the train set's). ``prior_shift``: every method (skyfm heads and the baseline
    alike) also sees the train curves left out of the labelled subset, *without their
    labels*, and estimates the survey's class mix from them by EM
    (:func:`skyfm.models.prior.estimate_prior`); the test curves are never used for this.
    Off by default: on EROS with 20 labels per class it raised the mean macro-F1 on a
    validation split but lowered it on the test split (an EM estimate from 80 labels can
    starve a small class).

    ``finetune`` adds rows ``skyfm-finetune``: the encoder and a linear head trained end to end
    (:class:`~skyfm.models.heads.FineTuneClassifier`, an ensemble of ``finetune_members`` fits
    with their own seeds) on the same labelled subsets; with it,
    the ``all`` setting also runs ``n_draws`` times (same labels, other seeds), so the
    seed-to-seed spread of the fine-tuning and the boosted trees is in ``macro_f1_std``.
    ``hybrid_cv`` adds rows ``skyfm-hybrid-cv``: the hybrid with its weight chosen by 3-fold
    cross-validated macro-F1 on each labelled subset
    (:func:`~skyfm.models.heads.choose_hybrid_weight`; three more fits of each expert).
    ``progress(description, total)`` returns an ``advance(k)`` callback (optional).

    Curves without a valid point are left out of both sets and listed in ``skipped``
    (``object_id, reason``); ``n_in`` = ``n_train``/``n_test`` + skipped, and ``n_thin``
    counts the kept curves with fewer than 5 points in every band."""
    from skyfm.features.lightcurves import (
        GradientBoostedBaseline,
        choose_bands,
        lightcurve_features,
    )
    from skyfm.models.base import Encoder
    from skyfm.models.heads import (
        FineTuneClassifier,
        HybridClassifier,
        LinearProbe,
        choose_hybrid_weight,
    )
    from skyfm.models.registry import load_encoder

    def bar(desc, total):
        return progress(desc, total) if progress else None

    train, skipped_train, thin_train = _usable(train)
    test, skipped_test, thin_test = _usable(test)
    enc = encoder if isinstance(encoder, Encoder) else load_encoder("lightcurve", encoder)
    ytr = np.array([str(o.label) for o in train])
    yte = np.array([str(o.label) for o in test])
    classes = sorted(set(ytr) | set(yte))
    Ptr = enc.prepare(train, progress=bar("skyfm: tokenising train", len(train)))
    Pte = enc.prepare(test, progress=bar("skyfm: tokenising test", len(test)))
    Ztr = enc.embed(Ptr, progress=bar("skyfm: embedding train", len(train)))
    Zte = enc.embed(Pte, progress=bar("skyfm: embedding test", len(test)))
    bands = choose_bands(train)
    Ftr = lightcurve_features(train, progress=bar("baseline: features train", len(train)),
                              bands=bands)
    Fte = lightcurve_features(test, progress=bar("baseline: features test", len(test)),
                              bands=bands)
    rows = []
    settings = [("all" if s in ("all", None) else int(s)) for s in labels_per_class]
    n_methods = 3 + int(finetune) + int(hybrid_cv)
    # with all labels every draw has the same labelled set; the seeds of the stochastic
    # methods (boosted trees, fine-tuning) still differ, so their spread is measured too
    n_runs = {s: n_draws if (s != "all" or finetune) else 1 for s in settings}
    fits = bar("training heads", sum(n_runs.values()) * n_methods)
    for s in settings:
        draws = n_runs[s]
        res: dict[str, list] = {"skyfm-hybrid": [], "skyfm": [], "baseline": []}
        if hybrid_cv:
            res = {"skyfm-hybrid-cv": [], **res}
        weights: list[float] = []
        if finetune:
            res["skyfm-finetune"] = []
        for d in range(draws):
            idx = _subsample(ytr, None if s == "all" else s, np.random.default_rng(seed + d))
            pool = np.setdiff1d(np.arange(ytr.size), idx) if prior_shift else idx[:0]
            probe = LinearProbe(enc).fit_embeddings(Ztr[idx], ytr[idx], Ztr[pool])
            pred = probe.classes_[probe.predict_proba_embeddings(Zte).argmax(1)]
            res["skyfm"].append(_scores(yte, pred, classes))
            gbt = GradientBoostedBaseline(bands=bands, random_state=seed + d)
            gbt.fit_features(Ftr[idx], ytr[idx], Ftr[pool])
            pred = gbt.classes_[gbt.predict_proba_features(Fte).argmax(1)]
            res["baseline"].append(_scores(yte, pred, classes))
            hyb = HybridClassifier.from_experts(probe, gbt)  # the two rows' own fits
            pred = hyb.classes_[hyb.predict_proba_parts(Zte, Fte).argmax(1)]
            res["skyfm-hybrid"].append(_scores(yte, pred, classes))
            if hybrid_cv:
                w, _ = choose_hybrid_weight(Ztr[idx], Ftr[idx], ytr[idx], bands=bands,
                                            random_state=seed + d)
                weights.append(w)
                hyb = HybridClassifier.from_experts(probe, gbt, weight=w)
                pred = hyb.classes_[hyb.predict_proba_parts(Zte, Fte).argmax(1)]
                res["skyfm-hybrid-cv"].append(_scores(yte, pred, classes))
            if finetune:
                ft = FineTuneClassifier(enc, epochs=finetune_epochs, seed=seed + d,
                                        n_members=finetune_members)
                ft.fit([Ptr[i] for i in idx], ytr[idx], unlabelled=[Ptr[i] for i in pool])
                res["skyfm-finetune"].append(_scores(yte, ft.predict(Pte), classes))
            if fits:
                fits(n_methods)
        for method, runs in res.items():
            f1 = [r["macro_f1"] for r in runs]
            rows.append({
                "method": method, "labels_per_class": s,
                "macro_f1": float(np.mean(f1)), "macro_f1_std": float(np.std(f1)),
                "accuracy": float(np.mean([r["accuracy"] for r in runs])),
                "per_class_recall": {c: float(np.mean([r["per_class_recall"][c] for r in runs]))
                                     for c in map(str, classes)},
                "n_draws": draws,
            } | ({"weights": weights} if method == "skyfm-hybrid-cv" else {}))
    n_in = {"train": len(train) + len(skipped_train), "test": len(test) + len(skipped_test)}
    return {"rows": rows, "n_train": len(train), "n_test": len(test), "classes": classes,
            "n_in": n_in, "skipped": {"train": skipped_train, "test": skipped_test},
            "n_thin": {"train": thin_train, "test": thin_test},
            "encoder": str(encoder) if isinstance(encoder, (str, Path)) else "custom",
            "skyfm_head": "logistic regression (C=0.1) on frozen embeddings",
            "skyfm_hybrid_head": "geometric mean (weight 0.5) of the skyfm probe's and the "
                                 "baseline's probabilities",
            "skyfm_hybrid_cv_head": ("the same with the weight (0, 0.25, .., 1) of highest "
                                     "3-fold cross-validated macro-F1 on the labelled subset")
            if hybrid_cv else None,
            "skyfm_finetune_head": (f"mean of {finetune_members} fits of encoder + linear head "
                                    f"trained end to end ({finetune_epochs} epochs, "
                                    "class-weighted)") if finetune else None,
            "baseline": "light-curve features + HistGradientBoosting (balanced)",
            "prior_shift": ("class prior estimated by EM from the train curves outside each "
                            "labelled subset (labels unused), for every method")
            if prior_shift else None}


def rich_table(result: dict):
    from rich.table import Table

    title = f"skyfm evaluate (train {result['n_train']}, test {result['n_test']})"
    if "skipped" in result:
        sk, thin = result["skipped"], result["n_thin"]
        title = (f"skyfm evaluate: train {result['n_in']['train']} in = {result['n_train']} "
                 f"used ({thin['train']} thin) + {len(sk['train'])} skipped; test "
                 f"{result['n_in']['test']} in = {result['n_test']} scored ({thin['test']} "
                 f"thin) + {len(sk['test'])} skipped")
    t = Table(title=title)
    for col in ("labels/class", "method", "macro-F1", "± std", "accuracy"):
        t.add_column(col, justify="right")
    for r in result["rows"]:
        t.add_row(str(r["labels_per_class"]), r["method"], f"{r['macro_f1']:.3f}",
                  f"{r['macro_f1_std']:.3f}", f"{r['accuracy']:.3f}")
    return t

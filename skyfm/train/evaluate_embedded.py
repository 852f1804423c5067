"""``skyfm evaluate`` for the modalities other than light curves (catalogue rows, spectra,
images): skyfm on the registry's embedding beside boosted trees on the embedder's
interpretable features, in the same JSON shape as the light-curve evaluation.

The modality comes from :func:`skyfm.models.registry.modality_of`; its default embedder is
fitted on the train objects (no labels) and gives both inputs: ``transform`` (the embedding:
skyfm's rows) and ``features`` (named, physical quantities: the baseline's rows).

* class labels -> classification rows (``macro_f1``, ``accuracy``, ``per_class_recall``):
  skyfm = :class:`~skyfm.models.catalog.CatalogClassifier` (trees + MLP ensemble) on the
  embedding, baseline = boosted trees on the features;
* numeric labels -> regression rows (``mae``, ``rmse``, ``sigma_nmad``, ``outlier_fraction``,
  ``coverage_68``, ``coverage_95``): skyfm = :class:`~skyfm.models.catalog.PhotoZRegressor`
  (heteroscedastic MLP ensemble, conformal sigma) on the embedding, baseline = quantile
  boosted trees on the features. With ``redshift`` sigma_NMAD and the outliers are of
  d / (1 + label) (the photo-z convention).

Images with ``finetune`` (a classification) add two CNN rows trained on the same labelled
subsets with the same augmentations (:func:`skyfm.train.images.train_classifier`):
``skyfm-finetune`` (the pretrained image encoder fine-tuned end to end) and ``scratch-cnn``
(the same architecture from random weights: the from-scratch baseline). ``mirror`` says what a
mirror flip does to the labels (``None``: no flips; see :func:`parse_mirror`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skyfm.errors import DataFormatError

__all__ = ["evaluate_embedded", "is_numeric", "load_observations", "parse_mirror",
           "rich_table_regression"]


def load_observations(path, **read_kw) -> list:
    """The labelled objects of a generic-layout directory (catalogues expanded into rows)."""
    from skyfm.data.layout import load_dataset
    from skyfm.data.tablerow import expand_catalogs

    obs = expand_catalogs(list(load_dataset(path, **read_kw)))
    out = [o for o in obs if o.label is not None and str(o.label) not in ("", "nan")]
    if not out:
        raise DataFormatError("no labelled objects", file=str(path), field="labels.csv",
                              expected="a label per object_id")
    return out


def is_numeric(labels: Sequence) -> bool:
    """True when every label is a number (not a bool): the task is then a regression."""
    return all(isinstance(v, (int, float, np.integer, np.floating))
               and not isinstance(v, (bool, np.bool_)) for v in labels)


def parse_mirror(text: str | None, classes: Sequence[str]) -> dict | None:
    """What a mirror flip does to the labels, from ``--mirror``: ``none`` (no flips: the
    labels may depend on handedness), ``same`` (no label changes under a mirror) or
    comma-separated ``A:B`` pairs swapped by a mirror (e.g.
    ``clockwise_spiral:anticlockwise_spiral``), every other label unchanged."""
    if text is None or str(text).strip().lower() in ("", "none"):
        return None
    out = {c: c for c in classes}
    if str(text).strip().lower() == "same":
        return out
    for pair in str(text).split(","):
        a, sep, b = (x.strip() for x in pair.partition(":"))
        if not sep or a not in out or b not in out:
            raise DataFormatError(f"mirror pair {pair.strip()!r}", field="--mirror",
                                  expected=f"none, same or A:B pairs of the labels "
                                           f"{', '.join(classes)}")
        out[a], out[b] = b, a
    return out


def _subset(n: int, k, y, classification: bool, rng) -> np.ndarray:
    if k == "all":
        return np.arange(n)
    if classification:
        out = []
        for c in np.unique(y):
            idx = np.flatnonzero(y == c)
            out.extend(rng.choice(idx, size=min(int(k), idx.size), replace=False))
        return np.sort(np.array(out, int))
    return np.sort(rng.choice(n, size=min(int(k), n), replace=False))


def evaluate_embedded(train: Sequence, test: Sequence, labels: Sequence = (20, 100, "all"),
                      n_draws: int = 3, seed: int = 0, task: str = "auto",
                      redshift: bool = False, n_members: int = 5, finetune: bool = False,
                      mirror: str | None = None, encoder: str | None = None,
                      finetune_epochs: int = 15, finetune_min_steps: int = 150,
                      embedder: str | None = None) -> dict:
    """Both methods on labelled subsets of ``train`` (``labels``: per class for a
    classification, objects for a regression; ``"all"``), scored on ``test``. Images with
    ``finetune``: also the fine-tuned encoder (``encoder``: a name or directory, else the
    modality's shipped default) and the same CNN trained from scratch. ``embedder``: another
    embedder of the modality (a registered name such as ``"skyfm-img-base"`` or
    ``"module:Class"``) instead of the registered default."""
    from skyfm.models import registry
    from skyfm.models.catalog import (
        CatalogClassifier,
        PhotoZRegressor,
        QuantileTreesRegressor,
        trees_classifier,
    )
    from skyfm.train.evaluate import _scores
    from skyfm.train.metrics import regression_scores

    modality = registry.modality_of(list(train) + list(test))
    ytr_raw = [o.label for o in train]
    yte_raw = [o.label for o in test]
    if task not in ("auto", "classification", "regression"):
        raise ValueError(f"task must be auto, classification or regression, not {task!r}")
    if task == "auto":
        task = "regression" if is_numeric(ytr_raw + yte_raw) else "classification"
    if task == "regression" and not is_numeric(ytr_raw + yte_raw):
        bad = next(v for v in ytr_raw + yte_raw if not is_numeric([v]))
        raise DataFormatError(f"label {bad!r} is not a number", field="labels.csv",
                              expected="numeric labels for a regression")
    emb = registry.make_embedder(modality, embedder).fit(list(train))
    Ztr, Zte = emb.transform(list(train)), emb.transform(list(test))
    Ftr, Fte = emb.features(list(train)), emb.features(list(test))
    classification = task == "classification"
    ytr = np.array([str(v) for v in ytr_raw]) if classification else np.array(ytr_raw, float)
    yte = np.array([str(v) for v in yte_raw]) if classification else np.array(yte_raw, float)
    classes = sorted(map(str, set(ytr))) if classification else None
    cnn = None
    if finetune:
        if modality != "image" or not classification:
            raise ValueError("finetune here is for image classification (light curves have "
                             "their own)")
        cnn = _CnnSides(registry, list(train), list(test), encoder, finetune_epochs,
                        finetune_min_steps, parse_mirror(mirror, classes))
    rows = []
    for k in labels:
        draws = 1 if k == "all" else n_draws
        res: dict[str, list] = {"skyfm": [], "baseline": []}
        if cnn is not None:
            res |= {"skyfm-finetune": [], "scratch-cnn": []}
        for d in range(draws):
            idx = _subset(len(ytr), k, ytr, classification, np.random.default_rng(seed + d))
            if classification:
                sky = CatalogClassifier(n_members=n_members, random_state=seed + d)
                res["skyfm"].append(_scores(yte, sky.fit(Ztr[idx], ytr[idx]).predict(Zte),
                                            classes))
                base = trees_classifier(seed + d).fit(Ftr[idx], ytr[idx])
                res["baseline"].append(_scores(yte, base.predict(Fte), classes))
                if cnn is not None:
                    for name, pred in cnn.predict(idx, ytr[idx], seed + d).items():
                        res[name].append(_scores(yte, pred, classes))
                continue
            for name, m, A, B in (
                    ("skyfm", PhotoZRegressor(n_members=n_members, random_state=seed + d),
                     Ztr, Zte),
                    ("baseline", QuantileTreesRegressor(seed + d), Ftr, Fte)):
                m.fit(A[idx], ytr[idx])
                res[name].append(regression_scores(
                    yte, m.predict(B), m.predict_interval(B, 0.3173),
                    m.predict_interval(B, 0.05), redshift=redshift))
        for method, runs in res.items():
            row = {"method": method, "labels_per_class": k, "n_draws": draws}
            if classification:
                f1 = [r["macro_f1"] for r in runs]
                row |= {"macro_f1": float(np.mean(f1)), "macro_f1_std": float(np.std(f1)),
                        "accuracy": float(np.mean([r["accuracy"] for r in runs])),
                        "per_class_recall": {c: float(np.mean([r["per_class_recall"][c]
                                                               for r in runs]))
                                             for c in classes}}
            else:
                for key in ("mae", "rmse", "sigma_nmad", "outlier_fraction", "coverage_68",
                            "coverage_95"):
                    row[key] = float(np.mean([r[key] for r in runs]))
                row["mae_std"] = float(np.std([r["mae"] for r in runs]))
            rows.append(row)
    return {"rows": rows, "n_train": len(train), "n_test": len(test), "modality": modality,
            "task": task, "classes": classes, "redshift": redshift,
            "embedder": emb.describe(),
            "skyfm_head": ("boosted trees + MLP deep ensemble on the embedding"
                           if classification else
                           "heteroscedastic MLP deep ensemble on the embedding, sigma "
                           "calibrated by split conformal prediction"),
            "baseline": ("boosted trees on the embedder's features" if classification else
                         "boosted trees (quantile loss for the intervals) on the embedder's "
                         "features"),
            "labels_meaning": "per class" if classification else "labelled objects"} | (
        {} if cnn is None else {"cnn": cnn.describe()})


class _CnnSides:
    """The two CNN rows of an image evaluation: the pretrained encoder fine-tuned, and the
    same architecture trained from random weights, on the same subsets and augmentations."""

    def __init__(self, registry, train, test, encoder, epochs, min_steps, mirror):
        import torch

        from skyfm.models.image_encoder import prepare_stamps
        from skyfm.train.images import SupervisedConfig

        cls = registry.get_modality("image").encoder_class()
        self.encoder = cls.from_pretrained(encoder) if encoder else cls.from_pretrained()
        self.S_tr = prepare_stamps(train, self.encoder.config)
        self.S_te = prepare_stamps(test, self.encoder.config)
        # torch's thread count (OMP_NUM_THREADS or the cores) as it is when evaluation starts
        self.cfg = SupervisedConfig(epochs=epochs, min_steps=min_steps,
                                    threads=torch.get_num_threads())
        self.mirror = mirror

    def predict(self, idx, y, seed) -> dict:
        from dataclasses import replace

        from skyfm.train.images import train_classifier

        out = {}
        for name, init, lr in (("skyfm-finetune", self.encoder, 0.3), ("scratch-cnn", None, 1.0)):
            clf = train_classifier(self.S_tr[idx], y, init=init, model=self.encoder.config,
                                   cfg=replace(self.cfg, backbone_lr=lr), mirror=self.mirror,
                                   seed=seed)
            out[name] = clf.predict(self.S_te)
        return out

    def describe(self) -> dict:
        from dataclasses import asdict

        return {"architecture": "skyfm-img residual CNN + linear head",
                "params": int(sum(p.numel() for p in self.encoder.net.parameters())),
                "supervised": asdict(self.cfg), "finetune_backbone_lr": 0.3,
                "mirror": self.mirror or "no flips"}


def rich_table_regression(result: dict):
    from rich.table import Table

    t = Table(title=f"skyfm evaluate ({result['modality']}, regression; train "
                    f"{result['n_train']}, test {result['n_test']})")
    cols = ("labels", "method", "MAE", "RMSE", "sigma_NMAD", "outliers", "cov68", "cov95")
    for c in cols:
        t.add_column(c, justify="right")
    for r in result["rows"]:
        t.add_row(str(r["labels_per_class"]), r["method"],
                  *(f"{r[k]:.4f}" for k in ("mae", "rmse", "sigma_nmad", "outlier_fraction",
                                            "coverage_68", "coverage_95")))
    return t

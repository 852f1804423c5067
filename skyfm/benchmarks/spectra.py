"""Real labelled spectra: SpeX prism spectral types (M/L/T class and numeric subtype).

The SPLAT library's ``SPEX_TYPE`` strings are parsed by :func:`parse_spex_type` (M0 = 0 …
L0 = 10 … T9 = 29; a trailing ``:`` — an uncertain type — is kept as the type; subdwarfs,
``G`` and other strings are left out and counted). Spectra of one source share its
``SOURCE_KEY``: the folds are grouped by source, so no star is both trained and tested on.

Each method is scored in the same folds: the classical baseline (PCA of the gridded,
median-normalised spectrum + gradient-boosted trees) and skyfm (the pretrained encoder's
embedding + a head). "20 labels" draws 20 training spectra from the training folds (seeded,
``repeats`` draws per fold), "all" uses every training spectrum.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["CLASSES", "EMBEDDERS", "SpexLabels", "embedder_openset", "finetune_method",
           "label_noise_floor", "label_scatter_by_subtype", "pairwise_label_noise",
           "parse_spex_type", "spex_labels", "spex_type_benchmark"]

CLASSES = ("M", "L", "T")
_TYPE = re.compile(r"^([MLT])(\d(?:\.\d+)?):?$")


def parse_spex_type(text) -> tuple[str, float] | None:
    """(class, numeric subtype M0 = 0 … L0 = 10 … T9 = 29) of a SpeX type such as ``L5.0`` or
    ``M8.0:``; ``None`` for anything else (``sdM…``, ``G``, empty)."""
    m = _TYPE.match(str(text).strip())
    if m is None:
        return None
    cls, sub = m.group(1), float(m.group(2))
    return cls, 10.0 * CLASSES.index(cls) + sub


@dataclass
class SpexLabels:
    index: np.ndarray      # positions in the spectra list
    cls: np.ndarray        # 'M' / 'L' / 'T'
    subtype: np.ndarray    # float
    groups: np.ndarray     # SOURCE_KEY (or object id)
    skipped: Counter       # label text -> count of spectra left out


def spex_labels(specs: Sequence) -> SpexLabels:
    """The parseable spectral types of SpeX spectra (``label`` = ``SPEX_TYPE``)."""
    idx, cls, sub, grp = [], [], [], []
    skipped: Counter = Counter()
    for i, s in enumerate(specs):
        p = parse_spex_type(s.label) if s.label is not None else None
        if p is None:
            skipped[str(s.label)] += 1
            continue
        idx.append(i)
        cls.append(p[0])
        sub.append(p[1])
        grp.append(str((s.meta or {}).get("SOURCE_KEY", s.object_id)))
    return SpexLabels(np.array(idx, int), np.array(cls), np.array(sub, float), np.array(grp),
                      skipped)


def _folds(groups: np.ndarray, n_folds: int, seed: int):
    from sklearn.model_selection import GroupKFold

    rng = np.random.default_rng(seed)
    uniq = np.unique(groups)
    perm = dict(zip(uniq, rng.permutation(uniq.size)))
    g = np.array([perm[v] for v in groups])  # shuffled group ids -> seeded, balanced folds
    return list(GroupKFold(n_folds).split(np.zeros(len(groups)), groups=g))


def _metrics(y_sub, p_sub, y_cls, p_cls) -> dict:
    from sklearn.metrics import f1_score

    return {"subtype_mae": float(np.mean(np.abs(y_sub - p_sub))),
            "class_macro_f1": float(f1_score(y_cls, p_cls, labels=list(CLASSES),
                                             average="macro", zero_division=0))}


#: a method: (train X, train subtype, train class, test X) -> (pred subtype, pred class)
Method = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def pca_trees(n_components: int = 20, seed: int = 0) -> Method:
    """The classical baseline: PCA of the gridded spectrum + gradient-boosted trees."""
    def run(X, ys, yc, Xt):
        from sklearn.decomposition import PCA

        k = min(n_components, len(X) - 1)
        pca = PCA(k, random_state=seed).fit(X)
        Z, Zt = pca.transform(X), pca.transform(Xt)
        return _trees(Z, ys, yc, Zt, seed)
    return run


def _trees(Z, ys, yc, Zt, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    small = len(Z) < 100
    kw = {"random_state": seed, "min_samples_leaf": 3 if small else 20}
    reg = HistGradientBoostingRegressor(**kw).fit(Z, ys)
    if len(np.unique(yc)) < 2:
        pc = np.full(len(Zt), yc[0])
    else:
        pc = HistGradientBoostingClassifier(**kw).fit(Z, yc).predict(Zt)
    return reg.predict(Zt), pc


def hybrid_trees(n_first: int, n_components: int = 20, seed: int = 0) -> Method:
    """Gradient-boosted trees on [the first ``n_first`` columns (an embedding) | PCA of the
    remaining columns (the gridded spectrum)], the PCA fitted on the training rows."""
    def run(X, ys, yc, Xt):
        from sklearn.decomposition import PCA

        k = min(n_components, len(X) - 1)
        pca = PCA(k, random_state=seed).fit(X[:, n_first:])
        Z = np.hstack([X[:, :n_first], pca.transform(X[:, n_first:])])
        Zt = np.hstack([Xt[:, :n_first], pca.transform(Xt[:, n_first:])])
        return _trees(Z, ys, yc, Zt, seed)
    return run


def trees(seed: int = 0) -> Method:
    """Gradient-boosted trees on the given vectors."""
    return lambda X, ys, yc, Xt: _trees(X, ys, yc, Xt, seed)


def ridge() -> Method:
    """Standardised vectors -> ridge regression (subtype) and logistic regression (class),
    regularisation chosen by internal cross-validation."""
    def run(X, ys, yc, Xt):
        from sklearn.linear_model import LogisticRegression, RidgeCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        reg = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
        p = reg.fit(X, ys).predict(Xt)
        if len(np.unique(yc)) < 2:
            return p, np.full(len(Xt), yc[0])
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        return p, clf.fit(X, yc).predict(Xt)
    return run


def spex_type_benchmark(vectors: dict[str, tuple[np.ndarray, Method]], labels: SpexLabels,
                        n_labels: Sequence[int | None] = (20, None), n_folds: int = 5,
                        repeats: int = 5, seed: int = 0,
                        predictions: dict | None = None) -> list[dict]:
    """One row per (method, label budget): subtype MAE and class macro-F1 over the grouped
    folds (``vectors[name] = (X for labels.index rows, method)``); with a budget, the mean
    over ``repeats`` seeded draws of that many training spectra per fold. ``predictions``: a
    dict filled with each method's out-of-fold subtype per spectrum (all labels)."""
    folds = _folds(labels.groups, n_folds, seed)
    rows = []
    for budget in n_labels:
        for name, (X, method) in vectors.items():
            scores = []
            for k, (tr, te) in enumerate(folds):
                draws = [tr] if budget is None else [
                    np.random.default_rng([seed, k, r]).choice(tr, size=budget, replace=False)
                    for r in range(repeats)]
                for d in draws:
                    ps, pc = method(X[d], labels.subtype[d], labels.cls[d], X[te])
                    scores.append((te, ps, pc))
            if budget is None:  # every spectrum predicted once: pooled metrics
                te = np.concatenate([s[0] for s in scores])
                if predictions is not None:
                    pred = np.full(len(labels.index), np.nan)
                    pred[te] = np.concatenate([s[1] for s in scores])
                    predictions[name] = pred
                m = _metrics(labels.subtype[te], np.concatenate([s[1] for s in scores]),
                             labels.cls[te], np.concatenate([s[2] for s in scores]))
            else:
                ms = [_metrics(labels.subtype[t], ps, labels.cls[t], pc) for t, ps, pc in scores]
                m = {key: float(np.mean([x[key] for x in ms])) for key in ms[0]}
            rows.append({"method": name, "labels": "all" if budget is None else budget,
                         "n_spectra": len(labels.index), **m})
    return rows


#: the spectrum embedders compared for the ``spectrum`` modality's default
EMBEDDERS = {"PCA baseline": "skyfm.models.spectrum:SpectrumPCABaseline",
             "skyfm-spec-base encoder": "skyfm.models.spectrum_embedder:SpectrumEncoderEmbedder",
             "encoder + PCA (hybrid)": "skyfm.models.spectrum_embedder:SpectrumHybridEmbedder"}


def embedder_openset(specs: Sequence, labels: SpexLabels, embedder_cls, anomaly: str = "T",
                     seed: int = 0, scorers: Sequence[str] = ("knn", "iforest")) -> dict:
    """Open set on SpeX, as discovery runs it: the embedder and the scorers are fitted on half
    of the sources without an ``anomaly``-class spectrum, and score the other half plus every
    ``anomaly`` spectrum (sources never split). AUROC and the share of the ``anomaly`` spectra
    and the average precision, for the fused score and each scorer alone."""
    from sklearn.metrics import average_precision_score

    from skyfm.benchmarks.discovery import _auroc
    from skyfm.discover.ensemble import ScoreEnsemble

    rng = np.random.default_rng(seed)
    is_anom = labels.cls == anomaly
    normal_src = np.unique(labels.groups[~is_anom & ~np.isin(labels.groups,
                                                             labels.groups[is_anom])])
    ref_src = set(rng.permutation(normal_src)[: normal_src.size // 2])
    in_ref = np.array([g in ref_src for g in labels.groups])
    test = ~in_ref & (is_anom | ~np.isin(labels.groups, labels.groups[is_anom]))
    ref_obs = [specs[i] for i in labels.index[in_ref]]
    test_obs = [specs[i] for i in labels.index[test]]
    emb = embedder_cls()
    Xr = emb.fit_transform(ref_obs)
    Xt = emb.transform(test_obs)
    ens = ScoreEnsemble(scorers, weights=emb.default_weights, n_members=0,
                        random_state=seed).fit(Xr, labels.cls[in_ref].astype(object))
    comp, fused = ens.score(Xt)
    y = is_anom[test]
    out = {"n_ref": int(in_ref.sum()), "n_test": int(test.sum()), "n_anomaly": int(y.sum())}
    for name, sc in {"fused": fused, **comp}.items():
        out[f"{name}_auroc"] = _auroc(np.asarray(sc, float), y)
        out[f"{name}_avg_precision"] = float(average_precision_score(y, np.asarray(sc, float)))
    return out


def _source_medians(labels: SpexLabels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per spectrum: its source's median subtype, its source's spectrum count, and whether the
    source's spectra carry different subtypes."""
    import pandas as pd

    df = pd.DataFrame({"g": labels.groups, "y": labels.subtype})
    grp = df.groupby("g")["y"]
    return (grp.transform("median").to_numpy(), grp.transform("size").to_numpy(),
            (grp.transform("max") > grp.transform("min")).to_numpy())


def label_noise_floor(labels: SpexLabels, predictions: dict[str, np.ndarray]) -> list[dict]:
    """The subtype MAE floor that disagreeing labels set, beside each method's MAE, on all
    spectra and on three groups: sources with one spectrum, multi-spectrum sources whose
    labels agree, and those whose labels disagree. The floor is the MAE of a perfect per-source
    predictor: one star has one type, so the best a model that knows the star exactly can say
    for all its spectra is the median of their labels (the predictor minimising the MAE)."""
    med, size, disagree = _source_medians(labels)
    floor = np.abs(labels.subtype - med)
    groups = {"all spectra": np.ones(len(med), bool), "one-spectrum sources": size == 1,
              "multi-spectrum, labels agree": (size > 1) & ~disagree,
              "multi-spectrum, labels disagree": disagree}
    rows = []
    for name, m in groups.items():
        row = {"spectra": name, "n_spectra": int(m.sum()),
               "n_sources": int(np.unique(labels.groups[m]).size),
               "floor_mae (perfect per-source)": float(floor[m].mean()) if m.any() else np.nan}
        for method, p in predictions.items():
            row[f"{method} mae"] = float(np.nanmean(np.abs(p[m] - labels.subtype[m])))
        rows.append(row)
    return rows


def label_scatter_by_subtype(labels: SpexLabels,
                             bins=((0, 5), (5, 10), (10, 15), (15, 20), (20, 25), (25, 30))
                             ) -> list[dict]:
    """Inter-spectrum label scatter of multi-spectrum sources by their median subtype: the
    share of sources whose spectra disagree, the mean |label - source median| and the mean
    within-source range of the labels."""
    import pandas as pd

    df = pd.DataFrame({"g": labels.groups, "y": labels.subtype})
    src = df.groupby("g")["y"].agg(["median", "size", "min", "max"])
    src = src[src["size"] > 1]
    dev = (df["y"] - df.groupby("g")["y"].transform("median")).abs()
    df["dev"] = dev.to_numpy()
    rows = []
    names = "MLT"
    for lo, hi in bins:
        s = src[(src["median"] >= lo) & (src["median"] < hi)]
        spec = df[df["g"].isin(s.index)]
        rows.append({"subtype": f"{names[lo // 10]}{lo % 10}-{names[lo // 10]}{(hi - 1) % 10}",
                     "n_sources": len(s), "n_spectra": len(spec),
                     "share_disagree": float((s["max"] > s["min"]).mean()) if len(s) else np.nan,
                     "mean |label - source median|": float(spec["dev"].mean()) if len(spec)
                     else np.nan,
                     "mean label range": float((s["max"] - s["min"]).mean()) if len(s)
                     else np.nan})
    return rows


def pairwise_label_noise(labels: SpexLabels) -> dict:
    """The label noise one spectrum's type carries, estimated from the pairs of spectra of one
    source: mean |y_1 - y_2| over the pairs, and E|eps| = that / sqrt(2) -- the MAE even a
    predictor of the true type would score on a single label if the labels of a source's
    spectra were independent, Gaussian-noisy draws (a lower bound when they are not
    independent, e.g. copied from one paper)."""
    from itertools import combinations

    by: dict = {}
    for g, y in zip(labels.groups, labels.subtype):
        by.setdefault(g, []).append(y)
    d = np.array([abs(a - b) for ys in by.values() for a, b in combinations(ys, 2)])
    return {"n_pairs": int(d.size), "n_sources": int(sum(len(v) > 1 for v in by.values())),
            "mean |y1 - y2|": float(d.mean()) if d.size else np.nan,
            "share of pairs disagreeing": float(np.mean(d > 0)) if d.size else np.nan,
            "E|eps| per label (= mean / sqrt 2)": float(d.mean() / np.sqrt(2)) if d.size
            else np.nan}


def finetune_method(specs: Sequence, encoder: str = "skyfm-spec-base", epochs: int = 12,
                    lr: float = 1e-3, batch_size: int = 64, seed: int = 0,
                    threads: int = 1) -> Method:
    """A :data:`Method` that fine-tunes the pretrained encoder end to end on the training
    spectra of each fold (pooled embedding -> a linear subtype head with an L1 loss + a linear
    M/L/T head with cross-entropy; AdamW, ``epochs`` passes, seeded). Its ``X`` is a column of
    positions into ``specs`` (all on the SpeX grid)."""
    import torch
    import torch.nn.functional as F

    from skyfm.models.spectrum_encoder import SpectrumEncoder, grid_spectra, to_inputs

    base = SpectrumEncoder.from_pretrained(encoder)
    g = grid_spectra(list(specs), "spex", base.grids())
    x_all = to_inputs(g)
    valid_all = torch.as_tensor(g.valid)
    inst = base._inst_id("spex")

    def run(X, ys, yc, Xt):
        torch.manual_seed(seed)
        torch.set_num_threads(threads)
        rng = np.random.default_rng(seed)
        enc = SpectrumEncoder.from_pretrained(encoder).model.train()
        d = base.embed_dim
        mu, sd = float(np.mean(ys)), float(np.std(ys)) or 1.0
        head = torch.nn.Linear(d, 1 + len(CLASSES))
        opt = torch.optim.AdamW(list(enc.parameters()) + list(head.parameters()), lr=lr,
                                weight_decay=1e-4)
        tr = X[:, 0].astype(int)
        yt = torch.as_tensor((ys - mu) / sd, dtype=torch.float32)
        ct = torch.as_tensor([CLASSES.index(c) for c in yc])

        def forward(idx):
            ids = torch.full((len(idx),), inst, dtype=torch.long)
            out = head(enc.pool(enc(x_all[idx], ids), valid_all[idx]))
            return out[:, 0], out[:, 1:]

        for _ in range(epochs):
            order = rng.permutation(len(tr))
            for k in range(0, len(tr), batch_size):
                b = order[k:k + batch_size]
                ps, pc = forward(torch.as_tensor(tr[b]))
                loss = F.l1_loss(ps, yt[b]) + F.cross_entropy(pc, ct[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
        enc.eval()
        with torch.no_grad():
            ps, pc = forward(torch.as_tensor(Xt[:, 0].astype(int)))
        return ps.numpy() * sd + mu, np.array(CLASSES)[pc.argmax(1).numpy()]
    return run

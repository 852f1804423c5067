"""Catalogue benchmarks on the shared real sets: skyfm's catalogue models beside boosted trees
in the same run, on the same stratified 70/30 split (fixed seed).

* ``sdss_class``   -- SDSS DR14 star / galaxy / QSO from ugriz (magnitudes + colours only;
  class and redshift are labels, never inputs): accuracy, macro-F1, QSO recall; and the 95 %
  conformal prediction sets of the skyfm classifier (coverage, mean set size).
* ``sdss_photoz``  -- galaxy and quasar photometric redshift (each trained on its own class,
  spectroscopic class known): sigma_NMAD, outliers, 68/95 % interval coverage.
* ``htru2``        -- pulsar F1, recall, precision.
* ``sdss_clip``    -- CLIP-style photometry <-> (spectroscopic class, redshift) alignment
  (:class:`~skyfm.models.photometry_clip.PhotoSpecClip`) trained on the 70 % part: retrieval
  recall@1/5/10 on the 30 % part in both directions (own object; and "match": an object of the
  same class within |dz| / (1 + z) < 0.05), and zero-shot class and redshift from the aligned
  space beside a plain k-nearest-neighbour vote in colour space.
* ``magic``        -- hadron acceptance at 50 % and 80 % gamma efficiency against the best
  two-dimensional cut fAlpha < a and fWidth < w (chosen on the training part).

Run all of them with ``python bench/catalogs.py`` (``SKYFM_DATA_DIR`` set).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from skyfm.benchmarks.discovery import _data_dir

__all__ = ["GBM_GRID", "TASKS", "bootstrap_ratio", "cut_hadron_acceptance", "hadron_acceptance",
           "load_catalog", "load_sdss", "magnitude_features_sdss", "run_htru2", "run_magic",
           "run_sdss_class", "run_sdss_clip", "run_sdss_photoz", "tuned_gbm"]

BANDS = ["u", "g", "r", "i", "z"]
Log = Callable[[str], None] | None


def load_catalog(name: str, data_dir=None):
    """The one :class:`~skyfm.data.observations.Catalog` of a shared catalogue set."""
    from skyfm.data import read

    cats = list(read(_data_dir(name, data_dir)))
    if len(cats) != 1:
        raise ValueError(f"{name}: expected one catalogue, found {len(cats)}")
    return cats[0]


def load_sdss(data_dir=None, n: int | None = None, seed: int = 0):
    """(magnitude features (N, 9), names, class labels, spectroscopic redshifts); ``n``: a
    stratified random subset."""
    from skyfm.models.catalog import magnitude_features

    cat = load_catalog("catalog_sdss_dr14_skyserver10k", data_dir)
    mags = cat.table[BANDS].to_numpy(float)
    y = np.asarray(cat.labels).astype(str)
    z = cat.table["redshift"].to_numpy(float)
    if n is not None and n < len(y):
        from sklearn.model_selection import train_test_split

        idx, _ = train_test_split(np.arange(len(y)), train_size=n, random_state=seed,
                                  stratify=y)
        mags, y, z = mags[idx], y[idx], z[idx]
    X, names = magnitude_features(mags, BANDS)
    return X, names, y, z


def _split(y, seed: int, test_size: float = 0.3):
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(len(y)), test_size=test_size, random_state=seed,
                            stratify=y)


def _class_scores(y, pred, positive=None) -> dict:
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    out = {"accuracy": float(accuracy_score(y, pred)),
           "macro_f1": float(f1_score(y, pred, average="macro"))}
    if positive is not None:
        out |= {f"{positive}_recall": float(recall_score(y, pred, labels=[positive],
                                                         average="macro")),
                f"{positive}_precision": float(precision_score(y, pred, labels=[positive],
                                                               average="macro",
                                                               zero_division=0)),
                f"{positive}_f1": float(f1_score(y, pred, labels=[positive], average="macro"))}
    return out


def run_sdss_class(data_dir=None, seed: int = 0, n: int | None = None, n_members: int = 5,
                   epochs: int = 60, log: Log = None) -> list[dict]:
    """SDSS star / galaxy / QSO from ugriz: trees vs skyfm (+ conformal sets)."""
    from skyfm.models.catalog import CatalogClassifier, trees_classifier
    from skyfm.models.conformal import ConformalClassifier

    X, _, y, _ = load_sdss(data_dir, n, seed)
    tr, te = _split(y, seed)
    rows = []
    trees = trees_classifier(seed).fit(X[tr], y[tr])
    rows.append({"task": "sdss_class", "method": "baseline trees"}
                | _class_scores(y[te], trees.predict(X[te]), "QSO"))
    sky = CatalogClassifier(n_members=n_members, epochs=epochs, random_state=seed)
    rows.append({"task": "sdss_class", "method": "skyfm"}
                | _class_scores(y[te], sky.fit(X[tr], y[tr]).predict(X[te]), "QSO"))
    for name, est in (("baseline trees", trees_classifier(seed)), ("skyfm", sky)):
        conf = ConformalClassifier(est, random_state=seed).fit(X[tr], y[tr])
        sets = conf.predict_set(X[te], alpha=0.05)
        col = {c: i for i, c in enumerate(conf.classes_)}
        covered = sets[np.arange(len(te)), [col[v] for v in y[te]]]
        rows.append({"task": "sdss_class", "method": f"{name} + conformal 95 % sets",
                     "coverage_95": float(covered.mean()),
                     "mean_set_size": float(sets.sum(1).mean())}
                    | _class_scores(y[te], conf.predict(X[te]), "QSO"))
    if log:
        log("sdss_class done")
    return rows


def run_sdss_photoz(data_dir=None, seed: int = 0, n: int | None = None, n_members: int = 5,
                    epochs: int = 150, classes=("GALAXY", "QSO"), log: Log = None) -> list[dict]:
    """Galaxy and quasar photo-z: quantile trees vs skyfm's calibrated MLP ensemble."""
    from skyfm.models.catalog import PhotoZRegressor, QuantileTreesRegressor
    from skyfm.train.metrics import regression_scores

    X, _, y, z = load_sdss(data_dir, n, seed)
    tr, te = _split(y, seed)
    rows = []
    for cls in classes:
        a, b = tr[y[tr] == cls], te[y[te] == cls]
        models = [("baseline trees (quantile)", QuantileTreesRegressor(seed)),
                  ("skyfm", PhotoZRegressor(n_members=n_members, epochs=epochs,
                                            log1p_target=cls == "QSO", random_state=seed))]
        for name, m in models:
            m.fit(X[a], z[a])
            sc = regression_scores(z[b], m.predict(X[b]), m.predict_interval(X[b], 0.3173),
                                   m.predict_interval(X[b], 0.05), redshift=True)
            rows.append({"task": f"sdss_photoz_{cls.lower()}", "method": name,
                         "n_train": int(a.size)} | sc)
        if log:
            log(f"photo-z {cls} done")
    return rows


def _z_scores(z, zp, prefix: str) -> dict:
    dn = (zp - z) / (1 + z)
    return {f"{prefix}_sigma_nmad": float(1.4826 * np.median(np.abs(dn - np.median(dn)))),
            f"{prefix}_outliers": float(np.mean(np.abs(dn) > 0.15))}


def _retrieval(sim, cls, z, ks=(1, 5, 10), tol: float = 0.05) -> dict:
    """recall@k (the row's own column among its top k) and match@k (a column of the same class
    with |dz| / (1 + z) < ``tol`` among them), rows = queries, columns = candidates."""
    from skyfm.models.spectrum_clip import recall_at_k

    out = recall_at_k(sim, ks)
    top = np.argsort(-sim, axis=1, kind="stable")[:, :max(ks)]
    ok = (cls[top] == cls[:, None]) & (np.abs(z[top] - z[:, None]) < tol * (1 + z[:, None]))
    for k in ks:
        out[f"match@{k}"] = float(ok[:, :k].any(1).mean())
    return out


def run_sdss_clip(data_dir=None, seed: int = 0, n: int | None = None, epochs: int = 80,
                  k: int = 20, log: Log = None) -> list[dict]:
    """SDSS photometry <-> (class, redshift) CLIP: retrieval and zero-shot vs colour-space kNN."""
    from sklearn.neighbors import NearestNeighbors

    from skyfm.models.photometry_clip import PhotoSpecClip
    from skyfm.models.spectrum_clip import ClipConfig

    cat = load_catalog("catalog_sdss_dr14_skyserver10k", data_dir)
    mags = cat.table[BANDS].to_numpy(float)
    y = np.asarray(cat.labels).astype(str)
    z = cat.table["redshift"].to_numpy(float)
    if n is not None and n < len(y):
        idx, _ = _split(y, seed, test_size=1 - n / len(y))
        mags, y, z = mags[idx], y[idx], z[idx]
    tr, te = _split(y, seed)
    cfg = ClipConfig(epochs=epochs, temperature=0.1, seed=seed, threads=1)
    model = PhotoSpecClip.train(mags[tr], BANDS, y[tr], z[tr], cfg, log=None)
    Zp, Zs = model.embed_photometry(mags[te]), model.embed_spectroscopic(y[te], z[te])
    n_te = len(te)
    rows = [{"task": "sdss_clip", "method": f"skyfm CLIP {q}", "n_test": n_te}
            | _retrieval(sim, y[te], z[te])
            for q, sim in (("phot -> (class, z)", Zp @ Zs.T),
                           ("(class, z) -> phot", Zs @ Zp.T))]
    rows.append({"task": "sdss_clip", "method": "chance", "n_test": n_te}
                | {f"recall@{kk}": kk / n_te for kk in (1, 5, 10)})
    preds = {"skyfm CLIP zero-shot":
             model.zero_shot(Zp, y[tr], z[tr], top=k)}
    X, _ = magnitude_features_sdss(mags)
    center, scale = np.median(X[tr], 0), X[tr].std(0)
    nn = NearestNeighbors(n_neighbors=k).fit((X[tr] - center) / scale)
    _, idx = nn.kneighbors((X[te] - center) / scale)
    labs = np.unique(y[tr])
    votes = np.stack([(y[tr][idx] == c).sum(1) for c in labs], axis=1)
    preds[f"baseline kNN colours k={k}"] = (labs[votes.argmax(1)],
                                                    np.median(z[tr][idx], axis=1))
    for name, (pc, pz) in preds.items():
        row = {"task": "sdss_clip", "method": name, "n_test": n_te}
        row |= _class_scores(y[te], pc, "QSO")
        for c in ("GALAXY", "QSO"):
            m = y[te] == c  # redshift of the true class's objects
            row |= _z_scores(z[te][m], pz[m], c.lower())
        rows.append(row)
    if log:
        log("sdss_clip done")
    return rows


def magnitude_features_sdss(mags):
    """ugriz magnitudes -> magnitudes + neighbouring colours (the kNN baseline's space)."""
    from skyfm.models.catalog import magnitude_features

    return magnitude_features(mags, BANDS)


def run_htru2(data_dir=None, seed: int = 0, n: int | None = None, n_members: int = 5,
              epochs: int = 40, log: Log = None) -> list[dict]:
    """HTRU2 pulsar candidates: trees vs skyfm, pulsar F1 / recall / precision."""
    from skyfm.models.catalog import CatalogClassifier, trees_classifier

    cat = load_catalog("catalog_htru2_pulsars", data_dir)
    X = cat.table[cat.feature_columns].to_numpy(float)
    y = np.asarray(cat.labels).astype(str)  # the reader names the file's 1 / 0
    if n is not None and n < len(y):
        idx, _ = _split(y, seed, test_size=1 - n / len(y))
        X, y = X[idx], y[idx]
    tr, te = _split(y, seed)
    pos = "pulsar"
    rows = []
    for name, m in (("baseline trees", trees_classifier(seed)),
                    ("skyfm", CatalogClassifier(n_members=n_members, epochs=epochs,
                                                random_state=seed))):
        pred = m.fit(X[tr], y[tr]).predict(X[te])
        rows.append({"task": "htru2", "method": name} | _class_scores(y[te], pred, pos))
    if log:
        log("htru2 done")
    return rows


def hadron_acceptance(score_gamma: np.ndarray, score_hadron: np.ndarray,
                      efficiency: float) -> float:
    """Share of hadrons kept by the threshold that keeps ``efficiency`` of the gammas (higher
    score = more gamma-like)."""
    thr = np.quantile(score_gamma, 1 - efficiency)
    return float(np.mean(score_hadron >= thr))


def cut_hadron_acceptance(alpha_tr, width_tr, gamma_tr, alpha_te, width_te, gamma_te,
                          efficiency: float, grid: int = 60) -> dict:
    """The 2-D cut fAlpha < a and fWidth < w that keeps at least ``efficiency`` of the training
    gammas with the fewest training hadrons; its gamma efficiency and hadron acceptance on the
    test part."""
    qs = np.linspace(0.02, 1.0, grid)
    a_grid = np.quantile(alpha_tr[gamma_tr], qs)
    w_grid = np.quantile(width_tr[gamma_tr], qs)
    best = None
    for a in a_grid:
        for w in w_grid:
            keep = (alpha_tr < a) | (alpha_tr == a)
            keep &= width_tr <= w
            eff = keep[gamma_tr].mean()
            if eff >= efficiency:
                acc = keep[~gamma_tr].mean()
                if best is None or acc < best[0]:
                    best = (acc, a, w)
    _, a, w = best
    keep = (alpha_te <= a) & (width_te <= w)
    return {"cut_alpha_deg": float(a), "cut_width_mm": float(w),
            "gamma_efficiency": float(keep[gamma_te].mean()),
            "hadron_acceptance": float(keep[~gamma_te].mean())}


def bootstrap_ratio(p_gamma: np.ndarray, p_hadron: np.ndarray, cut_gamma: np.ndarray,
                    cut_hadron: np.ndarray, efficiency: float, n_boot: int = 1000,
                    seed: int = 0) -> tuple[float, float, float]:
    """(cut acceptance / model acceptance, its bootstrap 16th and 84th percentiles): the test
    gammas and hadrons are resampled (with replacement, separately); in each draw the model's
    threshold is chosen again at ``efficiency`` of the drawn gammas, the cut (fixed on the
    training part) keeps what it keeps. ``cut_*``: the cut's keep mask of the test events."""
    rng = np.random.default_rng(seed)
    point = float(np.mean(cut_hadron)) / max(hadron_acceptance(p_gamma, p_hadron, efficiency),
                                             1e-12)
    ng, nh = p_gamma.size, p_hadron.size
    ratios = np.empty(n_boot)
    for b in range(n_boot):
        g, h = rng.integers(0, ng, ng), rng.integers(0, nh, nh)
        acc = hadron_acceptance(p_gamma[g], p_hadron[h], efficiency)
        ratios[b] = float(np.mean(cut_hadron[h])) / max(acc, 1.0 / nh)  # 0 kept: < 1 in nh
    return point, float(np.percentile(ratios, 16)), float(np.percentile(ratios, 84))


#: boosted-trees settings tried for MAGIC (chosen by 3-fold CV on the training part)
GBM_GRID = ({}, {"max_iter": 600, "learning_rate": 0.05, "max_leaf_nodes": 31},
            {"max_iter": 1000, "learning_rate": 0.03, "max_leaf_nodes": 63,
             "min_samples_leaf": 40, "l2_regularization": 1.0})


def tuned_gbm(X, gamma, efficiency: float = 0.5, grid=GBM_GRID, seed: int = 0):
    """The :data:`GBM_GRID` setting with the lowest 3-fold cross-validated hadron acceptance
    at ``efficiency`` on (``X``, ``gamma``), refitted on all of it; (model, setting, cv)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold

    cv = []
    for params in grid:
        accs = []
        for a, b in StratifiedKFold(3, shuffle=True, random_state=seed).split(X, gamma):
            m = HistGradientBoostingClassifier(random_state=seed, **params).fit(X[a], gamma[a])
            p = m.predict_proba(X[b])[:, 1]
            accs.append(hadron_acceptance(p[gamma[b]], p[~gamma[b]], efficiency))
        cv.append(float(np.mean(accs)))
    best = int(np.argmin(cv))
    model = HistGradientBoostingClassifier(random_state=seed, **grid[best]).fit(X, gamma)
    return model, grid[best], cv[best]


def run_magic(data_dir=None, seed: int = 0, n: int | None = None, n_members: int = 5,
              epochs: int = 40, efficiencies=(0.5, 0.8), tune: bool = True,
              log: Log = None) -> list[dict]:
    """MAGIC gamma / hadron: the alpha + width cut vs trees vs skyfm; hadron acceptance at the
    given gamma efficiencies (models: threshold at exactly that share of the test gammas) and
    its ratio to the cut's with a bootstrap 68 % interval over the test events.
    skyfm: trees + MLP ensemble on the Hillas columns and :func:`hillas_features`; with
    ``tune`` also boosted trees alone on the same features, the setting chosen by 3-fold CV on
    the training part (:func:`tuned_gbm`)."""
    from skyfm.models.catalog import CatalogClassifier, hillas_features, trees_classifier

    cat = load_catalog("catalog_magic_gamma_uci", data_dir)
    cols = list(cat.feature_columns)
    X = cat.table[cols].to_numpy(float)
    y = np.asarray(cat.labels).astype(str)  # the reader names the file's g / h
    if n is not None and n < len(y):
        idx, _ = _split(y, seed, test_size=1 - n / len(y))
        X, y = X[idx], y[idx]
    gamma = y == "gamma"
    tr, te = _split(y, seed)
    ia, iw = cols.index("fAlpha"), cols.index("fWidth")
    rows, keeps = [], {}
    for eff in efficiencies:
        c = cut_hadron_acceptance(np.abs(X[tr, ia]), X[tr, iw], gamma[tr], np.abs(X[te, ia]),
                                  X[te, iw], gamma[te], eff)
        keeps[eff] = (np.abs(X[te, ia]) <= c["cut_alpha_deg"]) & (X[te, iw] <= c["cut_width_mm"])
        rows.append({"task": "magic", "method": "baseline cut fAlpha + fWidth",
                     "target_efficiency": eff} | c)
    H, _ = hillas_features(X, cols)  # skyfm adds shape features of the shower image
    models = [("baseline trees", X, trees_classifier(seed)),
              ("skyfm", H, CatalogClassifier(n_members=n_members, epochs=epochs,
                                             random_state=seed))]
    probs = {}
    for name, F, m in models:
        m.fit(F[tr], y[tr])
        probs[name] = m.predict_proba(F[te])[:, list(m.classes_).index("gamma")]
    if tune:
        gbm, setting, cv = tuned_gbm(H[tr], gamma[tr], 0.5, seed=seed)
        probs["skyfm GBM alone (CV-tuned)"] = gbm.predict_proba(H[te])[:, 1]
        if log:
            log(f"MAGIC GBM setting chosen by 3-fold CV: {setting or 'defaults'} "
                f"(CV hadron acceptance at 50 % gamma efficiency {cv:.4f})")
    for name, p in probs.items():
        for eff in efficiencies:
            kg, kh = keeps[eff][gamma[te]], keeps[eff][~gamma[te]]
            r, lo, hi = bootstrap_ratio(p[gamma[te]], p[~gamma[te]], kg, kh, eff, seed=seed)
            rows.append({"task": "magic", "method": name, "target_efficiency": eff,
                         "gamma_efficiency": eff,
                         "hadron_acceptance": hadron_acceptance(p[gamma[te]], p[~gamma[te]],
                                                                eff),
                         "ratio_vs_cut": r, "ratio_68": f"{lo:.2f}-{hi:.2f}"})
    if log:
        log("magic done")
    return rows


TASKS = {"sdss_class": run_sdss_class, "sdss_photoz": run_sdss_photoz, "htru2": run_htru2,
         "magic": run_magic, "sdss_clip": run_sdss_clip}


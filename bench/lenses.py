"""Benchmark: twin strong lenses injected into real Galaxy Zoo cutouts: are they found among
real cutouts, by the anomaly score and by a supervised lens score, per image embedder?

    SKYFM_DATA_DIR=/work/shared/data python bench/lenses.py [--n-real 1000] [--n-test 100]
        [--n-train 200] [--embedders baseline,skyfm-img-base] [--sheet lenses.png]

Data (labelled Galaxy Zoo 1 images in file-name order, split as the image encoder
``skyfm-img-base`` was: :func:`skyfm.train.splits.stratified_split` of the GZ1 classes, 30 %
test, seed 0; the encoder never saw the test part):

- *real*: ``--n-real`` cutouts of the test part that are not hosts (seeded draw);
- *injected*: ``--n-test`` elliptical hosts (GZ1 class 0) of the test part, not among the
  real ones, each with a twin lens (:func:`skyfm.sim.lenses.inject_lens`, θE 1-3″ at the
  assumed 0.2″/pixel, arcs 2.5-4.5 mag fainter than the host);
- *lens-head training*: ``--n-train`` elliptical hosts of the encoder's train part, each shown
  un-injected (label 0) and with a twin lens of other parameters (label 1), and ``--n-other``
  other real cutouts of the train part, any class (label 0: a lens finder must tell lenses
  from spirals' arms and rings too, not only from their own hosts).

Per embedder: *anomaly score* = discovery (``skyfm.discover.discover``: no labels, 2 ensemble
members, 1 noise draw) on real + injected; *lens score* = a logistic regression on the
embedder's features, trained on the lens-head training set (the embedder fitted on the real
cutouts). Recall = share of the injected lenses whose score is above the 99th percentile of
the real cutouts' scores (the top 1 %); AUC = injected vs real. ``flagged`` = injected lenses
that discovery's ``artefact`` column calls likely artefacts.

``--embedders``: names (``baseline`` = ImageMorphologyBaseline, ``skyfm-img-base`` = the
pretrained encoder's embedder, ``default`` = the registry's image default,
``baseline-centre`` = the baseline on the central quarter of each cutout) or ``module:Class``;
the default is every registered one that is installed (an encoder without its weights is
reported as unavailable).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import resource
import time
from pathlib import Path

import numpy as np

from skyfm.sim.lenses import GZ1_PIXEL_SCALE

KNOWN = {"baseline": "skyfm.models.image:ImageMorphologyBaseline",
         "skyfm-img-base": "skyfm.models.image_embedder:ImageEncoderEmbedder"}
#: not registered embedders, measured only when named: the baseline on the central quarter
#: of the cutout (the arcs lie within ~15 pixels of a 423-pixel cutout's centre)
VARIANTS = {"baseline-centre": ("skyfm.models.image:ImageMorphologyBaseline", {"crop": 0.25})}


def embedder_factories(spec: str | None) -> tuple[dict, list[str]]:
    """name -> zero-argument factory of a new embedder, and the unavailable ones (why)."""
    from skyfm.models.registry import get_modality

    names = [s.strip() for s in spec.split(",")] if spec else [*KNOWN, "default"]
    out, missing = {}, []
    for name in names:
        ref, kwargs = VARIANTS.get(name, (KNOWN.get(name, name), {}))
        try:
            if name == "default":
                cls = get_modality("image").embedder_class()
                if f"{cls.__module__}:{cls.__name__}" in [KNOWN.get(n, n) for n in out]:
                    continue  # already measured under its own name
                name = f"default ({cls.__name__})"
            else:
                module, _, attr = ref.partition(":")
                cls = getattr(importlib.import_module(module), attr)
            emb = cls(**kwargs)
            if hasattr(emb, "_load"):  # a pretrained encoder: are its weights here?
                emb._load()
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            missing.append(f"{name}: {type(exc).__name__}: {str(exc)[:120]}")
            continue
        out[name] = functools.partial(cls, **kwargs)
    return out, missing


def split(root: Path, n_real: int, n_test: int, n_train: int, n_other: int, seed: int):
    """(real, test hosts, train hosts, train others): lazy GZ1 images (see the module
    docstring)."""
    from skyfm.data.io.images import read_galaxyzoo
    from skyfm.train.splits import stratified_split

    imgs = [o for o in read_galaxyzoo(root) if o.label is not None]
    train, test = stratified_split([o.label for o in imgs], 0.3, 0)
    rng = np.random.default_rng(seed)
    test_e = [i for i in test if imgs[i].label == "elliptical"]
    train_e = [i for i in train if imgs[i].label == "elliptical"]
    hosts = set(rng.choice(test_e, n_test, replace=False).tolist())
    rest = [i for i in test if i not in hosts]
    if len(rest) < n_real:
        raise SystemExit(f"only {len(rest)} test-part cutouts besides the hosts; "
                         f"lower --n-real")
    real = sorted(rng.choice(rest, n_real, replace=False).tolist())
    tr_hosts = sorted(rng.choice(train_e, n_train, replace=False).tolist())
    others = [i for i in train if i not in set(tr_hosts)]
    tr_other = sorted(rng.choice(others, n_other, replace=False).tolist())
    return ([imgs[i] for i in real], [imgs[i] for i in sorted(hosts)],
            [imgs[i] for i in tr_hosts], [imgs[i] for i in tr_other])


def recall_auc(real: np.ndarray, inj: np.ndarray) -> tuple[float, float, float]:
    """(recall above the real scores' 99th percentile, threshold, AUC injected vs real)."""
    from sklearn.metrics import roc_auc_score

    thr = float(np.percentile(real, 99))
    y = np.r_[np.zeros(len(real)), np.ones(len(inj))]
    return float(np.mean(inj > thr)), thr, float(roc_auc_score(y, np.r_[real, inj]))


def lens_score(cls, real, injected, tr_neg, tr_pos) -> np.ndarray:
    """Scores of real + injected from a logistic regression on the embedder's features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    emb = cls().fit(real)
    x_tr = np.vstack([emb.transform(tr_neg), emb.transform(tr_pos)])
    y_tr = np.r_[np.zeros(len(tr_neg)), np.ones(len(tr_pos))]
    head = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    head.fit(np.nan_to_num(x_tr), y_tr)
    return head.predict_proba(np.nan_to_num(emb.transform(list(real) + list(injected))))[:, 1]


def lens_sheet(hosts, injected, path: Path, n: int = 8, half: int = 45) -> None:
    """Host, host + lens and the added light (stretched) of ``n`` injections, centre crops."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skyfm.outputs import save_figure

    n = min(n, len(injected))
    fig, axes = plt.subplots(3, n, figsize=(n * 1.7, 3 * 1.8), squeeze=False)
    for k in range(n):
        m = injected[k].meta["injected_lens"]
        cy, cx = (round(v) for v in m["centre"])
        crops = [np.asarray(hosts[k].data, float), np.asarray(injected[k].data, float)]
        crops.append(crops[1] - crops[0])
        for row, d in enumerate(crops):
            c = d[:, max(0, cy - half):cy + half, max(0, cx - half):cx + half]
            if row == 2:
                c = 255 * c / max(c.max(), 1)
            ax = axes[row, k]
            ax.imshow(np.clip(np.moveaxis(c, 0, -1), 0, 255).astype(np.uint8))
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, k].set_title(f"θE={m['lens']['theta_e']:.1f}″ Δm={m['arc_contrast_mag']:.1f}",
                             fontsize=7)
    for row, what in enumerate(("host", "host + lens", "added light")):
        axes[row, 0].set_ylabel(what, fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=90)
    plt.close(fig)


def measure_scale(root: Path, n: int, seeing: float = 1.3) -> None:
    """Print the half-maximum FWHM (pixels) of faint compact sources away from the host in the
    first ``n`` GZ1 cutouts and the pixel scale they imply for ``seeing`` arcsec: a check of
    the assumed :data:`skyfm.sim.lenses.GZ1_PIXEL_SCALE` (the scale differs per cutout, 0.024
    x the host's R90, so there is no single stellar peak)."""
    from scipy import ndimage as ndi

    from skyfm.data.io.images import read_galaxyzoo

    fw = []
    for o in read_galaxyzoo(root, limit=n):
        d = np.asarray(o.data, float).mean(0)
        h, w = d.shape
        sky = np.median(d)
        peaks = (ndi.maximum_filter(d, 15) == d) & (d - sky > 40) & (d - sky < 150)
        for y, x in zip(*np.nonzero(peaks)):
            if np.hypot(y - h / 2, x - w / 2) < 100 or min(y, x) < 20 or y > h - 21 \
                    or x > w - 21:
                continue
            cut = d[y - 15:y + 16, x - 15:x + 16] - sky
            lab, _ = ndi.label(cut > cut[15, 15] / 2)
            fw.append(2 * np.sqrt((lab == lab[15, 15]).sum() / np.pi))
    q = np.percentile(fw, [10, 20, 50])
    print(f"{len(fw)} faint compact sources in {n} cutouts: FWHM {q[0]:.1f} / {q[1]:.1f} / "
          f"{q[2]:.1f} pixels (10th / 20th / 50th percentile) -> {seeing / q[0]:.2f} / "
          f"{seeing / q[1]:.2f} arcsec per pixel for {seeing} arcsec seeing (assumed: "
          f"{GZ1_PIXEL_SCALE})\n")


def main() -> None:
    from skyfm.discover import discover
    from skyfm.sim.lenses import inject_lens

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-real", type=int, default=1000)
    ap.add_argument("--n-test", type=int, default=100)
    ap.add_argument("--n-train", type=int, default=200)
    ap.add_argument("--n-other", type=int, default=400,
                    help="lens-head negatives besides the un-injected hosts")
    ap.add_argument("--embedders", default=None, help="comma-separated (see docstring)")
    ap.add_argument("--sheet", type=Path, default=None, help="contact sheet PNG of lenses")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--measure-scale", type=int, default=0, metavar="N",
                    help="first check the assumed pixel scale on N cutouts")
    args = ap.parse_args()
    root = Path(os.environ.get("SKYFM_DATA_DIR", "")) / "images_galaxyzoo1_sdss"
    if not root.is_dir():
        raise SystemExit(f"needs SKYFM_DATA_DIR with images_galaxyzoo1_sdss ({root})")
    t0, c0 = time.perf_counter(), time.process_time()
    if args.measure_scale:
        measure_scale(root, args.measure_scale)
    factories, missing = embedder_factories(args.embedders)
    real, hosts, tr_hosts, tr_other = split(root, args.n_real, args.n_test, args.n_train,
                                            args.n_other, args.seed)
    injected = [inject_lens(h, rng=args.seed * 100_003 + i) for i, h in enumerate(hosts)]
    tr_pos = [inject_lens(h, rng=args.seed * 100_003 + 50_000 + i)
              for i, h in enumerate(tr_hosts)]
    print(f"{len(real)} real cutouts, {len(injected)} injected lenses (test hosts), "
          f"{len(tr_pos)} injected + {len(tr_hosts)} un-injected hosts + {len(tr_other)} "
          f"other real lens-head training cutouts "
          f"({time.perf_counter() - t0:.0f} s to read and inject)\n")
    if args.sheet:
        lens_sheet(hosts, injected, args.sheet)
        print(f"contact sheet: {args.sheet}\n")
    contrast = np.array([o.meta["injected_lens"]["arc_contrast_mag"] for o in injected])
    rows = []
    for name, cls in factories.items():
        t1 = time.perf_counter()
        run = discover(list(real) + list(injected), None, embedder=cls(), n_members=2,
                       n_noise=1, use_labels=False, report=False, seed=args.seed)
        c = run.candidates.set_index("object_id")
        ids_real = [o.object_id for o in real]
        ids_inj = [o.object_id for o in injected]
        a_rec, _, a_auc = recall_auc(c.loc[ids_real, "score"].to_numpy(float),
                                     c.loc[ids_inj, "score"].to_numpy(float))
        flagged = int((c.loc[ids_inj, "artefact"] != "none").sum())
        s = lens_score(cls, real, injected, list(tr_hosts) + list(tr_other), tr_pos)
        l_rec, _, l_auc = recall_auc(s[:len(real)], s[len(real):])
        thr = np.percentile(s[:len(real)], 99)
        bright = contrast < 3.5
        split_rec = (float(np.mean(s[len(real):][bright] > thr)),
                     float(np.mean(s[len(real):][~bright] > thr)))
        rows.append((name, a_rec, a_auc, l_rec, l_auc, flagged, time.perf_counter() - t1,
                     split_rec))
    n = len(injected)
    print("| embedder | anomaly recall (top 1 %) | anomaly AUC | lens-score recall (top 1 %) "
          "| lens-score AUC | injected flagged as artefacts | seconds |")
    print("|---|---|---|---|---|---|---|")
    for name, a_rec, a_auc, l_rec, l_auc, flagged, sec, _ in rows:
        print(f"| {name} | {a_rec:.2f} ({round(a_rec * n)}/{n}) | {a_auc:.3f} | "
              f"{l_rec:.2f} ({round(l_rec * n)}/{n}) | {l_auc:.3f} | {flagged}/{n} | {sec:.0f} |")
    for m in missing:
        print(f"unavailable: {m}")
    nb = int((contrast < 3.5).sum())
    print(f"\nlens-score recall (top 1 %) by arc contrast: {nb} lenses with arcs 2.5-3.5 mag "
          f"fainter than the host, {n - nb} with 3.5-4.5 mag")
    for name, *_, (rb, rf) in rows:
        print(f"- {name}: {rb:.2f} (brighter arcs), {rf:.2f} (fainter arcs)")
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(f"\nwall {time.perf_counter() - t0:.0f} s, process CPU {time.process_time() - c0:.0f} s "
          f"(user {ru.ru_utime:.0f} s), load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""Spectrum benchmarks, one command each, printing tables (needs SKYFM_DATA_DIR).

    python bench/spectra.py speed    [--n 1000]      # spectra/s embedded + peak memory, PCA beside
    python bench/spectra.py spex     [--repeats 5]   # SpeX M/L/T class + subtype, 20 / all labels
    python bench/spectra.py stellar  [--model DIR]   # emulator labels vs S/N, coverage; real APOGEE
    python bench/spectra.py clip                     # spectrum <-> labels retrieval, zero-shot
    python bench/spectra.py embedders               # PCA vs encoder vs hybrid: SpeX types, open set

``speed``: the shipped skyfm-spec-base encoder (``SpectrumEncoderEmbedder``) and the
``SpectrumPCABaseline`` fit + transform the same real SpeX spectra; wall time and the growth of
the peak resident memory of each step (torch threads = 2).

``spex``: :func:`skyfm.benchmarks.spectra.spex_type_benchmark`; five folds grouped by source,
the classical baseline (PCA-20 of the gridded spectrum + gradient-boosted trees) beside the
encoder's embedding + heads and the encoder fine-tuned end to end in each fold, in the same
folds; then the label-noise floor (what disagreeing labels of one source allow).

``embedders``: the spectrum modality's candidate default embedders (PCA baseline, encoder,
encoder + PCA) fitted without labels: SpeX types with a ridge and a trees head, and an open set
(one class left out as the unknown), mean ± sd over seeded splits.

``stellar``: :class:`skyfm.models.stellar_labels.StellarLabelNet` (``--model``: a directory
written by ``skyfm spectra stellar``) on fresh emulator draws (seeds 700+, disjoint from
training's) at S/N 20, 50, 100, 200: RMSE per label and the share of truths inside the 68 % and
95 % intervals; then on the real APOGEE spectra the network beside the emcee posterior fit.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings

import numpy as np

LABELS = ("teff", "logg", "fe_h", "alpha_fe", "vmacro")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_spex(limit=None):
    from skyfm.data.io.spex import read_spex as rs
    from skyfm.data.registry import dataset_path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(rs(dataset_path("spectra_spex_prism_splat"), limit=limit))


def table(rows: list[dict], cols: list[str]) -> str:
    def fmt(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    w = [max(len(c), *(len(fmt(r[c])) for r in rows)) for c in cols]
    line = " | ".join(c.ljust(x) for c, x in zip(cols, w))
    out = [line, "-+-".join("-" * x for x in w)]
    out += [" | ".join(fmt(r[c]).ljust(x) for c, x in zip(cols, w)) for r in rows]
    return "\n".join(out)


def speed(args):
    import torch

    from skyfm.models.spectrum import SpectrumPCABaseline
    from skyfm.models.spectrum_embedder import SpectrumEncoderEmbedder

    torch.set_num_threads(2)
    specs = read_spex(args.n)
    rows = []
    for name, emb in (("SpectrumPCABaseline (PCA, no trained model)", SpectrumPCABaseline()),
                      ("SpectrumEncoderEmbedder (skyfm-spec-base)", SpectrumEncoderEmbedder())):
        before = peak_rss_mb()
        t0 = time.perf_counter()
        emb.fit(specs)
        t1 = time.perf_counter()
        emb.transform([s._with(flux=s.flux * 1.0001) for s in specs])  # new objects: computed
        t2 = time.perf_counter()
        rows.append({"embedder": name, "n": len(specs),
                     "fit spectra/s": len(specs) / (t1 - t0),
                     "transform spectra/s": len(specs) / (t2 - t1),
                     "peak RSS growth MB": peak_rss_mb() - before})
    print(table(rows, list(rows[0])))
    print(f"(peak RSS of the process {peak_rss_mb():.0f} MB; torch threads 2)")


def spex(args):
    from skyfm.benchmarks.spectra import (
        finetune_method,
        hybrid_trees,
        label_noise_floor,
        label_scatter_by_subtype,
        pairwise_label_noise,
        pca_trees,
        ridge,
        spex_labels,
        spex_type_benchmark,
        trees,
    )
    from skyfm.models.spectrum_encoder import SpectrumEncoder, grid_spectra

    specs = read_spex()
    lab = spex_labels(specs)
    sp = [specs[i] for i in lab.index]
    print(f"{len(sp)} SpeX spectra with an M/L/T type ({len(set(lab.groups))} sources); "
          f"left out: {dict(lab.skipped)}")
    g = grid_spectra(sp, "spex")
    enc = SpectrumEncoder.from_pretrained(args.model)
    Z = enc.embed(sp)
    methods = {"baseline: PCA-20 + trees": (g.flux, pca_trees()),
               "skyfm: embedding + ridge/logistic": (Z, ridge()),
               "skyfm: embedding + trees": (Z, trees()),
               "skyfm: embedding + PCA-20, trees": (np.hstack([Z, g.flux]),
                                                    hybrid_trees(Z.shape[1]))}
    if args.finetune_epochs:
        methods[f"skyfm: encoder fine-tuned ({args.finetune_epochs} epochs)"] = (
            np.arange(len(sp), dtype=float)[:, None],
            finetune_method(sp, args.model, epochs=args.finetune_epochs, lr=args.finetune_lr))
    preds: dict = {}
    rows = spex_type_benchmark(methods, lab, repeats=args.repeats, predictions=preds,
                               n_labels=(20, None))
    print(table(rows, ["method", "labels", "subtype_mae", "class_macro_f1"]))
    print("label-noise floor (all labels, out-of-fold predictions; a source's spectra can carry "
          "different types):")
    keep = {k: preds[k] for k in ("baseline: PCA-20 + trees", "skyfm: embedding + PCA-20, trees")}
    floor = label_noise_floor(lab, keep)
    print(table(floor, list(floor[0])))
    pn = pairwise_label_noise(lab)
    print("label noise from pairs of spectra of one source:")
    print(table([pn], list(pn)))
    print("inter-spectrum label scatter of multi-spectrum sources, by median subtype:")
    sc = label_scatter_by_subtype(lab)
    print(table(sc, list(sc[0])))


def embedders(args):
    """The spectrum modality's candidate default embedders on the real SpeX spectra, as
    discovery and ``skyfm evaluate`` use them (fitted without labels, then a head)."""
    import torch

    from skyfm.benchmarks.spectra import (
        EMBEDDERS,
        embedder_openset,
        ridge,
        spex_labels,
        spex_type_benchmark,
        trees,
    )
    from skyfm.models.registry import _resolve

    torch.set_num_threads(args.threads)
    specs = read_spex()
    lab = spex_labels(specs)
    sp = [specs[i] for i in lab.index]
    print(f"{len(sp)} SpeX spectra with an M/L/T type ({len(set(lab.groups))} sources)")
    vectors, opens = {}, []
    for name, ref in EMBEDDERS.items():
        cls = _resolve(ref)
        t0, c0 = time.perf_counter(), time.process_time()
        X = cls().fit_transform(sp)
        secs = (time.perf_counter() - t0, time.process_time() - c0)
        print(f"{name}: {X.shape[1]}-D, fit_transform {secs[0]:.1f} s wall, {secs[1]:.1f} s CPU")
        vectors[f"{name} + ridge/logistic"] = (X, ridge())
        vectors[f"{name} + trees"] = (X, trees())
        for anomaly in args.anomaly.split(","):
            runs = [embedder_openset(specs, lab, cls, anomaly, seed=s)
                    for s in range(args.seeds)]
            row = {"embedder": name, "left out": anomaly, "n_test": runs[0]["n_test"],
                   "n_anomaly": runs[0]["n_anomaly"]}
            for key in ("fused_auroc", "fused_avg_precision", "knn_auroc", "iforest_auroc"):
                v = np.array([r[key] for r in runs])
                row[key] = f"{v.mean():.3f} ± {v.std(ddof=1) if v.size > 1 else 0:.3f}"
            opens.append(row)
    rows = spex_type_benchmark(vectors, lab, repeats=args.repeats)
    print("SpeX spectral types, 5 folds grouped by source (embedders fitted without labels)")
    print(table(rows, ["method", "labels", "subtype_mae", "class_macro_f1"]))
    print(f"open set: embedder + scorers fitted on half the other sources; the left-out class "
          f"is the anomaly; mean ± sd over {args.seeds} seeded splits")
    print(table(opens, list(opens[0])))


def stellar(args):
    from skyfm.data import read
    from skyfm.data.registry import dataset_path
    from skyfm.models.stellar_labels import StellarLabelNet, posterior_fit
    from skyfm.sim.spectra import simulate_spectra

    net = StellarLabelNet.load(args.model)
    rows = []
    for snr in (20, 50, 100, 200):
        te = list(simulate_spectra(args.n, seed=700 + snr, snr=float(snr)))
        y = np.array([[s.meta["labels"][k] for k in LABELS] for s in te])
        mu, sd = net.predict(te)
        err = mu - y
        for j, k in enumerate(LABELS):
            rows.append({"S/N": snr, "label": k, "rmse": float(np.sqrt(np.mean(err[:, j] ** 2))),
                         "median sigma": float(np.median(sd[:, j])),
                         "coverage_68": float(np.mean(np.abs(err[:, j]) < sd[:, j])),
                         "coverage_95": float(np.mean(np.abs(err[:, j]) < 1.96 * sd[:, j]))})
    print(f"emulator test draws: {args.n} per S/N (seeds 720/750/800/900)")
    print(table(rows, list(rows[0])))
    real = list(read(dataset_path("spectra_payne_apogee_example")))
    out = []
    mu, sd = net.predict(real)
    for i, s in enumerate(real):
        fit = posterior_fit(s, n_steps=args.steps, burn=args.steps // 3)
        for j, k in enumerate(LABELS):
            lo, md, hi = fit["lower"][k], fit["labels"][k], fit["upper"][k]
            out.append({"spectrum": s.object_id, "label": k,
                        "network": f"{mu[i, j]:.3f} ± {sd[i, j]:.3f}",
                        "posterior (emcee)": f"{md:.3f} +{hi - md:.3f} -{md - lo:.3f}",
                        "chi2/pix": f"{fit['chi2_per_pixel']:.2f}"})
    print(table(out, list(out[0])))


def clip(args):
    from skyfm.models.spectrum_clip import ClipConfig, SpecLabelClip, recall_at_k
    from skyfm.models.stellar_labels import StellarLabelNet
    from skyfm.sim.spectra import DEFAULT_LABEL_RANGES, simulate_spectra

    net = StellarLabelNet.load(args.model)
    model = SpecLabelClip.train(net, ClipConfig(epochs=args.epochs))
    te = list(simulate_spectra(args.n, seed=650, snr=(20.0, 200.0)))
    y = np.array([[s.meta["labels"][k] for k in LABELS] for s in te])
    Zs, Zl = model.embed_spectra(te), model.embed_labels(y)
    rows = [{"query": "labels -> spectra", **recall_at_k(Zl @ Zs.T)},
            {"query": "spectrum -> labels", **recall_at_k(Zs @ Zl.T)}]
    print(f"{args.n} test spectra (seed 650, S/N 20-200); chance recall@10 = {10 / args.n:.3f}")
    print(table(rows, list(rows[0])))
    rng = np.random.default_rng(651)
    bank = np.column_stack([rng.uniform(*DEFAULT_LABEL_RANGES[k], 20000) for k in LABELS])
    zs = model.zero_shot(Zs, bank)
    mu, _ = net.predict(te)
    out = [{"estimate": name, **{k: float(np.mean(np.abs(p[:, j] - y[:, j])))
                                 for j, k in enumerate(LABELS)}}
           for name, p in (("zero-shot (CLIP + 20,000 random label vectors)", zs),
                           ("stellar-label network (supervised)", mu))]
    print("mean absolute error")
    print(table(out, list(out[0])))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("speed")
    p.add_argument("--n", type=int, default=1000)
    p = sub.add_parser("spex")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--model", default="skyfm-spec-base")
    p.add_argument("--finetune-epochs", type=int, default=80,
                   help="also fine-tune the encoder end to end in each fold (0: off)")
    p.add_argument("--finetune-lr", type=float, default=1e-3)
    p = sub.add_parser("stellar")
    p.add_argument("--model", default="skyfm/models/weights/skyfm-stellar-payne")
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--steps", type=int, default=300)
    p = sub.add_parser("clip")
    p.add_argument("--model", default="skyfm/models/weights/skyfm-stellar-payne")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=60)
    p = sub.add_parser("embedders")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--anomaly", default="T,L,M", help="classes left out in turn (open set)")
    p.add_argument("--seeds", type=int, default=5, help="open-set splits (seeds 0..)")
    p.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    {"speed": speed, "spex": spex, "stellar": stellar, "clip": clip,
     "embedders": embedders}[a.cmd](a)


if __name__ == "__main__":
    main()

"""Similarity-search benchmark: exact flat search (baseline) vs HNSW vs IVF, side by side.

    python bench/index.py                       # 1,000,000 vectors, 1,000 queries, k=10
    python bench/index.py --n 100000 --threads 1

Data: a clustered Gaussian mixture shaped like light-curve embeddings (many clusters of
different sizes and widths, each spread along a few directions, plus isotropic noise) of
dimension D = the LC encoder's embedding size (64 when the encoder is not available).
Queries are fresh draws from the same mixture (not in the index). Recall@10 is measured
against the exact flat search, which is also the timed baseline. Memory is the size of the
serialised faiss index (vectors + graph or inverted lists). Everything goes through
``skyfm.discover.index.SimilarityIndex`` with metric cosine, as ``skyfm index build`` does.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def encoder_dim(default: int = 64) -> int:
    """Embedding size D of skyfm-lc-base (its config), or ``default`` when unknown."""
    try:
        from skyfm.models.lightcurve import LightCurveEncoder

        return int(LightCurveEncoder.from_pretrained("skyfm-lc-base").embed_dim)
    except Exception as exc:  # noqa: BLE001 - weights not shipped yet: use the default config
        try:
            from skyfm.models.lightcurve import LightCurveConfig

            d = int(LightCurveConfig().embed_dim)
            print(f"(skyfm-lc-base not loadable: {exc}; D={d} from the default LightCurveConfig)")
            return d
        except Exception as exc2:  # noqa: BLE001
            print(f"(LC encoder not available: {exc2}; using D={default})")
    return default


def clustered_embeddings(n: int, d: int, n_clusters: int = 500, intrinsic: int = 8,
                         separation: float = 0.3, seed: int = 0,
                         chunk: int = 200_000) -> np.ndarray:
    """(n, d) float32 draws from an anisotropic Gaussian mixture with unequal weights.

    Cluster centres are N(0, separation^2) per axis; each cluster spreads along
    ``intrinsic`` random directions with a width of 0.2-1 (unit-norm directions) plus
    isotropic noise of 0.05 per axis. ``separation=0.3`` puts neighbouring centres ~2-3
    cluster radii apart in D=128: clustered, yet overlapping like classes in an embedding.
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, separation, (n_clusters, d)).astype(np.float32)
    bases = rng.normal(0, 1, (n_clusters, intrinsic, d)).astype(np.float32) / np.sqrt(d)
    widths = rng.uniform(0.2, 1.0, n_clusters).astype(np.float32)
    weights = rng.dirichlet(np.full(n_clusters, 0.5))
    out = np.empty((n, d), np.float32)
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        c = rng.choice(n_clusters, m, p=weights)
        z = rng.normal(0, 1, (m, intrinsic)).astype(np.float32)
        x = centres[c] + widths[c, None] * np.einsum("mi,mid->md", z, bases[c])
        x += rng.normal(0, 0.05, (m, d)).astype(np.float32)
        out[s:s + m] = x
    return out


def run(n: int, n_queries: int, k: int, d: int, threads: int, kinds: list[str],
        separation: float = 0.3, log=None) -> list[dict]:
    import faiss

    from skyfm.discover.index import SimilarityIndex

    faiss.omp_set_num_threads(threads)
    data = clustered_embeddings(n + n_queries, d, separation=separation)
    base, queries = data[:n], data[n:]
    ids = np.arange(n).astype(str).tolist()
    rows, truth = [], None
    # IVF: the library's defaults (nlist 2048 and nprobe 32 at 1M), plus a cheaper nprobe
    build = {"flat": {}, "hnsw": {"hnsw_m": 16, "ef_construction": 64}, "ivf": {}}
    sweep = {"flat": [{}], "hnsw": [{"ef_search": 64}, {"ef_search": 160}],
             "ivf": [{"nprobe": 16}, {"nprobe": None}]}
    for kind in ["flat"] + [k_ for k_ in kinds if k_ != "flat"]:
        index = SimilarityIndex(metric="cosine", **build[kind])
        t0 = time.perf_counter()
        index.build(base, ids, kind=kind)
        build_s = time.perf_counter() - t0
        memory_mb = index.memory_bytes / 2**20
        for search in sweep[kind]:
            for name, value in search.items():
                setattr(index, name, value)
            index._apply_search_params()
            index.search(queries[:10], k)  # warm-up
            t0 = time.perf_counter()
            found, _ = index.search(queries, k)
            query_ms = (time.perf_counter() - t0) * 1000 / n_queries
            if truth is None:
                truth = found
            recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(found, truth)])
            params = {**build[kind], **search}
            if kind == "ivf":
                params = {"nlist": index.nlist,
                          "nprobe": faiss.extract_index_ivf(index._index).nprobe}
            rows.append({"index": kind + (" (exact baseline)" if kind == "flat" else ""),
                         "params": ", ".join(f"{a}={b}" for a, b in params.items()) or "-",
                         "build_s": build_s, "query_ms": query_ms, "recall": recall,
                         "memory_mb": memory_mb})
            if log is not None:
                log(rows[-1])
        del index
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="indexed vectors")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--dim", type=int, default=0, help="0 = the LC encoder's D (64 if unknown)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kinds", default="flat,hnsw,ivf")
    ap.add_argument("--separation", type=float, default=0.3,
                    help="spread of cluster centres (larger = more separated clusters)")
    a = ap.parse_args()
    d = a.dim or encoder_dim()
    rows = run(a.n, a.queries, a.k, d, a.threads, a.kinds.split(","), a.separation,
               log=lambda r: print(f"  done: {r['index']} {r['params']} "
                                   f"({r['build_s']:.0f} s build)", flush=True))
    print(f"\nsimilarity search: {a.n:,} vectors, D={d}, {a.queries:,} queries, k={a.k}, "
          f"{a.threads} thread(s), metric=cosine; Gaussian mixture of 500 clusters, "
          f"separation {a.separation}\n")
    head = (f"{'index':<22} {'params':<46} {'build s':>8} {'ms/query':>9} "
            f"{'recall@' + str(a.k):>10} {'memory MB':>10}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['index']:<22} {r['params']:<46} {r['build_s']:>8.1f} {r['query_ms']:>9.3f} "
              f"{r['recall']:>10.3f} {r['memory_mb']:>10.0f}")


if __name__ == "__main__":
    main()

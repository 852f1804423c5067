"""Benchmark: light-curve embedding throughput and peak memory vs the classical feature extractor.

One command, one table (torch and ONNX Runtime encoders, the baseline features, and the GPU when
there is one):

    OMP_NUM_THREADS=2 python bench/lightcurves.py --n 10000 --points 200

Curves: simulated two-band (g, r) curves of ``--points`` points over ~3 years (a sinusoid with
noise), so the numbers measure the code, not the data. The machine's cores may be shared with
other jobs: the table says how many were visible.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

import numpy as np


def make_curves(n: int, points: int, seed: int = 0):
    from skyfm.data.observations import LightCurve

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t = np.sort(rng.uniform(58000, 59100, points)) + np.arange(points) * 1e-6
        p = 10 ** rng.uniform(-0.5, 2.5)
        v = 17 + 0.4 * np.sin(2 * np.pi * t / p) + rng.normal(0, 0.03, points)
        out.append(LightCurve(t, v, np.full(points, 0.03), rng.choice(["g", "r"], points),
                              object_id=str(i), validate=False))
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--baseline-n", type=int, default=2000,
                    help="curves for the (slower) baseline feature extractor")
    args = ap.parse_args()

    import torch
    from rich.console import Console
    from rich.table import Table

    from skyfm.features.lightcurves import lightcurve_features
    from skyfm.models.export import OnnxLightCurveEncoder, export_onnx
    from skyfm.models.lightcurve import LightCurveEncoder

    torch.set_num_threads(args.threads)
    lcs = make_curves(args.n, args.points)
    rows = []
    enc = LightCurveEncoder.from_pretrained("skyfm-lc-base")
    enc.embed(lcs[:64])  # warm-up

    t0 = time.perf_counter()
    prepared = enc.prepare(lcs)
    t_prep = time.perf_counter() - t0
    rows.append(("tokenise + periodogram, 1 process (CPU)", args.n, t_prep, peak_rss_mb()))

    # references: the previous period searches (one-term peak refined; plain NFFT grid)
    from skyfm.models import lightcurve_tokens as tok

    nb = min(args.baseline_n, args.n)
    t0 = time.perf_counter()
    tok.prepare_many(lcs[:nb], enc.config.min_period, enc.config.period_resolution,
                     period_candidates=enc.config.period_candidates, period_harmonics=0)
    rows.append(("  (reference: one-term peak, no alias check, 1 process)", nb,
                 time.perf_counter() - t0, peak_rss_mb()))
    t0 = time.perf_counter()
    tok.prepare_many(lcs[:nb], enc.config.min_period, 3.0, period_candidates=0)
    rows.append(("  (reference: grid-only period search, 1 process)", nb,
                 time.perf_counter() - t0, peak_rss_mb()))

    t0 = time.perf_counter()
    z_torch = enc.embed(prepared, batch_size=256)
    t_model = time.perf_counter() - t0
    rows.append(("encoder forward, torch (CPU)", args.n, t_model, peak_rss_mb()))
    rows.append(("skyfm embed end-to-end, torch, sequential (CPU)", args.n, t_prep + t_model,
                 peak_rss_mb()))

    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(enc, os.path.join(tmp, "lc.onnx"))
        onnx_enc = OnnxLightCurveEncoder(path, enc.config, threads=args.threads)
        onnx_enc.embed(prepared[:64])
        t0 = time.perf_counter()
        z_onnx = onnx_enc.embed(prepared, batch_size=256)
        t_onnx = time.perf_counter() - t0
        rows.append(("encoder forward, ONNX Runtime (CPU)", args.n, t_onnx, peak_rss_mb()))
        t0 = time.perf_counter()
        z_pipe = onnx_enc.embed(lcs, batch_size=256, n_jobs=args.threads)
        t_pipe = time.perf_counter() - t0
        name = f"skyfm embed end-to-end, ONNX + {args.threads} tokeniser processes (CPU)"
        rows.append((name, args.n, t_pipe, peak_rss_mb()))
    assert np.allclose(z_pipe, z_onnx, atol=1e-4)
    max_diff = float(np.abs(z_torch - z_onnx).max())

    if torch.cuda.is_available():
        gpu = LightCurveEncoder.from_pretrained("skyfm-lc-base", device="cuda")
        gpu.embed(prepared[:256])
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        gpu.embed(prepared, batch_size=1024)
        torch.cuda.synchronize()
        t_gpu = time.perf_counter() - t0
        rows.append(("encoder forward, torch (GPU)", args.n, t_gpu, peak_rss_mb()))

    t0 = time.perf_counter()
    lightcurve_features(lcs[:nb], bands=["g", "r"])
    t_feat = time.perf_counter() - t0
    rows.append(("baseline: light-curve features (CPU)", nb, t_feat, peak_rss_mb()))

    table = Table(title=f"light-curve embedding benchmark: {args.n} curves x {args.points} points, "
                        f"{args.threads} threads, {os.cpu_count()} cores visible (shared)")
    for col in ("what", "curves", "seconds", "curves/s", "peak RSS [MB]"):
        table.add_column(col, justify="right")
    for name, n, sec, mem in rows:
        table.add_row(name, str(n), f"{sec:.2f}", f"{n / sec:,.0f}", f"{mem:,.0f}")
    con = Console()
    con.print(table)
    con.print(f"max |torch - onnx| embedding difference: {max_diff:.2e}")
    con.print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

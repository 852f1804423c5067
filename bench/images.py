"""Benchmark: image embedding speed and peak memory, the pretrained encoder (skyfm-img-base,
``ImageEncoderEmbedder``) beside the baseline without a trained model
(``ImageMorphologyBaseline``), on real Galaxy Zoo 1 cutouts (423 x 423 JPEG).

    SKYFM_DATA_DIR=/work/shared/data python bench/images.py [--n 400] [--threads 2]

Each embedder runs in its own fresh process (so its peak RSS is its own): it reads the first
``2 n`` images (file-name order), fits on the first ``n`` and embeds the other ``n`` (images it
was not fitted on, so nothing is cached). Reported: images/s of that ``transform`` by wall
time and by the process's CPU time, the fit's wall time, and the process's peak RSS. The load
average is printed too: on a shared machine wall-time figures are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

EMBEDDERS = {"skyfm-img-base": "skyfm.models.image_embedder:ImageEncoderEmbedder",
             "baseline": "skyfm.models.image:ImageMorphologyBaseline"}


def run_one(name: str, n: int, threads: int) -> dict:
    import importlib

    import torch

    from skyfm.data.io.images import read_galaxyzoo
    from skyfm.data.registry import dataset_path

    torch.set_num_threads(threads)
    module, _, cls = EMBEDDERS[name].partition(":")
    imgs = read_galaxyzoo(dataset_path("images_galaxyzoo1_sdss"), limit=2 * n)
    fit_set, new = imgs[:n], imgs[n:2 * n]
    t = time.perf_counter()
    emb = getattr(importlib.import_module(module), cls)(artefact_model=None).fit(fit_set)
    fit_s = time.perf_counter() - t
    w, c = time.perf_counter(), time.process_time()
    Z = emb.transform(new)
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    return {"embedder": name, "dim": int(Z.shape[1]), "n": len(new),
            "images_per_s_wall": len(new) / wall, "images_per_s_cpu": len(new) / cpu,
            "fit_wall_s": fit_s,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--one", choices=list(EMBEDDERS), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.n, args.threads)))
        return
    rows = []
    for name in EMBEDDERS:
        out = subprocess.run([sys.executable, __file__, "--one", name, "--n", str(args.n),
                              "--threads", str(args.threads)], check=True,
                             capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    t = Table(title=f"bench/images.py: Galaxy Zoo 1 cutouts, fit on {args.n}, embed {args.n} "
                    f"new ones, {args.threads} torch threads")
    for col in ("embedder", "dim", "images/s (wall)", "images/s (CPU)", "fit (s, wall)",
                "peak RSS (MB)"):
        t.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        t.add_row(r["embedder"], str(r["dim"]), f"{r['images_per_s_wall']:.1f}",
                  f"{r['images_per_s_cpu']:.1f}", f"{r['fit_wall_s']:.1f}",
                  f"{r['peak_rss_mb']:.0f}")
    con = Console(width=120)
    con.print(t)
    con.print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

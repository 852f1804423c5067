"""Benchmark: choosing which SDSS objects get a spectrum (``skyfm select``'s strategies).

    SKYFM_DATA_DIR=/work/shared/data python bench/active_select.py [--budget 300 --batch 20
        --seeds 3 --png runs/select.png --json runs/select.json]

Prints (1) the labels-to-accuracy table: mean test accuracy after each number of labels for
random, plain uncertainty sampling, skyfm and the discovery strategy, and how many labels each
needs to reach random's final accuracy; (2) QSOs (the rare class) found per follow-up; and
writes a PNG of both curves. See skyfm/benchmarks/select.py for the protocol.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits

from skyfm.benchmarks.select import labels_to_reach, load_sdss_embedded, mean_curve, simulate

STRATEGIES = ("random", "uncertainty", "skyfm", "discovery")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--target", default="QSO")
    ap.add_argument("--png", type=Path, default=Path("runs/select.png"))
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    con = Console(width=200)
    t0 = time.perf_counter()
    curves: dict[str, list] = {s: [] for s in STRATEGIES}
    with threadpool_limits(1):
        for seed in range(args.seeds):
            X, y, pool, test = load_sdss_embedded(seed=seed)
            for s in STRATEGIES:
                curves[s].append(simulate(X, y, pool, test, s, args.budget, args.batch,
                                          seed=seed, target=args.target))
                con.log(f"seed {seed} {s} done")
    n = curves["random"][0]["n_labels"]
    acc = {s: mean_curve(c, "accuracy") for s, c in curves.items()}
    found = {s: mean_curve(c, "found") for s, c in curves.items()}
    final = float(acc["random"][-1])
    tab = Table(title=f"SDSS: test accuracy vs labels (mean of {args.seeds} seeds; pool "
                      f"{len(pool)}, test {len(test)}; {time.perf_counter() - t0:.0f} s)")
    tab.add_column("labels", justify="right")
    for s in STRATEGIES:
        tab.add_column(s, justify="right")
    for i, k in enumerate(n):
        if k in (n[0], n[-1]) or k % (2 * args.batch) == 0:
            tab.add_row(str(k), *(f"{acc[s][i]:.4f}" for s in STRATEGIES))
    reach = {s: labels_to_reach({"n_labels": n, "accuracy": acc[s]}, final)
             for s in STRATEGIES}
    tab.add_row(f"labels to reach {final:.4f}", *(str(reach[s]) for s in STRATEGIES))
    con.print(tab)
    t2 = Table(title=f"{args.target} found (mean of {args.seeds} seeds; "
                     f"{np.mean(y == args.target):.1%} of the set)")
    t2.add_column("labels", justify="right")
    for s in STRATEGIES:
        t2.add_column(s, justify="right")
    for i, k in enumerate(n):
        if k in (n[0], n[-1]) or k % (5 * args.batch) == 0:
            t2.add_row(str(k), *(f"{found[s][i]:.1f}" for s in STRATEGIES))
    t2.add_row("per follow-up", *(f"{found[s][-1] / n[-1]:.3f}" for s in STRATEGIES))
    con.print(t2)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for s in STRATEGIES:
        ax[0].plot(n, acc[s], label=s)
        ax[1].plot(n, found[s], label=s)
    ax[0].axhline(final, ls=":", c="grey", lw=1)
    ax[0].set(xlabel="labels (spectra taken)", ylabel="test accuracy",
              title="SDSS star/galaxy/QSO")
    ax[1].set(xlabel="labels (spectra taken)", ylabel=f"{args.target} found",
              title="discovery of the rare class")
    ax[0].legend()
    fig.tight_layout()
    args.png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.png, dpi=100)
    con.print(f"wrote {args.png}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"curves": curves, "labels_to_reach": reach,
                                         "random_final": final}, indent=2))


if __name__ == "__main__":
    main()

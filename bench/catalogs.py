"""Benchmark: skyfm's catalogue models beside boosted trees on the real shared catalogues
(SDSS DR14 star/galaxy/QSO and photo-z from ugriz, HTRU2 pulsars, MAGIC gamma/hadron), and
the CLIP-style photometry <-> (class, redshift) alignment on SDSS (``--tasks sdss_clip``).

    SKYFM_DATA_DIR=/work/shared/data python bench/catalogs.py [--tasks sdss_class,magic]
        [--json runs/catalogs.json]

Every task uses one stratified 70/30 split (seed 0); the skyfm model and its baseline are
fitted in the same run on the same rows (see skyfm/benchmarks/catalogs.py).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits

from skyfm.benchmarks.catalogs import TASKS

COLUMNS = {
    "sdss_class": ["accuracy", "macro_f1", "QSO_recall", "QSO_precision", "coverage_95",
                   "mean_set_size"],
    "sdss_photoz": ["n_train", "sigma_nmad", "outlier_fraction", "coverage_68", "coverage_95",
                    "mae", "rmse"],
    "htru2": ["accuracy", "pulsar_f1", "pulsar_recall", "pulsar_precision"],
    "sdss_clip": ["n_test", "recall@1", "recall@5", "recall@10", "match@1", "match@5",
                  "match@10", "accuracy", "macro_f1", "QSO_recall", "galaxy_sigma_nmad",
                  "galaxy_outliers", "qso_sigma_nmad", "qso_outliers"],
    "magic": ["target_efficiency", "gamma_efficiency", "hadron_acceptance", "ratio_vs_cut",
              "ratio_68", "cut_alpha_deg", "cut_width_mm"],
}


def _fmt(v) -> str:
    if v is None:
        return "-"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=1, help="OpenMP/BLAS threads")
    args = ap.parse_args()
    con = Console(width=200)
    out = {}
    for task in args.tasks.split(","):
        t0 = time.perf_counter()
        # one OpenMP thread: boosted trees on a few thousand rows gain nothing from more, and
        # on a shared, oversubscribed machine OpenMP's spinning threads made them 30x slower
        with threadpool_limits(args.threads):
            rows = TASKS[task](seed=args.seed, log=con.log)
        out[task] = rows
        cols = COLUMNS[task]
        tab = Table(title=f"{task} (seed {args.seed}, {time.perf_counter() - t0:.0f} s)")
        for c in ["task", "method", *cols]:
            tab.add_column(c, justify="right", no_wrap=c == "method")
        for r in rows:
            tab.add_row(r["task"], r["method"], *(_fmt(r.get(c)) for c in cols))
        con.print(tab)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

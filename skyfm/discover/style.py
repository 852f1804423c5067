"""One look for every plot: a fixed colour per photometric band, the same in every panel.

:func:`band_colour` maps a band name (any spelling :func:`skyfm.data.bands.resolve_band`
knows: ``zg``, ``ZTF_g``, ``g``) to one colour, so ``g`` is green in the candidate's panel,
its neighbour's panel and every other plot of the run. :func:`plot_lightcurve` draws a light
curve with those colours (detections with error bars, upper limits as open triangles).
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["BAND_COLOURS", "band_colour", "plot_lightcurve"]

#: canonical band -> colour (blue to red roughly follows wavelength; greys for z/y)
BAND_COLOURS: dict[str, str] = {
    "FUV": "#7b3294", "NUV": "#9e4fb8", "u": "#6a3d9a", "U": "#6a3d9a",
    "B": "#1f5fbf", "BP": "#1f77b4", "g": "#2ca02c", "c": "#17becf",
    "V": "#7ab317", "G": "#5b8c2a", "Kp": "#5b8c2a", "r": "#d62728", "R": "#e3542b",
    "o": "#ff7f0e", "RP": "#b2182b", "i": "#8b0000", "I": "#800000", "TESS": "#a0522d",
    "z": "#555555", "y": "#999999", "J": "#8c564b", "H": "#6b4226", "Ks": "#3d2b1f",
    "W1": "#444444", "W2": "#222222",
}
# unknown bands: a stable pick from this list (by the name's hash), never matplotlib's cycle
_SPARE = ("#e377c2", "#bcbd22", "#17becf", "#9467bd", "#8c564b", "#7f7f7f")


def band_colour(band) -> str:
    """The colour of ``band`` (a name in any spelling the band table knows)."""
    from skyfm.data.bands import resolve_band

    canon, _ = resolve_band(str(band))  # an unknown spelling keeps its own name
    if canon in BAND_COLOURS:
        return BAND_COLOURS[canon]
    h = int(hashlib.sha256(str(canon).encode()).hexdigest()[:8], 16)
    return _SPARE[h % len(_SPARE)]


def plot_lightcurve(lc, ax, title: str | None = None):
    """Errorbar plot of ``lc`` per band in the fixed band colours. Returns the axes."""
    for b in lc.bands:
        m = lc.band == b
        col = band_colour(b)
        det = m & ~lc.upper_limit
        ax.errorbar(lc.time[det], lc.value[det], yerr=np.nan_to_num(lc.error[det]), fmt="o",
                    ms=3, alpha=0.85, color=col, label=str(b))
        lim = m & lc.upper_limit
        if lim.any():
            ax.plot(lc.time[lim], lc.value[lim], "v", ms=4, alpha=0.45, color=col,
                    markerfacecolor="none")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(5))  # MJDs are long numbers: a few ticks only
    ax.set_xlabel("phase" if lc.meta.get("folded") else "time [MJD, d]")
    if lc.kind == "mag":
        ax.set_ylabel("magnitude [mag]")
        ax.invert_yaxis()
    else:
        ax.set_ylabel(f"flux [{lc.flux_unit or 'arb.'}]")
    if title is not None:
        ax.set_title(title, fontsize=9)
    if len(lc.bands) > 1:
        ax.legend(fontsize=7, title="band", title_fontsize=7)
    return ax

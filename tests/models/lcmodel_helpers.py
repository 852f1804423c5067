"""Small synthetic light curves for the lcmodel tests."""
import numpy as np

from skyfm.data.observations import LightCurve


def make_lc(n=60, bands=("g", "r"), period=0.7, kind="mag", seed=0, label=None):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 300, n)) + np.arange(n) * 1e-5
    b = rng.choice(list(bands), n)
    v = 17 + 0.3 * np.sin(2 * np.pi * t / period) + rng.normal(0, 0.02, n)
    e = np.full(n, 0.02)
    if kind == "flux":
        v, e = 10 ** (-0.4 * (v - 27.5)), e * 10 ** (-0.4 * (v - 27.5))
    return LightCurve(t, v, e, b, kind=kind, object_id=f"o{seed}", label=label)


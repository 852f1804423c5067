"""The period search: coarse NFFT periodogram + exact refinement of the highest peaks."""
import numpy as np
import pytest

from skyfm.timeseries import period as ps


def _scargle(t, y, f):
    """Textbook Lomb-Scargle (with the time offset tau), y centred, f in cycles/day."""
    out = []
    for fk in f:
        w = 2 * np.pi * fk
        tau = np.arctan2(np.sin(2 * w * t).sum(), np.cos(2 * w * t).sum()) / (2 * w)
        c, s = np.cos(w * (t - tau)), np.sin(w * (t - tau))
        out.append((c @ y) ** 2 / (c @ c) + (s @ y) ** 2 / (s @ s))
    return np.array(out)


def test_ls_power_matches_textbook_formula():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 500, 150))
    y = np.sin(2 * np.pi * t / 3.3) + rng.normal(0, 0.3, t.size)
    y -= y.mean()
    f0, df, m = np.array([0.05, 0.303, 1.7]), 1e-3, 5
    got = ps._ls_power(2 * np.pi * t, y, f0, df, m, norm=1.0)
    want = _scargle(t, y, (f0[:, None] + df * np.arange(m)).ravel()).reshape(3, m)
    np.testing.assert_allclose(got, want, rtol=1e-8)


@pytest.mark.parametrize("period", [0.137, 0.61, 7.3, 95.0])
def test_refined_search_finds_periods_on_a_coarse_grid(period):
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0, 1100, 200))
    v = 0.4 * np.sin(2 * np.pi * t / period) + rng.normal(0, 0.05, t.size)
    p_new, snr = ps.estimate_period(t, v, 0.1, resolution=1.0, candidates=8)
    # the coarse grid's step is a whole peak width (period^2 / span); refined: a small fraction
    assert abs(p_new - period) < 0.15 * period**2 / 1100
    assert snr > 5


def test_short_or_constant_curves_fall_back_to_the_span():
    t = np.linspace(0, 50, 6)
    assert ps.estimate_period(t, np.sin(t), candidates=8) == (50.0, 0.0)
    t = np.linspace(0, 50, 40)
    p, snr = ps.estimate_period(t, np.zeros(40), candidates=8)
    assert p == 50.0 and snr == 0.0


def _nightly_sawtooth(period, seed, n=120, bands=("B", "R"), spread_h=0.5, noise=0.1):
    """An RRab-like sawtooth seen from the ground: one visit a night within ~``spread_h`` of the
    same sidereal time, seasons with gaps -- the sampling whose one-day aliases fool a
    one-term periodogram. Returns t, centred values, errors, band index."""
    rng = np.random.default_rng(seed)
    nights = np.sort(rng.choice(np.arange(900), n, replace=False)).astype(float)
    nights = nights[(nights % 365) < 240]                    # the target sets for a season
    t = nights / 1.0027379 + rng.normal(0, spread_h / 24, nights.size)
    ph = (t / period) % 1.0
    shape = np.where(ph < 0.15, ph / 0.15, 1 - (ph - 0.15) / 0.85)  # fast rise, slow decline
    b = rng.integers(0, len(bands), t.size)
    amp = np.array([1.0, 0.7])[b]
    err = np.full(t.size, noise)
    v = -amp * shape + rng.normal(0, noise, t.size)
    for k in range(len(bands)):
        v[b == k] -= np.median(v[b == k])
    return t, v, err, b


def test_multiband_fourier_fit_resolves_daily_aliases():
    """Over many nightly-sampled pulsators the 3-term multi-band choice among peaks and their
    daily aliases recovers the true period far more often than the one-term peak (here
    ~0.8 against ~0.3)."""
    periods = np.random.default_rng(5).uniform(0.3, 0.8, 40)

    def hits(harmonics):
        ok = 0
        for s, p in enumerate(periods):
            t, v, e, b = _nightly_sawtooth(p, s)
            got, _ = ps.estimate_period(t, v, 0.1, 1.0, 8, err=e, band=b, harmonics=harmonics)
            ok += abs(got / p - 1) < 0.01
        return ok / periods.size

    one, three = hits(0), hits(3)
    assert three >= 0.7
    assert three >= one + 0.3


def test_fourier_chi2_is_zero_for_an_exact_multiband_series():
    t = np.linspace(0, 30, 120)
    b = np.arange(t.size) % 2
    f = 0.37
    y = np.sin(2 * np.pi * f * t) + 0.3 * np.cos(4 * np.pi * f * t) + np.where(b, 0.5, -0.2)
    onehot = (b[None, :] == np.arange(2)[:, None]).astype(float)
    chi2 = ps._fourier_chi2(t, y, np.ones(t.size), onehot, np.array([f, 0.29]), 3)
    assert chi2[0] < 1e-6 * (y**2).sum()
    assert chi2[1] > 0.1 * (y**2).sum()


def test_fourier_chi2_matches_astropy_multiband_periodogram():
    """The hand-written fit (kept for speed: ~6x faster per curve on 16 frequencies) is
    astropy's LombScargleMultiband with a shared 3-term base model and per-band offsets."""
    from astropy.timeseries import LombScargleMultiband

    rng = np.random.default_rng(0)
    n = 240
    t = np.sort(rng.uniform(0, 900, n))
    b = rng.integers(0, 2, n)
    e = rng.uniform(0.05, 0.2, n)
    y = np.sin(2 * np.pi * t / 0.55) + 0.3 * b + rng.normal(0, e)
    f = np.linspace(0.5, 3.0, 16)
    want = LombScargleMultiband(t, y, b, e, nterms_base=3, nterms_band=0).power(
        f, method="flexible")
    w = 1 / e**2
    onehot = (b[None, :] == np.arange(2)[:, None]).astype(float)
    offsets = np.array([np.average(y[b == k], weights=w[b == k]) for k in range(2)])
    chi0 = (w * (y - offsets[b]) ** 2).sum()
    got = 1 - ps._fourier_chi2(t, y, w, onehot, f, 3) / chi0
    np.testing.assert_allclose(got, want, atol=1e-7)

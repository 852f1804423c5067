import pytest


@pytest.fixture(scope="session")
def encoder():
    from skyfm.models.lightcurve import LightCurveEncoder

    return LightCurveEncoder.from_pretrained("skyfm-lc-base")


@pytest.fixture(scope="session")
def sim_set():
    from skyfm.sim import simulate_lightcurves

    lcs = simulate_lightcurves(12, classes=["rrab", "mira", "eb_detached", "sn_ia"], survey="ztf",
                               seed=3)
    return list(lcs)

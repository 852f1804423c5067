"""Fixtures of the discovery tests (helpers live in discover_synth.py)."""

from __future__ import annotations

import pytest
from discover_synth import make_lightcurves, make_outlier_lc


@pytest.fixture
def disc_lcs():
    return make_lightcurves()


@pytest.fixture
def disc_lcs_with_outlier():
    return make_lightcurves(79) + [make_outlier_lc()]

"""The digital twin: labelled simulated light curves, spectra and galaxy images.

Light curves (:func:`simulate_lightcurves`, :func:`inject_lightcurve`) with survey cadences
and noise (ZTF, LSST, OGLE, EROS); APOGEE spectra from The Payne emulator
(:func:`simulate_spectra`); galaxy images with galsim (:func:`simulate_galaxies`,
:func:`inject_image`); strong lenses ray-traced into real cutouts (:func:`inject_lens`);
and a check of the twin against real catalogues (:func:`check_twin`). Heavy modules are
imported lazily.
"""

from __future__ import annotations

from skyfm.sim.cadence import SURVEYS, get_survey
from skyfm.sim.lightcurves import (
    ALL_CLASSES,
    COMMON_CLASSES,
    RARE_CLASSES,
    inject_lightcurve,
    simulate_lightcurves,
)

__all__ = [
    "ALL_CLASSES",
    "COMMON_CLASSES",
    "GALAXY_CLASSES",
    "RARE_CLASSES",
    "SURVEYS",
    "check_twin",
    "get_survey",
    "inject_image",
    "inject_lens",
    "inject_lightcurve",
    "simulate_galaxies",
    "simulate_lightcurves",
    "simulate_spectra",
]

_LAZY = {
    "simulate_spectra": "skyfm.sim.spectra",
    "simulate_galaxies": "skyfm.sim.galaxies",
    "inject_image": "skyfm.sim.galaxies",
    "inject_lens": "skyfm.sim.lenses",
    "GALAXY_CLASSES": "skyfm.sim.galaxies",
    "check_twin": "skyfm.sim.check",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'skyfm.sim' has no attribute {name!r}")

"""Observations, readers and the data registry (no torch in here)."""

from skyfm.data.observations import (Catalog, Image, LightCurve, ObservationSet, Provenance,
                                     ReadReport, Spectrum)
from skyfm.data.io import read

__all__ = ["read", "LightCurve", "Spectrum", "Image", "Catalog", "ObservationSet", "Provenance",
           "ReadReport"]

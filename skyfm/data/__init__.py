"""Observations, readers and the data registry (no torch in here)."""

from skyfm.data.io import read
from skyfm.data.layout import load_dataset, write_dataset
from skyfm.data.observations import (
                                     Catalog,
                                     Image,
                                     LightCurve,
                                     ObservationSet,
                                     Provenance,
                                     ReadReport,
                                     Spectrum,
)
from skyfm.data.registry import dataset_path

__all__ = ["read", "load_dataset", "write_dataset", "dataset_path", "LightCurve", "Spectrum", "Image", "Catalog", "ObservationSet", "Provenance",
           "ReadReport"]

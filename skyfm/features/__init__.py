"""Classical (hand-crafted) features: the honest baseline for the foundation models."""

from skyfm.features.lightcurves import (
    GradientBoostedBaseline,
    choose_bands,
    lightcurve_feature_names,
    lightcurve_features,
)

__all__ = ["GradientBoostedBaseline", "choose_bands", "lightcurve_feature_names",
           "lightcurve_features"]

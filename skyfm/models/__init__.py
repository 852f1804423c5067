"""X models. The contract every modality follows is in :mod:`skyfm.models.base` (``Encoder``,
``Embedder``, ``FeatureSpec``) and the modalities are registered in
:mod:`skyfm.models.registry`. One module per modality: light curves in
:mod:`skyfm.models.lightcurve` (``LightCurveEncoder``, tokenisation in
:mod:`skyfm.models.lightcurve_tokens`) and :mod:`skyfm.models.lightcurve_embedder`; spectra
(:mod:`skyfm.models.spectrum`), images (:mod:`skyfm.models.image`) and catalogue rows
(:mod:`skyfm.models.table`) have baseline encoders until their trained models land. Heads in
:mod:`skyfm.models.heads`, ONNX export in :mod:`skyfm.models.export`. Importing this package
does not import torch."""

"""Foundation models. Light curves: :mod:`skyfm.models.lightcurve` (``LightCurveEncoder``),
tokenisation in :mod:`skyfm.models.lightcurve_tokens` (numpy only), heads in
:mod:`skyfm.models.heads`, ONNX export in :mod:`skyfm.models.export`. Importing this package
does not import torch."""

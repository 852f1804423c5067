"""Time-series basics under the light-curve models, features and twin: the period search
(:mod:`skyfm.timeseries.period`)."""

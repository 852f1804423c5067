"""skyfm: open, offline-first astronomy foundation models.

>>> import skyfm
>>> obs = skyfm.read("observations.parquet")      # doctest: +SKIP
"""

from skyfm.errors import DataFormatError, DataNotFoundError, SkyfmError

__version__ = "0.1.0"


def read(path, **kwargs):
    """Read any supported file or directory into skyfm observations (see :func:`skyfm.data.read`)."""
    from skyfm.data import read as _read

    return _read(path, **kwargs)


__all__ = ["read", "SkyfmError", "DataFormatError", "DataNotFoundError", "__version__"]

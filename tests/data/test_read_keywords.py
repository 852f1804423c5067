"""``read()`` refuses keywords its reader does not take (``limt=5`` used to read everything)."""

import inspect

import pytest

from skyfm.data.io import READERS, _check_keywords, read
from skyfm.data.io.registry import get_reader


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_unknown_keyword_is_refused_for_every_reader(fmt):
    with pytest.raises(TypeError, match=f"'limt' for reader '{fmt}'"):
        _check_keywords(fmt, {"limt": 5, "dataset": None})
    kept = _check_keywords(fmt, {"limit": 5, "strict": True, "progress": None, "dataset": None})
    assert kept["limit"] == 5  # every reader takes limit; strict/progress where they apply


def test_fits_passes_keywords_to_the_reader_it_chooses(tmp_path):
    import numpy as np
    from astropy.io import fits

    f = tmp_path / "img.fits"
    fits.PrimaryHDU(np.ones((4, 4), np.float32)).writeto(f)
    assert len(read(f, limit=1)) == 1
    with pytest.raises(TypeError, match="limt"):
        read(f, limt=1)


@pytest.mark.parametrize("fmt", sorted(set(READERS) - {"fits"}))  # fits passes keywords on
def test_readers_have_no_catch_all(fmt):
    params = inspect.signature(get_reader(fmt)).parameters.values()
    assert not any(q.kind is q.VAR_KEYWORD for q in params)


def test_helper_readers_have_no_catch_all():
    from skyfm.data.io.alerce import read_alerce_features

    params = inspect.signature(read_alerce_features).parameters.values()
    assert not any(q.kind is q.VAR_KEYWORD for q in params)


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_read_with_a_typo_raises_for_every_reader(fmt, tmp_path):
    """``read(path, format=fmt, limt=5)`` refuses the keyword before the reader runs."""
    f = tmp_path / "x.dat"
    f.write_text("a b\n1 2\n")
    with pytest.raises(TypeError, match=f"'limt' for reader '{fmt}'"):
        read(f, format=fmt, limt=5)


def test_read_of_a_file_with_a_typo(tmp_path):
    f = tmp_path / "lc.csv"
    f.write_text("object_id,mjd,band,mag,mag_err\na,1.0,g,18.0,0.1\na,2.0,g,18.1,0.1\n")
    with pytest.raises(TypeError, match="limt"):
        read(f, limt=1)

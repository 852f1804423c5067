"""Reproducible, stratified train/test splits by object, written in the generic layout.

``skyfm train split eros --out runs/eros_split`` writes ``train/`` and ``test/`` (light curves +
labels.csv) of the shared EROS set (its RAMP training part), 70/30, stratified, seed 0.
The same ids are what pretraining leaves out (see :func:`test_ids`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

SPLIT_SETS = {"eros": "lc_eros_ramp_variable_stars", "plasticc": "plasticc_train_snmachine"}


def stratified_split(labels: Sequence, test_fraction: float = 0.3, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(train_index, test_index): per class, a seeded random ``test_fraction`` goes to test."""
    y = np.asarray([str(v) for v in labels])
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        test.extend(idx[:round(test_fraction * idx.size)])
    test = np.sort(np.array(test, int))
    train = np.setdiff1d(np.arange(y.size), test)
    return train, test


def load_set(name: str, limit: int | None = None):
    """Read a registered shared light-curve set ('eros' or 'plasticc', or a folder name)."""
    import os

    from skyfm.data import read
    from skyfm.errors import DataNotFoundError

    folder = SPLIT_SETS.get(name, name)
    try:
        from skyfm.data.registry import dataset_path

        path = dataset_path(folder)
    except (ImportError, AttributeError):
        root = os.environ.get("SKYFM_DATA_DIR")
        if not root:
            raise DataNotFoundError(f"SKYFM_DATA_DIR is not set; needed for the data set {folder!r}")
        path = Path(root) / folder
    kw = {"limit": limit} if limit else {}
    obs = read(path, **kw)
    return [o for o in obs if o.label is not None and str(o.label) != "nan"]


def split_set(name: str, test_fraction: float = 0.3, seed: int = 0, limit: int | None = None,
              max_per_class: int | None = None, min_quality: float | None = None):
    """(train, test) lists of LightCurves of a shared set, stratified by label.

    ``min_quality`` then keeps the objects whose ``meta["quality"]`` is at least that (the
    RAMP EROS set's human flag, 0 worst .. 3 best); ``max_per_class`` keeps (seeded) at most
    that many objects per class in total, shared 70/30 between the parts. Both give subsets
    whose test part stays inside the full split's test part, so pretraining on the full
    train part never sees it."""
    from skyfm.errors import DataFormatError

    lcs = load_set(name, limit)
    tr, te = stratified_split([o.label for o in lcs], test_fraction, seed)
    train, test = [lcs[i] for i in tr], [lcs[i] for i in te]
    if min_quality is not None:
        missing = [o.object_id for o in lcs if "quality" not in o.meta]
        if missing:
            raise DataFormatError(
                f"min_quality given, but {len(missing)} objects have no quality flag "
                f"(first: {missing[0]})", file=name, field="quality",
                expected="a numeric quality per object (the RAMP EROS set has one)")
        train = [o for o in train if float(o.meta["quality"]) >= min_quality]
        test = [o for o in test if float(o.meta["quality"]) >= min_quality]
    if max_per_class:
        rng = np.random.default_rng(seed + 1)

        def cap(part, k):
            y = np.array([str(o.label) for o in part])
            keep = []
            for c in np.unique(y):
                keep.extend(rng.permutation(np.flatnonzero(y == c))[:k])
            return [part[i] for i in sorted(keep)]

        train = cap(train, round(max_per_class * (1 - test_fraction)))
        test = cap(test, round(max_per_class * test_fraction))
    return train, test


def test_ids(name: str, test_fraction: float = 0.3, seed: int = 0, **kw) -> set[str]:
    """Object ids of the test part of ``split_set`` (never used for pretraining)."""
    return {o.object_id for o in split_set(name, test_fraction, seed, **kw)[1]}


def make_split(name: str, out_dir, test_fraction: float = 0.3, seed: int = 0,
               max_per_class: int | None = None, overwrite: bool = True,
               min_quality: float | None = None) -> tuple[Path, Path]:
    """Write ``out_dir/train`` and ``out_dir/test`` in the generic layout. Returns both paths."""
    from skyfm.data.layout import write_dataset

    train, test = split_set(name, test_fraction, seed, max_per_class=max_per_class,
                            min_quality=min_quality)
    out = Path(out_dir)
    write_dataset(train, out / "train", overwrite=overwrite)
    write_dataset(test, out / "test", overwrite=overwrite)
    return out / "train", out / "test"


def make_eros_split(out_dir, test_fraction: float = 0.3, seed: int = 0) -> tuple[Path, Path]:
    """The EROS split used for the reported numbers (70/30 by object, stratified, seed 0)."""
    return make_split("eros", out_dir, test_fraction, seed)


# ------------------------------------------------------------------ Galaxy Zoo images
GALAXYZOO = "images_galaxyzoo1_sdss"
#: Galaxy Zoo 1 class -> its 5-way morphology label (both spiral senses are "spiral")
MORPHOLOGY = {"elliptical": "elliptical", "clockwise_spiral": "spiral",
              "anticlockwise_spiral": "spiral", "edge_on": "edge_on", "merger": "merger",
              "dont_know": "dont_know"}
#: the chirality label set: spirals only, by sense of winding
CHIRALITY = ("clockwise_spiral", "anticlockwise_spiral")


def galaxyzoo_split(data=None, test_fraction: float = 0.3, seed: int = 0):
    """(train, test) lists of the labelled Galaxy Zoo 1 images (lazy, labels = GZ1 class
    names), stratified by the six GZ1 classes (so each spiral sense is split 70/30 too)."""
    from skyfm.data.io.images import read_galaxyzoo

    if data is None:
        from skyfm.data.registry import dataset_path

        data = dataset_path(GALAXYZOO)
    imgs = [o for o in read_galaxyzoo(data) if o.label is not None]
    tr, te = stratified_split([o.label for o in imgs], test_fraction, seed)
    return [imgs[i] for i in tr], [imgs[i] for i in te]


def make_galaxyzoo_split(out_dir, data=None, test_fraction: float = 0.3, seed: int = 0,
                         overwrite: bool = True) -> dict[str, tuple[Path, Path]]:
    """Write the two Galaxy Zoo label sets in the generic layout, from one split:
    ``out_dir/morphology/{train,test}`` (every labelled image; elliptical, spiral, edge_on,
    merger, dont_know) and ``out_dir/chirality/{train,test}`` (the spirals of the same parts;
    clockwise_spiral, anticlockwise_spiral). The JPEG bytes are copied unchanged."""
    from skyfm.data.layout import write_dataset

    train, test = galaxyzoo_split(data, test_fraction, seed)
    out = Path(out_dir)
    paths = {}
    for name in ("morphology", "chirality"):
        for part, obs in (("train", train), ("test", test)):
            keep = []
            for o in obs:
                if name == "chirality" and o.label not in CHIRALITY:
                    continue
                c = copy_lazy(o)
                c.label = MORPHOLOGY[o.label] if name == "morphology" else o.label
                keep.append(c)
            write_dataset(keep, out / name / part, overwrite=overwrite)
        paths[name] = (out / name / "train", out / name / "test")
    return paths


def copy_lazy(img):
    """A shallow copy of a (lazy) image whose label may be changed without touching ``img``."""
    import copy

    c = copy.copy(img)
    c.meta = dict(img.meta)
    return c

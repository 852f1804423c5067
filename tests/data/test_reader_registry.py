"""The reader registry: registration, identify ordering, ambiguity, identify never raising, the
data registry's recorded reader, and ``detect_format`` unchanged on the shared sets."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from skyfm.data.io import READERS, detect_format, read
from skyfm.data.io import registry as reg
from skyfm.errors import UnknownFormatError

SNAPSHOT = Path(__file__).with_name("detect_format_snapshot.json")
MAGIC = b"\x00SKYFMTEST\x00"


def _is_test_file(p):
    with open(p, "rb") as fh:
        return fh.read(len(MAGIC)) == MAGIC


@pytest.fixture
def registered():
    """Register test readers for one test; remove them afterwards."""
    names = []

    def add(name, *args, **kw):
        reg.register_reader(name, *args, **kw)
        names.append(name)

    yield add
    for n in names:
        reg.unregister_reader(n)


def _reader(path, *, limit=None):
    from skyfm.data.observations import ObservationSet

    return ObservationSet([])


@pytest.fixture
def test_file(tmp_path):
    f = tmp_path / "thing.bin"
    f.write_bytes(MAGIC + b"payload")
    return f


def test_register_identify_and_get(registered, test_file):
    assert reg.identify_format(test_file) == []  # no built-in reader claims it
    registered("t_low", _reader, _is_test_file, modality="catalog", priority=500)
    registered("t_high", _reader, _is_test_file, modality="lightcurve", priority=600,
               extensions=(".bin",))
    assert reg.identify_format(test_file) == ["t_high", "t_low"]  # best first
    assert reg.get_reader("t_high") is _reader
    assert detect_format(test_file) == "t_high"
    assert any(r["name"] == "t_high" and r["extensions"] == ".bin" for r in reg.formats_table())
    with pytest.raises(ValueError, match="already registered"):
        reg.register_reader("t_high", _reader, _is_test_file, modality="image")
    with pytest.raises(ValueError, match="modality 'lightcurves' is not one of"):
        reg.register_reader("t_typo", _reader, _is_test_file, modality="lightcurves")


def test_readers_listing_follows_the_registry():
    assert set(READERS) == set(reg.reader_names())
    for name in ("eros", "alerts", "catalog", "layout", "image_folder", "spectra_table"):
        assert reg.get_entry(name).function().__name__.startswith(("read_", "load_"))


def test_unknown_reader_name_is_a_clear_error():
    with pytest.raises(UnknownFormatError, match="unknown format 'nope'.*one of .*eros"):
        reg.get_reader("nope")


def test_readers_given_as_strings_are_imported_lazily(registered, test_file):
    registered("t_lazy", "skyfm.data.io.catalogs:read_catalog",
               f"{__name__}:_is_test_file", modality="catalog", priority=700)
    assert reg.identify_format(test_file)[0] == "t_lazy"
    from skyfm.data.io.catalogs import read_catalog

    assert reg.get_reader("t_lazy") is read_catalog


def test_equal_priority_of_different_modalities_is_refused(registered, test_file):
    registered("t_lc", _reader, _is_test_file, modality="lightcurve", priority=800)
    registered("t_img", _reader, _is_test_file, modality="image", priority=800)
    with pytest.raises(UnknownFormatError) as err:
        detect_format(test_file)
    msg = str(err.value)
    assert "t_lc (lightcurve)" in msg and "t_img (image)" in msg and "format=" in msg
    assert str(test_file) in msg
    assert read(test_file, format="t_img").report is not None  # format= chooses


def test_equal_priority_of_one_modality_takes_the_first_registered(registered, test_file):
    registered("t_a", _reader, _is_test_file, modality="spectrum", priority=800)
    registered("t_b", _reader, _is_test_file, modality="spectrum", priority=800)
    assert detect_format(test_file) == "t_a"


def test_a_raising_identify_function_is_not_mine(registered, test_file):
    def broken(p):
        raise OSError("unreadable")

    registered("t_broken", _reader, broken, modality="catalog", priority=900)
    assert "t_broken" not in reg.identify_format(test_file)


def _garbage_paths(tmp: Path) -> list[Path]:
    files = {
        "garbage.bin": bytes(range(256)) * 8,
        "empty.csv": b"",
        "truncated.fits": b"SIMPLE  =                    T" + b" " * 50,
        "truncated.fits.gz": gzip.compress(b"SIMPLE  = T" + b" " * 69)[:20],
        "bad.gz": b"\x1f\x8b\x08\x00garbage",
        "notparquet.parquet": b"PAR1\x00\x01\x02",
        "notavro.avro": b"Obj\x01\xff\xff",
        "notnpz.npz": b"PK\x03\x04\x00",
        "notbz.tar.bz2": b"BZh9\x00\x00",
        "binary.csv": b"\xff\xfe\x00\x00" * 64,
        "time_points_b.csv": b"time_points_b,\n\"[1,2\n",
        "half.jpg": b"\xff\xd8\xff",
        "x.xml": b"<?xml version='1.0'?><VOTABLE><broken",
    }
    out = []
    for name, data in files.items():
        (tmp / name).write_bytes(data)
        out.append(tmp / name)
    (tmp / "folder.csv").mkdir()
    (tmp / "folder.csv" / "junk.tar.bz2").write_bytes(b"\x00")
    out.append(tmp / "folder.csv")
    out.append(tmp / "missing.csv")
    if os.geteuid() != 0:  # root reads anything: the FIFO below stands in for it then
        locked = tmp / "locked.csv"
        locked.write_bytes(b"a,b\n1,2\n")
        locked.chmod(0)
        out.append(locked)
    fifo = tmp / "pipe.csv"
    os.mkfifo(fifo)  # opening it would block: identify must never read it
    out.append(fifo)
    return out


def test_identify_functions_never_raise(tmp_path):
    """Each registered identify function, called directly, on garbage, truncated, missing,
    directory and FIFO paths: a False or True answer, never an exception (nor a blocked
    read of the FIFO)."""
    paths = _garbage_paths(tmp_path)
    for entry in (reg.get_entry(n) for n in reg.reader_names()):
        for ident in (entry.identify, entry.folder_identify):
            if ident is None:
                continue
            fn = reg._resolve(ident)
            for p in paths:
                assert fn(p) in (True, False), (entry.name, p)
    for p in paths:
        assert isinstance(reg.identify_format(p), list)
    assert reg.identify_format(tmp_path / "pipe.csv") == []


def _copy_set_files(src: dict[str, bytes], folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name, data in src.items():
        (folder / name).write_bytes(data)
    return folder


def test_a_registered_set_uses_the_reader_the_registry_records(tmp_path):
    """A folder named like a registered set and holding one of its files is read with the
    recorded reader, even where content sniffing would choose another."""
    labels = b"oid,classALeRCE\nZTF18a,SNIa\n"
    alone = _copy_set_files({"30_sne_labels.csv": labels}, tmp_path / "elsewhere")
    assert detect_format(alone) == "catalog"
    folder = _copy_set_files({"30_sne_labels.csv": labels}, tmp_path / "lc_alerce_ztf_sne30")
    assert detect_format(folder) == "alerce"
    # the same name without any of the set's files is not the set
    other = _copy_set_files({"mine.csv": labels}, tmp_path / "x" / "lc_alerce_ztf_sne30")
    assert detect_format(other) == "catalog"


def test_inside_a_set_the_recorded_reader_comes_first_when_it_claims_the_file(tmp_path):
    table = b"object_id,mjd,passband,flux,flux_err\n1,59000.0,0,10.0,1.0\n"
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "a_detections.csv").write_bytes(table)
    assert detect_format(loose / "a_detections.csv") == "alerce"  # by its name
    folder = _copy_set_files({"plasticc_train_metadata.parquet": b"PAR1",
                              "a_detections.csv": table}, tmp_path / "plasticc_train_snmachine")
    assert detect_format(folder / "a_detections.csv") == "plasticc"  # the set's reader
    assert detect_format(folder) == "plasticc"


def test_registry_readers_are_registered_names():
    from skyfm.data import registry

    for name, entry in registry.registry().items():
        assert entry.get("reader") is None or entry["reader"] in READERS, name


def _data_root() -> Path:
    root = os.environ.get("SKYFM_DATA_DIR")
    if not root or not Path(root).is_dir():
        pytest.skip("needs the shared data sets: SKYFM_DATA_DIR is not set or not a folder")
    return Path(root)


def test_detect_format_unchanged_on_the_shared_sets():
    """Every path recorded before the registry existed gets the same reader (or error)."""
    root = _data_root()
    snap = json.loads(SNAPSHOT.read_text())["shared"]
    checked, diffs = 0, []
    for rel, want in sorted(snap.items()):
        p = root / rel
        if not (p.exists() or p.is_symlink()):
            continue
        try:
            got = detect_format(p)
        except Exception as exc:  # noqa: BLE001 - recorded as ERR:<class>
            got = "ERR:" + type(exc).__name__
        checked += 1
        if got != want:
            diffs.append((rel, want, got))
    if not checked:
        pytest.skip(f"none of the snapshot's paths is under SKYFM_DATA_DIR={root}")
    assert not diffs, diffs


def test_detect_format_unchanged_on_the_fuzz_seeds(tmp_path):
    """The fuzz engine's seed inputs (cut from the shared sets) keep their reader."""
    from skyfm.testing.fuzz_seeds import build_seeds

    root = _data_root()
    snap = json.loads(SNAPSHOT.read_text())["seeds"]
    diffs, checked = [], 0
    for i, s in enumerate(build_seeds(root)):
        base = tmp_path / f"{i:02d}_{s.name}"
        for rel, data in s.files.items():
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            (base / rel).write_bytes(data)
        for target, p in (("file", base / s.main), ("dir", base)):
            key = f"{s.name}:{s.main}:{target}"
            if key not in snap:
                continue
            try:
                got = detect_format(p)
            except Exception as exc:  # noqa: BLE001 - recorded as ERR:<class>
                got = "ERR:" + type(exc).__name__
            checked += 1
            if got != snap[key]:
                diffs.append((key, snap[key], got))
    if not checked:
        pytest.skip("no fuzz seed of the snapshot could be built from SKYFM_DATA_DIR")
    assert not diffs, diffs

import hashlib
import io
import json

import pytest

from skyfm.data import registry
from skyfm.errors import ChecksumError, DataNotFoundError


def test_registry_lists_every_shared_set_with_origin_and_checksums():
    reg = registry.registry()
    assert "lc_eros_ramp_variable_stars" in reg and "plasticc_train_snmachine" in reg
    for name, e in reg.items():
        assert e["origin"] and e["modality"] and isinstance(e["n"], int)
        assert e["sha256"], name
        assert all(len(h) == 64 for h in e["sha256"].values())
    assert reg["images_galaxyzoo1_sdss"]["manifests"][0]["count"] == 3998


def test_dataset_path_errors_name_variable_and_set(monkeypatch, tmp_path):
    monkeypatch.delenv("SKYFM_DATA_DIR", raising=False)
    with pytest.raises(DataNotFoundError, match="SKYFM_DATA_DIR.*|lc_eros"):
        registry.dataset_path("lc_eros_ramp_variable_stars")
    monkeypatch.setenv("SKYFM_DATA_DIR", str(tmp_path))
    with pytest.raises(DataNotFoundError) as ei:
        registry.dataset_path("lc_eros_ramp_variable_stars")
    assert "SKYFM_DATA_DIR" in str(ei.value) and "lc_eros_ramp_variable_stars" in str(ei.value)
    with pytest.raises(DataNotFoundError, match="no registered"):
        registry.dataset_path("nope")
    (tmp_path / "lc_eros_ramp_variable_stars").mkdir()
    assert registry.dataset_path("lc_eros_ramp_variable_stars").is_dir()


def _fake_set(monkeypatch, tmp_path, content=b"hello"):
    name = "catalog_magic_gamma_uci"
    d = tmp_path / name
    d.mkdir(parents=True, exist_ok=True)
    entry = {"modality": "catalog", "n": 1, "origin": "x",
             "sha256": {"magic04.data": hashlib.sha256(b"hello").hexdigest()},
             "download": {"magic04.data": "https://example.invalid/magic04.data"}}
    monkeypatch.setattr(registry, "registry", lambda: {name: entry})
    monkeypatch.setenv("SKYFM_DATA_DIR", str(tmp_path))
    return name, d


def test_verify_ok_and_mismatch(monkeypatch, tmp_path):
    name, d = _fake_set(monkeypatch, tmp_path)
    (d / "magic04.data").write_bytes(b"hello")
    assert registry.verify(name)["ok"]
    (d / "magic04.data").write_bytes(b"hellO")
    with pytest.raises(ChecksumError, match="magic04.data"):
        registry.verify(name)
    (d / "magic04.data").unlink()
    with pytest.raises(ChecksumError, match="missing"):
        registry.verify(name)


def test_fetch_verifies_checksum_without_network(monkeypatch, tmp_path):
    name, d = _fake_set(monkeypatch, tmp_path)
    seen = []

    def opener(url):
        seen.append(url)
        return io.BytesIO(b"hello")

    registry.fetch(name, opener=opener)
    assert (d / "magic04.data").read_bytes() == b"hello" and len(seen) == 1
    registry.fetch(name, opener=opener)  # already there and valid: no download
    assert len(seen) == 1
    (d / "magic04.data").unlink()
    with pytest.raises(ChecksumError):
        registry.fetch(name, opener=lambda url: io.BytesIO(b"tampered"))
    assert not (d / "magic04.data").exists()
    assert [p.name for p in d.iterdir()] == []  # no temp files left behind


def test_every_present_shared_set_matches_its_checksums(shared_data):
    shared_data("lc_eros_ramp_variable_stars")
    checked = [registry.verify(n)["name"] for n in registry.names() if registry.is_present(n)]
    assert "images_galaxyzoo1_sdss" in checked and len(checked) >= 17


def test_checksum_entry_and_manifest(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "many").mkdir()
    for i in range(5):
        (tmp_path / "many" / f"{i}.jpeg").write_text(str(i))
    e = registry.checksum_entry(tmp_path, many=3)
    assert e["sha256"] == {"a.txt": hashlib.sha256(b"x").hexdigest()}
    assert e["manifests"][0]["folder"] == "many" and e["manifests"][0]["count"] == 5
    before = e["manifests"][0]["sha256"]
    (tmp_path / "many" / "5.jpeg").write_text("new")
    assert registry.manifest_hash(tmp_path / "many")[0] != before


def test_registry_json_is_valid_json():
    data = json.loads(registry.REGISTRY_FILE.read_text())
    assert data["version"] == 1

"""The registry of shared data sets: names, modalities, counts, public origins and sha256
checksums (``registry.json`` next to this file). Sets live under ``$SKYFM_DATA_DIR/<name>``.

>>> dataset_path("lc_eros_ramp_variable_stars")          # doctest: +SKIP
PosixPath('/data/lc_eros_ramp_variable_stars')
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from skyfm.errors import ChecksumError, DataNotFoundError, SkyfmError

__all__ = [
    "ENV_VAR",
    "data_dir",
    "dataset_path",
    "entry",
    "fetch",
    "is_present",
    "list_datasets",
    "manifest_hash",
    "names",
    "registry",
    "sha256_file",
    "verify",
]

ENV_VAR = "SKYFM_DATA_DIR"
REGISTRY_FILE = Path(__file__).with_name("registry.json")


@lru_cache(maxsize=1)
def registry() -> dict:
    """All registered sets: name -> entry (modality, n, origin, reader, files, manifest...)."""
    return json.loads(REGISTRY_FILE.read_text())["datasets"]


def names() -> list[str]:
    return sorted(registry())


def entry(name: str) -> dict:
    reg = registry()
    if name not in reg:
        raise DataNotFoundError(f"no registered data set {name!r}; known sets: "
                                + ", ".join(sorted(reg)))
    return reg[name]


def data_dir(root=None) -> Path:
    """The data root: ``root`` or ``$SKYFM_DATA_DIR``."""
    root = root or os.environ.get(ENV_VAR)
    if not root:
        raise DataNotFoundError(f"{ENV_VAR} is not set: export {ENV_VAR}=/path/to/data "
                                "(the folder that holds the registered sets)")
    return Path(root)


def dataset_path(name: str, root=None) -> Path:
    """Directory of a registered set under ``$SKYFM_DATA_DIR``.

    Raises :class:`DataNotFoundError` naming the variable and the set when it is missing.
    """
    entry(name)
    root_ = root or os.environ.get(ENV_VAR)
    if not root_:
        raise DataNotFoundError(f"data set {name!r} needs {ENV_VAR}, which is not set: export "
                                f"{ENV_VAR}=/path/to/data (or run `skyfm data fetch {name}`)")
    p = Path(root_) / name
    if not p.is_dir():
        raise DataNotFoundError(f"data set {name!r} not found under {ENV_VAR}={root_} "
                                f"(looked for {p}); run `skyfm data fetch {name}`")
    return p


def is_present(name: str, root=None) -> bool:
    try:
        dataset_path(name, root)
        return True
    except DataNotFoundError:
        return False


def sha256_file(path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            b = fh.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def manifest_hash(folder: Path, pattern: str = "*") -> tuple[str, int]:
    """sha256 over the sorted ``relative/path\\tsize\\n`` lines of the files under ``folder``
    matching ``pattern``: cheap, and it changes when a file is added, removed or resized."""
    files = sorted(f for f in Path(folder).rglob(pattern) if f.is_file())
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.relative_to(folder).as_posix()}\t{f.stat().st_size}\n".encode())
    return h.hexdigest(), len(files)


def verify(name: str, root=None, progress: Callable[[int], None] | None = None) -> dict:
    """Check a present set's files against the registry. Returns ``{"files": n, "ok": True}``;
    raises :class:`ChecksumError` naming the first mismatching file."""
    e = entry(name)
    p = dataset_path(name, root)
    n = 0
    for rel, digest in e.get("sha256", {}).items():
        f = p / rel
        if not f.is_file():
            raise ChecksumError(f"{name}: {f} is missing (registry lists it)")
        got = sha256_file(f)
        if got != digest:
            raise ChecksumError(f"{name}: {f}: sha256 {got} differs from the registry's {digest}")
        n += 1
        if progress is not None:
            progress(1)
    for m in e.get("manifests", []):
        got, count = manifest_hash(p / m["folder"], m.get("pattern", "*"))
        if count != m["count"] or got != m["sha256"]:
            raise ChecksumError(f"{name}: manifest of {p / m['folder']} ({count} files) differs "
                                f"from the registry's ({m['count']} files, {m['sha256'][:12]}…)")
        n += 1
    return {"name": name, "files": n, "ok": True}


def fetch(name: str, root=None, *, progress: Callable[[int], None] | None = None,
          opener=urllib.request.urlopen) -> Path:
    """Download a set's files from its public origin (``download`` URLs in the registry) into
    ``$SKYFM_DATA_DIR/<name>``, verifying each sha256; only when the user asks."""
    e = entry(name)
    urls = e.get("download") or {}
    if not urls:
        raise DataNotFoundError(f"data set {name!r} has no direct download; get it from its "
                                f"origin: {e.get('origin')}")
    target = data_dir(root) / name
    target.mkdir(parents=True, exist_ok=True)
    for rel, url in urls.items():
        digest = e.get("sha256", {}).get(rel)
        dest = target / rel
        if dest.is_file() and digest and sha256_file(dest) == digest:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as tmp:
            try:
                with opener(url) as resp:
                    while True:
                        b = resp.read(1 << 20)
                        if not b:
                            break
                        h.update(b)
                        tmp.write(b)
                        if progress is not None:
                            progress(len(b))
            except SkyfmError:
                raise
            except Exception as exc:
                os.unlink(tmp.name)
                raise DataNotFoundError(f"{name}: download of {url} failed: {exc}") from exc
        if digest and h.hexdigest() != digest:
            os.unlink(tmp.name)
            raise ChecksumError(f"{name}: {url}: sha256 {h.hexdigest()} differs from the "
                                f"registry's {digest}")
        shutil.move(tmp.name, dest)
    return target


def list_datasets(root=None) -> list[dict]:
    """One row per registered set: name, modality, n, origin, present."""
    rows = []
    for n in names():
        e = entry(n)
        rows.append({"name": n, "modality": e.get("modality", ""), "n": e.get("n"),
                     "origin": e.get("origin", ""), "present": is_present(n, root)})
    return rows


def checksum_entry(folder, many: int = 100) -> dict:
    """sha256 of every file of a set; sub-folders with more than ``many`` files get a manifest
    hash (names and sizes) instead of per-file hashes."""
    folder = Path(folder)
    sha, manifests = {}, []
    subdirs = [d for d in folder.rglob("*") if d.is_dir()]
    big = {d for d in subdirs if sum(1 for f in d.iterdir() if f.is_file()) > many}
    for f in sorted(folder.rglob("*")):
        if not f.is_file() or any(b in f.parents for b in big):
            continue
        sha[f.relative_to(folder).as_posix()] = sha256_file(f)
    for d in sorted(big):
        digest, count = manifest_hash(d)
        manifests.append({"folder": d.relative_to(folder).as_posix(), "pattern": "*",
                          "count": count, "sha256": digest})
    return {"sha256": sha, "manifests": manifests}


def _rehash(root) -> None:  # pragma: no cover - maintenance: python -m skyfm.data.registry
    data = json.loads(REGISTRY_FILE.read_text())
    for name, e in data["datasets"].items():
        p = Path(root) / name
        if p.is_dir():
            e.update(checksum_entry(p))
    REGISTRY_FILE.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":  # pragma: no cover
    import sys

    _rehash(sys.argv[1] if len(sys.argv) > 1 else data_dir())

"""Safe writes: nothing a user has on disk is overwritten in place, mixed or left truncated.

- Single files (:func:`atomic_file`, :func:`write_text`, :func:`write_json`, :func:`save_npy`,
  :func:`write_csv`, :func:`save_figure`, :func:`atomic_path`) are written to a temporary
  file in the same directory, flushed, fsynced and renamed over the target
  (``os.replace``), so a reader sees the old file or the new one, never half of one.
- A run directory (:func:`run_directory`: ``skyfm discover``, ``data convert``, ``sim``,
  ``demo``, ``index build``) is built in a hidden sibling ``.<name>.partial-<pid>-<token>``
  and moved into place whole at the end. The target must be new or empty; with
  ``overwrite=True`` an existing skyfm output is replaced whole: the new directory is
  exchanged with the old one atomically (Linux ``renameat2(RENAME_EXCHANGE)``; elsewhere the
  old one is renamed aside first) and the old one is removed only after the new one is in
  place. Nothing of the old run (feedback, plots) survives into the new one.
- Every run directory holds ``run.json`` (written last, before the move): the kind of
  output, when it was made, and the size of every file. :func:`check_run` (used by the
  readers of ``serve``, ``feedback`` and ``index``) refuses a run whose files do not match.

Test hook: with ``SKYFM_TEST_KILL_AT=<stage>`` in the environment the process SIGKILLs
itself when it reaches ``<stage>`` (see :func:`kill_point`); the kill tests use it to stop
a run at named points. It does nothing when the variable is unset.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import secrets
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

from skyfm.errors import DataNotFoundError, IncompleteOutputError, OutputExistsError

__all__ = [
    "MARKER",
    "Run",
    "atomic_file",
    "atomic_path",
    "check_run",
    "check_target",
    "file_sizes",
    "kill_point",
    "run_directory",
    "save_figure",
    "save_npy",
    "write_csv",
    "write_json",
    "write_text",
]

MARKER = "run.json"
KILL_ENV = "SKYFM_TEST_KILL_AT"
_PARTIAL = ".partial-"
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def kill_point(stage: str) -> None:
    """Test hook: SIGKILL this process at ``stage`` when ``SKYFM_TEST_KILL_AT`` names it."""
    if os.environ.get(KILL_ENV) == stage:
        os.kill(os.getpid(), signal.SIGKILL)


# --------------------------------------------------------------------------- single files


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # a file system without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_beside(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual permissions
    return Path(tmp)


def _commit_file(tmp: Path, path: Path) -> None:
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """A temporary path beside ``path`` for libraries that write by file name (faiss,
    parquet); renamed to ``path`` when the block ends without an error, removed otherwise."""
    path = Path(path)
    tmp = _temp_beside(path)
    try:
        yield tmp
        _commit_file(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_file(path, mode: str = "w", *, encoding: str | None = "utf-8",
                newline: str | None = None):
    """``open()`` for writing whose result appears at ``path`` only when the block succeeds."""
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    with atomic_path(path) as tmp:
        kw = {} if mode == "wb" else {"encoding": encoding, "newline": newline}
        with open(tmp, mode, **kw) as fh:
            yield fh


def write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically."""
    with atomic_file(path) as fh:
        fh.write(text)
    return Path(path)


def write_json(path, obj, **kw) -> Path:
    """Write ``obj`` as indented JSON atomically."""
    return write_text(path, json.dumps(obj, indent=2, default=str, **kw) + "\n")


def save_npy(path, array) -> Path:
    """``numpy.save`` atomically (no pickles)."""
    import numpy as np

    with atomic_file(path, "wb") as fh:
        np.save(fh, array, allow_pickle=False)
    return Path(path)


def write_csv(path, frame, **kw) -> Path:
    """``DataFrame.to_csv(index=False)`` atomically."""
    kw.setdefault("index", False)
    with atomic_file(path, newline="") as fh:
        frame.to_csv(fh, **kw)
    return Path(path)


def save_figure(fig, path, **kw) -> Path:
    """``fig.savefig`` atomically; the format comes from the file suffix."""
    path = Path(path)
    kw.setdefault("format", path.suffix.lstrip(".") or "png")
    with atomic_file(path, "wb") as fh:
        fig.savefig(fh, **kw)
    return path


# --------------------------------------------------------------------------- run directories


class Run:
    """A run directory being built: write into :attr:`path`; it becomes :attr:`target`
    when the ``with run_directory(...)`` block ends without an error."""

    def __init__(self, path: Path, target: Path, kind: str):
        self.path = path
        self.target = target
        self.kind = kind
        self.info: dict = {}

    def __truediv__(self, other) -> Path:
        return self.path / other

    def __fspath__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"Run({self.kind!r}, building {self.path} for {self.target})"


def _is_empty_dir(p: Path) -> bool:
    return p.is_dir() and not any(p.iterdir())


def check_target(target, overwrite: bool = False,
                 recognise: Callable[[Path], bool] | None = None, kind: str = "run") -> None:
    """Raise :class:`~skyfm.errors.OutputExistsError` unless :func:`run_directory` may write
    ``target`` (call it before long work so that a bad ``--out`` fails at once)."""
    target = Path(target)
    if not target.exists() and not target.is_symlink():
        return
    if not target.is_dir() or target.is_symlink():
        raise OutputExistsError("exists and is not a directory", file=target,
                                expected="a new or empty output directory")
    if _is_empty_dir(target):
        return
    if not overwrite:
        raise OutputExistsError("directory exists and is not empty", file=target,
                                expected="a new or empty output directory, or --overwrite "
                                "(overwrite=True) to replace the whole of it")
    if not ((target / MARKER).is_file() or (recognise is not None and recognise(target))):
        raise OutputExistsError(f"not empty and not a skyfm {kind} output (no {MARKER}): "
                                "refusing to replace it even with --overwrite", file=target,
                                expected="a new or empty output directory")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(target: Path) -> None:
    """Remove ``.<name>.partial-<pid>-*`` siblings left by processes that no longer run."""
    prefix = f".{target.name}{_PARTIAL}"
    if not target.parent.is_dir():
        return
    for p in target.parent.iterdir():
        if not p.name.startswith(prefix):
            continue
        pid = p.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def _libc():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name, use_errno=True) if name else None
    except OSError:
        return None


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux renameat2); False when not supported."""
    libc = _libc()
    fn = getattr(libc, "renameat2", None) if libc is not None else None
    if fn is None:
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the file system cannot exchange
        return False
    raise OSError(err, os.strerror(err), str(b))


def file_sizes(root) -> dict[str, int]:
    """Size in bytes of every file under ``root`` (relative POSIX paths, sorted)."""
    return _inventory(Path(root))


def _inventory(root: Path) -> dict[str, int]:
    files = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            files[p.relative_to(root).as_posix()] = p.stat().st_size
    return dict(sorted(files.items()))


def _sync_tree(root: Path) -> None:
    for dirpath, _, names in os.walk(root):
        for n in names:
            with open(Path(dirpath) / n, "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(Path(dirpath))


def _commit(run: Run, overwrite: bool, recognise, kind: str, marker: bool) -> None:
    stage, target = run.path, run.target
    check_target(target, overwrite, recognise, kind)  # again: something may have appeared
    if marker:
        files = _inventory(stage)
        files.pop(MARKER, None)
        write_json(stage / MARKER, {
            "skyfm_output": 1, "kind": kind, "complete": True,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **run.info, "files": files})
    _sync_tree(stage)
    kill_point("before-commit")
    if target.exists():
        if not _exchange(stage, target):
            aside = target.parent / f".{target.name}{_PARTIAL}{os.getpid()}-old-" \
                                     f"{secrets.token_hex(4)}"
            os.rename(target, aside)
            os.rename(stage, target)
            stage = aside
        _fsync_dir(target.parent)
        kill_point("after-swap")
        shutil.rmtree(stage, ignore_errors=True)  # the old run, now out of the way
    else:
        os.rename(stage, target)
        _fsync_dir(target.parent)


@contextlib.contextmanager
def run_directory(out, *, overwrite: bool = False, kind: str = "run",
                  recognise: Callable[[Path], bool] | None = None,
                  marker: bool = True) -> Iterator[Run]:
    """Build an output directory in a hidden sibling and move it to ``out`` at the end.

    ``out`` must not exist or be empty; with ``overwrite=True`` an existing directory is
    replaced whole, but only when it holds ``run.json`` or ``recognise(out)`` says it is
    this kind of output (so ``--overwrite`` never deletes an unrelated directory).
    Raises :class:`~skyfm.errors.OutputExistsError` before any work is done otherwise.
    On an error inside the block the partial directory is removed and ``out`` is untouched.
    ``marker=False``: no ``run.json`` (for a format that records its own file sizes).
    """
    target = Path(out).absolute()
    check_target(target, overwrite, recognise, kind)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target)
    stage = target.parent / f".{target.name}{_PARTIAL}{os.getpid()}-{secrets.token_hex(4)}"
    stage.mkdir()
    run = Run(stage, target, kind)
    try:
        yield run
        _commit(run, overwrite, recognise, kind, marker)
    except BaseException:
        shutil.rmtree(run.path, ignore_errors=True)
        raise


def check_run(out, required: tuple[str, ...] = ()) -> dict | None:
    """Refuse an incomplete or altered run directory; returns its ``run.json`` (or None).

    A directory without ``run.json`` (written by hand, or by skyfm before 0.x) is accepted
    as it is. ``required``: files that must be present (named in the error when missing).
    Raises :class:`~skyfm.errors.DataNotFoundError` when ``out`` is missing (mentioning an
    interrupted run left beside it) and :class:`~skyfm.errors.IncompleteOutputError` when a
    file is missing or its size differs from the one recorded.
    """
    out = Path(out)
    if not out.is_dir():
        parent = out.absolute().parent
        partial = sorted(parent.glob(f".{out.name}{_PARTIAL}*")) if parent.is_dir() else []
        hint = (f"; an interrupted run left {partial[0]} (run the command again)"
                if partial else "")
        raise DataNotFoundError(f"{out}: no such directory{hint}")
    marker = out / MARKER
    meta = None
    if marker.is_file():
        try:
            meta = json.loads(marker.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise IncompleteOutputError(f"unreadable ({exc})", file=marker,
                                        expected="the run.json skyfm writes last") from exc
        if not isinstance(meta, dict) or meta.get("complete") is not True or \
                not isinstance(meta.get("files"), dict):
            raise IncompleteOutputError("the run is not marked complete", file=marker,
                                        field="complete", expected='"complete": true')
        for name, size in meta["files"].items():
            p = out / name
            if not p.is_file():
                raise IncompleteOutputError("file missing: the run is incomplete", file=p,
                                            expected=f"the file {MARKER} lists")
            if p.stat().st_size != size:
                raise IncompleteOutputError(
                    f"{p.stat().st_size} bytes, but {MARKER} records {size}: truncated or "
                    "changed since the run wrote it", file=p,
                    expected="the file as the run wrote it (run again to rebuild)")
    for name in required:
        if not (out / name).is_file():
            raise DataNotFoundError(f"{out / name} not found" + (
                "" if meta is None else f" ({MARKER} is a '{meta.get('kind')}' output)"))
    return meta


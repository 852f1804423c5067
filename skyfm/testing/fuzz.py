"""Fuzz/torture engine: mutate small cuts of the real shared files, read them the way a user
does (``read``, the ``info`` summary, ``convert`` and reading the converted set back) and
classify every input.

Outcomes
--------
``ok``
    read (and summarised/converted) without an exception.
``clean``
    a :class:`~skyfm.errors.SkyfmError` whose message names the input (its folder or a file).
``unnamed``
    a SkyfmError whose message does not name the input.
``escape``
    any other exception (KeyError, OSError, library errors, MemoryError, RecursionError...).
``silent``
    a destructive mutation (see :mod:`skyfm.testing.fuzz_mutators`) read with no error, no
    skyfm warning and nothing in ``report.dropped`` or ``report.warnings``.
``hang``
    one input ran past the time limit (``signal.setitimer``; main thread only).

Runs are deterministic: input ``i`` of run ``seed`` is mutator/seed file pair
``i % n_pairs`` with ``random.Random(f"{seed}:{i}")``. Readers run with ``read()``'s last-resort
safety net switched off (``skyfm.data.io.without_safety_net``) so that what a reader misses
shows up as an escape.
"""

from __future__ import annotations

import collections
import contextlib
import random
import shutil
import signal
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from skyfm.errors import SkyfmError
from skyfm.testing.fuzz_mutators import MUTATORS, Case, applicable
from skyfm.testing.fuzz_seeds import Seed, build_seeds

OUTCOMES = ("ok", "clean", "unnamed", "escape", "silent", "hang")
_SKYFM_DIR = str(Path(__file__).resolve().parents[1])


class _Hang(BaseException):
    """Raised by the timer inside a hanging read (a BaseException, so no reader catches it)."""


@dataclass
class Result:
    index: int
    seed: str
    mutator: str
    outcome: str
    stage: str = ""             # read, summary, convert, reload
    error: str = ""             # exception type and message
    where: str = ""             # innermost skyfm frame (module:line) of an escape
    reader: str = ""            # the reader detect_format picks ("" if it raised)
    note: str = ""
    seconds: float = 0.0
    reproducer: str | None = None


@dataclass
class FuzzReport:
    seed: int
    results: list[Result] = field(default_factory=list)
    wall_s: float = 0.0

    def counts(self) -> collections.Counter:
        return collections.Counter(r.outcome for r in self.results)

    def table(self) -> list[tuple[str, str, dict]]:
        """(seed file, mutator, {outcome: count}) rows, sorted."""
        c: dict = collections.defaultdict(collections.Counter)
        for r in self.results:
            c[(r.seed, r.mutator)][r.outcome] += 1
        return [(s, m, dict(v)) for (s, m), v in sorted(c.items())]

    def bad(self) -> list[Result]:
        return [r for r in self.results if r.outcome in ("escape", "unnamed", "silent", "hang")]

    def render(self, per_pair: bool = True) -> str:
        lines = []
        if per_pair:
            lines.append(f"{'seed file':24} {'mutator':18} {'tried':>6} " +
                         " ".join(f"{o:>7}" for o in OUTCOMES))
            for s, m, v in self.table():
                lines.append(f"{s:24} {m:18} {sum(v.values()):6d} " +
                             " ".join(f"{v.get(o, 0):7d}" for o in OUTCOMES))
        tot = self.counts()
        lines.append(f"{'TOTAL':24} {'':18} {len(self.results):6d} " +
                     " ".join(f"{tot.get(o, 0):7d}" for o in OUTCOMES))
        lines.append(f"wall time {self.wall_s:.1f} s, run seed {self.seed}")
        by = collections.Counter(
            (r.outcome, r.where.split(":")[0] if r.outcome != "silent" else f"reader {r.reader}")
            for r in self.bad())
        for (outcome, where), k in sorted(by.items()):
            lines.append(f"{outcome:8} {k:5d}  {where}")
        seen = set()
        for r in self.bad():
            key = (r.seed, r.mutator, r.outcome, r.error.split(":")[0], r.where)
            if key in seen:
                continue
            seen.add(key)
            first = (r.error.splitlines() or [""])[0][:200]
            lines.append(f"{r.outcome.upper()} #{r.index} {r.seed}/{r.mutator} [{r.stage}] "
                         f"{first}  at {r.where}  ({r.note[:120]})" +
                         (f"\n    reproducer: {r.reproducer}" if r.reproducer else ""))
        return "\n".join(lines)


def pairs(seeds: list[Seed], mutators: list[str] | None = None) -> list[tuple[Seed, str]]:
    return [(s, m) for s in seeds for m in applicable(s) if mutators is None or m in mutators]


def make_case(all_pairs, i: int, run_seed: int) -> tuple[Seed, str, Case | None]:
    seed, mut = all_pairs[i % len(all_pairs)]
    rng = random.Random(f"{run_seed}:{i}")
    return seed, mut, MUTATORS[mut](seed, rng)


def write_case(case: Case, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in case.files.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return folder / case.target if case.target else folder


@contextlib.contextmanager
def _time_limit(seconds: float | None):
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return

    def fire(signum, frame):
        raise _Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _where(exc: BaseException) -> str:
    """The innermost frame inside the skyfm package (the code that let it through)."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if f.filename.startswith(_SKYFM_DIR)
            and "/testing/" not in f.filename]
    f = (mine or frames or [None])[-1]
    if f is None:
        return "?"
    rel = f.filename[len(_SKYFM_DIR) - len("skyfm"):] if f.filename.startswith(
        _SKYFM_DIR) else Path(f.filename).name
    return f"{rel}:{f.lineno}"


def _names_input(msg: str, folder: Path, case: Case) -> bool:
    if str(folder) in msg:
        return True
    return any(Path(rel).name in msg for rel in case.files)


def _reader(case: Case, folder: Path) -> str:
    from skyfm.data.io import detect_format

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return detect_format(write_case(case, folder / "in"))
    except Exception:  # noqa: BLE001 - read() reports it; here it only labels the result
        return ""


def run_case(case: Case, folder: Path, *, time_limit: float | None = 10.0,
             convert: bool = True, discover: bool = False) -> tuple[str, str, str, str]:
    """Write ``case`` under ``folder``, read it and classify: (outcome, stage, error, where)."""
    from skyfm.cli.data_cmd import summarize
    from skyfm.data import read
    from skyfm.data.io import DataQualityWarning
    from skyfm.data.layout import load_dataset, write_dataset

    target = write_case(case, folder / "in")
    stage = "read"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with _time_limit(time_limit):
                obs = read(target)
                stage = "summary"
                summarize(obs)
                if convert:
                    stage = "convert"
                    write_dataset(obs, folder / "out", image_format="fits")
                    stage = "reload"
                    load_dataset(folder / "out")
                if discover and len(obs):
                    from skyfm.discover.pipeline import discover as run_discover

                    stage = "discover"  # the cheapest settings: this checks input handling
                    run_discover(obs, None, report=False, scorers=("knn",), n_members=1,
                                 n_noise=0, top=1)
        except _Hang as exc:
            return "hang", stage, str(exc), _where(exc)
        except SkyfmError as exc:
            # discover works on observations in memory: its errors name the field, not a file
            named = stage == "discover" or _names_input(str(exc), folder, case)
            return ("clean" if named else "unnamed"), stage, \
                f"{type(exc).__name__}: {exc}", _where(exc)
        except (Exception, RecursionError, MemoryError) as exc:  # noqa: BLE001 - classified
            return "escape", stage, f"{type(exc).__name__}: {exc}", _where(exc)
    mine = [w for w in caught if issubclass(w.category, DataQualityWarning)
            or str(w.filename).startswith(_SKYFM_DIR)]
    if case.destructive and not mine and not obs.report.dropped and not obs.report.warnings:
        return "silent", "read", f"read {len(obs)} objects with no warning", ""
    return "ok", "", "", ""


def fuzz(n: int, run_seed: int = 0, *, data_dir: str | Path, seeds: list[Seed] | None = None,
         mutators: list[str] | None = None, out_dir: str | Path | None = None,
         time_limit: float | None = 10.0, convert_every: int = 3, discover_every: int = 0,
         progress=None) -> FuzzReport:
    """Try ``n`` inputs (cases a mutator cannot make are skipped and not counted);
    reproducers of escapes/silent/hangs go under ``out_dir`` if given.

    Every ``convert_every``-th input is also converted to the generic layout and read back;
    every ``discover_every``-th (0: none) also goes through a minimal ``discover`` run.
    """
    import skyfm.data.io as io_mod

    seeds = build_seeds(data_dir) if seeds is None else seeds
    all_pairs = pairs(seeds, mutators)
    if not all_pairs:
        raise SkyfmError(f"no seed files found under {data_dir}")
    report = FuzzReport(run_seed)
    kept: set = set()
    if discover_every:
        # import the discovery stack (torch, sklearn) before any timer runs: an import cut
        # short by the time limit would leave torch half-initialised for every later input
        import importlib

        for mod in ("skyfm.discover.pipeline", "skyfm.models.lightcurve"):
            importlib.import_module(mod)
    t0 = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="skyfm-fuzz-"))
    net_off = io_mod.without_safety_net()
    net_off.__enter__()
    try:
        i = -1
        while len(report.results) < n and i < 10 * n:
            i += 1
            seed, mut, case = make_case(all_pairs, i, run_seed)
            if case is None:  # the mutator has nothing to do on this seed file (e.g. 1 row)
                continue
            folder = work / f"c{i}"
            t1 = time.perf_counter()
            reader = _reader(case, folder)
            with_discover = bool(discover_every) and i % discover_every == 0
            # discover embeds and fits models: it gets three times the reading limit
            limit = time_limit * 3 if (time_limit and with_discover) else time_limit
            outcome, stage, err, where = run_case(case, folder, time_limit=limit,
                                                  convert=i % convert_every == 0,
                                                  discover=with_discover)
            res = Result(i, seed.name, mut, outcome, stage, err, where, reader, case.note,
                         time.perf_counter() - t1)
            key = (seed.name, mut, outcome, err.split(":")[0], where)
            if out_dir is not None and outcome not in ("ok", "clean") and key not in kept:
                kept.add(key)
                dst = Path(out_dir) / f"{outcome}-{i}-{seed.name}-{mut}"
                write_case(case, dst)
                (dst.parent / (dst.name + ".txt")).write_text(
                    f"read: {dst / case.target if case.target else dst}\n{case.note}\n"
                    f"{stage}: {err}\nat {where}\n", encoding="utf-8")
                res.reproducer = str(dst / case.target if case.target else dst)
            report.results.append(res)
            shutil.rmtree(folder, ignore_errors=True)
            if progress is not None:
                progress(1)
    finally:
        net_off.__exit__(None, None, None)
        shutil.rmtree(work, ignore_errors=True)
    report.wall_s = time.perf_counter() - t0
    return report

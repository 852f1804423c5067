"""The long fuzz/torture run over the real shared files.

    nice -n 10 python bench/fuzz.py --n 10000 --seed 0 --out /tmp/fuzz/run0

prints inputs tried per seed file x mutator with ok / clean / unnamed / escape / silent / hang
counts, then one line per distinct failure with its reproducer (written under ``--out``).
Exit status 1 when anything escaped, went unnamed, was silently accepted or hung.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10000, help="inputs to try")
    ap.add_argument("--seed", type=int, default=0, help="run seed (deterministic)")
    ap.add_argument("--data", default=os.environ.get("SKYFM_DATA_DIR", ""),
                    help="shared data folder (default $SKYFM_DATA_DIR)")
    ap.add_argument("--out", default="/tmp/skyfm-fuzz", help="reproducers go here")
    ap.add_argument("--mutators", default=None, help="comma-separated subset of mutators")
    ap.add_argument("--seeds", default=None, help="comma-separated subset of seed files")
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per input")
    ap.add_argument("--max-memory-gb", type=float, default=8.0,
                    help="address-space cap: a reader allocating more than any of these small "
                         "files justifies gets MemoryError (an escape) instead of the machine's "
                         "memory (0 = no cap)")
    ap.add_argument("--discover-every", type=int, default=100,
                    help="run a minimal discover() on every k-th input (0: never)")
    ap.add_argument("--summary-only", action="store_true", help="no per-pair table")
    args = ap.parse_args(argv)
    if not args.data or not Path(args.data).is_dir():
        ap.error("set --data or SKYFM_DATA_DIR to the shared data folder")
    if args.max_memory_gb:
        cap = int(args.max_memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))

    from skyfm.testing.fuzz import fuzz
    from skyfm.testing.fuzz_seeds import build_seeds

    seeds = build_seeds(args.data)
    if args.seeds:
        keep = set(args.seeds.split(","))
        seeds = [s for s in seeds if s.name in keep]
    done = [0]

    def progress(k):
        done[0] += k
        if done[0] % 1000 == 0:
            print(f"... {done[0]} inputs", file=sys.stderr, flush=True)

    Path(args.out).mkdir(parents=True, exist_ok=True)
    rep = fuzz(args.n, args.seed, data_dir=args.data, seeds=seeds, out_dir=args.out,
               mutators=args.mutators.split(",") if args.mutators else None,
               time_limit=args.time_limit, discover_every=args.discover_every,
               progress=progress)
    print(rep.render(per_pair=not args.summary_only))
    return 1 if rep.bad() else 0


if __name__ == "__main__":
    sys.exit(main())

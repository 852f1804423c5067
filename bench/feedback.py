"""Does feedback help? The digital twin, a simulated person, and the first 100 objects shown.

    python bench/feedback.py                     # ~3,400 ZTF light curves, 10 rounds of 10
    python bench/feedback.py --n-common 150 --rounds 5

The survey: every common class of ``skyfm.sim`` (``n_common`` each), the rare classes
``microlensing`` and ``tde`` (*interesting*), the rare class ``flare`` (odd, but this person
does not care for flares) and constant stars with a few bad photometric points (odd-looking,
uninteresting: what real surveys are full of). Discovery (``skyfm.discover``: embed with the
light-curve model or features, score with its unsupervised scorers, no labels) gives the
prior ranking. A simulated person then labels the 10 best not-yet-seen objects per round
(interesting = microlensing or TDE) and the ranking is refit after each round
(``skyfm.discover.feedback``: AADForest on the embeddings, mixed with the prior).

Printed side by side: share of truly interesting among the first 100 of discovery's ranking
(no feedback) vs among the 100 objects the person was shown with feedback, vs the final
re-ranked list; for the discovery prior and for a plain isolation forest (no prior).
The experiment itself is ``skyfm.benchmarks.feedback.twin_feedback_experiment``.
"""

from __future__ import annotations

import argparse


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-common", type=int, default=300, help="curves per common class")
    ap.add_argument("--n-rare", type=int, default=30, help="curves per rare class")
    ap.add_argument("--n-odd", type=int, default=60, help="constant stars with bad points")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--per-round", type=int, default=10)
    ap.add_argument("--top", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    from skyfm.benchmarks.feedback import (
        TWIN_BORING_ODD,
        TWIN_INTERESTING,
        twin_feedback_experiment,
    )

    r = twin_feedback_experiment(a.n_common, a.n_rare, a.n_odd, rounds=a.rounds,
                                 per_round=a.per_round, top=a.top, seed=a.seed)
    print(f"\nfeedback on the digital twin: {r['n']} ZTF light curves, {r['n_interesting']} "
          f"interesting ({' + '.join(TWIN_INTERESTING)}); "
          f"odd but boring: {' + '.join(TWIN_BORING_ODD)}")
    print(f"embedding: {r['encoder']}, D={r['dim']}; simulate {r['sim_s']:.0f} s, "
          f"discovery scoring {r['discover_s']:.0f} s; person labels {a.per_round} per round, "
          f"{a.rounds} rounds; seed {a.seed}")
    tops = ", ".join(f"{k} {v}" for k, v in sorted(r["prior_top_classes"].items(),
                                                   key=lambda kv: -kv[1]))
    print(f"discovery's top {a.top} without feedback: {tops}\n")
    head = (f"{'ranking':<18} {'no feedback':>12} {'shown, w/ fb':>13} {'re-ranked':>10} "
            f"{'unseen top':>11} {'found/round':<30}")
    print(f"share of truly interesting among the first {a.top}")
    print(head)
    print("-" * len(head))
    for name in ("discovery prior", "isolation forest"):
        s = r[name]
        print(f"{name:<18} {s['before']:>12.2f} {s['shown']:>13.2f} {s['after']:>10.2f} "
              f"{s['after_unseen']:>11.2f} {','.join(map(str, s['found_per_round'])):<30}")
    print("\nno feedback: the ranking's first objects; shown, w/ fb: the objects the person saw "
          "over the rounds (the ranking refit after each);\nre-ranked: the final list (boring "
          "ones last); unseen top: the best objects the person has not seen yet.")


if __name__ == "__main__":
    main()

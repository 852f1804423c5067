"""Two kinds of uncertainty on every unusualness score, on the score's own [0, 1] scale.

*Epistemic* — what the model does not know: the spread (standard deviation) of the combined
score across the :class:`~skyfm.discover.ensemble.ScoreEnsemble` members, each fitted on a
different random subsample of the data with different seeds. It is large where the reference
population is thin (few similar objects), so the verdict depends on which objects happened to
be seen.

*Aleatoric* — what the data cannot tell: the root-mean-square change of the combined score when
every observation is re-drawn within its own measurement errors (light-curve points and spectral
pixels with their 1-sigma errors, image pixels with the background noise, table columns with
their error columns), re-embedded, scored by the unchanged fitted scorers and ranked within the
re-drawn set (so a shift common to all objects cancels). It grows with the noise of the
observation, not with the size of the sample. NaN where no errors are known (a table without
error columns).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from skyfm.discover.ensemble import ScoreEnsemble

__all__ = ["aleatoric", "epistemic"]


def epistemic(ensemble: ScoreEnsemble) -> np.ndarray:
    """Standard deviation of the reference objects' combined score over the ensemble members."""
    M = ensemble.member_scores()
    if len(M) < 2:
        return np.full(M.shape[1] if M.ndim == 2 else len(ensemble.reference_fused_), np.nan)
    return M.std(axis=0, ddof=1)


def _within_draw_score(ensemble: ScoreEnsemble, Xd: np.ndarray, rec, n: int) -> np.ndarray:
    """Combined score of a re-drawn data set, as percentiles *within the draw*: re-drawing adds
    noise on top of the observed noise, which shifts noise-sensitive features of every object
    alike; ranking within the draw cancels that common shift and keeps what differs."""
    comp, _ = ensemble.score(Xd, rec, exclude=np.arange(n))
    return ensemble._fuse(comp)


def aleatoric(observations: list, embedder, ensemble: ScoreEnsemble, n_draws: int = 3,
              seed: int = 0, reference_score: np.ndarray | None = None,
              recon_in_draws: bool | None = None,
              progress: Callable[[int], None] | None = None) -> np.ndarray:
    """RMS change of the combined score under ``n_draws`` noise re-draws of each observation.

    ``observations`` must be the objects the ensemble was fitted on (same order): object i's
    re-drawn copy may not use its own clean self as a k-NN neighbour. ``recon_in_draws``:
    recompute the reconstruction error of each draw (default: unless the embedder says it is
    costly — the light-curve X model — in which case the clean value is kept and only the
    embedding-based scores move).
    """
    n = len(observations)
    if n_draws <= 0 or not embedder.has_errors(observations):
        return np.full(n, np.nan)
    base = ensemble.reference_fused_ if reference_score is None else reference_score
    if recon_in_draws is None:
        recon_in_draws = not embedder.costly_reconstruction or (
            not embedder.uses_trained_model_)
    use_recon = "recon" in ensemble.active_
    rec_clean = ensemble.fitted_["recon"].errors_ if use_recon and not recon_in_draws else None
    rng = np.random.default_rng(seed)
    sq = np.zeros(n)
    for _ in range(n_draws):
        Xd, rec = embedder.noise_draw(observations, rng, reconstruction=use_recon and
                                      recon_in_draws)
        fused = _within_draw_score(ensemble, Xd, rec if recon_in_draws else rec_clean, n)
        sq += (fused - base) ** 2
        if progress:
            progress(1)
    return np.sqrt(sq / n_draws)

"""Multi-reader multi-case (MRMC) analysis: Obuchowski-Rockette with Hillis' degrees of freedom.

A reader study's accuracy varies with the readers who took part and with the cases they
read. McNemar's test treats both as fixed, so it speaks only for these readers on these
cases. The Obuchowski-Rockette (OR) model treats readers and cases as random samples: the
figure of merit (FOM) of reader j in modality i is

    theta_ij = mu + tau_i + R_j + (tau R)_ij + e_ij,

with the case-sampling errors e_ij correlated because every reader reads the same cases.
Their variance and covariances (Var; Cov1 same reader, other modality; Cov2 other reader,
same modality; Cov3 other reader, other modality) are estimated by the jackknife over
cases, and the test uses Hillis' (2007) denominator degrees of freedom ``ddf_H``.

Plain numpy/scipy, no Django: the same functions serve the results page, the power
planner and the validation tests. The formulas follow OR-DBM MRMC 2.51 (Schartz, Hillis,
Pesce, Berbaum; University of Iowa) and RJafroc; tests/studies/test_mrmc.py reproduces its
printed Van Dyke (1993) analysis digit for digit.

References: Obuchowski & Rockette, Commun Stat Simul Comput 1995;24:285-308. Hillis,
Stat Med 2007;26:596-619 (ddf_H, and section 5.3 for one modality, which we use for the
model against the readers). Hillis, Obuchowski & Berbaum, Acad Radiol 2011;18:129-142
(power).

Every result is a plain dict of floats (None where undefined), so it is JSON-serialisable.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
from scipy import stats

# --------------------------------------------------------------------------------------------
# Figures of merit and their jackknife over cases
# --------------------------------------------------------------------------------------------


def mean_jackknife(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A mean-type FOM (accuracy, sensitivity) and its leave-one-case-out values.

    ``values`` is ``[..., C]``: 1/0 per case (or a difference of two such), NaN where the
    cell did not read the case (a crossover reader's other modality). Returns ``theta``
    ``[...]`` and ``jack`` ``[..., C]``, where ``jack[..., k]`` is the FOM without case k
    (equal to theta where the cell never read case k). Cells with fewer than two cases
    have no jackknife and raise ``ValueError``.
    """
    x = np.asarray(values, dtype=np.float64)
    read = ~np.isnan(x)
    n = read.sum(axis=-1)
    if np.any(n < 2):
        raise ValueError("every reader needs at least two cases in every modality")
    total = np.where(read, x, 0.0).sum(axis=-1)
    theta = total / n
    # Leaving out case k removes it from the sum and the count, where it was read at all.
    left_out = (total[..., None] - np.where(read, x, 0.0)) / (n[..., None] - 1)
    jack = np.where(read, left_out, theta[..., None])
    return theta, jack


def auc_jackknife(ratings: np.ndarray, truth: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Trapezoidal (Wilcoxon) AUC of ``ratings[..., C]`` and its leave-one-case-out values.

    ctir's readers give categories, not ratings, so the study pages never use this; it is
    here because the published OR examples are ROC studies, and it shows the analysis below
    does not care which FOM it is given.
    """
    r = np.asarray(ratings, dtype=np.float64)
    truth = np.asarray(truth, dtype=bool)
    pos, neg = r[..., truth], r[..., ~truth]
    n1, n0 = pos.shape[-1], neg.shape[-1]
    # psi[..., a, b]: 1 if abnormal case a outranks normal case b, 1/2 on a tie.
    diff = pos[..., :, None] - neg[..., None, :]
    psi = (diff > 0) + 0.5 * (diff == 0)
    total = psi.sum(axis=(-1, -2))
    theta = total / (n1 * n0)
    jack = np.empty(r.shape, dtype=np.float64)
    jack[..., truth] = (total[..., None] - psi.sum(axis=-1)) / ((n1 - 1) * n0)
    jack[..., ~truth] = (total[..., None] - psi.sum(axis=-2)) / (n1 * (n0 - 1))
    return theta, jack


def jackknife_covariance(jack: np.ndarray) -> np.ndarray:
    """Jackknife covariance of the FOMs ``jack[N, C]``: (C-1)/C times the sum of products."""
    n_cases = jack.shape[-1]
    centred = jack - jack.mean(axis=-1, keepdims=True)
    return (n_cases - 1) / n_cases * centred @ centred.T


# --------------------------------------------------------------------------------------------
# OR analysis
# --------------------------------------------------------------------------------------------


def _t_result(estimate: float, se: float, df: float, alpha: float) -> dict:
    """Estimate, SE, df, t, two-sided p and CI; t and p are None when the SE is 0."""
    quantile = float(stats.t.ppf(1 - alpha / 2, df))
    half = quantile * se
    defined = se > 0 and math.isfinite(se)
    t = estimate / se if defined else None
    return {
        "estimate": float(estimate), "se": float(se),
        "df": float(df) if math.isfinite(df) else None,  # None: the normal limit
        "t": t, "p": float(2 * stats.t.sf(abs(t), df)) if defined else None,
        "ci": [float(estimate - half), float(estimate + half)],
    }


def _z_result(estimate: float, se: float, alpha: float) -> dict:
    result = _t_result(estimate, se, math.inf, alpha)
    result["z"] = result.pop("t")
    return result


def _hillis_df(ms_den: float, ms_num: float, df_num: int) -> float:
    # A zero reader mean square leaves only case variance: the normal limit.
    return math.inf if ms_num <= 0 else ms_den**2 / (ms_num**2 / df_num)


def or_one_modality(theta: Sequence[float], jack: np.ndarray, alpha: float = 0.05) -> dict:
    """One modality's mean FOM over ``J`` readers, with random- and fixed-reader CIs.

    Hillis (2007) section 5.3: ``MS_den = MS(R) + J * max(Cov2, 0)``,
    ``SE = sqrt(MS_den / J)``, ``ddf_H = MS_den^2 / (MS(R)^2 / (J - 1))``; with readers
    fixed, ``SE = sqrt((Var + (J - 1) * max(Cov2, 0)) / J)`` and a z test. Applied to
    differences (model minus reader per case) it compares the model with the reader
    average. ``random`` is None with fewer than two readers.
    """
    theta = np.asarray(theta, dtype=np.float64)
    n_readers = theta.size
    cov = jackknife_covariance(np.asarray(jack, dtype=np.float64).reshape(n_readers, -1))
    var = float(np.mean(np.diag(cov)))
    cov2 = (float((cov.sum() - np.trace(cov)) / (n_readers * (n_readers - 1)))
            if n_readers > 1 else 0.0)
    mean = float(theta.mean())
    fixed = _z_result(mean, math.sqrt(max(var + (n_readers - 1) * max(cov2, 0.0), 0.0)
                                      / n_readers), alpha)
    out = {"estimate": mean, "n_readers": n_readers, "n_cases": int(np.shape(jack)[-1]),
           "per_reader": [float(v) for v in theta],
           "components": {"var": var, "cov2": cov2}, "fixed": fixed, "random": None}
    if n_readers > 1:
        ms_r = float(theta.var(ddof=1))
        ms_den = ms_r + n_readers * max(cov2, 0.0)
        out["components"].update(ms_r=ms_r, var_r=ms_r - var + cov2)
        out["random"] = _t_result(mean, math.sqrt(ms_den / n_readers),
                                  _hillis_df(ms_den, ms_r, n_readers - 1), alpha)
    return out


def or_two_modalities(theta: np.ndarray, jack: np.ndarray, alpha: float = 0.05) -> dict:
    """Modality 1 minus modality 2, ``theta[2, J]`` and ``jack[2, J, C]``.

    Random readers and cases (OR with Hillis' ddf): ``MS_den = MS(T*R) + J * max(Cov2 -
    Cov3, 0)``, ``F = MS(T) / MS_den``, ``ddf_H = MS_den^2 / (MS(T*R)^2 / (J - 1))``,
    ``SE = sqrt(2 / J * MS_den)``. Fixed readers, random cases: ``SE = sqrt(2 / J * (Var -
    Cov1 + (J - 1) * max(Cov2 - Cov3, 0)))`` and a z (chi-square) test. Also each
    modality alone (``modalities``) and each reader's own difference (``per_reader``,
    ``SE = sqrt(2 (Var_j - Cov1_j))``), as OR-DBM MRMC prints them.
    """
    theta = np.asarray(theta, dtype=np.float64)
    jack = np.asarray(jack, dtype=np.float64)
    n_mod, n_readers = theta.shape
    if n_mod != 2:
        raise ValueError("or_two_modalities compares exactly two modalities")
    cov = jackknife_covariance(jack.reshape(n_mod * n_readers, -1)).reshape(
        n_mod, n_readers, n_mod, n_readers)
    same_mod = np.eye(n_mod, dtype=bool)[:, None, :, None]
    same_rdr = np.eye(n_readers, dtype=bool)[None, :, None, :]

    def average(mask):
        return float(cov[np.broadcast_to(mask, cov.shape)].mean()) if mask.any() else 0.0

    var = average(same_mod & same_rdr)
    cov1 = average(~same_mod & same_rdr)
    cov2 = average(same_mod & ~same_rdr) if n_readers > 1 else 0.0
    cov3 = average(~same_mod & ~same_rdr) if n_readers > 1 else 0.0

    means = theta.mean(axis=1)
    difference = float(means[0] - means[1])
    ms_t = n_readers * float(((means - means.mean()) ** 2).sum())  # / (t - 1) = 1
    excess = max(cov2 - cov3, 0.0)
    fixed_den = var - cov1 + (n_readers - 1) * excess
    fixed = _z_result(difference, math.sqrt(max(2 / n_readers * fixed_den, 0.0)), alpha)
    fixed["chi2"] = ms_t / fixed_den if fixed_den > 0 else None
    components = {"var": var, "cov1": cov1, "cov2": cov2, "cov3": cov3, "ms_t": ms_t}
    random = None
    if n_readers > 1:
        interaction = theta - means[:, None] - theta.mean(axis=0)[None, :] + theta.mean()
        ms_tr = float((interaction**2).sum() / (n_readers - 1))
        ms_r = n_mod * float(theta.mean(axis=0).var(ddof=1))
        var_tr = ms_tr - var + cov1 + excess
        components.update(
            ms_r=ms_r, ms_tr=ms_tr, var_tr=var_tr,
            var_r=(ms_r - var_tr - var + cov2 - (n_mod - 1) * (cov1 - cov3)) / n_mod,
        )
        ms_den = ms_tr + n_readers * excess
        random = _t_result(difference, math.sqrt(2 / n_readers * ms_den),
                           _hillis_df(ms_den, ms_tr, n_readers - 1), alpha)
        random["f"] = ms_t / ms_den if ms_den > 0 else None
    per_reader = []
    for j in range(n_readers):
        var_j = float((cov[0, j, 0, j] + cov[1, j, 1, j]) / 2)
        se = math.sqrt(max(2 * (var_j - float(cov[0, j, 1, j])), 0.0))
        per_reader.append({**_z_result(float(theta[0, j] - theta[1, j]), se, alpha),
                           "var": var_j, "cov1": float(cov[0, j, 1, j])})
    return {
        "estimate": difference, "means": [float(m) for m in means],
        "n_readers": n_readers, "n_cases": int(jack.shape[-1]),
        "components": components, "random": random, "fixed": fixed,
        "modalities": [or_one_modality(theta[i], jack[i], alpha) for i in range(n_mod)],
        "per_reader": per_reader,
    }


# --------------------------------------------------------------------------------------------
# A study's comparisons, from its answers
# --------------------------------------------------------------------------------------------

# reader name -> case id -> (answer, aided)
ReaderAnswers = Mapping[str, Mapping[int, tuple[Hashable, bool]]]


def study_mrmc(
    truth: Mapping[int, Hashable],
    readers: ReaderAnswers,
    model: Mapping[int, Hashable],
    labels: Sequence[Hashable],
    *,
    crossover: bool = False,
    alpha: float = 0.05,
) -> dict:
    """The OR comparisons of a reader study, for accuracy and each category's sensitivity.

    Cases are those with a reference label that every reader answered (and the model, where
    the model is compared): the OR model needs a fully crossed design. Readers who have not
    yet answered every such case wait (``waiting``) while any reader has. Comparisons:
    the model against the reader average (the per-case difference model minus reader,
    Hillis 2007 section 5.3, as RJafroc's ``StCadVsRad`` 1T-RRRC); in a crossover study
    also aided minus unaided (two modalities; each reader read half of the cases each way,
    so a modality's FOM is over that reader's cases in it) and the model against the aided
    and the unaided readings apart. Sensitivity for a category is the same analysis over
    the cases whose reference is that category. Each figure of merit also has the reader
    average alone (``readers_mean``) with its CI. Comparisons that cannot be computed
    (too few readers or cases) are listed in ``skipped`` with the reason.
    """
    names = sorted(readers)
    # While a study runs, a reader who has just started must not shrink everyone's cases:
    # the readers who have answered every case are analysed, the others named as waiting.
    finished = [n for n in names if all(c in readers[n] for c in truth)]
    waiting = [n for n in names if n not in finished] if finished else []
    names = finished or names
    shared = [c for c in truth if all(c in readers[n] for n in names)]
    out: dict = {"readers": names, "waiting": waiting, "n_cases": len(shared),
                 "comparisons": [], "skipped": [], "bootstrapped": 0}
    if not names:
        return out
    foms = [("accuracy", "Accuracy", shared)] + [
        (f"sensitivity:{label}", f"Sensitivity, category {label}",
         [c for c in shared if truth[c] == label]) for label in labels
    ]
    for key, title, cases in foms:
        correct = np.array([[float(readers[n][c][0] == truth[c]) for c in cases]
                            for n in names]).reshape(len(names), len(cases))
        aided = np.array([[bool(readers[n][c][1]) for c in cases] for n in names],
                         dtype=bool).reshape(len(names), len(cases))
        with_model = [i for i, c in enumerate(cases) if c in model]
        model_ok = np.array([float(model[cases[i]] == truth[cases[i]]) for i in with_model])
        # The reader average itself, for readers at large (Hillis 2007 section 5.3): also
        # what an unaided study without a model can say.
        _add(out, key, title, "readers_mean", "Reader average",
             lambda c=correct: _reader_average(c, alpha), cells=correct, bounds=(0.0, 1.0))
        plans = []
        if model and crossover:
            plans += [("model_vs_unaided", "Model − readers unaided", ~aided),
                      ("model_vs_aided", "Model − readers aided", aided)]
        elif model:
            plans.append(("model_vs_readers", "Model − readers", None))
        for kind, label, mask in plans:
            # Per case: the model's correctness minus the reader's, where the reader read it.
            diff = model_ok[None, :] - correct[:, with_model]
            if mask is not None:
                diff = np.where(mask[:, with_model], diff, np.nan)
            model_cells = np.where(np.isnan(diff), np.nan, model_ok[None, :])
            _add(out, key, title, kind, label,
                 lambda d=diff, m=model_cells: _versus_model(d, m, alpha), cells=diff,
                 bounds=(-1.0, 1.0))
        if crossover:
            cells = np.stack([np.where(aided, correct, np.nan),
                              np.where(~aided, correct, np.nan)])
            _add(out, key, title, "aided_vs_unaided", "Aided − unaided",
                 lambda cells=cells: or_two_modalities(*mean_jackknife(cells), alpha),
                 cells=cells, bounds=(-1.0, 1.0))
    out["bootstrapped"] = sum(c.get("bootstrapped", 0) for c in out["comparisons"])
    return out


def _reader_average(correct: np.ndarray, alpha: float) -> dict:
    result = or_one_modality(*mean_jackknife(correct), alpha)
    result["means"] = [result["estimate"], None]
    return result


# --------------------------------------------------------------------------------------------
# Intervals kept to what is possible
# --------------------------------------------------------------------------------------------

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20250101  # fixed: the same study gives the same interval every time


def _fom(cells: np.ndarray) -> float:
    """The comparison's estimate from its cells (readers x cases, NaN where not read; or
    two modalities x readers x cases, first minus second): mean over readers of each
    reader's mean over the cases they read."""
    per_reader = np.nanmean(cells, axis=-1)
    value = np.nanmean(per_reader, axis=-1)
    return float(value[0] - value[1]) if np.ndim(value) else float(value)


def bootstrap_ci(cells: np.ndarray, *, readers: bool, alpha: float = 0.05,
                 resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                 ) -> list[float] | None:
    """Percentile bootstrap interval of ``_fom(cells)``: cases resampled with replacement
    (fixed readers), and readers too when ``readers`` (random readers). Every resample's
    estimate is a possible value, so the interval never runs past what the figure can be
    (a proportion in [0, 1], a difference in [-1, 1])."""
    cells = np.asarray(cells, dtype=np.float64)
    n_readers, n_cases = cells.shape[-2], cells.shape[-1]
    rng = np.random.default_rng(seed)
    values = []
    # A resample may leave a reader with no case in a modality: its nanmean warns, and
    # the resample is dropped below.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(resamples):
            picked = cells[..., rng.integers(0, n_cases, n_cases)]
            if readers:
                picked = picked[..., rng.integers(0, n_readers, n_readers), :]
            value = _fom(picked)
            if math.isfinite(value):
                values.append(value)
    if len(values) < resamples // 2:  # most resamples left a reader with no case
        return None
    low, high = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return [float(low), float(high)]


def keep_in_bounds(result: dict, cells: np.ndarray, bounds: tuple[float, float],
                   alpha: float = 0.05) -> dict:
    """Where a t or z interval of ``result`` runs past ``bounds``, give the bootstrap's
    instead; the normal-theory interval stays under ``ci_normal`` for checking, and
    ``ci_method`` says which one ``ci`` is."""
    low_bound, high_bound = bounds
    sides = [("random", result.get("random"), True), ("fixed", result.get("fixed"), False)]
    # Each reader's own difference (two modalities); one modality lists plain FOMs there.
    sides += [(f"per_reader {j}", row, False) for j, row in
              enumerate(result.get("per_reader") or []) if isinstance(row, dict)]
    for name, side, readers in sides:
        if not side or side.get("ci") is None:
            continue
        side["ci_method"] = "t" if name == "random" else "z"
        low, high = side["ci"]
        if low >= low_bound - 1e-12 and high <= high_bound + 1e-12:
            continue
        these = cells
        if name.startswith("per_reader"):
            j = int(name.split()[1])
            these = cells[..., j:j + 1, :]
        bounded = bootstrap_ci(these, readers=readers and these.shape[-2] > 1, alpha=alpha)
        side["ci_normal"] = [low, high]
        if bounded is None:  # too few cases to resample: the possible range, said plainly
            bounded = [max(low, low_bound), min(high, high_bound)]
            side["ci_method"] = "clipped"
        else:
            side["ci_method"] = "bootstrap"
        side["ci"] = bounded
        result["bootstrapped"] = result.get("bootstrapped", 0) + 1
    return result


def _versus_model(diff: np.ndarray, model_cells: np.ndarray, alpha: float) -> dict:
    theta, jack = mean_jackknife(diff)
    result = or_one_modality(theta, jack, alpha)
    # The model's FOM over the same cells as each reader's, so first - second = estimate.
    model_fom = float(np.mean(np.nanmean(model_cells, axis=1)))
    result["means"] = [model_fom, model_fom - result["estimate"]]
    return result


def _add(out, key, title, kind, label, compute, *, cells=None, bounds=None):
    try:
        result = compute()
        if cells is not None:
            result = keep_in_bounds(result, cells, bounds)
    except ValueError as exc:
        out["skipped"].append({"fom": key, "title": title, "kind": kind, "label": label,
                               "reason": str(exc)})
        return
    out["comparisons"].append({"fom": key, "title": title, "kind": kind, "label": label,
                               **result})


# --------------------------------------------------------------------------------------------
# Power and sample size (Hillis, Obuchowski & Berbaum 2011)
# --------------------------------------------------------------------------------------------


def _noncentral_f_power(noncentrality, ddf, alpha: float):
    critical = stats.f.ppf(1 - alpha, 1, ddf)
    return stats.ncf.sf(critical, 1, ddf, noncentrality)


def _plain(value):
    """A float for one number, the array for many: the power functions take a number of
    cases or readers, or an array of them (the planner's search asks a whole grid at once,
    one scipy call instead of hundreds)."""
    return float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=float)


def power_two_modalities(*, n_readers: int, n_cases: int, pilot_cases: int, effect: float,
                         var_tr: float, var: float, cov1: float, cov2: float, cov3: float,
                         alpha: float = 0.05) -> dict:
    """Power of the OR test (random readers and cases) of two modalities, Hillis 2011 eq. 10.

    The pilot's case-sampling components (``var``, ``cov1..3`` from ``pilot_cases`` cases)
    scale by ``pilot_cases / n_cases``; ``var_tr`` is truncated at 0 as RJafroc does.
    """
    scale = pilot_cases / np.asarray(n_cases, dtype=float)
    excess = max(cov2 - cov3, 0.0)
    var_tr = max(var_tr, 0.0)
    den = var_tr + scale * (var - cov1 + (n_readers - 1) * excess)
    ddf = den**2 / ((var_tr + scale * (var - cov1 - excess)) ** 2 / (n_readers - 1))
    noncentrality = effect**2 * n_readers / 2 / den
    return {"power": _plain(_noncentral_f_power(noncentrality, ddf, alpha)), "df": _plain(ddf),
            "noncentrality": _plain(noncentrality)}


def power_versus_model(*, n_readers: int, n_cases: int, pilot_cases: int, effect: float,
                       var_r: float, var: float, cov2: float, alpha: float = 0.05) -> dict:
    """Power of the test of the model against the reader average (one modality on the
    per-case differences, Hillis 2007 section 5.3), by the method of Hillis 2011.

    ``var_r`` is the variance of the readers' true FOMs; ``var`` and ``cov2`` are the
    case-sampling variance of one reader's difference from the model and the covariance of
    two readers' differences, from ``pilot_cases`` cases. Expected mean squares:
    ``E[MS(R)] = var_r + var - cov2``, ``E[MS_den] = var_r + var + (J - 1) cov2``; the
    noncentrality is ``J effect^2 / E[MS_den]`` and the ddf Hillis' with expected values.
    """
    scale = pilot_cases / np.asarray(n_cases, dtype=float)
    n_readers = np.asarray(n_readers, dtype=float)
    var_r, cov2 = max(var_r, 0.0), max(cov2, 0.0)
    den = var_r + scale * (var + (n_readers - 1) * cov2)
    ms_r = var_r + scale * (var - cov2)
    with np.errstate(divide="ignore"):
        ddf = np.where(ms_r <= 0, np.inf, den**2 / (ms_r**2 / (n_readers - 1)))
    noncentrality = effect**2 * n_readers / den
    return {"power": _plain(_noncentral_f_power(noncentrality, ddf, alpha)), "df": _plain(ddf),
            "noncentrality": _plain(noncentrality)}


# Case counts the planner looks at: power is not monotone in K under Hillis' ddf (more
# cases leave the reader variance alone, with J - 1 degrees of freedom), so the best it can
# do is found on a grid, not at K -> infinity.
_CASE_GRID = np.unique(np.geomspace(2, 10**7, 240).astype(int))


def power_limit(power_at, *, least: int = 2) -> tuple[float, int]:
    """The highest power any number of cases (from ``least``) gives, and the cases it
    takes: never below the power at ``least``. ``power_at`` takes an array of case counts
    as well as one."""
    grid = [int(k) for k in _CASE_GRID if k >= least] or [least]
    powers = power_at(np.array(grid))
    best = int(np.argmax(powers))
    here = power_at(least)
    return (here, least) if here >= powers[best] else (powers[best], int(grid[best]))


def cases_needed(power_at, target: float, *, most: int = 100_000) -> int | None:
    """The fewest cases with ``power_at(K) >= target``; None if no number up to ``most``
    reaches it (reader variance alone can cap the power: then only more readers help).
    The first grid point that reaches it brackets the answer, found by bisection."""
    if power_at(1) >= target:
        return 1
    grid = [int(k) for k in _CASE_GRID if k <= most] + [most]
    reached = np.flatnonzero(power_at(np.array(grid)) >= target)
    if not reached.size:
        return None
    high = grid[reached[0]]
    low = max([k for k in grid if k < high] or [1])
    while high - low > 1:
        middle = (low + high) // 2
        if power_at(middle) >= target:
            high = middle
        else:
            low = middle
    return high


def accuracy_components(*, reader_accuracy: float, model_accuracy: float, reader_sd: float,
                        case_correlation: float) -> dict:
    """Per-case OR components of the model-minus-reader accuracy difference, for planning.

    Correctness is a threshold on a latent normal score shared between raters on the same
    case with correlation ``case_correlation`` (how far hard cases are hard for everyone,
    the model included). Then, per case, with ``v = p (1 - p)`` and ``c`` the covariance of
    two raters' correctness from the bivariate normal: ``var = v_M + v_R - 2 c_RM`` and
    ``cov2 = v_M - 2 c_RM + c_RR``. ``var_r`` is ``reader_sd`` squared: readers differ in
    skill as well as in the cases. For ``pilot_cases = 1`` in ``power_versus_model``.
    """
    for name, p in (("reader accuracy", reader_accuracy), ("model accuracy", model_accuracy)):
        if not 0 < p < 1:
            raise ValueError(f"{name} must lie strictly between 0 and 1, got {p}")
    if not 0 <= case_correlation < 1:
        raise ValueError(f"the case correlation must lie in [0, 1), got {case_correlation}")
    if reader_sd < 0:
        raise ValueError(f"the reader SD must not be negative, got {reader_sd}")
    a_r, a_m = stats.norm.ppf(reader_accuracy), stats.norm.ppf(model_accuracy)
    rho = case_correlation

    def both(a, b):
        return float(stats.multivariate_normal.cdf([a, b], cov=[[1, rho], [rho, 1]]))

    v_r = reader_accuracy * (1 - reader_accuracy)
    v_m = model_accuracy * (1 - model_accuracy)
    c_rr = both(a_r, a_r) - reader_accuracy**2
    c_rm = both(a_r, a_m) - reader_accuracy * model_accuracy
    return {"var_r": reader_sd**2, "var": v_m + v_r - 2 * c_rm, "cov2": v_m - 2 * c_rm + c_rr}


def plan_versus_model(*, reader_accuracy: float, model_accuracy: float, n_readers: int,
                      n_cases: int, reader_sd: float = 0.03, case_correlation: float = 0.3,
                      target: float = 0.8, alpha: float = 0.05) -> dict:
    """Power of a planned study to show the model differs from the reader average, and the
    cases needed for ``target`` power with the same readers."""
    if n_readers < 2:
        raise ValueError("the random-reader analysis needs at least two readers")
    if n_cases < 2:
        raise ValueError("a study needs at least two cases")
    if not 0 < target < 1:
        raise ValueError(f"the target power must lie strictly between 0 and 1, got {target}")
    components = accuracy_components(
        reader_accuracy=reader_accuracy, model_accuracy=model_accuracy, reader_sd=reader_sd,
        case_correlation=case_correlation)
    effect = model_accuracy - reader_accuracy

    def power_at(k):
        return power_versus_model(n_readers=n_readers, n_cases=k, pilot_cases=1,
                                  effect=effect, alpha=alpha, **components)["power"]

    result = power_versus_model(n_readers=n_readers, n_cases=n_cases, pilot_cases=1,
                                effect=effect, alpha=alpha, **components)
    needed = cases_needed(power_at, target) if effect else None
    readers = np.arange(2, 101)
    enough = np.flatnonzero(power_versus_model(
        n_readers=readers, n_cases=n_cases, pilot_cases=1, effect=effect, alpha=alpha,
        **components)["power"] >= target) if effect else []
    readers_needed = int(readers[enough[0]]) if len(enough) else None
    ceiling, ceiling_cases = power_limit(power_at, least=n_cases) if effect else (alpha,
                                                                                   n_cases)
    return {
        **result, "effect": effect, "components": components, "target": target,
        "n_readers": n_readers, "n_cases": n_cases,
        "cases_needed": needed, "readers_needed": readers_needed,
        # The most that more cases can give these readers (never below the power now):
        # past it only the readers' spread is left, and only more readers help.
        "power_ceiling": ceiling, "power_ceiling_cases": ceiling_cases,
    }


def simulate_correctness(rng: np.random.Generator, *, readers: int, cases: int,
                         reader_accuracy: float, model_accuracy: float, reader_sd: float,
                         case_correlation: float, reader_effects=None):
    """One simulated study under the planner's model: 1/0 correctness ``[readers, cases]``
    for the readers and ``[cases]`` for the model.

    A latent normal score per rater and case, with a case effect shared by all raters
    (variance ``case_correlation``); correct where it is above 0. Reader effects have the SD
    on the latent scale that gives ``reader_sd`` on the accuracy scale (delta method), and
    the shift keeps the readers' population mean accuracy at ``reader_accuracy``. Fixed
    ``reader_effects`` (latent scale) stand for the same readers in every study.
    """
    a_r = stats.norm.ppf(reader_accuracy)
    tau = reader_sd / stats.norm.pdf(a_r)
    effects = rng.normal(0, tau, readers) if reader_effects is None else reader_effects
    case = rng.normal(0, math.sqrt(case_correlation), cases)
    noise = rng.normal(0, math.sqrt(1 - case_correlation), (readers + 1, cases))
    readers_ok = a_r * math.sqrt(1 + tau**2) + effects[:, None] + case + noise[1:] > 0
    model_ok = stats.norm.ppf(model_accuracy) + case + noise[0] > 0
    return readers_ok.astype(float), model_ok.astype(float)

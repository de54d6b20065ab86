"""The verdict of an experiment and one paragraph an owner understands.

The recommendation is about the first goal metric: ship the variant that is
better on it (the most likely winner when several are) unless a guardrail
failed; keep control when every variant is worse; otherwise say that there
is no clear difference yet and what size of change the test could have
seen. A sample-ratio mismatch, failed or wobbling guardrails and excluded
units become cautions.
"""

from __future__ import annotations

import math

from smbgrowth.models.experiments.analysis import Comparison, ExperimentResult, MetricResult

__all__ = ["decide", "write_readout"]


def _pct(x: float, digits: int = 1) -> str:
    return f"{x * 100:.{digits}f}%"


def _signed_pct(x: float, digits: int = 1) -> str:
    if not math.isfinite(x):
        return "∞" if x > 0 else "−∞"
    return f"{x * 100:+.{digits}f}%".replace("-", "−")


def _signed_points(x: float, digits: int = 1) -> str:
    return f"{x * 100:+.{digits}f}".replace("-", "−")


def _num(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:,.1f}"
    if a >= 1:
        return f"{x:,.2f}"
    return f"{x:.3g}"


def _chance(p: float) -> str:
    if p > 0.999:
        return "more than 99.9%"
    if p < 0.001:
        return "less than 0.1%"
    if p > 0.99 or p < 0.01:
        return f"{p * 100:.1f}%"
    return f"{p * 100:.0f}%"


def _p(p: float) -> str:
    """Return "= 0.003" or "< 0.001", to follow a p."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}" if p < 0.01 else f"= {p:.2f}"


def _interval_words(result: ExperimentResult, level_ci: bool = True) -> str:
    if result.method == "bayesian":
        return "credible interval"
    if result.method == "sequential":
        return "always-valid interval"
    return "interval"


def decide(result: ExperimentResult) -> None:
    """Fill ``goal``, ``winner``, ``recommendation`` and ``caution`` of ``result``."""
    goals = [m for m in result.metrics if not m.guardrail]
    goal = goals[0]
    result.goal = goal.metric
    better = [c for c in goal.comparisons if c.verdict == "better"]
    worse = [c for c in goal.comparisons if c.verdict == "worse"]
    cautions: list[str] = []
    if better:
        best = max(better, key=lambda c: (c.chance_to_win, abs(c.rel_lift)))
        failed = _guardrails(result, best.variant, "failed")
        if failed:
            result.recommendation = "do-not-ship"
        else:
            result.recommendation = "ship"
        result.winner = best.variant
    elif worse and len(worse) == len(goal.comparisons):
        result.recommendation = "keep-control"
    else:
        result.recommendation = "no-clear-difference"
    if result.srm_detected:
        cautions.append(_srm_sentence(result))
    if result.excluded_units:
        cautions.append(
            f"{result.excluded_units:,} {result.unit_noun} saw more than one variant "
            "and were left out"
        )
    result.caution = cautions


def _guardrails(result: ExperimentResult, variant: str, state: str) -> list[Comparison]:
    out = []
    for m in result.metrics:
        if m.guardrail:
            out += [c for c in m.comparisons if c.variant == variant and c.guardrail == state]
    return out


def _srm_sentence(result: ExperimentResult) -> str:
    total = sum(result.units.values())
    parts = []
    pairs = list(zip(result.variants, result.expected_split, strict=True))
    for v, share in pairs[:1] if len(pairs) == 2 else pairs:
        got = result.units[v] / total if total else 0.0
        parts.append(f"{v} got {_pct(got, 1)} of {result.unit_noun} instead of {_pct(share, 0)}")
    return (
        f"Caution: {'; '.join(parts)} (p {_p(result.srm_p_value)}): check how "
        f"{result.unit_noun} were split before trusting this."
    )


def _means(m: MetricResult) -> dict[str, float]:
    return {v.variant: v.mean for v in m.variants}


def _effect_sentence(result: ExperimentResult, m: MetricResult, c: Comparison) -> str:
    means = _means(m)
    a, b = means[c.control], means[c.variant]
    words = _interval_words(result)
    conf = f"{(1 - result.alpha) * 100:.0f}% {words}"
    if m.kind == "binomial":
        return (
            f"With {c.variant}, {_pct(b)} of {result.unit_noun} {m.phrase or 'have ' + m.metric} "
            f"against "
            f"{_pct(a)} with {c.control}, {_signed_points(c.abs_lift)} points "
            f"({conf} {_signed_points(c.ci[0])} to {_signed_points(c.ci[1])})."
        )
    what = (
        f"averages {_num(b)} {m.metric} per unit"
        if m.kind in ("count", "continuous")
        else f"has {m.metric} of {_num(b)}"
    )
    return (
        f"{c.variant} {what} against {_num(a)} for {c.control}, {_signed_pct(c.rel_lift)} "
        f"({conf} {_signed_pct(c.rel_ci[0])} to {_signed_pct(c.rel_ci[1])})."
    )


def _certainty(result: ExperimentResult, c: Comparison) -> str:
    chance = f"There is a {_chance(c.chance_to_win)} chance it is better"
    if result.method == "bayesian":
        return chance
    adjusted = ""
    if _p(c.p_value_adjusted) != _p(c.p_value):
        adjusted = f", p {_p(c.p_value_adjusted)} after correcting for several comparisons"
    kind = "always-valid p" if result.method == "sequential" else "p"
    return f"{chance} ({kind} {_p(c.p_value)}{adjusted})"


def write_readout(result: ExperimentResult) -> str:
    """Return the plain-language paragraph for ``result`` (call :func:`decide` first)."""
    goal = result.metric(result.goal)
    sentences: list[str] = []
    focus = [c for c in goal.comparisons if c.variant == result.winner] or sorted(
        goal.comparisons, key=lambda c: -c.chance_to_win
    )[:1]
    main = focus[0]
    sentences.append(_effect_sentence(result, goal, main))
    action = {
        "ship": "ship it",
        "do-not-ship": "but do not ship it yet",
        "keep-control": f"keep {main.control}",
        "no-clear-difference": "",
    }[result.recommendation]
    certainty = _certainty(result, main)
    if result.recommendation == "ship":
        sentences.append(f"{certainty}; {action}.")
    elif result.recommendation == "do-not-ship":
        failed = ", ".join(sorted({c.metric for c in _guardrails(result, main.variant, "failed")}))
        sentences.append(f"{certainty}, {action}: it made {failed} worse.")
    elif result.recommendation == "keep-control":
        sentences.append(f"{certainty}: it is worse; {action}.")
    else:
        mde = main.mde_relative
        seen = (
            f" With this many {result.unit_noun} the test could reliably detect a change of "
            f"about {_pct(mde, 0)} or more; run it longer to see smaller ones, or stop if "
            "smaller ones do not matter."
            if math.isfinite(mde)
            else ""
        )
        sentences.append(f"{certainty}: no clear difference yet.{seen}")
    others = [c for c in goal.comparisons if c is not main]
    for c in others:
        sentences.append(
            f"{c.variant}: {_signed_pct(c.rel_lift)} ({c.verdict}, {_chance(c.chance_to_win)} "
            "chance to beat control)."
        )
    for m in result.metrics:
        if m is goal:
            continue
        for c in m.comparisons:
            if (
                result.winner is not None
                and c.variant != result.winner
                and len(goal.comparisons) > 1
            ):
                continue
            label = m.metric
            if m.guardrail:
                state = {
                    "ok": "held",
                    "warning": "may be getting worse",
                    "failed": "got worse",
                }[c.guardrail or "ok"]
                sentences.append(
                    f"Guardrail {label} {state} for {c.variant} ({_signed_pct(c.rel_lift)}, "
                    f"{_chance(1 - c.chance_to_win)} chance it is worse)."
                )
            else:
                verdict = {
                    "better": "better",
                    "worse": "worse",
                    "inconclusive": "no clear difference",
                }[c.verdict]
                sentences.append(
                    f"{label} for {c.variant}: {_signed_pct(c.rel_lift)} "
                    f"({_signed_pct(c.rel_ci[0])} to {_signed_pct(c.rel_ci[1])}), {verdict}."
                )
    reductions = [
        c.variance_reduction for m in result.metrics for c in m.comparisons if c.variance_reduction
    ]
    if reductions:
        best = max(reductions)
        if best > 0.01:
            sentences.append(
                "Using each unit's pre-period value (CUPED) cut the variance by up to "
                f"{_pct(best, 0)}."
            )
    sentences += result.caution
    return " ".join(sentences)

"""The two reference rules alone on a scenario family, without replaying AIM (seconds, not minutes).

    python -m aim_lab.reference_compare --scenario DIR [--scenario DIR ...]   # written with truth.json
    python -m aim_lab.reference_compare --seeds 1,2 [--collapses stark]       # aim_lab.simulate seeds

Prints, pooled over the scenarios given, every setting of the per-factor absence rule
(``aim_lab.reference_rule``) and of the habit-drop rule (``aim_lab.habit_rule``): recall within
72 hours and 7 days, false reds per 1,000 prisoner-days, false reds overlapping a confounder and
reds after release or transfer; then each rule's best setting at or under each ``--at`` rate.
``--json FILE`` writes the same. The figures are those ``aim evaluate`` computes for the rules
(``aim_lab.evaluate.rule_figures``), so they can be set beside its figures for AIM.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aim_lab import habit_rule
from aim_lab.evaluate import Figures, habit_rule_label, per_1000, prisoner_facts, rule_figures
from aim_lab.reference_rule import DEFAULT_GRID, REARM, Upload, plain_rule_flags
from aim_lab.simulate import Collapse, Confounder, ScenarioSpec, SimPrisoner

TZ = ZoneInfo("Europe/London")
RULES = ("reference_rule", "habit_rule")


@dataclass(frozen=True)
class Run:
    """One scenario's batches and truth."""

    name: str
    spec: ScenarioSpec
    uploads: list[Upload]
    truth: list[Collapse]
    prisoners: list[SimPrisoner]
    confounders: list[Confounder]


def run_of_directory(directory: Path) -> Run:
    from aim_local.replay import collect_batches

    from aim_lab.truth_file import load_truth

    truth = load_truth(directory)
    uploads = [Upload(b.created_at, b.body) for b in collect_batches(directory) if b.created_at is not None]
    return Run(str(directory), truth.spec, uploads, truth.collapses, truth.prisoners, truth.confounders)


def run_of_seed(seed: int, prisoners: int, days: int, collapses: str) -> Run:
    from aim_lab.simulate import simulate

    spec = ScenarioSpec(seed=seed, prisoners=prisoners, days=days, collapse_style=collapses)  # type: ignore[arg-type]
    s = simulate(spec)
    uploads = [Upload(b.created_at, b.body) for b in s.batches]
    return Run(f"seed {seed} ({collapses})", spec, uploads, list(s.truth), list(s.prisoners), list(s.confounders))


def rule_results(run: Run) -> dict[str, dict[str, Figures]]:
    """Each rule's figures per setting on one scenario."""
    last = run.spec.start + timedelta(days=run.spec.days)
    days = sum(f.custody_days for f in prisoner_facts(run.prisoners, run.spec, TZ))
    absent = plain_rule_flags(run.uploads, TZ, run.spec.start, last, DEFAULT_GRID)
    habit = habit_rule.habit_rule_flags(run.uploads, TZ, run.spec.start, last)
    args = (run.truth, run.prisoners, run.confounders, TZ)
    return {
        "reference_rule": rule_figures({s.label: f for s, f in absent.items()}, *args, REARM, days),
        "habit_rule": rule_figures(
            {habit_rule_label(t): f for t, f in habit.items()}, *args, habit_rule.REARM, days, habit_rule.RECENT_DAYS
        ),
    }


def pool(parts: Sequence[Figures]) -> Figures:
    """Counts added over scenarios, then rates."""
    n = sum(p.collapses for p in parts)
    d72, d7 = sum(p.detected_72h for p in parts), sum(p.detected_7d for p in parts)
    days, false = sum(p.prisoner_days for p in parts), sum(p.false_reds for p in parts)
    return Figures(
        collapses=n,
        detected_72h=d72,
        detected_7d=d7,
        recall_72h=d72 / n if n else None,
        recall_7d=d7 / n if n else None,
        median_hours_to_detect=None,
        prisoner_days=days,
        red_alerts=sum(p.red_alerts for p in parts),
        false_reds=false,
        false_reds_per_1000=per_1000(false, days),
        false_reds_from_confounders=sum(p.false_reds_from_confounders for p in parts),
        reds_after_departure=sum(p.reds_after_departure for p in parts),
    )


def best_at(settings: dict[str, Figures], cap: float) -> tuple[str, Figures] | None:
    ok = [(k, f) for k, f in settings.items() if (f.false_reds_per_1000 or 0.0) <= cap + 1e-9]
    return max(ok, key=lambda kf: (kf[1].detected_72h, kf[1].detected_7d, -kf[1].false_reds), default=None)


def compare(runs: Sequence[Run], caps: Sequence[float]) -> dict[str, Any]:
    per_run = [rule_results(r) for r in runs]
    out: dict[str, Any] = {"scenarios": [r.name for r in runs], "rules": {}}
    for rule in RULES:
        pooled = {label: pool([pr[rule][label] for pr in per_run]) for label in per_run[0][rule]}
        best = {}
        for cap in caps:
            found = best_at(pooled, cap)
            best[f"{cap:g}"] = {"setting": found[0], **asdict(found[1])} if found else None
        out["rules"][rule] = {"settings": {k: asdict(f) for k, f in pooled.items()}, "best_at": best}
    return out


def _f(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def render(result: dict[str, Any]) -> list[str]:
    lines = [f"scenarios: {', '.join(result['scenarios'])}"]
    for rule, body in result["rules"].items():
        lines.append("")
        lines.append(f"{rule}: {'setting':<48}{'recall72':>9}{'recall7d':>9}{'FR/1000':>9}{'conf':>6}{'gone':>6}")
        for label, f in body["settings"].items():
            lines.append(
                f"  {label:<{48 + len(rule)}}{_f(f['recall_72h']):>9}{_f(f['recall_7d']):>9}"
                f"{_f(f['false_reds_per_1000']):>9}{f['false_reds_from_confounders']:>6}{f['reds_after_departure']:>6}"
            )
        for cap, b in body["best_at"].items():
            lines.append(
                f"  best at <= {cap} false reds per 1,000: "
                + (
                    f"{b['setting']}: recall@72h {_f(b['recall_72h'])} ({b['detected_72h']}/{b['collapses']}), "
                    f"recall@7d {_f(b['recall_7d'])}, {_f(b['false_reds_per_1000'])} per 1,000"
                    if b
                    else "none"
                )
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m aim_lab.reference_compare", description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", action="append", type=Path, default=[], help="a directory with truth.json")
    ap.add_argument("--seeds", default="", help="aim_lab.simulate seeds, comma-separated")
    ap.add_argument("--collapses", choices=("mixed", "stark"), default="mixed")
    ap.add_argument("--prisoners", type=int, default=200)
    ap.add_argument("--days", type=int, default=56)
    ap.add_argument("--at", default="0,0.3,1", help="false reds per 1,000 at which to report each rule's best")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args(argv)
    runs = [run_of_directory(d) for d in args.scenario]
    runs += [run_of_seed(int(s), args.prisoners, args.days, args.collapses) for s in args.seeds.split(",") if s]
    if not runs:
        ap.error("give --scenario DIR or --seeds")
    result = compare(runs, [float(c) for c in args.at.split(",") if c])
    print("\n".join(render(result)))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

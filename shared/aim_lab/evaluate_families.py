"""``aim evaluate --families``: one evaluation across every scenario family, under one configuration.

Families:

* ``mixed`` and ``stark``: establishments simulated by ``aim_lab.simulate`` (collapses of every
  speed and depth, or every collapse abrupt, total and on every factor);
* ``independent``, ``quiet`` and ``noisy``: scenarios written by ``aim_lab.scenario_writer``,
  apart from the model (a settled establishment with partial drops, an unsettled one).

Each family gets ``--per-family N`` runs (seeds 1..N) at the same size, all replayed with the
same configuration, in up to ``--jobs`` processes. Per family and pooled over every run (counts
added, then rates), it reports recall within 72 hours and 7 days with 95 % Wilson intervals, the
median time to detect, false reds per 1,000 prisoner-days with a 95 % Poisson interval, false reds
overlapping a confounder, reds after release or transfer, the realised rate of all reds (and its
ratio to the configured red capacity when one is set), subgroup ratios, and both reference rules
beside AIM's threshold sweep: at each sweep point, each rule's best setting with no more false reds
than AIM had there. A family's verdict says whether AIM detected at least as many collapses within
72 hours as both rules at every point of its sweep.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aim.config import AimConfig, load_config

from aim_lab.evaluate import (
    AGE_BANDS,
    DEFAULT_SWEEP,
    USAGE_BANDS,
    AlertVerdict,
    Detection,
    PrisonerFacts,
    SeedOutcome,
    SweepPoint,
    figures,
    intervals,
    per_1000,
    poisson_interval,
    pool_sweeps,
    spec_for,
    subgroup_figures,
)

FAMILIES: tuple[str, ...] = ("mixed", "stark", "independent", "quiet", "noisy")
SIMULATED: frozenset[str] = frozenset({"mixed", "stark"})
COST_ORDER: tuple[str, ...] = ("noisy", "independent", "quiet", "stark", "mixed")  # slowest to replay first
WRITTEN_ESTABLISHMENT = "HMW"  # the scenario writer's establishment
RULES: tuple[tuple[str, str], ...] = (
    ("reference_rule", "per-factor absence rule"),
    ("habit_rule", "habit-drop rule"),
)
DEFAULT_JSON = Path("out/evaluate/families.json")


# --------------------------------------------------------------------------- one run


@dataclass(frozen=True)
class FamilyRun:
    """What the pooled figures need from one replayed scenario (small enough to pass between processes)."""

    family: str
    seed: int
    name: str
    establishment: str
    seconds: float
    detections: list[Detection]
    verdicts: list[AlertVerdict]
    facts: list[PrisonerFacts]
    sweep: list[SweepPoint]
    # each rule's settings on this run: label -> (detected within 72 h, false reds)
    rules: dict[str, dict[str, tuple[int, int]]]

    @property
    def prisoner_days(self) -> int:
        return sum(f.custody_days for f in self.facts)


def family_run(family: str, outcome: SeedOutcome) -> FamilyRun:
    return FamilyRun(
        family=family,
        seed=outcome.seed,
        name=outcome.variant,
        establishment=outcome.spec.establishment,
        seconds=outcome.seconds,
        detections=list(outcome.detections),
        verdicts=list(outcome.verdicts),
        facts=list(outcome.facts),
        sweep=list(outcome.sweep),
        rules={"reference_rule": dict(outcome.reference), "habit_rule": dict(outcome.habit_reference)},
    )


@dataclass(frozen=True)
class Job:
    """One scenario to write (if a written family) and replay."""

    family: str
    seed: int
    position: int
    prisoners: int
    days: int
    config: AimConfig
    directory: Path  # where a written family's scenario goes


def establishment_of(job_family: str, seed: int, position: int, prisoners: int, days: int) -> str:
    if job_family in SIMULATED:
        return spec_for(seed, position, prisoners, days, job_family)[1].establishment
    return WRITTEN_ESTABLISHMENT


def run_job(job: Job) -> FamilyRun:
    """Write (for a written family) and replay one scenario; the figures of that run."""
    from aim_lab.evaluate import evaluate_directory, evaluate_seed

    started = time.perf_counter()
    print(f"  started {job.family} seed {job.seed}", flush=True)
    if job.family in SIMULATED:
        variant, spec = spec_for(job.seed, job.position, job.prisoners, job.days, job.family)
        outcome = evaluate_seed(job.seed, variant, spec, job.config, thresholds=DEFAULT_SWEEP)
    else:
        from aim_lab.scenario_writer import write_scenario

        shutil.rmtree(job.directory, ignore_errors=True)  # stale batches of another size would be replayed too
        write_scenario(job.directory, job.seed, job.prisoners, job.days, WRITTEN_ESTABLISHMENT, job.family)
        outcome = evaluate_directory(job.directory, job.config, thresholds=DEFAULT_SWEEP)
        outcome.variant = f"{job.family} seed {job.seed}"
    outcome.seconds = time.perf_counter() - started
    return family_run(job.family, outcome)


# --------------------------------------------------------------------------- pooled figures


def rule_settings(runs: Sequence[FamilyRun], rule: str) -> list[dict[str, Any]]:
    """A reference rule's settings with counts added over ``runs``, then rates."""
    collapses = sum(len(r.detections) for r in runs)
    days = sum(r.prisoner_days for r in runs)
    pooled: dict[str, list[int]] = {}
    for r in runs:
        for label, (detected, false) in r.rules.get(rule, {}).items():
            acc = pooled.setdefault(label, [0, 0])
            acc[0] += detected
            acc[1] += false
    return [
        {
            "setting": label,
            "detected_72h": d,
            "recall_72h": d / collapses if collapses else None,
            "false_reds": f,
            "false_reds_per_1000": per_1000(f, days),
        }
        for label, (d, f) in pooled.items()
    ]


def best_rule_setting(settings: Sequence[Mapping[str, Any]], max_false_reds: int) -> Mapping[str, Any] | None:
    """The setting with the most detections within 72 h among those with at most ``max_false_reds`` false
    reds (the same prisoner-days, so a count is the rate); fewer false reds breaks a tie."""
    ok = [s for s in settings if s["false_reds"] <= max_false_reds]
    return max(ok, key=lambda s: (s["detected_72h"], -s["false_reds"]), default=None)


def trade_off(sweep: Sequence[SweepPoint], settings: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """At each point of AIM's sweep, each rule's best setting with no more false reds than AIM had there,
    and whether AIM detected at least as many collapses within 72 h as every rule (a rule with no
    setting that quiet cannot beat AIM at that point)."""
    rows = []
    for p in sweep:
        best = {rule: best_rule_setting(s, p.false_reds) for rule, s in settings.items()}
        rows.append(
            {
                "threshold": p.threshold,
                "aim": {
                    "detected_72h": p.detected_72h,
                    "recall_72h": p.recall_72h,
                    "false_reds": p.false_reds,
                    "false_reds_per_1000": p.false_reds_per_1000,
                },
                "rules": {rule: dict(b) if b else None for rule, b in best.items()},
                "aim_at_least_every_rule": all(b is None or p.detected_72h >= b["detected_72h"] for b in best.values()),
            }
        )
    return rows


def verdict(curve: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Whether AIM is at least as good as both rules along its whole curve, and where it is not."""
    behind = [row["threshold"] for row in curve if not row["aim_at_least_every_rule"]]
    return {"holds": bool(curve) and not behind, "points": len(curve), "thresholds_behind": behind}


def capacity_figures(runs: Sequence[FamilyRun], config: AimConfig, red_alerts: int) -> dict[str, Any]:
    """All reds per 1,000 prisoner-days against the configured red capacity (weighted by each run's days)."""
    days = sum(r.prisoner_days for r in runs)
    capacities = [config.red_capacity_for(r.establishment) for r in runs]
    if days <= 0 or any(c is None for c in capacities):
        configured = None
    else:
        configured = sum(c * r.prisoner_days for c, r in zip(capacities, runs, strict=True) if c is not None) / days
    realised = per_1000(red_alerts, days)
    low, high = poisson_interval(red_alerts)
    return {
        "red_alerts": red_alerts,
        "reds_per_1000": realised,
        "reds_per_1000_interval_95": [round(1000 * low / days, 3), round(1000 * high / days, 3)] if days else None,
        "red_capacity_per_1000": configured,
        "ratio_to_capacity": realised / configured if configured and realised is not None else None,
    }


def qualified(run: FamilyRun) -> tuple[list[Detection], list[AlertVerdict], list[PrisonerFacts]]:
    """The run's detections, verdicts and facts with prison numbers made unique to the run: scenarios of
    different families or seeds reuse numbers, and the subgroup figures look people up by number."""
    tag = f"{run.family}/{run.seed}/"
    return (
        [replace(d, prisoner_id=tag + d.prisoner_id) for d in run.detections],
        [replace(v, alert=replace(v.alert, prisoner_id=tag + v.alert.prisoner_id)) for v in run.verdicts],
        [replace(f, prisoner_id=tag + f.prisoner_id) for f in run.facts],
    )


def family_results(runs: Sequence[FamilyRun], config: AimConfig) -> dict[str, Any]:
    """The figures of a set of runs, counts added over them, then rates."""
    parts = [qualified(r) for r in runs]
    detections = [d for p in parts for d in p[0]]
    verdicts = [v for p in parts for v in p[1]]
    facts = [f for p in parts for f in p[2]]
    overall = figures(detections, verdicts, sum(f.custody_days for f in facts))
    age = subgroup_figures(detections, verdicts, facts, lambda f: f.age_band, AGE_BANDS, "age")
    usage = subgroup_figures(detections, verdicts, facts, lambda f: f.usage, USAGE_BANDS, "kiosk use")
    swept = pool_sweeps([r.sweep for r in runs])
    settings = {rule: rule_settings(runs, rule) for rule, _ in RULES}
    curve = trade_off(swept, settings)
    return {
        "runs": len(runs),
        "overall": asdict(overall) | {"interval_95": intervals(overall)},
        "all_reds": capacity_figures(runs, config, overall.red_alerts),
        "subgroups": [asdict(s) | {"within_target": s.within_target} for s in age + usage],
        "rules_at_aim_false_reds": {
            rule: dict(b) if (b := best_rule_setting(s, overall.false_reds)) else None for rule, s in settings.items()
        },
        "trade_off": curve,
        "verdict": verdict(curve),
        "rule_settings": settings,
    }


def all_results(runs: Sequence[FamilyRun], config: AimConfig, families: Sequence[str]) -> dict[str, Any]:
    per_family = {f: family_results([r for r in runs if r.family == f], config) for f in families}
    return {"families": {f: v for f, v in per_family.items() if v["runs"]}, "pooled": family_results(runs, config)}


# --------------------------------------------------------------------------- text


def _f(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _with_interval(value: float | None, span: Sequence[float] | None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f} ({span[0]:.{digits}f}-{span[1]:.{digits}f})" if span else f"{value:.{digits}f}"


def _main_table(results: Mapping[str, Any]) -> list[str]:
    lines = [
        f"{'family':<12}{'runs':>5}{'coll.':>6}  {'recall 72 h (95 %)':<19}{'recall 7 d (95 %)':<19}"
        f"{'med h':>6}  {'false reds/1,000 (95 %)':<24}{'conf':>5}{'gone':>5}  "
        f"{'all reds/1,000 (95 %)':<23}{'x cap':>6}"
    ]
    for name, r in _rows(results):
        o, ci, red = r["overall"], r["overall"]["interval_95"], r["all_reds"]
        lines.append(
            f"{name:<12}{r['runs']:>5}{o['collapses']:>6}  {_with_interval(o['recall_72h'], ci['recall_72h']):<19}"
            f"{_with_interval(o['recall_7d'], ci['recall_7d']):<19}{_f(o['median_hours_to_detect'], 0):>6}  "
            f"{_with_interval(o['false_reds_per_1000'], ci['false_reds_per_1000']):<24}"
            f"{o['false_reds_from_confounders']:>5}{o['reds_after_departure']:>5}  "
            f"{_with_interval(red['reds_per_1000'], red['reds_per_1000_interval_95']):<23}"
            f"{_f(red['ratio_to_capacity']):>6}"
        )
    return lines


def _rows(results: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [*results["families"].items(), ("pooled", results["pooled"])]


def _subgroup_table(results: Mapping[str, Any]) -> list[str]:
    bands = [("age", b) for b in AGE_BANDS] + [("kiosk use", b) for b in USAGE_BANDS]
    lines = [
        "subgroups: recall@72h ratio / false-red ratio against the whole (target 0.8-1.25 each)",
        f"{'family':<12}" + "".join(f"{(b if g == 'age' else b + ' use'):>14}" for g, b in bands),
    ]
    for name, r in _rows(results):
        cells = {(s["group"], s["band"]): s for s in r["subgroups"]}
        row = f"{name:<12}"
        for key in bands:
            s = cells.get(key)
            row += f"{(_f(s['recall_ratio']) + ' / ' + _f(s['false_red_ratio'])) if s else 'n/a':>14}"
        lines.append(row)
    return lines


def _rule_cell(best: Mapping[str, Any] | None) -> str:
    if not best:
        return "no setting"
    return f"{_f(best['recall_72h'])} at {_f(best['false_reds_per_1000'])} ({best['setting']})"


def _rules_at_aim(results: Mapping[str, Any]) -> list[str]:
    lines = ["reference rules at AIM's false-red rate (recall@72h at false reds per 1,000; best setting at or under):"]
    for name, r in _rows(results):
        o = r["overall"]
        lines.append(f"  {name}: AIM {_f(o['recall_72h'])} at {_f(o['false_reds_per_1000'])}")
        for rule, label in RULES:
            lines.append(f"    {label}: {_rule_cell(r['rules_at_aim_false_reds'][rule])}")
    return lines


def _curve(name: str, r: Mapping[str, Any]) -> list[str]:
    lines = [
        f"  {name}: {'red':>5}{'FR/1,000':>10}{'AIM r72':>9}{'per-factor':>12}{'habit-drop':>12}",
    ]
    last: tuple[Any, ...] | None = None
    for row in r["trade_off"]:
        cells = [row["rules"][rule] for rule, _ in RULES]
        key = (row["aim"]["detected_72h"], row["aim"]["false_reds"])
        if key == last:
            continue  # the same point as the threshold before
        last = key
        lines.append(
            f"  {'':<{len(name)}}  {row['threshold']:>5.1f}{_f(row['aim']['false_reds_per_1000']):>10}"
            f"{_f(row['aim']['recall_72h']):>9}"
            + "".join(f"{_f(c['recall_72h']) if c else '-':>12}" for c in cells)
            + ("" if row["aim_at_least_every_rule"] else "  AIM behind")
        )
    return lines


def _verdict_line(name: str, r: Mapping[str, Any]) -> str:
    v = r["verdict"]
    if v["holds"]:
        return f"  {name}: AIM >= both rules at all {v['points']} sweep points"
    if not v["points"]:
        return f"  {name}: no sweep"
    swept = [row["threshold"] for row in r["trade_off"]]
    behind = ", ".join(_spans(swept, v["thresholds_behind"]))
    rates = [
        row["aim"]["false_reds_per_1000"]
        for row in r["trade_off"]
        if row["threshold"] in v["thresholds_behind"] and row["aim"]["false_reds_per_1000"] is not None
    ]
    span = (_f(min(rates)) if min(rates) == max(rates) else f"{_f(min(rates))}-{_f(max(rates))}") if rates else ""
    where = f"; AIM at {span} false reds per 1,000" if rates else ""
    count = len(v["thresholds_behind"])
    return f"  {name}: NOT MET, a rule detects more at {count} of {v['points']} points (red {behind}{where})"


def _spans(swept: Sequence[float], chosen: Sequence[float]) -> list[str]:
    """``chosen`` thresholds written as runs of neighbours in ``swept``: 3.5-5, 7."""
    picked = set(chosen)
    runs: list[list[float]] = []
    previous_picked = False
    for t in swept:
        if t in picked:
            if previous_picked:
                runs[-1].append(t)
            else:
                runs.append([t])
        previous_picked = t in picked
    return [f"{run[0]:g}" if len(run) == 1 else f"{run[0]:g}-{run[-1]:g}" for run in runs]


def render(results: Mapping[str, Any], header: str) -> list[str]:
    lines = ["", header, "-" * 78, *_main_table(results)]
    lines += [
        "(conf: false reds overlapping a confounder; gone: reds after release or transfer;",
        " x cap: all reds against the configured red capacity, n/a when none is set)",
    ]
    lines += ["", *_subgroup_table(results), "", *_rules_at_aim(results), ""]
    lines.append(
        "trade-off along AIM's sweep: recall@72h of AIM, and of each rule's best setting at <= AIM's false reds"
    )
    for name, r in _rows(results):
        lines += _curve(name, r)
    lines += ["", "VERDICT (AIM detects at least as many within 72 h as both rules along its curve)"]
    lines += [_verdict_line(name, r) for name, r in _rows(results)]
    return lines


# --------------------------------------------------------------------------- command


def parse_families(text: str) -> list[str]:
    names = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [f for f in names if f not in FAMILIES]
    if unknown or not names:
        raise ValueError(f"--families takes a comma-separated subset of {','.join(FAMILIES)}, got {text!r}")
    return list(dict.fromkeys(names))


def plan(
    families: Sequence[str], per_family: int, prisoners: int, days: int, config: AimConfig, scenario_root: Path
) -> list[Job]:
    """Every run, the longest first (written scenarios replay their history too) so the processes finish together."""
    jobs = []
    for family in sorted(families, key=COST_ORDER.index):
        for position in range(per_family):
            seed = position + 1
            directory = scenario_root / f"{family}-s{seed}"
            jobs.append(Job(family, seed, position, prisoners, days, config, directory))
    establishments = {establishment_of(j.family, j.seed, j.position, prisoners, days) for j in jobs}
    missing = sorted(e for e in establishments if e not in config.establishments)
    if missing:
        config = config.model_copy(update={"establishments": [*config.establishments, *missing]})
        jobs = [Job(j.family, j.seed, j.position, j.prisoners, j.days, config, j.directory) for j in jobs]
    return jobs


def execute(
    jobs: Sequence[Job], workers: int, on_done: Callable[[Sequence[FamilyRun]], None] | None = None
) -> list[FamilyRun]:
    """Run the jobs, in ``workers`` processes when more than one; prints a line as each finishes and hands
    the runs finished so far to ``on_done``."""
    runs: list[FamilyRun] = []

    def done(run: FamilyRun) -> None:
        runs.append(run)
        fig = figures(run.detections, run.verdicts, run.prisoner_days)
        print(
            f"  [{len(runs)}/{len(jobs)}] {run.family} seed {run.seed}: {run.seconds:.0f} s, "
            f"{fig.collapses} collapses, recall@72h {_f(fig.recall_72h)}, {fig.red_alerts} reds, "
            f"{fig.false_reds} false",
            flush=True,
        )
        if on_done is not None:
            on_done(runs)

    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            done(run_job(job))
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for future in as_completed([pool.submit(run_job, job) for job in jobs]):
                done(future.result())
    order = {(j.family, j.seed): i for i, j in enumerate(jobs)}
    return sorted(runs, key=lambda r: order[(r.family, r.seed)])


def run_families(args: argparse.Namespace) -> int:
    try:
        families = parse_families(str(args.families))
    except ValueError as exc:
        print(f"aim evaluate: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    config = load_config(args.config) if getattr(args, "config", None) else load_config()
    json_path = Path(getattr(args, "json", None) or DEFAULT_JSON)
    jobs = plan(families, args.per_family, args.prisoners, args.days, config, json_path.parent / "scenarios")
    command = (
        f"aim evaluate --families {','.join(families)} --per-family {args.per_family} "
        f"--prisoners {args.prisoners} --days {args.days}"
        + (f" --config {args.config}" if getattr(args, "config", None) else "")
    )
    print(f"{len(jobs)} runs ({', '.join(families)} x {args.per_family}) in {args.jobs} process(es)", flush=True)

    def keep_partial(done: Sequence[FamilyRun]) -> None:  # a long run leaves usable figures after every run
        if len(done) < len(jobs):
            partial = all_results(done, jobs[0].config, families)
            elapsed = time.perf_counter() - started
            write_json(json_path, partial, done, command, elapsed, partial=f"{len(done)} of {len(jobs)} runs")

    runs = execute(jobs, args.jobs, keep_partial)
    results = all_results(runs, jobs[0].config, families)
    seconds = time.perf_counter() - started
    header = (
        f"DETECTION ACROSS FAMILIES ({args.per_family} run(s) per family, {args.prisoners} prisoners x "
        f"{args.days} days, config: {getattr(args, 'config', None) or 'defaults'}; counts added, then rates)"
    )
    print("\n".join(render(results, header)))
    write_json(json_path, results, runs, command, seconds)
    print(f"figures written to {json_path}")
    print(f"evaluate finished in {seconds:.0f} s")
    return 0


def write_json(
    path: Path,
    results: Mapping[str, Any],
    runs: Sequence[FamilyRun],
    command: str,
    seconds: float,
    partial: str | None = None,
) -> None:
    doc = {
        "command": command,
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
        "partial": partial,
        "runs": [
            {
                "family": r.family,
                "seed": r.seed,
                "name": r.name,
                "establishment": r.establishment,
                "seconds": round(r.seconds, 1),
                "figures": asdict(figures(r.detections, r.verdicts, r.prisoner_days)),
            }
            for r in runs
        ],
        **results,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, default=str))


__all__ = [
    "FAMILIES",
    "FamilyRun",
    "all_results",
    "best_rule_setting",
    "capacity_figures",
    "family_results",
    "parse_families",
    "render",
    "rule_settings",
    "run_families",
    "trade_off",
    "verdict",
]

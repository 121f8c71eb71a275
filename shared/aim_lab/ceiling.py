"""How far could *any* model go on this data? A learned-model ceiling for the detection targets.

The detection target is recall within 72 hours of >= 0.90 at <= 1 false red per 1,000 prisoner-days. This
study asks whether the signal is there at all: it trains a gradient-boosted classifier on the
ground truth of many generated scenarios (every scoring input AIM's model sees, and the model's own
score, as features) and measures it on held-out scenarios beside AIM's own score, under the same
rules. A supervised model that knows the answer for its training scenarios is generous to itself;
if even it stays far from the target, the target is not reachable by tuning the model.

Each scenario runs through the production ingest and scoring use cases on in-memory stores
(``aim_local.memory``), scoring once a day at 07:00 local and capturing each scoring pass through
the run's ``on_scored`` callback. The classifier needs scikit-learn, the optional ``study``
extra (``make ceiling`` installs it); nothing here is deployed.

Rules (the same for AIM's score and the classifier): a prisoner is red on a day when their value
reaches the threshold; after a red, the same prisoner is not counted again for 72 hours (the quiet
period). A red within 72 hours after onset detects the collapse; a red for someone whose routine
did not collapse, or before the onset, is false. Daily scoring finds reds up to a day later than
the hourly schedule, so AIM's figures here sit a little below ``aim evaluate``'s; both columns
share that handicap.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from aim.config import AimConfig, load_config
from aim.domain.features import DROP, MEMBERSHIP
from aim.domain.prisoner import PrisonerState
from aim.domain.scoring import ScoreInputs, ScoreResult
from aim.service.scoring_run import run_scoring

HOUR = 3600.0
QUIET_HOURS = 72.0
CAPS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)  # false reds per 1,000 prisoner-days
LAST = 4  # recent days the features look at
BASELINE = 28  # days before them that say what is usual


@dataclass
class Capture:
    """One scenario's daily scoring passes: a row per (day, prisoner judged)."""

    name: str
    pid: npt.NDArray[np.str_]
    hours: npt.NDArray[np.float64]  # tick, hours since the evaluation window began
    onset: npt.NDArray[np.float64]  # hours since the window began; NaN: no collapse
    aim: npt.NDArray[np.float64]  # AIM's value over its red line (>= 1: red), silence included
    features: npt.NDArray[np.float64]
    collapses: int
    prisoner_days: int


def features(inputs: ScoreInputs, result: ScoreResult, mult: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """[P, K] what a classifier sees of each prisoner: AIM's score and every count it judged on."""
    x = inputs.counts @ MEMBERSHIP.T  # [P, T, C]
    v = inputs.valid
    j = inputs.judge
    lo = j - LAST + 1
    b0 = max(0, lo + 2 - BASELINE)
    bv, bx = v[:, b0 : lo + 2, :], x[:, b0 : lo + 2, :]
    nb = bv.sum(axis=1)
    mean = np.where(bv, bx, 0.0).sum(axis=1) / np.maximum(nb, 1)
    share = ((bx > 0) & bv).sum(axis=1) / np.maximum(nb, 1)
    last, lv = x[:, lo : j + 1, :], v[:, lo : j + 1, :]
    n_p = x.shape[0]
    cols: list[npt.NDArray[np.float64]] = [
        result.score / mult,
        mult,
        result.expected_per_day,
        nb.min(axis=1),
    ]
    for k in range(1, LAST + 1):
        obs = np.where(lv[:, -k:], last[:, -k:], 0.0).sum(axis=1)
        n = lv[:, -k:].sum(axis=1)
        cols += [np.log((obs + 0.5) / (mean * n + 0.5)), (obs == 0) & (n == k), n]
    cols += [share, mean, np.where(lv, last, -1.0).reshape(n_p, -1)]
    for k in (1, 2, 3):
        for s in (0.4, 0.6, 0.8):
            cols.append(
                (DROP & (share >= s) & (nb >= 7) & lv[:, -k:].all(axis=1) & (last[:, -k:] == 0).all(axis=1)).sum(axis=1)
            )
    routine = (np.where(lv, last, 0.0) * DROP).sum(axis=2)
    cols.append(np.log((routine + 0.5) / ((mean * DROP).sum(axis=1)[:, None] + 0.5)))
    cols.append(inputs.counts[:, lo : j + 1, :].reshape(n_p, -1))
    return np.hstack([np.asarray(c, dtype=np.float64).reshape(n_p, -1) for c in cols])


def _source(name: str, workdir: Path, tz: ZoneInfo) -> tuple[str, list[Any], list[Any], list[Any], datetime, int]:
    """(establishment, batches, collapses, prisoners, window start, days) of ``kind:seed``."""
    from aim_local.replay import BatchFile, collect_batches

    from aim_lab.evaluate import spec_for
    from aim_lab.simulate import simulate

    kind, _, seed_text = name.partition(":")
    seed = int(seed_text)
    if kind in ("mixed", "stark", "train", "train-stark"):
        # The scenarios ``aim evaluate`` runs for these seeds (each seed its variant of the mix);
        # training runs have more collapses (15 % of prisoners) to learn from.
        _, spec = spec_for(seed, seed - 1, 240, 63, "stark" if kind.endswith("stark") else "mixed")
        if kind.startswith("train"):
            spec = spec.model_copy(update={"collapse_fraction": 0.15})
        sc = simulate(spec)
        start = datetime.combine(spec.start, dtime(0), tzinfo=tz)
        batches = [BatchFile(b.key, b.body, b.created_at) for b in sc.batches]
        return spec.establishment, batches, list(sc.truth), list(sc.prisoners), start, spec.days
    if kind == "independent":
        from aim_lab.scenario_writer import write_scenario
        from aim_lab.truth_file import load_truth

        out = workdir / f"independent-{seed}"
        write_scenario(out, seed)
        truth = load_truth(out)
        return (
            truth.spec.establishment,
            collect_batches(out),
            list(truth.collapses),
            list(truth.prisoners),
            truth.window_from,
            truth.spec.days,
        )
    raise ValueError(f"unknown scenario {name!r}: use mixed:N, stark:N, train:N, train-stark:N or independent:N")


def capture(name: str, config: AimConfig) -> Capture:
    """Run one scenario through the pipeline in memory, scoring daily at 07:00, and keep every pass."""
    from aim_local.memory import InMemoryStack

    from aim_lab.evaluate import custody_days

    with tempfile.TemporaryDirectory() as tmp:
        tz = ZoneInfo(config.timezone)
        est, batches, collapses, prisoners, start, days = _source(name, Path(tmp), tz)
        cfg = config.model_copy(update={"establishments": [est]})
        onsets = {c.prisoner_id: (c.onset_at - start).total_seconds() / HOUR for c in collapses}
        ordered = sorted((b for b in batches if b.created_at is not None), key=lambda b: b.created_at)
        rows: dict[str, list[Any]] = {"pid": [], "hours": [], "aim": [], "features": []}
        stack = InMemoryStack(cfg)
        passes: list[tuple[list[PrisonerState], ScoreInputs, ScoreResult]] = []

        def on_scored(active: list[PrisonerState], inputs: ScoreInputs, result: ScoreResult) -> None:
            passes.append((active, inputs, result))

        day = ordered[0].created_at.astimezone(tz).date() + timedelta(days=1)
        i = 0
        while True:
            tick = datetime.combine(day, dtime(7), tzinfo=tz).astimezone(UTC)
            pending = []
            while i < len(ordered) and ordered[i].created_at <= tick:
                pending.append((ordered[i].key, ordered[i].body, ordered[i].created_at))
                i += 1
            stack.ingest(pending)
            passes.clear()
            run_scoring(est, tick, stack.activity, stack.state, stack.publisher, cfg, stack.alert_key, on_scored)
            stack.drain_alerts()
            if passes and tick >= start:
                _keep(rows, passes[-1], tick, start, cfg)
            if i >= len(ordered) and tick > ordered[-1].created_at:
                break
            day += timedelta(days=1)
        pdays = sum(custody_days(p, start.astimezone(tz).date(), days, tz) for p in prisoners)
    pid = np.array(rows["pid"])
    return Capture(
        name=name,
        pid=pid,
        hours=np.array(rows["hours"], dtype=np.float64),
        onset=np.array([onsets.get(p, np.nan) for p in pid], dtype=np.float64),
        aim=np.array(rows["aim"], dtype=np.float64),
        features=np.vstack(rows["features"]),
        collapses=len(collapses),
        prisoner_days=pdays,
    )


def _keep(
    rows: dict[str, list[Any]],
    captured: tuple[list[PrisonerState], ScoreInputs, ScoreResult],
    tick: datetime,
    start: datetime,
    cfg: AimConfig,
) -> None:
    active, inputs, result = captured
    red = cfg.thresholds_for(active[0].establishment).red if active else cfg.thresholds.red
    judged = [p for p, s in enumerate(active) if s.thresholds and s.light != "insufficient"]
    if not judged:
        return
    mult = np.ones(len(active))
    for p in judged:
        mult[p] = active[p].thresholds[1] / red
    table = features(inputs, result, mult)
    for p in judged:
        s = active[p]
        rows["pid"].append(s.prisoner_id)
        rows["hours"].append((tick - start).total_seconds() / HOUR)
        rows["aim"].append(float(s.score) / float(s.thresholds[1]))
        rows["features"].append(table[p])


@dataclass(frozen=True)
class Point:
    threshold: float
    recall_72h: float
    recall_7d: float
    false_per_1000: float


def operating_point(captures: Sequence[Capture], values: Sequence[npt.NDArray[np.float64]], threshold: float) -> Point:
    """Recall and false reds when everyone at or above ``threshold`` is red (72-hour quiet period)."""
    found = found_7d = false = 0
    for cap, value in zip(captures, values, strict=True):
        last_red: dict[str, float] = {}
        hit: set[str] = set()
        hit_7d: set[str] = set()
        fired = np.flatnonzero(value >= threshold)
        for i in fired[np.argsort(cap.hours[fired], kind="stable")]:
            who, at, onset = str(cap.pid[i]), float(cap.hours[i]), float(cap.onset[i])
            if who in last_red and at - last_red[who] < QUIET_HOURS:
                continue
            last_red[who] = at
            if np.isnan(onset) or at < onset:
                false += 1
            elif at - onset <= 72:
                hit.add(who)
                hit_7d.add(who)
            elif at - onset <= 168:
                hit_7d.add(who)
        found += len(hit)
        found_7d += len(hit_7d)
    collapses = sum(c.collapses for c in captures)
    pdays = sum(c.prisoner_days for c in captures)
    return Point(threshold, found / max(collapses, 1), found_7d / max(collapses, 1), 1000.0 * false / max(pdays, 1))


def best_recall(
    captures: Sequence[Capture], values: Sequence[npt.NDArray[np.float64]], caps: Sequence[float] = CAPS
) -> dict[float, Point | None]:
    """For each cap on false reds per 1,000 prisoner-days, the operating point with the best recall."""
    pooled = np.concatenate(values)
    candidates = np.unique(np.quantile(pooled, np.linspace(0.0, 1.0, 1201)))[::-1]
    best: dict[float, Point | None] = dict.fromkeys(caps)
    for t in candidates:  # from the top down, until false reds are well past every cap
        point = operating_point(captures, values, float(t))
        if point.false_per_1000 > 2 * max(caps):
            break
        for cap in caps:
            current = best[cap]
            if point.false_per_1000 <= cap and (current is None or point.recall_72h > current.recall_72h):
                best[cap] = point
    return best


def labels(cap: Capture) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(positive, usable): a positive is 6-72 hours after onset; rows later in a collapse are left out
    of training (an alert then is neither a detection in time nor a false red)."""
    after = cap.hours - cap.onset
    positive = ~np.isnan(cap.onset) & (after >= 6) & (after <= 72)
    negative = np.isnan(cap.onset) | (after < 0)
    return positive, positive | negative


def train(captures: Sequence[Capture], seed: int = 0) -> Any:
    try:
        from sklearn.ensemble import HistGradientBoostingClassifier
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit("aim ceiling needs scikit-learn: pip install -e '.[study]' (make ceiling does)") from exc
    xs, ys = [], []
    for cap in captures:
        positive, usable = labels(cap)
        xs.append(cap.features[usable])
        ys.append(positive[usable])
    model = HistGradientBoostingClassifier(
        max_iter=300, learning_rate=0.05, max_leaf_nodes=15, l2_regularization=1.0, random_state=seed
    )
    model.fit(np.vstack(xs), np.concatenate(ys))
    return model


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def save(cap: Capture, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    fields = {k: v for k, v in cap.__dict__.items() if k != "name"}
    np.savez_compressed(directory / f"{cap.name.replace(':', '-')}.npz", **fields)


def load(name: str, directory: Path) -> Capture | None:
    path = directory / f"{name.replace(':', '-')}.npz"
    if not path.exists():
        return None
    with np.load(path) as data:
        return Capture(
            name=name,
            pid=data["pid"],
            hours=data["hours"],
            onset=data["onset"],
            aim=data["aim"],
            features=data["features"],
            collapses=int(data["collapses"]),
            prisoner_days=int(data["prisoner_days"]),
        )


def _capture_all(names: list[str], config: AimConfig, workers: int, keep: Path, reuse: bool) -> dict[str, Capture]:
    from concurrent.futures import ProcessPoolExecutor

    done: dict[str, Capture] = {}
    if reuse:
        done = {n: c for n in names if (c := load(n, keep)) is not None}
    todo = [n for n in names if n not in done]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for name, cap in zip(todo, pool.map(capture, todo, [config] * len(todo)), strict=True):
            done[name] = cap
            save(cap, keep)
            print(
                f"  captured {name}: {len(cap.pid)} prisoner-days judged, {cap.collapses} collapses "
                f"({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    return done


def _points(best: dict[float, Point | None]) -> dict[str, Any]:
    return {str(k): (v.__dict__ if v else None) for k, v in best.items()}


def _row(label: str, best: dict[float, Point | None]) -> str:
    cells = [f"{p.recall_72h:.2f}" if p else "-" for p in best.values()]
    return f"| {label} | " + " | ".join(cells) + " |"


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    groups = {
        "mixed": [f"mixed:{s}" for s in _seeds(args.test_seeds)],
        "stark": [f"stark:{s}" for s in _seeds(args.test_seeds)],
        "independent": [f"independent:{s}" for s in _seeds(args.test_seeds)],
    }
    training = {
        "mixed": [f"train:{s}" for s in _seeds(args.train_seeds)],
        "stark": [f"train-stark:{s}" for s in _seeds(args.train_seeds)],
        "independent": [f"independent:{s}" for s in _seeds(args.train_independent_seeds)],
    }
    names = [n for g in (*groups.values(), *training.values()) for n in g]
    started = time.perf_counter()
    caps = _capture_all(names, config, args.workers, Path(args.captures), args.reuse)
    models = {group: train([caps[n] for n in members]) for group, members in training.items()}
    header = "| | " + " | ".join(f"<= {c:g}" for c in CAPS) + " |"
    lines = [
        f"Recall within 72 h at most N false reds per 1,000 prisoner-days (daily scoring at 07:00; "
        f"{time.perf_counter() - started:.0f} s)",
        "",
        header,
        "|---|" + "---|" * len(CAPS),
    ]
    results: dict[str, Any] = {"caps": list(CAPS), "groups": {}}
    for group, members in groups.items():
        tested = [caps[n] for n in members]
        own = best_recall(tested, [c.aim for c in tested])
        ceiling = best_recall(tested, [models[group].predict_proba(c.features)[:, 1] for c in tested])
        n = sum(c.collapses for c in tested)
        pdays = sum(c.prisoner_days for c in tested)
        lines.append(_row(f"{group} ({n} collapses, {pdays} prisoner-days): AIM's score", own))
        lines.append(_row(f"{group}: classifier trained on the same generator", ceiling))
        results["groups"][group] = {
            "scenarios": members,
            "trained_on": training[group],
            "collapses": n,
            "prisoner_days": pdays,
            "aim": _points(own),
            "classifier": _points(ceiling),
        }
        if group != "mixed":  # would a model learned on mixed collapses carry to other kinds?
            carried = best_recall(tested, [models["mixed"].predict_proba(c.features)[:, 1] for c in tested])
            lines.append(_row(f"{group}: classifier trained on the mixed generator", carried))
            results["groups"][group]["classifier_from_mixed"] = _points(carried)
    print("\n".join(lines))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    from aim_lab.report import write_ceiling_report

    report = write_ceiling_report(out.with_name(out.stem + "-report.html"), results)
    print(f"\nwritten: {out}, {report}")
    return 0


__all__ = ["Capture", "Point", "best_recall", "capture", "features", "labels", "operating_point", "train"]

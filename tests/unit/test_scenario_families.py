"""The scenario writer's families: quiet and noisy establishments, written in the same format."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from aim.domain.batch import read_batch
from aim_lab.scenario_writer import FAMILIES, main, write_scenario
from aim_lab.truth_file import load_truth

TZ = ZoneInfo("Europe/London")
PRISONERS, DAYS = 80, 28
ROUTINE = ("phone_call", "kiosk_login", "application_submitted")
FALLING = {
    "phone": ("phone_call",),
    "engagement": ("kiosk_login",),
    "requests": ("application_submitted",),
    "self_care": ("canteen_order", "meal_selected"),
}


class Written:
    """One family's scenario, read back through the runtime's batch reader."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.truth = load_truth(root)
        self.raw = json.loads((root / "truth.json").read_text())
        self.rejects = 0
        self.files = 0
        self.events: dict[str, tuple[str, str | None, datetime]] = {}
        for f in sorted((root / "batches").rglob("*")):
            if not f.name.endswith((".jsonl", ".jsonl.gz")):
                continue
            verdict = read_batch(str(f.relative_to(root)), f.read_bytes())
            assert verdict.header is not None, f
            self.files += 1
            self.rejects += len(verdict.rejects)
            for a in verdict.accepted:
                self.events[a.event_id] = (a.type, a.prisoner_id, a.occurred_at)

    def daily_counts(self, types: tuple[str, ...], first: date, days: int) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(days))
        for kind, pid, at in self.events.values():
            d = (at.astimezone(TZ).date() - first).days
            if pid and kind in types and 0 <= d < days:
                out[pid][d] += 1
        return dict(out)

    def dispersion(self) -> float:
        """Median over settled people of the variance-to-mean ratio of their daily kiosk use in the history."""
        first = date.fromisoformat(self.raw["history_start"])
        days = (date.fromisoformat(self.raw["window_start"]) - first).days
        settled = {
            p["prisoner_id"]
            for p in self.raw["prisoners"]
            if p["left_on"] is None and p["in_custody_from"] < self.raw["history_start"]
        }
        counts = self.daily_counts(ROUTINE, first, days)
        ratios = [x.var() / x.mean() for pid, x in counts.items() if pid in settled and x.mean() >= 0.5]
        assert len(ratios) >= 30
        return statistics.median(ratios)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Written]:
    out = {}
    for family in ("quiet", "noisy"):
        root = tmp_path_factory.mktemp(family)
        write_scenario(root, seed=1, prisoners=PRISONERS, days=DAYS, family=family)
        out[family] = Written(root)
    return out


@pytest.mark.parametrize("family", ["quiet", "noisy"])
def test_every_record_of_each_family_is_accepted_by_the_runtime(written: dict[str, Written], family: str) -> None:
    w = written[family]
    assert w.files > 500
    assert w.rejects == 0
    assert w.raw["schema"] == "aim.scenario-truth/1" and w.raw["family"] == family
    assert len(w.truth.prisoners) == PRISONERS


@pytest.mark.parametrize("family", ["quiet", "noisy"])
def test_each_family_has_its_share_of_collapses(written: dict[str, Written], family: str) -> None:
    w = written[family]
    assert len(w.truth.collapses) == round(PRISONERS * FAMILIES[family].collapse_fraction)
    assert len({c.prisoner_id for c in w.truth.collapses}) == len(w.truth.collapses)


def test_quiet_collapses_are_partial_drops_and_noisy_ones_mixed(written: dict[str, Written]) -> None:
    assert {c["depth"] for c in written["quiet"].raw["collapses"]} == {"partial"}
    assert {c["depth"] for c in written["noisy"].raw["collapses"]} == {"zero", "partial"}


def test_quiet_collapses_leave_part_of_the_habit(written: dict[str, Written]) -> None:
    # Given the quiet family's collapses on habits counted per day
    w = written["quiet"]
    before = after = 0
    for c in w.raw["collapses"]:
        types = tuple(t for f in c["factors"] for t in FALLING.get(f, ()))
        onset = datetime.fromisoformat(c["onset"])
        for kind, pid, at in w.events.values():
            if pid != c["prisoner_id"] or kind not in types:
                continue
            if onset - timedelta(days=14) <= at < onset:
                before += 1
            elif onset + timedelta(days=4) <= at < onset + timedelta(days=8):
                after += 1
    # Then, pooled per day, the habits fell but did not stop: about 30-60 % of usual is left
    assert before > 50
    assert 0.15 <= (after / 4) / (before / 14) <= 0.8


def test_quiet_routines_vary_less_from_day_to_day_than_noisy_ones(written: dict[str, Written]) -> None:
    quiet, noisy = written["quiet"].dispersion(), written["noisy"].dispersion()
    assert quiet < 0.8  # more regular than a Poisson count
    assert noisy > 1.2  # good and bad days
    assert noisy > 2 * quiet


def test_the_command_writes_a_family(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--family", "quiet", "--seed", "2", "--prisoners", "20", "--days", "14", "--out", str(tmp_path)]) == 0
    assert '"collapses"' in capsys.readouterr().out
    assert load_truth(tmp_path).spec.establishment == "HMW"
    with pytest.raises(ValueError, match="family must be one of"):
        write_scenario(tmp_path / "x", seed=1, prisoners=20, days=14, family="stormy")

"""The independent scenario writer: valid batches, determinism, consistent ground truth."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aim.domain.batch import read_batch
from aim_lab.scenario_writer import FACTORS, write_scenario

DAYS = 42  # kept short for speed; the window still spans the clock change and Easter
PID = re.compile(r"^[A-Z][0-9]{4}[A-Z]{2}$")
KINDS = {
    "lockdown",
    "bank_holiday",
    "regime_change",
    "visits_cancelled",
    "activities_cancelled",
    "kiosk_outage",
    "staff_shortage",
}


def _detail(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    return json.loads(raw)


class Read:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.truth = json.loads((root / "truth.json").read_text())
        self.files = sorted(p for p in (root / "batches").rglob("*") if p.name.endswith((".jsonl", ".jsonl.gz")))
        self.rejects = 0
        self.headers: list[Any] = []
        self.batch_keys: Counter[tuple[str, str]] = Counter()
        self.event_batches: Counter[str] = Counter()
        self.events: dict[str, tuple[str, str | None, datetime, dict[str, Any], str]] = {}
        self.late = 0
        self.out_of_order = 0
        for f in self.files:
            v = read_batch(str(f.relative_to(root)), f.read_bytes())
            self.rejects += len(v.rejects)
            h = v.header
            self.headers.append(h)
            self.batch_keys[(h.kiosk_id, h.batch_id)] += 1
            prev: datetime | None = None
            for a in v.accepted:
                self.event_batches[a.event_id] += 1
                self.events[a.event_id] = (a.type, a.prisoner_id, a.occurred_at, _detail(a.detail), h.kiosk_id)
                if h.created_at - a.occurred_at > timedelta(hours=24):
                    self.late += 1
                if prev is not None and a.occurred_at < prev:
                    self.out_of_order += 1
                prev = a.occurred_at
        self.by_pid: dict[str, list[tuple[datetime, str, dict[str, Any]]]] = defaultdict(list)
        for t, pid, at, det, _k in self.events.values():
            if pid:
                self.by_pid[pid].append((at, t, det))
        for recs in self.by_pid.values():
            recs.sort(key=lambda x: x[0])


@pytest.fixture(scope="module")
def scen(tmp_path_factory: pytest.TempPathFactory) -> Read:
    out = tmp_path_factory.mktemp("indep")
    write_scenario(out, seed=11, prisoners=100, days=DAYS)
    return Read(out)


def test_every_batch_is_valid(scen: Read) -> None:
    assert len(scen.files) > 500
    assert scen.rejects == 0  # no deliberately bad records are written
    for h in scen.headers:
        assert h.establishment == "HMW"
    assert any(f.name.endswith(".jsonl.gz") for f in scen.files)
    assert any(f.name.endswith(".jsonl") for f in scen.files)
    for t, pid, *_ in scen.events.values():
        if t == "kiosk_heartbeat":
            assert pid is None
        else:
            assert pid is not None and PID.match(pid)


def test_volume_is_realistic(scen: Read) -> None:
    t = scen.truth
    days = (date.fromisoformat(t["window_end"]) - date.fromisoformat(t["history_start"])).days + 1
    per_day = sum(1 for e in scen.events.values() if e[1]) / (len(t["prisoners"]) * days)
    assert 3.0 <= per_day <= 12.0
    types = Counter(e[0] for e in scen.events.values())
    for needed in (
        "visit_booked",
        "visit_cancelled",
        "visit_attended",
        "phone_call",
        "phone_credit_added",
        "activity_attended",
        "activity_missed",
        "canteen_order",
        "meal_selected",
        "application_submitted",
        "complaint_submitted",
        "healthcare_request",
        "kiosk_login",
        "profile",
        "reception",
        "location_change",
        "transfer_out",
        "release",
        "significant_date",
        "kiosk_heartbeat",
    ):
        assert types[needed] > 0, needed


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write_scenario(a, seed=5, prisoners=12, days=10)
    write_scenario(b, seed=5, prisoners=12, days=10)
    write_scenario(c, seed=6, prisoners=12, days=10)
    fa = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    fb = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert fa == fb
    for rel in fa:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    assert (a / "truth.json").read_bytes() != (c / "truth.json").read_bytes()


def test_truth_is_consistent(scen: Read) -> None:
    t = scen.truth
    assert t["schema"] == "aim.scenario-truth/1"
    assert t["timezone"] == "Europe/London"
    hs, ws, we = (date.fromisoformat(t[k]) for k in ("history_start", "window_start", "window_end"))
    assert ws.weekday() == 0 and (ws - hs).days == 28 and (we - ws).days == DAYS - 1
    assert ws <= date(2026, 3, 29) <= we  # the clock change
    people = {p["prisoner_id"]: p for p in t["prisoners"]}
    assert len(people) == len(t["prisoners"]) == 100
    for p in t["prisoners"]:
        assert PID.match(p["prisoner_id"])
        assert p["acct"] in ("open", "post_closure", "none")
        assert (p["left_on"] is None) == (p["left_how"] is None)
        assert p["left_how"] in (None, "release", "transfer")
        age = (ws - date.fromisoformat(p["date_of_birth"])).days / 365.25
        assert 18 <= age <= 71
    hows = Counter(p["left_how"] for p in t["prisoners"])
    assert hows["release"] >= 1 and hows["transfer"] >= 1
    assert sum(1 for p in t["prisoners"] if date.fromisoformat(p["in_custody_from"]) >= ws) >= 1
    low = sum(p["low_kiosk_use"] for p in t["prisoners"]) / len(people)
    assert 0.05 <= low <= 0.3

    cols = t["collapses"]
    assert 0.05 * len(people) <= len(cols) <= 0.11 * len(people)
    assert len({c["prisoner_id"] for c in cols}) == len(cols)
    for c in cols:
        p = people[c["prisoner_id"]]
        onset = datetime.fromisoformat(c["onset"])
        assert onset.utcoffset() is not None
        assert ws + timedelta(days=22) <= onset.date() <= we - timedelta(days=7)
        assert date.fromisoformat(p["in_custody_from"]) < onset.date()
        assert p["left_on"] is None
        assert c["speed"] in ("sudden", "gradual") and c["depth"] in ("zero", "partial")
        assert c["factors"] and set(c["factors"]) <= set(FACTORS)
        assert scen.by_pid[c["prisoner_id"]][0][0] < onset  # has history before the onset
    assert {c["speed"] for c in cols} == {"sudden", "gradual"}
    assert {c["depth"] for c in cols} == {"zero", "partial"}
    assert len({len(c["factors"]) for c in cols}) >= 3

    kinds = Counter(c["kind"] for c in t["confounders"])
    assert set(kinds) == KINDS
    for c in t["confounders"]:
        assert c["scope"] == "establishment" or re.match(r"^(wing:[A-E]|kiosk:[A-Za-z0-9._:-]+)$", c["scope"])
        assert datetime.fromisoformat(c["start"]) < datetime.fromisoformat(c["end"])
    bank = {c["start"][:10] for c in t["confounders"] if c["kind"] == "bank_holiday"}
    assert {"2026-04-03", "2026-04-06"} <= bank


def test_estate_layout(scen: Read) -> None:
    kiosks = {h.kiosk_id for h in scen.headers}
    wings = {k.split("-")[1] for k in kiosks if k != "HMW-HUB"}
    assert 3 <= len(wings) <= 5
    assert any(k.endswith("-CELL") for k in kiosks)
    for w in wings:
        assert 1 <= sum(1 for k in kiosks if re.match(rf"^HMW-{w}-K\d$", k)) <= 2
    locs = [d["location"] for t, _p, _a, d, _k in scen.events.values() if t == "profile" and "location" in d]
    assert locs and all(re.match(r"^[A-E]-\d-\d+$", loc) for loc in locs)


def test_delivery_quirks(scen: Read) -> None:
    assert any(n > 1 for n in scen.batch_keys.values())  # identical re-uploads
    assert sum(1 for n in scen.event_batches.values() if n > 1) > 50  # repeated events
    assert scen.late > 50  # records more than a day late
    assert scen.out_of_order > 50
    stamps = {e[2].utcoffset() for e in scen.events.values()}
    assert timedelta(0) in stamps and timedelta(hours=1) in stamps


def test_nobody_produces_records_outside_custody(scen: Read) -> None:
    for pid, recs in scen.by_pid.items():
        types = [t for _a, t, _d in recs]
        if "release" in types or "transfer_out" in types:
            assert types[-1] in ("release", "transfer_out"), pid
        if "reception" in types:
            assert types[0] == "reception", pid


def test_kiosk_outages_are_silent(scen: Read) -> None:
    outs = [c for c in scen.truth["confounders"] if c["kind"] == "kiosk_outage"]
    assert outs
    for c in outs:
        kiosk = c["scope"].removeprefix("kiosk:")
        a, b = datetime.fromisoformat(c["start"]), datetime.fromisoformat(c["end"])
        assert (b - a) >= timedelta(hours=6) and (b - a) <= timedelta(hours=30)
        beats = [e for e in scen.events.values() if e[4] == kiosk and e[0] == "kiosk_heartbeat" and a <= e[2] < b]
        assert not beats
        created = [h.created_at for h in scen.headers if h.kiosk_id == kiosk]
        assert not [t for t in created if a <= t < b]


def test_confounders_and_noise_show_in_the_records(scen: Read) -> None:
    by = Counter(d.get("by") for t, _p, _a, d, _k in scen.events.values() if t == "visit_cancelled")
    assert by["prisoner"] and by["visitor"] and by["establishment"]
    reasons = Counter(d.get("reason") for t, _p, _a, d, _k in scen.events.values() if t == "activity_missed")
    assert reasons["sick"] and reasons["cancelled"] and reasons["refused"] and reasons["other"]
    acts = Counter(d.get("activity") for t, _p, _a, d, _k in scen.events.values() if t == "activity_attended")
    assert acts["work"] and acts["education"] and acts["gym"] and acts["faith"]
    for bh in (date(2026, 4, 3), date(2026, 4, 6)):
        on_bh = [
            e
            for e in scen.events.values()
            if e[0] == "activity_attended" and e[3].get("activity") in ("work", "education") and e[2].date() == bh
        ]
        assert not on_bh


def test_collapses_show_in_the_records(scen: Read) -> None:
    for c in scen.truth["collapses"]:
        onset = datetime.fromisoformat(c["onset"])
        recs = scen.by_pid[c["prisoner_id"]]
        after = [(a, t, d) for a, t, d in recs if onset + timedelta(days=8) <= a]
        before = [(a, t, d) for a, t, d in recs if onset - timedelta(days=21) <= a < onset]
        if "work" in c["factors"] and c["depth"] == "zero":
            worked = [r for r in after if r[1] == "activity_attended" and r[2].get("activity") in ("work", "education")]
            assert not worked, c
        if "phone" in c["factors"] and c["depth"] == "zero":
            assert not [r for r in after if r[1] == "phone_call"], c
        if "self_care" in c["factors"] and c["depth"] == "zero":
            assert not [r for r in after if r[1] in ("canteen_order", "meal_selected")], c
        assert before, c

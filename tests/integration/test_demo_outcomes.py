"""``aim serve``'s demo seeding: past alerts worked by demo officers, so the governor's outcomes
page over its default range shows acknowledgements and interventions on a fresh clone."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, date, datetime, timedelta

from aim.config import load_config
from aim.web.pages import DEFAULT_OUTCOME_WEEKS
from aim_lab.serve_demo import demo_outcomes_seeder
from aim_local.board_seed import seed_establishment
from aim_local.serve import serve_local
from aim_local.stack import local_aws


def test_served_demo_outcomes_show_acknowledged_alerts_and_interventions() -> None:
    config = load_config().with_establishments(["LEI"])
    seen: dict[str, object] = {}
    with local_aws(config) as local:
        # A small board stands in for the demo replay: the seeding picks its prisoners.
        today = datetime.now(UTC).date()
        seed_establishment(
            local.clients["dynamodb"], local.resources["state_table"], "LEI", config, 12, reds=1, judged=today
        )
        lines: list[str] = []

        def until() -> None:
            url = next(line for line in lines if line.startswith("AIM board")).split(": ")[1].split("/  ")[0]
            from aim_local.serve import fetch_token

            token = fetch_token("lei-governor", url)
            start = today - timedelta(days=7 * DEFAULT_OUTCOME_WEEKS - 1)  # the page's default range
            request = urllib.request.Request(
                f"{url}/api/establishments/LEI/outcomes?from={start}&to={today}",
                headers={"Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local URL
                seen["figures"] = json.loads(response.read())

        serve_local(local, 0, announce=lines.append, until=until, prepare=demo_outcomes_seeder(config, "LEI"))
    figures = seen["figures"]
    assert isinstance(figures, dict)
    total = figures["total"]
    assert total["alerts_raised"] >= 4  # at least one a week for four weeks
    assert total["status"]["acknowledged"] + total["status"]["closed"] > 0
    assert total["status"]["closed"] > 0
    assert sum(total["useful"].values()) > 0 and total["outcomes"]
    assert total["median_minutes_to_acknowledge"] is not None
    assert total["median_minutes_to_first_intervention"] is not None
    assert all(date.fromisoformat(w) <= date.today() for w in figures["weeks"])
    # every day of the four weeks before today has people in each light: the 12 seeded people
    assert len(total["lights"]) >= 28 and all(sum(c.values()) == 12 for c in total["lights"].values())
    assert sum(total["amber_weeks"].values()) == total["new_ambers"]
    assert {c["kind"] for c in figures["confounders"]} == {"routine_drop", "kiosk_outage"}
    assert figures["red_lines"] and figures["red_lines"][0]["method"] == "configured"
    by_age = figures["subgroups"]["age_band"]
    assert sum(g["alerts_raised"] for g in by_age.values()) == total["alerts_raised"]

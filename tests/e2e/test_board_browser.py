"""The board in a real browser: headless Chromium driven by Playwright over ``aim serve``'s server.

Needs Debian's Chromium (``apt-get install -y chromium``, or ``make browser``); Playwright's own
browser download is not used.
"""

from __future__ import annotations

import os
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aim.config import load_config
from aim_local.board_seed import SeededAlert, seed_establishment
from aim_local.serve import DEMO_PASSWORD, running_server, staff_local
from aim_local.stack import local_aws

Site = tuple[str, dict[str, list[SeededAlert]]]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[2]
# `make screenshots` sets AIM_SCREENSHOTS=docs/images; otherwise they go to out/ (not tracked).
SCREENSHOTS = ROOT / os.environ.get("AIM_SCREENSHOTS", "out/screenshots")
pytestmark = [
    pytest.mark.xdist_group("staff"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium not found: install Debian's package with `apt-get install -y chromium`"
    ),
]
LAUNCH_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


CONFOUNDERS = [
    {"kind": "routine_drop", "wing": "all", "detail": "phone, purposeful"},
    {"kind": "kiosk_outage", "wing": "B", "detail": "LEI-K02"},
]


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, dict[str, list[SeededAlert]]]]:
    from aim_local.assets import ensure_assets

    ensure_assets()
    config = load_config().model_copy(update={"establishments": ["LEI", "MDI"]})
    with local_aws(config) as local:
        table = local.resources["state_table"]
        alerts = {
            "LEI": seed_establishment(
                local.clients["dynamodb"], table, "LEI", config, 60, reds=3, ambers=4, confounders=CONFOUNDERS
            ),
            "MDI": seed_establishment(local.clients["dynamodb"], table, "MDI", config, 8, reds=1, seed=2),
        }
        with staff_local(local) as staff, running_server(staff) as url:
            yield url, alerts


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


def sign_in(browser: Any, url: str, user: str, viewport: dict[str, int] | None = None) -> Any:
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url + "/sign-in")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    with page.expect_navigation():  # the form posts and redirects: wait for the page it lands on
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")
    return page


def axe_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]}}
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def test_officer_works_an_alert_end_to_end(site: Site, browser: Any) -> None:
    url, alerts = site
    red = alerts["LEI"][0]
    page = sign_in(browser, url, "lei-officer")
    assert page.url.endswith("/establishments/LEI")
    assert page.get_by_role("heading", level=1).inner_text().startswith("LEI")
    first_row = page.locator("table.aim-board tbody tr").first
    assert "Red" in first_row.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "board.png"), full_page=False)

    page.get_by_role("link", name=red.prisoner_id).click()
    assert page.get_by_role("heading", level=1).inner_text().strip().endswith(red.prisoner_id)
    assert page.get_by_text("Phone calls and credit stopped").first.is_visible()
    page.get_by_role("button", name="Acknowledge").click()
    assert page.get_by_text("You have taken this alert.").is_visible()

    page.get_by_role("button", name="Record an intervention").click()
    page.get_by_role("button", name="Save intervention").click()  # nothing chosen: the error summary
    assert page.get_by_role("alert").get_by_text("There is a problem").is_visible()
    assert page.get_by_role("link", name="Select what was done").is_visible()
    page.get_by_label("Welfare check").check()
    page.get_by_role("group", name="Did the person engage?").get_by_label("Yes").check()
    page.get_by_label("Support given").check()
    page.get_by_role("group", name="Was this alert worth raising?").get_by_label("Yes").check()
    page.get_by_label("Note (optional)").fill("Talked at the cell door; will see again tomorrow.")
    page.get_by_role("button", name="Save intervention").click()
    assert page.get_by_text("Intervention recorded.").is_visible()
    timeline = page.locator(".moj-timeline").first
    assert "Welfare check" in timeline.inner_text()
    assert "by lei-officer" in timeline.inner_text()
    assert "Talked at the cell door" in timeline.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "prisoner.png"), full_page=True)

    page.get_by_role("link", name="Close alert").click()
    page.get_by_role("button", name="Close alert").click()
    assert page.get_by_text("The alert is closed.").is_visible()
    page.context.close()


def test_other_establishment_is_not_found_pages_and_api(site: Site, browser: Any) -> None:
    url, alerts = site
    red = alerts["LEI"][1]
    page = sign_in(browser, url, "mdi-officer")
    for path in ("/establishments/LEI", f"/prisoners/LEI/{red.prisoner_id}", f"/alerts/{red.alert_id}/close"):
        response = page.goto(url + path)
        assert response.status == 404, path
        assert red.prisoner_id not in page.content()
    token = page.context.request.post(
        url + "/sign-in", form={"username": "x"}, max_redirects=0
    )  # no sign-in cookie: refused
    assert token.status == 403
    page.context.close()


def test_no_cookie_no_page(site: Site, browser: Any) -> None:
    url, alerts = site
    context = browser.new_context()
    page = context.new_page()
    page.goto(url + f"/prisoners/LEI/{alerts['LEI'][0].prisoner_id}")
    assert re.search(r"/sign-in\?next=", page.url)
    assert page.get_by_role("button", name="Sign in").is_visible()
    context.close()


def test_form_without_csrf_token_is_refused(site: Site, browser: Any) -> None:
    url, alerts = site
    red = alerts["LEI"][2]
    page = sign_in(browser, url, "lei-officer")
    response = page.context.request.post(url + f"/alerts/{red.alert_id}/acknowledge", form={}, max_redirects=0)
    assert response.status == 403
    forged = page.context.request.post(
        url + f"/alerts/{red.alert_id}/acknowledge", form={"csrf": "forged"}, max_redirects=0
    )
    assert forged.status == 403
    request = urllib.request.Request(url + f"/api/alerts/{red.alert_id}", method="GET")
    with pytest.raises(urllib.error.HTTPError) as refused:  # the API wants a bearer token, not the cookie
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - the local test server
    assert refused.value.code == 401
    page.goto(url + f"/prisoners/LEI/{red.prisoner_id}")
    assert "Acknowledged" not in page.locator("#alerts ~ .aim-alert").first.inner_text()
    page.context.close()


def test_pages_set_secure_headers_and_cookie_flags(site: Site, browser: Any) -> None:
    url, _ = site
    context = browser.new_context()
    page = context.new_page()
    response = page.goto(url + "/sign-in")
    headers = response.headers
    assert "script-src 'self' 'nonce-" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    page.get_by_label("Username").fill("lei-officer")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    session = next(c for c in context.cookies() if c["name"].endswith("aim-session"))
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    context.close()


def test_wrong_password_shows_an_error(site: Site, browser: Any) -> None:
    url, _ = site
    context = browser.new_context()
    page = context.new_page()
    page.goto(url + "/sign-in")
    page.get_by_label("Username").fill("lei-officer")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("link", name="Enter a correct username and password").is_visible()
    context.close()


def test_every_page_has_no_serious_accessibility_violations(site: Site, browser: Any) -> None:
    url, alerts = site
    red = alerts["LEI"][0]
    context = browser.new_context()
    anonymous = context.new_page()
    anonymous.goto(url + "/sign-in")
    found = {"sign-in": axe_violations(anonymous)}
    context.close()
    page = sign_in(browser, url, "lei-governor")
    for name, path in (
        ("board", "/establishments/LEI"),
        ("board filtered", "/establishments/LEI?wing=A&light=red"),
        ("prisoner", f"/prisoners/LEI/{red.prisoner_id}"),
        ("audit", f"/prisoners/LEI/{red.prisoner_id}/audit"),
        ("not found", "/establishments/MDI"),
    ):
        page.goto(url + path)
        found[name] = axe_violations(page)
    page.context.close()
    officer = sign_in(browser, url, "lei-officer")
    alert = alerts["LEI"][1]
    for name, path in (
        ("intervention form", f"/alerts/{alert.alert_id}/interventions/new"),
        ("close", f"/alerts/{alert.alert_id}/close"),
    ):
        officer.goto(url + path)
        found[name] = axe_violations(officer)
    officer.goto(url + f"/alerts/{alert.alert_id}/interventions/new")
    officer.get_by_role("button", name="Save intervention").click()
    found["intervention errors"] = axe_violations(officer)
    officer.context.close()
    assert {k: v for k, v in found.items() if v} == {}


def test_board_on_a_phone(site: Site, browser: Any) -> None:
    url, _ = site
    page = sign_in(browser, url, "lei-officer", viewport={"width": 375, "height": 740})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1  # no sideways scrolling
    page.screenshot(path=str(SCREENSHOTS / "board-phone.png"), full_page=False)
    page.context.close()


def test_outcomes_on_a_phone(site: Site, browser: Any) -> None:
    url, _ = site
    page = sign_in(browser, url, "lei-governor", viewport={"width": 375, "height": 740})
    page.goto(url + "/establishments/LEI/outcomes?from=2026-11-01&to=2026-12-31")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1  # wide tables scroll in their own box, not the page
    assert axe_violations(page) == []
    page.screenshot(path=str(SCREENSHOTS / "outcomes-phone.png"), full_page=False)
    page.context.close()


def test_unknown_page_is_an_html_404_and_unknown_api_path_json(site: Site, browser: Any) -> None:
    url, _ = site
    context = browser.new_context()
    page = context.new_page()
    response = page.goto(url + "/no-such-page")
    assert response.status == 404 and page.get_by_role("heading", name="Page not found").is_visible()
    api = context.request.get(url + "/api/no-such-thing")
    assert api.status == 404 and api.json() == {"message": "Not found"}
    context.close()


def test_governor_sees_outcomes_from_the_board_and_downloads_them(site: Site, browser: Any) -> None:
    url, alerts = site
    page = sign_in(browser, url, "lei-governor")
    page.goto(url + "/establishments/LEI")
    page.get_by_role("link", name=re.compile("How AIM is doing at LEI")).click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/establishments/LEI/outcomes")
    page.get_by_label("From (YYYY-MM-DD)").fill("2026-11-01")
    page.get_by_label("To (YYYY-MM-DD)").fill("2026-12-31")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    assert page.get_by_role("heading", name="Alerts raised per week, by wing").is_visible()
    assert "3 red alerts raised" in page.content()
    for heading in (
        "People newly amber per week, by wing",
        "People in each light, per day",
        "Days when routines changed for many people at once",
        "Red lines in force, and how they were set",
        "Alerts by age band and kiosk use",
    ):
        assert page.get_by_role("heading", name=heading).is_visible()
    # a chart each: alerts and ambers per week, lights per day, red lines, subgroups
    assert page.locator("svg.aim-chart").count() == 5
    assert page.get_by_role("cell", name="Kiosk LEI-K02").is_visible()
    assert page.get_by_role("row", name=re.compile("Age 18-24 1 ")).is_visible()
    page.get_by_text("Show the numbers for all wings").click()
    assert page.get_by_role("row", name=re.compile("30 Nov 2026 3 4 52 1")).is_visible()
    assert axe_violations(page) == []
    assert not any(a.prisoner_id in page.content() for a in alerts["LEI"])
    page.screenshot(path=str(SCREENSHOTS / "outcomes.png"), full_page=True)
    download = page.context.request.get(url + "/establishments/LEI/outcomes?from=2026-11-01&to=2026-12-31&format=csv")
    assert download.status == 200 and download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    assert "all,,alerts_raised,,3" in download.text()
    assert "all,,people_amber,2026-11-30,4" in download.text()
    assert "all,,confounder_routine_drop,2026-11-30,1" in download.text()
    page.goto(url + "/establishments/LEI/outcomes?from=2026-12-31&to=2026-11-01")
    assert page.get_by_text("From must be on or before to").first.is_visible()
    assert axe_violations(page) == []
    assert page.goto(url + "/establishments/MDI/outcomes").status == 404
    page.context.close()


def test_officers_are_refused_outcomes(site: Site, browser: Any) -> None:
    url, _ = site
    officer = sign_in(browser, url, "lei-officer")
    officer.goto(url + "/establishments/LEI")
    assert officer.get_by_role("link", name=re.compile("How AIM is doing")).count() == 0
    assert officer.goto(url + "/establishments/LEI/outcomes").status == 403
    assert officer.context.request.get(url + "/establishments/LEI/outcomes?format=csv").status == 403
    officer.context.close()
    other = sign_in(browser, url, "mdi-officer")
    response = other.goto(url + "/establishments/LEI/outcomes?from=2026-11-01&to=2026-12-31&format=csv")
    assert response.status == 404
    assert "alerts_raised" not in other.content()
    other.context.close()

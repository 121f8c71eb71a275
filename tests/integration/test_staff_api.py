"""The staff API (contract section 4) on the embedded local AWS, through the function's handler.

Tokens are real: moto's Cognito signs them (RS256) and the function verifies them against the
pool's JWKS served on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from aim.config import load_config
from aim_local.board_seed import SeededAlert, seed_establishment
from aim_local.serve import StaffLocal, api_event, staff_local
from aim_local.stack import local_aws
from botocore.exceptions import ClientError

pytestmark = [
    pytest.mark.xdist_group("staff"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]

INTERVENTION = {"action": "welfare_check", "engaged": True, "outcome": "support_given", "useful": "yes"}


class Api:
    def __init__(self, staff: StaffLocal, alerts: dict[str, list[SeededAlert]]) -> None:
        self.staff = staff
        self.alerts = alerts
        self._tokens: dict[str, str] = {}
        self._next = 0

    def token(self, user: str) -> str:
        if user not in self._tokens:
            self._tokens[user] = self.staff.token(user)
        return self._tokens[user]

    def call(
        self,
        method: str,
        path: str,
        user: str | None = "lei-officer",
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        h = dict(headers or {})
        if user:
            h["Authorization"] = f"Bearer {self.token(user)}"
        raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        if raw:
            h["Content-Type"] = "application/json"
        result = self.staff.call(api_event(method, path, h, raw, source_ip="10.1.2.3"))
        text = result.get("body") or ""
        try:
            return int(result["statusCode"]), json.loads(text)
        except json.JSONDecodeError:
            return int(result["statusCode"]), text

    def fresh_alert(self, est: str = "LEI") -> SeededAlert:
        """An alert no other test has touched."""
        alert = self.alerts[est][self._next]
        self._next += 1
        return alert


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    config = load_config().model_copy(update={"establishments": ["LEI", "MDI"]})
    with local_aws(config) as local:
        table = local.resources["state_table"]
        alerts = {
            "LEI": seed_establishment(local.clients["dynamodb"], table, "LEI", config, 40, reds=14),
            "MDI": seed_establishment(local.clients["dynamodb"], table, "MDI", config, 10, reds=2, seed=2),
        }
        with staff_local(local) as staff:
            yield Api(staff, alerts)


# --- 401 / 403 / 404 ------------------------------------------------------------------------------
def test_no_token_is_401(api: Api) -> None:
    status, body = api.call("GET", "/api/establishments/LEI/board", user=None)
    assert status == 401
    assert body == {"message": "Unauthorized"}


@pytest.mark.parametrize("token", ["not-a-jwt", "Bearer", ""])
def test_malformed_token_is_401(api: Api, token: str) -> None:
    status, _ = api.call(
        "GET", "/api/establishments/LEI/board", user=None, headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 401


def test_token_signed_by_another_key_is_401(api: Api) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    real = jwt.decode(api.token("lei-officer"), options={"verify_signature": False})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(real, key, algorithm="RS256", headers={"kid": "dummy"})
    status, _ = api.call(
        "GET", "/api/establishments/LEI/board", user=None, headers={"Authorization": f"Bearer {forged}"}
    )
    assert status == 401


def test_expired_token_is_401(api: Api) -> None:
    from moto.cognitoidp.models import cognitoidp_backends

    pool = cognitoidp_backends["123456789012"]["eu-west-2"].user_pools[api.staff.user_pool_id]
    token, _ = pool.create_jwt(
        api.staff.client_id, "lei-officer", "access", expires_in=-120, extra_data={"cognito:groups": ["LEI-officer"]}
    )
    status, _ = api.call(
        "GET", "/api/establishments/LEI/board", user=None, headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 401


def test_token_for_another_client_is_401(api: Api) -> None:
    from moto.cognitoidp.models import cognitoidp_backends

    pool = cognitoidp_backends["123456789012"]["eu-west-2"].user_pools[api.staff.user_pool_id]
    token, _ = pool.create_jwt(
        "some-other-app", "lei-officer", "access", extra_data={"cognito:groups": ["LEI-officer"]}
    )
    status, _ = api.call(
        "GET", "/api/establishments/LEI/board", user=None, headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 401


@pytest.mark.parametrize(
    "path",
    [
        "/api/establishments/LEI/board",
        "/api/prisoners/LEI/{pid}",
        "/api/alerts/{alert}",
        "/api/establishments/LEI/outcomes?from=2026-11-01&to=2026-12-31",
    ],
)
def test_outside_caseload_is_404_with_nothing_of_it(api: Api, path: str) -> None:
    alert = api.alerts["LEI"][-1]
    status, body = api.call("GET", path.format(pid=alert.prisoner_id, alert=alert.alert_id), user="mdi-officer")
    assert status == 404
    assert body == {"message": "Not found"}


@pytest.mark.parametrize("action", ["acknowledge", "close", "interventions"])
def test_changes_outside_caseload_are_404_and_change_nothing(api: Api, action: str) -> None:
    alert = api.alerts["LEI"][-1]
    status, body = api.call("POST", f"/api/alerts/{alert.alert_id}/{action}", user="mdi-officer", body=INTERVENTION)
    assert status == 404
    assert alert.prisoner_id not in json.dumps(body)
    _, seen = api.call("GET", f"/api/alerts/{alert.alert_id}", user="lei-governor")
    assert seen["status"] == "open"


def test_governor_cannot_acknowledge_403(api: Api) -> None:
    alert = api.alerts["LEI"][-2]
    status, _ = api.call("POST", f"/api/alerts/{alert.alert_id}/acknowledge", user="lei-governor")
    assert status == 403


def test_officer_cannot_read_outcomes_403(api: Api) -> None:
    status, _ = api.call("GET", "/api/establishments/LEI/outcomes?from=2026-11-01&to=2026-12-31")
    assert status == 403


# --- reads -----------------------------------------------------------------------------------------
def test_board_lists_everyone_in_custody_reds_first(api: Api) -> None:
    status, body = api.call("GET", "/api/establishments/LEI/board")
    assert status == 200
    rows = body["prisoners"]
    assert len(rows) == 40
    assert set(rows[0]) == {"prisoner_id", "wing", "location", "light", "score", "since", "open_alert_id"}
    assert rows[0]["light"] == "red" and rows[0]["open_alert_id"]
    assert [r["light"] for r in rows].index("green") > [r["light"] for r in rows].index("insufficient")
    assert {r["light"] for r in rows} == {"red", "amber", "green", "insufficient"}


def test_prisoner_detail_has_light_reasons_factors_routine_and_alerts_and_is_audited(api: Api) -> None:
    alert = api.alerts["LEI"][1]
    status, body = api.call("GET", f"/api/prisoners/LEI/{alert.prisoner_id}")
    assert status == 200
    assert body["light"] == "red"
    assert body["reasons"][0]["text"].startswith("Phone calls and credit stopped")
    assert "static_factors" in body
    phone = next(h for h in body["routine"] if h["signal"] == "phone")
    assert len(phone["days"]) == 42 and phone["counts"][-10:] == [0] * 10
    assert phone["usual"][-1] > 0
    assert [a["alert_id"] for a in body["alerts"]] == [alert.alert_id]
    status, trail = api.call("GET", f"/api/prisoners/LEI/{alert.prisoner_id}/audit", user="lei-governor")
    assert status == 200
    views = [e for e in trail["entries"] if e["action"] == "prisoner.view" and e["user"] == "lei-officer"]
    assert views and views[0]["client_address"] == "10.1.2.3"


def test_unknown_prisoner_is_404(api: Api) -> None:
    status, _ = api.call("GET", "/api/prisoners/LEI/Z9999ZZ")
    assert status == 404


def test_alert_has_contract_fields_and_status(api: Api) -> None:
    alert = api.fresh_alert()
    status, body = api.call("GET", f"/api/alerts/{alert.alert_id}")
    assert status == 200
    for name in ("schema", "alert_id", "level", "establishment", "prisoner_id", "raised_at", "reasons"):
        assert name in body
    assert body["status"] == "open" and body["acknowledged_by"] is None and body["interventions"] == []


# --- lifecycle -------------------------------------------------------------------------------------
def test_acknowledge_takes_the_alert_and_repeating_changes_nothing(api: Api) -> None:
    alert = api.fresh_alert()
    status, first = api.call("POST", f"/api/alerts/{alert.alert_id}/acknowledge")
    assert status == 200 and first["status"] == "acknowledged" and first["acknowledged_by"] == "lei-officer"
    status, again = api.call("POST", f"/api/alerts/{alert.alert_id}/acknowledge")
    assert status == 200 and again["acknowledged_at"] == first["acknowledged_at"]


def test_intervention_201_with_stored_record_who_and_when_from_token_and_clock(api: Api) -> None:
    alert = api.fresh_alert()
    body = {**INTERVENTION, "note": "Spoke at the door.", "next_review": "2026-12-10"}
    status, stored = api.call("POST", f"/api/alerts/{alert.alert_id}/interventions", body=body)
    assert status == 201
    assert stored["recorded_by"] == "lei-officer" and stored["action"] == "welfare_check"
    assert stored["next_review"] == "2026-12-10" and stored["intervention_id"]
    _, seen = api.call("GET", f"/api/alerts/{alert.alert_id}")
    assert [i["intervention_id"] for i in seen["interventions"]] == [stored["intervention_id"]]
    assert seen["status"] == "acknowledged"  # recording takes an open alert


def test_who_in_the_body_is_refused_not_believed(api: Api) -> None:
    alert = api.fresh_alert()
    status, body = api.call(
        "POST", f"/api/alerts/{alert.alert_id}/interventions", body={**INTERVENTION, "recorded_by": "someone-else"}
    )
    assert status == 422
    assert [e["field"] for e in body["errors"]] == ["recorded_by"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"action": "hug"}, "action"),
        ({"engaged": "maybe"}, "engaged"),
        ({"outcome": None}, "outcome"),
        ({"useful": "very"}, "useful"),
        ({"note": "x" * 1001}, "note"),
        ({"next_review": "tomorrow"}, "next_review"),
    ],
)
def test_bad_field_is_422_naming_it(api: Api, change: dict[str, Any], field: str) -> None:
    alert = api.alerts["LEI"][-3]
    status, body = api.call("POST", f"/api/alerts/{alert.alert_id}/interventions", body={**INTERVENTION, **change})
    assert status == 422
    assert field in [e["field"] for e in body["errors"]]


def test_missing_field_is_422_naming_it(api: Api) -> None:
    alert = api.alerts["LEI"][-3]
    body = {k: v for k, v in INTERVENTION.items() if k != "useful"}
    status, answer = api.call("POST", f"/api/alerts/{alert.alert_id}/interventions", body=body)
    assert status == 422 and [e["field"] for e in answer["errors"]] == ["useful"]


def test_idempotency_key_repeats_give_one_intervention(api: Api) -> None:
    alert = api.fresh_alert()
    path = f"/api/alerts/{alert.alert_id}/interventions"
    s1, a = api.call("POST", path, body=INTERVENTION, headers={"Idempotency-Key": "k-1"})
    s2, b = api.call("POST", path, body=INTERVENTION, headers={"Idempotency-Key": "k-1"})
    assert (s1, s2) == (201, 200) and a["intervention_id"] == b["intervention_id"]
    _, seen = api.call("GET", f"/api/alerts/{alert.alert_id}")
    assert len(seen["interventions"]) == 1


def test_close_needs_an_intervention_then_closes(api: Api) -> None:
    alert = api.fresh_alert()
    status, body = api.call("POST", f"/api/alerts/{alert.alert_id}/close")
    assert status == 409 and "intervention" in body["message"]
    api.call("POST", f"/api/alerts/{alert.alert_id}/interventions", body=INTERVENTION)
    status, closed = api.call("POST", f"/api/alerts/{alert.alert_id}/close")
    assert status == 200 and closed["status"] == "closed" and closed["closed_by"] == "lei-officer"
    status, again = api.call("POST", f"/api/alerts/{alert.alert_id}/close")
    assert status == 200 and again["closed_at"] == closed["closed_at"]
    status, _ = api.call("POST", f"/api/alerts/{alert.alert_id}/interventions", body=INTERVENTION)
    assert status == 409
    _, board = api.call("GET", "/api/establishments/LEI/board")
    row = next(r for r in board["prisoners"] if r["prisoner_id"] == alert.prisoner_id)
    assert row["open_alert_id"] is None  # closed by staff: no longer open on the board


def test_second_officer_sees_who_took_it(api: Api) -> None:
    alert = api.fresh_alert()
    api.staff.local.clients["cognito-idp"].admin_create_user(
        UserPoolId=api.staff.user_pool_id, Username="lei-officer-2", MessageAction="SUPPRESS"
    )
    cognito = api.staff.local.clients["cognito-idp"]
    cognito.admin_set_user_password(
        UserPoolId=api.staff.user_pool_id, Username="lei-officer-2", Password="Demo-Passw0rd!", Permanent=True
    )
    cognito.admin_add_user_to_group(
        UserPoolId=api.staff.user_pool_id, Username="lei-officer-2", GroupName="LEI-officer"
    )
    api.call("POST", f"/api/alerts/{alert.alert_id}/acknowledge")
    status, body = api.call("POST", f"/api/alerts/{alert.alert_id}/acknowledge", user="lei-officer-2")
    assert status == 409
    assert body["acknowledged_by"] == "lei-officer"


def test_two_officers_acknowledging_at_once_one_wins_and_the_other_is_told(api: Api) -> None:
    """Both read the case before either writes; the version-checked write lets one through."""
    alert = api.fresh_alert()
    from functions.api import handler

    service = handler.wiring().service
    original_get = service.cases.get
    barrier = threading.Barrier(2, timeout=10)

    def get_then_wait(est: str, alert_id: str) -> Any:
        case = original_get(est, alert_id)
        if alert_id == alert.alert_id:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
        return case

    # DynamoDB applies two writes to one item one at a time; moto does not guard its transactions
    # across threads, so the writes are put one after the other here, as DynamoDB would.
    original_save = service.cases.save
    one_at_a_time = threading.Lock()

    def save_in_turn(*args: Any, **kwargs: Any) -> Any:
        with one_at_a_time:
            return original_save(*args, **kwargs)

    service.cases.get = get_then_wait  # type: ignore[method-assign]
    service.cases.save = save_in_turn  # type: ignore[method-assign]
    cognito = api.staff.local.clients["cognito-idp"]
    for user in ("lei-officer-3",):
        cognito.admin_create_user(UserPoolId=api.staff.user_pool_id, Username=user, MessageAction="SUPPRESS")
        cognito.admin_set_user_password(
            UserPoolId=api.staff.user_pool_id, Username=user, Password="Demo-Passw0rd!", Permanent=True
        )
        cognito.admin_add_user_to_group(UserPoolId=api.staff.user_pool_id, Username=user, GroupName="LEI-officer")
    api.token("lei-officer-3")
    results: dict[str, tuple[int, Any]] = {}

    def take(user: str) -> None:
        results[user] = api.call("POST", f"/api/alerts/{alert.alert_id}/acknowledge", user=user)

    try:
        threads = [threading.Thread(target=take, args=(u,)) for u in ("lei-officer", "lei-officer-3")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    finally:
        service.cases.get = original_get  # type: ignore[method-assign]
        service.cases.save = original_save  # type: ignore[method-assign]
    statuses = sorted(s for s, _ in results.values())
    assert statuses == [200, 409]
    winner = next(u for u, (s, _) in results.items() if s == 200)
    loser_body = next(b for s, b in results.values() if s == 409)
    assert loser_body["acknowledged_by"] == winner
    _, seen = api.call("GET", f"/api/alerts/{alert.alert_id}")
    assert seen["acknowledged_by"] == winner
    # The loser's clashing write stored no audit entry of a change: only its refusal is recorded
    _, trail = api.call("GET", f"/api/prisoners/LEI/{alert.prisoner_id}/audit", user="lei-governor")
    takes = sorted((e["user"], e["result"]) for e in trail["entries"] if e["action"] == "alert.acknowledge")
    loser = next(u for u in results if u != winner)
    assert takes == sorted([(winner, "ok"), (loser, "held")])


# --- an audit entry that cannot be written ---------------------------------------------------------
@pytest.fixture
def audit_unreachable(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The function's audit log points at a table that does not exist (the case table is fine)."""
    from functions.api import handler

    service = handler.wiring().service
    assert service.cases.audit_log is service.audit
    monkeypatch.setattr(service.audit, "table", "aim-audit-absent")


@pytest.mark.parametrize(
    ("path", "user"),
    [
        ("/api/prisoners/LEI/{pid}", "lei-officer"),
        ("/api/alerts/{alert}", "lei-officer"),
        ("/api/prisoners/LEI/{pid}/audit", "lei-governor"),
        ("/api/establishments/LEI/outcomes?from=2026-11-01&to=2026-12-31", "lei-governor"),
        ("/prisoners/LEI/{pid}", "lei-officer"),
    ],
)
def test_a_read_whose_audit_entry_cannot_be_written_serves_nothing(
    api: Api, audit_unreachable: None, path: str, user: str
) -> None:
    alert = api.alerts["LEI"][2]
    target = path.format(pid=alert.prisoner_id, alert=alert.alert_id)
    signed_in = {} if target.startswith("/api/") else {"headers": {"Cookie": f"aim-session={api.token(user)}"}}
    # The function fails (API Gateway answers 502): no answer, so none of the prisoner's detail, goes back
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        api.call("GET", target, user=user if not signed_in else None, **signed_in)


@pytest.mark.parametrize("action", ["acknowledge", "interventions"])
def test_a_change_whose_audit_entry_cannot_be_written_changes_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    from functions.api import handler

    alert = api.fresh_alert()
    service = handler.wiring().service
    with monkeypatch.context() as broken:
        broken.setattr(service.audit, "table", "aim-audit-absent")
        with pytest.raises(ClientError, match="ResourceNotFoundException"):
            api.call("POST", f"/api/alerts/{alert.alert_id}/{action}", body=INTERVENTION)
    _, seen = api.call("GET", f"/api/alerts/{alert.alert_id}")
    assert seen["status"] == "open" and seen["acknowledged_by"] is None and seen["interventions"] == []
    _, trail = api.call("GET", f"/api/prisoners/LEI/{alert.prisoner_id}/audit", user="lei-governor")
    assert not [e for e in trail["entries"] if e["action"].startswith("alert.") and e["action"] != "alert.view"]


# --- outcomes and audit ----------------------------------------------------------------------------
def test_outcomes_for_governor_by_wing(api: Api) -> None:
    alert = api.fresh_alert()
    api.call("POST", f"/api/alerts/{alert.alert_id}/interventions", body={**INTERVENTION, "useful": "no"})
    status, body = api.call(
        "GET", "/api/establishments/LEI/outcomes?from=2026-11-01&to=2026-12-31", user="lei-governor"
    )
    assert status == 200
    assert body["total"]["alerts_raised"] == 14
    assert body["total"]["useful"]["no"] >= 1
    assert body["total"]["median_minutes_to_first_intervention"] is not None
    assert sum(w["alerts_raised"] for w in body["wings"].values()) == 14


def test_outcomes_csv_has_the_same_figures_as_the_json(api: Api) -> None:
    import csv
    import io

    path = "/api/establishments/LEI/outcomes?from=2026-11-01&to=2026-12-31"
    _, body = api.call("GET", path, user="lei-governor")
    status, text = api.call("GET", path + "&format=csv", user="lei-governor")
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text)))
    found = {(r["wing"], r["figure"], r["category"]): r["value"] for r in rows if not r["subgroup"]}
    assert found[("all", "alerts_raised", "")] == str(body["total"]["alerts_raised"])
    for wing, figures in body["wings"].items():
        assert found[(wing, "alerts_raised", "")] == str(figures["alerts_raised"])
        for week, n in figures["weeks"].items():
            assert found[(wing, "alerts_raised_in_week", week)] == str(n)
    assert sum(body["total"]["weeks"].values()) == body["total"]["alerts_raised"]
    assert not any(a.prisoner_id in text for a in api.alerts["LEI"])


def test_outcomes_has_lights_new_ambers_subgroups_and_red_lines_of_the_seeded_day(api: Api) -> None:
    # Seeded: 40 people on wings A-D in turn; 0-13 red, 14 (wing C) and 15 (wing D) amber, 16
    # too little data, the rest green, judged 2026-11-30 (a Monday); reds' age bands in turn from
    # 18-24, every fifth a low kiosk user.
    status, body = api.call(
        "GET", "/api/establishments/LEI/outcomes?from=2026-11-01&to=2026-12-31", user="lei-governor"
    )
    assert status == 200
    total, wings = body["total"], body["wings"]
    assert body["days"][0] == "2026-11-01" and body["days"][-1] == "2026-12-31" and len(body["days"]) == 61
    assert total["lights"] == {"2026-11-30": {"red": 14, "amber": 2, "green": 23, "insufficient": 1}}
    assert wings["C"]["lights"]["2026-11-30"]["amber"] == 1 and wings["A"]["lights"]["2026-11-30"]["red"] == 4
    assert total["new_ambers"] == 2 and total["amber_weeks"]["2026-11-30"] == 2
    assert wings["C"]["new_ambers"] == 1 and wings["D"]["new_ambers"] == 1 and wings["A"]["new_ambers"] == 0
    ages = {band: g["alerts_raised"] for band, g in body["subgroups"]["age_band"].items()}
    assert ages == {"18-24": 5, "25-39": 5, "40+": 4, "unknown": 0}
    kiosk = {band: g["alerts_raised"] for band, g in body["subgroups"]["kiosk_use"].items()}
    assert kiosk == {"low": 3, "normal": 11, "unknown": 0}
    assert body["red_lines"] == [
        {
            "from": "2026-11-30",
            "to": "2026-11-30",
            "value": 6.0,
            "amber": 4.0,
            "method": "configured",
            "basis": "configured: no red capacity set",
        }
    ]
    assert body["confounders"] == []


def test_outcomes_reads_are_audited_json_and_csv_alike(api: Api) -> None:
    from aim.adapters.audit_table import audit_partition
    from aim_local.serve import STAFF_TABLES

    def outcome_views() -> int:
        response = api.staff.local.clients["dynamodb"].query(
            TableName=STAFF_TABLES["audit"],
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": audit_partition("LEI", None)}},
        )
        entries = [json.loads(i["entry"]["S"]) for i in response["Items"]]
        return sum(1 for e in entries if e["action"] == "outcomes.view" and e["user"] == "lei-governor")

    before = outcome_views()
    path = "/api/establishments/LEI/outcomes?from=2026-11-01&to=2026-12-31"
    api.call("GET", path, user="lei-governor")
    api.call("GET", path + "&format=csv", user="lei-governor")
    assert outcome_views() == before + 2


def test_officer_cannot_download_outcomes_csv_403(api: Api) -> None:
    status, _ = api.call("GET", "/api/establishments/LEI/outcomes?from=2026-11-01&to=2026-12-31&format=csv")
    assert status == 403


@pytest.mark.parametrize("query", ["", "?from=2026-11-01", "?from=2026-12-31&to=2026-11-01", "?from=x&to=y"])
def test_outcomes_bad_range_is_422(api: Api, query: str) -> None:
    status, body = api.call("GET", f"/api/establishments/LEI/outcomes{query}", user="lei-governor")
    assert status == 422 and body["errors"]


def test_every_change_is_audited_with_who_what_and_from_where(api: Api) -> None:
    alert = api.fresh_alert()
    api.call("POST", f"/api/alerts/{alert.alert_id}/acknowledge")
    api.call("POST", f"/api/alerts/{alert.alert_id}/interventions", body=INTERVENTION)
    api.call("POST", f"/api/alerts/{alert.alert_id}/close")
    time.sleep(0.01)
    _, trail = api.call("GET", f"/api/prisoners/LEI/{alert.prisoner_id}/audit", user="lei-governor")
    actions = [(e["action"], e["user"], e["result"]) for e in reversed(trail["entries"])]
    assert ("alert.acknowledge", "lei-officer", "ok") in actions
    assert ("alert.intervention", "lei-officer", "ok") in actions
    assert ("alert.close", "lei-officer", "ok") in actions
    assert all(e["client_address"] == "10.1.2.3" for e in trail["entries"])


def test_officer_cannot_read_the_audit_trail(api: Api) -> None:
    alert = api.alerts["LEI"][0]
    status, _ = api.call("GET", f"/api/prisoners/LEI/{alert.prisoner_id}/audit")
    assert status == 403


def test_board_is_read_again_once_a_scoring_run_changed_something(api: Api) -> None:
    """The board keeps what it read while the scorer's run marker is the same."""
    from aim.adapters.state_table import DynamoStateRepository
    from aim.service.scoring_run import horizon

    ddb = api.staff.local.clients["dynamodb"]
    table = api.staff.local.resources["state_table"]
    green = api.call("GET", "/api/establishments/LEI/board")[1]["prisoners"][-1]
    # Given a scoring run that turns one prisoner amber and saves the states (and with them the board)
    repository = DynamoStateRepository(table, ddb)
    states = repository.load_states("LEI", horizon(api.staff.local.config))
    states[green["prisoner_id"]].light = "amber"
    assert repository.save_states("LEI", states.values()) == 1
    # Then until the run's record is written the board still shows what it read
    unchanged = api.call("GET", "/api/establishments/LEI/board")[1]["prisoners"]
    assert next(r for r in unchanged if r["prisoner_id"] == green["prisoner_id"])["light"] == "green"
    # And once it is, the next read shows the change
    repository.save_meta("LEI", {"run": 2})
    changed = api.call("GET", "/api/establishments/LEI/board")[1]["prisoners"]
    assert next(r for r in changed if r["prisoner_id"] == green["prisoner_id"])["light"] == "amber"


def test_board_of_a_table_no_run_wrote_a_board_to_is_read_from_the_states(api: Api) -> None:
    """A table written before scoring runs wrote the board: every prisoner's state is read."""
    from aim.adapters.state_table import BOARD_SK, META_SK, board_partition
    from aim.adapters.state_table import run_partition as control_partition

    ddb = api.staff.local.clients["dynamodb"]
    table = api.staff.local.resources["state_table"]
    before = api.call("GET", "/api/establishments/MDI/board", user="mdi-officer")[1]["prisoners"]
    # Given the board item gone and a new run marker
    key = {"pk": {"S": board_partition("MDI")}, "sk": {"S": BOARD_SK}}
    board_item = ddb.get_item(TableName=table, Key=key)["Item"]
    ddb.delete_item(TableName=table, Key=key)
    try:
        ddb.put_item(
            TableName=table,
            Item={"pk": {"S": control_partition("MDI")}, "sk": {"S": META_SK}, "m": {"S": '{"run":3}'}},
        )
        # Then the board read from the states is the same board
        status, body = api.call("GET", "/api/establishments/MDI/board", user="mdi-officer")
        assert status == 200 and body["prisoners"] == before and len(before) == 10
    finally:
        ddb.put_item(TableName=table, Item=board_item)


def test_pages_under_an_api_gateway_stage_link_and_redirect_within_it(api: Api) -> None:
    """On the stage URL (https://.../prod/...) every link, asset and redirect keeps the /prod prefix."""
    token = api.token("lei-officer")
    event = api_event("GET", "/establishments/LEI", {"Cookie": f"aim-session={token}"}, b"")
    event["requestContext"]["path"] = "/prod/establishments/LEI"
    page = api.staff.call(event)
    assert page["statusCode"] == 200
    assert 'href="/prod/assets/govuk-frontend.min.css"' in page["body"]
    assert 'href="/prod/prisoners/LEI/' in page["body"]
    anonymous = api_event("GET", "/establishments/LEI", {}, b"")
    anonymous["requestContext"]["path"] = "/prod/establishments/LEI"
    redirect = api.staff.call(anonymous)
    assert redirect["statusCode"] == 303
    location = (redirect.get("headers") or {}).get("Location") or redirect["multiValueHeaders"]["Location"][0]
    assert location.startswith("/prod/sign-in?next=")


def test_the_staff_handler_is_traced_without_its_responses(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Board and prisoner responses carry prison numbers and reasons: never X-Ray metadata."""
    from aim.observability import tracer
    from test_handler_tracing import RecordingProvider

    # Given a tracer whose provider records what would be sent to X-Ray
    provider = RecordingProvider()
    monkeypatch.setattr(tracer, "provider", provider)
    # When an officer reads the board
    status, body = api.call("GET", "/api/establishments/LEI/board")
    # Then the handler was traced and its response was not recorded
    assert status == 200 and body["prisoners"]
    assert "## handler" in provider.opened
    assert [key for _, key, _ in provider.metadata if key.endswith("response")] == []

"""Alert lifecycle (one open red per prisoner) and the two forms of an alert message."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from aim.domain.alerts import (
    ALERT_SCHEMA,
    HUMAN_FIELDS,
    AlertDecision,
    alert_id_for,
    alert_message,
    alert_subject,
    alert_text,
    decide,
    human_fields,
    should_close,
)
from aim.domain.assessment import Assessment
from aim.domain.features import CHANNELS
from hypothesis import given, settings
from hypothesis import strategies as st

NOW = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)
QUIET = timedelta(hours=72)
KEY = b"test-deployment-key"


def assessment(light: str = "red", score: float = 8.0, judged: str | None = "2026-11-20", **kw) -> Assessment:
    return Assessment("A1234BC", light, score, 3.0, 6.0, kw.pop("factors", []), kw.pop("reasons", []), judged)


def opened(hours_ago: float, score: float = 8.0) -> dict:
    return {"alert_id": "aim-lei-x", "raised_at": (NOW - timedelta(hours=hours_ago)).isoformat(), "score": score}


def test_new_red_with_no_open_alert_raises_a_new_alert():
    decision = decide("LEI", assessment(), None, NOW, QUIET, KEY)
    assert decision == AlertDecision("new", alert_id_for(KEY, "LEI", "A1234BC", "2026-11-20", "new"))


@pytest.mark.parametrize("light", ["amber", "green", "insufficient"])
def test_anything_but_red_raises_nothing(light):
    assert decide("LEI", assessment(light=light), None, NOW, QUIET, KEY) is None


def test_red_without_judged_day_raises_nothing():
    assert decide("LEI", assessment(judged=None), None, NOW, QUIET, KEY) is None


def test_no_repeat_within_the_quiet_period():
    assert decide("LEI", assessment(score=8.0), opened(hours_ago=71.9), NOW, QUIET, KEY) is None


def test_escalation_within_quiet_period_raises_again():
    decision = decide("LEI", assessment(score=12.0), opened(hours_ago=1, score=8.0), NOW, QUIET, KEY)
    assert decision is not None and decision.kind == "escalation"


def test_just_below_escalation_ratio_is_quiet():
    assert decide("LEI", assessment(score=11.9), opened(hours_ago=1, score=8.0), NOW, QUIET, KEY) is None


def test_reminder_after_the_quiet_period_when_configured():
    decision = decide("LEI", assessment(score=8.0), opened(hours_ago=72), NOW, QUIET, KEY, remind=True)
    assert decision is not None and decision.kind == "reminder"


def test_a_persisting_red_does_not_page_again_by_default():
    assert decide("LEI", assessment(score=8.0), opened(hours_ago=72), NOW, QUIET, KEY) is None


def test_alert_ids_are_deterministic_and_distinct_by_what_raised_them():
    a = decide("LEI", assessment(), None, NOW, QUIET, KEY)
    b = decide("LEI", assessment(), None, NOW + timedelta(hours=1), QUIET, KEY)
    assert a is not None and b is not None
    assert a.alert_id == b.alert_id  # the schedule firing twice derives the same id
    ids = {
        alert_id_for(KEY, "LEI", "A1234BC", "2026-11-20", "new"),
        alert_id_for(KEY, "LEI", "A1234BC", "2026-11-21", "new"),
        alert_id_for(KEY, "LEI", "G5678KL", "2026-11-20", "new"),
        alert_id_for(KEY, "MDI", "A1234BC", "2026-11-20", "new"),
        alert_id_for(KEY, "LEI", "A1234BC", "2026-11-20", "escalation"),
    }
    assert len(ids) == 5
    assert all(i.startswith(("aim-lei-", "aim-mdi-")) for i in ids)


def test_alert_id_is_a_keyed_hash_not_reversible_without_the_key():
    # Given what raised an alert
    raised = ("LEI", "A1234BC", "2026-11-20", "new")
    # Then the same key gives the same id (a repeated run finds its record), another key another id
    assert alert_id_for(KEY, *raised) == alert_id_for(KEY, *raised)
    assert alert_id_for(b"another-deployment", *raised) != alert_id_for(KEY, *raised)
    # And the id is not the unsalted hash anyone could compute by trying prison numbers
    unsalted = hashlib.sha256(b"LEI|A1234BC|2026-11-20|new").hexdigest()[:16]
    assert alert_id_for(KEY, *raised) != f"aim-lei-{unsalted}"
    assert (
        alert_id_for(KEY, *raised)
        == "aim-lei-" + hmac.new(KEY, b"LEI|A1234BC|2026-11-20|new", "sha256").hexdigest()[:16]
    )
    with pytest.raises(ValueError, match="non-empty key"):
        alert_id_for(b"", *raised)


def test_open_alert_closes_only_when_not_red_and_quiet_period_passed():
    assert should_close(assessment(light="green"), opened(hours_ago=72), NOW, QUIET)
    assert not should_close(assessment(light="green"), opened(hours_ago=10), NOW, QUIET)
    assert not should_close(assessment(light="red"), opened(hours_ago=100), NOW, QUIET)
    assert not should_close(assessment(light="green"), None, NOW, QUIET)


def test_machine_message_follows_the_contract():
    why = [{"factor": "phone", "text": "Phone calls and credit fell: 0 on Fri 20 Nov (usually about 3)"}]
    a = assessment(reasons=why, factors=["ACCT open"])
    decision = decide("LEI", a, None, NOW, QUIET, KEY)
    assert decision is not None
    message = alert_message(decision, "LEI", a, NOW, "B-2-14")
    assert {"schema", "alert_id", "level", "establishment", "prisoner_id", "raised_at", "reasons"} <= set(message)
    assert message["schema"] == ALERT_SCHEMA
    assert (message["level"], message["establishment"], message["prisoner_id"]) == ("red", "LEI", "A1234BC")
    assert datetime.fromisoformat(message["raised_at"]) == NOW
    assert message["reasons"] == why


def test_human_text_names_wing_and_plain_factors_only():
    a = assessment(
        reasons=[
            {"factor": "requests", "text": "Requests and complaints rose: 4 healthcare requests"},
            {"factor": "phone", "text": "x"},
        ]
    )
    decision = AlertDecision("new", "aim-lei-0123456789abcdef")
    message = alert_message(decision, "LEI", a, NOW, "B-2-14")
    text = alert_text(message)
    assert "cell B-2-14" in text
    assert "at 07:00" in text  # local time of raising (GMT in November)
    assert "applications/requests, phone use" in text
    assert "aim-lei-0123456789abcdef" in text
    assert "healthcare" not in text.lower()
    assert set(human_fields(message)) == set(HUMAN_FIELDS)
    assert alert_subject(message) == "AIM RED alert LEI"


def test_human_text_gives_the_local_time_it_was_raised():
    # Given an alert raised at 08:05 UTC in July (British Summer Time)
    decision = AlertDecision("new", "aim-lei-0123456789abcdef")
    message = alert_message(decision, "LEI", assessment(), datetime(2026, 7, 1, 8, 5, tzinfo=UTC), "C-1-02")
    # Then the officer reads the local time, in the deployment's zone
    assert "at 09:05" in alert_text(message)
    assert "at 04:05" in alert_text(message, "America/New_York")


def test_worst_case_human_text_fits_one_sms_and_keeps_place_time_and_reference():
    # Given every factor changed, unknown factors too, the longest location and a long reference
    reasons = [{"factor": c.factor, "text": "x"} for c in CHANNELS] + [{"factor": "other", "text": "y"}]
    a = Assessment("A1234BC", "red", 99.0, 3.0, 6.0, ["ACCT open"], reasons, "2026-11-20")
    long_id = "aim-lei-" + "f" * 40
    message = alert_message(AlertDecision("escalation", long_id), "LEI", a, NOW, "ABCD-EFGH-IJKL-MNOP")
    # When the text is built
    text = alert_text(message)
    # Then it is one SMS and still says where, when, who and which reference
    assert len(text) <= 160, (len(text), text)
    for part in ("RED", "LEI", "A1234BC", "cell ABCD-EFGH-IJKL-MNOP", "at 07:00", long_id, "visits"):
        assert part in text, (part, text)
    assert "more" in text  # the routines that did not fit are counted, not dropped silently


@settings(max_examples=100, deadline=None)
@given(
    factors=st.lists(st.sampled_from([c.factor for c in CHANNELS] + ["other"]), max_size=12),
    loc=st.from_regex(r"[A-Z0-9]{1,4}(-[A-Z0-9]{1,4}){0,3}", fullmatch=True),
)
def test_human_text_is_never_over_160_characters(factors, loc):
    a = Assessment("A1234BC", "red", 9.0, 3.0, 6.0, [], [{"factor": f, "text": "t"} for f in factors], "2026-11-20")
    decision = AlertDecision("new", alert_id_for(KEY, "LEI", "A1234BC", "2026-11-20", "new"))
    text = alert_text(alert_message(decision, "LEI", a, NOW, loc))
    assert len(text) <= 160
    assert f"cell {loc}" in text


# --- property: the human form never carries special-category data ---------------------------
SENSITIVE_STATIC = st.sampled_from(
    [
        "history of self-harm",
        "ACCT open",
        "ACCT recently closed",
        "aged 18-24",
        "early days in custody (day 3)",
        "significant date near (court)",
        "significant date near (anniversary)",
    ]
)
free_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), min_size=8, max_size=40).map(
    lambda s: "FREE:" + s
)
reason = st.fixed_dictionaries(
    {
        "factor": st.one_of(
            st.sampled_from([c.factor for c in CHANNELS]), st.sampled_from(["healthcare", "acct"]), free_text
        ),
        "signal": st.sampled_from([c.name for c in CHANNELS]),
        "text": st.one_of(free_text, st.just("Healthcare requests rose: 5 (usually 0.1)")),
        "observed": st.integers(0, 50),
        "expected": st.floats(0, 50),
    }
)
location = st.one_of(
    st.none(),
    st.builds(
        lambda wing, landing, cell: f"{wing}-{landing}-{cell}",
        st.sampled_from("ABCDEFHK"),
        st.integers(1, 4),
        st.integers(1, 40),
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    statics=st.lists(SENSITIVE_STATIC, max_size=5),
    reasons=st.lists(reason, max_size=6),
    dob=st.dates(min_value=date(1940, 1, 1), max_value=date(2008, 1, 1)),
    score=st.floats(6, 100),
    loc=location,
    kind=st.sampled_from(["new", "escalation", "reminder"]),
)
def test_email_and_sms_text_never_carry_special_category_data(statics, reasons, dob, score, loc, kind):
    # Given an assessment with any static factors and reasons (and a message carrying a date of birth)
    a = Assessment("A1234BC", "red", score, 3.0, 6.0, statics, reasons, "2026-11-20")
    message = alert_message(
        AlertDecision(kind, alert_id_for(KEY, "LEI", "A1234BC", "2026-11-20", kind)), "LEI", a, NOW, loc
    )
    message["date_of_birth"] = dob.isoformat()  # even if a richer message carried it
    message["acct_status"] = "open"
    message["self_harm_history"] = True
    # When the human form is built
    text = alert_text(message)
    fields = json.dumps(human_fields(message))
    # Then none of it reaches email or SMS
    for out in (text, fields, alert_subject(message)):
        lowered = out.lower()
        assert dob.isoformat() not in out
        assert dob.strftime("%d/%m/%Y") not in out
        for word in (
            "self-harm",
            "self harm",
            "acct",
            "healthcare",
            "health",
            "aged 18",
            "court",
            "anniversary",
            "early days",
            "free:",
            "usually",
            "true",
        ):
            assert word not in lowered, (word, out)
    assert set(human_fields(message)) == set(HUMAN_FIELDS)

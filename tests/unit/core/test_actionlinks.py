"""Action-link tokens: what verifies, and every way one must not (core/actionlinks.py)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from sqlsentinel_airflow.acks import same_incident
from sqlsentinel_airflow.core.actionlinks import (
    ActionLinkError,
    ActionLinkExpired,
    ActionLinkInvalid,
    action_key,
    mint_action_token,
    read_action_token,
    verify_action_token,
)

KEY = b"k" * 32
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
SINCE = datetime(2026, 12, 6, 11, 30, 15, 123456, tzinfo=timezone.utc)


def _token(**overrides: object) -> str:
    args: dict[str, object] = {
        "dag_id": "sqlsentinel_orders",
        "instance_key": '{"table_name":"orders"}',
        "firing_since": SINCE,
        "now": NOW,
        "expire_after": timedelta(hours=24),
        "recipients": "oncall@example.com",
    }
    args.update(overrides)
    return mint_action_token(KEY, **args)  # type: ignore[arg-type]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_minted_token_verifies_and_says_what_it_is_for() -> None:
    token = _token()
    claims = verify_action_token(token, KEY, NOW + timedelta(hours=23))
    assert (claims.action, claims.dag_id, claims.instance_key) == (
        "ack",
        "sqlsentinel_orders",
        '{"table_name":"orders"}',
    )
    assert claims.firing_since == SINCE
    assert claims.expires_at == NOW + timedelta(hours=24)
    assert claims.recipients == "oncall@example.com"
    assert len(claims.token_id) == 32 and int(claims.token_id, 16) >= 0
    assert read_action_token(token) == claims
    # URL-safe as it is (it goes into a link's fragment), and short enough for any mail client
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert len(token) < 500


def test_each_token_has_its_own_id() -> None:
    assert len({verify_action_token(_token(), KEY, NOW).token_id for _ in range(50)}) == 50


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.mark.parametrize("seed", range(3))
def test_an_altered_character_anywhere_is_refused(seed: int) -> None:
    """Every position, to every other base64url character: including the last character of
    each part, whose spare bits a lenient decoder would ignore."""
    token = _token(token_id=f"{seed:032x}")
    tried = 0
    for i, char in enumerate(token):
        if char == ".":
            continue
        for other in ALPHABET:
            if other == char:
                continue
            with pytest.raises(ActionLinkInvalid, match="not valid"):
                verify_action_token(token[:i] + other + token[i + 1 :], KEY, NOW)
            tried += 1
    assert tried == (len(token) - 1) * (len(ALPHABET) - 1)


def test_a_changed_claim_re_encoded_without_the_key_is_refused() -> None:
    body, signature = _token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    for field, value in [("key", '{"table_name":"customers"}'), ("exp", 4102444800)]:
        forged = _b64(json.dumps({**claims, field: value}, separators=(",", ":")).encode())
        with pytest.raises(ActionLinkInvalid):
            verify_action_token(f"{forged}.{signature}", KEY, NOW)


def test_another_key_is_refused() -> None:
    with pytest.raises(ActionLinkInvalid):
        verify_action_token(_token(), b"another key, 32 characters long!", NOW)


def test_an_expired_token_is_refused_after_its_signature_is_checked() -> None:
    token = _token(expire_after=timedelta(minutes=5))
    verify_action_token(token, KEY, NOW + timedelta(minutes=4, seconds=59))
    with pytest.raises(ActionLinkExpired, match="expired"):
        verify_action_token(token, KEY, NOW + timedelta(minutes=5))
    # an expired token with a bad signature says "not valid", not "expired"
    with pytest.raises(ActionLinkInvalid):
        verify_action_token(token, b"x" * 32, NOW + timedelta(days=1))


def test_an_unknown_version_or_action_is_refused_even_when_signed() -> None:
    import hashlib
    import hmac

    body, _signature = _token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    for field, value in [("v", 2), ("act", "silence"), ("act", "resolve")]:
        raw = json.dumps({**claims, field: value}, separators=(",", ":")).encode()
        signed = f"{_b64(raw)}.{_b64(hmac.new(KEY, raw, hashlib.sha256).digest())}"
        with pytest.raises(ActionLinkInvalid):
            verify_action_token(signed, KEY, NOW)
    with pytest.raises(ValueError, match="unknown action"):
        _token(action="silence")


@pytest.mark.parametrize(
    "cut",
    [
        lambda t: t[: len(t) // 2],  # half a token
        lambda t: t[:-1],  # one character short
        lambda t: t.split(".")[0],  # no signature
        lambda t: t.split(".")[0] + ".",  # an empty signature
        lambda t: "." + t.split(".")[1],  # no body
        lambda t: t + ".x",  # a third part
        lambda t: t.replace("-", "+").replace("_", "/") + "==",  # not base64url
        lambda t: "",
        lambda t: "a" * 5000,
    ],
)
def test_truncated_or_malformed_tokens_are_refused(cut: object) -> None:
    token = cut(_token())  # type: ignore[operator]
    with pytest.raises(ActionLinkInvalid):
        verify_action_token(token, KEY, NOW)


def test_a_non_string_is_refused() -> None:
    with pytest.raises(ActionLinkInvalid):
        verify_action_token(None, KEY, NOW)  # type: ignore[arg-type]


def test_a_token_names_its_incident_and_no_other() -> None:
    claims = verify_action_token(_token(), KEY, NOW)
    assert same_incident(SINCE, claims.firing_since)
    # a database without microseconds still recognises it
    assert same_incident(SINCE.replace(microsecond=0), claims.firing_since)
    # the next incident of the same instance is another one
    assert not same_incident(SINCE + timedelta(minutes=5), claims.firing_since)
    assert not same_incident(None, claims.firing_since)


def test_the_lifetime_is_bounded() -> None:
    with pytest.raises(ValueError, match="at most 7 days"):
        _token(expire_after=timedelta(days=7, seconds=1))
    with pytest.raises(ValueError):
        _token(expire_after=timedelta(0))


def test_the_key_must_be_long_and_its_errors_never_show_it() -> None:
    assert action_key("  " + "s" * 20 + " ", "links") == b"s" * 20
    for short in (None, "", "short-secret"):
        with pytest.raises(ActionLinkError, match="connection 'links'") as caught:
            action_key(short, "links")
        assert "short-secret" not in str(caught.value)


def test_no_error_repeats_the_token() -> None:
    token = _token()
    for bad, key, now in [
        (token[:-2], KEY, NOW),
        (token, b"y" * 32, NOW),
        (token, KEY, NOW + timedelta(days=2)),
    ]:
        with pytest.raises(ActionLinkError) as caught:
            verify_action_token(bad, key, now)
        text = str(caught.value)
        assert token.split(".")[0][:20] not in text and token.split(".")[1][:20] not in text

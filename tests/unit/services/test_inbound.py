"""Inbound: the one place every door's strings pass; ids refused when they cannot be stored, text cleaned."""

from __future__ import annotations

import math

import pytest

from casework.errors import InvalidInput
from services.conversations import Inbound, check_id, clean_text


def test_text_loses_nul_and_lone_surrogates_but_keeps_everything_else():
    assert clean_text("路灯\x00坏了") == "路灯坏了"
    assert clean_text("a\ud800b\udfff") == "a\ufffdb\ufffd"
    assert clean_text("😀 👍🏻\t\n第二行") == "😀 👍🏻\t\n第二行"
    inbound = Inbound(channel="web", user_id="u1", text="你\x00好", label="门\ud800口")
    assert (inbound.text, inbound.label) == ("你好", "门\ufffd口")
    inbound.text.encode("utf-8")


@pytest.mark.parametrize(
    "fields",
    [
        {"user_id": "u\x00"},
        {"user_id": "u\ud800"},
        {"user_id": ""},
        {"user_id": "u" * 129},
        {"channel": "c" * 21},
        {"external_id": "m\x00"},
        {"external_id": "9" * 129},
    ],
)
def test_an_id_that_cannot_be_stored_is_refused(fields):
    with pytest.raises(InvalidInput) as refused:
        Inbound(**{"channel": "web", "user_id": "u1", **fields})
    assert refused.value.code == "invalid_id" and refused.value.status == 422


@pytest.mark.parametrize("latitude, longitude", [(math.inf, 0.0), (math.nan, 0.0), (91.0, 0.0), (0.0, -180.5)])
def test_a_position_off_the_globe_is_refused(latitude, longitude):
    with pytest.raises(InvalidInput):
        Inbound(channel="web", user_id="u1", kind="location", latitude=latitude, longitude=longitude)


def test_a_good_id_is_kept_as_given():
    assert check_id("o" * 128) == "o" * 128
    assert Inbound(channel="wechat", user_id="oABC", external_id="8" * 128).external_id == "8" * 128

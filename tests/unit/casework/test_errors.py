"""The error hierarchy: every error has a code, an HTTP status and a Chinese message; refusals of the
rules keep the codes and statuses the API has always answered with."""

from __future__ import annotations

import pytest

import bot.channels.wechat.protocol as wechat
from casework import errors
from casework.bookings import Refused
from casework.errors import LiaisonError, Refusal
from casework.lifecycle import IllegalTransition
from services.cases import CaseChanged, CaseNotFound
from services.deputies import DeputyRefused


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_subclasses(sub)]
    return found


def _example(cls: type) -> LiaisonError:
    if cls in (CaseChanged, CaseNotFound):
        return cls("LL20260101001")
    if issubclass(cls, Refusal):
        return cls("wrong_state", "当前状态不能这样做。")
    return cls()


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


ERRORS = [LiaisonError, *_all_subclasses(LiaisonError)]


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_error_has_a_code_a_status_and_a_chinese_message(cls):
    error = _example(cls)
    assert error.code and error.code.isascii() and " " not in error.code
    assert isinstance(error.status, int) and 200 <= error.status < 600
    assert error.message and _chinese(error.message)
    rendered = error.as_dict()
    assert rendered["code"] == error.code and rendered["message"] == rendered["detail"] == error.message


def test_the_refusals_of_every_layer_are_in_the_hierarchy():
    for cls in (IllegalTransition, CaseChanged, CaseNotFound, Refused, DeputyRefused):
        assert issubclass(cls, Refusal)
    for cls in (wechat.Forged, wechat.Malformed, wechat.Dangerous):
        assert issubclass(cls, LiaisonError)
    assert wechat.Refused is LiaisonError


def test_ignored_is_not_malformed_nor_forged():
    """As in Zulip: an unsupported delivery is acknowledged (200); a malformed or forged one is refused."""
    assert errors.Ignored().status == 200
    assert not issubclass(errors.Ignored, (errors.Malformed, errors.Forged))
    assert errors.Malformed().status == 400 and errors.Forged().status == 403


@pytest.mark.parametrize(
    "code, status",
    [
        ("not_found", 404),
        ("forbidden_role", 403),
        ("not_your_department", 403),
        ("not_your_case", 403),
        ("not_on_duty", 403),
        ("reason_required", 409),
        ("already_closed", 409),
        ("wrong_state", 409),
    ],
)
def test_a_refusal_status_follows_its_code(code, status):
    assert Refusal(code, "不行。").status == status
    assert IllegalTransition(code, "不行。").status == status
    assert Refused(code, "不行。").status == status


def test_case_refusals_keep_their_codes():
    assert (CaseChanged("LL1").code, CaseChanged("LL1").status) == ("conflict", 409)
    assert (CaseNotFound("LL1").code, CaseNotFound("LL1").status) == ("not_found", 404)
    assert "LL1" in CaseNotFound("LL1").message


def test_a_log_detail_is_kept_apart_from_the_message():
    error = wechat.Forged(detail="the signature does not match")
    assert error.detail == "the signature does not match" and _chinese(error.message)
    assert str(error) == "the signature does not match"
    assert errors.TooLarge(16 * 1024).message == "请求内容超过 16 KB 上限。"

"""The checks every door makes before a route runs."""

from __future__ import annotations

from bot.http.limits import _unstorable


def test_an_unstorable_string_is_found_anywhere_in_a_body():
    assert not _unstorable({"action": "transfer", "reason": "请核实", "n": [1, 2.5, None, True]})
    assert _unstorable({"reason": "a\x00"})
    assert _unstorable({"x": [{"y": ["\ud800"]}]})
    assert _unstorable({"key\x00": 1})


def test_depth_cannot_make_the_check_fail():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert not _unstorable(deep)
    assert _unstorable([deep, "\x00"])

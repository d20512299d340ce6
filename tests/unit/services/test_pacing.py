"""The push pace's arithmetic (GCRA without burst) with the time passed in: when a send may go, how long it
waits, what a pause does, and that any window of a limit's length holds at most its messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.pacing import admit, interval, pause
from settings.deployment import ChannelPace, Pace, PushPacing

T0 = 1_900_000_000.0


def test_the_spacing_is_the_window_widened_by_the_margin_over_its_messages():
    assert interval(Pace(messages=30, per_seconds=1, margin_seconds=0)) == pytest.approx(1 / 30)
    assert interval(Pace(messages=30, per_seconds=1, margin_seconds=0.05)) == pytest.approx(1.05 / 30)
    assert interval(Pace(messages=1, per_seconds=1, margin_seconds=0.1)) == pytest.approx(1.1)


def test_the_defaults_are_telegrams_documented_limits_and_no_pace_on_wechat():
    pacing = PushPacing()
    assert (pacing.telegram.overall.messages, pacing.telegram.overall.per_seconds) == (30, 1)
    assert (pacing.telegram.per_recipient.messages, pacing.telegram.per_recipient.per_seconds) == (1, 1)
    assert pacing.wechat == ChannelPace()


def test_a_first_send_goes_and_sets_the_next_time_of_each_limit():
    admission = admit([None, None], [0.1, 1.0], T0, channel_wide=1)
    assert admission.taken and admission.wait == 0
    assert admission.tats == pytest.approx((T0 + 0.1, T0 + 1.0))


def test_a_send_before_its_time_waits_and_takes_nothing():
    tats = (T0 + 0.1, T0 + 1.0)
    admission = admit(list(tats), [0.1, 1.0], T0 + 0.4, channel_wide=1)
    assert not admission.taken and admission.wait == pytest.approx(0.6)
    assert admission.tats == tats
    assert admission.whole_channel is False  # the recipient's limit holds it


def test_the_longer_wait_names_the_limit_that_holds_the_send():
    admission = admit([T0 + 0.5, T0 + 0.2], [0.1, 1.0], T0, channel_wide=1)
    assert admission.wait == pytest.approx(0.5)
    assert admission.whole_channel is True


def test_a_place_close_enough_is_reserved_and_keeps_the_schedule():
    """Reserved 0.03 s ahead, the next place is one interval after the reserved one, not after `now`."""
    admission = admit([T0 + 0.03], [0.035], T0, within=0.25)
    assert admission.taken and admission.wait == pytest.approx(0.03)
    assert admission.tats == pytest.approx((T0 + 0.065,))
    assert not admit([T0 + 0.3], [0.035], T0, within=0.25).taken


def test_a_limit_idle_for_long_gives_no_credit_for_the_time_it_was_idle():
    admission = admit([T0], [1.0], T0 + 100)
    assert admission.tats == pytest.approx((T0 + 101,))
    assert admit(list(admission.tats), [1.0], T0 + 100.5).wait == pytest.approx(0.5)


def test_a_pause_holds_every_send_until_it_ends_and_never_shortens_a_later_time():
    tat = pause(None, T0, 5)
    assert tat == T0 + 5
    assert admit([tat], [1.0], T0 + 4.9).wait == pytest.approx(0.1)
    assert admit([tat], [1.0], T0 + 5).wait == 0
    assert pause(T0 + 9, T0, 5) == T0 + 9


def test_no_limits_means_no_wait():
    assert admit([], [], T0).wait == 0


@given(
    messages=st.integers(min_value=1, max_value=40),
    per=st.sampled_from([0.5, 1.0, 2.0]),
    within=st.sampled_from([0.0, 0.25]),
    attempts=st.lists(st.floats(min_value=0, max_value=10, allow_nan=False), min_size=1, max_size=300),
)
def test_any_window_holds_at_most_the_limits_messages(messages, per, within, attempts):
    """Whatever the moments senders try at, the sends that pass under (messages per `per` seconds), at once or
    at the place they reserved, are at most `messages` in any half-open window of `per` seconds."""
    step = interval(Pace(messages=messages, per_seconds=per, margin_seconds=0))
    tat: float | None = None
    sent = []
    for at in sorted(T0 + a for a in attempts):
        admission = admit([tat], [step], at, within=within)
        if admission.taken:
            sent.append(at + admission.wait)
            tat = admission.tats[0]
    sent.sort()
    for i, start in enumerate(sent):
        # 1e-9: the sum of floats may land a hair inside the window's end.
        assert sum(1 for t in sent[i:] if t < start + per - 1e-9) <= messages

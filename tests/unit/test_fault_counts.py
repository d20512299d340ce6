"""The fault suite's judgement of a lost WeChat delivery in the whole-server crash (bench/faultkit/traffic.py),
and which counts fail a run (bench/faults.py): a delivery whose copies all ran out while the server was down is
reported, not a failure; one told "received" (2xx) and not stored always is."""

from __future__ import annotations

from bench.faultkit.traffic import NO_ANSWER, Attempt, Delivery, ran_out_while_down
from bench.faults import failures

KILL, BACK = 1000.0, 1030.0  # the server down from its kill to its first answer again
OUTAGE = [(KILL, BACK)]


def wechat(*attempts: Attempt) -> Delivery:
    d = Delivery("wechat", "oUser", "1", "路灯坏了", first_sent=attempts[0].at)
    d.attempts.extend(attempts)
    return d


def test_a_delivery_in_flight_at_the_kill_whose_retries_all_fell_while_down_ran_out():
    d = wechat(
        Attempt(KILL - 3, None, NO_ANSWER),
        Attempt(KILL + 2, None, "ConnectError"),
        Attempt(KILL + 7, None, "ConnectError"),
    )
    assert ran_out_while_down(d, OUTAGE)


def test_a_delivery_answered_with_a_2xx_never_ran_out():
    d = wechat(Attempt(KILL - 3, 200), Attempt(KILL + 2, None, "ConnectError"))
    assert not ran_out_while_down(d, OUTAGE)


def test_a_copy_sent_after_the_server_was_back_means_the_server_had_a_chance():
    d = wechat(Attempt(KILL - 3, None, NO_ANSWER), Attempt(BACK + 1, 503))
    assert not ran_out_while_down(d, OUTAGE)


def test_a_delivery_far_from_any_outage_or_without_one_did_not_run_out():
    d = wechat(Attempt(KILL - 60, None, NO_ANSWER), Attempt(KILL - 55, None, NO_ANSWER))
    assert not ran_out_while_down(d, OUTAGE)
    assert not ran_out_while_down(d, [])


def test_an_api_message_never_runs_out_its_client_retries_for_minutes():
    d = Delivery("api", "u", "m-1", "你好", attempts=[Attempt(KILL - 1, None, "ConnectError")])
    assert not ran_out_while_down(d, OUTAGE)


def result(crash: dict[str, int], **summary: int) -> dict:
    zero = dict.fromkeys(("fivexx", "stored_from_forged", "duplicates", "lost", "lost_after_2xx", "stuck_received"), 0)
    return {"summary": {**zero, **summary}, "crash": crash}


def test_deliveries_lost_while_the_whole_server_was_down_do_not_fail_the_run():
    crash = {"fivexx": 0, "duplicates": 0, "lost_after_2xx": 0, "lost_otherwise": 0, "stuck_received": 0}
    assert failures(result({**crash, "lost_while_server_down": 3, "wechat_all_copies_failed_while_down": 40})) == []


def test_a_loss_after_a_2xx_fails_the_run_in_every_scenario():
    crash = {"fivexx": 0, "duplicates": 0, "lost_after_2xx": 1, "lost_otherwise": 0, "stuck_received": 0}
    assert failures(result(crash)) == ["crash lost_after_2xx"]
    assert failures(result({}, lost=1, lost_after_2xx=1)) == ["lost", "lost_after_2xx"]

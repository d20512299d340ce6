"""services/workdays.py: the warnings of a year whose arrangement is missing, and the report of one year."""

import datetime as dt
import logging

from casework.deadlines import LOCAL
from casework.workdays import WorkingCalendar
from services import workdays
from settings import load_deployment
from tests.factories import config_with_calendar

MID_DECEMBER = dt.datetime(2026, 12, 15, 9, 0, tzinfo=LOCAL)
NEW_YEARS_EVE = dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC)  # already 1 Jan 2027 in Beijing


def published(tmp_path) -> WorkingCalendar:
    return WorkingCalendar.configured(load_deployment(config_with_calendar(tmp_path)).calendar)


def test_a_year_in_reach_with_its_statutory_holidays_only_is_warned_of(tmp_path):
    assert workdays.warnings(WorkingCalendar(), MID_DECEMBER) == ["2027 年的调休安排尚未配置，仅按法定节假日计算"]
    assert workdays.warnings(WorkingCalendar(), NEW_YEARS_EVE) == ["2027 年的调休安排尚未配置，仅按法定节假日计算"]
    assert workdays.warnings(WorkingCalendar(), dt.datetime(2026, 6, 1, tzinfo=LOCAL)) == []
    assert workdays.warnings(published(tmp_path), MID_DECEMBER) == []


def test_the_warning_at_start_says_what_to_do(caplog):
    with caplog.at_level(logging.WARNING, logger="services.workdays"):
        workdays.warn_at_start(WorkingCalendar(), MID_DECEMBER)
    [record] = caplog.records
    assert "2027 年的调休安排尚未配置" in record.getMessage()
    assert "calendar.years.2027" in record.getMessage() and "liaison calendar check 2027" in record.getMessage()


def test_the_report_of_a_year_with_its_statutory_holidays_only():
    complete, report = workdays.check_year(WorkingCalendar(), 2027)
    assert not complete
    lines = report.splitlines()
    assert lines[0].startswith("2027 年工作日历：仅法定节假日（holidays ")
    assert lines[1] == "2027 年的调休安排尚未配置，仅按法定节假日计算" and "calendar.years.2027" in lines[2]
    assert "放假（19 天）：" in lines and "  2027-01-01 周五 元旦" in lines
    assert "  2027-02-09 周二 春节（补假）" in lines
    assert lines[-2:] == ["调休上班（0 天）：", "  （无）"]


def test_the_report_of_a_year_the_config_or_the_library_gives_whole(tmp_path):
    complete, report = workdays.check_year(published(tmp_path), 2027)
    assert complete
    lines = report.splitlines()
    assert lines[0] == "2027 年工作日历：config.yml 中填写的放假安排（calendar.years）"
    assert "  2027-02-12 周五 放假调休" in lines
    assert lines[-3:] == ["调休上班（2 天）：", "  2027-02-14 周日", "  2027-02-20 周六"]
    complete, report = workdays.check_year(WorkingCalendar(), 2026)
    assert complete and report.startswith("2026 年工作日历：国务院公布的放假安排（chinese-calendar ")
    assert "  2026-10-10 周六" in report.splitlines()

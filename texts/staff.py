"""Texts for the station's staff, departments and deputies: reports, tables and records."""

from __future__ import annotations

# Reports: figures, deputies' records (casework/metrics.py, bot/cli/reports.py)

GROUPINGS: dict[str, str] = {"department": "承办部门", "station": "联络站", "deputy": "跟进代表", "month": "月份"}
NO_DEPARTMENT = "（未分配部门）"
NO_DEPUTY = "（无跟进代表）"
TOTAL = "合计"
MONTH_LABEL = "{year}年{month}月"
BAD_MONTH = "月份应写作 YYYY-MM，例如 2026-11（收到 {text!r}）"
NO_SUCH_DEPUTY = "没有编码为 {code} 的代表"
REPORTS_FORBIDDEN = "只有工作人员可以查看统计和清单，代表可以查看本人的履职档案"

FIGURE_COLUMNS = (
    "受理",
    "24小时内转办",
    "按期答复",
    "办结率",
    "满意率",
    "逾期未评价",
    "重新办理",
    "升级",
    "用时中位数(工作日)",
)
FIGURES_TITLE = "{month}受理案件办理情况（按{grouping}）  统计至 {as_of}"
FIGURES_EMPTY = "（本月没有受理案件）"
FIGURES_NOTE = (
    "注：转办、按期答复只计应转办、应答复的案件；满意率以已评价案件为分母、最近一次评价为准；"
    "用时为受理至首次答复的工作日数。"
)

RECORD_TITLE = "{name} {year}年度履职档案"
RECORD_IDENTITY = "代表编码：{code}    层级：{level}级人大代表"
RECORD_PLACE = "选区：{constituency}    所属联络站：{station}"
RECORD_CASES = "跟进案件：{count} 件（{by_state}）"
RECORD_NO_CASES = "无"
RECORD_SEPARATOR = "，"
RECORD_ON_THE_SPOT = "当场答复：{count} 次"
RECORD_POINTS = "履职积分：{total} 分"
RECORD_POINT_COLUMNS = ("日期", "事项", "积分", "案件编号", "事件号")
RECORD_NO_POINTS = "（本年度暂无积分记录）"

"""Texts of what the station publishes: the three lists (三张清单), their titles and column headers, and the
public pages at /public/ (console/public.py)."""

from __future__ import annotations

# The three lists (casework/lists.py)

LIST_TITLES: dict[str, str] = {"suggestions": "代表建议清单", "assignments": "交办清单", "results": "办理效果清单"}

SUGGESTION_COLUMNS: dict[str, str] = {
    "number": "案件编号",
    "received_on": "受理日期",
    "topic": "类别",
    "citizen": "反映人",
    "phone": "联系电话",
    "summary": "问题摘要",
    "place": "地点",
    "deputy": "跟进代表",
    "state": "当前状态",
}
ASSIGNMENT_COLUMNS: dict[str, str] = {
    "number": "案件编号",
    "transferred_on": "交办日期",
    "topic": "类别",
    "summary": "问题摘要",
    "place": "地点",
    "department": "承办部门",
    "reply_due": "答复期限",
    "state": "当前状态",
}
RESULT_COLUMNS: dict[str, str] = {
    "number": "案件编号",
    "received_on": "受理日期",
    "ended_on": "办结日期",
    "topic": "类别",
    "summary": "问题摘要",
    "handled_by": "办理单位",
    "answer": "答复摘要",
    "working_days": "办理用时（工作日）",
    "on_time": "按期答复",
    "rating": "群众评价",
    "result": "办理结果",
}

ANONYMOUS = "匿名"
ANSWERED_BY_DEPUTY = "人大代表当场答复"
ANSWERED_BY_STAFF = "工作人员当场答复"
MERGED_INTO = "已办结（并入 {number}）"
ESCALATED_TO = "已升级至{level}人大"
UNRATED_CLOSED = "逾期未评价"
NOT_RATED = "未评价"
YES = "是"
NO = "否"
NONE = "—"


# The public pages (/public/)

NOT_PUBLISHED = "没有找到这个月的清单：可能尚未公布，或已撤回。"
NOT_PUBLISHED_MONTH = "{month}的清单尚未公布，或已撤回。"
NO_SUCH_PAGE = "没有这个页面。"

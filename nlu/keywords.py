"""A keyword guess at the intent, used only while Rasa is down or still starting."""

from __future__ import annotations

import re

# Ordered: the first family whose pattern matches wins.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ask_progress", re.compile(r"[Ll][Ll]\d{8}|进度|进展|处理得怎么样|办得怎么样|我的案件|我反映的")),
    ("request_human", re.compile(r"人工|工作人员|真人|客服")),
    ("cancel_booking", re.compile(r"取消.*预约|不去了")),
    ("book_reception", re.compile(r"预约|接待|见代表|约见")),
    ("ask_station_info", re.compile(r"地址|在哪|几点|开门|电话|办公时间")),
    ("greet", re.compile(r"^(你好|您好|在吗|hi|hello|哈喽)[!！。,，\s]*$", re.I)),
    ("thank", re.compile(r"^(谢谢|多谢|感谢)")),
    (
        "report_issue",
        re.compile(r"反映|投诉|举报|坏了|损坏|拖欠|噪音|扰民|垃圾|漏水|积水|违建|违章|乱|臭|堵|修|污染|安全隐患|问题"),
    ),
)


def guess_intent(text: str) -> str | None:
    stripped = text.strip()
    for intent, pattern in _PATTERNS:
        if pattern.search(stripped):
            return intent
    # Long messages that name no other need are almost always reports.
    if len(stripped) >= 40:
        return "report_issue"
    return None

"""Every sentence the bot pushes to deputies, in one place (by area)."""

from __future__ import annotations

# --- reception booking: pushes to the deputies on duty (services/reception.py)
BOOKING_NEW = "【新预约】"
BOOKING_MOVED_HERE = "【改约】由 {old} 改来"
BOOKING_BOOKED = "{head}{slot}（{station}）\n预约号 {number}\n事由：{topic}{call}\n本时段已约 {booked}/{capacity} 人。"
BOOKING_CALL_BACK = "\n需回电：{phone}"
BOOKING_CANCELLED = "【{head}】{slot} 的预约 {number}（{topic}）{what}。"
BOOKING_CANCELLED_HEAD = "取消预约"
BOOKING_MOVED_AWAY_HEAD = "改约"
BOOKING_CANCELLED_WHAT = "已取消（{reason}）"
BOOKING_MOVED_AWAY_WHAT = "已改约到 {slot}"
RECEPTION_DIGEST = "【今日接待】{slot}{kind}，{station}\n{body}"
RECEPTION_DIGEST_COUNCIL = "（议事日）"
RECEPTION_DIGEST_BOOKINGS = "共 {count} 位群众预约：\n{lines}"
RECEPTION_DIGEST_LINE = "{n}. {start} {number} {topic}{call}"
RECEPTION_DIGEST_CALL_BACK = "（回电 {phone}）"
RECEPTION_DIGEST_EMPTY = "目前暂无群众预约。"
RECEPTION_ASSIGNED = "【接待安排】您被安排在 {slot}（{station}）接待，目前已有 {count} 位群众预约。"
RECEPTION_RELEASED = "【接待安排】{slot}（{station}）的接待改由{deputies}代表负责，您无需到场。"
RECEPTION_RELEASED_OTHERS = "其他"
RECEPTION_CANCELLED = "【接待取消】{slot}（{station}）的接待取消：{reason}。已通知 {count} 位预约群众。"


# --- pushes about a case they follow (casework/notices.py)
NOTICE_FOLLOWED_CASE = "您跟进的案件 {number}（{description}）：{from_state} → {to_state}。{reason}"


# --- refusals to a deputy acting on a case (services/cases.py, services/deputies.py; `code` in brackets)
CASE_NOT_YOURS = "案件 {number} 不是您跟进的案件，请先发送“我来跟进 {number}”。"  # not_your_case
DEPUTY_UNKNOWN = "没有代码为 {code} 的代表。"  # unknown_deputy
DEPUTY_NO_CASE_NAMED = "请在后面写上案件编号，例如：我来跟进 LL20250101001。"  # no_case
DEPUTY_CASE_ENDED = "案件 {number} 已{state}，无需跟进。"  # closed
DEPUTY_CASE_TAKEN = "案件 {number} 已有代表跟进。"  # taken
DEPUTY_NOT_FOLLOWED = "您没有跟进案件 {number}。可先发送“我来跟进 {number}”。"  # not_followed
DEPUTY_NO_FOLLOWED_CASE = "您目前没有跟进中的案件。"  # no_case


# --- the deputy's own page in the console (services/deputy_page.py, casework/agenda.py)
DEPUTY_PAGE_ONLY = "这个页面只供人大代表本人使用。"
DUE_TRANSFER = "待联络站转办，{time} 前"
DUE_TRANSFER_LATE = "转办已超时（应于 {time} 前）"
DUE_REPLY = "{day} 前答复"
DUE_REPLY_SOON = "即将到期：{day} 前答复"
DUE_REPLY_LATE = "已超期（应于 {day} 前答复）"
DUE_REPLY_OVERDUE = "严重超期（应于 {day} 前答复）"
DUE_RATING = "已答复，等待群众评价"
QR_NOT_CONFIGURED = "公众号尚未配置，暂时无法生成二维码，请联系联络站工作人员。"
QR_FAILED = "暂时无法从公众号取得二维码，请稍后再试。"
QR_CARD_INVITE = "扫码联系{name}代表"
QR_CARD_HINT = "微信扫一扫，关注后直接向代表反映问题、预约接待"

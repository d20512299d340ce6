"""Every sentence shown to station staff (API details, CLI output), in one place (by area)."""

from __future__ import annotations

# --- reception booking (services/reception.py, bot/http/reception.py, bot/cli/reception.py)
SESSION_KIND_LABELS = {"weekly": "接待日", "council": "议事日", "extra": "加开接待"}
BOOKING_STATUS_LABELS = {"booked": "已预约", "cancelled": "已取消", "moved": "已改约", "closed": "接待取消"}
BOOKING_OUTCOME_LABELS = {"attended": "已到场接待", "absent": "未到场", "answered": "当场解答", "case": "转为案件办理"}
RECEPTION_ROLES_ONLY = "只有工作人员和代表可以使用接待预约接口"
# Refusals (`code` in brackets)
RECEPTION_STAFF_ONLY = "只有工作人员可以这样做。"  # forbidden_role
RECEPTION_REASON_REQUIRED = "关闭接待需要说明原因。"  # reason_required
RECEPTION_ALREADY_CLOSED = "接待 {key} 已经关闭。"  # already_closed
RECEPTION_ENDED = "接待 {key} 已经结束。"  # ended
RECEPTION_NO_SESSION = "没有接待场次 {key}。"  # not_found
RECEPTION_UNKNOWN_DEPUTIES = "没有这些代表：{codes}。"  # bad_deputy
RECEPTION_NO_DEPUTY = "请至少指定一位代表。"  # bad_deputy
RECEPTION_BAD_OUTCOME = "结果只能是：{outcomes}。"  # bad_outcome
RECEPTION_NO_BOOKING = "没有预约 {number}。"  # not_found
RECEPTION_NOT_ACTIVE = "预约 {number} 已取消或改约，无需记录结果。"  # not_active
RECEPTION_NOT_STARTED = "预约 {number} 的接待时间还没到。"  # not_started
RECEPTION_ANSWER_REQUIRED = "当场解答请写明答复内容。"  # answer_required
RECEPTION_OUTCOME_RECORDED = "预约 {number} 的结果已经记录过了。"  # outcome_recorded
RECEPTION_NOT_ON_DUTY = "只有这场接待的值班代表或工作人员可以记录结果。"  # not_on_duty
RECEPTION_DEPUTY_NOT_ON_DUTY = "代表 {code} 不在这场接待的值班名单中。"  # not_on_duty
RECEPTION_DEPUTY_REQUIRED = "这场接待有多位值班代表，请指明接待的代表：{codes}。"  # deputy_required
RECEPTION_NO_CITIZEN = "找不到这位群众的会话，无法登记案件。"  # no_citizen
# What was done
RECEPTION_CLOSED = "接待 {key} 已关闭，已通知 {count} 位预约群众。"
RECEPTION_DEPUTIES_SET = "接待 {key} 的值班代表：{deputies}。"
RECEPTION_OUTCOME_DONE = "预约 {number}：{outcome}"
RECEPTION_OUTCOME_CASE = "，已登记为案件 {case_number}"
RECEPTION_NO_SESSIONS = "（这段时间没有接待场次）"
RECEPTION_NO_BOOKINGS = "（暂无预约）"
RECEPTION_SESSION_CLOSED = "已关闭：{reason}"
RECEPTION_SLOTS = "名额 {slots}"


# --- pushes about a case (casework/notices.py)
NOTICE_TRANSFER = (
    "【转办】案件 {number}（{topic}）请贵单位办理，{reply_due} 前答复。\n问题：{description}\n地点：{place}\n{reason}"
)
NOTICE_REHANDLING = "【重新办理】群众对案件 {number} 的答复不满意，请重新办理，{reply_due} 前再次答复。\n{reason}"
NOTICE_ADDED_INFO = "【补充】案件 {number} 的群众补充了情况：{reason}"
NOTICE_SENT_BACK = "【退回】案件 {number} 的答复被退回修改。{reason}"
NOTICE_CASE = "案件 {number}：{reason}"
NOTICE_ESCALATED = "【升级】案件 {number} 已升级，请安排约见、评议或询问。{reason}"
NOTICE_PERSON_DUE_SOON = "【转人工即将超时】{who} 的人工答复承诺在 {answer_by} 到期，请尽快在工作台接管并回复。"
NOTICE_PERSON_MISSED = "【转人工已超时】{who} 的人工答复承诺已于 {answer_by} 到期，仍未答复，请立即处理。"
NOTICE_PERSON_REQUESTED = "【转人工】{who} 请求工作人员回复，已承诺 {answer_by} 前答复。\n最近留言：\n{said}"
NOTICE_SIMILAR = "【共性问题】新案件 {number}（{topic}，{place}）与在办案件 {similar} 相似，请一并研究。"
NOTICE_TRANSFER_LATE = "【超时】案件 {number} 受理已超过24小时仍未转办，请尽快处理。"
NOTICE_TRANSFER_SOON = "【提醒】案件 {number} 需在 {transfer_due} 前转办。"
NOTICE_SERIOUSLY_OVERDUE = "【严重超期】案件 {number} 已超过5个工作日仍未答复，请督办。"
NOTICE_OVERDUE = "【逾期】案件 {number} 已超过答复期限（{reply_due}），请尽快答复。"
NOTICE_REPLY_SOON = "【提醒】案件 {number} 需在 {reply_due} 前答复。"
# Dates in the pushes about a case, to every audience
NOTICE_DAY = "{month}月{day}日"
NOTICE_DAY_TIME = "{month}月{day}日 {time}"


# --- reports: figures, deputies' records (casework/metrics.py, bot/cli/reports.py)

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


# --- cases: the state labels (casework/cases.py; shown to everyone: chat, pushes, API, lists)
STATE_LABELS: dict[str, str] = {
    "received": "已受理",
    "transferred": "已转办",
    "in_progress": "办理中",
    "replied": "已答复",
    "rehandling": "重新办理",
    "closed": "已办结",
    "escalated": "已升级",
    "answered_on_spot": "当场答复",
    "rejected": "不予受理",
    "withdrawn": "已撤回",
}


# --- cases: the state machine's words (casework/lifecycle.py)
# "只有{roles}可以{verb}。", "当前状态为“{state}”，不能{verb}。"
ACTION_VERBS: dict[str, str] = {
    "assign": "调整案件分类或承办部门",
    "transfer": "转办案件",
    "acknowledge": "签收案件",
    "record_reply": "录入答复",
    "approve_reply": "审核答复",
    "send_back_reply": "退回答复",
    "rate": "评价",
    "close_unrated": "按逾期未评价办结案件",
    "close": "办结案件",
    "reject": "作不予受理处理",
    "withdraw": "撤回案件",
    "merge": "合并案件",
    "escalate": "升级案件",
    "answer_on_spot": "当场答复",
    "add_info": "补充情况",
}
ROLE_LABELS: dict[str, str] = {
    "citizen": "反映人本人",
    "staff": "工作人员",
    "department": "承办部门",
    "deputy": "人大代表",
    "admin": "管理员",
    "system": "系统",
}
ROLES_JOINER = "或"  # '承办部门或工作人员'
# How a final state reads in "案件 X 已办结，不能再评价。"
FINAL_PHRASES: dict[str, str] = {
    "closed": "已办结",
    "escalated": "已升级至上级人大",
    "rejected": "已不予受理",
    "withdrawn": "已撤回",
}
# Refusals (`code` in brackets); the citizen's own ones are in texts.citizen
CASE_REFUSED_FINAL = "案件 {number} {final}，不能再{verb}。"  # final_state
CASE_REFUSED_ROLE = "只有{roles}可以{verb}。"  # forbidden_role
CASE_REFUSED_STATE = "当前状态为“{state}”，不能{verb}。"  # wrong_state
CASE_REFUSED_NO_PENDING_REPLY = "案件 {number} 没有待审核的答复，不能{verb}。"  # no_pending_reply
CASE_REFUSED_REPLY_PENDING = "案件 {number} 已有一份答复待审核，请先审核或退回后再录入。"  # reply_already_pending
CASE_REFUSED_REASON_REQUIRED = "{what}必须填写原因。"  # reason_required
CASE_REFUSED_NO_MERGE_TARGET = "请填写要并入的案件编号。"  # bad_merge
CASE_REFUSED_MERGE_SELF = "案件 {number} 不能并入自身。"  # bad_merge
CASE_REFUSED_BAD_LEVEL = "请选择升级层级：区县或市。"  # bad_level
CASE_REFUSED_ANSWER_REQUIRED = "当场答复必须填写答复内容。"  # answer_required
# What needs a reason, in "{what}必须填写原因。"
REASON_FOR_SEND_BACK = "退回答复"
REASON_FOR_CLOSE_UNANSWERED = "案件尚未答复（当前状态为“{state}”），办结"
REASON_FOR_REJECT = "不予受理"
REASON_FOR_WITHDRAW = "撤回案件"
REASON_FOR_ESCALATE = "升级案件"


# --- cases: the reasons written in the case history (casework/cases.py, casework/lifecycle.py,
# services/deputies.py); shown in the history and quoted in pushes
EVENT_WITH_NOTE = "{base}：{note}"
EVENT_REGISTERED = "群众在线反映，预测类别：{topic}"
EVENT_ASSIGNED = "调整案件分类或承办部门"
EVENT_TRANSFERRED = "转承办部门办理"
EVENT_ACKNOWLEDGED = "承办部门已签收，开始办理"
EVENT_BY_DEPARTMENT = "承办部门"
EVENT_BY_STAFF = "工作人员"
EVENT_BY_DEPUTY = "人大代表"
EVENT_REPLY_RECORDED = "{who}提交第{number}次答复，待审核"
EVENT_REPLY_APPROVED = "第{number}次答复审核通过，已发送群众"
EVENT_REPLY_SENT_BACK = "答复退回修改：{reason}"
EVENT_RATED = "群众评价：{rating}"
EVENT_RATED_REHANDLING = "{base}，转承办部门重新办理"
EVENT_RATED_ESCALATED = "{base}（第{count}次），案件升级"
EVENT_CLOSED_UNRATED = "逾期未评价"
EVENT_CLOSED = "工作人员办结"
EVENT_CLOSED_WITH_REASON = "工作人员办结：{reason}"
EVENT_REJECTED = "不予受理：{reason}"
EVENT_WITHDRAWN = "{who}：{reason}"
EVENT_WITHDRAWN_BY_CITIZEN = "群众撤回"
EVENT_WITHDRAWN_BY_STAFF = "工作人员代群众撤回"
EVENT_MERGED = "并入 {target}"
EVENT_ESCALATED = "升级至{level}人大：{reason}"
EVENT_ANSWERED_ON_SPOT_MARK = "当场答复："  # casework/metrics.py reads the answer back after it
EVENT_ANSWERED_ON_SPOT = "{who}" + EVENT_ANSWERED_ON_SPOT_MARK + "{answer}"
EVENT_ADDED_INFO = "群众补充情况"
EVENT_DEPUTY_FOLLOWS = "代表跟进此案件"
EVENT_DEPUTY_CONTACTED = "代表已联系群众"
EVENT_DEPUTY_CONTACTED_NOTE = "代表已联系群众：{note}"


# --- cases: refusals of the case service (services/cases.py; `code` in brackets)
CASE_CHANGED = "案件 {number} 刚刚已被他人处理，请刷新后再试。"  # conflict
CASE_NOT_FOUND = "没有编号为 {number} 的案件。"  # not_found
CASE_NOT_YOUR_DEPARTMENT = "案件 {number} 不由您所在部门承办。"  # not_your_department
CASE_NO_MERGE_TARGET = "没有可并入的案件 {number}。"  # bad_merge
CASE_BAD_TOPIC = "没有“{topic}”这个类别，可选：{topics}。"  # bad_topic
CASE_TOPICS_JOINER = "、"
CASE_BAD_DEPARTMENT = "没有编码为 {code} 的部门。"  # bad_department


# --- users and tokens (services/users.py; CLI and API)
USER_BAD_TOKEN = "令牌无效或已停用"
USER_UNKNOWN = "没有用户 {name}（liaison user add 创建）"
USER_NEEDS_DEPARTMENT = "部门用户需要用 --department 指定部门，可选：{codes}"
USER_NEEDS_DEPUTY = "代表用户需要用 --deputy 指定代表，可选：{codes}"
USER_EXISTS = "用户 {name} 已存在"


# --- the `liaison` command (bot/cli/)
CLI_EMPTY_PASSWORD = "密码不能为空：请在标准输入的第一行给出密码"

# --- the console's sign-in (services/signin.py, console/)
SIGN_IN_FAILED = "用户名或密码不正确。"
SIGN_IN_REQUIRED = "请先登录。"
SIGN_IN_EXPIRED = "登录已过期，请重新登录。"
CSRF_FAILED = "页面已过期，请刷新后重试。"

# --- the console's conversations (services/watch.py, services/takeover.py, console/)
CHANNEL_LABELS = {"wechat": "微信", "telegram": "Telegram", "web": "网页", "terminal": "终端", "api": "接口"}
CITIZEN_NUMBERED = "群众 #{id}"
FLOW_LABELS = {"report": "正在反映问题", "booking": "正在预约接待", "withdraw": "正在撤回案件"}
MESSAGE_TROUBLE = {"failed": "处理出错", "nlu_pending": "理解服务暂停时收到", "rate_limited": "发送过快"}
ACTION_LABELS = {"take": "接管", "send": "人工回复", "hand_back": "交还机器人", "expire": "闲置超时，自动交还"}
CONVERSATION_NOT_FOUND = "没有这个会话，或您无权查看。"
HELD_BY_OTHER = "这个会话已由 {name} 接管。"
NOT_HOLDING = "请先接管这个会话。"
REPLY_EMPTY = "回复内容不能为空。"
REPLY_TOO_LONG = "回复内容过长（最多 {limit} 字）。"
REPLY_WAITING_WINDOW = "群众超过 48 小时未发消息，微信暂不允许主动发送；群众下次发消息后将自动送达。"
REPLY_FAILED = "发送失败，系统将自动重试：{error}"
SYSTEM_ACTOR = "系统"
STAFF_ONLY_TAKEOVER = "只有工作人员可以接管会话。"
WAITED_JUST_NOW = "刚刚"
WAITED_MINUTES = "{m} 分钟"
WAITED_HOURS = "{h} 小时 {m} 分"
WAITED_DAYS = "{d} 天 {h} 小时"
MESSAGE_STATUS_LABELS = {
    "received": "尚未处理",
    "failed": "处理出错",
    "nlu_pending": "理解服务暂停时收到",
    "rate_limited": "发送过快，未回复",
    "held": "人工处理中，机器人未回复",
    "unsupported": "暂不支持的消息类型",
    "unread": "待群众下次发消息时送达",
}

# --- NLU review (services/nlu_review.py, console/nlu.py, liaison nlu corrections)
NLU_REVIEW_STAFF_ONLY = "只有工作人员可以审核理解结果。"
NLU_REVIEW_BAD_FILTER = "未知的筛选条件。"
NLU_REVIEW_BAD_INTENT = "没有这个意图：{intent}。"
NLU_REVIEW_BAD_TOPIC = "没有这个主题：{topic}。"
NLU_REVIEW_NO_MESSAGE = "没有这条群众消息。"
NLU_REVIEW_PLACE_NOT_IN_TEXT = "标注的地点必须是消息原文中的一段文字。"
NLU_CORRECTIONS_WRITTEN = "已写入 {path}：{written} 条；{left_out} 条因过短、重复或与评测数据重合而未写入。下次 liaison nlu train 将使用它们。"

# --- the working-day calendar (casework/workdays.py, services/workdays.py: /healthz, `liaison calendar check`)
CALENDAR_BRIDGING = "放假调休"
CALENDAR_LOCAL_DAY_OFF = "本地放假"
CALENDAR_INCOMPLETE = "{year} 年的调休安排尚未配置，仅按法定节假日计算"
CALENDAR_SOURCES = {
    "chinese-calendar": "国务院公布的放假安排（chinese-calendar {version}）",
    "config.yml": "config.yml 中填写的放假安排（calendar.years）",
    "statutory": "仅法定节假日（holidays {version}）",
}
CALENDAR_HEADER = "{year} 年工作日历：{source}"
CALENDAR_DAYS_OFF = "放假（{count} 天）："
CALENDAR_WORKDAYS = "调休上班（{count} 天）："
CALENDAR_DAY = "  {day} {weekday} {name}"
CALENDAR_NO_DAYS = "  （无）"
CALENDAR_TO_DO = (
    "缺少国务院公布的 {year} 年调休放假和调休上班日期。公布后请升级 chinese-calendar，"
    "或在 config.yml 的 calendar.years.{year} 下填写 holidays（全部放假日期）和 workdays（调休上班日期）。"
)

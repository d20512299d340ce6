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
RECEPTION_CASE_PLACE = "{station}（接待时反映）"
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
NOTICE_SENT_BACK = "【退回】案件 {number} 的答复被退回，请修改后重新提交（{reply_due} 前答复）。\n退回原因：{why}"
NOTICE_CASE = "案件 {number}：{reason}"
NOTICE_REASSIGNED_TO = (
    "【改派】案件 {number}（{topic}）改由贵单位办理，{reply_due} 前答复。\n问题：{description}\n地点：{place}\n{reason}"
)
NOTICE_REASSIGNED_AWAY = "【改派】案件 {number} 已改由{department}办理，贵单位无需再办理。"
NOTICE_ESCALATED = "【升级】案件 {number} 已升级，请安排约见、评议或询问。{reason}"
NOTICE_PERSON_DUE_SOON = "【转人工即将超时】{who} 的人工答复承诺在 {answer_by} 到期，请尽快在工作台接管并回复。"
NOTICE_PERSON_MISSED = "【转人工已超时】{who} 的人工答复承诺已于 {answer_by} 到期，仍未答复，请立即处理。"
NOTICE_PERSON_REQUESTED = "【转人工】{who} 请求工作人员回复，已承诺 {answer_by} 前答复。\n最近留言：\n{said}"
NOTICE_SIMILAR = "【共性问题】新案件 {number}（{topic}，{place}）与在办案件 {similar} 相似，请一并研究。"
NOTICE_TRANSFER_LATE = "【超时】案件 {number} 受理已超过24小时仍未转办，请尽快处理。"
NOTICE_TRANSFER_SERIOUSLY_LATE = (
    "【严重超时】案件 {number} 的转办期限（{transfer_due}）已过去 {hours} 小时，仍未转办，请立即处理。"
)
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

# --- the console's figures and the months published (console/figures.py, services/figures.py)

FIGURES_FORBIDDEN = "只有工作人员和承办部门可以查看统计"
PUBLISH_FORBIDDEN = "只有工作人员可以公布或撤回清单"
FIGURE_HEADERS: dict[str, str] = {
    "group": "分组",
    "received": "受理",
    "transfers_due": "应转办",
    "transferred_on_time": "24小时内转办",
    "transfer_rate": "24小时转办率(%)",
    "answers_due": "应答复",
    "answered_on_time": "按期答复",
    "on_time_rate": "按期办理率(%)",
    "closed": "办结",
    "closed_rate": "办结率(%)",
    "rated": "已评价",
    "satisfied": "满意",
    "satisfaction_rate": "满意率(%)",
    "unrated": "逾期未评价",
    "rehandled": "重新办理",
    "escalated": "升级",
    "median_working_days": "用时中位数(工作日)",
}
FIGURES_SHEETS: dict[str, str] = {
    "department": "按承办部门",
    "station": "按联络站",
    "deputy": "按跟进代表",
    "trend": "近12个月",
}
FIGURES_SHEET_HEADING = "{month}受理案件（{sheet}），统计至 {as_of}"
FIGURES_TREND_HEADING = "{first}至{last}受理案件（按月份），统计至 {as_of}"

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
    "split": "拆分案件",
    "record_committee_action": "记录人大常委会的跟进情况",
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
CASE_REFUSED_SAME_PERSON = "案件 {number} 的这份答复是您录入的，请由另一位工作人员审核。"  # same_person
CASE_REFUSED_NO_COMMITTEE_ACTION = (
    "案件 {number} 已升级，请先记录人大常委会的跟进情况（约见、评议或询问）及结果，再办结。"  # no_committee_action
)
CASE_REFUSED_BAD_COMMITTEE_KIND = "请选择人大常委会的跟进方式：约见、评议或询问。"  # bad_committee_kind
CASE_REFUSED_COMMITTEE_OUTCOME = "请填写人大常委会{kind}的结果。"  # outcome_required
CASE_REFUSED_ASSIGN_UNCHANGED = "请选择新的类别或承办部门（与现在的相同）。"  # assign_unchanged
CASE_REFUSED_SPLIT_TOO_FEW = "拆分至少要分成两件。"  # split_too_few
CASE_REFUSED_SPLIT_PART_EMPTY = "拆分后的每一件都要写明问题内容和类别。"  # split_part_empty
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
EVENT_REGISTERED_AT_RECEPTION = "{deputy}代表接待群众时登记（预约号 {booking}），类别：{topic}"
EVENT_RECORDED_BY = "（{who} 代为录入）"
EVENT_ASSIGNED = "调整案件分类或承办部门"
EVENT_ASSIGNED_TOPIC = "类别 {before} → {after}"
EVENT_ASSIGNED_DEPARTMENT = "承办部门 {before} → {after}"
EVENT_CHANGES_JOINER = "；"
NOTHING = "（无）"
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
EVENT_CLOSED_AFTER_COMMITTEE = "人大常委会跟进后办结"
EVENT_COMMITTEE_ACTION = "人大常委会{kind}：{outcome}"
EVENT_SPLIT = "拆分为{count}件分别办理（{topics}）"
EVENT_SPLIT_INTO = "拆分为 {parts} 分别办理"
EVENT_SPLIT_PART = "{number}（{topic}）"
EVENT_SPLIT_FROM = "由案件 {number} 拆分登记，类别：{topic}"
EVENT_REJECTED = "不予受理：{reason}"
EVENT_WITHDRAWN = "{who}：{reason}"
EVENT_WITHDRAWN_BY_CITIZEN = "群众撤回"
EVENT_WITHDRAWN_BY_STAFF = "工作人员代群众撤回"
EVENT_MERGED = "并入 {target}"
EVENT_MERGED_IN = "案件 {number} 并入本案，其反映人一并关注本案的办理进展"
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
CASE_SPLIT_NEEDS_PARTS = "拆分案件请逐件写明问题内容、类别和承办部门（拆分接口）。"  # split_needs_parts
CASE_CONTACT_NONE = "（未留联系方式）"


# --- reply templates (casework/replies.py): per first-level topic, and 通用 for every topic; config.yml
# `cases.reply_templates` replaces a topic's. (title, text); 【…】 is for the handler to fill in.
REPLY_TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "通用": (
        (
            "已办结",
            "您好！您反映的问题（编号 {case_no}）已由{department}办理：【写明采取的措施和结果】。"
            "感谢您对我们工作的支持和监督。",
        ),
        (
            "解释说明",
            "您好！关于您反映的问题（编号 {case_no}），经{department}核实：【写明核实情况】。"
            "目前暂时无法解决，原因是【写明原因】，下一步将【写明后续安排】。感谢您的理解。",
        ),
    ),
    "城乡建设": (
        (
            "已维修",
            "您好！您反映的{place}的问题，{department}已安排人员现场核实并完成维修：【写明维修内容和完成时间】。"
            "如仍有问题，欢迎继续反映。",
        ),
        (
            "纳入计划",
            "您好！您反映的{place}的问题，{department}已到现场查看，已纳入【年度或季度】改造计划，"
            "预计【时间】前实施，届时会另行告知您。",
        ),
    ),
    "环境保护": (
        (
            "执法检查",
            "您好！接到您反映的{place}的问题后，{department}已派执法人员到现场检查：【写明检查情况】，"
            "已责令相关单位【写明整改要求】，并将跟踪复查。",
        ),
    ),
    "交通运输": (
        (
            "现场处置",
            "您好！您反映的{place}的交通问题，{department}已会同相关单位到现场处置：【写明采取的措施】。",
        ),
    ),
    "教育文体": (("协调处理", "您好！您反映的问题，{department}已联系相关学校或场馆了解情况：【写明处理结果】。"),),
    "劳动和社会保障": (
        (
            "立案调查",
            "您好！您反映的劳动保障问题，{department}已立案调查：【写明调查进展】。"
            "如需进一步帮助，也可以拨打 12333 咨询。",
        ),
    ),
    "商贸旅游": (("检查处理", "您好！您反映的经营问题，{department}已到现场检查：【写明检查和处理结果】。"),),
    "卫生计生": (("核查处理", "您好！您反映的问题，{department}已组织核查：【写明核查结果和处理意见】。"),),
}

REPLY_TEMPLATE_BLANKS = {"case_no": "【编号】", "department": "【承办单位】", "topic": "【类别】", "place": "【地点】"}


# --- users and tokens (services/users.py; CLI and API)
USER_BAD_TOKEN = "令牌无效或已停用"
USER_UNKNOWN = "没有用户 {name}（liaison user add 创建）"
USER_NEEDS_DEPARTMENT = "部门用户需要用 --department 指定部门，可选：{codes}"
USER_NEEDS_DEPUTY = "代表用户需要用 --deputy 指定代表，可选：{codes}"
USER_EXISTS = "用户 {name} 已存在"


# --- the `liaison` command (bot/cli/)
CLI_EMPTY_PASSWORD = "密码不能为空：请在标准输入的第一行给出密码"
CLI_CONTACT = "{number}  联系意愿：{consent}  电话：{phone}"
CLI_CONTACT_YES = "同意联系"
CLI_CONTACT_NO = "未同意联系"
CLI_SPLIT_DONE = "{number} 已拆分为 {parts}。"

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

# --- the case desk (casework/worklist.py, services/casedesk.py, console/cases.py)
CASE_NEED_LABELS = {
    "overdue": "已超期",
    "transfer_soon": "2 小时内须转办",
    "review": "答复待审核",
    "unsatisfied": "群众不满意",
    "escalated": "已升级待跟进",
    "none": "",
}
DESK_BAD_FILTER = "筛选条件无效：{name}。"
DESK_BAD_SORT = "未知的排序方式：{sort}。"
DESK_NO_DEPARTMENT = "请选择承办部门。"
TIMELINE_MESSAGE_IN = "群众留言"
TIMELINE_MESSAGE_OUT = "机器人回复"
TIMELINE_REPLY_RECORDED = "录入答复（{author}）"
TIMELINE_REPLY_REVIEWED = {"approved": "答复审核通过（{reviewer}）", "sent_back": "答复被退回（{reviewer}）"}
TIMELINE_RATING = "群众评价：{rating}"
TIMELINE_PUSH = "推送给{recipient}（{status}）"
TIMELINE_REGISTERED = "受理登记"
PUSH_STATUS_LABELS = {
    "queued": "待发送",
    "sending": "发送中",
    "retry": "稍后重试",
    "sent": "已送达",
    "failed": "发送失败",
    "waiting_window": "等待群众发消息后发送",
    "unread": "待群众下次发消息时送达",
    "no_channel": "未绑定接收渠道，未送达",
}

# --- the console's reception desk (services/reception_desk.py, console/reception.py)
RECEPTION_DESK_STAFF_ONLY = "只有工作人员可以使用接待台。"
RECEPTION_DESK_BAD_WEEK = "日期格式应为 2026-11-23。"
WAIT_STATUS_LABELS = {"waiting": "候补中", "offered": "已为其保留名额"}
CITIZEN_UNNAMED = "（未留姓名）"

# --- the console's users page (services/admin.py, console/users.py)
ADMIN_ONLY = "只有管理员可以管理用户。"
ADMIN_ACTION_LABELS = {
    "add": "新增用户",
    "disable": "停用",
    "enable": "重新启用",
    "reset_password": "重置密码",
    "reset_token": "重置接口令牌",
}
ADMIN_DETAIL_ADDED = "角色：{role}{unit}"
ADMIN_DETAIL_UNIT = "（{unit}）"
ADMIN_NAME_INVALID = "用户名须为 1 到 100 个字符，不能含空格。"
ADMIN_ROLE_INVALID = "角色只能是：{roles}。"
ADMIN_NEEDS_DEPARTMENT = "部门用户需要选择所属部门。"
ADMIN_NEEDS_DEPUTY = "代表用户需要选择对应的代表。"
ADMIN_PASSWORD_TOO_SHORT = "密码至少 {length} 位。"
ADMIN_PASSWORD_TOO_LONG = "密码不能超过 {length} 位。"
ADMIN_NO_USER = "没有这个用户。"  # not_found
ADMIN_NOT_SELF = "不能停用自己的账号。"  # self
ADMIN_ALREADY = "用户 {name} 已经是{state}状态。"  # unchanged
ADMIN_STATE_ACTIVE = "启用"
ADMIN_STATE_DISABLED = "停用"

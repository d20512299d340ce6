"""Every sentence the bot says to citizens, in one place."""

from __future__ import annotations

MENU = "您可以直接发送：\n1. 反映问题（文字、照片、位置都可以）\n2. 查询进度（发送案件编号或“我的案件”）\n3. 联络站地址和开放时间\n4. 转人工\n5. 预约见代表"

WELCOME = "您好！欢迎来到{station}（网上），您反映的问题会由人大代表和工作人员跟进。\n" + MENU

HELP = (
    "我可以帮您：\n"
    "· 反映问题：直接说明遇到的问题和地点，可附照片、位置\n"
    "· 查询进度：发送案件编号（如 {example}）或“我的案件”\n"
    "· 补充或撤回：发送“补充……”或“撤回”\n"
    "· 评价答复：收到答复后回复“满意”“基本满意”或“不满意”\n"
    "· 预约见代表：发送“我想预约见代表”或“这周四下午有代表吗”\n"
    "· 转人工：发送“人工”\n\n"
    "{station}\n地址：{address}\n开放时间：{hours}\n电话：{phone}"
)

STATION_INFO = (
    "{station}\n地址：{address}\n开放时间：{hours}\n电话：{phone}\n欢迎您来站里当面反映，也可以在这里直接留言。"
)

THANKS = "不客气！有需要随时找我们。"
GOODBYE = "再见！您反映的事情我们会持续跟进，有进展会通知您。"
OUT_OF_SCOPE = "抱歉，这个问题我回答不了。我可以帮您反映问题、查询办理进度、了解联络站信息。\n" + MENU
FALLBACK = "抱歉，我没太明白您的意思。\n" + MENU
NLU_DOWN = "系统正在启动或繁忙，暂时无法理解您的话，您的留言已保存。请回复数字选择：\n" + MENU
PENDING_USED = "好的，就按您刚才的留言来登记。"

PERSON_JOINED = "您好，联络站工作人员已接入，接下来由工作人员为您解答，请直接留言。"
PERSON_LEFT = "工作人员的解答已结束，接下来由智能助手继续为您服务。如需反映问题，直接告诉我即可。"
HUMAN = "已为您转接工作人员，您的留言都已记录。工作人员会在 {answer_by} 前回复您（工作日 9:00-17:30 值守）。"

FLOW_FAILED = "抱歉，系统刚才出了点问题，您的消息已保存，工作人员会看到。请稍后再试一次。"
RATE_LIMITED = "您发送得太快了，请稍等片刻再发。刚才的消息都已保存，工作人员可以看到。"


VOICE_NO_TEXT = "收到您的语音，但暂时无法识别内容。麻烦您用文字描述一下，谢谢！"
UNSUPPORTED = "暂时无法处理这种类型的消息，请发送文字、照片或位置。"

DEPUTIES = "本站的人大代表：\n{lines}\n如需当面反映，可在接待日到联络站找值班代表。"
NOTHING_TO_RATE = "目前没有等待您评价的答复。案件答复后，我们会请您评价。"
AFFIRM_OUT_OF_FLOW = "好的。还有什么需要帮忙的，直接告诉我。"

# --- report flow
ASK_DESCRIPTION = "请说说您遇到的问题：发生了什么、从什么时候开始、影响了谁。"
ASK_PLACE = "请问问题发生在哪里？请写明小区、路名门牌或附近的标志性地点，也可以直接发送位置。"
ASK_CONTACT = "处理过程中，是否同意工作人员联系您？\n1. 同意联系\n2. 不需要联系\n3. 匿名反映（不留任何个人信息）"
ASK_CONTACT_AGAIN = "请回复 1、2 或 3：\n1. 同意联系\n2. 不需要联系\n3. 匿名反映"
ASK_PHONE = "请留一个方便联系的手机号码（只有承办的工作人员能看到）。不想留的话回复“不留”。"
ASK_PHONE_AGAIN = "这个号码好像不完整，请发送11位手机号，或回复“不留”。"
SUMMARY = (
    "请核对您要反映的内容：\n"
    "问题：{description}\n"
    "地点：{place}\n"
    "类别：{topic}（拟转交{department}）\n"
    "联系：{contact}{attachments}{several}\n\n"
    "回复“确认”提交；回复“修改”更正；回复“取消”放弃。也可以直接发送“地点改为…”或“补充…”。"
)
SUMMARY_MAX_DESCRIPTION = 300
# A report that holds problems for several departments (handlers/report.py `several_departments`).
SEVERAL_PROBLEMS = (
    "\n\n您反映的内容里有{count}个问题，分属不同部门：\n{parts}\n"
    "提交后先登记为一件，工作人员会按问题拆分，分别转交各部门办理，新的编号会通知您。"
)
SEVERAL_PROBLEMS_PART = "{n}. {text}（{topic}，{department}）"
SEVERAL_PROBLEMS_PART_MAX = 30
CONTACT_YES = "同意联系（{phone}）"
CONTACT_NO = "不需要联系"
CONTACT_ANONYMOUS = "匿名反映"
ATTACHMENTS = "\n附件：{photos}张照片、{locations}个位置"
ASK_WHAT_TO_EDIT = "请问要修改哪一项？\n1. 问题描述\n2. 地点\n3. 联系方式"
ASK_NEW_DESCRIPTION = "请重新描述您的问题（会替换原来的描述）。"
APPENDED = "已补充到问题描述中。"
ATTACHED_PHOTO = "已收到照片（共{count}张），提交时会一并附上。"
ATTACHED_LOCATION = "已收到位置：{label}。"
ABANDONED = "好的，本次反映已取消，没有提交。需要时随时再来。"
REGISTERED = (
    "您反映的问题已受理，编号 {number}。\n"
    "我们会在24小时内转交{department}办理，{reply_due}前答复您（3个工作日内）。\n"
    "随时发送“查询 {number}”查看进度。"
)
REGISTERED_SEVERAL = "\n您反映的{count}个问题会由工作人员拆分，分别转交各部门，新的编号会另行通知您。"
SIMILAR_OFFER = "已有市民反映过类似问题，正在办理：{number}（{state}）“{summary}”。回复“关注”即可跟进该案件，办理结果会同样通知您；回复“确认”则仍单独提交。"
SIMILAR_OWN = (
    "您之前反映过类似问题，正在办理：{number}（{state}）“{summary}”。回复“关注”不再重复提交；回复“确认”则仍单独提交。"
)
FOLLOWING = "好的，已为您关注案件 {number}，办理进展和答复会通知您。发送“查询 {number}”可随时查看。"
REPORT_STARTED_WITH_MEDIA = "收到。请再用文字说说您要反映的问题，照片和位置会一并附上。"
# A message that does not answer the report's question (handlers/report.py `ask_again`): what was wanted.
CONFIRM_AGAIN = "您的反映还没有提交：回复“确认”提交；回复“修改”更正；回复“取消”放弃。"
DESCRIPTION_UNCLEAR = "还没看到问题的具体内容。"
PLACE_UNCLEAR = "“{answer}”好像不是一个地点。"
PLACE_VAGUE = "没关系，说个大概就行，比如附近的路名、小区名或标志性的建筑。"
CONFIRM_UNCLEAR = "没看明白“{answer}”的意思。"
EDIT_UNCLEAR = "请回复序号。"

# --- progress flow
CASE_STATUS = (
    "编号 {number}（{created}受理）\n"
    "状态：{state}\n"
    "类别：{topic}，承办：{department}\n"
    "问题：{description}\n"
    "进展：\n{events}"
)
# A case the citizen follows (关注) but did not report: its public summary, never its text or contact.
FOLLOWED_CASE_STATUS = (
    "编号 {number}（{created}受理，您关注的案件）\n"
    "状态：{state}\n"
    "类别：{topic}，承办：{department}\n"
    "问题摘要：{description}\n"
    "地点：{place}\n"
    "进展：\n{events}"
)
CASE_DUE = "\n预计 {reply_due} 前答复。"
# How an event reads in the progress, when its state's label does not say it (the state did not change).
PROGRESS_EVENT_LABELS = {
    "register": "群众反映，已受理",
    "merged_in": "同一问题的反映已并入本案",
    "record_committee_action": "人大常委会跟进督办",
}
CASE_NOT_FOUND = "没有找到您名下编号为 {number} 的案件，请核对编号（格式如 {example}）。"
MY_CASES = "您反映过的问题（最近{count}件）：\n{lines}\n发送编号可查看详情。"
MY_CASES_LINE = "{number}｜{state}｜{summary}"
NO_CASES = "您还没有反映过问题。直接告诉我遇到了什么问题，就可以开始反映。"

# --- rating and follow-up
ASK_RATING = "请问您对答复的评价是？请回复：满意、基本满意 或 不满意（可以在后面写上意见）。"
ALREADY_RATED = "您对案件 {number} 的评价我们已经收到了，不需要重复评价。如还有意见，可以发送“补充”加上内容。"
RATED_CLOSED = "感谢您的评价（{rating}）！案件 {number} 已办结。"
RATED_REHANDLING = "收到您的意见，很抱歉没能让您满意。案件 {number} 已退回承办部门重新办理，{reply_due}前会再次答复您。"
RATED_ESCALATED = "收到您的意见。案件 {number} 经两次办理您仍不满意，已提请人大常委会跟进督办，我们会继续告诉您进展。"
NO_OPEN_CASE = "您目前没有正在办理的案件。要反映新问题，直接告诉我遇到了什么就可以。"
ASK_ADDITION = "请在“补充”后面写上要补充的内容（案件 {number}）。"
ADDED_TO_CASE = "已把您补充的内容加入案件 {number}，承办人员会看到。"
CONFIRM_WITHDRAW = "确定要撤回案件 {number} 吗？撤回后将不再办理。回复“确认撤回”撤回，回复其他内容则保留。"
NOT_WITHDRAWN = "好的，案件 {number} 保留，继续办理。"
WITHDRAWN = "案件 {number} 已撤回。以后有需要，随时再来反映。"
# Which of several open cases (handlers/followup.py)
WHICH_CASE = "您有{count}件正在办理的案件，要{what}哪一件？请回复序号或案件编号：\n{lines}"
WHICH_CASE_WHAT = {"add": "补充到", "place": "更正", "withdraw": "撤回"}
WHICH_CASE_LINE = "{n}. {number}｜{summary}"
PICK_CASE_AGAIN = "请回复序号（1-{count}）或案件编号；回复“算了”不改了。"
CASE_UNCHANGED = "好的，案件没有改动。"
PLACE_CORRECTION = "地点更正为：{place}"
PLACE_CORRECTED = "已把更正后的地点“{place}”加入案件 {number}，承办人员会看到。"

# --- a reply that is not an answer, in the middle of a flow (handlers/detours.py)
BACK_TO_REPORT = "我们接着刚才的反映：\n"
BACK_TO_BOOKING = "我们接着刚才的预约：\n"
GREET_IN_FLOW = "您好！"
THANKS_IN_FLOW = "不客气！"
OUT_OF_SCOPE_IN_FLOW = "抱歉，这个问题我回答不了。"
QUESTION_IN_FLOW = "这个问题我暂时答不上来，需要的话可以回复“转人工”，工作人员会看到。"
HOW_LONG = "提交后，我们会在{transfer_hours}小时内转交承办部门，一般{reply_days}个工作日内答复您，最长不超过{overdue_days}个工作日。"
GOODBYE_UNFINISHED = "好的，再见！"
REPORT_PARKED = "您还有一条未提交的反映，回复“继续”接着填写。"
BOOKING_PARKED = "您还有一个未办完的预约，回复“继续”接着办理。"
PARKED_DROPPED = "好的，没提交的内容已放弃。需要时随时再来。"
TAKE_YOUR_TIME = "好的，不着急。想好了直接回复就行，刚才填的内容都保留着。"
NOTHING_TO_RESUME = "目前没有需要接着填写的内容。要反映问题，直接告诉我遇到了什么；要预约见代表，回复“预约”。"
RESUME_BUTTON = "继续"

# --- channel events (WeChat) and deputies in the chat
DEPUTY_WELCOME = (
    "您好！您正在联系 {name} 代表（{level}人大代表，{constituency}）。\n"
    "请直接说说您要反映的问题，可附照片、位置，登记后由{name}代表跟进。\n" + MENU
)
EVENT_OTHER = "收到。您可以直接发送文字、照片或位置反映问题，或点击下方菜单。"
BIND_CODE_INVALID = "绑定码无效或已过期，请向联络站工作人员重新获取。"
DEPUTY_BOUND = (
    "绑定成功：{name}代表。您跟进的案件提醒会发到这里。\n"
    "可直接回复：\n· 我来跟进 案件编号\n· 已联系（可附情况）\n· 当场答复 答复内容"
)
DEPUTY_FOLLOWING = "好的，您已跟进案件 {number}，办理进展会通知您。"
DEPUTY_ALREADY_FOLLOWING = "您已在跟进案件 {number}。"
DEPUTY_CONTACT_NOTED = "已记录：您已联系案件 {number} 的群众。"
DEPUTY_ASK_ANSWER = "请在“当场答复”后面写上答复内容，例如：当场答复 已联系社区，本周内修复。"
DEPUTY_ANSWERED = "已记录您对案件 {number} 的当场答复，并已转告群众、请其评价。"

# --- reception booking (handlers/booking.py)
BOOKING_MATCHED = "{asked}可以预约的接待时段："
BOOKING_NEAREST = "近期可以预约的接待时段："
BOOKING_NO_MATCH = "{asked}没有可预约的接待。最近可以预约的时段："
BOOKING_PAST = "{asked}已经过去了。最近可以预约的时段："
BOOKING_FULL = "{slot}已经约满。回复“候补”可以排队，有人取消时按顺序通知您；也可以选择其他时段："
BOOKING_WEEK_TAKEN = (
    "您在{week}这一周已有预约 {number}（{slot}），每人每周限约一次，如需换时间请回复“改约”。其他周可以预约的时段："
)
BOOKING_WEEK_TAKEN_ANY = "您要约的那一周已有预约（每人每周限约一次），如需换时间请回复“改约”。其他周可以预约的时段："
BOOKING_SLOT_LINE = "{n}. {slot}，{deputies}代表{kind}（余{free}个名额）"
BOOKING_COUNCIL = "·议事日"
BOOKING_CHOOSE = "请回复序号选择；也可以直接说想约的时间，如“周四下午”“下周二上午”。回复“取消”退出。"
BOOKING_NONE = "未来{weeks}周暂无可预约的接待时段。您可以拨打联络站电话 {phone} 咨询，也可以直接在这里留言反映问题。"
BOOKING_PICK_AGAIN = "请回复列表中的序号（1-{count}），或者说说想约的时间，如“周四下午”。回复“取消”退出。"
BOOKING_ASK_TOPIC = "您选择了 {slot}。\n请用一句话说说想和代表谈什么事情。"
BOOKING_ASK_PHONE = "需要代表或工作人员回电的话，请留一个手机号（只有值班代表和工作人员能看到）；不需要请回复“不用”。"
BOOKING_ASK_PHONE_AGAIN = "请发送11位手机号，或回复“不用”。"
BOOKING_NO_CALLBACK = "不需要"
BOOKING_SUMMARY = (
    "请确认预约：\n"
    "时间：{slot}\n"
    "地点：{station}（{address}）\n"
    "接待代表：{deputies}\n"
    "事由：{topic}\n"
    "回电：{phone}\n\n"
    "回复“确认”预约；回复“重选”换时间；回复“取消”放弃。"
)
BOOKING_WAIT_SUMMARY = (
    "请确认排队候补：\n"
    "时间：{slot}\n"
    "事由：{topic}\n"
    "回电：{phone}\n"
    "有人取消时按排队顺序通知您，名额会为您保留一段时间。\n\n"
    "回复“确认”排队；回复“重选”换时间；回复“取消”放弃。"
)
BOOKING_CHANGE_SUMMARY = (
    "请确认改约：\n"
    "原时间：{old}（预约号 {number}）\n"
    "新时间：{slot}\n"
    "接待代表：{deputies}\n\n"
    "回复“确认”改约；回复“重选”换时间；回复“取消”保留原预约。"
)
BOOKING_DONE = (
    "预约成功！预约号 {number}\n"
    "时间：{slot}\n"
    "地点：{station}，{address}\n"
    "接待代表：{deputies}\n"
    "前一天和开始前{remind_hours}小时会提醒您。如需改约或取消，请在开始{hours}小时前回复“改约”或“取消预约”。"
)
BOOKING_MOVED = (
    "改约成功！原预约 {old} 已取消，新预约号 {number}\n时间：{slot}\n地点：{station}，{address}\n接待代表：{deputies}"
)
BOOKING_WAITING = "已为您排队候补 {slot}，目前排第 {place} 位。有空位时会马上通知您，请留意消息。"
BOOKING_TAKEN_NOW = "很抱歉，{slot}刚刚被约满了。回复“候补”可以排队，或选择其他时段："
BOOKING_SLOT_GONE = "很抱歉，这个时段刚刚取消或已过。请另选时间："
BOOKING_ROOM_NOW = "这个时段刚好空出了名额，可以直接预约："
BOOKING_ONE_A_WEEK = "每位群众每周只能预约一次，您在{week}这一周已有预约 {number}（{slot}）。如需换时间，请回复“改约”。"
BOOKING_ABANDONED = "好的，本次预约已取消，没有提交。需要时随时再约。"
BOOKING_UNCHANGED = "好的，您的预约保持不变。"
BOOKING_CHANGE_ABANDONED = "好的，原预约 {number}（{slot}）保留不变。"
NO_ACTIVE_BOOKING = "您目前没有有效的预约。如需预约见代表，请回复“预约”。"
BOOKING_WHICH = "您有以下预约，请回复序号选择：\n{lines}"
BOOKING_LINE = "{n}. {slot}（预约号 {number}）"
BOOKING_WAIT_LINE = "{n}. {slot}（候补排队）"
BOOKING_CONFIRM_CANCEL = "确定取消 {slot} 的预约（{number}）吗？回复“确认取消”取消，回复其他内容则保留。"
BOOKING_CANCELLED = "已取消预约 {number}（{slot}）。感谢告知，名额会让给其他群众。"
BOOKING_KEPT = "好的，预约 {number} 保留。"
BOOKING_WAIT_WITHDRAWN = "已取消您对 {slot} 的候补排队。"
BOOKING_TOO_LATE = "距离接待开始已不足{hours}小时，无法在线取消或改约。如确实不能到场，请拨打联络站电话 {phone} 告知。"
BOOKING_CHANGE_WHEN = "要把 {slot} 的预约（{number}）改到什么时间？"
BOOKING_OFFER_TAKEN = "预约成功！预约号 {number}\n时间：{slot}\n地点：{station}，{address}\n接待代表：{deputies}"
BOOKING_OFFER_DECLINED = "好的，名额已让给下一位。需要时随时再约。"
BOOKING_NO_OFFER = "您目前没有待确认的候补名额。"
BOOKING_OFFER_EXPIRED = "很抱歉，为您保留的名额已过确认时间，已让给下一位。如仍需要，请回复“预约”另选时间。"
BOOKING_PAST_NO_YEAR = "{asked}今年已经过去了，请问您想约哪一天？最近可以预约的时段："
MY_BOOKINGS = "您的预约：\n{lines}\n如需改约或取消，请回复“改约”或“取消预约”。"
# A message that does not answer the booking's question (handlers/booking.py `ask_again`)
BOOKING_TOPIC_UNCLEAR = "请用一句话说说想和代表谈的事情，比如“小区停车难”。"
BOOKING_CONFIRM_UNCLEAR = "没看明白“{answer}”的意思。"
BOOKING_CONFIRM_AGAIN = "预约还没有提交：回复“确认”预约；回复“重选”换时间；回复“取消”放弃。"
BOOKING_CANCEL_AGAIN = "请回复“确认取消”取消 {slot} 的预约（{number}），或回复“保留”。"
BOOKING_ASKED_DAY = "{month}月{day}日（{weekday}）"
BOOKING_ASKED_DAYS = "{month}月{day}日至{last_month}月{last_day}日"
BOOKING_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
# Buttons (the words are understood as typed text too: see the patterns of handlers/booking.py)
BOOKING_BUTTON_BOOK = "预约"
BOOKING_BUTTON_CHANGE = "改约"
BOOKING_BUTTON_WAIT = "候补"
BOOKING_BUTTON_NO_PHONE = "不用"
BOOKING_CANCEL_BUTTONS = ("确认取消", "保留")
BOOKING_CONFIRM_BUTTONS = ("确认", "重选", "取消")

# --- reception booking: refusals (services/reception.py; `code` in brackets)
BOOKING_REFUSED_SLOT_GONE = "这个时段已经取消或已过，请另选时间。"  # slot_gone
BOOKING_REFUSED_NOT_FOUND = "没有找到您的预约 {number}。"  # not_found
BOOKING_REFUSED_NO_ACTIVE = "没有找到您的有效预约 {number}。"  # not_found (moving)
BOOKING_REFUSED_SAME_SLOT = "新时间和原来的一样，不用改约。"  # same_slot
BOOKING_REFUSED_WEEK_TAKEN = "每位群众每周只能预约一次，您这一周已有预约。"  # week_taken
BOOKING_REFUSED_WEEK_TAKEN_OFFER = "每位群众每周只能预约一次，您这一周已有预约，名额已让给下一位。"  # week_taken
BOOKING_REFUSED_FULL = "这个时段刚刚约满了。"  # full
BOOKING_REFUSED_CHANGED = "您的预约刚刚已有变动，请查看后再试。"  # changed
BOOKING_REFUSED_NOT_ACTIVE = "预约 {number} 已经取消或改约。"  # not_active
BOOKING_REFUSED_HAS_ROOM = "这个时段还有空位，可以直接预约。"  # has_room
BOOKING_REFUSED_OFFER_EXPIRED = "很抱歉，为您保留的名额已过确认时间，已让给下一位。"  # offer_expired
BOOKING_REFUSED_STARTED = "接待已经开始或结束，无法再取消或改约。"  # started
BOOKING_REFUSED_TOO_LATE = "距离接待开始已不足{hours}小时，无法在线取消或改约。"  # too_late
BOOKING_CANCEL_REASON = "群众取消"
BOOKING_CANCEL_REASON_REMINDER = "群众回复提醒取消"
BOOKING_CHANGE_REASON = "改约"

# --- reception booking: pushes to citizens (services/reception.py)
BOOKING_BUTTONS = ("取消",)
OFFER_BUTTONS = ("接受", "放弃")
BOOKING_REMIND_DAY_BEFORE = (
    "【接待提醒】您预约了明天 {slot} 到{station}与{deputies}代表见面（预约号 {number}）。\n"
    "地址：{address}\n如不能到场，请回复“取消”。"
)
BOOKING_REMIND_HOURS_BEFORE = (
    "【接待提醒】您预约的接待今天 {start} 开始（预约号 {number}），地址：{address}。\n"
    "如临时不能到场，请回复“取消”，名额会让给排队的群众。"
)
BOOKING_SESSION_CLOSED = "很抱歉，您预约的 {slot} 接待因“{reason}”取消（预约号 {number}）。如需另约时间，请回复“预约”。"
BOOKING_WAIT_CLOSED = "很抱歉，您排队候补的 {slot} 接待因“{reason}”取消。如需另约时间，请回复“预约”。"
BOOKING_DEPUTIES_CHANGED = "您预约的 {slot} 接待（预约号 {number}）改由{deputies}代表接待，时间地点不变。"
BOOKING_OFFER = (
    "您排队候补的 {slot}（{station}）有空位了！名额为您保留到 {month}月{day}日 {time}："
    "回复“接受”确认预约，回复“放弃”让给下一位。"
)
BOOKING_OFFER_LAPSED = "您候补的 {slot} 名额已过确认时间，已让给下一位。如仍需要，请回复“预约”另选时间。"
BOOKING_CASE_OPENED = (
    "您在 {slot} 接待中反映的问题已登记为案件 {case_number}，由{deputy}代表跟进，"
    "办理进展会通知您。发送“查询 {case_number}”可随时查看。"
)
SESSION_CLOSED_REASONS = {"holiday": "法定节假日", "council_day": "当天为议事日，改在议事日接待"}
BOOKING_CASE_NOTE = "\n接待记录：{note}"
BOOKING_ON_DUTY = "值班"

# --- pushes about a case (casework/notices.py)
NOTICE_REPLY_HEAD = "您反映的问题有了答复"
NOTICE_ON_SPOT_HEAD = "代表当场答复了您反映的问题"
NOTICE_REPLY_READY = "{head}（编号 {number}）：\n{reply}\n\n您对这次答复满意吗？请回复“满意”“基本满意”或“不满意”，也可以在后面写上您的意见。"
NOTICE_REPLY_TO_FOLLOWER = "您关注的案件 {number} 有了答复：\n{reply}"
RATING_BUTTONS = ("满意", "基本满意", "不满意")
NOTICE_TRANSFERRED = "您反映的问题（编号 {number}）已转交{department}办理，预计 {reply_due} 前答复您。"
NOTICE_IN_PROGRESS = "{department}已开始办理您反映的问题（编号 {number}）。"
NOTICE_ESCALATED = "您反映的问题（编号 {number}）已提请人大常委会跟进督办，我们会继续告诉您进展。"
NOTICE_REJECTED = "很抱歉，您反映的问题（编号 {number}）不予受理，原因：{why}。如有疑问请回复“人工”。"
NOTICE_CLOSED_UNRATED = "您反映的问题（编号 {number}）已答复，7天内没有收到您的评价，案件已办结。感谢您的参与！"
NOTICE_MERGED = (
    "您反映的问题（编号 {number}）与案件 {merged_into} 是同一问题，已并入该案件一并办理，进展和答复会继续通知您。"
    "发送“查询 {merged_into}”可随时查看。"
)
NOTICE_CLOSED = "您反映的问题（编号 {number}）已办结{why}。感谢您的参与！"
NOTICE_CLOSED_WHY = "：{why}"
NOTICE_STATE = "您反映的问题（编号 {number}）状态更新为“{state}”。"
# After escalation: what the standing committee did (约见 / 评议 / 询问), and its outcome.
COMMITTEE_DONE = {
    "约见": "人大常委会约见了承办部门负责人",
    "评议": "人大常委会对承办部门的办理情况进行了评议",
    "询问": "人大常委会就此事向承办部门提出了询问",
}
NOTICE_COMMITTEE_ACTION = (
    "您反映的问题（编号 {number}）有了新进展：{done}。\n结果：{outcome}\n后续进展我们会继续告诉您。"
)
NOTICE_COMMITTEE_ACTION_TO_FOLLOWER = "您关注的案件 {number} 有了新进展：{done}。\n结果：{outcome}"
# A case holding several problems, split into one case per problem (each for its own department).
NOTICE_SPLIT = (
    "您反映的问题（编号 {number}）涉及多个方面，为了分别交给相应部门办理，已拆分为{count}件：\n{lines}\n"
    "各件的办理进展和答复会分别通知您，发送“查询 编号”可随时查看。"
)
NOTICE_SPLIT_TO_FOLLOWER = "您关注的案件 {number} 已拆分为{count}件分别办理：\n{lines}\n发送“查询 编号”可随时查看。"
NOTICE_SPLIT_LINE = "· {number}（{topic}）：{summary}"
NOTICE_RATING_REMINDER = "您反映的问题（编号 {number}）已答复，还没收到您的评价。请回复“满意”“基本满意”或“不满意”，{deadline}后将按未评价办结。"

# --- refusals of the state machine that only a citizen meets (casework/lifecycle.py; `code` in brackets)
CASE_REFUSED_ALREADY_RATED = "案件 {number} 的本次答复已经评价过，不能重复评价。"  # already_rated
CASE_REFUSED_NOT_OWN = "案件 {number} 不是您反映的，您不能{verb}。"  # not_own_case
CASE_REFUSED_BAD_RATING = "请选择评价：满意、基本满意或不满意。"  # bad_rating

# --- reception booking: how a slot reads, in every audience's texts (casework/bookings.py)
SLOT_LABEL = "{month}月{day}日（{weekday}）{start}-{end}"  # 11月26日（周四）14:30-15:00

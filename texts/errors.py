"""What API and console callers (staff, departments, deputies, channel integrations) are told when a
request is refused: the default message of each error class in `casework.errors`.

A refusal raised by a rule usually carries its own, more precise sentence; these are the fallbacks
and the messages of the doors themselves (a body that is not JSON, a parameter out of range...).
"""

from __future__ import annotations

ERROR = "请求无法处理。"
IGNORED = "暂不支持这类消息，已忽略。"
MALFORMED = "请求内容格式有误，无法解析。"
MALFORMED_JSON = "请求内容不是有效的 JSON。"
INVALID = "请求参数有误。"
INVALID_FIELDS = "请求参数有误：{fields}。"
INVALID_TEXT = "内容含有无法保存的字符（如空字符或不成对的代理字符）。"
INVALID_ID = "标识含有无法保存的字符，或超过 {limit} 个字符。"
INVALID_POSITION = "位置无效：纬度应在 -90 到 90 之间，经度应在 -180 到 180 之间。"
FORGED = "签名或密钥校验失败，请求已拒绝。"
STALE_REQUEST = "请求的时间戳与服务器时间相差超过 5 分钟，请求已拒绝。"
REPLAYED = "该签名已用于另一条消息，疑似重放，请求已拒绝。"
UNAUTHENTICATED = "需要登录或提供有效的密钥。"
FORBIDDEN = "您没有权限进行此操作。"
NOT_FOUND = "没有找到请求的内容。"
METHOD_NOT_ALLOWED = "不支持该请求方法。"
REFUSED = "当前状态下不能进行此操作。"
CONFLICT = "内容刚刚已被他人修改，请刷新后再试。"
TOO_LARGE = "请求内容超过 {limit} KB 上限。"
NOT_CONFIGURED = "该渠道尚未配置，暂不可用。"
TOO_MANY_ATTEMPTS = "登录失败次数过多，请 {minutes} 分钟后再试。"
UNAVAILABLE = "服务暂时不可用，请稍后再试。"
TRY_LATER = "该用户的消息正在处理中，请 {seconds} 秒后重新发送这条消息。"
BAD_YEAR = "年份应在 2000 到 2100 之间。"
WRONG_CHANNEL_KEY = "缺少或错误的渠道密钥（X-Channel-Key）。"
LOCAL_TRIAL_ONLY = "未设置 LIAISON_API_KEY 或 LIAISON_API_KEYS 时，只接受本机试用的请求。"
SIGNED_CHANNEL = "{channel} 渠道的消息只能由该渠道自己的接口（带平台签名）送达，不能通过 /api/messages 代为发送。"
KEY_NOT_FOR_CHANNEL = "该渠道密钥无权代表 {channel} 渠道发送消息。"
METRICS_LOCAL_ONLY = "运行指标只对本机开放；其他地址需在 Authorization 头中提供 LIAISON_METRICS_TOKEN。"
TOKEN_REQUIRED = "需要登录：请在 Authorization 头中提供令牌（liaison user add 生成）"
TOKEN_INVALID = "令牌无效或已停用"
STAFF_ONLY = "只有工作人员可以查看"

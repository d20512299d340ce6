"""The WeChat official account door: the server URL (webhook), the outbound API, the push sender.

webhook   GET/POST /wechat: verify, open, hand to the Dispatcher, answer within 5 seconds
protocol  signatures, safe mode, safe XML, message -> Inbound (no business rules)
api       wechatpy's client, its access token shared in Redis
sender    customer-service and template messages for the push queue
commands  QR codes for deputies, the menu, deputies' bind codes
"""

from bot.channels.wechat.protocol import Delivery, Protocol, Refused
from bot.channels.wechat.webhook import MAX_BODY_BYTES, WeChatDoor, router

__all__ = ["MAX_BODY_BYTES", "Delivery", "Protocol", "Refused", "WeChatDoor", "router"]

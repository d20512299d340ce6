import re

from handlers.events import DEPUTY_SCENE
from services import deputy_page


def test_the_card_carries_the_scene_the_channel_door_reads_back():
    assert deputy_page.SCENE_PREFIX == DEPUTY_SCENE


def test_the_qr_code_is_drawn_as_a_scalable_svg_and_a_png():
    svg = deputy_page.qr_svg("http://weixin.qq.com/q/deputy:wang-min")
    assert svg.startswith("<svg") and re.search(r'viewBox="0 0 \d+ \d+"', svg)
    assert svg != deputy_page.qr_svg("http://weixin.qq.com/q/deputy:li-jianguo")
    assert deputy_page.qr_png("http://weixin.qq.com/q/deputy:wang-min")[:8] == b"\x89PNG\r\n\x1a\n"

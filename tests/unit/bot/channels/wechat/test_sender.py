"""Template fields within WeChat's lengths, and the account's settings in config.yml."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.channels.wechat.commands import menu_json
from bot.channels.wechat.sender import fit, template_data
from settings.deployment import WeChatConfig, WeChatTemplate

FACTS = {
    "text": "您反映的问题（编号 LL20261123001）已转交区住房和城乡建设局办理，预计 11月26日 前答复您。",
    "case_no": "LL20261123001",
    "state": "已转办",
    "topic": "城乡建设",
    "time": "2026年11月23日 10:00",
    "title": "案件进展",
}


def test_fields_are_cut_to_their_types_length():
    template = WeChatTemplate(
        template_id="T",
        fields={
            "thing1": "{text}",
            "character_string2": "{case_no}{case_no}{case_no}",
            "phrase3": "{state}",
            "first": "{title}：{text}",
            "remark": {"value": "{text}", "max_length": 10},
        },
    )
    data = {k: v["value"] for k, v in template_data(template, FACTS).items()}
    assert len(data["thing1"]) == 20 and data["thing1"].endswith("…")
    assert data["character_string2"] == ("LL20261123001" * 3)[:32]
    assert data["phrase3"] == "已转办"
    assert data["first"].startswith("案件进展：您反映的问题") and len(data["first"]) <= 200
    assert len(data["remark"]) == 10


def test_fit_keeps_one_line():
    assert fit("a\nb\t\x00c", 20) == "a b c"
    assert fit("一二三四五六", 4) == "一二三…"
    assert fit("123456", 4, ellipsis=False) == "1234"


def test_templates_name_only_known_facts():
    with pytest.raises(ValidationError):
        WeChatTemplate(template_id="T", fields={"thing1": "{secret}"})
    with pytest.raises(ValidationError):
        WeChatTemplate(template_id="T", fields={"thing1": "{text.__class__}"})


def test_the_menu_follows_wechats_limits():
    config = WeChatConfig()
    assert menu_json(config.menu)["button"][2]["sub_button"][0] == {
        "type": "click",
        "name": "预约接待",
        "key": "booking",
    }
    with pytest.raises(ValidationError):
        WeChatConfig(menu=[{"name": n, "key": "report"} for n in ("一", "二", "三", "四")])
    with pytest.raises(ValidationError):
        WeChatConfig(menu=[{"name": "反映问题的入口在这里", "key": "report"}])
    with pytest.raises(ValidationError):
        WeChatConfig(menu=[{"name": "反映", "key": "unknown"}])

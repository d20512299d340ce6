"""Masking identities in texts: every form of phone number, ID-card numbers, people's names found by the
tagger and the patterns that introduce them, addresses below the street, and what a stranger may read of
someone's report."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework import privacy
from casework.privacy import (
    find_names,
    mask_address,
    mask_name,
    mask_phone,
    mask_text,
    person_names,
    public_line,
    public_summary,
    street_level,
    summary,
)

DEPUTIES = frozenset({"李建国", "王敏"})


@pytest.mark.parametrize(
    ("written", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("138.1234.5678", "138****5678"),
        ("1381-234-5678", "138****5678"),
        ("+86 138 1234 5678", "+86 138****5678"),
        ("+86-13812345678", "+86-138****5678"),
        ("+8613812345678", "+86138****5678"),
        ("8613812345678", "86138****5678"),
        ("008613812345678", "0086138****5678"),
        ("(+86)13812345678", "(+86)138****5678"),
        ("（+86）138 1234 5678", "（+86）138****5678"),
        ("１３８１２３４５６７８", "１３８****５６７８"),
        ("0571-8888 1234", "0571-****1234"),
        ("0571-88881234", "0571-****1234"),
        ("057188881234", "0571****1234"),
        ("(010)12345678", "(010)****5678"),
        ("（010）12345678", "（010）****5678"),
        ("010-1234-5678", "010-****5678"),
        ("021 6666 8888", "021 ****8888"),
        ("+86 571 8888 1234", "+86 571 ****1234"),
        ("0571-8888 1234转801", "0571-****1234转801"),
        ("8888-1234转567", "****1234转567"),
        ("8888-1234 分机 12", "****1234 分机 12"),
    ],
)
def test_every_form_of_phone_number_is_masked(written, masked):
    assert mask_text(written) == masked
    assert mask_text(f"有事打{written}找我") == f"有事打{masked}找我"


@pytest.mark.parametrize(
    ("written", "masked"),
    [
        ("电话：88881234", "电话：****1234"),
        ("座机 8888 1234", "座机 ****1234"),
        ("联系方式是6666-8888", "联系方式是****8888"),
        ("手机号码 138 1234 5678", "手机号码 138****5678"),
        ("tel: 5551234567", "tel: ****4567"),
    ],
)
def test_a_number_after_a_word_that_says_phone_is_masked(written, masked):
    assert mask_text(written) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2025-2026年度的物业费",
        "工资3000-5000元，拖欠了13800元",
        "案件编号 LL20261129001",
        "2026年11月29日14:30，下午3点",
        "订单号123456789012345678901",
        "幸福路18号3栋2单元501室",
        "12345热线",
    ],
)
def test_numbers_that_are_no_phone_or_id_stay(text):
    assert mask_text(text) == text


# What a number is written with, but digits: phone words, separators, brackets, country and extension marks.
NOT_DIGITS = st.text(
    st.sampled_from(list("电话手机座机号码转分机extEXT+＋()（）-－—.．· \u3000XxＸｘ*联系方式拨打telTELphone王小明"))
)


@given(NOT_DIGITS)
def test_no_number_is_found_in_a_text_without_a_digit(text):
    """Masking numbers skips a text with no digit (privacy._DIGIT): every number pattern needs one."""
    patterns = (
        privacy.ID_CARD,
        privacy.OLD_ID_CARD,
        privacy.MOBILE,
        privacy.LANDLINE,
        privacy.LOCAL_WITH_EXTENSION,
        privacy.AFTER_PHONE_WORD,
    )
    assert not any(pattern.search(text) for pattern in patterns)


# What an address is written with, but digits and the units a number in words or a letter comes before.
NOT_ADDRESS = st.text(st.sampled_from(list("一二三四五六七八九十百零〇两ABCxyzＡｚ-－之#＃*楼层房户院元 幸福路")))


@given(NOT_ADDRESS)
def test_no_address_part_is_found_in_a_text_without_a_digit_or_a_unit(text):
    """Masking addresses skips a text with neither (privacy._MAY_HOLD_ADDRESS): every part needs one."""
    assert not any(pattern.search(text) for pattern in (*privacy.ADDRESS_PARTS, privacy._BARE_ROOM))
    assert mask_address(text) == text and street_level(text) == " ".join(text.split()).strip(" ,，、")


def test_id_card_numbers_are_masked_old_and_new_with_an_x():
    assert mask_text("身份证110101199003071234") == "身份证110101********1234"
    assert mask_text("身份证号11010119900307123X，") == "身份证号110101********123X，"
    assert mask_text("身份证号11010119900307123x") == "身份证号110101********123x"
    assert mask_text("证件 110101 19900307 123X") == "证件 110101********123X"
    assert mask_text("老身份证110101900307123") == "老身份证110101******123"
    # A card number that holds what looks like a mobile (13...) is still one card number.
    assert mask_text("130102199003071388") == "130102********1388"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("我叫王小明，住在阳光小区3栋", "我叫王**，住在阳光小区3栋"),
        ("联系人李华，电话13812345678", "联系人李*，电话138****5678"),
        ("联系人：赵敏", "联系人：赵*"),
        ("姓名 钱多多", "姓名 钱**"),
        ("反映人：欧阳娜娜", "反映人：欧***"),
        ("我叫小红", "我叫小*"),
        ("我是张伟，幸福里小区5栋的居民", "我是张*，幸福里小区5栋的居民"),
        ("隔壁的刘德华天天半夜唱歌", "隔壁的刘**天天半夜唱歌"),
        ("包工头陈大海拖欠工资三个月", "包工头陈**拖欠工资三个月"),
        ("老板娘林美玲不给退押金", "老板娘林**不给退押金"),
        ("我儿子叫张子涵，在实验小学读书", "我儿子叫张**，在实验小学读书"),
        ("请找何平", "请找何*"),
        ("😀我叫王小明😀", "😀我叫王**😀"),
        ("业主王小明🙏电话138.1234.5678🙏", "业主王**🙏电话138****5678🙏"),
        ("Hi，I am 王小明, call me at +86 138 1234 5678!", "Hi，I am 王**, call me at +86 138****5678!"),
    ],
)
def test_names_written_in_the_text_are_found_and_masked(text, masked):
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "路灯坏了三盏，晚上很黑，谢谢您",
        "我是阳光小区的业主",
        "向阳花园门口的井盖丢了",
        "石榴路和云杉路路口的红绿灯坏了，车辆左转很危险",
        "本人住在幸福路，本人家里漏水",
        "王代表和张师傅都来看过",
        "我姓王",
        "许可证齐全，文明施工，高峰时段",
        "杨家和范家两户都反映过，李姓业主也说过",
    ],
)
def test_words_that_only_look_like_names_stay(text):
    assert mask_text(text) == text


def test_deputies_names_stay_and_known_names_are_masked_wherever_they_appear():
    text = "李建国代表和王敏代表来看过，邻居王小明说王敏代表会帮忙"
    assert mask_text(text, public=DEPUTIES) == "李建国代表和王敏代表来看过，邻居王**说王敏代表会帮忙"
    assert find_names(text, DEPUTIES) == ["王小明"]
    # A name the caller knows (the citizen's, the NLU's) is masked even where the tagger does not see one.
    assert mask_text("阿强反映：阿强家楼下很吵", names=["阿强", None, "王敏"], public=DEPUTIES) == (
        "阿*反映：阿*家楼下很吵"
    )


def test_a_phone_and_a_name_inside_mixed_text_with_emoji():
    text = "🚧幸福路18号🚧 修了三个月！！联系人：王建军📞0571-8888 1234 / 手机+86 139.8765.4321，ID 11010119900307123X"
    assert mask_text(text) == (
        "🚧幸福路18号🚧 修了三个月！！联系人：王**📞0571-****1234 / 手机+86 139****4321，ID 110101********123X"
    )


def test_the_citizens_own_name_and_phone_fields():
    assert mask_phone("13812348000") == "138****8000"
    assert mask_phone("+86 138-1234-8000") == "138****8000"
    assert mask_phone("0000-12345678") == "000****5678"
    assert mask_phone("12345") == "****"
    assert mask_phone(None) == mask_phone("") == ""
    assert mask_name("张三") == "张*"
    assert mask_name("王小明") == "王**"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("张") == "*"
    assert mask_name(None) == ""


def test_a_summary_is_cut_after_masking_and_never_shows_half_a_number():
    assert summary("很长" * 100, limit=10) == "很长很长很长很长很…"
    text = "幸福路路灯坏了，" * 9 + "电话13812345678"
    cut = summary(text, limit=78)
    assert "1381234" not in cut and cut.endswith("…") and len(cut) == 78
    named = "幸福路的路灯坏了。" * 3 + "我叫王小明"
    assert "王小明" not in summary(named, limit=29)
    assert summary("我叫\n王小明，  电话 13812345678") == "我叫 王**， 电话 138****5678"


def test_what_a_stranger_reads_of_a_report():
    assert street_level("阳光小区3栋2单元501室") == "阳光小区"
    assert street_level("望江路56号门口") == "望江路"
    assert street_level("和平路18号3栋") == "和平路"
    assert street_level("幸福里小区十二栋") == "幸福里小区"
    assert street_level("人民公园北门") == "人民公园北门"
    shown = public_summary("我叫王小明，阳光小区3栋2单元501室门口的路灯坏了，电话13812345678", limit=60)
    assert shown == "我叫王**，阳光小区*栋*单元*室门口的路灯坏了，电话138****5678"


def test_the_nlus_person_entities_that_name_someone():
    assert person_names(["王小明", "王代表", "张师傅", "李", "王小明", "Tom", " 李华 "]) == ("王小明", "李华")


@pytest.mark.parametrize(
    ("written", "masked"),
    [
        ("阳光小区3栋2单元501室门口", "阳光小区*栋*单元*室门口"),
        ("望江路56号门口的路灯", "望江路*号门口的路灯"),
        ("和平路88-2号", "和平路*号"),
        ("幸福里小区十二栋三单元", "幸福里小区*栋*单元"),
        ("锦绣花园5号楼302", "锦绣花园*号楼*"),
        ("金桥大厦A座1203", "金桥大厦*座*"),
        ("时代广场B栋12楼", "时代广场*栋*楼"),
        ("南苑3#楼下", "南苑*#楼下"),
        ("东城小区3-2-501", "东城小区*"),
        ("人民路12弄7号", "人民路*弄*号"),
        ("石桥村3组", "石桥村*组"),
        ("住在1202房", "住在*房"),
        ("西湖区北山街道保俶路", "西湖区北山街道保俶路"),
    ],
)
def test_addresses_are_starred_below_the_street(written, masked):
    assert mask_address(written) == masked


@pytest.mark.parametrize(
    "text",
    [
        "11月5号那天路灯就坏了",
        "五月三号开始施工",
        "地铁3号线出口",
        "楼高两层，住着三户人家",
        "请在12号前答复",
        "案件LL20261103001号已办结",
        "2026-11-05 晚上",
        "人民路与解放路交叉口往北50米",
    ],
)
def test_dates_lines_counts_and_crossroads_stay(text):
    assert mask_address(text) == text


def test_a_place_is_cut_to_the_street():
    assert street_level("金桥大厦A座1203") == "金桥大厦"
    assert street_level("南苑3#楼") == "南苑"
    assert street_level("东城小区3-2-501") == "东城小区"
    assert street_level("幸福路东段") == "幸福路东段"


def test_a_public_line_masks_names_phones_id_numbers_and_addresses_together():
    text = "我叫王小明，身份证110101199003071234，住阳光小区3栋2单元501室，电话13812345678，楼下路灯坏了"
    line = public_line(text, limit=120)
    assert line == "我叫王**，身份证110101********1234，住阳光小区*栋*单元*室，电话138****5678，楼下路灯坏了"
    assert public_line("和平路18号张建国家门口积水", names=["张建国"]) == "和平路*号张**家门口积水"


def test_public_names_stay_when_one_is_part_of_another_and_in_any_collection():
    text = "王敏华代表和王敏代表都来了，王小明也在"
    for public in ({"王敏", "王敏华"}, ["王敏华", "王敏"], ("王敏", "王敏华", "")):
        assert mask_text(text, public=public) == "王敏华代表和王敏代表都来了，王**也在"
    assert mask_text("王小明家门口积水", public=frozenset({""})) == "王**家门口积水"

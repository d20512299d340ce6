from nlu.entities import find_places, supplement


def values(entities, name):
    return [e["value"] for e in entities if e["entity"] == name]


def test_case_number_found_and_upper_cased():
    out = supplement("帮我查一下ll20261122001的进度", [])
    assert values(out, "case_no") == ["LL20261122001"]
    ent = out[0]
    assert (ent["start"], ent["end"]) == (5, 18)


def test_case_number_needs_the_exact_shape():
    assert values(supplement("编号LL2026112200", []), "case_no") == []
    assert values(supplement("编号LL202611220011", []), "case_no") == []


def test_rasa_case_number_normalised_not_duplicated():
    text = "查询ll20261122001"
    rasa = [
        {"entity": "case_no", "value": "ll20261122001", "start": 2, "end": 15, "extractor": "CRFEntityExtractor"},
        {"entity": "case_no", "value": "ll20261122001", "start": 2, "end": 15, "extractor": "RegexEntityExtractor"},
    ]
    out = supplement(text, rasa)
    assert values(out, "case_no") == ["LL20261122001"]
    assert rasa[0]["value"] == "ll20261122001"  # input left untouched


def test_mobile_and_landline():
    out = supplement("电话13912345678，或者打0731-12345678，也可以138 1234 5678", [])
    assert values(out, "phone") == ["13912345678", "0731-12345678", "13812345678"]


def test_not_a_mobile():
    assert values(supplement("订单号1391234567890", []), "phone") == []
    assert values(supplement("号码12912345678", []), "phone") == []


def test_phone_rasa_gave_is_kept_once():
    text = "我的手机13700001111"
    rasa = [{"entity": "phone", "value": "13700001111", "start": 4, "end": 15}]
    out = supplement(text, rasa)
    assert len([e for e in out if e["entity"] == "phone"]) == 1


def test_place_added_when_rasa_found_none():
    out = supplement("我家住在东山街道樱花路56号，门口的路灯坏了", [])
    assert values(out, "place") == ["东山街道樱花路56号"]
    assert out[0]["extractor"] == "rules"


def test_place_not_added_when_rasa_has_one():
    text = "樱花路上的路灯坏了"
    rasa = [{"entity": "place", "value": "樱花路", "start": 0, "end": 3}]
    assert values(supplement(text, rasa), "place") == ["樱花路"]


def test_place_does_not_overlap_other_entities():
    text = "和平路18号"
    rasa = [{"entity": "phone", "value": "x", "start": 0, "end": 6}]
    assert values(supplement(text, rasa), "place") == []


def test_most_specific_place_is_chosen():
    cases = {
        "反映梅林路和樟树路路口的红绿灯坏了": "梅林路和樟树路路口",
        "我住在月光花园3栋2单元，楼上漏水": "月光花园3栋2单元",
        "东山街道白鹭社区的垃圾没人清": "东山街道白鹭社区",
        "孩子在向阳小学读二年级，学校乱收费": "向阳小学",
        "樱花路口的井盖丢了": "樱花路口",
        "投诉一下柳树村的养猪场": "柳树村",
    }
    for text, expected in cases.items():
        assert values(supplement(text, []), "place") == [expected], text


def test_no_place_in_plain_complaints():
    for text in [
        "老板拖欠工资三个月了",
        "出租车司机故意绕路",
        "我们这个小区的物业不作为",
        "一到下雨天路面全是积水",
        "公交线路调整了很不方便",
        "",
    ]:
        assert values(supplement(text, []), "place") == [], text


def test_find_places_returns_spans_matching_text():
    text = "请问东山街道樱花路56号附近的菜市场几点开门"
    for place in find_places(text):
        assert text[place["start"] : place["end"]] == place["value"]


def test_result_sorted_by_position():
    out = supplement("13912345678 查询LL20261122001", [])
    assert [e["entity"] for e in out] == ["phone", "case_no"]


def test_implausible_places_from_the_model_are_dropped_so_the_bot_asks():
    from nlu.entities import plausible_place

    assert not plausible_place("走路") and not plausible_place("我家楼下") and not plausible_place("路上")
    assert plausible_place("幸福路18号") and plausible_place("阳光小区3栋") and plausible_place("人民医院")
    rasa = [{"entity": "place", "value": "走路", "start": 5, "end": 7}]
    assert [e for e in supplement("晚上出门走路很黑", rasa) if e["entity"] == "place"] == []


def test_places_are_not_cut_short():
    """Issue 12, item 7: crossings, structures on a road and a compound's building door kept whole."""
    cases = {
        "滨江路和光明街交叉口的红绿灯坏了": "滨江路和光明街交叉口",
        "人民路铁路桥下面的地道积水很深": "人民路铁路桥下面的地道",
        "幸福里小区5栋门口路灯不亮": "幸福里小区5栋门口",
        "和平里3号楼门口有个坑": "和平里3号楼门口",
        "建设路公交站的站牌倒了": "建设路公交站",
    }
    for text, expected in cases.items():
        assert values(supplement(text, []), "place") == [expected], text
    for text in ("村里的路灯坏了", "我家里3号楼漏水", "小区里5号楼电梯坏了"):
        assert values(supplement(text, []), "place") == [], text


def test_a_place_the_model_cut_short_is_widened():
    text = "滨江路和光明街交叉口的红绿灯坏了"
    rasa = [{"entity": "place", "value": "滨江路", "start": 0, "end": 3, "extractor": "CRFEntityExtractor"}]
    assert values(supplement(text, rasa), "place") == ["滨江路和光明街交叉口"]
    kept = [{"entity": "place", "value": "樱花路", "start": 0, "end": 3}]
    assert values(supplement("樱花路上的路灯坏了", kept), "place") == ["樱花路"]

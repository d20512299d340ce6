"""Rule-based supplement to the entities Rasa extracts.

``supplement(text, entities)`` is called by the bot after every parse. It returns Rasa's entities
(each a dict with at least ``entity``, ``value``, ``start``, ``end``), de-duplicated, with:

- ``case_no`` values normalised to upper case, and any case number Rasa missed
  (``LL`` + 8-digit date + 3-digit sequence, in either case);
- ``phone`` numbers Rasa missed: mainland mobiles (1[3-9] + 9 digits, also written with spaces
  or dashes as 3-4-4) and landlines (0 + 2-3 digit area code, a dash or space, 7-8 digits);
- one ``place`` when Rasa found none: the most specific address-like span (road + number,
  residential compound + building, village, community, street office, square, park, school,
  hospital, crossroads…), kept short.

Place spans found by the patterns are trimmed to whole words with jieba's part-of-speech tags
(the first place lookup in a process loads jieba's dictionary, about a second; ``warm_up()``
does it ahead of time). Added entities carry ``"extractor": "rules"``. A span Rasa already gave
for the same entity is never added twice; Rasa's own duplicates (two extractors, same span) are
collapsed.
"""

from __future__ import annotations

import re

CASE_NO = re.compile(r"(?<![0-9A-Za-z])[Ll]{2}\d{11}(?!\d)")
MOBILE = re.compile(r"(?<![\d+])(?:\+?86[- ]?)?(1[3-9]\d(?:[- ]?\d{4}){2})(?!\d)")
LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[-－ ](\d{7,8})(?!\d)")

# Characters that never belong to a place name (function words, pronouns, common verbs/time words).
_STOP = (
    "的了在是我你他她它们与跟及或把被给从到往对就都也还又很太"
    "吗呢吧啊呀嘛哦着过这那有没不说要去来让将已每个些几时想能"
    "会可得里边旁面天条段走修班坏绕带让问赶堵挡占抄线电满逛"
)
_NAME = rf"(?:(?![{_STOP}])[\u4e00-\u9fffA-Za-z0-9])"
_NUM = r"[0-9０-９一二三四五六七八九十百零〇]+"

_ROAD = rf"{_NAME}{{1,6}}?(?:大道|路|大街|街|巷|胡同)"
_COMPOUND_SUFFIX = (
    r"(?:小区|花园|家园|新村|公寓|大厦|广场|苑|园|湾|村|社区|街道|镇|乡|"
    r"公园|菜市场|农贸市场|市场|商场|汽车站|火车站|地铁站|车站|"
    r"幼儿园|小学|中学|学校|学院|大学|医院|卫生院|卫生室|诊所|工业园|园区)"
)
_UNIT = rf"(?:{_NUM}(?:期|区|栋|幢|号楼|单元|楼|号|室))"
# A spot at a building: 门口, 楼下, 东门…
_SPOT = r"(?:门口|大门口|楼下|楼道|东门|西门|南门|北门|后门|电梯口)"
# Structures along a road: bridges, underpasses, stops.
_LANDMARK = (
    r"(?:铁路桥|立交桥|高架桥|人行天桥|天桥|大桥|桥洞|桥|隧道|地下通道|地道|涵洞"
    r"|公交站台|公交车站|公交站|站台|环岛|转盘)"
)
_BESIDE = r"(?:下面|下方|底下|下边|旁边|边上|附近|对面)的?"
# 里 ending a compound's name (幸福里), not "in" (家里, 村里, 小区里)
_LI = r"(?<![家村城镇院楼屋店厂区这那哪心手夜水园里])里"

# Each pattern's candidate is trimmed at its start with jieba's tags (`_refine`); a pattern with a `head` group
# is trimmed on its head only (the tail, 5栋门口 or 下面的地道, holds words the trimming would stop at).
PLACE_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    # road + number (+ building/unit/room): 望江路56号, 和平路18号3栋2单元
    (6, re.compile(rf"{_ROAD}{_NUM}号(?:院)?{_UNIT}*")),
    # road + a structure on it (+ what is beside or under it): 人民路铁路桥下面的地道, 建设路公交站
    (5, re.compile(rf"(?P<head>{_ROAD}){_NAME}{{0,4}}?{_LANDMARK}(?:{_BESIDE}{_LANDMARK})?")),
    # two roads meeting: 梧桐路与银杏路交叉口, 石榴路和云杉路路口
    (5, re.compile(rf"{_ROAD}(?:与|和|跟|、|/){_ROAD}(?:交叉口|交汇处|十字路口|路口)?")),
    # compound + building (+ a spot at it): 翠竹苑5栋, 锦绣花园三期2单元, 幸福里小区5栋门口
    (5, re.compile(rf"(?P<head>{_NAME}{{1,8}}?{_COMPOUND_SUFFIX}){_UNIT}+{_SPOT}?")),
    # a compound named …里 (幸福里, 仁和里小区), with its building: 里 alone is "inside", so only so
    (5, re.compile(rf"(?P<head>{_NAME}{{1,4}}?{_LI}(?:小区|社区|花园|新村)?){_UNIT}+{_SPOT}?")),
    (3, re.compile(rf"{_NAME}{{1,4}}?{_LI}(?:小区|社区|花园|新村)")),
    # road + crossing: 青年路口, 长青路十字路口
    (4, re.compile(rf"{_NAME}{{1,6}}?(?:路|街)(?:交叉口|十字路口|路口|口)")),
    # street office / town + community / village / compound: 示范街道红星社区, 青山镇南溪村
    (4, re.compile(rf"(?:{_NAME}{{1,6}}?(?:街道|镇|乡))+{_NAME}{{1,8}}?{_COMPOUND_SUFFIX}")),
    # named compound / village / community / street office / landmark / school / hospital
    (3, re.compile(rf"{_NAME}{{1,8}}?{_COMPOUND_SUFFIX}")),
    # bare road
    (2, re.compile(_ROAD)),
]
BARE_ROAD = 2
# A "road" whose name holds a building or a spot is a misreading: 小区5栋门口路(灯).
_NOT_A_ROAD = re.compile(rf"{_UNIT}|{_SPOT}|小区|[0-9０-９]")

# Spans that end like a place but are not one (or are too generic on their own).
_GENERIC = {
    "小区",
    "社区",
    "街道",
    "公园",
    "广场",
    "市场",
    "菜市场",
    "学校",
    "医院",
    "中学",
    "小学",
    "幼儿园",
    "车站",
    "马路",
    "道路",
    "公路",
    "网站",
    "大学",
    "学院",
    "商场",
    "花园",
    "农村",
    "乡村",
    "城乡",
    "乡镇",
    "新村",
    "全村",
    "本村",
    "外村",
    "邻村",
    "公交车站",
    "老小区",
    "老旧小区",
    "街道办",
    "高速路",
    "高架路",
    "快速路",
    "环路",
    "一条街",
    "步行街",
    "商业街",
    "老街",
    "小巷",
    "小街",
}
# Leading words peeled off a candidate: verbs, pronouns, positions ("反映松柏路" -> "松柏路").
_LEADING_WORDS = (
    "我家住在",
    "我住在",
    "家住在",
    "我家住",
    "住在",
    "家住",
    "位于",
    "地处",
    "坐落于",
    "反映",
    "投诉",
    "举报",
    "咨询",
    "请问",
    "关于",
    "靠近",
    "经过",
    "路过",
    "途经",
    "就是",
    "我们",
    "咱们",
    "大家",
    "本人",
    "希望",
    "建议",
    "要求",
    "请求",
    "麻烦",
    "帮忙",
    "整治",
    "治理",
    "解决",
    "处理",
    "修建",
    "开车",
    "骑车",
    "出门",
    "上学",
    "放学",
    "现在",
    "目前",
    "今年",
    "去年",
    "附近",
    "周边",
    "门口",
    "对面",
    "隔壁",
    "楼下",
    "楼上",
    "东边",
    "西边",
    "南边",
    "北边",
    "一下",
    "一个",
    "一家",
    "一所",
    "一座",
    "一些",
    "一片",
)
_MAX_PLACE_LEN = 20


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _clean_place(text: str, start: int, end: int) -> tuple[int, int] | None:
    changed = True
    while changed:
        changed = False
        for word in _LEADING_WORDS:
            if text.startswith(word, start) and end - start - len(word) >= 3:
                start += len(word)
                changed = True
                break
    span = text[start:end]
    if len(span) < 3 or len(span) > _MAX_PLACE_LEN or span in _GENERIC:
        return None
    # Not a bare number, and not "这个小区"-like references.
    if re.match(_NUM, span) or re.match(r"^(?:这|那|该|本|此|哪|某|各|每|全)", span):
        return None
    return start, end


# Word-level refinement with jieba (part-of-speech tags): a regex candidate such as
# "抗议建龙村" or "代阳光大道" is cut back to the run of words that ends at the place suffix.
_STOP_FLAGS = {"p", "c", "r", "rr", "rz", "d", "ad", "dg", "y", "e", "o", "t", "tg", "z", "i", "l"}
_STOP_WORDS = {
    "解决",
    "抗议",
    "反映",
    "投诉",
    "举报",
    "位于",
    "地处",
    "家住",
    "居住",
    "住",
    "系",
    "是",
    "在",
    "到",
    "去",
    "来",
    "收集",
    "经过",
    "进行",
    "占用",
    "要求",
    "请求",
    "希望",
    "建议",
    "治理",
    "整治",
    "处理",
    "修建",
    "搬到",
    "搬迁",
    "路过",
    "靠近",
    "通往",
    "前往",
    "包括",
    "涉及",
    "影响",
    "导致",
    "造成",
    "发现",
    "看到",
    "听说",
    "知道",
    "认为",
    "觉得",
    "咨询",
    "请问",
    "关于",
    "就读",
    "读书",
    "上学",
    "工作",
    "打工",
    "上班",
    "购买",
    "用于",
    "属于",
    "距离",
    "离",
    "成立",
    "设立",
    "建立",
    "建成",
    "买",
    "租",
    "开",
    "办",
    "找",
    "问",
    "说",
    "给",
    "让",
    "被",
}
_SUFFIX_WORDS = {
    "路",
    "街",
    "巷",
    "大道",
    "小区",
    "花园",
    "家园",
    "社区",
    "街道",
    "村",
    "镇",
    "乡",
    "广场",
    "公园",
    "苑",
    "园",
    "湾",
    "新村",
    "市场",
    "菜市场",
    "学校",
    "小学",
    "中学",
    "医院",
    "卫生院",
}
_POS = None


def _pos_tokenizer():
    global _POS
    if _POS is None:
        try:
            import logging

            import jieba
            import jieba.posseg

            jieba.setLogLevel(logging.WARNING)
            _POS = jieba.posseg.dt  # the shared default tokenizer: its dictionary loads once
        except ImportError:  # jieba missing: keep the regex spans as they are
            _POS = False
    return _POS


def warm_up() -> None:
    """Load jieba's dictionary now rather than on the first message with a place."""
    pos = _pos_tokenizer()
    if pos:
        pos.lcut("示范街道")


def _refine(text: str, start: int, end: int) -> tuple[int, int]:
    pos = _pos_tokenizer()
    if not pos:
        return start, end
    window_start = max(0, start - 6)
    tokens = []
    offset = window_start
    for pair in pos.cut(text[window_start:end]):
        tokens.append((pair.word, pair.flag, offset, offset + len(pair.word)))
        offset += len(pair.word)
    inside = [t for t in tokens if t[3] > start]
    if not inside:
        return start, end
    first_word, first_flag, first_start, _ = inside[0]
    if first_start < start:  # the candidate begins inside a word
        if first_flag.startswith("n") and not any(ch in _STOP for ch in first_word):
            inside[0] = (first_word, first_flag, first_start, inside[0][3])
        else:
            inside = inside[1:]
    kept = len(inside)
    for i in range(len(inside) - 1, -1, -1):
        word, flag = inside[i][0], inside[i][1]
        following = inside[i + 1][0] if i + 1 < len(inside) else ""
        if word in ("与", "和", "跟", "、") and i > 0 and i + 1 < len(inside):
            kept = i
            continue
        if word == "里" and i == len(inside) - 1 and i > 0:  # the end of a name such as 和平里 (see _LI)
            kept = i
            continue
        if (
            word in _STOP_WORDS
            or flag in _STOP_FLAGS
            or flag.startswith("u")
            # a verb or locality word is part of the name only right before the suffix: 示范街道, 丰收村
            or (flag.startswith(("v", "f")) and following not in _SUFFIX_WORDS)
        ):
            break
        kept = i
    inside = inside[kept:]
    while inside and inside[0][0] in ("与", "和", "跟", "、"):
        inside = inside[1:]
    if not inside:
        return start, start
    return inside[0][2], end


def find_places(text: str) -> list[dict]:
    """Place candidates, most specific first (by pattern rank, then length)."""
    found: list[tuple[int, int, int]] = []
    for rank, pattern in PLACE_PATTERNS:
        for m in pattern.finditer(text):
            head_end = m.end("head") if "head" in pattern.groupindex else m.end()
            start, refined_end = _refine(text, m.start(), head_end)
            if refined_end <= start:
                continue
            if rank == BARE_ROAD and _NOT_A_ROAD.search(text[start : m.end() - 1]):
                continue
            cleaned = _clean_place(text, start, m.end())
            if cleaned:
                found.append((rank, *cleaned))
    found.sort(key=lambda t: (-t[0], -(t[2] - t[1]), t[1]))
    chosen: list[tuple[int, int, int]] = []
    for cand in found:
        if not any(_overlaps(cand[1:], c[1:]) for c in chosen):
            chosen.append(cand)
    return [{"entity": "place", "value": text[s:e], "start": s, "end": e, "extractor": "rules"} for _, s, e in chosen]


def find_phones(text: str) -> list[dict]:
    out = []
    for m in MOBILE.finditer(text):
        digits = re.sub(r"\D", "", m.group(1))
        out.append({"entity": "phone", "value": digits, "start": m.start(1), "end": m.end(1), "extractor": "rules"})
    for m in LANDLINE.finditer(text):
        out.append(
            {
                "entity": "phone",
                "value": f"{m.group(1)}-{m.group(2)}",
                "start": m.start(),
                "end": m.end(),
                "extractor": "rules",
            }
        )
    return out


def find_case_numbers(text: str) -> list[dict]:
    return [
        {"entity": "case_no", "value": m.group().upper(), "start": m.start(), "end": m.end(), "extractor": "rules"}
        for m in CASE_NO.finditer(text)
    ]


def plausible_place(value: str) -> bool:
    """Whether a place the model found names somewhere: the model sometimes tags 走路 or 过路,
    and a wrong place would keep the bot from asking for the right one."""
    value = value.strip()
    if len(value) < 3:
        return False
    return bool(re.search(r"[0-9０-９]|号|栋|单元", value)) or any(
        pattern.search(value) for _, pattern in PLACE_PATTERNS
    )


def _widen_places(text: str, result: list[dict]) -> None:
    """A place the model cut short (滨江路 of 滨江路和光明街交叉口) becomes the rules' longer span around it."""
    places = find_places(text)
    for i, ent in enumerate(result):
        if ent.get("entity") != "place" or not isinstance(ent.get("start"), int) or not isinstance(ent.get("end"), int):
            continue
        wider = next(
            (
                p
                for p in places
                if p["start"] <= ent["start"]
                and ent["end"] <= p["end"]
                and p["end"] - p["start"] > ent["end"] - ent["start"]
            ),
            None,
        )
        if wider is not None:
            result[i] = dict(wider)


def supplement(text: str, entities: list[dict]) -> list[dict]:
    """Rasa's entities plus what the rules find and Rasa missed (see the module docstring)."""
    text = text or ""
    result: list[dict] = []
    seen: set[tuple[str, int, int]] = set()
    for ent in entities or []:
        ent = dict(ent)
        name = ent.get("entity")
        if name == "case_no" and isinstance(ent.get("value"), str):
            ent["value"] = ent["value"].strip().upper()
        if name == "place" and not plausible_place(str(ent.get("value", ""))):
            continue
        key = (name, ent.get("start", -1), ent.get("end", -1))
        if key in seen:
            continue
        seen.add(key)
        result.append(ent)

    def covered(entity: str, start: int, end: int) -> bool:
        return any(
            e.get("entity") == entity
            and isinstance(e.get("start"), int)
            and isinstance(e.get("end"), int)
            and _overlaps((start, end), (e["start"], e["end"]))
            for e in result
        )

    additions = find_case_numbers(text) + find_phones(text)
    for ent in additions:
        if not covered(ent["entity"], ent["start"], ent["end"]):
            result.append(ent)
            seen.add((ent["entity"], ent["start"], ent["end"]))

    if not any(e.get("entity") == "place" for e in result):
        taken = [(e["start"], e["end"]) for e in result if isinstance(e.get("start"), int)]
        for place in find_places(text):
            if not any(_overlaps((place["start"], place["end"]), span) for span in taken):
                result.append(place)
                break
    else:
        _widen_places(text, result)

    result.sort(key=lambda e: e.get("start", 0) if isinstance(e.get("start"), int) else 0)
    return result

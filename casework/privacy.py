"""Masking identities: phone numbers in every form, ID-card numbers and people's names, in any text shown to
someone who may not read them (DESIGN.md, Privacy). *Who* reads what unmasked is decided in
`services.access`; this module only says *how* to mask.

- Mobiles as 138****5678, whatever their form: 13812345678, 138-1234-5678, 138 1234 5678, 138.1234.5678,
  +86 138 1234 5678, 8613812345678, (+86)13812345678, full-width digits too.
- Landlines keep their area code and last four digits: 0571-8888 1234 -> 0571-****1234,
  (010)12345678 -> (010)****5678. A local number without an area code (8888-1234) is a phone when an
  extension (转, 分机, ext) follows it or a word such as 电话 or 座机 comes just before it; so is any
  run of seven or more digits after such a word.
- ID-card numbers, 18 characters (the last may be X) or the old 15 digits, keep their first six and last
  four (three) characters: 110101********123X.
- Names become their first character and a star for every other one (王小明 -> 王**, 欧阳娜娜 -> 欧***).
  They are found by jieba: a word its dictionary tags `nr` (a person's name, as `jieba.posseg` tags it)
  and rarely uses, or a word its HMM made of characters it has never seen together, that starts with a
  common surname; by what introduces a name (我叫, 联系人, 姓名...); and from the names the caller knows
  (the citizen's, the NLU's `person` entities). The names of public officials the caller passes as
  `public` (the deployment's deputies) stay as written.

Reading jieba's dictionary is the only I/O, done once per process on the first name lookup (about a
second; `warm_up()` does it ahead of time), like chinese-calendar's tables in `casework.workdays`.
Masking is cheap enough for lists of thousands of rows: numbers are regular expressions; names need a
segmentation, of only the clauses that may hold one, remembered for the texts seen last; a summary
masks only the start of a long text.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Collection, Iterable

__all__ = [
    "SUMMARY_LENGTH",
    "find_names",
    "mask_address",
    "mask_name",
    "mask_phone",
    "mask_text",
    "person_names",
    "public_line",
    "public_summary",
    "street_level",
    "summary",
    "warm_up",
]

SUMMARY_LENGTH = 80

_SEP = r"[ \u3000\-－—.．·]"  # what people put between the groups of a phone number
_COUNTRY = r"(?:(?:\+|＋|00)?86|[(（]\s*(?:\+|＋)?86\s*[)）])"
# A mainland mobile: 11 digits from 13x-19x, maybe after +86, with single separators anywhere inside.
MOBILE = re.compile(
    rf"(?<![\d*])(?P<country>{_COUNTRY}{_SEP}?)?(?P<number>[1１][3-9３-９]\d(?:{_SEP}?\d){{8}})(?![\d*])"
)
_EXTENSION = r"(?P<extension>\s*(?:转|分机|ext\.?|EXT\.?|Ext\.?)\s*\d{1,6})"
# A landline with its area code: 0571-8888 1234, 010-12345678, (010)12345678, +86 571 8888 1234.
LANDLINE = re.compile(
    rf"(?<![\d*])(?P<area>(?:{_COUNTRY}{_SEP}?(?:[(（]0?[1-9]\d{{1,2}}[)）]|0?[1-9]\d{{1,2}})"
    rf"|[(（][0０][1-9１-９]\d{{1,2}}[)）]|[0０][1-9１-９]\d{{1,2}}){_SEP}?)"
    rf"(?P<number>[1-9１-９]\d{{2,3}}{_SEP}?\d{{4}})(?![\d*]){_EXTENSION}?"
)
# A local number with an extension: 8888-1234转567.
LOCAL_WITH_EXTENSION = re.compile(rf"(?<![\d*])(?P<number>[2-9２-９]\d{{2,3}}{_SEP}?\d{{4}})(?![\d*]){_EXTENSION}")
# Any number after a word that says a phone number follows: 电话：88881234, 座机 8888 1234.
_PHONE_WORD = r"(?:电话|手机|座机|号码|联系方式|联系号码|致电|拨打|tel|TEL|Tel|phone|Phone)"
AFTER_PHONE_WORD = re.compile(rf"(?P<lead>{_PHONE_WORD}[是为:：\s]{{0,3}})(?P<number>\d(?:{_SEP}?\d){{6,14}})(?![\d*])")
# A resident ID card: 6 digits of place (never 0 first), 8 of birth date, 3 of sequence and a check character.
# The old cards have 15 digits, a 2-digit year: those are told from other long numbers by their date.
ID_CARD = re.compile(r"(?<![0-9A-Za-z*])([1-8]\d{5})\s?(\d{8})\s?(\d{3}[\dXxＸｘ])(?![0-9A-Za-z*])")
OLD_ID_CARD = re.compile(
    r"(?<![0-9A-Za-z*])([1-8]\d{5})(\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))(\d{3})(?![0-9A-Za-z*])"
)


# Numbers


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def mask_phone(phone: str | None) -> str:
    """'13812348000' -> '138****8000'; '+86 138 1234 8000' too; other numbers keep their first three and
    last four digits; a short one is all stars."""
    digits = _digits(phone or "")
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if not digits:
        return ""
    if len(digits) < 8:
        return "****"
    return f"{digits[:3]}****{digits[-4:]}"


def _mobile(match: re.Match[str]) -> str:
    digits = _digits(match["number"])
    return f"{match['country'] or ''}{digits[:3]}****{digits[-4:]}"


def _landline(match: re.Match[str]) -> str:
    groups = match.groupdict()
    return f"{groups.get('area') or ''}****{_digits(match['number'])[-4:]}{groups.get('extension') or ''}"


def _after_phone_word(match: re.Match[str]) -> str:
    return f"{match['lead']}****{_digits(match['number'])[-4:]}"


# A decimal digit, as `\d` matches (full-width ones too): each number pattern above needs one.
_DIGIT = re.compile(r"\d")


def _mask_numbers(text: str) -> str:
    """ID-card numbers first (a card number may hold what looks like a mobile), then every phone form."""
    if not _DIGIT.search(text):
        return text  # one search instead of six substitutions, for the many texts that hold no number
    text = ID_CARD.sub(lambda m: f"{m[1]}********{m[3][-4:]}", text)
    text = OLD_ID_CARD.sub(lambda m: f"{m[1]}******{m[3]}", text)
    text = MOBILE.sub(_mobile, text)
    text = LANDLINE.sub(_landline, text)
    text = LOCAL_WITH_EXTENSION.sub(_landline, text)
    return AFTER_PHONE_WORD.sub(_after_phone_word, text)


# Names

# Common surnames, single and compound: a name must start with one. Characters that are far more often a
# word of their own than a surname (时, 向, 于, 安, 路, 全...) are left out; such names are still found
# after 我叫 or 联系人, and through the names the caller knows.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵钱严覃武戴莫孔汤常"
    "温康施文牛樊葛邢齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕季裴霍"
    "涂苗谷盛曲翁冉骆蓝游辛靳柴蒙鲍华喻祁蒲房滕屈饶牟艾尤穆卓古吉缪简项连芦麦褚娄窦戚岑景"
    "党宫费卜冷晏席卫柏宗瞿桂佟臧闵苟邬卞姬仇栾隋刁荣巫寇桑郎甄丛虞敖巩佘邝"
)
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 令狐 夏侯 端木 独孤 南宫 西门 万俟 闻人".split()
)
# Characters no given name holds: words that glue a sentence, numbers, units, and the endings of places
# (安沙镇, 龙塘, 向阳路): jieba's HMM joins a surname to them now and then (谭等, 文已, 高二).
_NOT_GIVEN = frozenset(
    "的了是在和与及或也都就还又很太吗呢吧啊着过这那有没不说要去来让将已等人由许至需到未所先西区"
    "一二三四五六七八九十百千万个些几时想能会可得里边旁面天条段走修坏号栋楼层米元年月日组线改多期板"
    "校户车站镇村乡县省市街巷道路桥湖塘岭坡坳铺湾园苑庭府馆厂场院寺庙港口门您你我他她它转拐图灯书树巴名榜羊"
)
# A given name never ends with these: 杨家 is a family or a village, 李姓 a surname.
_NOT_LAST = frozenset("家姓氏")
# Titles after a surname (胡书记, 王先生, 张师傅) name a role, not a person.
TITLES = tuple(
    (
        "书记 主任 局长 处长 科长 所长 院长 校长 部长 市长 区长 县长 镇长 村长 组长 队长 经理 老板 先生 女士 "
        "小姐 老师 师傅 阿姨 大爷 大妈 大姐 大哥 同志 代表 委员 医生 律师 警官 总"
    ).split()
)
# jieba's dictionary tags thousands of common words `nr` (谢谢, 文明, 许可证); the names in it are rare words.
RARE_WORD = 100
# What comes right after a place, never after a person: 阳光|小区, 向阳|花园, 云杉|路.
_PLACE_WORDS = tuple(
    (
        "小区 花园 家园 新村 社区 街道 公园 广场 大厦 大道 公寓 市场 商场 学校 小学 中学 大学 医院 路口 大桥 "
        "村 镇 乡 里 路 街 巷 苑 园 湾 桥 区 县 市 省 港 站 寺 庙 山 湖 河 塘 岭"
    ).split()
)
# Words that introduce a name: 我叫王小明, 联系人：李华, 姓名 赵敏.
NAME_INTRO = re.compile(
    r"(?:我叫|我的名字[是叫]|名字[是叫]|名叫|叫做|本人|联系人|反映人|投诉人|举报人|申请人|当事人|户主|姓名)"
    r"[是为:：\s]{0,3}"
)
_NAME_FLAGS = frozenset({"nr", "nrt", "nrfg"})
# Parts of speech that never begin a name after 我叫 or 联系人: verbs, pronouns, particles, places, times.
_NOT_NAME_FLAGS = frozenset(
    {"v", "vn", "vd", "p", "c", "u", "uj", "ul", "ug", "uz", "uv", "ud", "d", "r", "f", "q", "t", "s", "m", "x"}
)
_CJK = re.compile(r"^[\u4e00-\u9fff]+$")
_jieba: tuple[Callable[[str], Iterable[str]], dict[str, str], dict[str, int]] | None = None


def _tagger() -> tuple[Callable[[str], Iterable[str]], dict[str, str], dict[str, int]]:
    """jieba's segmentation (its HMM joins the characters of a name it has never seen), the part-of-speech
    tags of jieba.posseg's dictionary and the words' frequencies. `posseg.cut` itself, whose HMM tags such
    unknown words too, runs about ten times slower on real messages."""
    global _jieba
    if _jieba is None:
        import jieba
        import jieba.posseg

        jieba.setLogLevel(logging.WARNING)
        jieba.dt.check_initialized()
        _jieba = (jieba.dt.cut, jieba.posseg.dt.word_tag_tab, jieba.dt.FREQ)
    return _jieba


def warm_up() -> None:
    """Load jieba's dictionary now rather than on the first text with a name."""
    find_names("王小明")


def _is_word(token: str) -> bool:
    return bool(_CJK.match(token))


def _surname_of(token: str) -> str | None:
    if token[:2] in COMPOUND_SURNAMES:
        return token[:2]
    return token[0] if token[0] in SURNAMES else None


def _given_name(given: str) -> bool:
    return (
        1 <= len(given) <= 2
        and not (set(given) & _NOT_GIVEN)
        and given[-1] not in _NOT_LAST
        and not given.startswith(TITLES)
    )


def _before_place(tokens: list[str], after: int) -> bool:
    following = tokens[after] if after < len(tokens) else ""
    return following.startswith(_PLACE_WORDS)


def _tagged_name(tokens: list[str], i: int) -> int:
    """How many tokens from `i` make a person's name (0: none): a surname then a given name, in one word
    jieba knows as a rare name (王小明), in one it has never seen (李华, 张子涵), or in two (陈|大海)."""
    _, tags, frequencies = _tagger()
    token = tokens[i]
    following = tokens[i + 1] if i + 1 < len(tokens) else ""
    if (token in SURNAMES or token in COMPOUND_SURNAMES) and _is_word(following) and _given_name(following):
        if tags.get(following) in _NAME_FLAGS or (tags.get(token) == "nr" and tags.get(following) == "ns"):
            return 0 if _before_place(tokens, i + 2) else 2
    surname = _surname_of(token) if _is_word(token) else None
    if surname is None or not _given_name(token[len(surname) :]):
        return 0
    known = token in tags
    if known and not (tags[token] in _NAME_FLAGS and frequencies.get(token, 0) <= RARE_WORD):
        return 0
    return 0 if _before_place(tokens, i + 1) else 1


def _introduced_name(tokens: list[str], i: int) -> int:
    """How many tokens from `i`, right after 我叫 or 联系人, make the name it introduces (0: none)."""
    _, tags, _ = _tagger()
    token = tokens[i]
    if not _is_word(token) or tags.get(token) in _NOT_NAME_FLAGS or token.startswith(TITLES):
        return 0
    if 2 <= len(token) <= 4 and (tags.get(token) in _NAME_FLAGS or token not in tags):
        return 1
    following = tokens[i + 1] if i + 1 < len(tokens) else ""
    # A surname and a given name jieba cut apart: 钱|多多.
    if _surname_of(token) == token and _is_word(following) and len(following) <= 2:
        if tags.get(following) not in _NOT_NAME_FLAGS - {"m"}:
            return 2
    return 0


_CLAUSE = re.compile(r"[\u4e00-\u9fff]+")
# A clause can hold a name only with a surname followed by what may be a given name, or after 我叫 or 联系人:
# about one clause in six of real messages. Only those are segmented, which is most of the work saved.
_MAY_HOLD_NAME = re.compile(
    "|".join(
        [
            "[" + "".join(sorted(SURNAMES)) + "](?![" + "".join(sorted(_NOT_GIVEN)) + "])[\u4e00-\u9fff]",
            *sorted(COMPOUND_SURNAMES),
            NAME_INTRO.pattern,
        ]
    )
)


@functools.lru_cache(maxsize=16384)
def _name_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Where the people's names are in `text`: (start, end) of each, in order."""
    cut, _, _ = _tagger()
    introduced = {m.end() for m in NAME_INTRO.finditer(text)}
    spans = []
    for clause in _CLAUSE.finditer(text):
        if clause.start() not in introduced and not _MAY_HOLD_NAME.search(clause.group()):
            continue
        tokens = list(cut(clause.group()))
        starts = []
        offset = clause.start()
        for token in tokens:
            starts.append(offset)
            offset += len(token)
        i = 0
        while i < len(tokens):
            count = _introduced_name(tokens, i) if starts[i] in introduced else 0
            count = count or _tagged_name(tokens, i)
            if count:
                spans.append((starts[i], starts[i + count - 1] + len(tokens[i + count - 1])))
                i += count
            else:
                i += 1
    return tuple(spans)


def person_names(values: Iterable[object]) -> tuple[str, ...]:
    """The NLU's `person` entities that name someone: two to four Chinese characters, not a surname and a
    title (王代表, 张师傅), which name no one in particular."""
    found = []
    for value in values:
        name = str(value).strip()
        if _CJK.match(name) and 2 <= len(name) <= 4 and not name.endswith(TITLES):
            found.append(name)
    return tuple(dict.fromkeys(found))


def find_names(text: str, public: Collection[str] = ()) -> list[str]:
    """The people's names written in `text`, in order, but for the `public` ones (deputies)."""
    kept = _public_spans(text, public)
    return [text[s:e] for s, e in _name_spans(text) if not any(s < ke and ks < e for ks, ke in kept)]


def _public_spans(text: str, public: Collection[str]) -> list[tuple[int, int]]:
    # A city has hundreds of deputies and most texts name none: one search for any of them first (a twentieth of
    # the time of a substring test per name), then a regular expression only for the names present.
    if not public or not _any_of(frozenset(public)).search(text):
        return []
    return [
        (m.start(), m.end()) for name in public if name and name in text for m in re.finditer(re.escape(name), text)
    ]


@functools.lru_cache(maxsize=8)
def _any_of(names: frozenset[str]) -> re.Pattern[str]:
    """A pattern found in a text when one of `names` is (none for no name)."""
    return re.compile("|".join(re.escape(name) for name in sorted(names) if name) or "(?!)")


def mask_name(name: str | None) -> str:
    """'张三' -> '张*', '王小明' -> '王**', '欧阳娜娜' -> '欧***'; a one-character name becomes '*'."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" if name else ""
    return name[0] + "*" * (len(name) - 1)


def _mask_names(text: str, names: Iterable[str | None], public: Collection[str]) -> str:
    kept = _public_spans(text, public)
    spans = [span for span in _name_spans(text) if not any(span[0] < e and s < span[1] for s, e in kept)]
    for name in {n.strip() for n in names if n and len(n.strip()) > 1 and n.strip() not in public}:
        spans += [(m.start(), m.end()) for m in re.finditer(re.escape(name), text)]
    if not spans:
        return text
    out = list(text)
    for start, end in spans:
        out[start + 1 : end] = ["*"] * (end - start - 1)
    return "".join(out)


def mask_text(text: str, names: Iterable[str | None] = (), public: Collection[str] = ()) -> str:
    """`text` with phone and ID-card numbers masked, and the names of people in it: those the tagger finds
    and those in `names` (the citizen's own, the NLU's), but for the `public` ones (deputies)."""
    if not text:
        return text
    return _mask_names(_mask_numbers(text), names, public)


def summary(
    text: str, names: Iterable[str | None] = (), public: Collection[str] = (), limit: int = SUMMARY_LENGTH
) -> str:
    """One masked line of at most `limit` characters. Only the start of a long text is masked, with room
    beyond the cut so that a number or a name across it is seen whole: a cut never shows half a phone."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return mask_text(line, names, public)
    line = _mask_names(_mask_numbers(line[: limit + _LONGEST_NUMBER])[: limit + 4], names, public)
    return line[: limit - 1] + "…"


# The longest way to write one number: +86 (0571) 8888 1234 转 123456.
_LONGEST_NUMBER = 32


# Places: addresses are shown down to the street (road, lane, village, residential compound), never below it:
# no house, building, unit, floor or room numbers. `mask_address` stars those numbers inside a text,
# `street_level` cuts a place before the first of them.

_DIGITS = r"[0-9０-９]+"
_NUMERAL = r"[0-9０-９一二三四五六七八九十百零〇两]+"
# A 号 that is a day of the month (5号上午, 3号前), a metro line or a document, not a house number.
_NOT_A_HOUSE = r"(?!线|文件|那天|当天|上午|下午|晚上|早上|中午|凌晨|之前|以前|之后|以后|前|后|起|开始|左右|至|到)"
# A house, building, unit, room, lane or village-group number, in digits or Chinese numerals: 56号, 88-2号,
# 5号楼, 7号院, 3栋, 十二幢, 2单元, 12弄, 501室, 3组; not a date (11月5号) nor a line (3号线).
_NUMBERED = re.compile(
    rf"(?<![月0-9０-９A-Za-z])(?P<number>{_NUMERAL}(?:[-－之]{_DIGITS})?)(?P<unit>\s*(?:号楼|号院|栋|幢|单元|弄|室|组|号{_NOT_A_HOUSE}))"
)
# A building by a letter or a number: A座, B栋, 3座, C单元, A区.
_LETTERED = re.compile(
    r"(?<![A-Za-zＡ-Ｚａ-ｚ0-9０-９])(?P<number>[A-Za-zＡ-Ｚａ-ｚ]|[0-9０-９]+)(?P<unit>\s*(?:座|栋|幢|单元|区))"
)
# 3#楼, 3# ; a floor in digits: 5楼, 12层; a room or flat by its number: 501房, 1202户.
_HASHED = re.compile(r"(?<![0-9０-９])(?P<number>[0-9０-９]+)(?P<unit>\s*[#＃]\s*楼?)")
_FLOOR = re.compile(r"(?<![月0-9０-９])(?P<number>[0-9０-９]{1,2})(?P<unit>\s*[楼层])")
_ROOM = re.compile(r"(?<![0-9０-９])(?P<number>[0-9０-９]{3,4})(?P<unit>\s*[房户])")
# Building-unit-room written with dashes: 3-2-501.
_DASHED = re.compile(
    r"(?<![0-9０-９\-－])(?P<number>[0-9０-９]{1,3}[-－][0-9０-９]{1,2}[-－][0-9０-９]{2,4})(?P<unit>)(?![0-9０-９\-－])"
)
ADDRESS_PARTS = (_DASHED, _NUMBERED, _LETTERED, _HASHED, _FLOOR, _ROOM)
# The room number written bare after its building or unit: 3栋1202, A座1203, 2单元501.
_BARE_ROOM = re.compile(r"(?P<before>\*\s*(?:栋|幢|座|单元|号楼|#楼|#))(?P<number>[0-9０-９]{3,4})(?![0-9０-９])")


# What each part above needs: a digit, or the unit that follows a number in Chinese numerals or a letter
# (_NUMBERED's, _LETTERED's). One search for them spares a text with none (most places, many texts) the patterns.
_MAY_HOLD_ADDRESS = re.compile(r"[\d号栋幢单弄室组座区]")


def _star(match: re.Match[str]) -> str:
    return "*" + match["unit"]


def mask_address(text: str) -> str:
    """`text` with every number below the street starred: 阳光小区3栋2单元501室 -> 阳光小区*栋*单元*室,
    望江路56号门口 -> 望江路*号门口, A座1203 -> *座*, 3-2-501 -> *. Roads, streets, villages and the names of
    residential compounds stay; so do dates (11月5号) and counts (两层楼, 三户人家)."""
    if not text or not _MAY_HOLD_ADDRESS.search(text):
        return text
    for pattern in ADDRESS_PARTS:
        text = pattern.sub(_star, text)
    return _BARE_ROOM.sub(lambda m: m["before"] + "*", text)


def street_level(place: str) -> str:
    """The place without its building, house and room numbers: 阳光小区3栋2单元501室 -> 阳光小区,
    望江路56号 -> 望江路; what follows the first number goes too (门口, 楼下)."""
    flat = " ".join(place.split())
    may_hold = _MAY_HOLD_ADDRESS.search(flat)
    starts = [m.start() for pattern in ADDRESS_PARTS if may_hold and (m := pattern.search(flat))]
    return (flat[: min(starts)] if starts else flat).strip(" ,，、")


def public_line(
    text: str, names: Iterable[str | None] = (), public: Collection[str] = (), limit: int = SUMMARY_LENGTH
) -> str:
    """One line of a text as the public reads it (the three lists): `summary`'s masking of names, phone and
    ID numbers, and the address cut to the street (`mask_address`)."""
    return summary(mask_address(_mask_numbers(text)), names, public, limit)


def public_summary(text: str, names: Iterable[str | None] = (), public: Collection[str] = (), limit: int = 30) -> str:
    """What a stranger may read of someone's report (a follower, a similar-case offer): a short masked
    line with the building, house and room numbers taken out too (3栋 -> *栋)."""
    return public_line(text, names, public, limit)

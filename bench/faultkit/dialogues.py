"""What the suite's citizens say: report dialogues written for the suite (no real messages), each report
made unique by its place, so a case registered twice shows as two cases with one description."""

from __future__ import annotations

PROBLEMS = (
    "{place}的路灯坏了好几天了，晚上出门黑乎乎的，老人孩子走路很不安全，希望尽快修好",
    "{place}楼下的垃圾桶已经三天没人清运了，味道很大，苍蝇蚊子也多起来了",
    "{place}旁边的工地晚上十一点以后还在施工，噪音吵得整栋楼的人都睡不着觉",
    "{place}门口人行道的地砖松动翘起来了，下雨天一踩就溅一身泥水，已经有人摔倒",
    "{place}的下水道堵住了，污水漫到路面上，臭味很重，麻烦安排人来疏通",
    "{place}小区里的健身器材坏了一个多月，螺丝都松了，一直没有人来修",
    "{place}公交站的候车亭顶棚破了个大洞，下雨天等车的人没地方躲",
    "{place}菜市场门口每天早上乱停车，三轮车和电动车把路堵得走不动",
    "{place}这几天自来水发黄，烧开以后壶底还有沉淀，担心影响家里人的健康",
    "{place}路口的红绿灯时间太短，老人过马路走不到一半就变灯了，很危险",
    "{place}的电梯这个月停了四五次，楼里住着好几位腿脚不便的老人，上下楼很困难",
    "{place}绿化带里堆满了装修垃圾，堆了快两个月了，一直没人处理",
)
STREETS = ("东风路", "建设路", "和平街", "新华路", "解放路", "人民路", "光明街", "胜利路", "朝阳路", "滨河路")
ESTATES = ("幸福里小区", "阳光花园", "金桂苑", "翠湖小区", "长青小区", "南苑新村", "锦绣家园", "红星小区")
CHATTER = ("我的案件", "你好", "联络站在哪里，几点开门", "谢谢你们")
NO_CONTACT = "2"
CONFIRM = "确认"


def place(n: int) -> str:
    """A unique address for the n-th report: an estate, a building and a street number."""
    return f"{ESTATES[n % len(ESTATES)]}{n // len(ESTATES) % 40 + 1}栋，{STREETS[n % len(STREETS)]}{n % 997 + 1}号旁边"


def report(n: int) -> str:
    return PROBLEMS[n % len(PROBLEMS)].format(place=place(n))


def report_flow(n: int) -> list[str]:
    """A report and the answers to the bot's three questions (place, contact, confirmation)."""
    return [report(n), place(n), NO_CONTACT, CONFIRM]


def load_script(citizen: int) -> list[str]:
    """A citizen under load: report flows with a question or a greeting in between, as long as needed."""
    script: list[str] = []
    for flow in range(40):
        script += report_flow(citizen * 100 + flow)
        script += [CHATTER[(citizen + flow) % len(CHATTER)], CHATTER[(citizen + flow + 1) % len(CHATTER)]]
    return script


_LONG = (
    "各位代表、各位工作人员，你们好。我是这个片区住了二十多年的老住户，今天想把我们这一片这几年积下来的问题"
    "完整地说一说，话比较长，请耐心看完。第一是排水：每年汛期一下大雨，小区北门到菜市场那一段路就积水，"
    "最深的时候没过小腿，电动车熄火，老人出不了门，物业说是市政管网的问题，市政说是小区内部管道的问题，"
    "来回推了三年。第二是停车：小区里的车位只有住户的三分之一，晚上消防通道上停满了车，上个月三号楼有人"
    "半夜发病，救护车进不来，抬担架走了两百多米。第三是加装电梯：我们楼有一半是七十岁以上的老人，"
    "加装电梯的事情签字签了两轮，卡在低层住户的补偿上，一直没有人出面协调。第四是噪音：临街的烧烤摊"
    "每天营业到凌晨两点，油烟和吵闹声影响整栋楼休息，打过很多次电话，来的时候收一收，走了又照旧。"
    "这些事情单说哪一件都不算大，但是加在一起，大家的日子过得很憋屈。希望代表能来现场看一看，"
    "把相关的部门叫到一起，当面把责任分清楚，给我们一个明确的时间表。谢谢！"
)


def long_message(length: int = 10_000) -> str:
    """A genuine long report of exactly `length` characters (about 30 KB in UTF-8)."""
    out = []
    part = 1
    while sum(len(p) for p in out) < length:
        out.append(f"（第{part}段）" + _LONG)
        part += 1
    return "".join(out)[:length]

from casework.replies import ReplyTemplate, fill, templates_for


def test_a_topic_gets_its_own_templates_then_the_general_ones():
    found = templates_for("城乡建设", {})
    assert [t.title for t in found] == ["已维修", "纳入计划", "已办结", "解释说明"]
    assert [t.title for t in templates_for("其他", {})] == ["已办结", "解释说明"]
    assert [t.title for t in templates_for("没有的类别", {})] == ["已办结", "解释说明"]


def test_configured_templates_replace_a_topics_own():
    mine = ReplyTemplate("已清理", "您好！{place}的垃圾已由{department}清理。")
    general = ReplyTemplate("通用答复", "您好！案件 {case_no} 已办理。")
    assert templates_for("环境保护", {"环境保护": [mine]}) == [mine, *templates_for("其他", {})]
    assert templates_for("环境保护", {"通用": [general]})[-1] == general
    assert templates_for("交通运输", {"环境保护": [mine]})[0].title == "现场处置"


def test_filling_writes_the_cases_facts_and_leaves_blanks_for_the_unknown():
    template = ReplyTemplate(
        "已维修", "您好！您反映的{place}的问题（{case_no}），{department}已修复：【写明】。{other}"
    )
    facts = {"case_no": "LL20261122001", "department": "区住房和城乡建设局", "place": ""}
    assert fill(template, facts).text == (
        "您好！您反映的【地点】的问题（LL20261122001），区住房和城乡建设局已修复：【写明】。{other}"
    )

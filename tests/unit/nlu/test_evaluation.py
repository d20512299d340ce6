import pytest

from nlu.evaluation import EvalRow, intent_scores, load_eval_file, topic_macro_f1


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_labelled_intents(tmp_path):
    path = write(tmp_path, "h.csv", "text,intent\n你好,greet\n路灯坏了,report_issue\n")
    assert load_eval_file(path) == [EvalRow("你好", "greet"), EvalRow("路灯坏了", "report_issue")]


def test_rows_without_intent_column_are_reports_and_subject_is_prefixed(tmp_path):
    content = "id,category,subject,text\n1,城乡建设,路灯不亮,门口路灯坏了\n2,卫生计生,,医院乱收费\n"
    path = write(tmp_path, "m.csv", content)
    rows = load_eval_file(path)
    assert rows[0] == EvalRow("路灯不亮，门口路灯坏了", "report_issue", "城乡建设")
    assert rows[1] == EvalRow("医院乱收费", "report_issue", "卫生计生")
    assert load_eval_file(path, use_subject=False)[0].text == "门口路灯坏了"


def test_topic_column_and_subject_only(tmp_path):
    path = write(tmp_path, "t.csv", "\ufefftopic,subject,text\n交通运输,出租车拒载,\n")
    assert load_eval_file(path) == [EvalRow("出租车拒载", "report_issue", "交通运输")]


def test_blank_intent_defaults_to_report_and_blank_rows_are_skipped(tmp_path):
    path = write(tmp_path, "b.csv", "text,intent\n噪音扰民,\n,greet\n")
    assert load_eval_file(path) == [EvalRow("噪音扰民", "report_issue")]


def test_missing_text_column(tmp_path):
    path = write(tmp_path, "x.csv", "message\n你好\n")
    with pytest.raises(ValueError):
        load_eval_file(path)


def test_intent_scores():
    gold = ["greet", "greet", "report_issue", "report_issue", "deny"]
    pred = ["greet", "nlu_fallback", "report_issue", "greet", "deny"]
    s = intent_scores(gold, pred)
    assert s["n"] == 5
    assert s["accuracy"] == pytest.approx(0.6)
    assert s["recall"] == {"deny": 1.0, "greet": 0.5, "report_issue": 0.5}
    # greet: p=1/2 r=1/2 f=0.5; report_issue: p=1 r=1/2 f=2/3; deny: f=1
    assert s["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 1.0) / 3)
    assert "nlu_fallback" not in s["recall"]


def test_intent_scores_with_explicit_labels_and_empty_input():
    s = intent_scores(["a"], ["a"], labels=["a", "b"])
    assert s["macro_f1"] == pytest.approx(0.5)
    assert intent_scores([], [])["accuracy"] == 0.0
    with pytest.raises(ValueError):
        intent_scores(["a"], [])


def test_topic_macro_f1():
    gold = ["城乡建设", "城乡建设", "环境保护", "环境保护"]
    pred = ["城乡建设", "其他", "环境保护", "城乡建设"]
    # 城乡建设: p=1/2 r=1/2 f=1/2; 环境保护: p=1 r=1/2 f=2/3
    assert topic_macro_f1(gold, pred, ["城乡建设", "环境保护"]) == pytest.approx((0.5 + 2 / 3) / 2)
    assert topic_macro_f1(gold, gold, ["城乡建设", "环境保护"]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        topic_macro_f1(gold, pred[:1], ["城乡建设"])

import subprocess
import threading
from pathlib import Path

import numpy
import pytest
import yaml

from nlu import topics
from nlu.topics import DATA_FILE, OTHER, TopicClassifier, corrected_examples

TOPICS = ("城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障", "商贸旅游", "卫生计生", "其他")
ROOT = Path(__file__).resolve().parents[3]
OVERLAP_CHECK = ROOT.parent / "shared" / "tools" / "check-training-overlap"


@pytest.fixture(scope="module")
def clf():
    return TopicClassifier.from_project()


def test_training_data_covers_every_topic():
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))["topics"]
    assert set(data) == set(TOPICS)
    for topic, spec in data.items():
        assert len(spec["examples"]) >= (60 if topic == OTHER else 100), topic
        assert len(set(spec["examples"])) == len(spec["examples"]), f"{topic}: an example is repeated"


@pytest.mark.skipif(not OVERLAP_CHECK.exists(), reason="shared/tools is not beside the project")
def test_training_data_shares_no_fourteen_characters_with_the_evaluation_messages():
    result = subprocess.run([str(OVERLAP_CHECK)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    assert result.stdout.strip().splitlines()[-1].startswith("0 of ")


def test_loads_and_is_cached():
    fresh = TopicClassifier.from_file(DATA_FILE)
    assert fresh.labels == list(TOPICS)
    assert TopicClassifier.from_project() is TopicClassifier.from_project()


def test_threads_asking_at_once_share_one_classifier(monkeypatch):
    monkeypatch.setattr(TopicClassifier, "_cached", None)
    built: list[TopicClassifier] = []
    threads = [threading.Thread(target=lambda: built.append(TopicClassifier.from_project())) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 3 and all(c is built[0] for c in built)


def test_training_is_deterministic(clf):
    first, second = TopicClassifier.from_file(DATA_FILE), TopicClassifier.from_file(DATA_FILE)
    for text in ("18路公交车改了线路以后不经过我们村了", "楼下烧烤店油烟太大", "今天天气不错", "工资拖了三个月"):
        assert first.scores(text) == second.scores(text)
    # The project's classifier has the same data (no corrections file in the repository).
    if not topics.CORRECTIONS_FILE.exists():
        assert first.scores("医院乱收费") == clf.scores("医院乱收费")


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        # Bus routes and stops belong to transport, not to urban construction.
        ("18路公交车改了线路以后不经过我们村了，老人进城要走好远", "交通运输"),
        ("7路车的站牌挪到了桥那头，下车还得过一条大马路", "交通运输"),
        ("早上的公交车总是晚点，站台上挤满了等车的上班族", "交通运输"),
        # Schools.
        ("实验中学初二年级每周六上午还要到校上课", "教育文体"),
        ("孩子转学到第二小学，学校说没有学位", "教育文体"),
        ("县一中的老师上课不讲重点，让学生去他家里补课", "教育文体"),
        # Banks: a consumer's complaint about a financial service.
        ("银行柜员办业务的时候一直让我买他们的基金", "商贸旅游"),
        ("信用卡没有激活却被银行扣了年费", "商贸旅游"),
        ("去银行换零钱被拒绝，说只给本行客户换", "商贸旅游"),
        ("樱花路的窨井盖缺了一块，晚上路过很危险", "城乡建设"),
        ("小区物业把绿地改成停车场收费", "城乡建设"),
        ("河对岸的印染厂往江里排污水，水面一片红", "环境保护"),
        ("楼下饭馆的排风扇噪音太大，半夜还在响", "环境保护"),
        ("滴滴司机到了目的地不停车，还多收钱", "交通运输"),
        ("镇上到县城的客车票价乱涨", "交通运输"),
        ("初中班主任逼学生买他指定的复习资料", "教育文体"),
        ("幼儿园学费一学期涨了一千", "教育文体"),
        ("厂里三个月没发工资了，老板说年底一起结", "劳动和社会保障"),
        ("养老保险断了两年，还能补交吗", "劳动和社会保障"),
        ("旅行社临时加价，不交钱就不让上车", "商贸旅游"),
        ("网店卖假冒运动鞋，拒绝退款", "商贸旅游"),
        ("卫生院医生开药不看病人，收费也不给清单", "卫生计生"),
        ("饭馆的菜吃出了虫子，后厨很脏", "卫生计生"),
        ("派出所办户口迁移太慢了", "其他"),
    ],
)
def test_routes_messages_to_their_topic(clf, text, topic):
    label, confidence = clf.classify(text)
    assert label == topic
    assert 0.0 < confidence <= 1.0


@pytest.mark.parametrize("text", ["哈哈哈", "今天天气不错", "你好", "谢谢啦", "周末一起去爬山吧"])
def test_small_talk_goes_to_other(clf, text):
    label, confidence = clf.classify(text)
    assert label == OTHER
    assert 0.0 < confidence <= 1.0


@pytest.mark.parametrize("text", ["", "   ", "在干嘛呢", "LL20261122001"])
def test_text_with_nothing_known_is_other_with_no_confidence(clf, text):
    assert clf.classify(text) == (OTHER, 0.0)
    assert clf.scores(text) == {}


def test_scores_are_a_distribution(clf):
    scores = clf.scores("小区门口的路灯坏了好久，物业也不管")
    assert set(scores) == set(TOPICS)
    assert abs(sum(scores.values()) - 1.0) < 1e-9
    assert max(scores, key=scores.__getitem__) == "城乡建设"
    assert clf.classify("小区门口的路灯坏了好久，物业也不管") == ("城乡建设", round(scores["城乡建设"], 4))


def test_long_message_is_not_always_certain(clf):
    text = "我们这里的路灯和井盖都坏了，" * 30
    label, confidence = clf.classify(text)
    assert label == "城乡建设"
    assert confidence < 1.0


def test_staff_corrections_are_learnt(clf, tmp_path, monkeypatch):
    text = "对面楼有人放无人机偷拍我家阳台"
    assert clf.classify(text)[0] == "环境保护", "the uncorrected router hears a noise complaint"
    drones = [
        "小区上空天天有人放无人机，还对着窗户拍",
        "有人用无人机在楼顶盘旋偷拍居民",
        "晚上无人机在阳台外面飞来飞去",
    ]
    examples: list[dict] = [{"text": t, "metadata": {"topic": OTHER}} for t in drones]
    examples[0]["text"] = "[小区](place)上空天天有人放无人机，还对着窗户拍"
    examples.append({"text": "好的谢谢"})  # no topic: not the router's
    corrections = tmp_path / "corrections.yml"
    document = {"version": "3.1", "nlu": [{"intent": "report_issue", "examples": examples}]}
    corrections.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    assert corrected_examples(corrections) == {OTHER: drones}, "entity marks are removed"

    monkeypatch.setattr(topics, "CORRECTIONS_FILE", corrections)
    monkeypatch.setattr(TopicClassifier, "_cached", None)
    assert TopicClassifier.from_project().classify(text)[0] == OTHER


def test_custom_file(tmp_path):
    fruit = ["我爱吃香蕉和梨", "西瓜很甜", "葡萄有点酸", "这个桃子又大又甜", "橘子剥开很香", "草莓太贵了"]
    other = ["今天去上班", "明天要开会", "晚上看电视", "周末去爬山", "下雨了带把伞", "电脑又坏了"]
    path = tmp_path / "topics.yml"
    keywords = ["苹果", "香蕉", "水果"]
    document = {"topics": {"水果": {"keywords": keywords, "examples": fruit}, "其他": {"examples": other}}}
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    clf = TopicClassifier.from_file(path)
    assert clf.labels == ["水果", "其他"]
    assert clf.classify("买了一斤苹果")[0] == "水果"
    assert clf.classify("下午去上班")[0] == "其他"
    # Two topics: the binary case of the calibrated arithmetic.
    texts = ["买了一斤苹果", "下午去上班", "西瓜和电脑", "香蕉"]
    features = clf.vectorizer.transform(texts)
    assert numpy.allclose(clf._probabilities(features), clf.model.predict_proba(features), rtol=0, atol=1e-12)


def test_the_calibrated_arithmetic_is_scikit_learns(clf):
    """`scores` computes what CalibratedClassifierCV.predict_proba does, without its per-call checks."""
    texts = ["15路公交车改线了", "路灯坏了好几天", "你好", "在干嘛呢", "学校食堂饭菜太贵", "银行取款机吞卡", ""]
    features = clf.vectorizer.transform(texts)
    assert numpy.allclose(clf._probabilities(features), clf.model.predict_proba(features), rtol=0, atol=1e-12)


def test_no_topics_or_too_few_examples_is_an_error():
    with pytest.raises(ValueError):
        TopicClassifier({})
    with pytest.raises(ValueError):
        TopicClassifier({"水果": {"examples": ["西瓜很甜"], "keywords": ["苹果"]}})


def test_classifying_many_texts_at_once_is_classifying_each(clf):
    """One pass of the vectorizer for a text and its clauses gives what a call per text gives."""
    texts = ["15路公交车改线了", "路灯坏了好几天", "你好", "", "学校食堂饭菜太贵。另外小区门口的路灯也坏了", "xyzzy"]
    assert clf.classify_many(texts) == [clf.classify(text) for text in texts]
    assert clf.classify_many([]) == []

import pytest
import yaml

from nlu.topics import DATA_FILE, TopicClassifier

TOPICS = ("城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障", "商贸旅游", "卫生计生", "其他")


@pytest.fixture(scope="module")
def clf():
    return TopicClassifier.from_project()


def test_training_data_covers_every_topic_with_forty_examples():
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))["topics"]
    assert set(data) == set(TOPICS)
    for topic, spec in data.items():
        assert len(spec["examples"]) >= 40, topic


def test_loads_and_is_cached():
    fresh = TopicClassifier.from_file(DATA_FILE)
    assert fresh.labels[0] in TOPICS
    assert TopicClassifier.from_project() is TopicClassifier.from_project()


@pytest.mark.parametrize(
    ("text", "topic"),
    [
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
def test_classifies_obvious_messages(clf, text, topic):
    label, confidence = clf.classify(text)
    assert label == topic
    assert 0.0 <= confidence <= 1.0


@pytest.mark.parametrize("text", ["", "哈哈哈", "今天天气不错", "你好"])
def test_small_talk_and_empty_text_go_to_other(clf, text):
    label, confidence = clf.classify(text)
    assert label == "其他"
    assert 0.0 <= confidence <= 1.0


def test_scores_are_a_distribution(clf):
    scores = clf.scores("小区门口的路灯坏了好久，物业也不管")
    assert set(scores) == set(TOPICS)
    assert abs(sum(scores.values()) - 1.0) < 1e-9
    assert max(scores, key=scores.get) == "城乡建设"


def test_long_message_is_not_always_certain(clf):
    text = "我们这里的公交站台和路灯都坏了，" * 30
    label, confidence = clf.classify(text)
    assert label == "城乡建设"
    assert confidence < 1.0


def test_custom_file(tmp_path):
    path = tmp_path / "topics.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "topics": {
                    "水果": {"keywords": ["苹果"], "examples": ["我爱吃香蕉和梨", "西瓜很甜"]},
                    "其他": {"examples": ["今天去上班"]},
                }
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    clf = TopicClassifier.from_file(path)
    assert clf.classify("买了一斤苹果")[0] == "水果"


def test_no_topics_is_an_error():
    with pytest.raises(ValueError):
        TopicClassifier({})

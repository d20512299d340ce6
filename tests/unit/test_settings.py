import pytest
from pydantic import ValidationError

from settings import ConfigError, Settings, load_deployment
from tests.conftest import ROOT
from tests.factories import config_with_calendar


def _write(tmp_path, text):
    path = tmp_path / "config.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_demo_deployment_is_valid():
    deployment = load_deployment(ROOT / "config.yml")
    assert deployment.main_station.name == "示范街道人大代表联络站"
    assert len(deployment.deputies) >= 6
    assert {t for d in deployment.departments for t in d.topics} >= {"城乡建设", "其他"}


def test_a_wrong_key_is_named_with_the_file(tmp_path):
    text = (ROOT / "config.yml").read_text(encoding="utf-8").replace("case_prefix: LL", "case_prefx: LL")
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_deployment(path)
    assert str(info.value) == f"{path}: case_prefx: unknown key"


def test_a_topic_without_a_department_is_named(tmp_path):
    text = (ROOT / "config.yml").read_text(encoding="utf-8").replace("topics: [卫生计生]", "topics: []")
    with pytest.raises(ConfigError, match="no department owns the topic\\(s\\) 卫生计生"):
        load_deployment(_write(tmp_path, text))


def test_unknown_deputy_in_the_rota_and_bad_yaml(tmp_path):
    text = (ROOT / "config.yml").read_text(encoding="utf-8").replace("[wang-min, li-jianguo", "[nobody, li-jianguo")
    with pytest.raises(ConfigError, match=r"duty_rota\[0\].deputies: unknown deputy 'nobody'"):
        load_deployment(_write(tmp_path, text))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_deployment(_write(tmp_path, "stations: [\n"))
    with pytest.raises(ConfigError, match="file not found"):
        load_deployment(tmp_path / "missing.yml")


def test_a_years_published_arrangement_is_read_and_checked(tmp_path):
    published = load_deployment(config_with_calendar(tmp_path)).calendar.years[2027]
    assert len(published.holidays) == 12 and [day.day for day in published.workdays] == [14, 20]
    stray = "  years:\n    2027:\n      holidays: [2027-01-01, 2028-01-01]\n"
    with pytest.raises(ConfigError, match="calendar: years.2027: 2028-01-01 not in 2027"):
        load_deployment(config_with_calendar(tmp_path, stray))
    both = "  years:\n    2027:\n      holidays: [2027-02-20]\n      workdays: [2027-02-20]\n"
    with pytest.raises(ConfigError, match="years.2027: 2027-02-20 both a holiday and a working day"):
        load_deployment(config_with_calendar(tmp_path, both))


def test_case_rules_are_read_and_their_templates_checked(tmp_path):
    demo = load_deployment(ROOT / "config.yml")
    assert demo.cases.same_person_may_approve is False and demo.cases.reply_templates == {}
    rules = (
        "cases:\n  same_person_may_approve: true\n  reply_templates:\n    城乡建设:\n"
        "      - title: 已维修\n        text: 您好！{place}的路灯已由{department}修复。\n"
    )
    text = (ROOT / "config.yml").read_text(encoding="utf-8")
    start, end = text.index("cases:\n"), text.index("\ndeadlines:")
    configured = load_deployment(_write(tmp_path, text[:start] + rules + text[end:])).cases
    assert configured.same_person_may_approve is True
    assert [t.title for t in configured.reply_templates["城乡建设"]] == ["已维修"]
    unknown_fact = rules.replace("{department}", "{citizen}")
    with pytest.raises(ConfigError, match=r"cases.reply_templates.城乡建设.0: text: unknown \{citizen\}"):
        load_deployment(_write(tmp_path, text[:start] + unknown_fact + text[end:]))
    unknown_topic = rules.replace("    城乡建设:", "    水电煤:")
    with pytest.raises(ConfigError, match="reply_templates: unknown topic '水电煤'"):
        load_deployment(_write(tmp_path, text[:start] + unknown_topic + text[end:]))


def _environment(monkeypatch, **variables: str) -> Settings:
    """Settings as a process gets them from exactly these variables (no .env file)."""
    for name in ("DATABASE_URL", "LIAISON_VAR", "WECHAT_AES_KEY", "WECHAT_SAFE_MODE", "LIAISON_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("LIAISON_API_KEYS", raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def test_the_default_database_follows_liaison_var(monkeypatch, tmp_path):
    assert _environment(monkeypatch, LIAISON_VAR=str(tmp_path)).database_url == f"sqlite:///{tmp_path}/liaison.db"
    assert _environment(monkeypatch).database_url == f"sqlite:///{ROOT}/var/liaison.db"
    chosen = _environment(monkeypatch, LIAISON_VAR=str(tmp_path), DATABASE_URL="postgresql://db/liaison")
    assert chosen.database_url == "postgresql://db/liaison"


def test_safe_mode_is_on_whenever_an_aes_key_is_set_unless_turned_off(monkeypatch):
    key = "k" * 43
    assert not _environment(monkeypatch).wechat_encrypted_only
    assert _environment(monkeypatch, WECHAT_AES_KEY=key).wechat_encrypted_only
    assert not _environment(monkeypatch, WECHAT_AES_KEY=key, WECHAT_SAFE_MODE="false").wechat_encrypted_only
    assert _environment(monkeypatch, WECHAT_SAFE_MODE="true").wechat_encrypted_only


def test_channel_keys_name_their_channels(monkeypatch):
    settings = _environment(
        monkeypatch, LIAISON_API_KEY="old", LIAISON_API_KEYS='{"k1": ["web", "app"], "k2": ["kiosk"]}'
    )
    assert settings.channel_keys == {"old": {"web"}, "k1": {"web", "app"}, "k2": {"kiosk"}}
    for signed in ("wechat", "telegram"):
        with pytest.raises(ValidationError, match="its own door only"):
            _environment(monkeypatch, LIAISON_API_KEYS=f'{{"k": ["web", "{signed}"]}}')
    with pytest.raises(ValidationError, match="at least one channel"):
        _environment(monkeypatch, LIAISON_API_KEYS='{"k": []}')

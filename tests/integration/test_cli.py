"""The `liaison` commands of the contract, run as a user runs them."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.http.app import create_app
from storage.db import one_session
from storage.models import ChannelIdentity, Conversation, Message
from storage.repositories import UserStore
from tests.conftest import RASA_TOKEN, ROOT, client_for
from tests.integration.test_conversations import Citizen

pytestmark = pytest.mark.integration
LIAISON = str(Path(sys.executable).parent / "liaison")


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LIAISON, *args], env={**os.environ, **env}, input=stdin, capture_output=True, text=True, timeout=300, cwd=ROOT
    )


async def test_case_list_and_show(settings, user_id):
    app = create_app(settings)
    async for client in client_for(app):
        number = await Citizen(client, user_id).report("学校门口的人行道砖头松了好几块，孩子上学容易绊倒")
    env = {"DATABASE_URL": settings.database_url}
    listed = json.loads(_run(["case", "list", "--json"], env).stdout)
    mine = next(c for c in listed if c["case_no"] == number)
    assert mine["state"] == "received" and mine["events"][0]["to"] == "received"
    assert {"case_no", "state", "topic", "department", "created_at", "updated_at", "events"} <= mine.keys()
    shown = json.loads(_run(["case", "show", number, "--json"], env).stdout)
    assert shown["case_no"] == number and shown["events"][0]["action"] == "register"
    text = _run(["case", "show", number], env).stdout
    assert number in text and "已受理" in text
    missing = _run(["case", "show", "LL19990101001"], env)
    assert missing.returncode != 0 and "没有编号为" in missing.stderr


async def test_case_contact_templates_split_and_the_committees_follow_up(settings, user_id):
    app = create_app(settings)
    async for client in client_for(app):
        number = await Citizen(client, user_id).report(
            f"明{uuid.uuid4().hex[:4]}路的路灯坏了，路口红绿灯也不亮", place=f"明{uuid.uuid4().hex[:4]}路口"
        )
    staff = f"staff-{uuid.uuid4().hex[:6]}"
    async with one_session(settings.async_database_url) as session:
        await UserStore(session).add(name=staff, role="staff")
        await session.commit()
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "LIAISON_REDIS_PREFIX": settings.redis_prefix,
    }
    contact = json.loads(_run(["case", "contact", number, "--json"], env).stdout)
    assert contact == {"case_no": number, "anonymous": False, "consent": False, "phone": None, "unmasked": False}
    views = json.loads(_run(["case", "contact-views", number, "--json"], env).stdout)
    assert [(v["actor"], v["role"]) for v in views] == [("operator", "admin")]
    templates = json.loads(_run(["case", "templates", number, "--json"], env).stdout)
    assert templates[-1]["title"] == "解释说明" and number in templates[-1]["text"]

    split = _run(
        [
            "case",
            "split",
            number,
            "--as",
            staff,
            "--part",
            "城乡建设",
            "路灯坏了",
            "--part",
            "交通运输:jiaotong",
            "红绿灯不亮",
        ],
        env,
    )
    assert split.returncode == 0, split.stderr
    parts = [p.split("（")[0] for p in split.stdout.split("已拆分为 ")[1].rstrip("。\n").split("、")]
    assert len(parts) == 2 and f"{number} 已拆分为" in split.stdout
    part = parts[1]
    for args in (
        ["escalate", part, "--level", "区县", "--reason", "跨部门"],
        ["record-committee-action", part, "--kind", "评议", "--reason", "交通局限期一周修复"],
        ["close", part],
    ):
        done = _run(["case", *args[:2], "--as", staff, *args[2:]], env)
        assert done.returncode == 0, done.stderr
    assert "已办结" in done.stdout and "人大常委会跟进后办结" in done.stdout
    shown = json.loads(_run(["case", "show", part, "--json"], env).stdout)
    assert [e["action"] for e in shown["events"]][-3:] == ["escalate", "record_committee_action", "close"]


def test_nlu_parse_prints_the_contract(rasa_url):
    result = _run(
        ["nlu", "parse"],
        {"RASA_URL": rasa_url, "RASA_TOKEN": RASA_TOKEN},
        stdin="幸福路上的路灯坏了\n查询LL20261122001\n\n你好\n",
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["intent"] for line in lines] == ["report_issue", "ask_progress", "greet"]
    for line in lines:
        assert set(line) == {"text", "intent", "confidence", "entities", "topic", "topic_confidence"}
    assert {"entity": "case_no", "value": "LL20261122001"}.items() <= lines[1]["entities"][0].items()


def test_a_wrong_config_is_one_line(tmp_path):
    bad = tmp_path / "config.yml"
    bad.write_text((ROOT / "config.yml").read_text(encoding="utf-8").replace("stations:", "station:"), encoding="utf-8")
    result = _run(["case", "list"], {"LIAISON_CONFIG": str(bad)})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [f"Error: {bad}: station: unknown key (did you mean stations?)"]


def test_an_unmigrated_database_is_one_line(tmp_path):
    result = _run(["case", "list"], {"DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].endswith("run `liaison db upgrade`")
    assert len(result.stderr.strip().splitlines()) == 1


def test_nlu_eval_prints_accuracy_macro_f1_and_topic_f1(rasa_url, tmp_path):
    sample = tmp_path / "sample.csv"
    sample.write_text(
        "text,intent,topic\n"
        "幸福路的路灯坏了三天了,report_issue,城乡建设\n"
        "工厂拖欠我两个月工资,report_issue,劳动和社会保障\n"
        "你好,greet,其他\n",
        encoding="utf-8",
    )
    result = _run(["nlu", "eval", str(sample), "--json"], {"RASA_URL": rasa_url, "RASA_TOKEN": RASA_TOKEN})
    report = json.loads(result.stdout)
    assert report["messages"] == 3 and report["accuracy"] == 1.0 and report["macro_f1"] == 1.0
    assert report["topic_macro_f1"] > 0.6
    text = _run(["nlu", "eval", str(sample)], {"RASA_URL": rasa_url, "RASA_TOKEN": RASA_TOKEN}).stdout
    assert "intent accuracy 1.000" in text and "topic macro-F1" in text


async def test_user_add_reads_the_password_from_standard_input(settings):
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "LIAISON_REDIS_PREFIX": settings.redis_prefix,
    }
    name = f"staff-{uuid.uuid4().hex[:8]}"
    added = _run(["user", "add", name, "--role", "staff", "--password"], env, stdin="  秘密 pass\n")
    assert added.returncode == 0, added.stderr
    assert len(added.stdout.strip()) > 20 and "\n" not in added.stdout.strip()
    async with one_session(settings.async_database_url) as session:
        user = await UserStore(session).by_name(name)
    assert user is not None and user.password_hash is not None
    _, n, r, p, salt, digest = user.password_hash.split("$")
    # One line, stripped of its newline only: the spaces are the user's.
    typed = "  秘密 pass".encode()
    assert hashlib.scrypt(typed, salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)).hex() == digest

    for empty in ("\n", ""):
        refused = _run(["user", "add", f"{name}-x", "--role", "staff", "--password"], env, stdin=empty)
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == ["Error: 密码不能为空：请在标准输入的第一行给出密码"]
    async with one_session(settings.async_database_url) as session:
        assert await UserStore(session).by_name(f"{name}-x") is None


async def test_chat_takes_bytes_that_are_not_utf8(settings):
    """`printf '路灯坏了\xe5\n' | liaison chat`: the stray byte becomes U+FFFD, the message is kept."""
    user = f"t-{uuid.uuid4().hex[:10]}"
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "LIAISON_REDIS_PREFIX": settings.redis_prefix,
        "RASA_URL": settings.rasa_url,
        "RASA_TOKEN": settings.rasa_token,
        # Standard input decoded strictly, as under a UTF-8 locale such as en_US.UTF-8 (under C and C.UTF-8
        # Python would read the stray byte as a surrogate instead).
        "PYTHONIOENCODING": "utf-8",
    }
    chatted = subprocess.run(
        [LIAISON, "chat", "--user", user],
        input="路灯坏了".encode() + b"\xe5\n",
        env={**os.environ, **env},
        capture_output=True,
        timeout=300,
        cwd=ROOT,
    )
    assert chatted.returncode == 0, chatted.stderr.decode(errors="replace")
    assert "联络站>" in chatted.stdout.decode()
    async with one_session(settings.async_database_url) as session:
        said = (
            await session.execute(
                select(Message.text)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
                .where(ChannelIdentity.external_id == user, Message.direction == "in")
            )
        ).scalars()
        assert list(said) == ["路灯坏了\ufffd"]

"""Reply templates: what a department may start a reply from, chosen by the case's first-level topic.

The built-in templates are in `texts.staff.REPLY_TEMPLATES`; config.yml `cases.reply_templates` replaces those
of a topic it lists (or of 通用, offered for every topic). Pure: the caller passes the configured templates
and the case's facts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from settings.deployment import GENERAL_TEMPLATES, REPLY_TEMPLATE_FACTS
from texts import staff as texts


@dataclass(frozen=True)
class ReplyTemplate:
    title: str
    text: str


_FACT = re.compile(r"\{(" + "|".join(REPLY_TEMPLATE_FACTS) + r")\}")


def templates_for(topic: str, configured: Mapping[str, Sequence[ReplyTemplate]]) -> list[ReplyTemplate]:
    """The templates offered for a case of `topic`: its topic's first, then the general ones (通用)."""

    def of(key: str) -> list[ReplyTemplate]:
        if key in configured:
            return list(configured[key])
        return [ReplyTemplate(title, text) for title, text in texts.REPLY_TEMPLATES.get(key, ())]

    own = of(topic) if topic != GENERAL_TEMPLATES else []
    return own + of(GENERAL_TEMPLATES)


def fill(template: ReplyTemplate, facts: Mapping[str, str]) -> ReplyTemplate:
    """The template with the case's facts ({case_no}, {department}, {topic}, {place}) written in; a fact not
    known (an empty place) becomes a 【…】 blank for the handler to fill in."""
    text = _FACT.sub(lambda m: facts.get(m.group(1)) or texts.REPLY_TEMPLATE_BLANKS[m.group(1)], template.text)
    return ReplyTemplate(template.title, text)

"""Routing: which department a case goes to, from its topic."""

from __future__ import annotations

from settings import Department, Deployment

FALLBACK_TOPIC = "其他"


def route(topic: str, deployment: Deployment) -> Department:
    """The department owning `topic`; unknown topics go to the owner of 其他 (config guarantees one)."""
    for dept in deployment.departments:
        if topic in dept.topics:
            return dept
    return route(FALLBACK_TOPIC, deployment)

"""One settings object for the process (environment) and one for the deployment (config.yml).

Every other package may import this one; it imports nothing of ours.
"""

from settings.deployment import (
    TOPICS,
    CalendarOverrides,
    ConfigError,
    Department,
    Deployment,
    Deputy,
    DutySession,
    PublishedYear,
    Station,
    load_deployment,
)
from settings.environment import SIGNED_CHANNELS, Settings, get_settings

__all__ = [
    "SIGNED_CHANNELS",
    "TOPICS",
    "CalendarOverrides",
    "ConfigError",
    "Deployment",
    "Department",
    "Deputy",
    "DutySession",
    "PublishedYear",
    "Settings",
    "Station",
    "get_settings",
    "load_deployment",
]

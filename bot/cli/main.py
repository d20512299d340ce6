"""The `liaison` command: the top-level group and the registration of every command group.

Each group lives in its own module next to the code its commands call. The modules keep their heavy
imports inside the commands, so `liaison --help` stays fast.
"""

from __future__ import annotations

import click

from bot.cli import cases, db, nlu, reception, reports, run, users, wechat, workdays


@click.group()
def main() -> None:
    """网上代表联络站: the liaison station bot."""


for _command in (
    run.serve,
    run.run,
    run.chat,
    run.worker,
    users.user,
    db.db,
    nlu.nlu,
    cases.case,
    reports.report,
    reports.export,
    reports.deputy,
    wechat.wechat,
    reception.reception,
    workdays.calendar,
):
    main.add_command(_command)


if __name__ == "__main__":
    main()

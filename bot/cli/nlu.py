"""`liaison nlu train|serve|parse|eval`: the NLU as the contract describes it.

`parse` and `eval` use the Rasa server at RASA_URL, or start one for the duration of the command.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from settings import TOPICS, Settings, get_settings
from texts import staff as staff_texts

if TYPE_CHECKING:
    from nlu.client import Understanding

PARSE_TIMEOUT = 30.0


@click.group("nlu")
def nlu() -> None:
    """The Rasa NLU: train, serve, parse, eval."""


@nlu.command("train")
@click.option("--force", is_flag=True, help="train even if the model of these inputs exists")
def train(force: bool) -> None:
    """Train the model if its data or pipeline changed."""
    from nlu import project

    path, trained = project.train(force=force)
    click.echo(f"{'trained' if trained else 'up to date'}: {path}")


@nlu.command("serve")
@click.option("--port", default=None, type=int, help="default: the port of RASA_URL")
def nlu_serve(port: int | None) -> None:
    """Run the Rasa server in the foreground, on RASA_HOST, its API behind RASA_TOKEN."""
    from nlu import project
    from nlu.server import port_of

    settings = get_settings()
    if not settings.rasa_token:
        raise click.ClickException(
            "RASA_TOKEN is not set: Rasa's API answers only to a token, and the bot's processes need the same one "
            "(e.g. export RASA_TOKEN=$(openssl rand -hex 24) for both)"
        )
    sys.exit(project.serve(port or port_of(settings.rasa_urls[0]), host=settings.rasa_host, token=settings.rasa_token))


@nlu.command("parse")
def parse() -> None:
    """Read one message a line on standard input; print one JSON object a line."""
    asyncio.run(parse_lines(get_settings(), sys.stdin, sys.stdout))


@nlu.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def evaluate(file: Path, as_json: bool) -> None:
    """Intent accuracy and macro-F1 on FILE (and topic macro-F1 when it has topics)."""
    report = asyncio.run(evaluate_file(get_settings(), file))
    click.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else report["text"])


@contextlib.asynccontextmanager
async def _understanding(settings: Settings) -> AsyncIterator[Understanding]:
    from nlu.client import RasaParser, Understanding
    from nlu.server import RasaProcess, port_of
    from nlu.topics import TopicClassifier

    parser = RasaParser(settings.rasa_url, PARSE_TIMEOUT, settings.rasa_token)
    process = None
    if not await parser.ready():
        await parser.close()
        process = RasaProcess(port_of(settings.rasa_urls[0]))
        process.start()
        process.wait_ready()
        parser = RasaParser(process.url, PARSE_TIMEOUT, process.token)
    try:
        yield Understanding(parser, TopicClassifier.from_project())
    finally:
        await parser.close()
        if process:
            process.stop()


async def parse_lines(settings: Settings, lines: TextIO, out: TextIO) -> None:
    async with _understanding(settings) as understanding:
        for line in lines:
            text = line.rstrip("\n")
            if not text.strip():
                continue
            result = await understanding.understand(text)
            out.write(json.dumps(result.as_contract(), ensure_ascii=False) + "\n")
            out.flush()


async def evaluate_file(settings: Settings, path: Path) -> dict[str, Any]:
    from nlu.evaluation import intent_scores, load_eval_file, topic_macro_f1

    rows = load_eval_file(path)
    async with _understanding(settings) as understanding:
        results = [await understanding.understand(row.text) for row in rows]
    scores = intent_scores([r.intent for r in rows], [res.intent for res in results])
    report: dict[str, Any] = {"file": str(path), "messages": len(rows), **scores}
    lines = [
        f"{path}: {len(rows)} messages",
        f"intent accuracy {scores['accuracy']:.3f}   intent macro-F1 {scores['macro_f1']:.3f}",
    ]
    if "report_issue" in scores.get("recall", {}):
        lines.append(f"report_issue recall {scores['recall']['report_issue']:.3f}")
    # A `category` column is a topic only when its values are topics (the 12345 file's are request types).
    if rows and all(r.topic in TOPICS for r in rows):
        # Macro-F1 over the routing topics the file has (the real file has all seven).
        labels = [t for t in TOPICS if t != "其他" and any(r.topic == t for r in rows)]
        report["topic_macro_f1"] = topic_macro_f1([r.topic or "" for r in rows], [res.topic for res in results], labels)
        lines.append(f"topic macro-F1 {report['topic_macro_f1']:.3f}")
    report["text"] = "\n".join(lines)
    return report


@nlu.command("corrections")
@click.option(
    "--evaluation-data",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(__file__).resolve().parents[3] / "shared" / "data",
    show_default=True,
    help="the evaluation data (real messages): any text found there is left out",
)
def corrections(evaluation_data: Path) -> None:
    """Export the staff's corrections as candidate training data (nlu/data/corrections.yml)."""
    from bot.cli.common import load_settings

    written, left_out, path = asyncio.run(export_corrections(load_settings(), evaluation_data))
    click.echo(staff_texts.NLU_CORRECTIONS_WRITTEN.format(path=path, written=written, left_out=left_out))


def evaluation_texts(folder: Path) -> list[str]:
    """Every text cell of the evaluation CSV files (messages, subjects, replies), for the export to avoid."""
    import csv

    found: list[str] = []
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.reader(f):
                found += [cell for cell in row if len(cell) >= 4]
    return found


async def export_corrections(settings: Settings, evaluation_data: Path) -> tuple[int, int, Path]:
    from services import nlu_review
    from storage.db import make_engine, make_sessionmaker

    engine = make_engine(settings.async_database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            written, left_out = await nlu_review.export_corrections(session, evaluation_texts(evaluation_data))
    finally:
        await engine.dispose()
    return written, left_out, nlu_review.CORRECTIONS_FILE

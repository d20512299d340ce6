"""What masking costs on real messages: the three lists mask a summary of every case (and the results list
of its answer too), so the cost per row is what decides whether a list of thousands is cheap.

    .venv/bin/python -m bench.masking

Reads shared/data/citizen_messages_with_replies.csv at run time (2,816 messages with their official
replies) and prints: the time to make the masked summaries of a message and its reply for every row, first
and again (the names found are remembered); the throughput of `mask_text` on whole messages; and how many
messages hold a name the masking found.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from casework import privacy

ROOT = Path(__file__).resolve().parent.parent
# Real citizen messages, read at run time for measuring only (never copied into the project).
CORPUS = ROOT.parent / "shared" / "data" / "citizen_messages_with_replies.csv"


def main() -> None:
    with CORPUS.open(encoding="utf-8") as f:
        rows = [(r["text"], r["reply"]) for r in csv.DictReader(f)]
    privacy.warm_up()
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        for text, reply in rows:
            privacy.summary(text)
            privacy.summary(reply)
        timings.append(time.perf_counter() - start)
    texts = [text for text, _ in rows]
    characters = sum(map(len, texts))
    start = time.perf_counter()
    for text in texts:
        privacy.mask_text(text)
    whole = time.perf_counter() - start
    named = sum(1 for text in texts if privacy.find_names(text))
    first, again = timings
    print(f"rows: {len(rows)} (a message and its reply each)")
    print(f"summaries, first: {first:.2f} s, {1000 * first / len(rows):.2f} ms a row")
    print(f"summaries, again: {again:.2f} s, {1000 * again / len(rows):.2f} ms a row")
    print(f"mask_text of whole messages: {characters} characters in {whole:.2f} s, {characters / whole:,.0f} a second")
    print(f"messages with a name found: {named} of {len(texts)}")


if __name__ == "__main__":
    main()

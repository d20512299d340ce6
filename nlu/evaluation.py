"""Evaluation helpers for the NLU: reading labelled files and scoring predictions.

Pure functions; the only I/O is reading the evaluation file. Used by ``liaison nlu eval`` and by
the throwaway measurement scripts.

File format (CSV, UTF-8, header row):
- ``text`` (required): the message;
- ``subject`` (optional): a title, prefixed to the text as ``subject + "，" + text``
  (pass ``use_subject=False`` to score the text alone);
- ``intent`` (optional): the gold intent; a file without an ``intent`` column holds citizens'
  reports, so every row is expected to be ``report_issue``;
- ``topic`` or ``category`` (optional): the gold first-level topic.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPORT_INTENT = "report_issue"


@dataclass(frozen=True)
class EvalRow:
    text: str
    intent: str = REPORT_INTENT
    topic: str | None = None


def load_eval_file(path: str | Path, *, use_subject: bool = True) -> list[EvalRow]:
    """Read an evaluation CSV (see the module docstring for its columns)."""
    rows: list[EvalRow] = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        fields = set(reader.fieldnames or [])
        if "text" not in fields:
            raise ValueError(f"{path}: no 'text' column")
        topic_column = "topic" if "topic" in fields else "category" if "category" in fields else None
        for record in reader:
            text = (record.get("text") or "").strip()
            subject = (record.get("subject") or "").strip() if use_subject else ""
            if subject:
                text = f"{subject}，{text}" if text else subject
            if not text:
                continue
            intent = (record.get("intent") or "").strip() if "intent" in fields else ""
            topic = (record.get(topic_column) or "").strip() or None if topic_column else None
            rows.append(EvalRow(text=text, intent=intent or REPORT_INTENT, topic=topic))
    return rows


def _per_label(gold: Sequence[str], predicted: Sequence[str], labels: Iterable[str]) -> dict[str, dict]:
    stats: dict[str, dict] = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        stats[label] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    return stats


def intent_scores(gold: Sequence[str], predicted: Sequence[str], labels: Iterable[str] | None = None) -> dict:
    """Accuracy, macro-F1 and per-intent recall.

    The macro average runs over ``labels`` (default: the intents present in ``gold``), so a
    prediction outside them (``nlu_fallback``, say) counts as a miss without adding a class.
    Returns ``{"accuracy", "macro_f1", "recall": {intent: r}, "per_intent": {intent: {precision,
    recall, f1, support}}, "n"}``.
    """
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    n = len(gold)
    label_list = sorted(set(gold)) if labels is None else list(labels)
    stats = _per_label(gold, predicted, label_list)
    accuracy = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / n if n else 0.0
    macro = sum(s["f1"] for s in stats.values()) / len(stats) if stats else 0.0
    return {
        "accuracy": accuracy,
        "macro_f1": macro,
        "recall": {label: s["recall"] for label, s in stats.items()},
        "per_intent": stats,
        "n": n,
    }


def topic_macro_f1(gold: Sequence[str], predicted: Sequence[str], labels: Iterable[str]) -> float:
    """Macro-F1 over ``labels``; predictions outside them (e.g. "其他") only lower recall."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    stats = _per_label(gold, predicted, list(labels))
    return sum(s["f1"] for s in stats.values()) / len(stats) if stats else 0.0

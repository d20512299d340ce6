"""Topic routing: which first-level topic (and so which department) a citizen's message belongs to.

A multinomial naive Bayes classifier in plain Python, trained when it is loaded (a few tens of
milliseconds) from the project's own examples and keyword lists in ``nlu/data/topics.yml``:

- features: character bigrams of the message, plus one ``kw:`` feature for each listed keyword
  found in it (substring match, so no word segmentation is needed and jieba is not loaded);
- each topic's keyword list (hand-picked words plus the topic taxonomy's label names) is added
  to that topic's training counts as a pseudo-document, so a keyword is strong evidence;
- the confidence is the posterior probability, computed with the log-likelihood scaled down by
  the message length so that long messages do not all come out at 1.0.

``classify`` answers "其他" when "其他" wins, when the message has no known feature
(confidence 0.0), or when it is short and names no topic keyword (small talk such as
"今天天气不错"): then the confidence is ``1 - p/2`` where ``p`` is the best topic's posterior.
A long message without any keyword keeps its best topic, with the confidence halved.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from pathlib import Path

import yaml

DATA_FILE = Path(__file__).resolve().parent / "data" / "topics.yml"
CORRECTIONS_FILE = DATA_FILE.with_name("corrections.yml")
ENTITY_MARK = re.compile(r"\[([^\]]*)\]\([a-z_]+\)")


def corrected_examples(path: Path) -> dict[str, list[str]]:
    """The texts of staff corrections by topic (Rasa examples whose metadata names one), entity marks removed."""
    if not path.exists():
        return {}
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found: dict[str, list[str]] = {}
    for block in document.get("nlu") or []:
        for example in block.get("examples") or []:
            if isinstance(example, dict) and (example.get("metadata") or {}).get("topic"):
                found.setdefault(example["metadata"]["topic"], []).append(ENTITY_MARK.sub(r"\1", example["text"]))
    return found


OTHER = "其他"

# Weight of a keyword pseudo-document relative to one example message.
KEYWORD_WEIGHT = 3.0
TAXONOMY_WEIGHT = 1.0
# Additive smoothing of the feature counts.
ALPHA = 0.1
# Posterior temperature: log-likelihoods are divided by max(1, n_features / LENGTH_SCALE).
LENGTH_SCALE = 4.0
# Count each feature once per message (binarised naive Bayes): steadier on long, repetitive text.
BINARY = False
# Below this many known features, a message without any topic keyword is routed to "其他".
SHORT_MESSAGE = 12

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+|[A-Za-z]+|\d+")


def _bigrams(text: str) -> list[str]:
    feats: list[str] = []
    for run in _CJK_RUN.findall(text):
        if run.isascii():
            feats.append("w:" + run.lower())
            continue
        if len(run) == 1:
            feats.append("c:" + run)
        feats.extend("b:" + run[i : i + 2] for i in range(len(run) - 1))
    return feats


class TopicClassifier:
    """Multinomial naive Bayes over character bigrams and keyword hits."""

    _cached: TopicClassifier | None = None
    _lock = threading.Lock()

    def __init__(self, topics: dict[str, dict]) -> None:
        if not topics:
            raise ValueError("no topics to train on")
        self.labels: list[str] = list(topics)
        self.keywords: list[str] = sorted(
            {kw for spec in topics.values() for kw in spec.get("keywords", []) or []},
            key=len,
            reverse=True,
        )
        counts: dict[str, Counter] = {label: Counter() for label in self.labels}
        docs: Counter = Counter()
        for label, spec in topics.items():
            for example in spec.get("examples", []) or []:
                counts[label].update(self._features(example))
                docs[label] += 1
            for kw in spec.get("keywords", []) or []:
                for feat in ["kw:" + kw, *_bigrams(kw)]:
                    counts[label][feat] += KEYWORD_WEIGHT
            for name in spec.get("taxonomy", []) or []:
                for feat in _bigrams(name):
                    counts[label][feat] += TAXONOMY_WEIGHT
        self.vocabulary: set[str] = set().union(*counts.values())
        size = len(self.vocabulary)
        total_docs = sum(docs.values()) or 1
        self.log_prior = {label: math.log((docs[label] + 1) / (total_docs + len(self.labels))) for label in self.labels}
        self.log_likelihood: dict[str, dict[str, float]] = {}
        self.log_unseen: dict[str, float] = {}
        for label in self.labels:
            denominator = sum(counts[label].values()) + ALPHA * size
            self.log_likelihood[label] = {
                feat: math.log((n + ALPHA) / denominator) for feat, n in counts[label].items()
            }
            self.log_unseen[label] = math.log(ALPHA / denominator)

    # loading
    @classmethod
    def from_file(cls, path: str | Path) -> TopicClassifier:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
        return cls(data.get("topics") or {})

    @classmethod
    def from_project(cls) -> TopicClassifier:
        """The classifier trained on ``nlu/data/topics.yml`` and the topics of staff corrections
        (``nlu/data/corrections.yml``, the examples' metadata); built once per process."""
        with cls._lock:
            if cls._cached is None:
                with open(DATA_FILE, encoding="utf-8") as f:
                    topics = (yaml.safe_load(f) or {}).get("topics") or {}
                for topic, texts in corrected_examples(CORRECTIONS_FILE).items():
                    if topic in topics:
                        topics[topic] = {**topics[topic], "examples": [*topics[topic].get("examples", []), *texts]}
                cls._cached = cls(topics)
            return cls._cached

    # predicting
    def _features(self, text: str) -> list[str]:
        feats = _bigrams(text)
        lowered = text.lower()
        for kw in self.keywords:
            if kw.lower() in lowered:
                feats.append("kw:" + kw)
        if BINARY:
            feats = list(dict.fromkeys(feats))
        return feats

    def scores(self, text: str) -> dict[str, float]:
        """Posterior probability of every topic (sums to 1); empty when nothing is known."""
        return self._posterior([f for f in self._features(text or "") if f in self.vocabulary])

    def _posterior(self, feats: list[str]) -> dict[str, float]:
        if not feats:
            return {}
        scale = max(1.0, len(feats) / LENGTH_SCALE)
        raw: dict[str, float] = {}
        for label in self.labels:
            table, unseen = self.log_likelihood[label], self.log_unseen[label]
            loglik = sum(table.get(f, unseen) for f in feats)
            raw[label] = self.log_prior[label] + loglik / scale
        top = max(raw.values())
        exp = {label: math.exp(v - top) for label, v in raw.items()}
        total = sum(exp.values())
        return {label: v / total for label, v in exp.items()}

    def classify(self, text: str) -> tuple[str, float]:
        """(topic, confidence in [0, 1]); ("其他", …) when nothing fits."""
        feats = [f for f in self._features(text or "") if f in self.vocabulary]
        posterior = self._posterior(feats)
        if not posterior:
            return OTHER, 0.0
        label = max(posterior, key=posterior.__getitem__)
        confidence = posterior[label]
        if label != OTHER and not any(f.startswith("kw:") for f in feats):
            if len(feats) < SHORT_MESSAGE:
                return OTHER, round(1.0 - confidence / 2, 4)
            confidence /= 2
        return label, round(confidence, 4)

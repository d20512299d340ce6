"""Topic routing: which first-level topic (and so which department) a citizen's message belongs to.

A scikit-learn model trained when it is loaded, once per process (about a second on 2 cores, plus
a second to import scikit-learn), from the project's own data in ``nlu/data/topics.yml`` and the
staff's corrections in ``nlu/data/corrections.yml`` (``corrected_examples``):

- documents: every written example and every corrected message under its topic; every keyword and
  every taxonomy label name as a one-phrase pseudo-document of its topic (``KEYWORD_WEIGHT``);
- features: TF-IDF over character 2- and 3-grams (sublinear term frequency, digits folded to 0), so
  no word segmentation is needed and jieba is not loaded. Single characters are left out: every
  topic's long letters share them, and with them the real messages were routed worse;
- model: a linear SVM (``LinearSVC``, classes balanced, fixed ``random_state``) whose scores are
  turned into probabilities by Platt scaling, ``CalibratedClassifierCV(method="sigmoid")``, over 5
  folds in which only written examples are held out: the keyword pseudo-documents always stay in
  training, since how sure the model is of a lone keyword says nothing about a message. The
  probabilities are the average of the 5 calibrated fold models. (Temperature scaling was tried:
  on the real messages it was overconfident, mean confidence 0.95 for an accuracy of 0.87, and
  its log-loss worse, 0.60 against 0.45.)

Training is deterministic: the same data gives the same model and the same scores.

``classify`` answers the most probable topic and its probability; "其他" also covers small talk
(the data has such examples). A text without any character pair the model has seen (empty,
"在干嘛呢") is ("其他", 0.0), and ``scores`` is then empty.

The calibration is learnt on our own examples, not on real letters. On the real messages of
``citizen_messages_topics.csv`` it errs on the cautious side: the mean confidence is 0.78 for an
accuracy of 0.87; of the messages below 0.5 about 56 % are right, of those at 0.9 or more 98 %.
With a handful of examples per topic (a test file) the probabilities say little.

Bus and coach services (routes, stops, timetables, drivers) are 交通运输; the metro's lines,
stations and works stay 城乡建设 as the taxonomy files them (地铁城铁).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer

DATA_FILE = Path(__file__).resolve().parent / "data" / "topics.yml"
CORRECTIONS_FILE = DATA_FILE.with_name("corrections.yml")
ENTITY_MARK = re.compile(r"\[([^\]]*)\]\([a-z_]+\)")

OTHER = "其他"

# Character n-grams the TF-IDF reads (pairs and triples of characters).
NGRAMS = (2, 3)
# Weight of one keyword or taxonomy pseudo-document relative to one written example.
KEYWORD_WEIGHT = 2.0
# The SVM's regularisation (larger: fits the examples more closely).
SVM_C = 1.0
# Folds of the calibration (fewer when there are fewer examples); fixed seed, so training is deterministic.
CALIBRATION_FOLDS = 5
RANDOM_STATE = 0

_DIGITS = re.compile(r"\d+")
# libyaml's loader when PyYAML has it: the training data is read ten times faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_YAML_LOADER)


def corrected_examples(path: Path) -> dict[str, list[str]]:
    """The texts of staff corrections by topic (Rasa examples whose metadata names one), entity marks removed."""
    if not path.exists():
        return {}
    document = _load_yaml(path.read_text(encoding="utf-8")) or {}
    found: dict[str, list[str]] = {}
    for block in document.get("nlu") or []:
        for example in block.get("examples") or []:
            if isinstance(example, dict) and (example.get("metadata") or {}).get("topic"):
                found.setdefault(example["metadata"]["topic"], []).append(ENTITY_MARK.sub(r"\1", example["text"]))
    return found


def _normalise(text: str) -> str:
    # House numbers, dates and phone numbers say nothing about the topic.
    return _DIGITS.sub("0", text.lower())


@dataclass(frozen=True)
class _Document:
    text: str
    label: str
    weight: float
    example: bool  # a written example (or correction), not a keyword or a label name


def _documents(topics: dict[str, dict[str, Any]]) -> list[_Document]:
    documents: list[_Document] = []
    for label, spec in topics.items():
        documents += [_Document(str(text), label, 1.0, True) for text in spec.get("examples") or []]
        phrases = [*(spec.get("keywords") or []), *(spec.get("taxonomy") or [])]
        documents += [_Document(str(phrase), label, KEYWORD_WEIGHT, False) for phrase in phrases]
    return documents


def _calibration_folds(documents: list[_Document]) -> list[tuple[list[int], list[int]]]:
    """(training, held-out) positions of each calibration fold.

    Only examples are held out, and only those of topics with two or more, spread over the folds by
    topic: so every fold trains on every topic. Seeded, so the folds are the same on every load.
    """
    from sklearn.model_selection import StratifiedKFold

    per_topic = Counter(d.label for d in documents if d.example)
    candidates = [i for i, d in enumerate(documents) if d.example and per_topic[d.label] >= 2]
    if not candidates:
        raise ValueError("the topic router needs a topic with at least two examples to calibrate")
    labels = [documents[i].label for i in candidates]
    folds = StratifiedKFold(
        n_splits=min(CALIBRATION_FOLDS, min(Counter(labels).values())), shuffle=True, random_state=RANDOM_STATE
    )
    splits = []
    for _, test in folds.split(candidates, labels):
        held = {candidates[i] for i in test}
        splits.append(([i for i in range(len(documents)) if i not in held], sorted(held)))
    return splits


class _CalibratedArithmetic:
    """What ``CalibratedClassifierCV(LinearSVC, method="sigmoid").predict_proba`` computes, as plain array
    arithmetic: each fold's linear decision, its per-class sigmoid, normalised over the classes, averaged over
    the folds. scikit-learn's own call checks its input on every step and every fold, which cost about 5 ms a
    message; this is the same sum in a tenth of a millisecond (a unit test holds the two equal)."""

    def __init__(self, model: CalibratedClassifierCV) -> None:
        import numpy as np

        classes = [str(c) for c in model.classes_]
        self._np = np
        self._count = len(classes)
        self._folds: list[tuple[Any, Any, Any, Any, list[int]]] = []
        for fold in model.calibrated_classifiers_:
            estimator = fold.estimator
            self._folds.append(
                (
                    np.asarray(estimator.coef_, dtype=float).T,
                    np.asarray(estimator.intercept_, dtype=float),
                    np.array([c.a_ for c in fold.calibrators], dtype=float),
                    np.array([c.b_ for c in fold.calibrators], dtype=float),
                    [classes.index(str(c)) for c in estimator.classes_],
                )
            )

    def __call__(self, features: Any) -> Any:
        np = self._np
        rows = features.shape[0]
        mean = np.zeros((rows, self._count))
        for weights, intercept, a, b, columns in self._folds:
            decision = np.asarray(features @ weights) + intercept
            calibrated = 1.0 / (1.0 + np.exp(a * decision + b))
            proba = np.zeros((rows, self._count))
            if self._count == 2:
                # Binary: one decision, for the second class.
                proba[:, 1] = calibrated[:, 0]
                proba[:, 0] = 1.0 - proba[:, 1]
            else:
                proba[:, columns] = calibrated
                total = proba.sum(axis=1, keepdims=True)
                proba = np.divide(proba, total, out=np.full_like(proba, 1 / self._count), where=total != 0)
            proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
            mean += proba
        return mean / len(self._folds)


class TopicClassifier:
    """Character n-gram TF-IDF, a linear SVM and calibrated probabilities (scikit-learn).

    Built once and then read-only: ``classify`` and ``scores`` may be called from several threads.
    """

    _cached: TopicClassifier | None = None
    _lock = threading.Lock()

    def __init__(self, topics: dict[str, dict[str, Any]]) -> None:
        """Train on ``{topic: {"examples": [...], "keywords": [...], "taxonomy": [...]}}``.

        Raises ValueError without topics, or when no topic has two examples (the calibration holds some out).
        """
        if not topics:
            raise ValueError("no topics to train on")
        # scikit-learn (with numpy and scipy) takes about a second to import: only processes that
        # route topics pay for it, not every `liaison` command that imports the NLU client.
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        self.labels: list[str] = list(topics)
        documents = _documents(topics)
        texts = [d.text for d in documents]
        self.vectorizer: TfidfVectorizer = TfidfVectorizer(
            analyzer="char", ngram_range=NGRAMS, sublinear_tf=True, preprocessor=_normalise
        )
        features = self.vectorizer.fit_transform(texts)
        self.model: CalibratedClassifierCV = CalibratedClassifierCV(
            LinearSVC(C=SVM_C, class_weight="balanced", random_state=RANDOM_STATE),
            method="sigmoid",
            cv=_calibration_folds(documents),
        )
        self.model.fit(features, [d.label for d in documents], sample_weight=[d.weight for d in documents])
        self._classes: list[str] = [str(c) for c in self.model.classes_]
        self._probabilities = _CalibratedArithmetic(self.model)

    # loading
    @classmethod
    def from_file(cls, path: str | Path) -> TopicClassifier:
        data = _load_yaml(Path(path).read_text(encoding="utf-8")) or {}
        return cls(data.get("topics") or {})

    @classmethod
    def from_project(cls) -> TopicClassifier:
        """The classifier trained on ``nlu/data/topics.yml`` and the topics of staff corrections
        (``nlu/data/corrections.yml``, the examples' metadata); built once per process, under a lock."""
        with cls._lock:
            if cls._cached is None:
                topics = (_load_yaml(DATA_FILE.read_text(encoding="utf-8")) or {}).get("topics") or {}
                for topic, texts in corrected_examples(CORRECTIONS_FILE).items():
                    if topic in topics:
                        topics[topic] = {**topics[topic], "examples": [*topics[topic].get("examples", []), *texts]}
                cls._cached = cls(topics)
            return cls._cached

    # predicting
    def scores(self, text: str) -> dict[str, float]:
        """Calibrated probability of every topic (sums to 1); empty when no n-gram of the text is known."""
        features = self.vectorizer.transform([text or ""])
        if not features.nnz:
            return {}
        probabilities = self._probabilities(features)[0]
        found = {label: float(p) for label, p in zip(self._classes, probabilities, strict=True)}
        return {label: found.get(label, 0.0) for label in self.labels}

    def classify(self, text: str) -> tuple[str, float]:
        """(topic, confidence in [0, 1]); ("其他", 0.0) when nothing of the text is known."""
        return self.classify_many([text])[0]

    def classify_many(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """`classify` of each text, in one pass of the vectorizer and the model (most of a call's cost is the
        call itself, not the rows)."""
        if not texts:
            return []
        features = self.vectorizer.transform([text or "" for text in texts])
        probabilities = self._probabilities(features)
        known = features.getnnz(axis=1)
        found: list[tuple[str, float]] = []
        for row, count in zip(probabilities, known, strict=True):
            if not count:
                found.append((OTHER, 0.0))
                continue
            scores = dict(zip(self._classes, row.tolist(), strict=True))
            label = max(self.labels, key=lambda name: scores.get(name, 0.0))
            found.append((label, round(scores.get(label, 0.0), 4)))
        return found

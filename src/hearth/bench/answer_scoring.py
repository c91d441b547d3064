"""How ``hearth bench memory --answers`` scores an answer: LoCoMo's own token F1 and exact match.

As LoCoMo's ``task_eval/evaluation.py`` (snap-research/locomo) defines them, so that figures
can be set beside published ones:

- normalise: drop commas, lower-case, strip punctuation, drop the words a, an, the and "and",
  collapse spaces;
- token F1: the words of the normalised answer and gold, each Porter-stemmed, compared as
  multisets;
- multi-hop (category 1): the answer and the gold are each split on commas, and the score is
  the mean, over the gold's parts, of the best F1 of any part of the answer;
- open-domain (category 3): only the gold's first ``;``-separated part counts;
- exact match: the normalised answer and gold have the same set of words (LoCoMo's
  ``exact_match_score``; it does not stem).

The stemmer is PyStemmer's ``porter`` (Martin Porter's algorithm, already a benchmark
dependency); LoCoMo uses NLTK's ``PorterStemmer``, whose default mode differs from the
original on a few rare words. Category 5 (adversarial) is not scored, as in the recall
benchmark.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from functools import lru_cache

_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the|and)\b")
MULTI_HOP = 1
OPEN_DOMAIN = 3


def normalise(text: str) -> str:
    """LoCoMo's ``normalize_answer``."""
    text = text.replace(",", "").lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("porter")


def _stems(text: str) -> list[str]:
    return _stemmer().stemWords(normalise(text).split())


def token_f1(answer: str, gold: str) -> float:
    """F1 of the stemmed, normalised words the answer shares with the gold."""
    said, wanted = _stems(answer), _stems(gold)
    same = sum((Counter(said) & Counter(wanted)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(said), same / len(wanted)
    return 2 * precision * recall / (precision + recall)


def multi_answer_f1(answer: str, gold: str) -> float:
    """Each comma-separated part of the gold, scored by the answer's best matching part."""
    parts = [p.strip() for p in answer.split(",")]
    wanted = [g.strip() for g in gold.split(",")]
    return sum(max(token_f1(p, g) for p in parts) for g in wanted) / len(wanted)


def exact_match(answer: str, gold: str) -> bool:
    return set(normalise(answer).split()) == set(normalise(gold).split())


def score(category: int, answer: str, gold: str) -> tuple[float, bool]:
    """(F1, exact match) of ``answer`` to a question of LoCoMo ``category`` 1-4."""
    if category == OPEN_DOMAIN:
        gold = gold.split(";")[0].strip()
    f1 = multi_answer_f1(answer, gold) if category == MULTI_HOP else token_f1(answer, gold)
    return f1, exact_match(answer, gold)

"""LoCoMo's answer scoring (task_eval/evaluation.py), on pairs worked out from its definition."""

from __future__ import annotations

import pytest

from hearth.bench.answer_scoring import exact_match, multi_answer_f1, normalise, score, token_f1


def test_normalising_drops_commas_case_punctuation_articles_and_and() -> None:
    assert normalise("The cat, and a dog!") == "cat dog"
    assert normalise("  An   apple's core. ") == "apples core"


def test_token_f1_of_the_same_words_is_one_and_of_other_words_zero() -> None:
    assert token_f1("7 May 2023", "7 May 2023") == 1.0
    assert token_f1("on 7 May, 2023.", "7 may 2023") == pytest.approx(2 * 0.75 / 1.75)
    assert token_f1("Tromsø", "Oslo") == 0.0


def test_token_f1_compares_porter_stems() -> None:
    assert token_f1("painting", "paints") == 1.0
    assert token_f1("She paints sunsets", "painting") == pytest.approx(0.5)


def test_token_f1_counts_repeated_words_once_per_match() -> None:
    # Prediction "dog dog": one of its two words matches the gold's one "dog".
    assert token_f1("dog dog", "dog") == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_multi_hop_scores_each_gold_part_by_the_best_answer_part() -> None:
    assert multi_answer_f1("pottery, camping", "pottery, camping, painting") == \
        pytest.approx(2 / 3)
    assert score(1, "camping, pottery", "pottery, camping")[0] == 1.0
    # Other categories do not split: the commas only vanish in normalising.
    assert score(4, "camping, pottery", "pottery, camping")[0] == 1.0


def test_open_domain_keeps_the_gold_before_its_first_semicolon() -> None:
    assert score(3, "Likely yes", "Likely yes; she enjoys music")[0] == 1.0


def test_exact_match_compares_the_sets_of_normalised_words() -> None:
    assert exact_match("The Pixel.", "pixel")
    assert exact_match("May 7", "7 May")
    assert not exact_match("Pixel the cat", "Pixel")
    assert score(2, "7 May 2023", "7 May 2023") == (1.0, True)

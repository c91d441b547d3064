"""Round-robin over upstream replicas, with failed ones tried last for a while."""

from __future__ import annotations

import time

from hearth.engines.replicas import Replicas


def urls(order: list) -> list[str]:
    return [replica.url for replica in order]


def test_each_request_starts_at_the_next_replica() -> None:
    replicas = Replicas(["a", "b", "c"])
    assert [urls(replicas.in_turn())[0] for _ in range(4)] == ["a", "b", "c", "a"]


def test_a_failed_replica_is_tried_last_until_its_cooldown_ends() -> None:
    replicas = Replicas(["a", "b"], cooldown_s=0.05)
    first = replicas.in_turn()
    replicas.failed(first[0])
    assert urls(replicas.in_turn()) == ["b", "a"]
    assert urls(replicas.in_turn()) == ["b", "a"]  # its turn again, but still cooling down
    time.sleep(0.06)
    assert urls(replicas.in_turn()) == ["b", "a"]
    assert urls(replicas.in_turn()) == ["a", "b"]


def test_a_replica_that_answers_again_is_healthy_at_once() -> None:
    replicas = Replicas(["a", "b"])
    replicas.failed(replicas.replicas[0])
    replicas.answered(replicas.replicas[0])
    assert urls(replicas.in_turn()) == ["a", "b"]

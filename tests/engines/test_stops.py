from hearth.engines.stops import StopMatcher


def feed_all(matcher: StopMatcher, pieces: list[str]) -> str:
    return "".join(matcher.feed(p) for p in pieces) + matcher.flush()


def test_text_before_a_stop_sequence_is_kept_and_the_rest_dropped() -> None:
    matcher = StopMatcher(["END"])
    assert feed_all(matcher, ["hello ", "wor", "ld E", "N", "D and more"]) == "hello world "
    assert matcher.stopped


def test_a_partial_stop_is_held_back_until_it_cannot_match() -> None:
    matcher = StopMatcher(["END"])
    assert matcher.feed("abc EN") == "abc "
    assert matcher.feed("X") == "ENX"
    assert not matcher.stopped


def test_without_stops_everything_passes_through() -> None:
    assert feed_all(StopMatcher([]), ["a", "b", "c"]) == "abc"


def test_the_earliest_of_several_stops_wins() -> None:
    assert feed_all(StopMatcher(["zz", "b"]), ["aab zz"]) == "aa"

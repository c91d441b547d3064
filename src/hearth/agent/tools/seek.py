"""Finding a hunk's lines in a file the way Codex's seek_sequence does: exactly first, then
ignoring trailing whitespace, then ignoring whitespace at both ends, then with typographic
punctuation read as ASCII. Small models get indentation and trailing spaces wrong far more
often than the words, and a near miss should not cost them a turn."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from difflib import SequenceMatcher

_TYPOGRAPHY = str.maketrans({
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    **dict.fromkeys("\u2018\u2019\u201a\u201b", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f", '"'),
    **dict.fromkeys("\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f"
                    "\u205f\u3000", " ")})

MAX_WINDOWS = 5000

_NORMALISERS: tuple[Callable[[str], str], ...] = (
    lambda line: line,
    str.rstrip,
    str.strip,
    lambda line: line.strip().translate(_TYPOGRAPHY),
)


def seek(lines: Sequence[str], pattern: Sequence[str], start: int, *,
         end_of_file: bool = False) -> int | None:
    """Index of the first run of `lines`, at or after `start`, matching `pattern`, trying
    each normaliser in turn from strictest to loosest; with `end_of_file`, a match at the very
    end of the file is tried first."""
    if not pattern:
        return start
    if len(pattern) > len(lines):
        return None
    last = len(lines) - len(pattern)
    starts = [last] if end_of_file else []
    starts += range(start, last + 1)
    for normalise in _NORMALISERS:
        wanted = [normalise(p) for p in pattern]
        for i in starts:
            if all(normalise(lines[i + k]) == wanted[k] for k in range(len(pattern))):
                return i
    return None


def closest(lines: Sequence[str], pattern: Sequence[str]) -> tuple[int, int] | None:
    """The (start, end) line range of `lines` that looks most like `pattern`, to show the model
    what the file really says where it expected its context; None for an empty file. Only the
    first `MAX_WINDOWS` places are compared, so a huge file answers quickly."""
    if not lines or not pattern:
        return None
    size = min(len(pattern), len(lines))
    wanted = "\n".join(p.strip() for p in pattern)
    best, best_score = 0, -1.0
    for i in range(min(len(lines) - size + 1, MAX_WINDOWS)):
        window = "\n".join(line.strip() for line in lines[i:i + size])
        matcher = SequenceMatcher(None, wanted, window, autojunk=False)
        if matcher.real_quick_ratio() <= best_score or matcher.quick_ratio() <= best_score:
            continue
        score = matcher.ratio()
        if score > best_score:
            best, best_score = i, score
    return best, best + size

"""The English function words a full-text search of many memories leaves out.

"what", "did", "my" and their like are in most questions and in many memories. A search for
them matches a large share of every user's memories and ranks all of those matches, the slow
part of a search on SQLite at 100,000 memories a user; ``hearth.store.memories`` leaves them
out from ``STOP_WORDS_FROM`` memories on (below that they help, and cost little). The list is
PostgreSQL's ``english`` stop words (the Snowball list), which its tsvector index always
drops, so there both databases search for the same words.
"""

from __future__ import annotations

STOP_WORDS = frozenset("""
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
she her hers herself it its itself they them their theirs themselves what which who whom this
that these those am is are was were be been being have has had having do does did doing a an
the and but if or because as until while of at by for with about against between into through
during before after above below to from up down in out on off over under again further then
once here there when where why how all any both each few more most other some such no nor not
only own same so than too very s t can will just don should now
""".split())

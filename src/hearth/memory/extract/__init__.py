"""Candidate memories from one message, by rules alone: no model, well under a millisecond.

After each user turn the message is split into sentences; greetings, thanks and short reactions
are dropped; every other sentence becomes (part of) a candidate: a standalone statement about the
speaker with relative dates made absolute. Consolidation later decides what to store.

The extractor is deliberately inclusive: a sentence is only dropped when it is made of social
words alone ("Thanks, Mel! That's so sweet."), because recall can only find what was kept.
Wording is kept as said, apart from turning "I"/"my"/"me" into the speaker's name where the
sentence stays grammatical; anything harder ("we", "myself", no first person at all) is kept
verbatim as "<Speaker> said: …". A bare answer ("Yes, last Friday!") carries the question it
answers: 'Asked "Did you go to the race?", Melanie said: yes, last Friday (5 May 2023)!'.

The modules, one job each: ``sentences`` (splitting and judging sentences), ``third_person``
(rewriting "I" as the speaker), ``facts`` (single-valued facts with a subject), ``classify``
(kind and importance) and ``candidates`` (putting them together).
"""

from hearth.memory.extract.candidates import MAX_CANDIDATES, Candidate, extract
from hearth.memory.extract.sentences import is_chitchat

__all__ = ["Candidate", "MAX_CANDIDATES", "extract", "is_chitchat"]

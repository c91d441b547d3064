"""A message's sentences, and what each one is: a statement, a question, or chit-chat.

Greetings, thanks, reactions and vocatives ("Hey Gina, ") are stripped before a sentence is
judged; a sentence made of social words alone says nothing worth remembering.
"""

from __future__ import annotations

import re

# Sentences this short are merged into a neighbour instead of standing alone.
TINY_WORDS = 4
_QUESTION_CHARS = 220


# Words that carry no information on their own: a sentence made only of these is chit-chat.

SOCIAL_WORDS = frozenset("""
a an the and or but so if then than that this these those it its there here to of in on at for
with about from by as into up out over off just really very too also still even much many more
most lot lots bit kind sort kinda sorta quite pretty such well
i me my mine myself you your yours yourself ya u we us our ours they them their he him his she
her hers
am is are was were be been being have has had do does did can could will would should shall may
might must s m re ve ll d t not no yes don doesn didn isn aren wasn weren haven hasn won wouldn
couldn shouldn can't cant dont im ive youre thats whats
hey hi hello hiya heya yo wow woah whoa oh ooh ah aw aww awww haha hahaha hehe lol lmao omg yay
woohoo wohoo hooray ugh hmm um uh oops phew gosh yeah yea yep yup nope nah ok okay alright sure
totally absolutely definitely indeed exactly right true agreed
cool nice great awesome amazing wonderful fantastic fabulous lovely sweet good glad happy sad
sorry thanks thank thx ty appreciate appreciated welcome congrats congratulations bravo kudos
cheers bye goodbye later soon care luck hug hugs xoxo best better super incredible impressive
inspiring interesting fun funny crazy wild exciting excited neat brilliant beautiful gorgeous
cute adorable terrific fab stunning wonderful awesome proud thrilled stoked pumped
see seeing saw talk talking chat chatting chatted hear hearing heard know knew think thought
agree sounds sound look looks looking looked seems seem mean means meant get getting got go
going take check catch keep let lets wait can hope hoping wish miss worry same too either
happen happened happening doing done asking
support encouragement words kindness help
thing things stuff way time day everything something anything nothing all everyone someone
one ones what how why when where who which whom whose now today tonight again always ever
long while soon yet already new man dude buddy mate girl guys bro
""".split())

TOKEN = re.compile(r"[a-z0-9]+")
_WORD = re.compile(r"[A-Za-z0-9]+")
# Questions that ask nothing ("How have you been?"): replies to them need no context.
_SOCIAL_QUESTION = re.compile(
    r"^(?:so\s+|and\s+)?(?:how(?:'s|'re|'ve|\s+is|\s+are|\s+have|\s+was|\s+were|\s+has|"
    r"\s+do)?\s+(?:you|ya|u|it|things|everything|life|your\s+day|your\s+week|been|it\s+going|"
    r"things\s+going)|what'?s\s+(?:up|new|going\s+on|happening)|anything\s+new|how\s+about\s+you|"
    r"what\s+about\s+you|and\s+you|you\b\W*$|right\b\W*$|really\b\W*$)",
    re.I)

_INTERJECTION = (
    r"(?:hey|hi|hello|hiya|heya|yo|wow|woah|whoa|oh|ooh|ah|aw+|haha\w*|hehe\w*|lol|omg|yay|"
    r"woo+hoo+|wohoo+|yeah|yea|yep|yup|yes|thanks|thank\s+you|thx|congrats|congratulations|ugh|"
    r"hmm+|um+|uh+|oops|phew|gosh)"
)
_PUNCTUATED_INTERJECTION = (
    r"(?:no|nope|nah|well|so|ok|okay|alright|sure|totally|absolutely|definitely|exactly|indeed|"
    r"right|true|cool|nice|great|awesome|amazing|wonderful|fantastic|sweet|lovely|good|perfect|"
    r"agreed|of\s+course|for\s+sure|oh\s+my|man|dude)"
)
# "Hey Gina, ", "Thanks so much, Maria! ", "Wow! ", "Yeah, ", "Sure thing, John. "
_LEADING = re.compile(
    rf"^(?:(?:{_INTERJECTION}(?:\s+(?:so\s+much|a\s+lot|a\s+bunch|a\s+ton|heaps|again|too|thing))?"
    rf"(?:\s*,?\s*[A-Z][a-z]+(?=\s*[,!.]))?|{_PUNCTUATED_INTERJECTION}(?:\s+thing)?)"
    rf"\s*[,!.:;\-]+\s*|{_INTERJECTION}\s+)+",
    re.I,
)
_TRAILING_NAME = re.compile(r",\s*([A-Z][a-z]+)\s*([.!?]*)\s*$")
_LEADING_NAME = re.compile(r"^([A-Z][a-z]+)\s*,\s*")
_PARTICLE_NAME = re.compile(
    r"^((?:yeah|yes|yep|yup|no|nope|nah|sure|definitely|absolutely|totally|exactly|of\s+course))"
    r"[\s,]+([A-Z][a-z]+)\s*([,!.])", re.I)

_SPACES = re.compile(r"[ \t\r\f\v]+")
# Greetings and thanks before an answer; unlike _LEADING this keeps "yes"/"no".
_GREETING = re.compile(
    r"^(?:(?:hey|hi|hello|wow|woah|whoa|oh|aww*|haha\w*|thanks|thank\s+you|congrats)"
    r"(?:\s+so\s+much)?(?:\s*,?\s*[A-Z][a-z]+)?\s*[,!.:;\-]+\s*)+",
    re.I)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?\u2026])[\"')\]]*\s+|\s*\n+\s*")
_ABBREVIATION_END = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|vs|etc|e\.g|i\.e|approx|Prof|Mt)\.$")
FIRST_ANY = re.compile(r"\b(?:I|i(?=['\s])|me|my|mine|myself|we|us|our|ours|ourselves)\b", re.I)


# "My husband and I go": a compound subject keeps the plural verb.
COMPOUND_BEFORE = re.compile(
    r"(?:\b(?i:my|his|her|their|your|our|the)\s+[\w-]+|\b[A-Z][a-z]+|\b(?:he|she|they|"
    r"you))\s+(?:and|or)\s+$")
# "…, and I work as …": where "and" starts a clause with its own "I", a new fact starts.
_AND_I = re.compile(r",?\s+and\s+(?=I(?:'m|'ve|'ll|'d)?\s)")
_CLAUSE_WORDS = 3  # both sides of a cut have at least this many words


def split_sentences(text: str) -> list[str]:
    pieces = [p.strip() for p in _SENTENCE_BREAK.split(text) if p and p.strip()]
    merged: list[str] = []
    for piece in pieces:
        if merged and _ABBREVIATION_END.search(merged[-1]):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


def clauses(sentence: str) -> list[str]:
    """The sentence cut before each "and I" that starts a clause of its own: "I moved to
    Tromsø and I work as a biologist" holds two facts, and a memory holds one. A compound
    subject ("Yesterday my husband and I went …") and short sides stay whole."""
    pieces: list[str] = []
    start = 0
    for match in _AND_I.finditer(sentence):
        before, after = sentence[start:match.start()], sentence[match.end():]
        if (len(before.split()) < _CLAUSE_WORDS or len(after.split()) < _CLAUSE_WORDS
                or COMPOUND_BEFORE.search(sentence, max(0, match.end() - 40), match.end())):
            continue
        pieces.append(before.strip().rstrip(",;") + ".")
        start = match.end()
    pieces.append(sentence[start:].strip())
    return pieces


def normalise(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return _SPACES.sub(" ", text).strip()


def _is_name(word: str, names: tuple[str, ...]) -> bool:
    low = word.lower()
    return any(len(low) >= 3 and n.startswith(low) for n in names)


def strip_social(sentence: str, names: tuple[str, ...]) -> str:
    """Drop leading interjections and vocatives: "Hey Gina, I had to …" → "I had to …"."""
    core = _LEADING.sub("", sentence)
    if core[:4].lower() == "for " and sentence[:5].lower() == "thank":
        core = "Thanks " + core  # "Thanks for the tips on X" keeps its sense
    leading = _LEADING_NAME.match(core)
    if leading and _is_name(leading.group(1), names):
        core = core[leading.end():]
    trailing = _TRAILING_NAME.search(core)
    if trailing and _is_name(trailing.group(1), names):
        core = core[:trailing.start()] + trailing.group(2)
    if core and core[0].islower() and not core.startswith("i "):
        core = core[0].upper() + core[1:]
    return core.strip()


def _content_words(core: str, names: tuple[str, ...]) -> list[str]:
    """Words in the sentence that carry information (not social words, not names)."""
    trailing = _TRAILING_NAME.search(core)
    if trailing:  # ", Mel!" at the end: a vocative even when the name is unknown
        core = core[:trailing.start()]
    leading = _LEADING_NAME.match(core)
    if leading:  # "Mel, that's great!"
        core = core[leading.end():]
    words = []
    for word in _WORD.findall(core):
        token = word.lower()
        if token in SOCIAL_WORDS or (len(token) < 2 and not token.isdigit()):
            continue
        if word[0].isupper() and _is_name(word, names):  # "Mel", not "car" for Caroline
            continue
        words.append(token)
    return words


def name_words(speaker: str, other: str | None) -> tuple[str, ...]:
    found = []
    for name in (speaker, other):
        if name:
            found.extend(part.lower() for part in name.split() if part)
    return tuple(found)


def is_chitchat(text: str) -> bool:
    """True when the message says nothing worth remembering on its own.

    Greetings, thanks, reactions ("That's great!", "haha") and questions are chit-chat: a
    question asks, it does not tell. Judged on the text alone: a bare "Yes!" is chit-chat
    here, though ``extract`` keeps it when it answers a question.
    """
    return not any(
        sentence_role(strip_social(s, ()), ()) == "statement"
        for s in split_sentences(normalise(text))
    )


def sentence_role(core: str, names: tuple[str, ...]) -> str | None:
    """'statement' (worth keeping), 'question' or None (chit-chat).

    Only a statement becomes a memory. 'question' is a question about the speaker ("Where do
    I live?", "Have you tried my cake?"): after it, the speaker has moved on from answering
    the other party. A question about the listener is None, like chit-chat.
    """
    if not core:
        return None
    if core.rstrip().endswith("?"):
        if not _content_words(core, names):
            return None
        return "question" if FIRST_ANY.search(core) else None
    return "statement" if _content_words(core, names) else None


def last_question(previous: str | None, names: tuple[str, ...]) -> str | None:
    """The question a reply answers, with the sentence before it when it is very short."""
    if not previous:
        return None
    sentences = [strip_social(s, names) for s in split_sentences(normalise(previous))]
    sentences = [s for s in sentences if s]
    index = next((i for i in range(len(sentences) - 1, -1, -1) if sentences[i].endswith("?")), None)
    if index is None:
        return None
    question = sentences[index]
    if len(question.split()) <= TINY_WORDS and index > 0 and len(
            sentences[index - 1].split()) <= 12:
        question = f"{sentences[index - 1]} {question}"
    elif _SOCIAL_QUESTION.match(question):
        return None
    if len(question) > _QUESTION_CHARS:
        question = "…" + question[-_QUESTION_CHARS:].split(" ", 1)[-1]
    return question.replace('"', "'")


def answer_text(sentence: str, names: tuple[str, ...]) -> str:
    """The reply minus vocatives and thanks, but with its "yes"/"no" kept."""
    text = sentence
    leading = _GREETING.match(text)
    if leading:
        text = text[leading.end():]
    trailing = _TRAILING_NAME.search(text)
    if trailing and _is_name(trailing.group(1), names):
        text = text[:trailing.start()] + trailing.group(2)
    vocative = _PARTICLE_NAME.match(text)  # "Yeah Maria, I'm …" → "Yeah, I'm …"
    if vocative and _is_name(vocative.group(2), names):
        text = vocative.group(1) + vocative.group(3) + text[vocative.end():]
    return text.strip()

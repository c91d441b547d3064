"""A sentence about the speaker, rewritten to stand alone: "I'm" → "Caroline is", "my" →
"Caroline's", "I love" → "Caroline loves", and a dropped "I" put back first ("Lost my job" →
"I lost my job"). What cannot be rewritten safely ("we",
"myself", quotes) is kept verbatim as "<Speaker> said: …".
"""

from __future__ import annotations

import re

from hearth.memory.extract.sentences import COMPOUND_BEFORE, SOCIAL_WORDS, TOKEN

# Sentence openers that are never names, so "said: it was …" may start in lower case.
_LOWER_OK = frozenset("""
please remember always never don't dont hopefully unfortunately luckily actually honestly
basically finally seriously sometimes usually maybe perhaps anyway besides plus also since
because after before during while although though once every each some any most both
answer respond reply write talk speak use keep suggest check call tell let make give try
""".split())

_FIRST_SINGULAR = re.compile(r"\b(?:I|i(?=['\s])|(?i:me|my|mine))\b")
_UNSAFE_FOR_THIRD_PERSON = re.compile(
    r"\b(?:we|us|our|ours|ourselves|myself|let's|lets|call\s+me|tell\s+me|let\s+me)\b|"
    r"[\"\u201c\u201d]", re.I)

# A subject left out: "Gonna continue my edu", "Lost my job yesterday", "Still working on it".
_SUBJECTLESS = re.compile(
    r"^(?:(?P<gonna>(?:gonna|going\s+to|about\s+to)(?!\s+be\b))|(?P<been>been|gotta)|"
    r"(?P<ing>(?:still|currently|just|really)\s+[a-z]+ing|(?:working|trying|planning|hoping|"
    r"thinking|looking|staying|getting|learning|training|studying|volunteering|saving|considering|"
    r"focusing|preparing)(?=\s+(?:to|on|for|of|about|into|forward|up|out|with|at|through|hard|"
    r"positive|busy|in)\b))\b(?!')|(?P<past>(?:just\s+|finally\s+|recently\s+|also\s+)?(?:had|got|"
    r"went|lost|started|finished|joined|tried|made|took|did|visited|bought|moved|saw|met|ran|"
    r"wanted|needed|learned|learnt|decided|signed|booked|found|adopted|spent|quit|retook|passed|"
    r"failed|won|gave|baked|cooked|painted|wrote|picked|launched|opened|received|helped|organized|"
    r"organised|attended|completed|graduated|hit|ended|used|have|need|want|love|loved|miss|missed|"
    r"wish|hope|can't\s+wait)\b))",
    re.I,
)

# "Taking care of ourselves is vital": the -ing word is the subject, nothing was left out.
_GERUND_SUBJECT = re.compile(
    r"^(?:still\s+|currently\s+|just\s+|really\s+)?[a-z]+ing(?:'s\b|(?:\s+[\w&'-]+){0,6}?\s+"
    r"(?:is|are|was|were|has|have|makes|made|helps|helped|looks|seems|feels|gives|keeps|can|"
    r"will|would|sounds|means)\b)",
    re.I)


_ADVERBS = frozenset("""
really just also always never often still even sometimes kinda only mostly already truly rarely
ever now then usually actually finally totally definitely absolutely recently currently honestly
seriously literally basically probably generally normally certainly personally especially
simply barely hardly nearly almost clearly slowly quickly gradually constantly regularly
""".split())
_UNCHANGED_AFTER_I = frozenset("""
can could will would should shall might must may can't couldn't won't wouldn't shouldn't mustn't
gonna wanna gotta
was wasn't did didn't had hadn't read put cut hit let set cost hurt quit shut spread bet
went got took made saw ran met came gave found bought ate drove flew felt left began brought
caught told thought won lost wrote spent sent built heard held kept paid sold taught wore swam
sang rode fell became chose forgot grew knew led slept spoke stood threw understood woke
said sat laid meant fed fought hid hung lit overcame rang rose shot shook sank slid spun stole
stuck struck swore swept swung tore wept broke forgave froze drew drank dug dealt
""".split())
_I_FORMS = re.compile(r"\b[Ii](?:['\u2019](m|ve|ll|d))?\b(?!\.)")
_ME = re.compile(r"\b(?:me|Me)\b(?!-)")
_MY = re.compile(r"\b(?:my|My|mine|Mine)\b")
_NEXT_WORD = re.compile(r"\s+([A-Za-z']+)")
_VOWEL_Y = re.compile(r"[aeiou]y$")
# Words that can follow "I" without being its verb ("you and I too", "than I alone").
_NOT_VERBS = frozenset(
    "and or but nor too as if so then than that who which alone myself personally in at on of to "
    "for with".split())
# Present-tense verbs that merely end in "-ed": "I need" becomes "Ann needs".
_PRESENT_IN_ED = frozenset(
    "need feed bleed breed speed proceed succeed exceed heed embed shed shred wed seed weed"
    .split())
_HAD_AFTER_I_D = frozenset({"been", "had", "gone", "done", "seen", "never", "already", "ever"})


def _third_person_verb(verb: str) -> str:
    low = verb.lower()
    special = {"am": "is", "have": "has", "do": "does", "don't": "doesn't", "haven't": "hasn't",
               "go": "goes", "be": "is", "'m": "is"}
    if low in special:
        return special[low]
    past = low.endswith("ed") and low not in _PRESENT_IN_ED
    if (low in _UNCHANGED_AFTER_I or low in _NOT_VERBS or past or low.endswith(("ing", "ly"))
            or not low.isalpha()):
        return verb
    if low.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if low.endswith("y") and not _VOWEL_Y.search(low):
        return verb[:-1] + "ies"
    return verb + "s"


def _rewrite_i(sentence: str, name: str) -> str:
    """Replace each "I" (and its contractions) by the name, keeping the verb in agreement."""
    out: list[str] = []
    position = 0
    for match in _I_FORMS.finditer(sentence):
        out.append(sentence[position:match.start()])
        position = match.end()
        contraction = match.group(1)
        compound = COMPOUND_BEFORE.search(
            sentence, max(0, match.start() - 40), match.start()) is not None
        if contraction == "m":
            out.append(f"{name} is" if not compound else f"{name} are")
            continue
        if contraction == "ve":
            out.append(f"{name} has" if not compound else f"{name} have")
            continue
        if contraction == "ll":
            out.append(f"{name} will")
            continue
        if contraction == "d":
            following = _NEXT_WORD.match(sentence, match.end())
            word = following.group(1).lower() if following else ""
            had = word in _HAD_AFTER_I_D or word.endswith("ed")  # "I'd been", "I'd finished"
            out.append(f"{name} had" if had else f"{name} would")
            continue
        out.append(name)
        if compound:
            continue
        # Skip adverbs ("I really love") and conjugate the verb that follows.
        cursor = match.end()
        while True:
            following = _NEXT_WORD.match(sentence, cursor)
            if not following:
                break
            word = following.group(1)
            if word.lower() in _ADVERBS:
                cursor = following.end()
                continue
            out.append(sentence[position:following.start(1)])
            out.append(_third_person_verb(word))
            position = following.end(1)
            break
    out.append(sentence[position:])
    text = "".join(out)
    text = _ME.sub(name, text)
    return _MY.sub(f"{name}'s", text)


def lower_first(text: str) -> str:
    """Lower-case the first word after "said:" unless it may be a name ("Paris!")."""
    first = TOKEN.match(text.lower())
    if first and (first.group() in SOCIAL_WORDS or first.group() in _LOWER_OK) and (
            not text.startswith(("I ", "I'"))):
        return text[0].lower() + text[1:]
    return text


def fill_subject(core: str) -> str:
    """Put back a dropped "I": "Lost my job" → "I lost my job", "Gonna go" → "I'm gonna go"."""
    match = _SUBJECTLESS.match(core)
    if not match or _GERUND_SUBJECT.match(core):
        return core
    start = core[0].lower() + core[1:]
    if match.group("gonna") or match.group("ing"):
        return f"I'm {start}"
    if match.group("been"):
        return f"I've {start}"
    return f"I {start}"


def standalone(core: str, filled: str, speaker: str) -> tuple[str, bool]:
    """The sentence about the speaker in the third person, or attributed: (text, attributed).

    ``filled`` is ``core`` with a dropped "I" put back; it is only used when the sentence can
    be turned into the third person, otherwise the words are kept exactly as said.
    """
    if _FIRST_SINGULAR.search(filled) and not _UNSAFE_FOR_THIRD_PERSON.search(filled):
        text = _rewrite_i(filled, speaker)
        return text[0].upper() + text[1:], False
    return f"{speaker} said: {lower_first(core)}", True

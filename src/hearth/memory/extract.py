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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from hearth.memory.dates import resolve_relative_dates, sentence_tense

__all__ = ["Candidate", "MAX_CANDIDATES", "extract", "is_chitchat"]

MAX_CANDIDATES = 8
# Sentences this short are merged into a neighbour instead of standing alone.
_TINY_WORDS = 4
_QUESTION_CHARS = 220


@dataclass(frozen=True)
class Candidate:
    """One statement worth remembering, before consolidation decides whether to store it.

    ``subject``/``value`` are set for single-valued facts ("lives_in"/"Berlin"), so that a later
    candidate with the same subject and another value supersedes this one.
    """

    kind: str
    text: str
    observed_at: datetime
    importance: float
    subject: str | None = None
    value: str | None = None
    quotes_previous: bool = False  # the text quotes the other party's question


# ---------------------------------------------------------------------------------------------
# Words that carry no information on their own: a sentence made only of these is chit-chat.

_SOCIAL_WORDS = frozenset("""
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

_TOKEN = re.compile(r"[a-z0-9]+")
_WORD = re.compile(r"[A-Za-z0-9]+")
# Sentence openers that are never names, so "said: it was …" may start in lower case.
_LOWER_OK = frozenset("""
please remember always never don't dont hopefully unfortunately luckily actually honestly
basically finally seriously sometimes usually maybe perhaps anyway besides plus also since
because after before during while although though once every each some any most both
answer respond reply write talk speak use keep suggest check call tell let make give try
""".split())
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

_ANSWER_PARTICLE = re.compile(
    r"^(?:yes|yeah|yep|yup|yea|no|nope|nah|sure|definitely|absolutely|of\s+course|totally|"
    r"not\s+(?:yet|really|at\s+all)|never|always|sometimes|both|neither|exactly|kind\s+of|"
    r"i\s+(?:did|do|have|am|was|will|didn't|don't|haven't|wasn't|won't)|it\s+(?:was|is)|"
    r"it's|they\s+(?:were|are)|that\s+was|i\s+sure\s+did)\b",
    re.I,
)
_PARTICLE_NAME = re.compile(
    r"^((?:yeah|yes|yep|yup|no|nope|nah|sure|definitely|absolutely|totally|exactly|of\s+course))"
    r"[\s,]+([A-Z][a-z]+)\s*([,!.])", re.I)
_ANAPHORIC_START = re.compile(r"^(?:it|that|this|they|those|these|there|he|she|them|both)\b", re.I)

_SPACES = re.compile(r"[ \t\r\f\v]+")
# Greetings and thanks before an answer; unlike _LEADING this keeps "yes"/"no".
_GREETING = re.compile(
    r"^(?:(?:hey|hi|hello|wow|woah|whoa|oh|aww*|haha\w*|thanks|thank\s+you|congrats)"
    r"(?:\s+so\s+much)?(?:\s*,?\s*[A-Z][a-z]+)?\s*[,!.:;\-]+\s*)+",
    re.I)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?\u2026])[\"')\]]*\s+|\s*\n+\s*")
_ABBREVIATION_END = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|vs|etc|e\.g|i\.e|approx|Prof|Mt)\.$")

_FIRST_SINGULAR = re.compile(r"\b(?:I|i(?=['\s])|(?i:me|my|mine))\b")
_FIRST_ANY = re.compile(r"\b(?:I|i(?=['\s])|me|my|mine|myself|we|us|our|ours|ourselves)\b", re.I)
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

# ---------------------------------------------------------------------------------------------
# Third person: "I'm" → "Caroline is", "my" → "Caroline's", "I love" → "Caroline loves".

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
# "My husband and I go": a compound subject keeps the plural verb.
_COMPOUND_BEFORE = re.compile(
    r"(?:\b(?i:my|his|her|their|your|our|the)\s+[\w-]+|\b[A-Z][a-z]+|\b(?:he|she|they|"
    r"you))\s+(?:and|or)\s+$")
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
        compound = _COMPOUND_BEFORE.search(
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


# ---------------------------------------------------------------------------------------------
# What kind of statement, and the single-valued facts among them.

_VALUE_END = re.compile(
    r"\s*(?:[.,;:!?()\u2014]|\s-\s|\b(?:and|but|because|since|so|now|when|while|with|for|last|this|"
    r"next|ago|yesterday|today|tonight|tomorrow|recently|lately|after|before|until|where|which|"
    r"who|though|although|as|these\s+days|for\s+good)\b)",
    re.I,
)
# Favourites may contain "and" ("mac and cheese"); jobs end before "at the hospital".
_FAVOURITE_VALUE_END = re.compile(
    r"\s*(?:[.,;:!?()\u2014]|\s-\s|\b(?:but|because|since|which|when|though|although)\b)", re.I)
_JOB_VALUE_END = re.compile(
    r"\s*(?:[.,;:!?()\u2014]|\s-\s|\b(?:and|but|because|since|so|now|at|in|for|with|from|"
    r"last|this|next|ago|yesterday|today|recently|until|where|which|who)\b)", re.I)
_NAME_VALUE = r"([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)?)"
_PLACE = r"([A-Za-z][^.,;:!?()]{0,60})"

_FACT_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("name", re.compile(
        rf"\b(?:my\s+name\s+is|my\s+name's|call\s+me|i\s+go\s+by|people\s+call\s+me|"
        rf"i'm\s+called)\s+{_NAME_VALUE}", re.I)),
    ("age", re.compile(
        r"\bI(?:'m|\s+am)\s+(?:now\s+|already\s+|almost\s+|"
        r"nearly\s+)?(\d{1,3})(?:\s*(?:years?|yrs?)(?:\s+old)?|\s*y/?o)?(?=\s*(?:[.,!?;]|"
        r"$|and\b|now\b|this\b|today\b|years\b))", re.I)),
    ("age", re.compile(r"\bI\s+(?:just\s+)?turned\s+(\d{1,3})\b", re.I)),
    ("lives_in", re.compile(
        rf"\b(?:I|we)(?:'ve|\s+have|'m|\s+am|'re|\s+are)?\s+(?:just\s+|recently\s+|"
        rf"finally\s+|now\s+|currently\s+|still\s+|officially\s+)*(?:live|living|moved|"
        rf"relocated|reside|based|settled)\s+(?:in|to|into)\s+{_PLACE}", re.I)),
    ("hometown", re.compile(
        rf"\bI(?:'m|\s+am)\s+(?:originally\s+)?from\s+{_PLACE}|\bI\s+grew\s+up\s+in\s+{_PLACE}|"
        rf"\bI\s+was\s+born\s+and\s+raised\s+in\s+{_PLACE}", re.I)),
    ("works_as", re.compile(
        rf"\bI(?:'m|\s+am)?\s+(?:now\s+|currently\s+|still\s+)*(?:work(?:ing)?|employed|"
        rf"hired)\s+as\s+(?:an?\s+)?{_PLACE}|\bI\s+(?:just\s+|recently\s+|"
        rf"finally\s+)?(?:became|got\s+a\s+job\s+as|got\s+hired\s+as|"
        rf"started\s+(?:working\s+)?as)\s+(?:an?\s+)?{_PLACE}|"
        rf"\bmy\s+job\s+is\s+(?:being\s+)?(?:an?\s+)?{_PLACE}", re.I)),
    ("works_at", re.compile(
        rf"\bI\s+(?:now\s+|currently\s+|still\s+)?(?:work|'m\s+working|"
        rf"am\s+working)\s+(?:at|for)\s+{_PLACE}", re.I)),
    ("relationship_status", re.compile(
        r"\bI(?:'m|\s+am)\s+(?:now\s+|happily\s+|newly\s+|officially\s+|still\s+)?(married|single|"
        r"engaged|divorced|widowed|separated|in\s+a\s+relationship)\b|\b(?:I|we)(?:'ve|\s+have)?\s+"
        r"(?:just\s+|recently\s+|finally\s+|officially\s+)?got\s+(married|engaged|divorced)\b",
        re.I)),
    ("birthday", re.compile(
        rf"\bmy\s+birthday\s+is\s+(?:on\s+)?{_PLACE}|\bI\s+was\s+born\s+on\s+{_PLACE}", re.I)),
]
# Words one of which each pattern above needs; None: a number.
_FACT_HINTS: dict[str, tuple[str, ...] | None] = {
    "name": ("name", "call me", "go by", "called"),
    "age": None,
    "lives_in": ("live", "moved", "relocat", "reside", "based", "settled"),
    "hometown": ("from", "grew up", "raised"),
    "works_as": (" as ", "job is"),
    "works_at": ("work",),
    "relationship_status": ("married", "single", "engaged", "divorced", "widowed", "separated",
                            "relationship"),
    "birthday": ("birthday", "born on"),
}
_PERSON_HINTS = ("wife", "husband", "partner", "boyfriend", "girlfriend", "fianc", "spouse")
_PROFESSIONS = (
    r"teacher|nurse|doctor|engineer|developer|programmer|lawyer|chef|cook|artist|designer|student|"
    r"accountant|architect|banker|firefighter|police\s+officer|cop|pilot|dentist|pharmacist|"
    r"therapist|counselor|counsellor|social\s+worker|scientist|researcher|professor|lecturer|"
    r"writer|journalist|photographer|musician|dancer|actor|actress|mechanic|electrician|plumber|"
    r"carpenter|farmer|soldier|veteran|consultant|manager|entrepreneur|freelancer|salesperson|"
    r"cashier|waiter|waitress|barista|bartender|librarian|paramedic|vet|veterinarian|"
    r"data\s+scientist|software\s+engineer|web\s+developer|graphic\s+designer|secretary|"
    r"receptionist|translator|coach|personal\s+trainer|trainer|psychologist|surgeon|midwife|"
    r"caregiver|realtor|real\s+estate\s+agent|analyst|intern|tutor|"
    r"stay-at-home\s+(?:mom|dad|parent)"
)
_PROFESSION = re.compile(
    rf"\bI(?:'m|\s+am)\s+(?:now\s+|currently\s+|"
    rf"still\s+)?an?\s+((?:[a-z-]+\s+)?(?:{_PROFESSIONS}))\b",
    re.I)
_FAVOURITE = re.compile(
    r"\bmy\s+(?:all-time\s+|absolute\s+|very\s+)?(?:favou?rite|fave|"
    r"fav)\s+([a-z]+(?:\s+[a-z]+)?)\s+(?:is|are|has\s+to\s+be|would\s+be|"
    r"was)\s+([^.,;!?()]{1,60})", re.I)
_FAVOURITE_REVERSED = re.compile(
    r"(?:^|[,;:!\-]\s*|\bthink\s+|\bthat\s+|\bsay\s+)([^,;:!?.()]{1,40}?)\s+(?:is|are)\s+"
    r"(?:definitely\s+|probably\s+|totally\s+|still\s+|always\s+)?my\s+(?:all-time\s+|absolute\s+)?"
    r"(?:favou?rite|fave|fav)\s+([a-z]+)\b", re.I)
_PET_WORDS = (r"dog|cat|puppy|pup|kitten|kitty|horse|rabbit|bunny|hamster|parrot|bird|fish|turtle|"
              r"snake|lizard|guinea\s+pig|ferret|pony")
_PET_CANONICAL = {"puppy": "dog", "pup": "dog", "kitten": "cat", "kitty": "cat", "bunny": "rabbit",
                  "pony": "horse"}
_PET_NAMED = re.compile(
    rf"\b(?i:my|our|a|an|the|new)\s+(?:\w+\s+)?({_PET_WORDS})(?:'s\s+name(?:'s|\s+is)|"
    rf"\s+(?:is\s+)?(?:named|called)|,)?\s+([A-Z][a-z]+)\b")
_PET_MENTION = re.compile(rf"\b({_PET_WORDS})\b", re.I)
_PRONOUN_NAMED = re.compile(r"\b(?:her|his|its|their)\s+name(?:'s|\s+is)\s+([A-Z][a-z]+)\b", re.I)
_PARTNER = re.compile(
    r"\b(?i:my)\s+(wife|husband|partner|boyfriend|girlfriend|fianc[eé]e?|spouse)(?:'s\s+name\s+is|"
    r",)?\s+([A-Z][a-z]+)\b")
_NOT_A_NAME = frozenset({"I", "And", "But", "So", "The", "He", "She", "They", "It", "We", "Is",
                         "Was", "Has", "Had", "Who", "Just"})
_UNITS = {"color": "colour", "colors": "colour", "flavor": "flavour", "flavors": "flavour"}

# Standing instructions to the assistant: "Always answer in French", "Don't use emojis".
_INSTRUCTION = re.compile(
    r"^(?:please\s+)?(?:always|never|from\s+now\s+on,?|in\s+future,?|going\s+forward,?|"
    r"(?:don't|do\s+not)(?!\s+(?:forget|worry|give\s+up|hesitate|stress|be\s+(?:sorry|shy))\b))"
    r"\s+\w+|^(?:please\s+)?(?:(?:answer|respond|reply|write|talk|speak)\s+(?:to\s+me\s+)?"
    r"(?:in|with|using|like|more|less|briefly|concisely|formally|casually)\b|address\s+me|"
    r"remind\s+me|use\s+(?:metric|imperial|celsius|fahrenheit|bullet|british|american|plain|"
    r"simple|short)|be\s+(?:more\s+)?(?:brief|concise|formal|casual|detailed|direct)\b|"
    r"keep\s+(?:it|your\s+(?:answers|responses|replies))\s+(?:short|brief))"
    r"|^(?:please\s+)?I(?:\s+(?:want|need|would\s+like)|'d\s+like)\s+you\s+to\b",
    re.I)
_REMEMBER = re.compile(
    r"^(?:please\s+)?(?:remember|note|keep\s+in\s+mind)\s+(?:that\s+)?(?=\S)", re.I)

_IDENTITY = re.compile(
    r"\bI(?:'m|\s+am)\s+(?:a\s+|an\s+)?(?:proud\s+|openly\s+|practicing\s+)?(?:trans(?:gender)?|"
    r"gay|lesbian|bi(?:sexual)?|queer|non-?binary|vegan|vegetarian|pescatarian|christian|muslim|"
    r"jewish|atheist|buddhist|hindu|catholic|introvert|extrovert|single\s+(?:mom|dad|parent)|mom|"
    r"mother|dad|father|parent|grandparent|retired|allergic|diabetic|autistic|dyslexic|"
    r"left-handed|immigrant|only\s+child|twin)\b|\bI\s+have\s+(?:diabetes|asthma|adhd|autism|"
    r"anxiety|depression|celiac|an?\s+allergy)|\bas\s+an?\s+(?:trans|gay|lesbian|queer|"
    r"non-?binary|black|asian|latina|latino|immigrant|mother|father|parent)\b",
    re.I)
_SPEAKER_SUBJECT = r"\b(?:I|we)"
_BE = r"(?:'m|'re|\s+am|\s+are)"
_ADVERB = (r"(?:\s+(?:really|truly|absolutely|just|also|totally|kinda|actually|still|especially|"
           r"so|definitely|currently|now|finally|always))")
_PLAN = re.compile(
    rf"{_SPEAKER_SUBJECT}(?:'ll|'d\s+like\s+to|\s+will|{_BE}?{_ADVERB}*\s+(?:gonna|going\s+to|"
    r"planning|plan|intend|hoping\s+to|hope\s+to|want\s+to|wanna|would\s+like\s+to|about\s+to|"
    r"thinking\s+(?:of|about)|considering|looking\s+forward\s+to|can't\s+wait\s+to|aim\s+to|"
    r"aiming\s+to|decided\s+to|have\s+decided\s+to|preparing\s+(?:for|to)|"
    r"getting\s+ready\s+(?:for|to)|scheduled|booked|signing\s+up|saving\s+(?:up\s+)?for))\b|"
    r"\b(?:next\s+(?:week|month|year|weekend|monday|tuesday|wednesday|thursday|friday|saturday|"
    r"sunday|summer|spring|fall|autumn|winter)|tomorrow|upcoming|later\s+this\s+(?:week|month|"
    r"year)|this\s+coming)\b",
    re.I)
_PREFERENCE = re.compile(
    rf"{_SPEAKER_SUBJECT}(?:'d|\s+would)?{_ADVERB}*\s+(?:love|like|enjoy|prefer|hate|dislike|adore|"
    r"can't\s+stand|cannot\s+stand|don't\s+like|do\s+not\s+like|don't\s+enjoy)\b"
    rf"|{_SPEAKER_SUBJECT}{_BE}(?:\s+\w+)?\s+(?:into|(?:a\s+)?(?:big\s+|huge\s+)?fans?\s+of|"
    r"passionate\s+about|keen\s+on|obsessed\s+with|crazy\s+about|allergic\s+to)\b"
    r"|\bmy\s+(?:all-time\s+)?(?:favou?rite|fave|fav|go-to)\b|\b(?:is|are)\s+my\s+(?:top\s+pick|"
    r"favou?rite|fave|go-to|jam|thing)\b|\bspeaks\s+to\s+me\b|\bmy\s+(?:passion|hobby|hobbies)\b",
    re.I)
_RELATIONSHIP = re.compile(
    r"\b(?:my|our)\s+(?:\w+\s+)?(?:wife|husband|partner|boyfriend|girlfriend|fianc[eé]e?|"
    r"spouse|ex|sister|brother|sibling|siblings|mom|mum|mother|dad|father|parents?|sons?|"
    r"daughters?|kids?|children|child|baby|babies|grand(?:ma|pa|mother|father|parents?|kids?|"
    r"children|son|daughter)|granny|aunt|auntie|uncle|cousin|cousins|niece|nephew|in-laws?|"
    r"friends?|bff|colleagues?|coworkers?|co-workers?|workmates?|boss|manager|neighbou?rs?|"
    r"roommates?|family|fam|mentor|teammates?|classmates?|{pets})\b|"
    r"\b(?:married|engaged|divorced|dating|broke\s+up|pregnant|adopt(?:ed|ing)?)\b"
    .replace("{pets}", _PET_WORDS),
    re.I)
_LIFE_EVENT = re.compile(
    r"\b(?:married|marry|wedding|divorc\w*|engaged|pregnant|born|baby|died|passed\s+away|funeral|"
    r"graduat\w*|new\s+job|lost\s+(?:my|his|her|their)\s+job|(?:got|was|been)\s+fired|laid\s+off|"
    r"promot\w*|retir\w*|moved|moving|relocat\w*|adopt\w*|diagnos\w*|surgery|hospital|accident|"
    r"cancer|anniversary|birthday|broke\s+up|quit|accepted|started\s+(?:my|a|her|his)\s+own|"
    r"opened|launched)\b",
    re.I)

_BASE_IMPORTANCE = {"instruction": 0.9, "profile": 0.8, "relationship": 0.7, "plan": 0.65,
                    "event": 0.6, "preference": 0.55, "fact": 0.35}
# When two units merge, the kind that says more about the person wins.
_KIND_RANK = {"instruction": 6, "profile": 5, "relationship": 4, "plan": 3, "event": 2,
              "preference": 2, "fact": 0}


# ---------------------------------------------------------------------------------------------
# Sentences


def _sentences(text: str) -> list[str]:
    pieces = [p.strip() for p in _SENTENCE_BREAK.split(text) if p and p.strip()]
    merged: list[str] = []
    for piece in pieces:
        if merged and _ABBREVIATION_END.search(merged[-1]):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


def _normalise(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return _SPACES.sub(" ", text).strip()


def _is_name(word: str, names: tuple[str, ...]) -> bool:
    low = word.lower()
    return any(len(low) >= 3 and n.startswith(low) for n in names)


def _strip_social(sentence: str, names: tuple[str, ...]) -> str:
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
        if token in _SOCIAL_WORDS or (len(token) < 2 and not token.isdigit()):
            continue
        if word[0].isupper() and _is_name(word, names):  # "Mel", not "car" for Caroline
            continue
        words.append(token)
    return words


def _names(speaker: str, other: str | None) -> tuple[str, ...]:
    found = []
    for name in (speaker, other):
        if name:
            found.extend(part.lower() for part in name.split() if part)
    return tuple(found)


def is_chitchat(text: str) -> bool:
    """True when the message says nothing worth remembering on its own.

    Greetings, thanks, reactions ("That's great!", "haha") and questions that state nothing
    about the speaker are chit-chat. Judged on the text alone: a bare "Yes!" is chit-chat
    here, though ``extract`` keeps it when it answers a question.
    """
    return not any(
        _sentence_role(_strip_social(s, ()), ()) is not None for s in _sentences(_normalise(text))
    )


def _sentence_role(core: str, names: tuple[str, ...]) -> str | None:
    """'statement', 'question' (worth keeping) or None (chit-chat)."""
    if not core:
        return None
    if core.rstrip().endswith("?"):
        if not _content_words(core, names):
            return None
        # Only a question that says something about the speaker ("Have you tried my cake?")
        # is kept; one about the listener lives on in the listener's answer.
        return "question" if _FIRST_ANY.search(core) else None
    return "statement" if _content_words(core, names) else None


def _last_question(previous: str | None, names: tuple[str, ...]) -> str | None:
    """The question a reply answers, with the sentence before it when it is very short."""
    if not previous:
        return None
    sentences = [_strip_social(s, names) for s in _sentences(_normalise(previous))]
    sentences = [s for s in sentences if s]
    index = next((i for i in range(len(sentences) - 1, -1, -1) if sentences[i].endswith("?")), None)
    if index is None:
        return None
    question = sentences[index]
    if len(question.split()) <= _TINY_WORDS and index > 0 and len(
            sentences[index - 1].split()) <= 12:
        question = f"{sentences[index - 1]} {question}"
    elif _SOCIAL_QUESTION.match(question):
        return None
    if len(question) > _QUESTION_CHARS:
        question = "…" + question[-_QUESTION_CHARS:].split(" ", 1)[-1]
    return question.replace('"', "'")


# ---------------------------------------------------------------------------------------------
# One unit per kept sentence, then merged


@dataclass
class _Unit:
    core: str  # the sentence as said, minus greetings and vocatives
    text: str  # standalone text, dates not yet resolved
    kind: str
    importance: float
    subject: str | None = None
    value: str | None = None

    @property
    def words(self) -> int:
        return len(self.core.split())


def _lower_first(text: str) -> str:
    """Lower-case the first word after "said:" unless it may be a name ("Paris!")."""
    first = _TOKEN.match(text.lower())
    if first and (first.group() in _SOCIAL_WORDS or first.group() in _LOWER_OK) and (
            not text.startswith(("I ", "I'"))):
        return text[0].lower() + text[1:]
    return text


def _clean_value(raw: str, stop: re.Pattern[str] = _VALUE_END) -> str | None:
    end = stop.search(raw)
    value = (raw[:end.start()] if end else raw).strip(" '\"-")
    if not value or len(value) > 60:
        return None
    return value


def _singular(word: str) -> str:
    word = _UNITS.get(word, word)
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _keyed_fact(core: str, pet_context: str | None) -> tuple[str, str, str] | None:
    """(kind, subject, value) for single-valued facts the speaker states about themself."""
    low = core.lower()
    for subject, pattern in _FACT_PATTERNS:
        hints = _FACT_HINTS[subject]
        if not (any(ch.isdigit() for ch in low) if hints is None else any(h in low for h in hints)):
            continue  # a substring test is far cheaper than the pattern
        match = pattern.search(core)
        if not match:
            continue
        raw = next((g for g in match.groups() if g), None)
        if raw is None:
            continue
        if subject in ("name", "age"):
            value = raw.strip()
        elif subject == "relationship_status":
            value = raw.lower()
        else:
            value = _clean_value(raw, _JOB_VALUE_END if subject == "works_as" else _VALUE_END)
        if value:
            kind = "relationship" if subject == "relationship_status" else "profile"
            return kind, subject, value
    profession = _PROFESSION.search(core) if ("'m a" in low or "am a" in low) else None
    if profession:
        return "profile", "works_as", profession.group(1).strip()
    if "fav" not in low and not any(h in low for h in _PERSON_HINTS) and (
            pet_context is None and not _PET_MENTION.search(low)):
        return None
    favourite = _FAVOURITE.search(core)
    if favourite:
        value = _clean_value(favourite.group(2), _FAVOURITE_VALUE_END)
        if value:
            thing = _singular(favourite.group(1).split()[-1].lower())
            return "preference", f"favourite:{thing}", value
    favourite = _FAVOURITE_REVERSED.search(core)
    if favourite:
        value = _clean_value(favourite.group(1).split(" think ")[-1])
        if value and not _FIRST_ANY.search(value):
            return "preference", f"favourite:{_singular(favourite.group(2).lower())}", value
    partner = _PARTNER.search(core)
    if partner and partner.group(2) not in _NOT_A_NAME:
        return "relationship", "partner", partner.group(2)
    pet = _PET_NAMED.search(core)
    if pet and pet.group(2) not in _NOT_A_NAME and _FIRST_ANY.search(core):
        animal = pet.group(1).lower()
        return "relationship", f"pet_name:{_PET_CANONICAL.get(animal, animal)}", pet.group(2)
    named = _PRONOUN_NAMED.search(core)
    if named and pet_context and named.group(1) not in _NOT_A_NAME:
        return "relationship", f"pet_name:{pet_context}", named.group(1)
    return None


def _classify(core: str) -> str:
    if _INSTRUCTION.search(core):
        return "instruction"
    if _IDENTITY.search(core):
        return "profile"
    first_person = _FIRST_ANY.search(core) is not None
    if _PLAN.search(core) and (first_person or sentence_tense(core) == "future"):
        return "plan"
    if _PREFERENCE.search(core):
        return "preference"
    if first_person and sentence_tense(core) == "past":
        return "event"
    if _RELATIONSHIP.search(core):
        return "relationship"
    return "fact"


def _importance(kind: str, core: str, *, keyed: bool, attributed: bool) -> float:
    score = _BASE_IMPORTANCE[kind]
    if keyed:
        score += 0.1
    if _LIFE_EVENT.search(core):
        score += 0.15
    if attributed and not _FIRST_ANY.search(core):
        score -= 0.15  # said by them, but not about them
    if len(core.split()) < 6 and kind != "instruction":
        score -= 0.1
    return round(min(1.0, max(0.05, score)), 2)


def _fill_subject(core: str) -> str:
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


def _standalone(core: str, filled: str, speaker: str) -> tuple[str, bool]:
    """The sentence about the speaker in the third person, or attributed: (text, attributed).

    ``filled`` is ``core`` with a dropped "I" put back; it is only used when the sentence can
    be turned into the third person, otherwise the words are kept exactly as said.
    """
    if _FIRST_SINGULAR.search(filled) and not _UNSAFE_FOR_THIRD_PERSON.search(filled):
        text = _rewrite_i(filled, speaker)
        return text[0].upper() + text[1:], False
    return f"{speaker} said: {_lower_first(core)}", True


def _unit(sentence: str, *, speaker: str, names: tuple[str, ...], pet_context: str | None,
          role: str) -> _Unit:
    core = _strip_social(sentence, names)
    remembered = _REMEMBER.match(core)
    if remembered and role == "statement":
        core = core[remembered.end():]
        core = core[0].upper() + core[1:]
    if role == "question":
        text = f"{speaker} asked: {_lower_first(core)}"
        return _Unit(core, text, "fact", 0.2)
    core_filled = _fill_subject(core)
    keyed = _keyed_fact(core_filled, pet_context)
    kind = keyed[0] if keyed else _classify(core_filled)
    if kind == "instruction":
        text, attributed = f"{speaker}'s instruction: {_lower_first(core)}", False
    else:
        text, attributed = _standalone(core, core_filled, speaker)
    importance = _importance(kind, core_filled, keyed=keyed is not None, attributed=attributed)
    if remembered:  # asked outright to remember it
        importance = round(min(1.0, importance + 0.2), 2)
    subject, value = (keyed[1], keyed[2]) if keyed else (None, None)
    return _Unit(core, text, kind, importance, subject, value)


def _merge(first: _Unit, second: _Unit, speaker: str) -> _Unit:
    lead = first if _KIND_RANK[first.kind] >= _KIND_RANK[second.kind] else second
    keyed = first if first.subject else second
    second_text = second.text
    said = f"{speaker} said: "
    if second_text.startswith(said) and said in first.text:  # one "X said:" is enough
        rest = second_text[len(said):]
        second_text = rest[:1].upper() + rest[1:]
    return _Unit(
        core=f"{first.core} {second.core}",
        text=f"{first.text} {second_text}",
        kind=lead.kind,
        importance=max(first.importance, second.importance),
        subject=keyed.subject,
        value=keyed.value,
    )


def _merge_small(units: list[_Unit], speaker: str) -> list[_Unit]:
    """Fold tiny sentences into a neighbour, then merge neighbours until at most the limit."""
    merged: list[_Unit] = []
    for unit in units:
        if merged and unit.words <= _TINY_WORDS and not unit.subject and unit.kind != "instruction":
            merged[-1] = _merge(merged[-1], unit, speaker)
        elif merged and merged[-1].words <= _TINY_WORDS and not merged[-1].subject and (
                merged[-1].kind != "instruction"):
            merged[-1] = _merge(merged[-1], unit, speaker)
        else:
            merged.append(unit)
    if len(merged) <= MAX_CANDIDATES:
        return merged
    # Too many: cut the message into MAX_CANDIDATES runs of neighbouring sentences of about
    # equal length. Every word stays; only the later keys in a run are lost as keys.
    target = sum(unit.words for unit in merged) / MAX_CANDIDATES
    runs: list[_Unit] = []
    current: _Unit | None = None
    for index, unit in enumerate(merged):
        left_after = len(merged) - index - 1
        current = unit if current is None else _merge(current, unit, speaker)
        if (current.words >= target or left_after <= MAX_CANDIDATES - len(runs) - 1) and (
                len(runs) < MAX_CANDIDATES - 1):
            runs.append(current)
            current = None
    if current is not None:
        runs.append(current)
    return runs


def extract(text: str, *, speaker: str, said_at: datetime, previous: str | None = None,
            previous_speaker: str | None = None) -> list[Candidate]:
    """Candidate memories from one message, at most ``MAX_CANDIDATES``, in message order.

    ``previous`` is the other party's preceding turn; when this message answers a question in
    it without saying what about, the question is quoted in the first candidate. Relative dates
    are resolved against ``said_at``; a candidate's ``observed_at`` is the date it is about
    (else ``said_at``). Returns [] for chit-chat.
    """
    names = _names(speaker, previous_speaker)
    sentences = _sentences(_normalise(text))
    question = _last_question(previous, names)
    units: list[_Unit] = []
    pet_context: str | None = None
    answered = question is None  # until the first statement, a reply answers the question
    for sentence in sentences:
        core = _strip_social(sentence, names)
        role = _sentence_role(core, names)
        pet = _PET_MENTION.search(core)
        if pet:
            animal = pet.group(1).lower()
            pet_context = _PET_CANONICAL.get(animal, animal)
        if question is not None and not answered and (role == "statement" or (
                role is None and _ANSWER_PARTICLE.match(_answer_text(sentence, names)))):
            answered = True
            units.append(_answer_unit(sentence, question, speaker=speaker, names=names,
                                      pet_context=pet_context))
            continue
        if role is None:
            continue
        if role == "question":
            answered = True  # they moved on; later statements are not answers
        units.append(_unit(sentence, speaker=speaker, names=names, pet_context=pet_context,
                           role=role))
    candidates = []
    for unit in _merge_small(units, speaker):
        resolved, event_at = resolve_relative_dates(unit.text, said_at)
        candidates.append(Candidate(
            kind=unit.kind,
            text=_finish(resolved),
            observed_at=event_at or said_at,
            importance=unit.importance,
            subject=unit.subject,
            value=unit.value,
            quotes_previous=unit.text.startswith(_QUOTED_QUESTION),
        ))
    return candidates


def _answer_text(sentence: str, names: tuple[str, ...]) -> str:
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


_QUOTED_QUESTION = 'Asked "'


def _answer_unit(sentence: str, question: str, *, speaker: str, names: tuple[str, ...],
                 pet_context: str | None) -> _Unit:
    """A reply to the other party's question; quoted with it unless it stands on its own."""
    answer = _answer_text(sentence, names) or sentence
    core = _strip_social(sentence, names)
    base = _unit(sentence, speaker=speaker, names=names, pet_context=pet_context,
                 role="statement") if core else None
    stands_alone = (
        base is not None
        and not base.text.startswith(f"{speaker} said:")
        and not _ANSWER_PARTICLE.match(answer)
        and not _ANAPHORIC_START.match(core)
    )
    if stands_alone:
        assert base is not None
        return base
    text = f'{_QUOTED_QUESTION}{question}", {speaker} said: {_lower_first(answer)}'
    if base is None:
        return _Unit(answer, text, "fact", 0.45)
    return _Unit(base.core, text, base.kind, max(base.importance, 0.45), base.subject, base.value)


def _finish(text: str) -> str:
    text = text.strip()
    if text and text[-1] not in ".!?…\"')":
        text += "."
    return text

"""What kind of memory a statement is (instruction, profile, plan, preference, event,
relationship, fact) and how important it is likely to be."""

from __future__ import annotations

import re

from hearth.memory.dates import sentence_tense
from hearth.memory.extract.facts import PET_WORDS
from hearth.memory.extract.sentences import FIRST_ANY

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
REMEMBER = re.compile(
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
    .replace("{pets}", PET_WORDS),
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
KIND_RANK = {"instruction": 6, "profile": 5, "relationship": 4, "plan": 3, "event": 2,
              "preference": 2, "fact": 0}


def classify(core: str) -> str:
    if _INSTRUCTION.search(core):
        return "instruction"
    if _IDENTITY.search(core):
        return "profile"
    first_person = FIRST_ANY.search(core) is not None
    if _PLAN.search(core) and (first_person or sentence_tense(core) == "future"):
        return "plan"
    if _PREFERENCE.search(core):
        return "preference"
    if first_person and sentence_tense(core) == "past":
        return "event"
    if _RELATIONSHIP.search(core):
        return "relationship"
    return "fact"


def importance_of(kind: str, core: str, *, keyed: bool, attributed: bool) -> float:
    score = _BASE_IMPORTANCE[kind]
    if keyed:
        score += 0.1
    if _LIFE_EVENT.search(core):
        score += 0.15
    if attributed and not FIRST_ANY.search(core):
        score -= 0.15  # said by them, but not about them
    if len(core.split()) < 6 and kind != "instruction":
        score -= 0.1
    return round(min(1.0, max(0.05, score)), 2)

"""Single-valued facts a speaker states about themself: name, age, home, job, partner,
pets, favourites. Each has a subject ("lives_in") and a value ("Berlin"), so that a later
statement with another value supersedes the earlier one.
"""

from __future__ import annotations

import re

from hearth.memory.extract.sentences import FIRST_ANY

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
PET_WORDS = (r"dog|cat|puppy|pup|kitten|kitty|horse|rabbit|bunny|hamster|parrot|bird|fish|turtle|"
              r"snake|lizard|guinea\s+pig|ferret|pony")
PET_CANONICAL = {"puppy": "dog", "pup": "dog", "kitten": "cat", "kitty": "cat", "bunny": "rabbit",
                  "pony": "horse"}
_PET_NAMED = re.compile(
    rf"\b(?i:my|our|a|an|the|new)\s+(?:\w+\s+)?({PET_WORDS})(?:'s\s+name(?:'s|\s+is)|"
    rf"\s+(?:is\s+)?(?:named|called)|,)?\s+([A-Z][a-z]+)\b")
PET_MENTION = re.compile(rf"\b({PET_WORDS})\b", re.I)
_PRONOUN_NAMED = re.compile(r"\b(?:her|his|its|their)\s+name(?:'s|\s+is)\s+([A-Z][a-z]+)\b", re.I)
_PARTNER = re.compile(
    r"\b(?i:my)\s+(wife|husband|partner|boyfriend|girlfriend|fianc[eé]e?|spouse)(?:'s\s+name\s+is|"
    r",)?\s+([A-Z][a-z]+)\b")
_NOT_A_NAME = frozenset({"I", "And", "But", "So", "The", "He", "She", "They", "It", "We", "Is",
                         "Was", "Has", "Had", "Who", "Just"})
_UNITS = {"color": "colour", "colors": "colour", "flavor": "flavour", "flavors": "flavour"}


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


def keyed_fact(core: str, pet_context: str | None) -> tuple[str, str, str] | None:
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
            pet_context is None and not PET_MENTION.search(low)):
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
        if value and not FIRST_ANY.search(value):
            return "preference", f"favourite:{_singular(favourite.group(2).lower())}", value
    partner = _PARTNER.search(core)
    if partner and partner.group(2) not in _NOT_A_NAME:
        return "relationship", "partner", partner.group(2)
    pet = _PET_NAMED.search(core)
    if pet and pet.group(2) not in _NOT_A_NAME and FIRST_ANY.search(core):
        animal = pet.group(1).lower()
        return "relationship", f"pet_name:{PET_CANONICAL.get(animal, animal)}", pet.group(2)
    named = _PRONOUN_NAMED.search(core)
    if named and pet_context and named.group(1) not in _NOT_A_NAME:
        return "relationship", f"pet_name:{pet_context}", named.group(1)
    return None

"""Synthetic Place Standard survey responses for the demo, in a survey tool's export layout.

What belongs here: drawing respondents (where they live, age band, gender), their 1-7
scores on the 14 Place Standard themes and their two free-text answers, with the
realism the voice pipeline has to cope with: fewer responses from more deprived areas,
lower scores there for safety, upkeep and work, skipped questions, blank, malformed and
unknown postcodes, misspellings and Scots words, personal data that redaction must
catch, a small campaign of near-identical responses and a few exact re-submissions; and
writing the export as UTF-8 CSV, Windows-1252 CSV and XLSX. The phrase banks below are
demo content, not configuration.

Everything is drawn from one seeded generator: the same inputs and seed give
byte-identical files. `simulate_place_standard_survey` also returns what the generator
meant (themes behind each comment, each respondent's data zone, planted personal data)
so tests can check the pipeline recovers it; the export itself carries none of that.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
from openpyxl import Workbook

from profiles.voice.contract import PLACE_STANDARD_THEMES

DEFAULT_SEED: Final = 20260
DEFAULT_TODAY: Final = date(2026, 1, 5)
FIELDWORK_DAYS: Final = 70
SURVEY_COLUMNS: Final[tuple[str, ...]] = (
    "response_id",
    "submitted_at",
    "postcode",
    "age_band",
    "gender",
    *PLACE_STANDARD_THEMES,
    "what_is_good",
    "what_could_be_better",
)
FREE_TEXT_QUESTIONS: Final = ("what_is_good", "what_could_be_better")
SUBMITTED_AT_FORMAT: Final = "%d/%m/%Y %H:%M"
FIRST_RESPONSE_ID: Final = 40001
EXPORT_FILES: Final = {
    "csv": "place_standard_demo.csv",
    "xlsx": "place_standard_demo.xlsx",
    "cp1252": "place_standard_demo_cp1252.csv",
}

AGE_BANDS: Final = ("16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+")
# Older people answer community surveys more than younger people do.
AGE_WEIGHTS: Final = (0.08, 0.13, 0.16, 0.18, 0.19, 0.17, 0.09)
AGE_VARIANTS: Final = {"16-24": "16 - 24", "65-74": "65 to 74", "75+": "75 and over"}
GENDERS: Final = ("Woman", "Man", "In another way", "Prefer not to say")
GENDER_WEIGHTS: Final = (0.57, 0.38, 0.01, 0.04)

# Relative chance that a household in each SIMD quintile responds (1 = most deprived),
# roughly the participation gradient seen in real consultations and FixMyStreet reports.
RESPONSE_RATE_BY_QUINTILE: Final = {1: 0.45, 2: 0.62, 3: 0.8, 4: 1.0, 5: 1.15}
# Mean score per theme in a middle (quintile 3) area, and the change per quintile step.
THEME_MEANS: Final = {
    "moving_around": 4.6,
    "public_transport": 4.0,
    "traffic_parking": 3.8,
    "streets_spaces": 4.1,
    "natural_space": 5.3,
    "play_recreation": 4.2,
    "facilities_amenities": 4.5,
    "work_economy": 3.6,
    "housing_community": 4.0,
    "social_contact": 4.3,
    "identity_belonging": 4.6,
    "feeling_safe": 4.5,
    "care_maintenance": 3.9,
    "influence_control": 3.2,
}
DEPRIVATION_SLOPE: Final = {
    "feeling_safe": 0.4,
    "care_maintenance": 0.4,
    "work_economy": 0.35,
    "housing_community": 0.15,
    "identity_belonging": 0.1,
    "streets_spaces": 0.1,
}
SKIP_THEME_SHARE: Final = 0.03
DROP_OUT_SHARE: Final = 0.04
BLANK_GOOD_SHARE: Final = 0.22
BLANK_BETTER_SHARE: Final = 0.14
PERSONAL_DATA_SHARE: Final = 0.025
POSTCODE_PROBLEMS: Final = {"blank": 0.02, "malformed": 0.015, "unknown": 0.015}

# --- phrase banks -------------------------------------------------------------------------
# Positive statements per theme (what is good), negative statements and wishes (what could
# be better). Wishes are noun phrases that follow "need", "would like" and the like.

GOOD: Final[dict[str, tuple[str, ...]]] = {
    "moving_around": (
        "easy to walk everywhere",
        "the pavements are decent",
        "you can walk to most things in ten minutes",
        "good paths for walking",
        "the cycle route into town is handy",
        "flat and easy to get about on foot",
        "safe walk to school for the weans",
        "quiet roads for cycling",
        "the new crossing by the school",
        "everything is walkable, even with the pram",
        "plenty of dropped kerbs so I can get about in my chair",
        "the shared path along the old railway",
    ),
    "public_transport": (
        "the buses are regular",
        "good bus service into the city",
        "the train station is handy",
        "buses run late enough to get home",
        "the bus to the town comes every 15 minutes",
        "the ferry is reliable",
        "great transport links",
        "the bus stop is right outside my door",
        "the free bus pass is a lifeline",
        "easy to get the train to work",
        "the community bus is brilliant",
    ),
    "traffic_parking": (
        "easy to park",
        "plenty of parking",
        "not much traffic on our street",
        "the 20mph limit has made a difference",
        "traffic calming has slowed the cars down",
        "free parking in the town",
        "no bother parking outside the house",
        "hardly any through traffic",
    ),
    "streets_spaces": (
        "the high street is looking good",
        "lovely old buildings",
        "the square has been done up nicely",
        "nice benches in the town centre",
        "the main street has character",
        "attractive streets and shopfronts",
        "the hanging baskets in summer",
        "the town centre is compact and pleasant",
    ),
    "natural_space": (
        "the park is lovely",
        "great walks by the river",
        "loads of green space",
        "the woods on the doorstep",
        "the beach is stunning",
        "close to the countryside",
        "plenty of trees and wildlife",
        "the loch is beautiful",
        "the coastal path",
        "the glen is a wee gem",
        "fresh air and nice views of the hills",
        "the community garden",
    ),
    "play_recreation": (
        "the play park is great for the kids",
        "good leisure centre and pool",
        "the new skate park",
        "football pitches are well used",
        "plenty for the kids to do",
        "the swing park has been upgraded",
        "the astro pitch",
        "lots of sports clubs",
        "the outdoor gym in the park",
    ),
    "facilities_amenities": (
        "good local shops",
        "the GP surgery is great",
        "the library",
        "handy for the shops and the chemist",
        "the community centre",
        "good schools",
        "everything you need on the doorstep",
        "the post office is still open",
        "a decent wee cafe",
        "the health centre",
        "you can get your messages locally",
        "good nursery",
    ),
    "work_economy": (
        "plenty of local businesses",
        "good jobs at the distillery",
        "the harbour brings work",
        "some great independent shops doing well",
        "tourism is bringing money in",
        "decent employers nearby",
    ),
    "housing_community": (
        "nice mix of houses",
        "affordable rents",
        "good quality housing",
        "the housing association is good at repairs",
        "new homes being built for families",
        "good homes for older people",
    ),
    "social_contact": (
        "lots of groups and clubs",
        "the lunch club",
        "plenty of community events",
        "friendly neighbours",
        "the coffee morning at the church",
        "easy to meet people",
        "the gala day",
        "the men's shed",
        "the toddler group",
    ),
    "identity_belonging": (
        "strong community spirit",
        "everybody knows everybody",
        "proud of where we live",
        "real sense of belonging",
        "lots of history and heritage",
        "a close knit community",
        "welcoming to new folk",
        "born and bred here and wouldn't live anywhere else",
    ),
    "feeling_safe": (
        "it feels safe",
        "quiet and safe",
        "low crime",
        "safe for the kids to play out",
        "I feel safe walking at night",
        "the police are visible",
    ),
    "care_maintenance": (
        "the streets are clean",
        "well kept gardens and verges",
        "the council keeps it tidy",
        "bins are collected on time",
        "the park is well maintained",
        "clean and tidy",
        "graffiti gets cleaned up quickly",
    ),
    "influence_control": (
        "the community council is active",
        "the council listened about the crossing",
        "you can have a say at the community forum",
        "local people got to decide how the money was spent",
    ),
}

BAD: Final[dict[str, tuple[str, ...]]] = {
    "moving_around": (
        "the pavements are cracked and uneven",
        "there is no safe crossing on the main road",
        "the cycle lanes just stop",
        "I cannae get my wheelchair along the pavement",
        "the path to the school is a mud bath",
        "no dropped kerbs anywhere",
        "the steps up to the flats are a nightmare with a buggy",
        "walking into town means walking on the road",
        "the footpaths are overgrown",
    ),
    "public_transport": (
        "the buses are always late",
        "the last bus is at 7pm",
        "the bus to the town was cut",
        "there is no Sunday bus",
        "bus fares are a joke, £3.10 for a single",
        "the buses never turn up",
        "the bus disnae go to the hospital",
        "the train station has no step free access",
        "the ferry keeps getting cancelled",
        "the bus shelter has no roof",
        "two buses to get to the doctors",
    ),
    "traffic_parking": (
        "cars speed down our street",
        "parking on the pavement everywhere",
        "the school run is chaos",
        "lorries thunder through the village",
        "nowhere to park",
        "boy racers on the main road at night",
        "the traffic at rush hour is terrible",
        "people double park outside the shops",
        "our street is used as a rat run",
    ),
    "streets_spaces": (
        "the high street is full of empty shops",
        "the town centre looks run down",
        "derelict buildings on the main street",
        "nowhere to sit in the town centre",
        "the precinct is an ugly concrete mess",
        "boarded up shopfronts",
        "the pend behind the shops is grim",
        "the so-called “regeneration” of the town centre made it worse",
        "the main street has lost all its character",
    ),
    "natural_space": (
        "the park is just a field of grass",
        "the green space is being built on",
        "the river is full of rubbish",
        "no trees on our street",
        "you have to drive to get to the countryside",
        "the woods were cut down for the new road",
        "the burn is full of shopping trolleys",
    ),
    "play_recreation": (
        "there is nothing for teenagers to do",
        "the play park equipment is broken",
        "the swimming pool closed",
        "the swings were taken away",
        "the football pitch is always waterlogged",
        "the leisure centre is too expensive",
        "nothing for the weans to do in the holidays",
        "the play area is full of broken glass",
    ),
    "facilities_amenities": (
        "you cannae get a GP appointment",
        "the bank closed",
        "the post office shut",
        "no dentist taking NHS patients",
        "the library hours were cut",
        "the community centre closed",
        "the public toilets are always locked",
        "the school is overcrowded",
        "the chemist closed down",
        "too many takeaways and bookies",
        "the shops are overpriced",
    ),
    "work_economy": (
        "there are no jobs for young people",
        "wages are rubbish",
        "it's all zero hours contracts",
        "the factory closed and nothing replaced it",
        "the food bank is busier than ever",
        "the cost of living is crippling folk",
        "small businesses cannae afford the rents",
        "no apprenticeships locally",
        "there's nae work unless you drive",
    ),
    "housing_community": (
        "there is no affordable housing",
        "the council housing list is years long",
        "our flat is damp and full of mould",
        "too many holiday lets",
        "private rents are ridiculous",
        "no houses for young folk",
        "the new builds have no doctors or schools to match",
        "the landlord never fixes anything",
        "homelessness is getting worse",
    ),
    "social_contact": (
        "there is nowhere to meet people",
        "older people are lonely and isolated",
        "the youth club closed",
        "there are no community events anymore",
        "it's hard to meet folk when you're new",
        "the lunch club stopped",
        "nowhere for young mums to meet",
    ),
    "identity_belonging": (
        "the area has a bad name",
        "there's no community spirit anymore",
        "we feel forgotten about",
        "nobody knows their neighbours now",
        "the town has lost its heart",
        "incomers and locals don't mix",
        "our heritage is ignored",
    ),
    "feeling_safe": (
        "drug dealing in the close",
        "gangs of youths hanging about at night",
        "no police presence at all",
        "I don't feel safe after dark",
        "antisocial behaviour is out of control",
        "break ins on our street",
        "the street lights are out",
        "fighting outside the pub every weekend",
        "motorbikes on the paths",
    ),
    "care_maintenance": (
        "dog fouling everywhere",
        "fly-tipping in the back lane",
        "the potholes are a disgrace",
        "the bins are overflowing",
        "the bin lorry only comes every three weeks",
        "litter everywhere",
        "graffiti all over the shelters",
        "the grass is never cut",
        "the close is filthy",
        "the place is a midden",
        "nobody grits the pavements",
        "weeds growing everywhere",
    ),
    "influence_control": (
        "the council never listens",
        "decisions are made without asking us",
        "consultations are a tick box exercise",
        "councillors only appear at election time",
        "complaints go nowhere",
        "nothing ever changes no matter what we say",
        "the community council is a closed shop",
    ),
}

WISH: Final[dict[str, tuple[str, ...]]] = {
    "moving_around": ("better pavements", "a safe crossing at the school", "proper cycle paths"),
    "public_transport": ("more buses at night", "a Sunday bus service", "cheaper bus fares"),
    "traffic_parking": ("speed bumps", "a 20mph limit", "residents parking"),
    "streets_spaces": ("more benches in the town centre", "something done about the empty shops"),
    "natural_space": ("more trees", "a proper park", "more green space"),
    "play_recreation": ("a new play park", "a skate park", "something for the teenagers"),
    "facilities_amenities": ("a bank", "a decent supermarket", "more GP appointments"),
    "work_economy": (
        "more jobs",
        "apprenticeships for young people",
        "support for local businesses",
    ),
    "housing_community": (
        "more affordable housing",
        "more council houses",
        "houses for young folk",
    ),
    "social_contact": ("a youth club", "a lunch club", "somewhere to meet people"),
    "identity_belonging": ("more pride in the place", "more community spirit"),
    "feeling_safe": ("more police", "better street lighting", "CCTV"),
    "care_maintenance": ("more bins", "the potholes fixed", "more street cleaning"),
    "influence_control": ("a real say in decisions", "a council that listens"),
}

NOTHING_GOOD: Final = (
    "Nothing",
    "nothing",
    "Not much",
    "n/a",
    "Nothing really",
    "Can't think of anything",
    "Not a lot to be honest",
    "No comment",
    "Don't know",
)
NOTHING_BETTER: Final = (
    "Nothing",
    "Nothing really, it's fine",
    "n/a",
    "Not sure",
    "No comment",
    "Everything",
    "See above",
    "Dunno",
    "Too much to list",
)
OPENERS: Final = ("", "", "", "", "Honestly ", "For me, ", "I'd say ", "Mostly ", "Aye, ")
WISH_TEMPLATES: Final = (
    "We need {}",
    "Need {}",
    "Would be good to have {}",
    "Would like to see {}",
    "{} please",
    "Please give us {}",
    "It wid be good tae get {}",
)
# Theme-neutral details that make two people's versions of one complaint differ.
GOOD_DETAILS: Final = (
    " most of the time",
    " round here",
    " which is great",
    " in the summer",
    " for families",
    " if you ask me",
    " compared to where I lived before",
    " and long may it last",
)
BAD_DETAILS: Final = (
    " for years",
    " since covid",
    " every single day",
    " round our way",
    " on our street",
    " at the weekends",
    " this year",
    " and it's getting worse",
    " as usual",
    " which is a joke",
    " and has been for ages",
    " in the scheme",
    " since we moved here",
    " - absolutely shocking",
)
CLOSERS: Final = ("", "", "", "", "", " Thanks.", " That's about it.", " Hope this helps!")
# Made-up street names for planted "I live at ..." addresses.
STREET_NAMES: Final = (
    "Balmuir Road",
    "Craigend Crescent",
    "Kirkbrae Street",
    "Glenfield Avenue",
    "Mill Wynd",
    "Thornbank Drive",
    "Rowan Terrace",
    "Heatherlea Gardens",
)
FIRST_NAMES: Final = ("jean", "davie", "morag", "sandy", "aileen", "kenny", "fiona", "tam")

CAMPAIGN_TEXT: Final = (
    "Save the Braeside Community Centre! Closing it would be a disaster for the older "
    "people and families who meet there every week. The council must listen to us and "
    "keep it open."
)
CAMPAIGN_THEMES: Final = ("facilities_amenities", "social_contact", "influence_control")


@dataclass(frozen=True)
class GeneratedSurvey:
    """The export and what the generator meant by it (for tests only).

    `responses` is the export layout (`SURVEY_COLUMNS`). `intended_themes` has one row
    per (response_id, question, theme_id) the generator wrote a comment about ('none'
    for a comment with no theme). `respondents` gives each response's true data zone,
    SIMD quintile, council, postcode status (valid, blank, malformed, unknown), the
    response it duplicates (or NA) and whether it is part of the campaign.
    `personal_data` lists the planted personal data (response_id, question, kind, value).
    """

    responses: pd.DataFrame
    intended_themes: pd.DataFrame
    respondents: pd.DataFrame
    personal_data: pd.DataFrame


# --- drawing respondents --------------------------------------------------------------------


def _respondent_areas(
    postcodes: pd.DataFrame, dz_deprivation: pd.DataFrame, count: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Data zone and postcode of each respondent: zones weighted by their number of
    postcodes times the response rate of their SIMD quintile."""
    postcodes = postcodes[["postcode", "dz_code"]].dropna()
    postcodes = postcodes.sort_values(["dz_code", "postcode"], kind="stable")
    zones = dz_deprivation[["dz_code", "simd_quintile", "council_code"]].drop_duplicates("dz_code")
    zones = zones.sort_values("dz_code", kind="stable")
    per_zone = postcodes.groupby("dz_code").size()
    zones = zones[zones["dz_code"].isin(per_zone.index)].reset_index(drop=True)
    if zones.empty:
        raise ValueError("no data zone has both a postcode and a SIMD quintile")
    quintile = zones["simd_quintile"].astype(int)
    weight = per_zone.reindex(zones["dz_code"]).to_numpy() * quintile.map(
        RESPONSE_RATE_BY_QUINTILE
    ).to_numpy(dtype=float)
    chosen = rng.choice(len(zones), size=count, p=weight / weight.sum())
    grouped = postcodes.groupby("dz_code")["postcode"].agg(list)
    picks = rng.random(count)
    units = [
        grouped[zones.at[zone, "dz_code"]][int(pick * len(grouped[zones.at[zone, "dz_code"]]))]
        for zone, pick in zip(chosen, picks, strict=True)
    ]
    return pd.DataFrame(
        {
            "dz_code": zones["dz_code"].to_numpy()[chosen],
            "simd_quintile": quintile.to_numpy()[chosen],
            "council_code": zones["council_code"].to_numpy()[chosen],
            "true_postcode": units,
        }
    )


def _scores(quintiles: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scores 1..7 (float, NaN = skipped), one column per theme in contract order."""
    count = len(quintiles)
    mood = rng.normal(0.0, 0.8, size=count)
    columns = []
    for theme in PLACE_STANDARD_THEMES:
        mean = THEME_MEANS[theme] + DEPRIVATION_SLOPE.get(theme, 0.05) * (quintiles - 3)
        raw = mean + mood + rng.normal(0.0, 1.1, size=count)
        columns.append(np.clip(np.rint(raw), 1, 7))
    scores = np.column_stack(columns)
    scores[rng.random(scores.shape) < SKIP_THEME_SHARE] = np.nan
    drop_outs = np.flatnonzero(rng.random(count) < DROP_OUT_SHARE)
    for row, first_skipped in zip(
        drop_outs, rng.integers(4, len(PLACE_STANDARD_THEMES), size=len(drop_outs)), strict=True
    ):
        scores[row, first_skipped:] = np.nan
    return scores


def _pick(options: Sequence[str], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


def _themes_to_mention(scores: np.ndarray, positive: bool, rng: np.random.Generator) -> list[str]:
    """1-3 themes a respondent writes about: their best (>= 5) or worst (<= 3) scores,
    favouring the most extreme; empty when no score qualifies."""
    extreme = scores - 4.0 if positive else 4.0 - scores
    candidates = np.flatnonzero(extreme >= 1.0)  # NaN (skipped) compares False
    if candidates.size == 0:
        return []
    how_many = min(candidates.size, int(rng.choice([1, 1, 1, 2, 2, 3])))
    # Weighted sampling without replacement: smallest exponential draw / weight wins.
    keys = rng.exponential(size=candidates.size) / extreme[candidates] ** 2
    chosen = candidates[np.argsort(keys, kind="stable")[:how_many]]
    return [PLACE_STANDARD_THEMES[index] for index in sorted(chosen)]


def _join_clauses(clauses: list[str], rng: np.random.Generator) -> str:
    text = clauses[0]
    for clause in clauses[1:]:
        joiner = _pick((", ", " and ", ". ", ", also ", "; ", ". Also "), rng)
        first = clause[0].upper() if joiner == ". " else clause[0].lower()
        text += joiner + first + clause[1:]
    return text


def _compose(themes: list[str], positive: bool, rng: np.random.Generator) -> str:
    clauses = []
    for theme in themes:
        if not positive and rng.random() < 0.3:
            clauses.append(_pick(WISH_TEMPLATES, rng).format(_pick(WISH[theme], rng)))
        else:
            clauses.append(_pick(GOOD[theme] if positive else BAD[theme], rng))
        if rng.random() < 0.45:
            clauses[-1] += _pick(GOOD_DETAILS if positive else BAD_DETAILS, rng)
    text = _join_clauses(clauses, rng)
    opener = _pick(OPENERS, rng)
    if opener and not text.startswith(("I ", "I'")):
        text = opener + text[0].lower() + text[1:]
    text = text[0].upper() + text[1:]
    ending = _pick((".", ".", ".", "!", "", "!!", "..."), rng)
    return text + ending + (_pick(CLOSERS, rng) if ending else "")


def _misspell(word: str, rng: np.random.Generator) -> str:
    position = int(rng.integers(1, len(word) - 1))
    kind = int(rng.integers(3))
    if kind == 0:  # swap two letters
        return word[: position - 1] + word[position] + word[position - 1] + word[position + 1 :]
    if kind == 1:  # drop a letter
        return word[:position] + word[position + 1 :]
    return word[:position] + word[position] + word[position:]  # double a letter


def _roughen(text: str, rng: np.random.Generator) -> str:
    """Typos, case and typography the way people type into survey boxes."""
    words = text.split(" ")
    if rng.random() < 0.12:
        for index in rng.choice(len(words), size=min(2, len(words)), replace=False):
            if len(words[index]) >= 5 and words[index].isalpha():
                words[index] = _misspell(words[index], rng)
    text = " ".join(words)
    draw = rng.random()
    if draw < 0.1:
        text = text.lower()
    elif draw < 0.13:
        text = text.upper()
    if rng.random() < 0.15:
        text = text.replace("'", "’")
    if rng.random() < 0.03 and ". " in text:
        text = text.replace(". ", ".\n", 1)
    return text


def _personal_data(kind: str, postcode: str, rng: np.random.Generator) -> tuple[str, str]:
    """A sentence carrying personal data of `kind`, and the personal data itself."""
    number = int(rng.integers(100, 1000))
    if kind == "email":
        value = f"{_pick(FIRST_NAMES, rng)}.{number}@example.com"
        return f"Contact me at {value} if you want to know more.", value
    if kind == "phone":
        value = _pick((f"07700 900{number}", f"0131 496 0{number}", f"07700900{number}"), rng)
        return f"My number is {value}, happy to talk.", value
    if kind == "address":
        value = f"{int(rng.integers(1, 120))} {_pick(STREET_NAMES, rng)}"
        return f"I live at {value} and it's been like this for years.", value
    return f"Come and see for yourself, my postcode is {postcode}.", postcode


def _postcode_as_typed(postcode: str, rng: np.random.Generator) -> str:
    draw = rng.random()
    if draw < 0.08:
        return postcode.lower()
    if draw < 0.13:
        return postcode.replace(" ", "")
    if draw < 0.16:
        return f" {postcode} "
    return postcode


def _problem_postcode(status: str, postcode: str, known: set[str], rng: np.random.Generator) -> str:
    if status == "blank":
        return ""
    if status == "malformed":
        outward = postcode.split(" ")[0]
        return _pick((outward, f"{outward} 9", "N/A", "dont know", "12 Main St", "EH"), rng)
    area = "".join(char for char in postcode.split(" ")[0] if char.isalpha())
    for _ in range(100):
        candidate = f"{area}{int(rng.integers(90, 100))} {int(rng.integers(1, 10))}ZZ"
        if candidate not in known:
            return candidate
    return f"{area}99 9ZZ"


# --- the survey -----------------------------------------------------------------------------


def simulate_place_standard_survey(
    postcodes: pd.DataFrame,
    dz_deprivation: pd.DataFrame,
    *,
    n_responses: int = 3000,
    seed: int = DEFAULT_SEED,
    today: date = DEFAULT_TODAY,
    campaign_size: int = 20,
    exact_duplicates: int = 3,
) -> GeneratedSurvey:
    """Draw a Place Standard survey and return it with what the generator intended.

    `postcodes` holds `postcode` (formatted 'AB1 2CD') and `dz_code`; `dz_deprivation`
    holds `dz_code`, `simd_quintile` (1 = most deprived) and `council_code`. Responses
    were submitted over the `FIELDWORK_DAYS` days before the week of `today`.
    `n_responses` counts every row, including the campaign and the duplicates.
    """
    rng = np.random.default_rng(seed)
    campaign_size = min(campaign_size, n_responses // 10)
    exact_duplicates = min(exact_duplicates, n_responses // 50)
    base_count = n_responses - campaign_size - exact_duplicates
    if base_count < 1:
        raise ValueError("n_responses is too small")
    areas = _respondent_areas(postcodes, dz_deprivation, base_count + campaign_size, rng)
    # The campaign comes from one council: supporters of one centre, drawn from its respondents.
    if campaign_size:
        anchor = areas.iloc[base_count]
        local = areas.iloc[:base_count]
        local = local[local["council_code"] == anchor["council_code"]]
        rows = rng.choice(local.index.to_numpy(), size=campaign_size, replace=True)
        areas = pd.concat([areas.iloc[:base_count], areas.loc[rows]], ignore_index=True)
    count = len(areas)
    scores = _scores(areas["simd_quintile"].to_numpy(dtype=float), rng)
    campaign = np.zeros(count, bool)
    campaign[base_count:] = True
    for theme in CAMPAIGN_THEMES:
        column = PLACE_STANDARD_THEMES.index(theme)
        scores[campaign, column] = rng.choice([1.0, 1.0, 2.0], size=campaign_size)

    good_texts: list[str | None] = []
    better_texts: list[str | None] = []
    intended: list[tuple[int, str, str]] = []
    planted: list[tuple[int, str, str, str]] = []
    for row in range(count):
        postcode = str(areas.at[row, "true_postcode"])
        for question, positive, blank_share in (
            ("what_is_good", True, BLANK_GOOD_SHARE),
            ("what_could_be_better", False, BLANK_BETTER_SHARE),
        ):
            text: str | None
            if campaign[row] and not positive:
                text = _campaign_variant(rng)
                themes = list(CAMPAIGN_THEMES)
            elif rng.random() < blank_share:
                text, themes = None, []
            else:
                themes = _themes_to_mention(scores[row], positive, rng)
                if themes and rng.random() < 0.93:
                    text = _roughen(_compose(themes, positive, rng), rng)
                else:
                    text = _pick(NOTHING_GOOD if positive else NOTHING_BETTER, rng)
                    themes = ["none"]
                if rng.random() < PERSONAL_DATA_SHARE:
                    kind = _pick(("email", "phone", "address", "postcode"), rng)
                    sentence, value = _personal_data(kind, postcode, rng)
                    text = f"{text} {sentence}"
                    planted.append((row, question, kind, value))
            (good_texts if positive else better_texts).append(text)
            intended.extend((row, question, theme) for theme in themes)

    statuses = rng.choice(
        ["valid", *POSTCODE_PROBLEMS],
        size=count,
        p=[1 - sum(POSTCODE_PROBLEMS.values()), *POSTCODE_PROBLEMS.values()],
    )
    known = set(postcodes["postcode"].astype(str))
    typed = [
        _postcode_as_typed(code, rng)
        if status == "valid"
        else _problem_postcode(str(status), code, known, rng)
        for code, status in zip(areas["true_postcode"], statuses, strict=True)
    ]
    window_start = datetime.combine(today, datetime.min.time()) - timedelta(days=FIELDWORK_DAYS + 7)
    # Evenings and weekends are busier, so draw minutes with an evening bump.
    day = rng.integers(0, FIELDWORK_DAYS, size=count)
    minute_of_day = np.where(
        rng.random(count) < 0.45,
        rng.normal(20.5 * 60, 90, size=count),
        rng.uniform(7 * 60, 23 * 60, size=count),
    ).clip(0, 24 * 60 - 1)
    submitted = [
        window_start + timedelta(days=int(d), minutes=int(m))
        for d, m in zip(day, minute_of_day, strict=True)
    ]
    if campaign_size:  # campaign replies arrive within a few days of the call going out
        call = window_start + timedelta(days=int(rng.integers(10, FIELDWORK_DAYS - 10)))
        for row in np.flatnonzero(campaign):
            submitted[row] = call + timedelta(minutes=int(rng.integers(0, 4 * 24 * 60)))

    table = pd.DataFrame(
        {
            "submitted": submitted,
            "postcode": typed,
            "age_band": _age_bands(count, rng),
            "gender": _genders(count, rng),
        }
    )
    for index, theme in enumerate(PLACE_STANDARD_THEMES):
        table[theme] = pd.array(scores[:, index], dtype="Float64").astype("Int64")
    table["what_is_good"] = good_texts
    table["what_could_be_better"] = better_texts
    table["_row"] = np.arange(count)
    table["_duplicate_of"] = -1

    # Exact re-submissions: a respondent pressing submit again a few minutes later.
    with_text = np.flatnonzero(
        ~campaign
        & table["what_is_good"].notna().to_numpy()
        & table["what_could_be_better"].notna().to_numpy()
    )
    if exact_duplicates:
        originals = rng.choice(with_text, size=exact_duplicates, replace=False)
        copies = table.iloc[originals].copy()
        copies["submitted"] = [
            time + timedelta(minutes=int(rng.integers(1, 15))) for time in copies["submitted"]
        ]
        copies["_duplicate_of"] = originals
        copies["_row"] = np.arange(count, count + exact_duplicates)
        table = pd.concat([table, copies], ignore_index=True)

    table = table.sort_values(["submitted", "_row"], kind="stable").reset_index(drop=True)
    table["response_id"] = np.arange(FIRST_RESPONSE_ID, FIRST_RESPONSE_ID + len(table))
    response_of_row = dict(zip(table["_row"], table["response_id"], strict=True))
    table["submitted_at"] = table["submitted"].dt.strftime(SUBMITTED_AT_FORMAT)
    responses = table[list(SURVEY_COLUMNS)].copy()

    source_row = table["_row"].where(table["_duplicate_of"] < 0, table["_duplicate_of"])
    status_of_row = np.array(statuses)[source_row.to_numpy()]
    area_of_row = areas.iloc[source_row.to_numpy()].reset_index(drop=True)
    respondents = pd.DataFrame(
        {
            "response_id": table["response_id"],
            "dz_code": area_of_row["dz_code"],
            "simd_quintile": area_of_row["simd_quintile"].astype(int),
            "council_code": area_of_row["council_code"],
            "postcode_status": status_of_row,
            "duplicate_of": pd.array(
                [response_of_row[r] if r >= 0 else None for r in table["_duplicate_of"]],
                dtype="Int64",
            ),
            "campaign": campaign[source_row.to_numpy()],
        }
    )
    rows_of_source = table.groupby(source_row)["response_id"].agg(list)
    intended_frame = pd.DataFrame(
        [
            (response_id, question, theme)
            for row, question, theme in intended
            for response_id in rows_of_source[row]
        ],
        columns=["response_id", "question", "theme_id"],
    ).sort_values(["response_id", "question"], kind="stable", ignore_index=True)
    personal = pd.DataFrame(
        [
            (response_id, question, kind, value)
            for row, question, kind, value in planted
            for response_id in rows_of_source[row]
        ],
        columns=["response_id", "question", "kind", "value"],
    ).sort_values(["response_id", "question"], kind="stable", ignore_index=True)
    return GeneratedSurvey(responses, intended_frame, respondents, personal)


def _campaign_variant(rng: np.random.Generator) -> str:
    """The campaign text as one supporter typed it: small edits that keep it near-identical."""
    text = CAMPAIGN_TEXT
    if rng.random() < 0.4:
        text = text.replace("Save the", _pick(("Please save the", "SAVE THE", "Save our"), rng), 1)
    if rng.random() < 0.3:
        text = text.replace(" every week", "", 1)
    if rng.random() < 0.3:
        text = text.replace("must", "has to", 1)
    if rng.random() < 0.25:
        text = text.lower()
    if rng.random() < 0.3:
        text += _pick((" Totally agree.", " Keep it open!!", " #SaveBraeside", " Agreed."), rng)
    return text


def _age_bands(count: int, rng: np.random.Generator) -> list[str | None]:
    bands = rng.choice(len(AGE_BANDS), size=count, p=AGE_WEIGHTS)
    extra = rng.random(count)
    values: list[str | None] = []
    for band, draw in zip(bands, extra, strict=True):
        label = AGE_BANDS[band]
        if draw < 0.03:
            values.append(None)
        elif draw < 0.05:
            values.append("Prefer not to say")
        elif draw < 0.07 and label in AGE_VARIANTS:
            values.append(AGE_VARIANTS[label])
        else:
            values.append(label)
    return values


def _genders(count: int, rng: np.random.Generator) -> list[str | None]:
    picks = rng.choice(len(GENDERS), size=count, p=GENDER_WEIGHTS)
    blank = rng.random(count) < 0.03
    return [None if skip else GENDERS[pick] for pick, skip in zip(picks, blank, strict=True)]


def generate_place_standard_survey(
    postcodes: pd.DataFrame,
    dz_deprivation: pd.DataFrame,
    *,
    n_responses: int = 3000,
    seed: int = DEFAULT_SEED,
    today: date = DEFAULT_TODAY,
) -> pd.DataFrame:
    """A synthetic Place Standard survey export (`SURVEY_COLUMNS`), deterministic by seed.

    See `simulate_place_standard_survey` for the inputs and for what is planted in it.
    """
    return simulate_place_standard_survey(
        postcodes, dz_deprivation, n_responses=n_responses, seed=seed, today=today
    ).responses


# --- writing --------------------------------------------------------------------------------


def _fixed_zip(data: bytes, stamp: datetime) -> bytes:
    """Re-pack a zip (an XLSX) with every entry dated `stamp` and the workbook's
    'modified' property (which openpyxl sets to the time of saving) set to `stamp`, so
    equal content gives equal bytes."""
    when = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, 0)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            content = source.read(entry.filename)
            if entry.filename == "docProps/core.xml":
                content = _MODIFIED.sub(rf"\g<1>{iso}\g<2>".encode(), content)
            info = zipfile.ZipInfo(entry.filename, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = entry.external_attr
            target.writestr(info, content)
    return out.getvalue()


_MODIFIED: Final = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def write_survey_exports(frame: pd.DataFrame, out_dir: str | Path) -> dict[str, Path]:
    """Write the survey as the three exports a council might hand over.

    `place_standard_demo.csv` (UTF-8, LF), `place_standard_demo_cp1252.csv` (Windows-1252,
    CRLF, as saved by Excel on Windows; its comments carry curly quotes and '£') and
    `place_standard_demo.xlsx` (one sheet, `submitted_at` as real date cells). Returns the
    paths by kind ('csv', 'cp1252', 'xlsx'). Identical frames give identical bytes.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    # The export layout, plus any extra columns the caller added (e.g. a `place` column of
    # data zone codes where respondents are placed by area rather than postcode).
    columns = [*SURVEY_COLUMNS, *(c for c in frame.columns if c not in SURVEY_COLUMNS)]
    table = frame[columns]
    paths = {kind: folder / name for kind, name in EXPORT_FILES.items()}
    table.to_csv(paths["csv"], index=False, encoding="utf-8", lineterminator="\n")
    table.to_csv(paths["cp1252"], index=False, encoding="cp1252", lineterminator="\r\n")

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Responses"
    sheet.append(columns)
    submitted = pd.to_datetime(table["submitted_at"], format=SUBMITTED_AT_FORMAT)
    for values, when in zip(table.itertuples(index=False), submitted, strict=True):
        cells = [None if pd.isna(value) else value for value in values]
        cells[1] = when.to_pydatetime()
        cells = [int(value) if isinstance(value, np.integer) else value for value in cells]
        sheet.append(cells)
    for cell in sheet["B"][1:]:
        cell.number_format = "dd/mm/yyyy hh:mm"
    stamp = submitted.max().to_pydatetime() if len(submitted) else datetime(2026, 1, 1)
    workbook.properties.creator = "Place Standard demo"
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    buffer = io.BytesIO()
    workbook.save(buffer)
    paths["xlsx"].write_bytes(_fixed_zip(buffer.getvalue(), stamp))
    return paths

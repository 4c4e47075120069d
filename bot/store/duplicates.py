"""Is a report the same problem at the same place as another? — the one home of that judgement,
read by the chat at intake, the console's "可能重复" panel, the JSON API and the hot spots.

    probe = Probe.of_report(report)                       # or Probe.of_ticket(ticket)
    found = duplicates.candidates(session, probe)         # open tickets, best first, with scores
    duplicates.similarity(a, b)                           # Score(text=…, place=…, total=…)

Two parts make the score:

- meaning: the cosine of the two reports' words about the problem (their place's words taken out,
  see `problem_words`) under TF-IDF over character 1–3-grams of normalised text — Traditional and
  Simplified, full- and half-width compare alike — fitted once on the assistant's own training
  sentences, so that what every report says (问题, 反映, 麻烦) weighs little;
- place: 1 for the same spot (the same compound or road of the gazetteer, bot/places.py, and the
  same 栋 / 单元 / 号 when both say one, or device positions within 100 m), less for the same
  compound when only one says a building, 0 for another building, compound or 社区 — where the
  place differs, the problem is not the same, however alike the words.

The total is meaning × (0.65 + 0.35 × place), and 0 where the places differ; at or above the
threshold (settings.duplicate_threshold, tuned on the benchmark's dev split) two reports are
"the same" (benchmarks/duplicates.py measures precision and recall).

At intake the store is narrowed first, by indexed columns (open, the same category, the same 社区 /
街道 or nearby coordinates, filed within settings.duplicate_window_days), and only those few are scored.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot import places, settings
from bot.store import states
from bot.store.schema import Ticket, utcnow
from bot.textnorm import normalize

PLACE_WEIGHT = 0.35
NEAR_M = 100.0  # device positions this close: the same spot
AROUND_M = 300.0  # this close: the same neighbourhood
MOST_SCORED = 200  # at most this many of the narrowed tickets are scored (the newest)
# States a ticket may be merged into (staff) — an open one, or one resolved and awaiting its survey.
MERGEABLE = states.OPEN | {states.RESOLVED}

_NUMERALS = {c: str(i) for i, c in enumerate("零一二三四五六七八九")} | {"两": "2", "〇": "0"}
_NUMBER = r"[0-9零一二三四五六七八九十两〇]+"
_BUILDING = re.compile(rf"({_NUMBER})\s*(?:栋|幢|号楼|座|楼(?=\d|[一二三四五六七八九十]|$))")
_UNIT = re.compile(rf"({_NUMBER})\s*单元")
_DOOR = re.compile(rf"({_NUMBER})\s*号(?!楼)")
_MARKUP = re.compile(r"\[([^\]]+)\]\([^)]*\)|\{[^}]*\}")


def _number(text: str) -> str:
    """ "3", "三", "十二" → "3", "3", "12" (what residents write for a building or a unit)."""
    if text.isdigit():
        return str(int(text))
    if "十" in text:
        tens, _, ones = text.partition("十")
        return str(int(_NUMERALS.get(tens, "1") if tens else "1") * 10 + int(_NUMERALS.get(ones, "0") or 0))
    return "".join(_NUMERALS.get(c, c) for c in text)


# ---------------------------------------------------------------- what is compared


@dataclass(frozen=True)
class Probe:
    """What a report says about itself: words, category and place."""

    description: str
    category_id: Optional[str] = None
    location: Optional[str] = None
    street: Optional[str] = None
    community: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    created_at: Optional[dt.datetime] = None
    ticket_id: Optional[int] = None

    @classmethod
    def of_ticket(cls, ticket: Any) -> "Probe":
        return cls(
            description=ticket.description,
            category_id=ticket.category_id,
            location=ticket.location,
            street=ticket.street,
            community=ticket.community,
            latitude=ticket.latitude,
            longitude=ticket.longitude,
            created_at=ticket.created_at,
            ticket_id=ticket.id,
        )

    @classmethod
    def of_report(
        cls,
        description: str,
        category_id: Optional[str],
        location: Optional[str],
        latitude: Optional[float] = None,
        longitude: Optional[float] = None,
    ) -> "Probe":
        """A report not yet filed: its place resolved as the store will resolve it."""
        gazetteer = places.load()
        place = gazetteer.resolve(location)
        if not place.known and latitude is not None and longitude is not None:
            place = gazetteer.nearest(latitude, longitude) or places.UNKNOWN
        return cls(
            description=description,
            category_id=category_id,
            location=location,
            street=place.street,
            community=place.community,
            latitude=latitude,
            longitude=longitude,
        )


@dataclass(frozen=True)
class Spot:
    """A place reduced to what tells two places apart."""

    community: Optional[str]
    name: Optional[str]  # the gazetteer's compound or road
    building: Optional[str]
    unit: Optional[str]
    door: Optional[str]  # a road's 门牌号
    text: str  # the words, normalised, when the gazetteer knows nothing
    latitude: Optional[float]
    longitude: Optional[float]


@functools.lru_cache(maxsize=20000)
def _spot_of_words(location: str) -> Tuple[Optional[str], Optional[str], Optional[str], Optional[str], str]:
    norm = normalize(location)
    found = places.load().find(norm)
    name = found[0].name if found and found[0].kind in ("compound", "road") else None
    building, unit, door = (_BUILDING.search(norm), _UNIT.search(norm), _DOOR.search(norm))
    return (
        name,
        _number(building.group(1)) if building else None,
        _number(unit.group(1)) if unit else None,
        _number(door.group(1)) if door else None,
        norm,
    )


def spot_of(probe: Probe) -> Spot:
    name, building, unit, door, text = _spot_of_words(probe.location or "")
    return Spot(probe.community, name, building, unit, door, text, probe.latitude, probe.longitude)


def place_similarity(a: Spot, b: Spot) -> float:
    """1: the same spot; 0: somewhere else (see the module's description)."""
    if None not in (a.latitude, a.longitude, b.latitude, b.longitude):
        metres = places.distance_m(a.latitude, a.longitude, b.latitude, b.longitude)  # type: ignore[arg-type]
        if metres <= NEAR_M:
            return 1.0
        if metres > AROUND_M:
            return 0.0
        position: Optional[float] = 0.6
    else:
        position = None
    if a.community and b.community and a.community != b.community:
        return 0.0
    for mine, theirs in ((a.building, b.building), (a.unit, b.unit), (a.door, b.door)):
        if mine and theirs and mine != theirs:
            return 0.0
    if a.name and b.name:
        if a.name != b.name:
            return 0.0
        exact = (a.building and a.building == b.building) or (a.door and a.door == b.door)
        return 1.0 if exact or not (a.building or b.building or a.door or b.door) else 0.8
    if position is not None:
        return position
    if a.text and b.text:
        # Neither place is in the gazetteer (or one only): how alike the words of the two places are.
        words = float(text_similarities(a.text, [b.text])[0])
        return min(1.0, words * 1.2) if a.community == b.community or not (a.community and b.community) else 0.0
    # One side gave no place at all: the same 社区 at best.
    return 0.5 if a.community and a.community == b.community else 0.3


# ---------------------------------------------------------------- meaning


_NOT_WORDS = re.compile(r"[\W_]+")


def _clean(text: str) -> str:
    return _NOT_WORDS.sub(" ", normalize(text))


@functools.lru_cache(maxsize=1)
def _vectorizer():
    """TF-IDF over character 1–3-grams of normalised text, fitted on the assistant's training
    sentences (read once). Jieba words alongside (the category classifier's features) were
    measured too and lowered F1 on the benchmark's dev split: residents' paraphrases share
    characters (路灯/灯, 充电/电瓶车) more often than whole words."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from bot.classifier.training_data import all_examples

    corpus = [_MARKUP.sub(r"\1", t) for t in all_examples()]
    return TfidfVectorizer(analyzer="char", ngram_range=(1, 3), preprocessor=_clean, sublinear_tf=True).fit(corpus)


def warm_up() -> None:
    """Fits the features and reads the gazetteer now rather than at the first report."""
    vectors(["路灯坏了"])
    places.load()


_VECTORS: Dict[str, Any] = {}  # text → its row; a ticket's words never change
_MOST_KEPT = 100_000


def vectors(texts: Sequence[str]):
    """One L2-normalised row per text (a sparse matrix); the texts not seen before are transformed
    in one call, and the rows are put together from their kept indices and values."""
    import numpy as np
    from scipy.sparse import csr_matrix

    if not texts:
        return None
    vectorizer = _vectorizer()
    new = list(dict.fromkeys(t for t in texts if t not in _VECTORS))
    if new:
        if len(_VECTORS) + len(new) > _MOST_KEPT:
            _VECTORS.clear()
        matrix = vectorizer.transform(new).tocsr()
        for i, text in enumerate(new):
            begin, end = matrix.indptr[i], matrix.indptr[i + 1]
            _VECTORS[text] = (matrix.indices[begin:end], matrix.data[begin:end])
    rows = [_VECTORS[t] for t in texts]
    indptr = np.concatenate(([0], np.cumsum([len(r[0]) for r in rows])))
    indices = np.concatenate([r[0] for r in rows]) if rows else np.zeros(0, dtype=np.int32)
    data = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0)
    return csr_matrix((data, indices, indptr), shape=(len(rows), len(vectorizer.vocabulary_)))


@functools.lru_cache(maxsize=4)
def _place_words(names: Tuple[str, ...]) -> "re.Pattern[str]":
    """The gazetteer's names (longest first) and 栋 / 单元 / 号, as one pattern."""
    alternatives = [re.escape(n) for n in names] + [p.pattern for p in (_BUILDING, _UNIT, _DOOR)]
    return re.compile("|".join(alternatives))


@functools.lru_cache(maxsize=50000)
def problem_words(description: str, location: Optional[str] = None) -> str:
    """The words of a report about the problem, without those about the place (its location, the
    gazetteer's names, 栋 / 单元 / 号): two reports from one place share those, whatever the problem."""
    text = normalize(description)
    if location:
        text = text.replace(normalize(location), " ")
    text = _place_words(places.load().names()).sub(" ", text)
    return text if text.strip() else normalize(description)


def text_similarities(text: str, others: Sequence[str]):
    """The cosine of `text` with each of `others` (numpy array)."""
    import numpy as np

    if not others:
        return np.zeros(0)
    matrix = vectors([text, *others])
    return (matrix[1:] @ matrix[0].T).toarray().ravel()


# ---------------------------------------------------------------- the score


@dataclass(frozen=True)
class Score:
    text: float
    place: float
    total: float


def combine(text: float, place: float) -> Score:
    total = text * (1 - PLACE_WEIGHT + PLACE_WEIGHT * place) if place > 0 else 0.0
    return Score(round(float(text), 3), round(float(place), 3), round(float(total), 3))


def words_of(probe: Probe) -> str:
    return problem_words(probe.description, probe.location)


def similarity(a: Probe, b: Probe) -> Score:
    text = float(text_similarities(words_of(a), [words_of(b)])[0])
    return combine(text, place_similarity(spot_of(a), spot_of(b)))


def threshold() -> float:
    return settings.load().duplicate_threshold


def is_same(score: Score, at_least: Optional[float] = None) -> bool:
    return score.total >= (threshold() if at_least is None else at_least)


# ---------------------------------------------------------------- looking them up


@dataclass(frozen=True)
class Candidate:
    ticket: Ticket
    score: Score


# What a report is compared by: read as plain rows, not ticket objects with their relations.
COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.description,
    Ticket.category_id,
    Ticket.location,
    Ticket.street,
    Ticket.community,
    Ticket.latitude,
    Ticket.longitude,
    Ticket.created_at,
)


def _narrowed(session: Session, probe: Probe, statuses: Iterable[str], window: dt.timedelta, now: dt.datetime):
    """The few tickets worth scoring, by indexed columns: state, category, place, time — as plain
    rows of what the score reads (COLUMNS)."""
    around = probe.created_at or now
    conditions = [Ticket.status.in_(list(statuses)), Ticket.created_at >= around - window]
    if probe.created_at is not None:
        conditions.append(Ticket.created_at <= around + window)
    if probe.ticket_id is not None:
        conditions.append(Ticket.id != probe.ticket_id)
    if probe.category_id:
        conditions.append(Ticket.category_id == probe.category_id)
    if probe.community:
        conditions.append(Ticket.community == probe.community)
    elif probe.street:
        conditions.append(Ticket.street == probe.street)
    elif probe.latitude is not None and probe.longitude is not None:
        # ~1 km around the position (a box; the score measures the distance).
        near = and_(
            Ticket.latitude.between(probe.latitude - 0.01, probe.latitude + 0.01),
            Ticket.longitude.between(probe.longitude - 0.01, probe.longitude + 0.01),
        )
        conditions.append(or_(near, Ticket.street.is_(None)))
    else:
        conditions.append(Ticket.street.is_(None))  # a place the gazetteer does not know: compared by its words
    return list(
        session.execute(select(*COLUMNS).where(*conditions).order_by(Ticket.created_at.desc()).limit(MOST_SCORED))
    )


def score_all(probe: Probe, tickets: Sequence[Any]) -> List[Score]:
    if not tickets:
        return []
    mine = spot_of(probe)
    spots = [spot_of(Probe.of_ticket(t)) for t in tickets]
    place = [place_similarity(mine, s) for s in spots]
    # Words are compared only where the place may be the same.
    alike = [i for i, p in enumerate(place) if p > 0]
    texts = text_similarities(
        words_of(probe), [problem_words(tickets[i].description, tickets[i].location) for i in alike]
    )
    text = [0.0] * len(tickets)
    for i, value in zip(alike, texts):
        text[i] = float(value)
    return [combine(t, p) for t, p in zip(text, place)]


def candidates(
    session: Session,
    probe: Probe,
    at_least: Optional[float] = None,
    limit: int = 5,
    statuses: Iterable[str] = states.OPEN,
    window_days: Optional[int] = None,
    now: Optional[dt.datetime] = None,
) -> List[Candidate]:
    """Tickets reporting the same problem at the same place, best first, scored at or above
    `at_least` (default: the threshold). At intake: open tickets filed within the window."""
    settings_now = settings.load()
    window = dt.timedelta(days=window_days or settings_now.duplicate_window_days)
    floor = settings_now.duplicate_threshold if at_least is None else at_least
    rows = _narrowed(session, probe, statuses, window, now or utcnow())
    scored = [(row, score) for row, score in zip(rows, score_all(probe, rows)) if score.total >= floor]
    scored.sort(key=lambda pair: (-pair[1].total, -pair[0].id))
    return [Candidate(session.get(Ticket, row.id), score) for row, score in scored[:limit]]


def best_open_match(session: Session, probe: Probe, now: Optional[dt.datetime] = None) -> Optional[Candidate]:
    """The open ticket a new report most likely repeats, if any reaches the threshold."""
    found = candidates(session, probe, limit=1, now=now)
    return found[0] if found else None


def suggestions(session: Session, ticket: Ticket, limit: int = 5) -> List[Candidate]:
    """For staff: other tickets of the same problem around the time this one was filed, that it
    could be merged into (open or resolved), with a lower bar than the chat's (three quarters of
    the threshold) so staff judge the borderline ones themselves."""
    return candidates(session, Probe.of_ticket(ticket), at_least=suggestion_floor(), limit=limit, statuses=MERGEABLE)


def suggestion_floor() -> float:
    return round(0.75 * threshold(), 3)


def pairwise(probes: Sequence[Probe]) -> Any:
    """The score of every pair among `probes` for a hot spot (numpy matrix, 0 on the diagonal):
    the same meaning as `similarity`, with places compared as areas — the same compound or road
    whatever the building (1), else the same 社区 (0.7), else how alike the words of the places are
    when the gazetteer knows neither, 0.3 when one gave no place."""
    import numpy as np

    count = len(probes)
    if count == 0:
        return np.zeros((0, 0))
    words = vectors([words_of(p) for p in probes])
    text = (words @ words.T).toarray()
    spots = [spot_of(p) for p in probes]

    def codes(values: List[Optional[str]]) -> Any:
        index: Dict[str, int] = {}
        return np.array([index.setdefault(v, len(index)) if v else -1 for v in values])

    names, communities = codes([s.name for s in spots]), codes([s.community for s in spots])
    both_named = (names[:, None] >= 0) & (names[None, :] >= 0)
    both_placed = (communities[:, None] >= 0) & (communities[None, :] >= 0)
    place = np.full((count, count), 0.3)
    worded = np.array([bool(s.text) for s in spots])
    both_worded = worded[:, None] & worded[None, :]
    if both_worded.any():
        where = vectors([s.text for s in spots])
        place = np.where(both_worded, (where @ where.T).toarray(), place)
    place = np.where(both_placed, np.where(communities[:, None] == communities[None, :], 0.7, 0.0), place)
    place = np.where(both_named, np.where(names[:, None] == names[None, :], 1.0, 0.0), place)
    total = np.where(place > 0, text * (1 - PLACE_WEIGHT + PLACE_WEIGHT * place), 0.0)
    np.fill_diagonal(total, 0.0)
    return total

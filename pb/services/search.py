"""Finding proposals: full-text search, filters, sorting and the page of cards, in one query per page plus the count.

Search runs on PostgreSQL full-text search (the 'simple' configuration: words are lower-cased, never stemmed, so
every language is treated alike; "park" does not find "parks" but the last word is matched as a prefix, so "park"
finds "parks" when typed last) and on SQLite FTS5 (unicode61, which also ignores accents). Both read the same words:
the letters and digits of the query, every word required. See pb.search_index for the engine-side objects.
"""

import hashlib
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import BigInteger, and_, cast, column, func, literal_column, select, table, text
from sqlalchemy.sql.elements import ColumnElement

from pb.domain.errors import ValidationError
from pb.domain.messages import N_, Message
from pb.domain.money import parse_amount
from pb.domain.numbers import parse_whole_number
from pb.extensions import db
from pb.models import (
    Category,
    Comment,
    Cycle,
    District,
    ProjectResult,
    Proposal,
    ProposalPhoto,
    ProposalStatus,
    Support,
    TallyRun,
)
from pb.pagination import Page
from pb.search_index import FTS_TABLE, VECTOR_COLUMN
from pb.services import tallying

PAGE_SIZE = 24
MOST_WORDS = 12
MOST_WORD_LENGTH = 60
_WORD = re.compile(r"[^\W_]+")  # letters and digits: no quote, operator or underscore

# The statuses anyone may see and filter by: everything but withdrawn proposals.
PUBLIC_STATUSES = tuple(status for status in ProposalStatus if status is not ProposalStatus.WITHDRAWN)

SORTS = {
    "random": N_("Random order"),
    "relevance": N_("Best match"),
    "newest": N_("Newest first"),
    "cost-asc": N_("Cost: lowest first"),
    "cost-desc": N_("Cost: highest first"),
    "supports": N_("Most supported"),
    "votes": N_("Most votes"),
}

# Seeds live in [1, _PRIME): the random order is a keyed permutation of ids computed in SQL, on 64-bit integers.
_PRIME = 2_147_483_647


@dataclass(frozen=True)
class Criteria:
    """What a reader asked for: words, filters and an order. None means no filter."""

    text: str = ""
    district_id: int | None = None
    category_id: int | None = None
    status: ProposalStatus | None = None
    min_cost: int | None = None
    max_cost: int | None = None
    sort: str = ""  # "" → relevance when searching, else random

    @property
    def words(self) -> list[str]:
        return search_words(self.text)

    @property
    def is_filtered(self) -> bool:
        return bool(self.words) or any(
            value is not None
            for value in (self.district_id, self.category_id, self.status, self.min_cost, self.max_cost)
        )


@dataclass(frozen=True)
class ProposalCard:
    """One proposal as the list shows it, with its counts and the photo for its thumbnail (None without photos)."""

    proposal: Proposal
    supports: int
    comments: int
    photo_id: int | None


def search_words(text_: str) -> list[str]:
    """The words of a query: runs of letters and digits, so no operator or quote of either engine survives."""
    return [word[:MOST_WORD_LENGTH] for word in _WORD.findall(text_ or "")][:MOST_WORDS]


def new_seed() -> int:
    """A seed for one visitor's random order of the list."""
    return secrets.randbelow(_PRIME - 1) + 1


def sorts_for(cycle: Cycle, has_words: bool) -> dict[str, Message]:
    """The orders that make sense now: by supports only with a supports phase, by votes only after results."""
    shown = dict(SORTS)
    if not has_words:
        del shown["relevance"]
    if not cycle.has_supports_phase:
        del shown["supports"]
    if not tallying.is_published(cycle):
        del shown["votes"]
    return shown


def read_criteria(args: Mapping[str, str], cycle: Cycle) -> tuple[Criteria, list[Message]]:
    """The criteria a query string asks for, and a message for each value that was ignored because it is wrong."""
    problems: list[Message] = []

    def choice(name: str, allowed: set[int], wrong: Message) -> int | None:
        raw = (args.get(name) or "").strip()
        if not raw:
            return None
        number = parse_whole_number(raw)
        if number in allowed:
            return number
        problems.append(wrong)
        return None

    def amount(name: str, wrong: Callable[[Message], Message]) -> int | None:
        raw = (args.get(name) or "").strip()
        if not raw:
            return None
        try:
            return parse_amount(raw[:40], cycle.currency)
        except ValidationError as error:
            problems.append(wrong(error.message))
            return None

    district_id = choice("district", {d.id for d in cycle.districts},
                         N_("That district is not one of this cycle's; all districts are shown."))
    category_id = choice("category", {c.id for c in cycle.categories},
                         N_("That category is not one of this cycle's; all categories are shown."))
    status = None
    raw_status = (args.get("status") or "").strip()
    if raw_status:
        status = next((s for s in PUBLIC_STATUSES if s.value == raw_status), None)
        if status is None:
            problems.append(N_("That status does not exist; proposals of every status are shown."))
    min_cost = amount("min_cost", lambda problem: N_("The lowest cost was ignored: {problem}", problem=problem))
    max_cost = amount("max_cost", lambda problem: N_("The highest cost was ignored: {problem}", problem=problem))
    if min_cost is not None and max_cost is not None and min_cost > max_cost:
        problems.append(N_("The lowest cost is more than the highest cost, so both were ignored."))
        min_cost = max_cost = None
    text_ = (args.get("q") or "")[:200]
    sort = (args.get("sort") or "").strip()
    if sort and sort not in sorts_for(cycle, bool(search_words(text_))):
        problems.append(N_("That order is not available here; the default order is used."))
        sort = ""
    return Criteria(text_, district_id, category_id, status, min_cost, max_cost, sort), problems


def effective_sort(criteria: Criteria) -> str:
    if criteria.sort:
        return criteria.sort
    return "relevance" if criteria.words else "random"


def _cost() -> ColumnElement:
    return func.coalesce(Proposal.final_cost, Proposal.estimated_cost)


def _search(words: list[str], dialect: str) -> tuple[list, ColumnElement | None, list]:
    """(where clauses, relevance expression where higher is better, extra FROM joins) for the words on this engine."""
    if not words:
        return [], None, []
    if dialect == "postgresql":
        # Each word is a quoted lexeme; the last also matches as a prefix ("park" finds "parking").
        query_text = " & ".join(f"'{word}'" for word in words) + ":*"
        tsquery = func.to_tsquery(literal_column("'simple'::regconfig"), query_text)
        vector = literal_column(f"proposals.{VECTOR_COLUMN}")
        return [vector.op("@@")(tsquery)], func.ts_rank(vector, tsquery), []
    # FTS5: every word a quoted string (operators and column filters inside quotes are plain text), the last a prefix.
    match_text = " ".join(f'"{word}"' for word in words[:-1]) + f' "{words[-1]}"*'
    fts = table(FTS_TABLE, column("rowid"), column("rank"))
    return ([text(f"{FTS_TABLE} MATCH :fts_match").bindparams(fts_match=match_text.strip())],
            -fts.c.rank, [(fts, fts.c.rowid == Proposal.id)])


def _order(sort: str, cycle: Cycle, seed: int, relevance: ColumnElement | None) -> list[tuple[ColumnElement, bool]]:
    """(key, is_descending) pairs, the proposal id last so every order is total and pages never overlap."""
    identity = (Proposal.id, False)
    if sort == "relevance" and relevance is not None:
        return [(relevance, True), identity]
    if sort == "newest":
        return [(Proposal.created_at, True), (Proposal.id, True)]
    if sort in ("cost-asc", "cost-desc"):
        return [(_cost(), sort == "cost-desc"), identity]
    if sort == "supports":
        count = select(func.count()).where(Support.proposal_id == Proposal.id).scalar_subquery()
        return [(count, True), identity]
    if sort == "votes":
        votes = (select(ProjectResult.votes).join(TallyRun, TallyRun.id == ProjectResult.tally_run_id)
                 .where(ProjectResult.project_id == Proposal.id, TallyRun.cycle_id == cycle.id)
                 .limit(1).scalar_subquery())
        return [(func.coalesce(votes, -1), True), identity]
    # Random, per visitor: a keyed quadratic permutation of the id modulo a prime, all in 64-bit integers.
    digest = hashlib.sha256(str(seed).encode()).digest()
    a, b, c = (int.from_bytes(digest[i:i + 4], "big") % (_PRIME - 1) + 1 for i in (0, 4, 8))
    ident = cast(Proposal.id, BigInteger)
    shuffled = ((ident * ident) % _PRIME * a + ident * b + c) % _PRIME
    return [(shuffled, False), identity]


def find_proposals(cycle: Cycle, criteria: Criteria, page_number: int = 1, seed: int = 1,
                   size: int = PAGE_SIZE) -> Page:
    """One page of the cycle's public proposals matching `criteria`, as ProposalCards, in the asked order.

    Two queries: the count, then the page (ids chosen, sorted and cut in a subquery, counts read for those alone).
    A page number after the last gives the last page.
    """
    dialect = db.engine.dialect.name
    where, relevance, joins = _search(criteria.words, dialect)
    where = [Proposal.cycle_id == cycle.id, Proposal.status != ProposalStatus.WITHDRAWN, *where]
    if criteria.district_id is not None:
        where.append(Proposal.district_id == criteria.district_id)
    if criteria.category_id is not None:
        where.append(Proposal.category_id == criteria.category_id)
    if criteria.status is not None:
        where.append(Proposal.status == criteria.status)
    if criteria.min_cost is not None:
        where.append(_cost() >= criteria.min_cost)
    if criteria.max_cost is not None:
        where.append(_cost() <= criteria.max_cost)

    def base(*columns):
        query = select(*columns).select_from(Proposal)
        for joined, on in joins:
            query = query.join(joined, on)
        return query.where(and_(*where))

    total = db.session.scalar(base(func.count())) or 0
    last = max(1, -(-total // size))
    number = min(max(1, page_number), last)
    order = _order(effective_sort(criteria), cycle, seed, relevance)
    keys = [key.label(f"key_{i}") for i, (key, _) in enumerate(order)]
    chosen = (base(Proposal.id.label("chosen_id"), *keys)
              .order_by(*(key.desc() if is_descending else key for key, is_descending in order))
              .limit(size).offset((number - 1) * size).subquery("chosen"))
    supports = select(func.count()).where(Support.proposal_id == Proposal.id).scalar_subquery()
    comments = select(func.count()).where(Comment.proposal_id == Proposal.id, Comment.is_visible).scalar_subquery()
    photo = (select(ProposalPhoto.id).where(ProposalPhoto.proposal_id == Proposal.id)
             .order_by(ProposalPhoto.position, ProposalPhoto.id).limit(1).scalar_subquery())
    outer_keys = [chosen.c[f"key_{i}"] for i in range(len(order))]
    rows = db.session.execute(
        select(Proposal, District, Category, supports, comments, photo)
        .join(chosen, chosen.c.chosen_id == Proposal.id)
        .join(District, District.id == Proposal.district_id)
        .outerjoin(Category, Category.id == Proposal.category_id)
        .order_by(*(key.desc() if is_descending else key for key, (_, is_descending) in zip(outer_keys, order)))
    ).all()
    cards = [ProposalCard(proposal, supports_count or 0, comments_count or 0, photo_id)
             for proposal, _district, _category, supports_count, comments_count, photo_id in rows]
    return Page(items=cards, number=number, size=size, total=total)


def search_proposal_ids(cycle: Cycle, text_: str) -> list[int]:
    """The ids of the cycle's public proposals matching `text_`, best match first (for tests and the CLI)."""
    page = find_proposals(cycle, Criteria(text=text_, sort="relevance"), size=1000)
    return [card.proposal.id for card in page.items]

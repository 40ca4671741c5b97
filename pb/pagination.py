"""Long lists, one page at a time: the page asked for is read in the database (LIMIT/OFFSET on a stable order)."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from pb.domain.numbers import parse_whole_number
from pb.extensions import db


@dataclass(frozen=True)
class Page:
    """One page of a list: its items, its number (from 1), its size and the length of the whole list."""

    items: Sequence[Any]
    number: int
    size: int
    total: int

    @property
    def last(self) -> int:
        """The number of the last page (1 for an empty list, which still has its one, empty, page)."""
        return max(1, -(-self.total // self.size))

    @property
    def has_next(self) -> bool:
        return self.number < self.last

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def first_position(self) -> int:
        """The position of the page's first item in the whole list (from 1), 0 for an empty list."""
        return (self.number - 1) * self.size + 1 if self.total else 0

    @property
    def last_position(self) -> int:
        return min(self.number * self.size, self.total)


def page_number(text: object) -> int:
    """The page a query string asks for: a whole number from 1, and page 1 for anything else ("0", "-1", "x")."""
    number = parse_whole_number(text, most_digits=6)
    return number if number and number >= 1 else 1


def paginate(query: Select, number: int, size: int, *, scalars: bool = True) -> Page:
    """Page `number` of `query` (which must have a stable ORDER BY), after the last page → the last page.

    Two queries: the count, then the page's rows. `scalars` returns the first column of each row (ORM objects);
    otherwise rows are returned whole.
    """
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    number = min(max(1, number), max(1, -(-total // size)))
    paged = query.limit(size).offset((number - 1) * size)
    items = list(db.session.scalars(paged)) if scalars else list(db.session.execute(paged))
    return Page(items=items, number=number, size=size, total=total)

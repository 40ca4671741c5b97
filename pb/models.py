"""The database tables of pb as typed SQLAlchemy 2 models; money columns are integer minor units."""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    and_,
    event,
    false,
    text,
    true,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pb.domain.cycle import Phase
from pb.domain.messages import N_
from pb.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Role(str, enum.Enum):
    RESIDENT = "resident"
    MODERATOR = "moderator"
    OFFICIAL = "official"

    @property
    def label(self) -> str:
        return {"resident": N_("Resident"), "moderator": N_("Moderator"), "official": N_("Official")}[self.value]


class ProposalStatus(str, enum.Enum):
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"
    # The supports phase left it out of review: not among the most supported of its district, or below the minimum.
    NOT_SELECTED = "not_selected"

    @property
    def label(self) -> str:
        return {
            "submitted": N_("Waiting for review"),
            "changes_requested": N_("Changes requested"),
            "accepted": N_("Accepted: on the ballot"),
            "rejected": N_("Rejected"),
            "withdrawn": N_("Withdrawn"),
            "merged": N_("Merged into another proposal"),
            "not_selected": N_("Not enough supports"),
        }[self.value]


def _enum(kind: type[enum.Enum], name: str) -> Enum:
    # Store the readable value, not the member name, and keep it a plain string column on every engine.
    return Enum(kind, name=name, native_enum=False, values_callable=lambda members: [m.value for m in members], length=24)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.RESIDENT)
    is_enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Part of the id in every session cookie; raising it (logout, new password, disabling) voids every copy.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the owner proved the address is theirs by following the link pb sent to it (None: not yet).
    email_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    locale: Mapped[str | None] = mapped_column(String(8))  # the language pb writes to them in (None: the default)
    # Notification kinds they turned off (pb/domain/notifications.py), space-separated.
    muted_notifications: Mapped[str] = mapped_column(String(300), default="", server_default="")
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)  # the account was deleted and its data removed

    @property
    def is_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def is_active(self) -> bool:  # Flask-Login refuses disabled accounts through this
        return self.is_enabled

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_official(self) -> bool:
        return self.role is Role.OFFICIAL

    @property
    def is_moderator(self) -> bool:
        return self.role in (Role.MODERATOR, Role.OFFICIAL)


class Cycle(db.Model):
    __tablename__ = "cycles"
    __table_args__ = (
        CheckConstraint("total_budget >= 0", name="ck_cycle_budget"),
        CheckConstraint("min_projects >= 1", name="ck_cycle_min_projects"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    total_budget: Mapped[int] = mapped_column(BigInteger)
    phase: Mapped[Phase] = mapped_column(_enum(Phase, "phase"), default=Phase.DRAFT)
    rule: Mapped[str] = mapped_column(String(24), default="greedy")
    min_projects: Mapped[int] = mapped_column(Integer, default=1)
    max_projects: Mapped[int | None] = mapped_column(Integer)
    tie_break_seed: Mapped[int] = mapped_column(Integer, default=0)
    # The published timetable: moments in naive UTC, shown and entered in the cycle's IANA time zone.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    proposals_open_at: Mapped[datetime | None] = mapped_column(DateTime)
    review_at: Mapped[datetime | None] = mapped_column(DateTime)
    voting_open_at: Mapped[datetime | None] = mapped_column(DateTime)
    voting_close_at: Mapped[datetime | None] = mapped_column(DateTime)
    results_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When the reminder "voting closes soon" went to the residents who had not voted: sent once per cycle.
    voting_reminder_sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Rich proposals: how many photos one proposal may show.
    max_photos: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    # Discussion: whether residents may still comment once the proposal phase has ended.
    has_comments_after_proposals: Mapped[bool] = mapped_column(default=True, server_default=true())
    # The optional supports phase between proposals and review (CONSUL's "selecting" phase).
    has_supports_phase: Mapped[bool] = mapped_column(default=False, server_default=false())
    supports_per_district: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    # Which proposals go on to review: the top K of each district, and/or those with at least this many supports.
    supports_advance_top: Mapped[int | None] = mapped_column(Integer)
    supports_threshold: Mapped[int | None] = mapped_column(Integer)
    supports_at: Mapped[datetime | None] = mapped_column(DateTime)  # the timetable's moment the supports phase opens
    # The ballot design (pb.domain.ballots.DESIGNS) every district uses unless it has its own; min_projects and
    # max_projects above are its counts, ballot_settings (JSON) the rest: points, minimum spend, category limits.
    ballot_design: Mapped[str] = mapped_column(String(12), default="knapsack", server_default="knapsack")
    ballot_settings: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    # SHA-256 of the ballot settings and project lists, taken when voting opened: shown publicly, checked again later.
    frozen_settings_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")

    districts: Mapped[list[District]] = relationship(back_populates="cycle", order_by="District.name")
    categories: Mapped[list[Category]] = relationship(back_populates="cycle", order_by="Category.name")


class District(db.Model):
    __tablename__ = "districts"
    __table_args__ = (
        UniqueConstraint("cycle_id", "name", name="uq_district_name"),
        CheckConstraint("budget >= 0", name="ck_district_budget"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    budget: Mapped[int] = mapped_column(BigInteger)
    # The district's area as a GeoJSON Polygon or MultiPolygon geometry (WGS 84), checked and simplified on upload.
    boundary: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The district's own ballot design as a whole (BallotDesign JSON), or None: the cycle's design applies.
    ballot_settings: Mapped[str | None] = mapped_column(Text)

    cycle: Mapped[Cycle] = relationship(back_populates="districts")


class Category(db.Model):
    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("cycle_id", "name", name="uq_category_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))

    cycle: Mapped[Cycle] = relationship(back_populates="categories")


class Proposal(db.Model):
    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint("estimated_cost > 0", name="ck_proposal_estimate"),
        CheckConstraint("final_cost IS NULL OR final_cost > 0", name="ck_proposal_final_cost"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(200), default="")  # the address, in words
    # A point on the map (WGS 84 degrees), or none.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    estimated_cost: Mapped[int] = mapped_column(BigInteger)
    final_cost: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[ProposalStatus] = mapped_column(
        _enum(ProposalStatus, "proposal_status"), default=ProposalStatus.SUBMITTED, index=True
    )
    moderator_note: Mapped[str] = mapped_column(Text, default="")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    cycle: Mapped[Cycle] = relationship()
    district: Mapped[District] = relationship()
    category: Mapped[Category | None] = relationship()
    author: Mapped[User] = relationship()
    merged_into: Mapped[Proposal | None] = relationship(remote_side=[id])

    @property
    def is_on_ballot(self) -> bool:
        return self.status is ProposalStatus.ACCEPTED

    @property
    def cost(self) -> int:
        """The cost voters see: the moderator's final cost once set, the author's estimate before."""
        return self.final_cost if self.final_cost is not None else self.estimated_cost


class Verification(db.Model):
    """A resident confirmed as eligible to vote in one district of a cycle."""

    __tablename__ = "verifications"
    __table_args__ = (
        UniqueConstraint("user_id", "district_id", name="uq_verification"),
        # One resident, one district, one ballot: whoever verifies them, a resident holds one district per cycle.
        UniqueConstraint("user_id", "cycle_id", name="uq_verification_cycle"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    verified_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    method: Mapped[str] = mapped_column(String(24), default="in-person")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    district: Mapped[District] = relationship()


class VerificationRequest(db.Model):
    """A resident asking a moderator to verify them in a district after checking their documents.

    Status: "open" until a moderator verifies ("verified") or declines it ("declined", with a reason the resident
    reads), or the resident cancels it ("cancelled"). A resident has at most one open request per cycle: the partial
    unique index holds that even for two requests sent at the same moment.
    """

    __tablename__ = "verification_requests"
    __table_args__ = (
        Index("uq_verification_request_open", "cycle_id", "user_id", unique=True,
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
        Index("ix_verification_request_queue", "cycle_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    note: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")  # why it was declined, shown to the resident

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    district: Mapped[District] = relationship()


class Participation(db.Model):
    """That a resident voted on paper in a district, marked by an official: paper turnout and "already voted".

    Online voters get no row here: a row naming the voter written in the ballot's own transaction would carry the
    same transaction id (PostgreSQL's xmin) as the ballot and give it away. Online turnout counts sealed ballots.
    """

    __tablename__ = "participations"
    __table_args__ = (UniqueConstraint("user_id", "district_id", name="uq_participation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(12), default="paper")
    voted_on: Mapped[date] = mapped_column(Date, default=lambda: utcnow().date())


def random_row_id() -> int:
    """A row id that follows no order: ids handed out in sequence would tell in what order rows were written."""
    return secrets.randbits(62) + 1


class SealedBallot(db.Model):
    """An online ballot while the vote runs: its choices sealed under the ballot key, stored under the voter's token.

    The id is random and the row holds no time but the day of the first ballot (for turnout per day). When voting
    closes the box is opened: every envelope becomes an ordinary, shuffled `ballots` row with no token and no
    version, in one transaction. The envelope stays, so the voter still finds their own ballot and receipt.
    """

    __tablename__ = "sealed_ballots"

    # INTEGER on SQLite makes the id the rowid itself, so no hidden rowid keeps the order rows were written in.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False, default=random_row_id
    )
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_on: Mapped[date] = mapped_column(Date, default=lambda: utcnow().date())

    # Every change is "UPDATE ... WHERE version = the version read", so of two changes made at once from the same
    # version only one can land; the service raises the version itself because the receipt is derived from it.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012


class Ballot(db.Model):
    """A counted ballot: an opened online envelope or an agreed paper sheet. No voter, token, version or time.

    Online ballots are written all at once, shuffled and under random ids, when voting closes, so neither their ids
    nor where they lie on disk follow the order people voted in.
    """

    __tablename__ = "ballots"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    # The voter's receipt code for this ballot: public after results, linked to no one.
    receipt: Mapped[str] = mapped_column(String(16), unique=True)

    choices: Mapped[list[BallotChoice]] = relationship(
        back_populates="ballot", cascade="all, delete-orphan", order_by="BallotChoice.project_id"
    )
    district: Mapped[District] = relationship()


class BallotChoice(db.Model):
    __tablename__ = "ballot_choices"

    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), primary_key=True)
    # The points given (cumulative) or the rank (ranking, 1 = first); None on a knapsack or approval ballot.
    value: Mapped[int | None] = mapped_column(Integer)

    ballot: Mapped[Ballot] = relationship(back_populates="choices")
    project: Mapped[Proposal] = relationship()


class TallyRun(db.Model):
    """The stored outcome of counting one district: the single source for results pages and exports."""

    __tablename__ = "tally_runs"
    __table_args__ = (UniqueConstraint("district_id", name="uq_tally_district"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    rule: Mapped[str] = mapped_column(String(24))
    tie_break: Mapped[str] = mapped_column(String(200))
    parameters: Mapped[str] = mapped_column(Text, default="{}")
    budget: Mapped[int] = mapped_column(BigInteger)
    spent: Mapped[int] = mapped_column(BigInteger)
    ballot_count: Mapped[int] = mapped_column(Integer)
    run_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # SHA-256 of the public ballot list (receipt -> choices) as it stood when counted: anyone can check the download.
    ballot_list_sha256: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    results: Mapped[list[ProjectResult]] = relationship(
        back_populates="tally_run", cascade="all, delete-orphan", order_by="ProjectResult.position"
    )
    comparisons: Mapped[list[TallyComparison]] = relationship(
        back_populates="tally_run", cascade="all, delete-orphan", order_by="TallyComparison.rule"
    )
    district: Mapped[District] = relationship()

    @property
    def left(self) -> int:
        return self.budget - self.spent


class ProjectResult(db.Model):
    __tablename__ = "project_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    tally_run_id: Mapped[int] = mapped_column(ForeignKey("tally_runs.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    votes: Mapped[int] = mapped_column(Integer)
    # The cost the count used, kept so the stored outcome alone rebuilds the instance for exports and charts.
    cost: Mapped[int] = mapped_column(BigInteger, default=0)
    is_funded: Mapped[bool]
    position: Mapped[int] = mapped_column(Integer)
    explanation: Mapped[str] = mapped_column(Text, default="")
    # The same explanation as template and values (pb.domain.messages.to_data, JSON), to show it in any language.
    explanation_data: Mapped[str] = mapped_column(Text, default="", server_default="")

    tally_run: Mapped[TallyRun] = relationship(back_populates="results")
    project: Mapped[Proposal] = relationship()


class TallyComparison(db.Model):
    """What another rule funds with the same ballots, computed at the count for the results page's side-by-side."""

    __tablename__ = "tally_comparisons"
    __table_args__ = (UniqueConstraint("tally_run_id", "rule", name="uq_tally_comparison_rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tally_run_id: Mapped[int] = mapped_column(ForeignKey("tally_runs.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(24))
    tie_break: Mapped[str] = mapped_column(String(200))
    parameters: Mapped[str] = mapped_column(Text, default="{}")
    spent: Mapped[int] = mapped_column(BigInteger)
    selected: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of project ids, in the order funded

    tally_run: Mapped[TallyRun] = relationship(back_populates="comparisons")


class AuditEntry(db.Model):
    """One line of the append-only audit log: who did what to what, when, with before and after.

    The entries form a chain keyed with PB_AUDIT_KEY: each carries the keyed hash of the one before it
    (pb.services.audit documents the hashed form), so a changed, removed or inserted entry shows in
    `flask pb audit-verify`, and the head published at each phase change shows a log cut short or rewritten.
    """

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The chain's own numbering, 1, 2, 3, ...: ids are handed out by the database and may skip.
    sequence: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(60))
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")
    previous_hash: Mapped[str] = mapped_column(String(64))  # "0" * 64 for the first entry
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # How entry_hash is made: "hmac-sha256" keyed with PB_AUDIT_KEY (every entry pb writes), or "sha256" for the
    # unkeyed entries an installation wrote before its log was keyed (pb.services.audit explains both).
    scheme: Mapped[str] = mapped_column(String(16), server_default="sha256")

    actor: Mapped[User | None] = relationship()


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_audit_change(mapper, connection, target) -> None:
    raise RuntimeError("The audit log is append-only.")


class RegisterEntry(db.Model):
    """One eligible resident in a cycle's register, kept only as a keyed hash of their normalised details."""

    __tablename__ = "register_entries"
    __table_args__ = (UniqueConstraint("cycle_id", "entry_hash", name="uq_register_entry"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    entry_hash: Mapped[str] = mapped_column(String(64))
    # The one account this entry verified, ever: set once, never cleared.
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    district: Mapped[District] = relationship()


class RegisterUpload(db.Model):
    """A checked register file waiting for an official's confirmation: hashes, counts and errors, no plain data."""

    __tablename__ = "register_uploads"
    # Ids are never reused, so a stale preview's confirm button can never confirm a later file.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(200), default="")
    headers: Mapped[str] = mapped_column(Text, default="[]")  # JSON list: the file's column headers
    mapping: Mapped[str] = mapped_column(Text, default="{}")  # JSON: field name -> header used
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of [line number, message]
    entries: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of [entry hash, district id]
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class VotingCodeBatch(db.Model):
    """Codes generated together for one district. While `seed` is kept, its codes can be shown again (the sheet, the
    mail-merge CSV, the letters); an official forgets it once the letters are out. See pb/services/verification.py."""

    __tablename__ = "voting_code_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    first_number: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    seed: Mapped[str | None] = mapped_column(String(64))  # random; the codes are HMAC(REGISTER_KEY, seed, number)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    forgotten_at: Mapped[datetime | None] = mapped_column(DateTime)

    district: Mapped[District] = relationship()

    @property
    def last_number(self) -> int:
        return self.first_number + self.count - 1


class VotingCode(db.Model):
    """A one-time code that verifies one account for a district; only its keyed hash and a number are kept."""

    __tablename__ = "voting_codes"
    __table_args__ = (UniqueConstraint("cycle_id", "number", name="uq_voting_code_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    number: Mapped[int] = mapped_column(Integer)  # printed next to the code: lets an official void a lost letter
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("voting_code_batches.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime)

    district: Mapped[District] = relationship()


class VerificationAttempt(db.Model):
    """A failed self-verification (register details or code), counted for the per-account and per-address limits."""

    __tablename__ = "verification_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    address_hash: Mapped[str] = mapped_column(String(64), index=True)  # keyed hash: the limit needs no plain address
    method: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Set when an official lifts the account's lockout; the address limit still counts the attempt.
    is_lifted: Mapped[bool] = mapped_column(default=False)


class PaperSheet(db.Model):
    """One paper ballot sheet from a polling station, typed in twice by different officials before it counts.

    It names no voter: the resident who cast it was only marked as a paper voter (a Participation), and the
    ballot made from it once the entries agree is as anonymous as any other.
    """

    __tablename__ = "paper_sheets"
    __table_args__ = (UniqueConstraint("district_id", "polling_station", "number", name="uq_paper_sheet"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    polling_station: Mapped[str] = mapped_column(String(60))
    number: Mapped[int] = mapped_column(Integer)  # the sheet's number within its polling station's box
    # "pending" (one entry), "disagreed" (entries differ), "agreed" (counted) or "spoilt" (agreed as not countable)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    ballot_id: Mapped[int | None] = mapped_column(ForeignKey("ballots.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    district: Mapped[District] = relationship()
    ballot: Mapped[Ballot | None] = relationship()
    entries: Mapped[list[PaperEntry]] = relationship(
        back_populates="sheet", cascade="all, delete-orphan", order_by="PaperEntry.id"
    )


class PaperEntry(db.Model):
    """What one official read on a paper sheet; the database refuses a second entry by the same official."""

    __tablename__ = "paper_entries"
    __table_args__ = (UniqueConstraint("sheet_id", "entered_by_id", name="uq_paper_entry_official"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("paper_sheets.id", ondelete="CASCADE"), index=True)
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # JSON list of the chosen project ids, sorted, so two entries agree exactly when the texts are equal.
    choices: Mapped[str] = mapped_column(Text, default="[]")
    is_spoilt: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    sheet: Mapped[PaperSheet] = relationship(back_populates="entries")
    entered_by: Mapped[User] = relationship()


# Implementation tracking (after the vote) keeps its import beside its models, as this part was added last.
from pb.domain.implementation import ImplementationStatus


class Implementation(db.Model):
    """How a funded project is being carried out after the vote: status, progress and the money actually spent."""

    __tablename__ = "implementations"
    __table_args__ = (
        UniqueConstraint("project_id", name="uq_implementation_project"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="ck_implementation_progress"),
        CheckConstraint("spent >= 0", name="ck_implementation_spent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    status: Mapped[ImplementationStatus] = mapped_column(
        _enum(ImplementationStatus, "implementation_status"), default=ImplementationStatus.PLANNED
    )
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent, 0 to 100
    spent: Mapped[int] = mapped_column(BigInteger, default=0)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    project: Mapped[Proposal] = relationship()
    updated_by: Mapped[User] = relationship()

    # "UPDATE ... WHERE version = the version read": of two officials saving the same project at once, one lands.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class ImplementationUpdate(db.Model):
    """A dated public note on how a funded project is going, shown on its page."""

    __tablename__ = "implementation_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    posted_on: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    author: Mapped[User] = relationship()


class ResultApproval(db.Model):
    """An official's sign-off on a cycle's stored count; publication needs two different officials on the same count."""

    __tablename__ = "result_approvals"
    __table_args__ = (UniqueConstraint("cycle_id", "count_digest", "official_id", name="uq_result_approval"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    # SHA-256 of the stored count as approved: counting again changes it, so earlier approvals stop counting.
    count_digest: Mapped[str] = mapped_column(String(64))
    official_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    official: Mapped[User] = relationship()


class ResultRevision(db.Model):
    """One version of a cycle's published results, kept for good once published.

    Revision 1 is the count as first published. A correction afterwards (say a funded project proves impossible to
    build and is withdrawn) is proposed by one official as the next revision, counted at once but not public, and
    published only when a different official approves it; the earlier revisions stay readable. `snapshot` holds the
    count of every district as JSON, `count_digest` its SHA-256, and `withdrawn` the project ids left out of it.
    """

    __tablename__ = "result_revisions"
    __table_args__ = (UniqueConstraint("cycle_id", "number", name="uq_result_revision_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    withdrawn: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of project ids, every revision's so far
    snapshot: Mapped[str] = mapped_column(Text)
    count_digest: Mapped[str] = mapped_column(String(64))
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)

    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    @property
    def status(self) -> str:
        if self.published_at is not None:
            return "published"
        return "cancelled" if self.cancelled_at is not None else "pending"


class RoleChange(db.Model):
    """A request to grant or remove the official role: one official asks, with a reason, and a different one approves.

    Until it is approved nothing changes; either official may cancel it. At most one request per user waits at a time:
    `pending_user_id` is the user's id while the request waits and empty once it is decided, and it is unique.
    """

    __tablename__ = "role_changes"
    __table_args__ = (UniqueConstraint("pending_user_id", name="uq_role_change_pending"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role_before: Mapped[Role] = mapped_column(_enum(Role, "role"))
    role_after: Mapped[Role] = mapped_column(_enum(Role, "role"))
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    pending_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # "pending", "approved" or "cancelled"
    status: Mapped[str] = mapped_column(String(12), default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class OutboxMessage(db.Model):
    """One email, written in the transaction of the change that causes it and sent later by the worker.

    The message is rendered when it is written (in the recipient's language), so the worker only delivers. The
    Message-ID is fixed here too: if a worker dies after the SMTP server took a message but before it was marked
    sent, the message goes out again with the same id, which mail systems and readers treat as one message.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("message_id", name="uq_outbox_message_id"),
        # The worker looks for due messages by status and time: a short index scan at any outbox size.
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(32))
    template: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    headers: Mapped[str] = mapped_column(Text, default="{}")  # JSON: List-Unsubscribe and the like
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)  # a worker is delivering it until then
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime)  # when its last attempt failed for good


class JobRun(db.Model):
    """A scheduled job that ran for a day (e.g. the moderators' digest): at most one row per job and day.

    The unique key is the lock: the worker that inserts the day's row (in the same transaction as the job's work,
    e.g. the digest's messages) does the job; another worker trying the same day fails on the key and does nothing.
    """

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "day", name="uq_job_run_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    ran_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SiteText(db.Model):
    """A text officials write for a public page (the privacy notice), kept by key; the last edit wins, audited."""

    __tablename__ = "site_texts"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SiteIdentity(db.Model):
    """The city's identity on every page: the platform's name, logo, colours and contact details (one row, id 1)."""

    __tablename__ = "site_identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    tagline: Mapped[str] = mapped_column(String(200), default="")
    logo_key: Mapped[str | None] = mapped_column(String(80))
    logo_content_type: Mapped[str | None] = mapped_column(String(40))
    logo_alt: Mapped[str] = mapped_column(String(200), default="")
    # '#rrggbb': links and buttons, and the header's band; both are checked against WCAG AA before they are saved.
    primary_colour: Mapped[str] = mapped_column(String(7), default="")
    header_colour: Mapped[str] = mapped_column(String(7), default="")
    contact_address: Mapped[str] = mapped_column(Text, default="")
    contact_phone: Mapped[str] = mapped_column(String(60), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    opening_hours: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ScheduleNotice(db.Model):
    """The timetable could not move a cycle on at its published moment: why, since when, and when that ended.

    Open (resolved_at empty) until the cycle leaves the phase, by the timetable or by an official; the officials are
    emailed once per notice, not every worker round, and the administration pages show it while it is open.
    """

    __tablename__ = "schedule_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    phase: Mapped[Phase] = mapped_column(_enum(Phase, "phase"))  # the phase the cycle could not leave
    due_at: Mapped[datetime] = mapped_column(DateTime)  # the published moment it should have moved at
    blockers: Mapped[str] = mapped_column(Text, default="[]")  # JSON: the blockers as messages (to_data)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)

    cycle: Mapped[Cycle] = relationship()


class MailAlert(db.Model):
    """One "deliveries keep failing" alert written to the officials: when, and why (the worker sends at most one per
    MAIL_ALERT_EVERY_HOURS, however many workers run)."""

    __tablename__ = "mail_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    oldest_pending_minutes: Mapped[int] = mapped_column(Integer, default=0)
    recipients: Mapped[int] = mapped_column(Integer, default=0)


class ProposalPhoto(db.Model):
    """A photo of a proposal: checked by content, re-encoded without metadata, stored outside the database by key."""

    __tablename__ = "proposal_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)  # the stored files' common name (random)
    alt_text: Mapped[str] = mapped_column(String(300))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    byte_size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    proposal: Mapped[Proposal] = relationship()


class ProposalDocument(db.Model):
    """A PDF attached to a proposal (a plan, a quote), stored outside the database by key."""

    __tablename__ = "proposal_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))  # the name it is downloaded under (cleaned)
    byte_size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    proposal: Mapped[Proposal] = relationship()


class Comment(db.Model):
    """A resident's comment on a proposal, or a reply to one (one level only)."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_proposal_created", "proposal_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)  # deleted by its author: the text is removed
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime)  # hidden by a moderator, with a reason
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hidden_reason: Mapped[str] = mapped_column(Text, default="")

    proposal: Mapped[Proposal] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    parent: Mapped[Comment | None] = relationship(remote_side=[id])

    @hybrid_property
    def is_visible(self) -> bool:
        """Shown to everyone: neither deleted by its author nor hidden by a moderator (also a SQL condition)."""
        return self.deleted_at is None and self.hidden_at is None

    @is_visible.inplace.expression
    @classmethod
    def _is_visible_expression(cls):
        return and_(cls.deleted_at.is_(None), cls.hidden_at.is_(None))


class CommentFlag(db.Model):
    """Someone told the moderators a comment breaks the rules: at most once per person and comment."""

    __tablename__ = "comment_flags"
    __table_args__ = (UniqueConstraint("comment_id", "user_id", name="uq_comment_flag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)  # a moderator hid the comment or kept it

    comment: Mapped[Comment] = relationship()


class Support(db.Model):
    """A resident supports a proposal during the supports phase: a public count, never linked to any ballot."""

    __tablename__ = "supports"
    __table_args__ = (UniqueConstraint("proposal_id", "user_id", name="uq_support"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Follow(db.Model):
    """A resident follows a proposal: an email on its decisions and its new comments."""

    __tablename__ = "follows"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # When this follower was last emailed about new comments here: at most one such email an hour.
    comments_mailed_at: Mapped[datetime | None] = mapped_column(DateTime)


# Full-text search needs engine-specific DDL next to the proposals table (an FTS5 table, or a tsvector column).
from pb import search_index  # noqa: E402

search_index.register(Proposal.__table__)

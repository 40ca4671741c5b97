"""What pb tells people by email: the kinds of message, which of them a person may turn off, and how that is stored."""

from pb.domain.messages import N_, Message

SECURITY = "security"
PROPOSALS = "proposals"
VOTING_OPENS = "voting_opens"
VOTING_REMINDER = "voting_reminder"
RESULTS = "results"
OFFICIAL_ALERTS = "official_alerts"
MODERATION_DIGEST = "moderation_digest"
FOLLOWED_PROPOSALS = "followed_proposals"

# Every kind with the words the profile shows it with. Security messages (account confirmation, password and address
# changes, the confirmation that a ballot was saved) cannot be turned off: they are how a person learns that someone
# else is using their account.
KINDS: dict[str, Message] = {
    SECURITY: N_("Account and security messages (always sent)"),
    PROPOSALS: N_("Decisions on my proposals, and whether they were funded"),
    FOLLOWED_PROPOSALS: N_("Proposals I follow: their decisions and new comments (at most one email an hour each)"),
    VOTING_OPENS: N_("Voting opens in my district"),
    VOTING_REMINDER: N_("A reminder before voting closes, if I have not voted yet"),
    RESULTS: N_("Results are published"),
    OFFICIAL_ALERTS: N_("Alerts for officials: the timetable, paper entries, counts waiting for approval, failing mail"),
    MODERATION_DIGEST: N_("A daily digest of proposals waiting for review (moderators)"),
}


def can_turn_off(kind: str) -> bool:
    return kind in KINDS and kind != SECURITY


def muted_kinds(stored: str | None) -> frozenset[str]:
    """The kinds a person turned off, read from how the account stores them (space-separated names)."""
    return frozenset(kind for kind in (stored or "").split() if can_turn_off(kind))


def store_muted(kinds) -> str:
    """The stored form of a set of turned-off kinds: known kinds only, in a fixed order."""
    chosen = set(kinds)
    return " ".join(kind for kind in KINDS if kind in chosen and can_turn_off(kind))


def is_wanted(kind: str, stored: str | None) -> bool:
    """Whether a person who stores `stored` wants messages of this kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    return kind == SECURITY or kind not in muted_kinds(stored)


def retry_delay_seconds(attempts: int, first: int = 60, longest: int = 3600) -> int:
    """How long to wait after the n-th failed delivery: doubling from `first`, never longer than `longest`."""
    return min(longest, first * 2 ** max(0, attempts - 1))

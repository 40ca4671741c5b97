"""The domain's errors: each carries a message a resident or official can read."""


class DomainError(Exception):
    """A refusal the user caused and can understand; never a crash."""

    def __init__(self, message: str, *, problems: list[str] | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []
        self.field = field  # the form field the refusal is about, when there is one, so a page can show it there


class PhaseError(DomainError):
    """The action is not open in the cycle's current phase."""


class BallotError(DomainError):
    """A ballot breaks one of the cycle's ballot rules."""


class PermissionDenied(DomainError):
    """The acting user's role or ownership does not allow the action."""


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to this user)."""


class ValidationError(DomainError):
    """Input that passed form checks but breaks a domain rule."""


class ConflictError(DomainError):
    """Someone else changed the same thing first; reload and try again."""

"""What makes a password acceptable: long enough, not the person's own name or email, not a common password.

ASVS 2.1.7 asks that new passwords be checked against passwords known to be common or breached. pb uses zxcvbn,
a maintained package that ships ranked lists of the 30,000 most common passwords (from leaked-password corpora),
English words and names, and estimates how many guesses a password needs when built from them with the usual
tricks (capitals, digits appended, l33t, keyboard rows, repeats, dates). A password that falls within a million
guesses is refused: that covers every listed password and its near variants ("password1234", "qwertyuiop12").
No composition rules (ASVS 2.1.9): any password of the minimum length that is not guessable is accepted.
"""

from zxcvbn import zxcvbn

from pb.domain.messages import N_, Message

MIN_PASSWORD_LENGTH = 10
MIN_GUESSES = 10**6  # zxcvbn's score 2 and above
_ZXCVBN_MAX_LENGTH = 72  # the package refuses longer input; the first 72 characters decide whether it is guessable


def _own_words(email: str, name: str) -> set[str]:
    email = (email or "").strip().casefold()
    name = " ".join((name or "").split()).casefold()
    words = {email, email.partition("@")[0], name, name.replace(" ", "")}
    return {word for word in words if word}


def password_problem(password: str, email: str = "", name: str = "") -> Message | None:
    """Why this password may not be used by this person, in words that help them choose another; None if it may."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return N_("Choose a password of at least {least} characters.", least=MIN_PASSWORD_LENGTH)
    own = _own_words(email, name)
    if password.strip().casefold() in own or password.replace(" ", "").casefold() in own:
        return N_("Choose a password that is not your email address or your name.")
    estimate = zxcvbn(password[:_ZXCVBN_MAX_LENGTH], user_inputs=sorted(own))
    if estimate["guesses"] < MIN_GUESSES:
        return N_(
            "This password is too easy to guess: it is one of the most common passwords, or close to one (such as "
            "“password1234” or “qwertyuiop”), so attackers try it first. Choose another: a few unrelated words make "
            "a strong password that is easy to remember."
        )
    return None

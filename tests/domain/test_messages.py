"""Messages for people: English text that keeps its template and values, stored as data and rebuilt exactly."""

import json
from datetime import date

from pb.domain.messages import N_, Figure, Message, Nn_, from_data, join, to_data


def test_a_stored_message_comes_back_with_the_same_english_and_the_same_parts():
    inner = Nn_("{count:,} vote", "{count:,} votes", 1234)
    message = join(
        N_("Funded in {turn}: it costs {cost}, on {day}.", turn=inner, cost=Figure("14,000.50 EUR", "written"),
           day=date(2026, 5, 3)),
        N_("The count stops at the first project that does not fit.").lower(),
    )
    assert message == ("Funded in 1,234 votes: it costs 14,000.50 EUR, on 3 May 2026. "
                       "the count stops at the first project that does not fit.")
    data = json.loads(json.dumps(to_data(message)))
    rebuilt = from_data(data)
    assert isinstance(rebuilt, Message) and rebuilt == message and to_data(rebuilt) == data
    first, second = rebuilt.params["sentences"]
    assert first.template == "Funded in {turn}: it costs {cost}, on {day}."
    assert first.params["turn"].plural == "{count:,} votes" and first.params["turn"].params["count"] == 1234
    assert isinstance(first.params["cost"], Figure) and first.params["cost"].kind == "written"
    assert first.params["day"] == date(2026, 5, 3) and second.is_lowered


def test_plain_text_and_numbers_are_stored_as_they_are():
    assert to_data("Skate park") == "Skate park" and from_data("Skate park") == "Skate park"
    assert to_data(7) == 7 and from_data(7) == 7
    money = Figure("1,200 EUR", "money", 120_000, "EUR")
    assert from_data(to_data(money)).value == (120_000, "EUR")

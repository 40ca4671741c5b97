"""Pure-Python domain core of pb: phases, ballot rules and the tally engine."""

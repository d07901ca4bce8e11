"""Rule-based readers for the lead facts a WhatsApp message may carry.

Customers write Brazilian Portuguese the way people type on a phone: no
accents, "vc", "q", "mto", shouting or all lowercase, emojis. Every reader
therefore works on a *folded* copy of the text (see `sdr.text.fold`) and returns
either a normalised value or "nothing found" (`None` or an empty dataclass).
None of them raises on odd input, touches the network or imports Rasa, so
they are cheap to call on every message and easy to test.

The central design choice is the `requested` / `bare_number_ok` flag. Most
facts are ambiguous out of context: "450" may be a bill, an apartment or a
street number, "Carlos" may be a name, "sim" answers whatever was asked last.
The caller knows which slot the form is currently asking for, so:

* without the flag a reader only fires on explicit evidence: a unit
  ("R$ 450", "380 kWh"), a cue ("minha conta vem 380", "meu nome é Ana",
  "moro em Campinas"), or a phrase that cannot mean anything else;
* with the flag it also accepts a bare answer ("450", "Carlos", "sim"),
  because the bot just asked for exactly that.

False positives are worse than misses: a missed fact is asked again, a wrong
one silently corrupts the lead. When in doubt, the readers return nothing.

One module per job; word lists live in the YAML file beside the module that
reads them, regexes stay in code:

* ``tables``: loads and shape-checks those YAML files;
* ``chat_text``: folded words, WhatsApp shorthand, title case (vocabulary.yml);
* ``yes_no``: yes / no / unsure / greeting answers (vocabulary.yml);
* ``numbers``: Brazilian digit formats and spelled-out numbers (numbers.yml);
* ``bills``: the monthly bill in R$ and kWh (bills.yml);
* ``property``: property type and ownership (property.yml);
* ``decision_maker``: who decides the purchase (decision_maker.yml);
* ``timeline``: when the customer wants the system (timeline.yml);
* ``opt_out``: LGPD opt-out requests (opt_out.yml);
* ``gazetteer``: the city/state table from sdr/data/br_cities.yml;
* ``places``: cities and states (places.yml);
* ``names``: the customer's name (names.yml).
"""
from __future__ import annotations

from sdr.parsing.bills import BillFigure, BillVariation, parse_bill, parse_bill_variation
from sdr.parsing.decision_maker import parse_decision_maker
from sdr.parsing.gazetteer import GAZETTEER_PATH
from sdr.parsing.names import parse_name
from sdr.parsing.opt_out import is_opt_out
from sdr.parsing.places import Location, parse_location, parse_state
from sdr.parsing.property import parse_ownership, parse_property_type
from sdr.parsing.timeline import parse_timeline
from sdr.parsing.yes_no import parse_yes_no
from sdr.text import fold  # re-exported for callers that import it from here; not a copy

__all__ = [
    "GAZETTEER_PATH",
    "BillFigure",
    "BillVariation",
    "Location",
    "fold",
    "is_opt_out",
    "parse_bill",
    "parse_bill_variation",
    "parse_decision_maker",
    "parse_location",
    "parse_name",
    "parse_ownership",
    "parse_property_type",
    "parse_state",
    "parse_timeline",
    "parse_yes_no",
]

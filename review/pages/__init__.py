"""The review UI's pages, one Sanic blueprint each (registered by review/app.py)."""
from __future__ import annotations

from review.pages.audit import bp as audit
from review.pages.conversation import bp as conversation
from review.pages.inbox import bp as inbox
from review.pages.integrations import bp as integrations
from review.pages.leads import bp as leads
from review.pages.live import bp as live
from review.pages.login import bp as login
from review.pages.nlu import bp as nlu
from review.pages.questions import bp as questions
from review.pages.users import bp as users

__all__ = ["BLUEPRINTS"]

BLUEPRINTS = (login, inbox, conversation, nlu, questions, leads, integrations, live, users, audit)

"""``case_overdue``: a case has missed its deadline (处置超期).

Raised by the case desk (:mod:`creditbrain.alerts.cases`), not by a subject's
transition, so it has no check: when event time passes a case's deadline to
acknowledge (while it is new) or to dispose of it, one warning goes to the owner's
team and the supervisors of the case's sector and district, once per round of the
case. Its ``data.case`` names the case, the missed deadline and when it was due.

>>> RULE.name, RULE.level, RULE.grid, RULE.check is None
('case_overdue', 'orange', False, True)
"""

from __future__ import annotations

from creditbrain.alerts.rules.base import Rule

RULE = Rule(name="case_overdue", order=14, level="orange", check=None)

"""The models: the public credit score and the online models that warn early.

Modules and packages:

:mod:`.scorecard`
    the public credit score (公共信用综合评价): weights and periods as data
    (:class:`~.scorecard.ScorecardConfig`), applying an event to a subject's records
    and scoring them, as pure functions.
:mod:`.features`
    per-subject features for the early-warning models, one dict per re-scoring,
    and what counts as a red event.
:mod:`.subject`
    subject-level early warning: online logistic regressions taught with labels
    that mature later in event time.
:mod:`.series`
    anomaly detection on one univariate series (the city's daily counts per
    sector × district × kind, or any CSV).
:mod:`.checkpoint`
    the early-warning models as bytes a restarted worker resumes from.
:mod:`.offline`
    scoring a file of events without a broker or a store (``creditbrain score``).
:mod:`.evaluate`
    whether the subject models warn earlier than the rules, on a simulated city
    (``creditbrain models evaluate``).
"""

"""The models: the public credit score and the online models that warn early.

Modules and packages:

:mod:`.scorecard`
    the public credit score (公共信用综合评价): weights and periods as data
    (:class:`~.scorecard.ScorecardConfig`), applying an event to a subject's records
    and scoring them, as pure functions.
:mod:`.overrides`
    a deployment's per-sector scorecard overrides and the separate weighting of
    persons, laid over the default scorecard by subject.
:mod:`.record_class`
    the record classes a scorecard weighs (``penalty.general``, ``list_entry.red`` ...).
:mod:`.features`
    per-subject features for the early-warning models, one dict per re-scoring,
    and what counts as a red event.
:mod:`.explain`
    why a model warns: its top contributions in plain Chinese and English.
:mod:`.subject`
    subject-level early warning: online logistic regressions taught with labels
    that mature later in event time.
:mod:`.series`
    anomaly detection on one univariate series (the city's daily counts per
    sector × district × kind, or any CSV).
:mod:`.checkpoint`
    the early-warning models as bytes a restarted worker resumes from.

Scoring a file and measuring the models against the rules run these through the
engine, as the worker does (:mod:`creditbrain.engine.replay`,
:mod:`creditbrain.engine.evaluation`).
"""

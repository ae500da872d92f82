"""The wire contract and the domain's data, as pydantic v2 models (CONTRACT.md, DOMAIN.md).

Modules:

:mod:`.contract`
    the topic layout: input topics per kind, outputs, dead letters, their specs.
:mod:`.events`
    the sixteen input event kinds (CONTRACT.md §1) and :class:`~.events.ParseContext`.
:mod:`.parse`
    raw bytes in, a valid event or a dead-letter record (with its reason) out.
:mod:`.identifiers`
    unified social credit codes and resident ids, their check digits, and the
    pseudonyms persons are kept under.
:mod:`.reference`
    the default city's reference tables (Rizhao, 371100): districts and sectors.
:mod:`.state`
    what the stream keeps per subject (records, score, alert and model memos) and
    the score it publishes.
:mod:`.names`
    what people call the codes: kinds, rules, levels, places, in Chinese and English.
:mod:`.outputs`
    the score changes and the series days the stream publishes as plain JSON.
:mod:`.warnings`
    the warnings sent (CONTRACT.md §2) as CloudEvents, their levels and rule names.
:mod:`.dispositions`
    disposition reports of cases (``credit.dispositions``) as CloudEvents.
:mod:`.measures`
    departments' reports of joint measures applied or declined (``credit.measures.applied``).
:mod:`.policies`
    warning policies as data: thresholds, levels and routing per sector and district.
:mod:`.export`
    the contract's JSON Schemas, for partners who validate before they send.

Event time and the error tree come from :mod:`creditbrain.core`; nothing here
imports a layer above.
"""

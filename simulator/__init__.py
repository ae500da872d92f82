"""A simulated city's credit events, with the ground truth to judge the system by.

The simulator draws a population (enterprises, institutions, individual
businesses, government bodies and persons of Rizhao's five districts, with valid
credit codes and resident ids and plausible Chinese names) and a year of the
records a public credit platform collects: penalties, judgments, dishonest-debtor
listings, tax, social-insurance and wage arrears, licences, commendations,
commitments, list entries and exits, repairs and objections. Rates follow the
calendar (weekends, the Spring Festival's wage-arrears peak, quarterly tax
deadlines). Woven in are the stories an early-warning system should catch
(organisations that deteriorate towards a dishonest-debtor listing, others that
recover), bursts of one kind in one sector × district, and a small share of
deliberately bad messages, each built to earn one dead-letter reason.

Modules, from the question to the answer: what to simulate (:mod:`.config`); the
city's tables and people (:mod:`.catalogue`, :mod:`.population`, :mod:`.names`);
time and the calendar (:mod:`.calendar`); what is decided about a record before it
happens (:mod:`.plan`), its payload (:mod:`.payloads`) and the wire event it becomes
(:mod:`.records`, :mod:`.wire`); the stories (:mod:`.stories`; the opt-in varied
mix of many kinds of decline and healthy look-alikes, :mod:`.declines`) and bad messages
(:mod:`.corrupt`); the discrete-event loop (:mod:`.engine`) and its face
(:mod:`.simulation`); the ground truth (:mod:`.truth`); a file (:mod:`.output`) or
the input topics (:mod:`.producer`) as the destination.

Everything follows from :class:`CityConfig` and its seed: the same config gives
byte-identical messages and ground truth. Messages come out in event-time order
(or shuffled within a window), as :class:`SimEvent` from
``Simulator(config).events()``, into a JSON Lines file (:func:`write_jsonl`) or
onto the Kafka input topics (:func:`produce`); the ground truth, which never goes
on the wire and holds no clear resident id, comes from
:meth:`Simulator.ground_truth` or the ``.truth.json`` file beside the output.
"""

from __future__ import annotations

from creditbrain.simulator.config import CityConfig
from creditbrain.simulator.output import Progress, Summary, write_jsonl
from creditbrain.simulator.producer import produce, produce_async
from creditbrain.simulator.simulation import Simulator
from creditbrain.simulator.wire import SimEvent

__all__ = [
    "CityConfig",
    "Progress",
    "SimEvent",
    "Simulator",
    "Summary",
    "produce",
    "produce_async",
    "write_jsonl",
]

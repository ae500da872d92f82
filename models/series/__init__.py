"""Online anomaly detection on one univariate time series.

A point is anomalous when it is far from what the recent past predicts, so the
detector forecasts every point before it sees it and scores the surprise. The
forecast is a robust Holt-Winters model: a level, a damped trend and, when it pays,
seasonal profiles kept by clock time (the day and the week for metrics sampled
within a day, the week for daily counts, or a cycle found by autocorrelation).
Several such models run side by side from the first points, and the one with the
smallest long-run error is used, so seasonality is detected by measurement rather
than assumed (the day-and-week model holds the day model, so after two weeks only
the better of the two is kept). Updates are winsorised, so an anomaly cannot drag
the baseline along.

The residual of the chosen model is judged four ways, each ending in a null tail
probability, mapped to [0, 1] by one calibration (:mod:`.calibration`) so that a
threshold means the same on every series: the residual itself (a value wrong for
its time of day), the innovation left after the residuals' own short memory (a
sudden spike or dip), a CUSUM of innovations (a level shift or a change of slope
too small for any single point), and the recent mean square of innovations (a burst
of noise). Tail probabilities follow the series' own tail once it has shown one, so
heavy-tailed metrics do not raise alarms at every busy minute. A confirmed level or
variance change is absorbed, so it is flagged at its onset and not forever after.
Counts (non-negative integers) are first put through Anscombe's square-root
transform, which gives Poisson noise the same scale at every level.

On real metrics that null is often wrong in ways that differ from series to series
(routine bursts, a nightly job), so the raw surprise is finally judged against the
series' own history (:mod:`.likelihood`): how unusual this surprise is among the
series' recent surprises, and how far the value is outside its recent values; a
surprise that comes back at the same time of day is the series' routine
(:mod:`.recurrence`); one incident then gives one alarm at its onset, and scores
are graded up to 1 without a plateau (a judged level rising 1.5 times as steeply as
a raw surprise: it is a tail probability against a finite history and does not reach
as deep).

Modules: the sampling step and candidate periods (:mod:`.period`), the forecaster
(:mod:`.forecaster`), its residuals' short memory (:mod:`.autoregression`), scale
(:mod:`.scale`) and tail (:mod:`.tail`), the shift and variance detectors
(:mod:`.shift`, :mod:`.variance`), one forecaster with its judges (:mod:`.model`),
the calibration (:mod:`.calibration`), the detector that runs them side by side
(:mod:`.detector`) and the naive baseline it has to beat (:mod:`.zscore`).

The file side (CSV in, CSV out, errors with line numbers) is in :mod:`.io`, the
labelled synthetic benchmark in :mod:`.synthetic` and :mod:`.evaluate`, the
city-level watch of daily counts in :mod:`.watch`.
"""

from __future__ import annotations

from .autoregression import ResidualAutoregression
from .detector import SeriesDetector
from .forecaster import SeasonalForecaster
from .likelihood import IncidentFilter, RecentDistribution
from .model import SeriesModel
from .scale import RobustScale
from .shift import LevelShiftDetector
from .tail import TailModel
from .variance import VarianceShiftDetector
from .zscore import RollingZScore

__all__ = [
    "IncidentFilter",
    "LevelShiftDetector",
    "RecentDistribution",
    "ResidualAutoregression",
    "RobustScale",
    "RollingZScore",
    "SeasonalForecaster",
    "SeriesDetector",
    "SeriesModel",
    "TailModel",
    "VarianceShiftDetector",
]

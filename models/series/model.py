"""One forecaster together with everything needed to judge its residuals."""

from __future__ import annotations

import math
import statistics
from collections import deque

from .autoregression import ResidualAutoregression
from .calibration import score_from_tail
from .forecaster import SeasonalForecaster
from .scale import RobustScale
from .shift import LevelShiftDetector
from .tail import TailModel
from .variance import VarianceShiftDetector

__all__ = ["SeriesModel"]

_MEDIAN_ABS_NORMAL = 0.6745


class SeriesModel:
    """A forecaster, its residual memory and scales, and its change detectors.

    For each point the model forms two standardized errors: the *residual*, the
    distance from the seasonal baseline (it catches a value wrong for its time of day
    even when it arrives smoothly), and the *innovation*, the residual less what the
    residual memory expected (it catches a sudden jump, and is nearly independent
    from point to point, so it feeds the change detectors). The score is the largest
    of the calibrated scores of both errors, of the level-shift CUSUM and of the
    variance detector. Confirmed changes are absorbed: the level moves by the median
    recent residual, or the scales by the median absolute innovation since the last
    change (in current scales, made consistent for Gaussian noise), by at most the
    scales' winsorisation bound per confirmation.

    Parameters
    ----------
    forecaster
        The baseline forecaster (trained from scratch by this model).
    scale_rate
        Weight of the newest residual in the scales and the residual memory.
    floor
        Smallest residual scale: the data's resolution.
    clip
        Winsorisation of the forecaster's updates, in residual scales.
    warmup
        Number of points over which a young scale is widened, as a Student t would be.

    Examples
    --------
    >>> model = SeriesModel(SeasonalForecaster(), scale_rate=0.05, floor=1e-6)
    >>> for i in range(100):
    ...     model.learn_one(float(i), 10.0 + (i % 5) * 0.1)
    >>> model.score_one(100.0, 10.2), model.score_one(100.0, 15.0)
    (0.0, 1.0)
    """

    def __init__(
        self,
        forecaster: SeasonalForecaster,
        scale_rate: float = 0.02,
        floor: float = 0.0,
        clip: float = 3.0,
        warmup: int = 32,
    ) -> None:
        self.forecaster = forecaster
        self.scale_rate = scale_rate
        self.floor = floor
        self.clip = clip
        self.warmup = warmup
        self._base_scale = RobustScale(rate=scale_rate, floor=floor)
        self._innovation_scale = RobustScale(rate=scale_rate, floor=floor)
        self._memory = ResidualAutoregression(rate=scale_rate)
        self._shift = LevelShiftDetector()
        self._variance = VarianceShiftDetector()
        self._tail = TailModel()
        self._error = 0.0
        self._recent: deque[float] = deque(maxlen=16)
        self._recent_z: deque[float] = deque(maxlen=16)

    @property
    def error(self) -> float:
        """Long-run mean absolute residual (winsorised): the yardstick between models.

        Unlike the residual scale it is never rescaled, so models that confirmed the
        same change at different moments still compare fairly.
        """
        return self._error

    def _standardize(self, t: float, y: float) -> tuple[float, float, float]:
        residual = y - self.forecaster.forecast_one(t)
        innovation = residual - self._memory.predict_one()
        widen = math.sqrt(1.0 + self.warmup / max(1, self.forecaster.count))
        return (
            residual,
            residual / (self._base_scale.get() * widen),
            innovation / (self._innovation_scale.get() * widen),
        )

    def score_one(self, t: float, y: float, least_tail: float = 0.0) -> float:
        """Anomaly score in [0, 1] of the value ``y`` at time ``t``.

        ``least_tail`` is a tail probability that the value's own distribution
        guarantees (Poisson for counts): the point is never scored as rarer than that.
        """
        return score_from_tail(self.tail_one(t, y, least_tail))

    def tail_one(self, t: float, y: float, least_tail: float = 0.0) -> float:
        """Null tail probability of the value ``y`` at time ``t``: the smallest of the views'.

        ``least_tail`` is as for :meth:`score_one`.
        """
        _, z_residual, z_innovation = self._standardize(t, y)
        surprise = max(abs(z_residual), abs(z_innovation))
        point = 1.0
        if surprise > 2.5:
            point = max(self._tail.tail(surprise), least_tail)
        return min(point, self._shift.tail_one(z_innovation), self._variance.tail_one(z_innovation))

    def learn_one(self, t: float, y: float) -> None:
        """Learn the value ``y`` at time ``t``."""
        residual, z_residual, z_innovation = self._standardize(t, y)
        innovation = residual - self._memory.predict_one()
        bound = self.clip * self._base_scale.get() if self.forecaster.count >= 8 else math.inf
        self.forecaster.learn_one(t, y, bound)
        self._base_scale.update(residual)
        rate = max(self.scale_rate, 1.0 / self.forecaster.count)
        self._error += rate * (min(abs(residual), bound) - self._error)
        self._innovation_scale.update(innovation)
        self._memory.update(min(bound, max(-bound, residual)))
        self._recent.append(residual)
        self._recent_z.append(abs(z_innovation))
        self._shift.learn_one(z_innovation)
        self._variance.learn_one(z_innovation)
        self._tail.update(max(abs(z_residual), abs(z_innovation)))
        if self._shift.drift_detected:
            self._absorb_shift()
        elif self._variance.drift_detected:
            self._absorb_variance()

    def _absorb_shift(self) -> None:
        # The newest half of the run is the best guess of where the level went: the
        # older half may still straddle the change.
        run = min(len(self._recent), max(1, (self._shift.run_length + 1) // 2))
        self.forecaster.shift(statistics.median(list(self._recent)[-run:]))
        self._memory.reset()
        self._recent.clear()
        self._recent_z.clear()
        self._shift.reset()

    def _absorb_variance(self) -> None:
        # The detector's ratio is of capped squares and understates a large change;
        # the median absolute innovation since the last change measures it directly.
        # (A burst of noise can pass for a level shift, so the variance detector is
        # not reset by one; its innovations before the shift are just not used.)
        # One confirmation moves the scales by at most their own winsorisation bound
        # (4 times up or down): a short burst of 60 scales measured whole would blind
        # the model for hundreds of points after it, while a lasting change is simply
        # confirmed again min_run points later and the scale follows it in steps.
        if len(self._recent_z) < 6:
            return
        bound = self._base_scale.cap
        factor = statistics.median(self._recent_z) / _MEDIAN_ABS_NORMAL
        factor = min(bound, max(1.0 / bound, factor))
        self._base_scale.rescale(factor)
        self._innovation_scale.rescale(factor)
        self._recent_z.clear()
        self._variance.reset()

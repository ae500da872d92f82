"""The short memory left in a forecaster's residuals."""

from __future__ import annotations

__all__ = ["ResidualAutoregression"]


class ResidualAutoregression:
    """AR(1) on a forecaster's residuals: how much of the last surprise carries over.

    Real metrics wander around their baseline (a busy afternoon stays busy), so the
    baseline's residuals are autocorrelated. Predicting the next residual as
    ``phi x`` the last one whitens them: what is left, the *innovation*, is close to
    independent noise, which is what the tail probabilities and the CUSUM assume. For a
    random walk ``phi`` tends to 1 (tomorrow is like today); for noise around a
    baseline it stays near 0. ``phi`` is an exponentially weighted least-squares
    estimate on residuals winsorised by the caller, kept in [0, ``max_phi``].

    Parameters
    ----------
    rate
        Weight of the newest pair of residuals in the estimate of ``phi``.
    max_phi
        Upper bound of ``phi``, so that the prediction always decays.

    Examples
    --------
    >>> ar = ResidualAutoregression(rate=0.05)
    >>> residual = 1.0
    >>> for _ in range(200):
    ...     ar.update(residual)
    ...     residual *= -1.0 if residual < 0.5 else 0.9
    >>> ar.predict_one() == ar.phi * ar.last
    True
    """

    def __init__(self, rate: float = 0.01, max_phi: float = 0.98) -> None:
        self.rate = rate
        self.max_phi = max_phi
        self._last = 0.0
        self._cross = 0.0
        self._square = 0.0
        self._count = 0
        self._phi = 0.0

    @property
    def phi(self) -> float:
        """The current autoregressive coefficient."""
        return self._phi

    @property
    def last(self) -> float:
        """The last residual learned."""
        return self._last

    def predict_one(self) -> float:
        """The expected next residual."""
        return self._phi * self._last

    def update(self, residual: float) -> None:
        """Learn the next (already winsorised) residual."""
        self._count += 1
        if self._count > 1:
            a = max(self.rate, 1.0 / self._count)
            self._cross += a * (residual * self._last - self._cross)
            self._square += a * (self._last * self._last - self._square)
            if self._square > 0.0:
                self._phi = min(self.max_phi, max(0.0, self._cross / self._square))
        self._last = residual

    def reset(self) -> None:
        """Forget the last residual: the caller has moved the baseline under it."""
        self._last = 0.0

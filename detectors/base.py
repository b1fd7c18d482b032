"""The contract every online detector follows (in the manner of river's anomaly detectors)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class AnomalyDetector(Protocol):
    """Scores an observation *before* learning from it; higher is more anomalous; state is bounded.

    Observations are plain dicts. `score_one` must not change state, so that calling it
    twice gives the same answer and a caller can never leak the present into the past.
    """

    def score_one(self, x: dict[str, Any]) -> float: ...

    def learn_one(self, x: dict[str, Any]) -> None: ...

"""Cases from the settings: their configuration, the calendar, and the desk beside the worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mode import Service
from pydantic import ValidationError

from creditbrain.alerts.cases import CaseConfig
from creditbrain.alerts.inspection import InspectionConfig
from creditbrain.alerts.policy import PolicySet
from creditbrain.core.errors import ConfigurationError
from creditbrain.core.workdays import WorkCalendar, default_calendar
from creditbrain.infra.cases import CaseRepository
from creditbrain.infra.store import Store
from creditbrain.settings import Settings
from creditbrain.streams.cases import CaseDesk, CaseDeskRunner


def case_config(settings: Settings) -> CaseConfig:
    """Routing and deadlines: the deployment's file, else the defaults."""
    path = settings.cases.config_file
    return CaseConfig.load(path) if path is not None else CaseConfig()


def work_calendar(settings: Settings) -> WorkCalendar:
    """The deployment's calendar file, else the shipped calendar."""
    path = settings.cases.calendar_file
    return WorkCalendar.load(path) if path is not None else default_calendar()


def inspection_config(settings: Settings) -> InspectionConfig:
    """Inspection rates by grade (and sector): the deployment's file, else the defaults."""
    path = settings.cases.inspections_file
    if path is None:
        return InspectionConfig()
    try:
        return InspectionConfig.model_validate_json(path.read_bytes())
    except OSError as error:
        raise ConfigurationError(f"inspection rates {path}: {error.strerror}") from error
    except ValidationError as error:
        raise ConfigurationError(f"inspection rates {path}: {error}") from error


class CaseDeskService(Service):
    """The case desk inside the worker's event loop (``serve``)."""

    def __init__(self, runner: CaseDeskRunner, **kwargs: Any) -> None:
        self.runner = runner
        super().__init__(**kwargs)

    @Service.task
    async def _run(self) -> None:
        await self.runner.run()

    async def on_stop(self) -> None:
        self.runner.stop()


def case_desk_service(
    settings: Settings, bootstrap: str, store: Store, policies: Callable[[], PolicySet]
) -> CaseDeskService:
    """The desk on the settings' topics and group, writing cases to ``store``."""
    desk = CaseDesk(CaseRepository(store), case_config(settings), work_calendar(settings), policies)
    group = settings.cases.group_id or f"{settings.stream.app_id}-cases"
    runner = CaseDeskRunner(desk, bootstrap, settings.kafka.topic_prefix, group)
    return CaseDeskService(runner)

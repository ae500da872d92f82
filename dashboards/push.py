"""Push the dashboards to a running Grafana through its HTTP API (grafana-client).

Idempotent: folders are created only when missing (by uid), and every dashboard is
saved under its stable uid with ``overwrite: true``, so pushing twice leaves
Grafana as pushing once did (Grafana only bumps the dashboards' version).
"""

from __future__ import annotations

from dataclasses import dataclass

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from creditbrain.core.errors import CreditBrainError
from creditbrain.dashboards.catalogue import (
    DATASOURCE_UID,
    FOLDERS,
    dashboards,
    folder_of,
    folder_title,
)
from creditbrain.dashboards.names import Lang


class GrafanaPushError(CreditBrainError):
    """Grafana refused or could not be reached."""


@dataclass(frozen=True)
class Pushed:
    """What a push did."""

    folders_created: tuple[str, ...]
    dashboards: tuple[str, ...]


def push(
    url: str,
    token: str,
    datasource_uid: str = DATASOURCE_UID,
    timeout: float = 10.0,
    lang: Lang = "zh",
) -> Pushed:
    """Create missing folders and save every dashboard (texts in ``lang``) to ``url``."""
    api = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    try:
        created = tuple(f.uid for f in FOLDERS if _ensure_folder(api, f.uid, folder_title(f, lang)))
        saved = []
        for dashboard in dashboards():
            api.dashboard.update_dashboard(
                {
                    "dashboard": dashboard.to_grafana(datasource_uid, lang),
                    "folderUid": folder_of(dashboard).uid,
                    "overwrite": True,
                    "message": "creditbrain dashboards push",
                }
            )
            saved.append(dashboard.uid)
    except GrafanaException as error:
        raise GrafanaPushError(f"Grafana at {url} refused the push: {error}") from error
    except OSError as error:  # connection refused, DNS, TLS: niquests' errors are OSErrors
        raise GrafanaPushError(f"cannot reach Grafana at {url}: {error}") from error
    return Pushed(created, tuple(saved))


def _ensure_folder(api: GrafanaApi, uid: str, title: str) -> bool:
    """Create the folder unless it exists; whether it was created."""
    try:
        api.folder.get_folder(uid)
    except GrafanaClientError as error:
        if error.status_code != 404:
            raise
        api.folder.create_folder(title, uid=uid)
        return True
    return False

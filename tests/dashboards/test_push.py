"""``push`` against a local double of Grafana's HTTP API: idempotent, folders made once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from creditbrain.dashboards.catalogue import FOLDERS, dashboards
from creditbrain.dashboards.push import GrafanaPushError, push


class GrafanaDouble(ThreadingHTTPServer):
    """Folders and dashboards by uid, and every request it was sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.folders: dict[str, str] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, str]] = []  # method, path, Authorization

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: GrafanaDouble

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> None:
        self.server.requests.append(
            (self.command, self.path, self.headers.get("Authorization", ""))
        )

    def do_GET(self) -> None:
        self._record()
        uid = self.path.removeprefix("/api/folders/")
        if self.path.startswith("/api/folders/") and uid in self.server.folders:
            self._reply(200, {"uid": uid, "title": self.server.folders[uid]})
        else:
            self._reply(404, {"message": "folder not found"})

    def do_POST(self) -> None:
        self._record()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/api/folders":
            if body["uid"] in self.server.folders:
                self._reply(409, {"message": "a folder with the same uid already exists"})
                return
            self.server.folders[body["uid"]] = body["title"]
            self._reply(200, {"uid": body["uid"], "title": body["title"]})
        elif self.path == "/api/dashboards/db":
            uid = body["dashboard"]["uid"]
            if uid in self.server.dashboards and not body.get("overwrite"):
                self._reply(412, {"message": "version-mismatch"})
                return
            self.server.dashboards[uid] = body
            self._reply(200, {"uid": uid, "status": "success", "version": 1})
        else:
            self._reply(404, {"message": "not found"})


@pytest.fixture
def grafana() -> Iterator[GrafanaDouble]:
    server = GrafanaDouble()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_push_twice_gives_the_same_grafana(grafana: GrafanaDouble) -> None:
    first = push(grafana.url, "tok")
    assert set(first.folders_created) == {f.uid for f in FOLDERS}
    after_first = json.dumps(grafana.dashboards, sort_keys=True)

    second = push(grafana.url, "tok")
    assert second.folders_created == ()
    assert second.dashboards == first.dashboards
    assert json.dumps(grafana.dashboards, sort_keys=True) == after_first

    assert set(grafana.dashboards) == {b.uid for b in dashboards()}
    for board in dashboards():
        saved = grafana.dashboards[board.uid]
        assert saved["overwrite"] is True and saved["folderUid"] == board.folder
    creates = [r for r in grafana.requests if r[:2] == ("POST", "/api/folders")]
    assert len(creates) == len(FOLDERS)
    assert {auth for _, _, auth in grafana.requests} == {"Bearer tok"}


def test_push_to_nowhere_is_one_clear_error(grafana: GrafanaDouble) -> None:
    url = grafana.url
    grafana.shutdown()
    grafana.server_close()
    with pytest.raises(GrafanaPushError, match="cannot reach Grafana"):
        push(url, "tok", timeout=2.0)

"""Reading a process's metrics port in tests, with prometheus-client's own parser."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

#: ``(sample name, sorted labels) -> value``.
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def parse(text: str) -> Samples:
    """Every sample of an exposition, keyed by name and labels.

    >>> parse('# TYPE a_total counter\\na_total{x="1"} 2.0\\n')
    {('a_total', (('x', '1'),)): 2.0}
    """
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(port: int, attempts: int = 3) -> Samples:
    """The samples of ``http://127.0.0.1:PORT/metrics``.

    A worker answers on the event loop it processes on, so on a loaded machine an
    answer can take a while: a timed-out scrape is tried again.
    """
    url = f"http://127.0.0.1:{port}/metrics"
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=20) as response:
                return parse(response.read().decode())
        except TimeoutError:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


def health(port: int) -> int:
    """The status code of ``/health`` on ``port``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=20) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code

"""Helpers of the observability tests: a free port of this suite's range, and scraping /metrics."""

import socket

import requests
from prometheus_client.parser import text_string_to_metric_families

# The ports these tests may listen on (one range per suite on a shared machine).
PORTS = range(9700, 9800)


def free_port(*, start=9700):
    for port in range(start, PORTS.stop):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


def scrape(url):
    """{(name, frozenset(labels.items())): value} of every sample at `url`."""
    response = requests.get(url, timeout=10)
    response.raise_for_status()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def total(samples, name, **labels):
    """The sum of `name`'s samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(value for (sample, found), value in samples.items() if sample == name and wanted <= found)

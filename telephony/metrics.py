"""The Prometheus metrics of one call server or dialling worker, labelled with its instance.

Several servers and workers run behind one public URL or on one queue; each labels every
sample it exposes with ``instance`` (its name, host-pid by default), so their series stay
apart however they are scraped.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric


def default_instance() -> str:
    """This process's default instance name: host and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


class _InstanceLabelled:
    """A collector re-exposing a registry's samples with an ``instance`` label added."""

    def __init__(self, registry: CollectorRegistry, instance: str) -> None:
        self._registry = registry
        self._instance = instance

    def collect(self) -> Iterator[Metric]:
        for metric in self._registry.collect():
            labelled = Metric(metric.name, metric.documentation, metric.type, metric.unit)
            labelled.samples = [s._replace(labels={**s.labels, "instance": self._instance})
                                for s in metric.samples]
            yield labelled


class _Labelled:
    """Metrics kept in a registry of their own (so apps don't collide), exposed labelled."""

    def __init__(self, instance: str | None) -> None:
        self.registry = CollectorRegistry()
        self.instance = instance
        self._exposed = self.registry
        if instance is not None:
            self._exposed = CollectorRegistry(auto_describe=True)
            self._exposed.register(_InstanceLabelled(self.registry, instance))

    @property
    def exposed(self) -> CollectorRegistry:
        """The registry as scraped: every sample labelled with the instance, if any."""
        return self._exposed

    def exposition(self) -> bytes:
        """The Prometheus text exposition, every sample labelled with this instance (when the
        metrics have one: ``serve`` and ``worker`` always name theirs)."""
        return generate_latest(self._exposed)


class ServerMetrics(_Labelled):
    """The Prometheus metrics of one call server."""

    def __init__(self, instance: str | None = None) -> None:
        super().__init__(instance)
        self.calls = Counter("booking_agent_calls_total", "Calls answered or placed",
                             ["direction"], registry=self.registry)
        self.active = Gauge("booking_agent_active_calls", "Media streams in progress",
                            registry=self.registry)
        self.rejected = Counter("booking_agent_rejected_requests_total",
                                "Webhooks and streams refused", ["reason"],
                                registry=self.registry)
        self.statuses = Counter("booking_agent_call_status_total", "Twilio status callbacks",
                                ["status"], registry=self.registry)
        self.answered_by = Counter(
            "booking_agent_answering_machine_total",
            "Answering-machine verdicts of dialled calls, by what the server did",
            ["action"], registry=self.registry)
        self.turn_latency = Histogram(
            "booking_agent_turn_latency_seconds",
            "Caller stops speaking to first agent audio",
            buckets=(0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0), registry=self.registry)


class WorkerMetrics(_Labelled):
    """The Prometheus metrics of one dialling worker."""

    def __init__(self, instance: str | None = None) -> None:
        super().__init__(instance)
        self.placed = Counter("booking_agent_dial_calls_placed_total",
                              "Calls the worker placed", ["campaign"], registry=self.registry)
        self.skipped = Counter("booking_agent_dial_jobs_skipped_total",
                               "Jobs not dialled when due", ["reason"], registry=self.registry)

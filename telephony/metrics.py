"""The Prometheus metrics of one call server."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ServerMetrics:
    """The Prometheus metrics of one server (a registry of its own, so apps don't collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter("booking_agent_calls_total", "Calls answered or placed",
                             ["direction"], registry=self.registry)
        self.active = Gauge("booking_agent_active_calls", "Media streams in progress",
                            registry=self.registry)
        self.rejected = Counter("booking_agent_rejected_requests_total",
                                "Webhooks and streams refused", ["reason"],
                                registry=self.registry)
        self.statuses = Counter("booking_agent_call_status_total", "Twilio status callbacks",
                                ["status"], registry=self.registry)
        self.turn_latency = Histogram(
            "booking_agent_turn_latency_seconds",
            "Caller stops speaking to first agent audio",
            buckets=(0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0), registry=self.registry)

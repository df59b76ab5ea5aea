"""Prometheus metrics of one app (``GET /metrics``), kept in the app's own registry.

========================================  =========  =============================================
name                                      type       labels
========================================  =========  =============================================
``pinhan_requests_total``                 counter    route, method, status
``pinhan_request_errors_total``           counter    route, status (every answer >= 400)
``pinhan_request_duration_seconds``       histogram  route (time to the answer's first byte)
``pinhan_inference_batch_size``           histogram  task (requests per batch call)
``pinhan_inference_duration_seconds``     histogram  task (one batch call)
``pinhan_queue_depth``                    gauge      (requests waiting for the inference worker)
========================================  =========  =============================================

``route`` is the route's path (``/v1/convert``), ``/static`` for the page's files and ``other``
for any unknown path, so that random URLs cannot grow the label set. With ``--workers N`` each
worker process counts for itself (scrape them separately or behind a balancer, as usual).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class Metrics:
    """The counters and histograms of one app; ``routes`` are the paths reported by name."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, routes: set[str], queue_depth: Callable[[], float] | None = None) -> None:
        self.routes = routes
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("pinhan_requests", "HTTP requests answered", ("route", "method", "status"), registry=r)
        self.errors = Counter("pinhan_request_errors", "HTTP requests answered with status >= 400",
                              ("route", "status"), registry=r)
        self.latency = Histogram("pinhan_request_duration_seconds", "time from request to the answer's start",
                                 ("route",), buckets=LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("pinhan_inference_batch_size", "requests per inference batch call", ("task",),
                                    buckets=BATCH_BUCKETS, registry=r)
        self.inference = Histogram("pinhan_inference_duration_seconds", "seconds per inference batch call",
                                   ("task",), buckets=LATENCY_BUCKETS, registry=r)
        self.queue = Gauge("pinhan_queue_depth", "requests waiting for the inference worker", registry=r)
        if queue_depth is not None:
            self.queue.set_function(queue_depth)

    def route_label(self, path: str) -> str:
        if path in self.routes:
            return path
        if path.startswith("/static/"):
            return "/static"
        return "other"

    def observe_request(self, path: str, method: str, status: int, seconds: float) -> None:
        route = self.route_label(path)
        self.requests.labels(route, method if method in _METHODS else "other", str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if status >= 400:
            self.errors.labels(route, str(status)).inc()

    def observe_batch(self, task: str, size: int, seconds: float) -> None:
        self.batch_size.labels(task).observe(size)
        self.inference.labels(task).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


_METHODS = frozenset({"GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"})

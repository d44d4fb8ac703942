#!/usr/bin/env python3
"""Tiny Prometheus target for the local dev env: serves /metrics on 127.0.0.1
with ever-increasing istio_requests_total counters (200 / 429 / 503) for the
VoiceHelper services, so PromQL like
  sum(rate(istio_requests_total{response_code="429"}[1m])) by (destination_service_name)
returns non-zero data. Counters grow linearly with wall time at fixed rates.

usage: fake_istio_metrics.py [--port 59091] [--host 127.0.0.1]
"""
import argparse
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NS = "voiceassistant-prod"
# service -> {response_code: requests per second}
RATES = {
    "agent-engine": {"200": 40.0, "429": 6.0, "503": 0.5},
    "voice-gateway": {"200": 25.0, "429": 0.2, "503": 0.1},
    "conversation-service": {"200": 15.0, "429": 0.0, "503": 0.05},
    "identity-service": {"200": 10.0, "429": 0.0, "503": 0.0},
    "knowledge-service": {"200": 5.0, "429": 1.5, "503": 0.0},
    "indexing-service": {"200": 2.0, "429": 0.0, "503": 0.3},
    "notification-service": {"200": 1.0, "429": 0.0, "503": 0.0},
}
START = time.time()


def render() -> str:
    elapsed = time.time() - START
    out = [
        "# HELP istio_requests_total Total number of requests handled by an Istio proxy (fake, dev env).",
        "# TYPE istio_requests_total counter",
    ]
    for svc, codes in RATES.items():
        for code, rps in codes.items():
            value = int(rps * elapsed) + (1 if rps > 0 else 0)
            labels = (
                f'reporter="destination",source_workload="istio-ingressgateway",'
                f'destination_service="{svc}.{NS}.svc.cluster.local",'
                f'destination_service_name="{svc}",destination_service_namespace="{NS}",'
                f'destination_workload="{svc}",destination_workload_namespace="{NS}",'
                f'request_protocol="http",response_code="{code}"'
            )
            out.append(f"istio_requests_total{{{labels}}} {value}")
    out.append("# HELP fake_istio_metrics_uptime_seconds Seconds since the fake target started.")
    out.append("# TYPE fake_istio_metrics_uptime_seconds gauge")
    out.append(f"fake_istio_metrics_uptime_seconds {elapsed:.3f}")
    return "\n".join(out) + "\n"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path.split("?")[0] == "/metrics":
            body = render().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        elif self.path == "/healthz":
            body = b"ok\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
        else:
            body = b"not found\n"
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):  # keep the log quiet
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=59091)
    a = ap.parse_args()
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    print(f"fake istio metrics on http://{a.host}:{a.port}/metrics", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()

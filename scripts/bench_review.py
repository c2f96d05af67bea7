"""Benchmark the review app on a large project (not a timed test).

Builds a project of ``--reports`` synthetic interview reports (default 2,000; Markdown
headings, bold speaker labels, numbered questions, about 48 answer sentences each, a
suggestion for every fragment, a few percent decided by one coder) through the store API,
starts the real server (uvicorn, 127.0.0.1, its own process) and measures:

- the queue page and report pages one request at a time (p50/p95 over ``--samples``),
- ``--clients`` concurrent clients (default 64) sending ``--requests`` requests in all
  (queue and report pages mixed): requests/s and p50/p95 latency.

The load is bounded (a fixed number of requests) and the server is stopped at the end.

    .venv/bin/python scripts/bench_review.py [--reports 2000] [--project /tmp/bench.db]

To measure other code (e.g. main) run it with PYTHONPATH pointing at that checkout: both
processes import ``autocoder`` from there (the server runs in a temporary folder).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

QUESTIONS = [
    "Hoe werkt u samen met de partners in het netwerk?",
    "Welke afspraken zijn er gemaakt over de regie?",
    "Hoe verloopt het contact met de wijkagent?",
    "Is er genoeg tijd en capaciteit voor het overleg?",
    "Wat gaat er goed in de samenwerking?",
    "Wat kan er beter?",
    "Hoe worden signalen gedeeld?",
    "Wie neemt het initiatief bij een nieuwe casus?",
    "Hoe is de informatie-uitwisseling geregeld?",
    "Wat is voor u het belangrijkste?",
    "Welke rol speelt de gemeente?",
    "Hoe kijkt u naar de toekomst?",
]
WORDS = (
    "afspraken regie overleg partners vertrouwen budget tijd capaciteit wijkagent casus "
    "signalen gemeente zorg veiligheid terugkoppeling netwerk collega's informatie "
    "uitwisseling procedure verantwoordelijkheid contact wekelijks soms altijd nooit"
).split()


def report_text(index: int, rng: random.Random) -> tuple[str, list[tuple[int, int, int]]]:
    """A report in the light Markdown the ingest writes, and its answer sentences as
    (start, end, question number)."""
    parts = [f"# Verslag interview R{index:04d}\n\n"]
    spans: list[tuple[int, int, int]] = []
    offset = len(parts[0])
    for number, question in enumerate(QUESTIONS, start=1):
        line = f"**Interviewer:** Vraag {number}. {question}\n\n**Respondent:** "
        parts.append(line)
        offset += len(line)
        for _ in range(4):
            words = rng.sample(WORDS, rng.randint(6, 12))
            sentence = " ".join(words).capitalize() + ". "
            spans.append((offset, offset + len(sentence) - 1, number))
            parts.append(sentence)
            offset += len(sentence)
        parts.append("\n\n")
        offset += 2
    return "".join(parts), spans


def build(path: Path, reports: int, decided: float, seed: int) -> int:
    from autocoder.codebook import DEFAULT_CODEBOOK, load_codebook
    from autocoder.records import (
        Decision,
        Fragment,
        Presence,
        Report,
        ReportMeta,
        Status,
        Suggestion,
    )
    from autocoder.store import Project

    codebook = load_codebook()
    yaml_text = (resources.files("autocoder") / "codebooks" / f"{DEFAULT_CODEBOOK}.yaml").read_text(
        encoding="utf-8"
    )
    labels = [*codebook.ids, "none"]
    rng = random.Random(seed)
    count = 0
    with Project.open(path) as project:
        project.ensure_codebook(yaml_text, codebook)
        model = project.add_model({"model_id": "bench", "codebook_hash": codebook.hash})
        with project.transaction():
            for index in range(reports):
                text, spans = report_text(index, rng)
                digest = hashlib.sha256(text.encode()).hexdigest()
                rid = "r" + digest[:12]
                meta = ReportMeta(respondent=f"R{index:04d}", group="uitvoerend")  # type: ignore[arg-type]
                report = Report(rid, f"reports/r{index:04d}.md", text, meta, "md", digest)
                fragments = [
                    Fragment(
                        f"{rid}:{a}-{b}",
                        rid,
                        a,
                        b,
                        text[a:b],
                        meta.respondent,
                        "uitvoerend",
                        q,
                        "respondent",
                    )
                    for a, b, q in spans
                ]
                suggestions = []
                for _ in fragments:
                    weights = [rng.random() ** 3 for _ in labels]
                    total = sum(weights)
                    probs = {
                        label: round(w / total, 4) for label, w in zip(labels, weights, strict=True)
                    }
                    best = max(probs, key=probs.__getitem__)
                    factor = None if best == "none" else best
                    presence = Presence.PRESENT if factor else None
                    reasons = (f"indicator '{rng.choice(WORDS)}'", f"question {rng.randint(1, 12)}")
                    suggestions.append(
                        Suggestion(factor, presence, probs[best], probs, 0.8, reasons, model)
                    )
                project.add_coded_report(report, fragments, "sentence", model, suggestions)
                for fragment, suggestion in zip(fragments, suggestions, strict=True):
                    if rng.random() < decided:
                        project.record_decision(
                            Decision(
                                fragment.id,
                                "anna",
                                suggestion.factor,
                                suggestion.presence,
                                None,
                                Status.CONFIRMED,
                                "",
                            )
                        )
                count += len(fragments)
    return count


SERVE = """
import sys
from autocoder.review.server import make_server
server, sock, url = make_server(sys.argv[1], sys.argv[2])
print(url, flush=True)
server.run(sockets=[sock])
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def figures(name: str, seconds: list[float]) -> str:
    p50, p95 = statistics.median(seconds), percentile(seconds, 0.95)
    return f"{name:<28} p50 {p50 * 1000:7.0f} ms   p95 {p95 * 1000:7.0f} ms   (n={len(seconds)})"


class Connection:
    """A minimal keep-alive HTTP/1.1 client (GET only): httpx's own work per request is
    larger than a page's on this server, so it would measure the client, not the app."""

    def __init__(self, host: str, port: int, cookie: str) -> None:
        self.host, self.port, self.cookie = host, port, cookie
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            try:
                return await self._get(path)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.writer = None  # the server closed a kept-alive connection: reconnect
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _get(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        assert self.reader is not None and self.writer is not None
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Cookie: {self.cookie}\r\nConnection: keep-alive\r\n\r\n"
        )
        self.writer.write(request.encode("latin-1"))
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, body, headers

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def measure(base: str, token: str, report_ids: list[str], args: argparse.Namespace) -> None:
    host, port = base.removeprefix("http://").rsplit(":", 1)
    first = Connection(host, int(port), "")
    _, _, headers = await first.get(f"/?token={token}")
    cookie = headers["set-cookie"].split(";", 1)[0]
    first.close()
    rng = random.Random(1)
    connections = [Connection(host, int(port), cookie) for _ in range(args.clients)]

    async def timed(connection: Connection, url: str) -> float:
        started = time.perf_counter()
        status, _, _ = await connection.get(url)
        if status != 200:
            raise SystemExit(f"{url}: HTTP {status}")
        return time.perf_counter() - started

    one = connections[0]
    cold = await timed(one, "/queue")  # the first one after a change may sort the project
    print(f"{'first queue page':<28} {cold * 1000:7.0f} ms")
    queue = [await timed(one, "/queue") for _ in range(args.samples)]
    reports = [await timed(one, f"/reports/{rng.choice(report_ids)}") for _ in range(args.samples)]
    print(figures("queue page (25 items)", queue))
    print(figures("report page", reports))

    urls = [
        "/queue" if rng.random() < args.queue_share else f"/reports/{rng.choice(report_ids)}"
        for _ in range(args.requests)
    ]
    pending = iter(urls)
    latencies: list[float] = []

    async def worker(connection: Connection) -> None:
        for url in pending:
            latencies.append(await timed(connection, url))

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    print(
        f"{args.clients} clients, {len(latencies)} requests ({args.queue_share:.0%} queue): "
        f"{len(latencies) / elapsed:.1f} requests/s; p50 {statistics.median(latencies) * 1000:.0f}"
        f" ms, p95 {percentile(latencies, 0.95) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--decided", type=float, default=0.05, help="share decided by anna")
    parser.add_argument("--project", type=Path, help="reuse (or build) this project file")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--requests", type=int, default=640)
    parser.add_argument("--queue-share", type=float, default=0.5, help="of the concurrent load")
    parser.add_argument("--coder", default="bob")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="autocoder-bench-review-"))
    path = args.project or folder / "study.db"
    if not path.exists():
        started = time.perf_counter()
        count = build(path, args.reports, args.decided, seed=7)
        print(
            f"built {args.reports} reports, {count} fragments "
            f"in {time.perf_counter() - started:.1f} s"
        )
    from autocoder.store import Project

    with Project.open(path, create=False) as project:
        report_ids = [r[0] for r in project.conn.execute("SELECT report_id FROM report_versions")]
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(path), args.coder],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
        cwd=folder,  # not this folder: `python -c` would import autocoder from it first
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        if not url:
            sys.exit("the review server did not start")
        base, token = url.split("/?token=")
        asyncio.run(measure(base, token, report_ids, args))
    finally:
        server.kill()  # nothing to save: the load only reads
        server.wait(timeout=30)


if __name__ == "__main__":
    main()

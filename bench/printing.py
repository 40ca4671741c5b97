"""Benchmark: how long pb takes to make its printed documents with WeasyPrint, and how much memory it needs.

    .venv/bin/python bench/printing.py
    .venv/bin/python bench/printing.py --letters 20 200 --repeat 3

On a fresh SQLite database the demo town is loaded (`pb demo`'s own code: its finished cycle has published results,
its open cycle is voting). Then, in this process and through the same service functions the routes call:
- the results report of the finished cycle (`exports.results_pdf`: letterhead, summary, every district's table and
  chart, the cycle's charts), made --repeat times;
- for each size given to --letters, a batch of that many voting codes is generated and the first PDF of its letters
  is made (`verification.code_batch_letters`, part 1: one A4 letter per code, at most LETTERS_PER_PDF = 200 per PDF,
  which is what one web request makes).
Each line gives the best and median wall time, the PDF's pages and size, and the process's peak memory (VmHWM) after
it. The last line is one JSON object with the figures.
"""

import argparse
import io
import json
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from _server import bench_app, fresh_database  # noqa: E402


def peak_memory_mb() -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pages_of(body: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(body)).pages)


def timed(make, repeat: int) -> tuple[list[float], bytes]:
    times, body = [], b""
    for _ in range(repeat):
        started = time.perf_counter()
        body = make()
        times.append(time.perf_counter() - started)
    return times, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, nargs="*", default=[20, 200], help="batch sizes to print")
    parser.add_argument("--repeat", type=int, default=3, help="times each document is made")
    args = parser.parse_args()

    from pb.database import create_schema
    from pb.models import User
    from pb.services import cycles, demo, exports, verification
    from pb.extensions import db
    from sqlalchemy import select

    figures = []
    with fresh_database("sqlite") as url:
        app = bench_app(url)
        with app.test_request_context("/"):
            create_schema()
            demo.load_demo()
            official = db.session.scalar(select(User).where(User.email == demo.OFFICIAL))
            listed = cycles.list_cycles(include_drafts=True)
            # The demo's knapsack cycles (it also has one of each other ballot design), as measured before.
            past_name, open_name = demo.cycle_names()
            finished = next(cycle for cycle in listed if cycle.name == past_name)
            voting = next(cycle for cycle in listed if cycle.name == open_name)
            print(f"{'document':<34} {'best':>8} {'median':>8} {'pages':>6} {'size':>9} {'peak RSS':>9}")

            def report(name: str, times: list[float], body: bytes) -> None:
                row = {"document": name, "best_s": round(min(times), 3), "median_s": round(statistics.median(times), 3),
                       "pages": pages_of(body), "bytes": len(body), "peak_rss_mb": round(peak_memory_mb(), 1)}
                figures.append(row)
                print(f"{name:<34} {row['best_s']:>7.2f}s {row['median_s']:>7.2f}s {row['pages']:>6} "
                      f"{row['bytes'] / 1024:>7.0f}KB {row['peak_rss_mb']:>7.0f}MB")

            times, body = timed(lambda: exports.results_pdf(finished), args.repeat)
            report(f"results report ({len(finished.districts)} districts)", times, body)
            district = voting.districts[0]
            for size in args.letters:
                batch = verification.generate_code_batch(official, voting.id, district.id, size)
                times, body = timed(
                    lambda: verification.code_batch_letters(official, voting.id, batch.id, "https://pb.example/verify"),
                    args.repeat,
                )
                report(f"letters ({min(size, verification.LETTERS_PER_PDF)} of a batch of {size})", times, body)
    print(json.dumps({"bench": "printing", "figures": figures}))


if __name__ == "__main__":
    main()

"""Benchmark: the pages residents read in a full cycle — the proposals list (filtered, sorted, paged), search, and
proposal pages — served by pb under gunicorn from a cycle of 5,000 proposals with photos and 100,000 comments, on
SQLite and on PostgreSQL.

    .venv/bin/python bench/pages.py --engine both
    .venv/bin/python bench/pages.py --engine sqlite --proposals 500 --comments 10000 --requests 50
    PB_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/bench_pb .venv/bin/python bench/pages.py --check

Per engine: a fresh database built through the migrations (`upgrade_schema`, as `flask db upgrade`), one cycle in
the supports phase filled with bulk inserts (seeded, so every run has the same data): proposals across districts
and categories with varied Markdown descriptions, one photo per proposal for most of them (real JPEG files in the
upload folder), comments spread unevenly (a few proposals have thousands), replies, flags, supports and follows.
Then pb under gunicorn (pb/gunicorn_conf.py) on a free loopback port, and one client in this process asking for
each page in turn, one request at a time, so a percentile is the latency of one request on an idle server. The
table gives p50/p95/p99, requests per second at that concurrency, and the page size (pages stay under 100 KB). With
--check the exit status is 1 when a page's p95 is over the target (100 ms). The last line is one JSON object with
the figures (per engine under "engines"); --results also writes it to a file.
"""

import argparse
import http.client
import io
import json
import os
import pathlib
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from _server import (  # noqa: E402
    BENCH_SETTINGS,
    DEFAULT_POSTGRES_URL,
    PASSWORD,
    Server,
    bench_app,
    fresh_database,
    percentile,
    summary_line,
)

P95_TARGET_MS = 100
PAGE_SIZE_TARGET = 100 * 1024
SEED = 18
BATCH = 5_000

# How the list is asked to filter, sort, page and search. The list page of the foundation knows only `district`;
# the others are ignored until the listing and search land (the table then shows the same page as the default).
SORT_BY_COST = "sort=cost-asc"
PAGE = "page=50"
SEARCH = "q"
COMMON_WORD = "park"  # in about a third of the proposals (the vocabulary has it only in "a dog park" etc.)
RARE_WORD = "zeppelin"  # in exactly RARE_COUNT proposals
RARE_COUNT = 3
SIGNED_IN_EMAIL = "resident3@bench.test"  # a confirmed resident who supports and follows a few proposals

DISTRICTS = ["Old Town", "Riverside", "North Hill", "Harbour", "Green Valley", "East Gate"]
CATEGORIES = ["Streets", "Parks", "Culture", "Sport", "Schools", "Mobility", "Environment", "Social"]
STREETS = ["Linden Street", "Mill Road", "Station Square", "Church Lane", "Harbour Walk", "Oak Avenue", "Market Place",
           "School Street", "Canal Path", "Bridge Road", "Meadow Way", "Castle Hill", "Union Street", "Park Row"]
THINGS = ["benches", "trees", "a playground", "bike racks", "a water fountain", "street lights", "a skate park",
          "a community garden", "a library corner", "a pedestrian crossing", "an outdoor gym", "a bus shelter",
          "flower beds", "a dog park", "public toilets", "a mural", "a reading room", "a football pitch",
          "a repair café", "raised crossings", "a bike lane", "shade sails", "a climbing wall", "a bandstand",
          "a pond", "an orchard", "a tool library", "ramps", "a market hall", "solar lamps", "a chess corner"]
ADJECTIVES = ["New", "Safer", "Greener", "Quieter", "Accessible", "Shaded", "Better", "Brighter", "Open", "Shared",
              "Cleaner", "Friendlier", "Modern", "Restored", "Bigger", "Covered"]
WORDS = ("the of and to in for with on by near our this that residents children neighbours families elderly people "
         "school street square corner river garden path station market evening morning summer winter "
         "safe safety quiet noise traffic cars bikes walking crossing light shade water rain trees grass flowers "
         "bench seats play sport meet together community local small large cheap maintained durable wooden steel "
         "stone recycled solar energy budget cost plan quote contractor city council maintenance every year week "
         "daily many few more less better improve build repair replace install paint plant clean open close "
         "access wheelchair pram ramp step stairs lift sign map route bus stop tram parking delivery").split()
LINKS = ["https://www.example.org/plan.pdf", "https://city.example/maps/area", "https://www.example.org/quote"]


@dataclass
class Cycle:
    """What the measurements need to know about the filled cycle."""

    url: str
    cycle_id: int
    district_ids: list[int]
    proposal_ids: list[int]  # the ones everyone can see
    most_commented_id: int
    most_comments: int
    photo_count: int
    fill_seconds: float
    counts: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- text
def sentence(rng: random.Random, low: int = 8, high: int = 22, extra: str = "") -> str:
    words = rng.choices(WORDS, k=rng.randint(low, high))
    if extra:
        words.insert(rng.randrange(len(words) + 1), extra)
    return " ".join(words).capitalize() + "."


def description(rng: random.Random, thing: str, street: str, extra: list[str]) -> str:
    """Markdown as residents write it: paragraphs, a heading or two, a list, sometimes a link."""
    parts = [f"We ask for {thing} on {street}. " + " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))]
    if rng.random() < 0.7:
        parts.append("## Why\n\n" + " ".join(sentence(rng) for _ in range(rng.randint(2, 6))))
    if rng.random() < 0.6:
        parts.append("\n".join(f"- {sentence(rng, 3, 9)}" for _ in range(rng.randint(2, 6))))
    if rng.random() < 0.5:
        parts.append("## Cost\n\n" + " ".join(sentence(rng) for _ in range(rng.randint(1, 4))))
    if rng.random() < 0.3:
        parts.append(f"See the [plan]({rng.choice(LINKS)}) and **{rng.choice(WORDS)}** notes.")
    parts += [sentence(rng, extra=word) for word in extra]
    return "\n\n".join(parts)[:10_000]


# ---------------------------------------------------------------------------------------------- photos
def sample_jpegs(rng: random.Random, count: int = 24) -> list[tuple[bytes, int, int]]:
    """Small real JPEGs (gradients and shapes, as a re-encoded phone photo would be at its display size)."""
    from PIL import Image, ImageDraw

    samples = []
    for _ in range(count):
        width, height = rng.choice([(1024, 768), (768, 1024), (1024, 576)])
        image = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(image)
        for _ in range(40):
            x, y = rng.randrange(width), rng.randrange(height)
            draw.ellipse((x, y, x + rng.randint(20, 300), y + rng.randint(20, 300)),
                         fill=tuple(rng.randrange(256) for _ in range(3)))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=80, optimize=True)
        samples.append((buffer.getvalue(), width, height))
    return samples


# The stored files as pb/storage.py's folder store and pb/services/media.py write them: `<folder>/<key>-<size>`,
# WebP, one file per size in media.PHOTO_SIZES. Everything about photos is in this function and photo_rows.
UPLOAD_SETTING = "UPLOAD_FOLDER"


def store_photo_files(upload_folder: pathlib.Path, keys: list[str], samples: list, rng: random.Random) -> list[int]:
    """Write each key's files as the media service would; returns each photo's sample index. The sizes of one
    sample are made once and hard-linked (the disk holds a few dozen images, the server reads thousands of files)."""
    from pb.services.media import photo_renditions

    folder = upload_folder
    folder.mkdir(parents=True, exist_ok=True)
    originals = folder.parent / (folder.name + "-samples")
    originals.mkdir(exist_ok=True)
    sizes: list[list[str]] = []
    for index, (data, _, _) in enumerate(samples):
        renditions = photo_renditions(data)  # the service's own checks and encoding
        for rendition in renditions:
            (originals / f"{index}-{rendition.size}").write_bytes(rendition.content)
        sizes.append([rendition.size for rendition in renditions])
    chosen = []
    for key in keys:
        index = rng.randrange(len(samples))
        for size in sizes[index]:
            target = folder / f"{key}-{size}"
            try:
                os.link(originals / f"{index}-{size}", target)
            except OSError:
                shutil.copyfile(originals / f"{index}-{size}", target)
        chosen.append(index)
    return chosen


def photo_rows(upload_folder: pathlib.Path, proposals: list[dict], share: float, samples: list,
               rng: random.Random) -> list[dict]:
    """One photo for `share` of the proposals: the rows for proposal_photos, after writing their files."""
    with_photo = [proposal for proposal in proposals if rng.random() < share]
    keys = [f"{rng.getrandbits(192):048x}" for _ in with_photo]  # the shape of storage.new_key(): 16 to 100 safe characters
    chosen = store_photo_files(upload_folder, keys, samples, rng)
    return [{"id": number, "proposal_id": proposal["id"], "position": 0, "storage_key": key,
             "alt_text": f"Where {proposal['title'].lower()} would go", "width": samples[index][1],
             "height": samples[index][2], "byte_size": len(samples[index][0]), "uploaded_by_id": proposal["author_id"],
             "created_at": proposal["created_at"]}
            for number, (proposal, key, index) in enumerate(zip(with_photo, keys, chosen), 1)]


# ---------------------------------------------------------------------------------------------- filling
def comment_counts(rng: random.Random, proposals: int, comments: int) -> list[int]:
    """Comments per proposal, uneven as on a real site: a Zipf-like spread (the top few have thousands at full
    scale) over the 70% of proposals anyone commented on, in random order."""
    commented = max(1, int(proposals * 0.7))
    weights = [1 / (rank ** 0.8) for rank in range(1, commented + 1)]
    total = sum(weights)
    shares = [comments * weight / total for weight in weights]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(commented), key=lambda index: shares[index] - counts[index], reverse=True)
    for index in by_remainder[:comments - sum(counts)]:
        counts[index] += 1
    counts += [0] * (proposals - commented)
    rng.shuffle(counts)
    return counts


def insert_batches(connection, table, rows: list[dict]) -> None:
    from sqlalchemy import insert

    for start in range(0, len(rows), BATCH):
        connection.execute(insert(table), rows[start:start + BATCH])


def fill_cycle(url: str, upload_folder: pathlib.Path, proposal_count: int, comment_total: int, resident_count: int,
               photo_share: float) -> Cycle:
    """The schema through the migrations, then one cycle in the supports phase, filled with bulk inserts."""
    from sqlalchemy import func, select, text

    from pb.database import upgrade_schema
    from pb.domain.cycle import Phase
    from pb.extensions import db
    from pb import models
    from pb.models import ProposalStatus, Role
    from pb.security import hash_password

    rng = random.Random(SEED)
    started = time.monotonic()
    app = bench_app(url)
    with app.app_context():
        upgrade_schema()
        schema_seconds = time.monotonic() - started
        now = datetime.utcnow().replace(microsecond=0)
        opened = now - timedelta(days=60)
        password_hash = hash_password(PASSWORD)
        engine = db.engine
        with engine.begin() as connection:
            users = [{"id": 1, "email": "official@bench.test", "name": "Official", "role": Role.OFFICIAL.value},
                     {"id": 2, "email": "moderator@bench.test", "name": "Moderator", "role": Role.MODERATOR.value}]
            users += [{"id": number, "email": f"resident{number}@bench.test",
                       "name": f"{rng.choice(['Ana', 'Ben', 'Chloé', 'Dariusz', 'Eva', 'Farid', 'Greta', 'Hugo'])} "
                               f"{rng.choice(['Novak', 'Smith', 'García', 'Kowalska', 'Okafor', 'Lind', 'Rossi'])}",
                       "role": Role.RESIDENT.value} for number in range(3, resident_count + 3)]
            for user in users:
                user.update(password_hash=password_hash, is_enabled=True, created_at=opened, session_version=0,
                            email_confirmed_at=opened, muted_notifications="")
            insert_batches(connection, models.User.__table__, users)
            resident_ids = [user["id"] for user in users[2:]]
            connection.execute(models.Cycle.__table__.insert(), [{
                "id": 1, "name": "Bench cycle 2027", "description": "A full cycle for the pages bench.",
                "currency": "EUR", "total_budget": 600_000_000, "phase": Phase.SUPPORTS.value, "rule": "greedy",
                "min_projects": 1, "max_projects": 5, "tie_break_seed": 0, "timezone": "UTC",
                "proposals_open_at": opened, "supports_at": now - timedelta(days=3),
                "review_at": now + timedelta(days=20), "voting_open_at": now + timedelta(days=40),
                "voting_close_at": now + timedelta(days=54), "results_at": now + timedelta(days=55),
                "created_at": opened, "max_photos": 5, "has_comments_after_proposals": True,
                "has_supports_phase": True, "supports_per_district": 10}])
            connection.execute(models.District.__table__.insert(), [
                {"id": number, "cycle_id": 1, "name": name, "budget": 100_000_000, "boundary": ""}
                for number, name in enumerate(DISTRICTS, 1)])
            connection.execute(models.Category.__table__.insert(), [
                {"id": number, "cycle_id": 1, "name": name} for number, name in enumerate(CATEGORIES, 1)])
            district_ids = list(range(1, len(DISTRICTS) + 1))

            rare_at = set(rng.sample(range(proposal_count), min(RARE_COUNT, proposal_count)))
            statuses = ([ProposalStatus.SUBMITTED] * 85 + [ProposalStatus.CHANGES_REQUESTED] * 5
                        + [ProposalStatus.REJECTED] * 4 + [ProposalStatus.WITHDRAWN] * 3 + [ProposalStatus.MERGED] * 3)
            proposals = []
            for number in range(1, proposal_count + 1):
                thing, street = rng.choice(THINGS), rng.choice(STREETS)
                extra = [COMMON_WORD] if rng.random() < 0.3 else []
                extra += [RARE_WORD] if number - 1 in rare_at else []
                status = rng.choice(statuses)
                created_at = opened + timedelta(seconds=rng.randrange(50 * 86_400))
                has_point = rng.random() < 0.7
                proposals.append({
                    "id": number, "cycle_id": 1, "district_id": rng.choice(district_ids),
                    "category_id": rng.choice([None] + list(range(1, len(CATEGORIES) + 1))),
                    "author_id": rng.choice(resident_ids),
                    "title": f"{rng.choice(ADJECTIVES)} {thing} on {street}"[:120],
                    "summary": sentence(rng, 10, 30)[:300], "description": description(rng, thing, street, extra),
                    "location": f"{rng.randint(1, 180)} {street}" if rng.random() < 0.6 else "",
                    "latitude": 52.2 + rng.random() * 0.2 if has_point else None,
                    "longitude": 21.0 + rng.random() * 0.2 if has_point else None,
                    "estimated_cost": rng.randrange(5_000, 400_000) * 100, "final_cost": None,
                    "status": status.value,
                    "moderator_note": sentence(rng) if status in (ProposalStatus.REJECTED,
                                                                  ProposalStatus.CHANGES_REQUESTED) else "",
                    "merged_into_id": None, "version": 1, "created_at": created_at, "updated_at": created_at})
            for proposal in proposals:  # merged ones point at an earlier proposal
                if proposal["status"] == ProposalStatus.MERGED.value and proposal["id"] > 1:
                    proposal["merged_into_id"] = rng.randrange(1, proposal["id"])
                elif proposal["status"] == ProposalStatus.MERGED.value:
                    proposal["status"] = ProposalStatus.SUBMITTED.value
            insert_batches(connection, models.Proposal.__table__, proposals)

            samples = sample_jpegs(rng)
            photos = photo_rows(upload_folder, proposals, photo_share, samples, rng)
            insert_batches(connection, models.ProposalPhoto.__table__, photos)

            counts = comment_counts(rng, proposal_count, comment_total)
            comments, flags = [], []
            number = 0
            for proposal, count in zip(proposals, counts):
                moment = proposal["created_at"]
                top_level: list[int] = []
                for _ in range(count):
                    number += 1
                    moment += timedelta(seconds=rng.randrange(30, 3_600))
                    is_reply = top_level and rng.random() < 0.3
                    roll = rng.random()
                    comments.append({
                        "id": number, "proposal_id": proposal["id"], "author_id": rng.choice(resident_ids),
                        "parent_id": rng.choice(top_level[-20:]) if is_reply else None,
                        "body": " ".join(sentence(rng, 4, 25) for _ in range(rng.choice([1, 1, 2, 2, 3, 5]))),
                        "created_at": min(moment, now), "edited_at": None,
                        "deleted_at": min(moment, now) if roll < 0.01 else None,
                        "hidden_at": min(moment, now) if 0.01 <= roll < 0.015 else None,
                        "hidden_by_id": 2 if 0.01 <= roll < 0.015 else None,
                        "hidden_reason": "Insults another resident." if 0.01 <= roll < 0.015 else ""})
                    if not is_reply:
                        top_level.append(number)
                    if 0.01 <= roll < 0.02:
                        flags.append({"comment_id": number, "user_id": rng.choice(resident_ids),
                                      "reason": "Rude.", "created_at": min(moment, now),
                                      "resolved_at": min(moment, now) if roll < 0.015 else None})
            insert_batches(connection, models.Comment.__table__, comments)
            insert_batches(connection, models.CommentFlag.__table__, flags)

            # Supports: each resident backs up to 10 proposals of one district, popular ones more often.
            by_district: dict[int, list[int]] = {}
            supportable = [p for p in proposals if p["status"] == ProposalStatus.SUBMITTED.value]
            for proposal in supportable:
                by_district.setdefault(proposal["district_id"], []).append(proposal["id"])
            district_of = {p["id"]: p["district_id"] for p in proposals}
            supports, follows = [], []
            for user_id in resident_ids:
                district_id = rng.choice(district_ids)
                candidates = by_district.get(district_id, [])
                if not candidates:
                    continue
                weights = [1 / (rank ** 0.9) for rank in range(1, len(candidates) + 1)]
                chosen = {proposal_id for proposal_id in rng.choices(candidates, weights, k=rng.randint(0, 10))}
                supports += [{"proposal_id": proposal_id, "user_id": user_id, "cycle_id": 1,
                              "district_id": district_of[proposal_id], "created_at": now} for proposal_id in chosen]
                follows += [{"user_id": user_id, "proposal_id": proposal_id, "created_at": now}
                            for proposal_id in chosen if rng.random() < 0.3]
            insert_batches(connection, models.Support.__table__, supports)
            insert_batches(connection, models.Follow.__table__, follows)

            if engine.dialect.name == "postgresql":  # explicit ids: move each sequence past them
                for table in ("users", "cycles", "districts", "categories", "proposals", "proposal_photos",
                              "comments"):
                    connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                            f"COALESCE((SELECT MAX(id) FROM {table}), 1))"))
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
        else:
            with engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        hidden = {ProposalStatus.WITHDRAWN.value}
        visible = [p["id"] for p in proposals if p["status"] not in hidden]
        most = max(range(proposal_count), key=lambda index: counts[index])
        stored = db.session.scalar(select(func.count()).select_from(models.Comment))
        filled = Cycle(url, 1, district_ids, visible, proposals[most]["id"], counts[most], len(photos),
                       time.monotonic() - started,
                       {"proposals": len(proposals), "comments": stored, "replies": sum(1 for c in comments
                                                                                       if c["parent_id"]),
                        "photos": len(photos), "supports": len(supports), "follows": len(follows),
                        "flags": len(flags), "residents": resident_count, "schema_s": round(schema_seconds, 1)})
        db.session.remove()
        db.engine.dispose()
    return filled


# ---------------------------------------------------------------------------------------------- measuring
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_IMAGE = re.compile(r'<img[^>]+src="(/[^"]+)"')
_PROPOSAL_LINK = re.compile(rb'href="/proposals/(\d+)"')


class PagesServer(Server):
    """pb under gunicorn, with the upload folder the filler wrote the photos into."""

    upload_folder: pathlib.Path | None = None

    def environment(self) -> dict[str, str]:
        environment = super().environment()
        if self.upload_folder is not None:
            environment[f"PB_{UPLOAD_SETTING}"] = str(self.upload_folder)
        return environment


class Reader:
    """One resident's browser: a kept-alive connection (reopened when gunicorn's sync worker closed it) and, once
    signed in, the session cookie."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, bytes, float]:
        """One request; the milliseconds until its last byte arrived."""
        headers = {"Accept-Language": "en", **({"Cookie": self.cookie} if self.cookie else {})}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            page = response.read()
        except (OSError, http.client.HTTPException):  # the worker closed the kept connection: once more, anew
            self.connection.close()
            started = time.perf_counter()
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            page = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.will_close:
            self.connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            if header.startswith("session="):
                self.cookie = header.split(";", 1)[0]
        return response.status, page, elapsed

    def sign_in(self, email: str) -> None:
        _, page, _ = self.request("GET", "/login")
        token = _TOKEN.search(page.decode("utf-8", "replace")).group(1)
        status, page, _ = self.request("POST", "/login", {"email": email, "password": PASSWORD, "csrf_token": token})
        if status != 302:
            raise RuntimeError(f"signing in as {email} failed: {status} {page[:300]!r}")

    def close(self) -> None:
        self.connection.close()


def targets(filled: Cycle, rng: random.Random) -> list[tuple[str, str, list[str]]]:
    """(name, kind, paths) for every page measured; a name with several paths takes them in turn."""
    base = f"/cycles/{filled.cycle_id}/proposals"
    district = filled.district_ids[len(filled.district_ids) // 2]
    randoms = rng.sample(filled.proposal_ids, min(200, len(filled.proposal_ids)))
    return [
        ("list", "page", [base]),
        ("list, one district", "page", [f"{base}?district={district}"]),
        ("list, by cost", "page", [f"{base}?{SORT_BY_COST}"]),
        ("list, page 50", "page", [f"{base}?{PAGE}"]),
        (f"search '{COMMON_WORD}'", "page", [f"{base}?{SEARCH}={COMMON_WORD}"]),
        (f"search '{RARE_WORD}'", "page", [f"{base}?{SEARCH}={RARE_WORD}"]),
        (f"proposal, {filled.most_comments} comments", "page", [f"/proposals/{filled.most_commented_id}"]),
        ("proposal, random", "page", [f"/proposals/{proposal_id}" for proposal_id in randoms]),
    ]


def measure(port: int, filled: Cycle, requests: int, warmup: int, max_seconds: float,
            signed_in: bool = False) -> list[dict]:
    """Every page in turn, one request at a time, until each has `requests` answers or used `max_seconds`; as an
    anonymous visitor, or signed in as a resident (who sees the forms to comment, support and follow)."""
    rng = random.Random(SEED)
    pages = targets(filled, rng)
    reader = Reader(port)
    if signed_in:
        reader.sign_in(SIGNED_IN_EMAIL)
    # Photos: the first image on the most commented proposal's page that is not a static file, once media lands.
    status, body, _ = reader.request("GET", pages[6][2][0])
    found = [src for src in _IMAGE.findall(body.decode("utf-8", "replace")) if not src.startswith("/static/")]
    if found:
        pages.append(("photo (file)", "file", found[:1]))
    rows = {name: {"name": name, "kind": kind, "paths": paths, "latencies": [], "statuses": {}, "bytes": 0,
                   "spent": 0.0} for name, kind, paths in pages}
    for row in rows.values():
        for index in range(warmup):
            reader.request("GET", row["paths"][index % len(row["paths"])])
    started = time.monotonic()
    active = list(rows.values())
    turn = 0
    while active:  # round robin, so a busy moment of the machine touches every page alike
        for row in list(active):
            path = row["paths"][turn % len(row["paths"])]
            status, body, elapsed = reader.request("GET", path)
            row["statuses"][status] = row["statuses"].get(status, 0) + 1
            row["latencies"].append(elapsed)
            row["bytes"] = max(row["bytes"], len(body))
            row["spent"] += elapsed / 1000
            row.setdefault("first_listed", _PROPOSAL_LINK.findall(body))
            if len(row["latencies"]) >= requests or row["spent"] >= max_seconds:
                active.remove(row)
        turn += 1
    wall = time.monotonic() - started
    default_listed = rows["list"]["first_listed"]
    figures = []
    for row in rows.values():
        latencies = row["latencies"]
        figures.append({
            "page": row["name"], "kind": row["kind"], "path": row["paths"][0], "requests": len(latencies),
            "p50_ms": round(percentile(latencies, 0.50), 1), "p95_ms": round(percentile(latencies, 0.95), 1),
            "p99_ms": round(percentile(latencies, 0.99), 1),
            "requests_per_s": round(len(latencies) / row["spent"], 1) if row["spent"] else None,
            "max_bytes": row["bytes"], "statuses": {str(k): v for k, v in row["statuses"].items()},
            # The foundation ignores q=, sort= and page=: then the page lists the same proposals in the same order.
            "same_as_default_list": row["name"] != "list" and row["kind"] == "page"
            and row["paths"][0].startswith(f"/cycles/{filled.cycle_id}/proposals")
            and row["first_listed"] == default_listed,
            "proposals_listed": len(row["first_listed"]),
            "meets_target": percentile(latencies, 0.95) < P95_TARGET_MS and set(row["statuses"]) == {200},
        })
    reader.close()
    print(f"   measured {sum(f['requests'] for f in figures)} requests in {wall:.0f} s", file=sys.stderr)
    return figures


def measure_together(port: int, filled: Cycle, readers: int, seconds: float, signed_in: bool = False) -> dict:
    """Throughput: `readers` at once, each reading the same pages in a random order, for `seconds` (threads: the
    client waits on the server, whose two cores are the limit)."""
    paths = [path for _, _, group in targets(filled, random.Random(SEED)) for path in group[:5]]
    latencies: list[float] = []
    failures: list[int] = []

    def read(number: int) -> None:
        rng = random.Random(SEED + number)
        reader = Reader(port)
        if signed_in:
            reader.sign_in(SIGNED_IN_EMAIL)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            status, _, elapsed = reader.request("GET", rng.choice(paths))
            (latencies if status == 200 else failures).append(elapsed)
        reader.close()

    threads = [threading.Thread(target=read, args=(number,)) for number in range(readers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    return {"readers": readers, "seconds": round(wall, 1), "requests_per_s": round(len(latencies) / wall, 1),
            "p50_ms": round(percentile(latencies, 0.50), 1), "p95_ms": round(percentile(latencies, 0.95), 1),
            "failures": len(failures)}


def run_engine(engine: str, args) -> dict:
    folder = pathlib.Path(tempfile.mkdtemp(prefix="pb-pages-"))
    upload_folder = folder / "uploads"
    try:
        with fresh_database(engine, args.postgres_url) as url:
            print(f"{engine}: filling {args.proposals} proposals, {args.comments} comments ...", file=sys.stderr,
                  flush=True)
            filled = fill_cycle(url, upload_folder, args.proposals, args.comments, args.residents, args.photo_share)
            print(f"   filled in {filled.fill_seconds:.0f} s: {filled.counts}", file=sys.stderr, flush=True)
            server = PagesServer("app:app", url, folder, args.workers)
            server.upload_folder = upload_folder
            server.start(timeout=120)
            try:
                pages = measure(server.port, filled, args.requests, args.warmup, args.max_seconds,
                                args.signed_in)
                together = (measure_together(server.port, filled, args.readers, args.together_seconds,
                                             args.signed_in) if args.readers > 1 else None)
            finally:
                server.stop()
            tracebacks = server.tracebacks()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for ending in tracebacks[:5]:
        print(f"   server log: {ending}", file=sys.stderr)
    return {"engine": engine, "fill_s": round(filled.fill_seconds, 1), "data": filled.counts,
            "most_commented": {"proposal_id": filled.most_commented_id, "comments": filled.most_comments},
            "pages": pages, "together": together, "tracebacks_in_log": len(tracebacks),
            "meets_target": all(page["meets_target"] for page in pages if page["kind"] == "page")
            and not tracebacks}


def print_table(rows: list[dict]) -> None:
    header = (f"{'engine':11} {'page':28} {'n':>4} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'req/s':>6} "
              f"{'KB':>6} {'listed':>6} {'status':>7}  note")
    print(header)
    print("-" * len(header))
    for row in rows:
        for page in row["pages"]:
            statuses = ",".join(sorted(page["statuses"]))
            notes = []
            if page["same_as_default_list"]:
                notes.append("same page as the list (parameter ignored)")
            if page["kind"] == "page" and page["max_bytes"] > PAGE_SIZE_TARGET:
                notes.append("over 100 KB")
            if page["kind"] == "page" and page["p95_ms"] >= P95_TARGET_MS:
                notes.append(f"p95 over {P95_TARGET_MS} ms")
            print(f"{row['engine']:11} {page['page'][:28]:28} {page['requests']:>4} {page['p50_ms']:>7.1f} "
                  f"{page['p95_ms']:>7.1f} {page['p99_ms']:>7.1f} {page['requests_per_s'] or 0:>6.1f} "
                  f"{page['max_bytes'] / 1024:>6.0f} {page['proposals_listed']:>6} {statuses:>7}  {'; '.join(notes)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--proposals", type=int, default=5_000)
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--residents", type=int, default=3_000, help="authors, commenters and supporters")
    parser.add_argument("--photo-share", type=float, default=0.8, help="the share of proposals with a photo")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per page")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured requests per page first")
    parser.add_argument("--max-seconds", type=float, default=60.0,
                        help="stop measuring a page after this much of its own time, even with fewer requests")
    parser.add_argument("--signed-in", action="store_true",
                        help="read the pages signed in as a resident (default: an anonymous visitor)")
    parser.add_argument("--readers", type=int, default=1,
                        help="then, with more than 1, this many readers at once on a mix of the pages (throughput)")
    parser.add_argument("--together-seconds", type=float, default=30.0, help="how long the readers read at once")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: pb/gunicorn_conf.py's)")
    parser.add_argument("--postgres-url", default=os.environ.get("PB_BENCH_POSTGRES_URL")
                        or os.environ.get("PB_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL,
                        help="where to create (and drop) the bench's own database")
    parser.add_argument("--results", type=pathlib.Path, help="also write the JSON figures to this file")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if a page's p95 is {P95_TARGET_MS} ms or more")
    args = parser.parse_args()

    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    rows = [run_engine(engine, args) for engine in engines]
    print_table(rows)
    reader = "signed in as a resident" if args.signed_in else "anonymous"
    print(f"\n{args.proposals} proposals ({rows[0]['data']['photos']} with a photo), {rows[0]['data']['comments']} "
          f"comments; one request at a time, {args.requests} per page after {args.warmup} unmeasured (at most "
          f"{args.max_seconds:.0f} s of a page's own time), {reader}; gunicorn "
          f"workers={args.workers or 'config'}; target: p95 < {P95_TARGET_MS} ms, pages under 100 KB")
    for row in rows:
        print(f"{row['engine']}: filled in {row['fill_s']:.0f} s; tracebacks in the server log: "
              f"{row['tracebacks_in_log']}")
        if row["together"]:
            together = row["together"]
            print(f"{row['engine']}: {together['readers']} readers at once on a mix of the pages: "
                  f"{together['requests_per_s']} requests/s, p50 {together['p50_ms']} ms, p95 {together['p95_ms']} ms, "
                  f"{together['failures']} not 200")
    figures = summary_line(
        engine=args.engine, proposals=args.proposals, comments=args.comments, is_signed_in=args.signed_in,
        p95_ms=max(page["p95_ms"] for row in rows for page in row["pages"] if page["kind"] == "page"),
        meets_target=all(row["meets_target"] for row in rows), engines={row["engine"]: row for row in rows})
    if args.results:
        args.results.write_text(figures + "\n")
    print(figures)
    return 1 if args.check and not all(row["meets_target"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

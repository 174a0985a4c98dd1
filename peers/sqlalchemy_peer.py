"""SQLAlchemy 2's async ORM (asyncpg) on the peers benchmark's tables.

`plinth-peers --python PATH` runs this once per workload, right after that workload's
Rust rounds, on the tables the Rust side made and filled (`peers_rows`, 10,000 rows;
`peers_writes`, emptied before every batch). It prints one line, tab-separated:
`sqlalchemy`, the workload, then the median, 25th and 75th percentile in µs per
operation.

    python sqlalchemy_peer.py --url postgres://postgres@127.0.0.1:5432/test \\
        --workload get --rounds 25 --ops 200 --rows 10000

Needs `sqlalchemy[asyncio]>=2,<3` and `asyncpg` (`cargo xtask bench --peers` installs
them into a venv under target/).
"""

import argparse
import asyncio
import datetime
import sys
import time
from typing import Optional
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import BigInteger, DateTime, Identity, select, func, text
from sqlalchemy.ext.asyncio import AsyncAttrs, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(AsyncAttrs, DeclarativeBase):
    """The declarative base of both tables."""


class Columns:
    """The columns of Plinth's `PeerRow` / the benchmark's `BenchRow`, as Plinth makes them."""

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    name: Mapped[str]
    score: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[Optional[str]]
    active: Mapped[bool]

    # The server's timestamps come back with the insert (`RETURNING`), as Plinth's do.
    __mapper_args__ = {"eager_defaults": True}


class Row(Columns, Base):
    """A row of the read table."""

    __tablename__ = "peers_rows"


class Written(Columns, Base):
    """A row of the written table."""

    __tablename__ = "peers_writes"


def row(i: int) -> Written:
    """Row `i`, as the Rust sides write it."""
    return Written(
        name=f"row {i:06}",
        score=i % 1000,
        note=f"note {i}" if i % 3 == 0 else None,
        active=i % 2 == 0,
    )


def picks(seed: int, count: int, n: int) -> list[int]:
    """`count` ids over 1..=n, the Rust side's sequence (`picks` in src/main.rs)."""
    mask = (1 << 64) - 1
    state = (seed + 0x9E3779B97F4A7C15) & mask
    ids = []
    for _ in range(count):
        state = (state * 6364136223846793005 + 1442695040888963407) & mask
        ids.append((state >> 11) % n + 1)
    return ids


def asyncpg_url(url: str) -> str:
    """The libpq-style URL as SQLAlchemy's asyncpg dialect takes it (query dropped: TLS off)."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, "", ""))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--workload", required=True, choices=["get", "all", "insert", "add_all"])
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--ops", type=int, required=True)
    parser.add_argument("--rows", type=int, required=True)
    args = parser.parse_args()

    # A pool of four without a ping on checkout (SQLAlchemy's default), as every Rust side;
    # loopback in the clear, as they are.
    engine = create_async_engine(asyncpg_url(args.url), pool_size=4, connect_args={"ssl": False})
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def clear() -> None:
        async with engine.begin() as conn:
            await conn.execute(text('TRUNCATE "peers_writes"'))

    async def batch(round_: int) -> None:
        if args.workload == "get":
            for id_ in picks(round_, args.ops, args.rows):
                async with sessions() as session:
                    if await session.get(Row, id_) is None:
                        raise SystemExit(f"SQLAlchemy: no row {id_}")
        elif args.workload == "all":
            async with sessions() as session:
                rows = (await session.scalars(select(Row).order_by(Row.id))).all()
            if len(rows) != args.rows:
                raise SystemExit(f"SQLAlchemy: {len(rows)} rows, not {args.rows}")
        elif args.workload == "insert":
            for i in range(args.ops):
                async with sessions() as session, session.begin():
                    written = row(i)
                    session.add(written)
                    await session.flush()
                if written.id < 1:
                    raise SystemExit(f"SQLAlchemy: inserted id {written.id}")
        else:
            written = [row(i) for i in range(args.rows)]
            async with sessions() as session, session.begin():
                session.add_all(written)
                await session.flush()
            if not all(w.created_at is not None for w in written):
                raise SystemExit("SQLAlchemy: add_all did not return the rows' timestamps")

    writes = args.workload in ("insert", "add_all")
    samples = []
    for round_ in range(args.rounds + 1):
        if writes:
            await clear()
        started = time.perf_counter()
        await batch(round_)
        elapsed = time.perf_counter() - started
        if round_ > 0:  # Round 0 warms up: statements prepared, caches filled.
            samples.append(elapsed * 1e6 / args.ops)
    await engine.dispose()

    samples.sort()

    def at(q: float) -> float:
        return samples[int((len(samples) - 1) * q + 0.5)]  # Rust's `round`: halves up

    print(f"sqlalchemy\t{args.workload}\t{at(0.5):.3f}\t{at(0.25):.3f}\t{at(0.75):.3f}")
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())

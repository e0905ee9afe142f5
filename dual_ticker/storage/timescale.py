"""TimescaleDB where the extension is present: the raw_bars retention policy as configured, DML
into compressed chunks on purpose, and what health and metrics report (chunks, compression, jobs).
On plain PostgreSQL every function here does nothing or reports nothing."""

from __future__ import annotations

from dataclasses import dataclass

LANDING = "raw_bars"  # the one table a retention policy may apply to
HYPERTABLES = (LANDING, "dual_ticker_bars")


def enabled(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
        return cursor.fetchone() is not None


def allow_decompression(connection) -> None:
    """Lets the caller's transaction rewrite compressed rows however many (a re-backfill or a
    late revision of settled history): TimescaleDB otherwise stops DML past 100,000 decompressed
    tuples. The chunks are compressed again by the compression policy."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT set_config('timescaledb.max_tuples_decompressed_per_dml_transaction', '0',
                                 true)
               WHERE EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')"""
        )


def apply_retention(connection, days: int | None) -> str | None:
    """Makes raw_bars' retention policy what the config says: none, or chunks created more than
    `days` days ago dropped (drop_created_before: by when they were written, never by the market
    date in them). Returns the interval in force, or None."""
    if not enabled(connection):
        return None
    wanted = f"{days} days" if days else None
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT config->>'drop_created_before', config->>'drop_after'
               FROM timescaledb_information.jobs
               WHERE proc_name = 'policy_retention' AND hypertable_name = %s""",
            (LANDING,),
        )
        row = cursor.fetchone()
        if row is not None and row[1] is None and _same_interval(cursor, row[0], wanted):
            return wanted
        if row is not None:
            cursor.execute(
                "SELECT remove_retention_policy(%s::regclass, if_exists => TRUE)", (LANDING,)
            )
        if wanted:
            cursor.execute(
                "SELECT add_retention_policy(%s::regclass, drop_created_before => %s::interval)",
                (LANDING, wanted),
            )
    return wanted


def _same_interval(cursor, stored: str | None, wanted: str | None) -> bool:
    if stored is None or wanted is None:
        return stored == wanted
    cursor.execute("SELECT %s::interval = %s::interval", (stored, wanted))
    return cursor.fetchone()[0]


@dataclass(frozen=True)
class HypertableState:
    name: str
    chunks: int
    compressed_chunks: int
    bytes_before: int  # of the compressed chunks, before compression
    bytes_after: int

    @property
    def compression_ratio(self) -> float | None:
        return self.bytes_before / self.bytes_after if self.bytes_after else None


@dataclass(frozen=True)
class JobState:
    job_id: int
    proc_name: str
    hypertable: str | None
    last_run_status: str | None
    total_failures: int


def hypertables(connection) -> list[HypertableState]:
    """Chunk counts and compression of the project's hypertables ([] on plain PostgreSQL)."""
    if not enabled(connection):
        return []
    states = []
    with connection.cursor() as cursor:
        for name in HYPERTABLES:
            cursor.execute(
                """SELECT count(*), count(*) FILTER (WHERE is_compressed)
                   FROM timescaledb_information.chunks WHERE hypertable_name = %s""",
                (name,),
            )
            chunks, compressed = cursor.fetchone()
            cursor.execute(
                """SELECT coalesce(sum(before_compression_total_bytes), 0),
                          coalesce(sum(after_compression_total_bytes), 0)
                   FROM hypertable_compression_stats(%s::regclass)""",
                (name,),
            )
            before, after = cursor.fetchone()
            states.append(HypertableState(name, chunks, compressed, int(before), int(after)))
    return states


def jobs(connection) -> list[JobState]:
    """TimescaleDB's background jobs of this database with their last outcome ([] on plain)."""
    if not enabled(connection):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT j.job_id, j.proc_name, j.hypertable_name, s.last_run_status,
                      coalesce(s.total_failures, 0)
               FROM timescaledb_information.jobs j
               LEFT JOIN timescaledb_information.job_stats s USING (job_id)
               WHERE j.job_id >= 1000
               ORDER BY j.job_id"""
        )
        return [JobState(*row) for row in cursor.fetchall()]

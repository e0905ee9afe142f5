"""Per-session DataFrames of intermediate assets, stored in PostgreSQL (see sql/0004)."""

from __future__ import annotations

import pickle

import pandas as pd
import psycopg2


def save_frames(
    connection, asset_key: str, frames: dict[str, pd.DataFrame], run_id: str | None
) -> None:
    """Stores one frame per session key, replacing what the sessions held."""
    with connection.cursor() as cursor:
        for session, frame in frames.items():
            cursor.execute(
                """INSERT INTO asset_frames (asset_key, session, payload, run_id) VALUES (%s, %s, %s, %s)
                   ON CONFLICT (asset_key, session) DO UPDATE
                   SET payload = EXCLUDED.payload, run_id = EXCLUDED.run_id, written_at = now()""",
                (asset_key, session, psycopg2.Binary(pickle.dumps(frame, protocol=5)), run_id),
            )


def load_frames(connection, asset_key: str, sessions: list[str]) -> dict[str, pd.DataFrame]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT session::text, payload FROM asset_frames WHERE asset_key = %s AND session = ANY(%s::date[])",
            (asset_key, sessions),
        )
        return {session: pickle.loads(bytes(payload)) for session, payload in cursor.fetchall()}

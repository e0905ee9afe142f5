"""IO manager for per-session DataFrames, stored in PostgreSQL so a single-run backfill over many
sessions works and any step can re-run alone, on any host."""

import dagster as dg
import pandas as pd

from dual_ticker.orchestration.resources import DatabaseResource
from dual_ticker.storage.frames import load_frames, save_frames


class SessionFrameIOManager(dg.ConfigurableIOManager):
    """Splits an output by its `session` column, one stored frame per partition key."""

    database: dg.ResourceDependency[DatabaseResource]

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        asset = context.asset_key.to_user_string()
        by_session = dict(tuple(obj.groupby("session", sort=False))) if len(obj) else {}
        frames = {
            key: by_session[key].reset_index(drop=True) if key in by_session else obj.iloc[0:0]
            for key in context.asset_partition_keys
        }
        with self.database.transaction() as connection:
            save_frames(connection, asset, frames, context.run_id)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        asset = context.asset_key.to_user_string()
        keys = sorted(context.asset_partition_keys)
        with self.database.transaction() as connection:
            stored = load_frames(connection, asset, keys)
        missing = [key for key in keys if key not in stored]
        if missing:
            raise dg.Failure(
                f"{asset} has no stored output for session(s) {', '.join(missing[:5])}; "
                f"materialize {asset} for them first"
            )
        return pd.concat([stored[key] for key in keys], ignore_index=True)

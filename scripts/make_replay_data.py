"""Builds data/replay: the real MSFT month (bar-end labels converted to bar starts) and a
synthetic NVDA series for the same minutes, from a fixed seed, so the output is reproducible.

    .venv/bin/python scripts/make_replay_data.py [--fixture PATH] [--seed 20201123]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT.parent / "shared/fixtures/alpha_vantage/msft_1min_extended_2020-11-23_2020-12-18.csv"
OUT = ROOT / "data" / "replay"
FORMAT = "%Y-%m-%d %H:%M:%S"


def msft_bar_starts(fixture: Path) -> pd.DataFrame:
    """The extended CSV labels a bar by its END (09:31 holds the opening minute): shift by 1 min."""
    frame = pd.read_csv(fixture)
    start = pd.to_datetime(frame.pop("time"), format=FORMAT) - pd.Timedelta(minutes=1)
    frame.insert(0, "timestamp", start)
    return frame.sort_values("timestamp").reset_index(drop=True)


def synthetic_nvda(msft: pd.DataFrame, seed: int) -> pd.DataFrame:
    """NVDA-like bars on MSFT's minutes: returns = 1.4 x MSFT's + own noise, U-shaped volume."""
    rng = np.random.default_rng(seed)
    msft_return = np.log(msft["close"]).diff().fillna(0.0).to_numpy()
    own = rng.normal(0.0, 0.0009, len(msft))
    log_close = np.log(134.0) + np.cumsum(1.4 * msft_return + own)
    close = np.exp(log_close)
    previous = np.concatenate([[close[0]], close[:-1]])
    open_ = previous * np.exp(rng.normal(0.0, 0.0002, len(msft)))
    wick = np.abs(rng.normal(0.0, 0.0008, (2, len(msft))))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    minute_of_day = msft["timestamp"].dt.hour * 60 + msft["timestamp"].dt.minute
    regular = (minute_of_day >= 570) & (minute_of_day < 960)
    u_shape = 1.0 + 3.0 * (((minute_of_day - 765) / 195.0) ** 2)
    base = np.where(regular, 9_000 * u_shape, 600)
    volume = rng.poisson(base).clip(min=1)
    return pd.DataFrame(
        {
            "timestamp": msft["timestamp"],
            "open": open_.round(4),
            "high": high.round(4),
            "low": low.round(4),
            "close": close.round(4),
            "volume": volume,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixture", type=Path, default=FIXTURE)
    parser.add_argument("--seed", type=int, default=20201123)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    msft = msft_bar_starts(args.fixture)
    nvda = synthetic_nvda(msft, args.seed)
    for symbol, frame in (("MSFT", msft), ("NVDA", nvda)):
        frame.assign(timestamp=frame["timestamp"].dt.strftime(FORMAT)).to_csv(
            args.out / f"{symbol}.csv", index=False
        )
        print(f"wrote {args.out / f'{symbol}.csv'}: {len(frame)} bars")


if __name__ == "__main__":
    main()

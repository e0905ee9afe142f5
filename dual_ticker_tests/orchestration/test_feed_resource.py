"""The feed resource builds clients on first use: a minute run whose primary answers never pays
for the fallback (yfinance's import)."""

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent("""
    import sys
    from dual_ticker.clock import SYSTEM_CLOCK
    from dual_ticker.orchestration.resources import FeedResource
    from dual_ticker.settings import load_settings
    settings = load_settings({"DUAL_TICKER_ENV": "prod"})
    feeds = FeedResource(primary="alpha_vantage", fallback="yahoo_finance", replay_dir="data/replay",
                         alphavantage_api_key="unused")
    clients = feeds.clients(settings, SYSTEM_CLOCK)
    print([c.name for c in clients], "yfinance" in sys.modules)
    clients[1].can_serve  # still nothing built
    print("yfinance" in sys.modules)
""")


def test_the_fallback_is_not_built_until_asked():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["['alpha_vantage', 'yahoo_finance'] False", "False"]

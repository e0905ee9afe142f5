"""The alert sender against a loopback webhook: dedupe, retries, bounded attempts, no secrets."""

import logging

import psycopg2
import pytest

from dual_ticker.monitoring import deliver_pending, raise_alert
from dual_ticker.monitoring.alerts import MAX_TOTAL_ATTEMPTS, Delivery
from dual_ticker.storage.database import transaction
from dual_ticker_tests.support.prometheus import free_port
from dual_ticker_tests.support.webhook_receiver import WebhookReceiver

CANARY = "CANARY-SECRET"
QUICK = Delivery(attempts=3, backoff_seconds=0.01, timeout_seconds=2)


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


def alert_rows(url: str) -> list[tuple]:
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT dedupe_key, kind, severity, message, run_id, attempts, delivered_at, "
                "last_error "
                "FROM alerts ORDER BY id"
            )
            return cursor.fetchall()
    finally:
        connection.close()


def test_one_feed_switch_raised_twice_posts_exactly_once(database_url, hook):
    message = "Feed switched from alpha_vantage to yahoo_finance after 3 failed requests"
    with transaction(database_url) as connection:
        assert raise_alert(connection, "feed_switch", "feed_switch:1", "WARN", message) is True
    with transaction(database_url) as connection:
        assert raise_alert(connection, "feed_switch", "feed_switch:1", "WARN", message) is False

    assert deliver_pending(database_url, hook.url_for("/hooks/T1"), QUICK) == 1
    assert deliver_pending(database_url, hook.url_for("/hooks/T1"), QUICK) == 0

    assert hook.delivered == [{"text": f"[WARN] feed_switch: {message}"}]
    [row] = alert_rows(database_url)
    assert row[5] == 1 and row[6] is not None and row[7] is None


def test_retries_on_500_deliver_once_and_record_the_attempts(database_url, hook):
    hook.fail_next(2)
    with transaction(database_url) as connection:
        raise_alert(connection, "failed_run", "run:abc", "ERROR", "Run abc failed", run_id="abc")

    assert deliver_pending(database_url, hook.url_for("/hooks/T2"), QUICK) == 1

    assert [post.status for post in hook.posts] == [500, 500, 200]
    assert len(hook.delivered) == 1
    [row] = alert_rows(database_url)
    assert row[5] == 3 and row[6] is not None and row[7] == "webhook answered HTTP 500"
    assert deliver_pending(database_url, hook.url_for("/hooks/T2"), QUICK) == 0
    assert len(hook.posts) == 3


def test_an_unreachable_webhook_is_retried_later_within_a_bound(database_url, hook):
    dead = f"http://127.0.0.1:{free_port()}/hooks/T3"
    with transaction(database_url) as connection:
        raise_alert(connection, "blocked_run", "run:one", "ERROR", "first")
        raise_alert(connection, "blocked_run", "run:two", "ERROR", "second")

    assert deliver_pending(database_url, dead, QUICK) == 0
    rows = alert_rows(database_url)
    assert [r[5] for r in rows] == [3, 0]  # the rest wait: the webhook is down
    assert rows[0][7] == "webhook unreachable (ConnectionRefusedError)"

    assert deliver_pending(database_url, hook.url_for("/hooks/T3"), QUICK) == 2
    assert [body["text"] for body in hook.delivered] == [
        "[ERROR] blocked_run: first",
        "[ERROR] blocked_run: second",
    ]

    with transaction(database_url) as connection:
        raise_alert(connection, "blocked_run", "run:three", "ERROR", "third")
    for _ in range(MAX_TOTAL_ATTEMPTS // QUICK.attempts + 1):
        deliver_pending(database_url, dead, QUICK)
    assert (
        MAX_TOTAL_ATTEMPTS <= alert_rows(database_url)[2][5] < MAX_TOTAL_ATTEMPTS + QUICK.attempts
    )
    assert (
        deliver_pending(database_url, hook.url_for("/hooks/T3"), QUICK) == 0
    )  # given up: log and table only


def test_no_secret_reaches_the_webhook_the_log_or_the_table(database_url, hook, caplog):
    caplog.set_level(logging.DEBUG)
    secret_url = hook.url_for(f"/hooks/T0/B0/{CANARY}")
    hook.fail_next(1)
    with transaction(database_url) as connection:
        raise_alert(
            connection,
            "failed_run",
            "run:leaky",
            "ERROR",
            f"every feed failed: GET https://www.alphavantage.co/query?function=X&apikey={CANARY} "
            f"and postgresql://trader:{CANARY}@db/dual_ticker",
        )

    assert deliver_pending(database_url, secret_url, QUICK) == 1

    assert hook.posts[-1].path == f"/hooks/T0/B0/{CANARY}"  # it went to the secret URL ...
    assert CANARY not in str(hook.delivered)  # ... but never says it
    assert "apikey=***" in hook.delivered[0]["text"]
    assert CANARY not in str(alert_rows(database_url))
    assert CANARY not in caplog.text

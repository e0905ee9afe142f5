"""Alerts: stored once per dedupe key in `alerts`, logged, and posted to a Slack-compatible webhook
with a timeout and bounded retries. Neither the webhook URL nor any other secret reaches the text,
the log or the table."""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta

from dual_ticker.storage import alert_log
from dual_ticker.storage.database import DatabaseUnavailable, connect, redact

log = logging.getLogger("dual_ticker.alerts")

KINDS = ("blocked_run", "failed_run", "feed_switch", "check_warning", "timescaledb_job")
MAX_MESSAGE_CHARS = 1500
MAX_TOTAL_ATTEMPTS = 10  # across deliveries; then the alert stays in the table and the log only
MAX_AGE = timedelta(
    days=1
)  # older undelivered alerts are history (e.g. raised before a webhook was set)
_SECRET_PARAMETER = re.compile(
    r"(?i)\b(apikey|api_key|token|key|password|passwd|secret)=([^&\s\"']+)"
)


@dataclass(frozen=True)
class Delivery:
    """How hard one delivery tries: attempts per alert, the first backoff, the timeout per post."""

    attempts: int = 3
    backoff_seconds: float = 0.5
    timeout_seconds: float = 5.0


def scrub(text: str) -> str:
    """The text with URL passwords and secret-looking query parameters masked."""
    return _SECRET_PARAMETER.sub(r"\1=***", redact(text))


def raise_alert(
    connection, kind: str, dedupe_key: str, severity: str, message: str, run_id: str | None = None
) -> bool:
    """Stores the alert unless one with this key exists (caller's transaction); True when new."""
    if kind not in KINDS:
        raise ValueError(f"alert kind {kind!r} is not one of {', '.join(KINDS)}")
    text = scrub(message)[:MAX_MESSAGE_CHARS]
    created = alert_log.insert(connection, dedupe_key, kind, severity, text, run_id)
    if created:
        log.warning("alert %s [%s] %s: %s", kind, severity, dedupe_key, text)
    return created


def slack_payload(kind: str, severity: str, message: str) -> dict:
    return {"text": f"[{severity}] {kind}: {message}"}


def deliver_pending(
    connection_url: str, webhook_url: str | None, delivery: Delivery = Delivery()
) -> int:
    """Posts every undelivered alert (oldest first) to the webhook; returns how many went out.

    Rows are locked while posted (SKIP LOCKED), so two processes delivering at once never send the
    same alert twice. When the webhook stays unreachable the rest wait for the next call.
    """
    if not webhook_url:
        return 0
    delivered = 0
    try:
        connection = connect(connection_url)
    except DatabaseUnavailable as error:
        log.error("alerts not delivered: %s", error)
        return 0
    try:
        while True:
            with connection:
                row = alert_log.claim_next_undelivered(connection, MAX_TOTAL_ATTEMPTS, MAX_AGE)
                if row is None:
                    return delivered
                alert_id, kind, severity, message = row
                attempts, sent, error = _post_with_retries(
                    webhook_url, slack_payload(kind, severity, message), delivery
                )
                alert_log.record_delivery(connection, alert_id, attempts, sent, error)
            if not sent:
                log.error(
                    "alert %s not delivered after %d attempt(s): %s; retried on the next delivery",
                    alert_id,
                    attempts,
                    error,
                )
                return delivered
            delivered += 1
    finally:
        connection.close()


def _post_with_retries(
    webhook_url: str, payload: dict, delivery: Delivery
) -> tuple[int, bool, str | None]:
    """(attempts made, delivered, the last error seen), backing off between attempts."""
    last_error = None
    for attempt in range(1, delivery.attempts + 1):
        error = _post(webhook_url, payload, delivery.timeout_seconds)
        if error is None:
            return attempt, True, last_error
        last_error = error
        if attempt < delivery.attempts:
            time.sleep(delivery.backoff_seconds * 2 ** (attempt - 1))
    return delivery.attempts, False, last_error


def _post(webhook_url: str, payload: dict, timeout_seconds: float) -> str | None:
    """One POST; None on a 2xx answer, else an error text that never contains the URL."""
    try:
        request = urllib.request.Request(
            webhook_url,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "dual_ticker-alerts"},
        )
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
            response.read()
        return None
    except urllib.error.HTTPError as exc:
        return f"webhook answered HTTP {exc.code}"
    except urllib.error.URLError as exc:
        return f"webhook unreachable ({type(exc.reason).__name__})"
    except (TimeoutError, OSError) as exc:
        return f"webhook unreachable ({type(exc).__name__})"
    except ValueError:
        return "webhook URL is not a valid http(s) URL; fix DUAL_TICKER_ALERT_WEBHOOK"

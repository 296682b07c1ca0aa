"""Outbound run webhooks: queued by the run engine, delivered by a background task.

Each delivery POSTs the JSON event to the run's ``callback_url`` with ``X-Mosaic-Signature: <secret>``
(the plain secret, only when one is configured). Non-2xx answers and transport errors are logged and
retried ``webhook_retries`` times with doubling back-off; events to one URL go out in order.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2

logger = logging.getLogger(__name__)


@dataclass
class Delivery:
    """One event to send and how it went."""

    url: str
    payload: dict[str, Any]
    attempts: int = 0
    status_code: int | None = None
    delivered: bool = False
    next_try: float = 0.0  # real monotonic time


class Outbox:
    """Events waiting to be sent, plus the history of what was sent."""

    def __init__(self, secret: str | None, retries: int, backoff: float) -> None:
        self.secret = secret
        self.retries = retries
        self.backoff = backoff
        self.pending: deque[Delivery] = deque()
        self.history: list[Delivery] = []

    def emit(self, url: str, payload: dict[str, Any]) -> None:
        """Queue an event."""
        delivery = Delivery(url, payload)
        self.pending.append(delivery)
        self.history.append(delivery)

    @property
    def delivered(self) -> list[Delivery]:
        """Events that reached a 2xx answer."""
        return [d for d in self.history if d.delivered]

    async def deliver_due(self, client: httpx2.AsyncClient) -> None:
        """Send every due event once; failures are re-queued with back-off or given up."""
        waiting: deque[Delivery] = deque()
        blocked: set[str] = set()
        while self.pending:
            delivery = self.pending.popleft()
            # Keep per-URL order: nothing to a URL goes out while an earlier event to it waits.
            if delivery.url in blocked or delivery.next_try > time.monotonic():
                blocked.add(delivery.url)
                waiting.append(delivery)
                continue
            if not await self._send(client, delivery):
                if delivery.attempts <= self.retries:
                    delivery.next_try = time.monotonic() + self.backoff * 2 ** (delivery.attempts - 1)
                    blocked.add(delivery.url)
                    waiting.append(delivery)
                else:
                    logger.warning("giving up webhook %s to %s", delivery.payload.get("flag"), delivery.url)
        self.pending.extendleft(reversed(waiting))

    async def _send(self, client: httpx2.AsyncClient, delivery: Delivery) -> bool:
        delivery.attempts += 1
        headers = {"X-Mosaic-Signature": self.secret} if self.secret else {}
        try:
            response = await client.post(delivery.url, json=delivery.payload, headers=headers)
        except (httpx2.HTTPError, OSError) as exc:
            logger.warning("webhook %s to %s failed: %s", delivery.payload.get("flag"), delivery.url, exc)
            return False
        delivery.status_code = response.status_code
        if 200 <= response.status_code < 300:
            delivery.delivered = True
            return True
        logger.warning("webhook %s to %s answered %s", delivery.payload.get("flag"), delivery.url, response.status_code)
        return False


async def run_background(tick: Any, outbox: Outbox, interval: float) -> None:
    """Forever: advance the simulation (``tick()``) and send due webhooks; never raises."""
    client: httpx2.AsyncClient | None = None
    try:
        while True:
            try:
                tick()
                if outbox.pending:
                    # Created on first use: building the TLS context costs ~50 ms at startup.
                    client = client or httpx2.AsyncClient(timeout=10.0)
                    await outbox.deliver_due(client)
            except Exception:  # a bug here must not take the app down; log and carry on
                logger.exception("sandbox background step failed")
            await anyio.sleep(interval)
    finally:
        if client is not None:
            with anyio.CancelScope(shield=True):
                await client.aclose()

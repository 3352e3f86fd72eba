"""The token-bucket rate limiter, on an injected clock."""

from __future__ import annotations

import pytest

from shared.platform.ratelimit import RateLimiter


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_may_burst_to_its_limit_then_waits_for_the_refill() -> None:
    t = Ticks()
    limiter = RateLimiter(6, monotonic=t)  # 6 a minute: one token every 10 s
    assert [limiter.retry_after("a") for _ in range(6)] == [None] * 6
    assert limiter.retry_after("a") == 10
    t.now += 9.5
    assert limiter.retry_after("a") == 1  # half a second short: round up, never 0
    t.now += 0.5
    assert limiter.retry_after("a") is None
    assert limiter.retry_after("a") == 10


def test_refused_requests_do_not_take_tokens_and_keys_are_independent() -> None:
    t = Ticks()
    limiter = RateLimiter(1, monotonic=t)
    assert limiter.retry_after("a") is None
    for _ in range(5):
        assert limiter.retry_after("a") == 60
    assert limiter.retry_after("b") is None
    t.now += 60
    assert limiter.retry_after("a") is None


def test_the_bucket_never_holds_more_than_the_limit() -> None:
    t = Ticks()
    limiter = RateLimiter(2, monotonic=t)
    limiter.retry_after("a")
    t.now += 3600
    assert [limiter.retry_after("a") for _ in range(3)] == [None, None, 30]


def test_zero_turns_the_limit_off_and_negative_is_refused() -> None:
    limiter = RateLimiter(0)
    assert all(limiter.retry_after("a") is None for _ in range(1000))
    with pytest.raises(ValueError):
        RateLimiter(-1)


def test_memory_is_bounded_by_evicting_the_least_recently_used_key() -> None:
    t = Ticks()
    limiter = RateLimiter(1, monotonic=t, max_keys=2)
    limiter.retry_after("a")
    limiter.retry_after("b")
    assert limiter.retry_after("a") == 60  # touching "a" makes "b" the oldest
    limiter.retry_after("c")  # evicts "b"
    assert limiter.retry_after("b") is None
    assert limiter.retry_after("c") == 60

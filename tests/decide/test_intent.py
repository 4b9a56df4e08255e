"""The intent parser over many paraphrases: each says the same thing in other words."""

from __future__ import annotations

import pytest

from function.decide.intent import read_intent
from function.model import Strategy


def near(value: float | None, want: float, rel: float = 0.02) -> bool:
    return value is not None and abs(value - want) <= rel * want


@pytest.mark.parametrize(
    "prompt",
    [
        "about 50 requests per second on average",
        "~50 rps",
        "we see roughly 50 req/s",
        "50 requests a second",
        "3,000 requests per minute",
        "3k requests/min",
        "180,000 requests per hour",
        "180k calls an hour",
        "4.32 million requests per day",
        "typically 50 qps, nothing special",
    ],
)
def test_average_rates_in_any_unit(prompt: str) -> None:
    intent = read_intent(prompt)
    assert near(intent.avg_rps, 50.0), (prompt, intent)
    assert near(intent.peak_rps, 150.0), (prompt, intent)  # 3x diurnal peak by default


@pytest.mark.parametrize(
    "prompt",
    [
        "peaks of 400 requests per second",
        "up to 400 rps",
        "at peak 400 req/s",
        "bursts up to 24,000 requests per minute",
        "max 400 rps during sales",
    ],
)
def test_peaks_are_told_from_averages(prompt: str) -> None:
    intent = read_intent(prompt)
    assert near(intent.peak_rps, 400.0), (prompt, intent)
    assert intent.avg_rps is not None and intent.avg_rps < 400


def test_average_and_peak_together() -> None:
    intent = read_intent("average 20 rps, peaking at 200 rps on Monday mornings")
    assert near(intent.avg_rps, 20.0) and near(intent.peak_rps, 200.0)
    assert "20 rps" in intent.evidence["avgRps"] and "200 rps" in intent.evidence["peakRps"]


@pytest.mark.parametrize(
    ("prompt", "avg"),
    [
        ("10,000 daily active users", 10_000 * 40 / 86400),
        ("10k users per day", 10_000 * 40 / 86400),
        ("around 10000 visitors a day", 10_000 * 40 / 86400),
        ("10k DAU", 10_000 * 40 / 86400),
        ("300k monthly active users", 300_000 / 30 * 3 * 40 / 86400),
    ],
)
def test_users_per_day_become_requests(prompt: str, avg: float) -> None:
    intent = read_intent(prompt)
    assert near(intent.avg_rps, avg, 0.01), (prompt, intent)
    assert intent.users_per_day is not None


def test_office_hours_concentrate_traffic_and_set_the_duty_cycle() -> None:
    for prompt in (
        "2000 users a day, only during office hours",
        "2,000 daily users, business hours only",
        "2000 users per day from 9 to 5",
        "used 9am-5pm by 2000 users per day",
    ):
        intent = read_intent(prompt)
        assert intent.office_hours, prompt
        assert near(intent.avg_rps, 2000 * 40 / 36000, 0.01), (prompt, intent)
        assert intent.duty_cycle is not None and intent.duty_cycle < 0.35


@pytest.mark.parametrize(
    "prompt",
    [
        "a few calls an hour",
        "a handful of requests per hour",
        "rarely used internal tool",
        "sporadic traffic",
        "occasionally someone calls it",
        "3 requests per hour",
        "a couple of invocations per hour",
        "almost no traffic",
    ],
)
def test_a_few_calls_an_hour_is_a_low_duty_workload(prompt: str) -> None:
    intent = read_intent(prompt)
    assert intent.avg_rps is not None and intent.avg_rps < 0.02, (prompt, intent)
    assert intent.duty_cycle is not None and intent.duty_cycle < 0.02


@pytest.mark.parametrize(
    "prompt",
    [
        "spiky traffic around 5 rps",
        "bursty: 5 requests per second normally",
        "5 rps with sudden surges",
        "5 rps but flash sales bring big spikes",
    ],
)
def test_spiky_traffic_raises_the_peak(prompt: str) -> None:
    intent = read_intent(prompt)
    assert intent.spiky, prompt
    assert near(intent.avg_rps, 5.0) and near(intent.peak_rps, 40.0), (prompt, intent)


def test_not_spiky_is_not_spiky() -> None:
    assert not read_intent("steady 5 rps, no spikes").spiky


def test_concurrent_users_use_a_think_time() -> None:
    intent = read_intent("500 concurrent users")
    assert near(intent.peak_rps, 50.0)


@pytest.mark.parametrize(
    ("prompt", "ms"),
    [
        ("p95 under 300 ms", 300),
        ("p99 latency below 200ms", 200),
        ("latency must be under 0.5 s", 500),
        ("responses within 250 milliseconds", 250),
        ("response time less than 1 second", 1000),
        ("p95 < 120ms please", 120),
    ],
)
def test_latency_slo(prompt: str, ms: float) -> None:
    assert read_intent(prompt).latency_slo_ms == ms, prompt


@pytest.mark.parametrize(
    "prompt",
    [
        "a chat app over websockets",
        "uses WebSocket connections for live updates",
        "streams server-sent events to dashboards",
        "runs background jobs that take several minutes",
        "long-running tasks for video encoding",
        "socket.io based realtime game",
        "long polling clients",
    ],
)
def test_long_lived_connections(prompt: str) -> None:
    assert read_intent(prompt).long_lived, prompt


def test_short_requests_are_not_long_lived() -> None:
    assert not read_intent("short JSON requests, no websockets").long_lived
    assert not read_intent("a REST API with 20 rps").long_lived


@pytest.mark.parametrize(
    ("prompt", "n"),
    [
        ("three services deployed together", 3),
        ("5 microservices", 5),
        ("4 containers running together", 4),
        ("a microservices shop", 3),
        ("two services: web and api", 2),
    ],
)
def test_services_together(prompt: str, n: int) -> None:
    assert read_intent(prompt).services == n, prompt


@pytest.mark.parametrize(
    ("prompt", "level"),
    [
        ("keep it cheap", "high"),
        ("we are on a tight budget", "high"),
        ("low-cost prototype", "high"),
        ("cost is no concern, performance matters most", "low"),
        ("money is no object", "low"),
        ("a customer facing API", "normal"),
    ],
)
def test_cost_sensitivity(prompt: str, level: str) -> None:
    assert read_intent(prompt).cost_sensitivity == level, prompt


def test_hints_budget_and_availability() -> None:
    intent = read_intent("production API on EKS, highly available, under $300/month")
    assert intent.hinted is Strategy.KUBERNETES
    assert intent.high_availability
    assert intent.budget_hint == 300.0
    assert read_intent("no kubernetes please").hinted is None


def test_nothing_stated_gives_no_figures() -> None:
    intent = read_intent("deploy my app")
    assert intent.avg_rps is None and intent.peak_rps is None and not intent.has_traffic
    assert intent.summary() == "no traffic stated"
    assert read_intent(None) == read_intent("")


def test_summary_and_evidence_name_the_words() -> None:
    intent = read_intent("about 12 rps, p95 under 300 ms, websockets, keep it cheap")
    assert intent.summary() == (
        "avg 12 rps, peak 36 rps, latency <= 300 ms, long-lived connections, cost sensitivity high"
    )
    assert intent.evidence["latencySloMs"] == "p95 under 300 ms"


def test_hostile_input_is_bounded() -> None:
    read_intent("1" * 10_000 + " rps " * 2000)
    read_intent("requests per second " * 500)


# Paraphrases a fresh reader tried that the parser misread (issue 17, item 1).
def test_a_qualifier_after_the_figure_is_the_nearest_one() -> None:
    intent = read_intent("~90k requests an hour at peak, average maybe a third of that")
    assert near(intent.peak_rps, 25.0) and intent.avg_rps is not None, intent
    assert intent.avg_rps < intent.peak_rps


def test_office_hours_concentrate_a_days_requests_too() -> None:
    a = read_intent("480k requests per day, office hours only")
    assert a.office_hours and near(a.avg_rps, 480_000 / 36_000), a
    assert near(read_intent("480k requests per day").avg_rps, 480_000 / 86_400)
    b = read_intent("used 9-to-5 weekdays by 2000 users per day")
    assert b.office_hours and near(b.avg_rps, 2000 * 40 / 36000, 0.01), b


@pytest.mark.parametrize(
    "prompt", ["hit maybe twice an hour by cron", "called once a day by a cron job"]
)
def test_calls_counted_in_words_are_a_low_duty_workload(prompt: str) -> None:
    intent = read_intent(prompt)
    assert intent.avg_rps is not None and intent.avg_rps < 0.02, (prompt, intent)


@pytest.mark.parametrize(
    ("prompt", "level"),
    [
        ("money is not an issue", "low"),
        ("budget is not a concern", "low"),
        ("cost does not matter, speed does", "low"),
        ("we're a startup so cost matters a lot", "high"),
        ("keep costs down", "high"),
    ],
)
def test_cost_sensitivity_in_other_words(prompt: str, level: str) -> None:
    assert read_intent(prompt).cost_sensitivity == level, prompt

"""The team's intent, read deterministically from the words of `spec.prompt`.

`read_intent(prompt)` -> `Intent`: traffic (average and peak requests per second, from rates
per second / minute / hour / day, users per day, concurrent users, "office hours", "spiky",
"a few calls an hour"), the latency SLO, long-lived connections, how many services deploy
together, cost sensitivity, availability, a strategy hint and a budget in the words. Every
figure carries the phrase it came from (`evidence`), so status can say why.

Conversions (documented priors, overridable nowhere on purpose: they are the engine's
defaults and the capacity model states them in its explanation):
- users per day -> requests: `REQUESTS_PER_USER_DAY` = 40 requests per daily user (a page
  view with its API calls is 5-10 requests; 4-8 views per visit), spread over the active
  hours of the day (24 h, or 10 h when office hours are stated);
- concurrent users -> rps: one request every `THINK_TIME_S` = 10 s per active user (the
  classic closed-workload think time of load-testing practice);
- peak when not stated: `PEAK_FACTOR` = 3x the average (diurnal traffic), `SPIKY_FACTOR`
  = 8x when the words say spiky/bursty/flash sales;
- office hours: 10 h x 5 days = 50 of 168 hours busy (duty cycle 0.30).
Nothing here is executed or looked up; the parser is bounded (a prompt is at most a few
thousand characters and every pattern is linear).
"""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from function.model import Strategy

REQUESTS_PER_USER_DAY = 40.0
THINK_TIME_S = 10.0
PEAK_FACTOR = 3.0
SPIKY_FACTOR = 8.0
OFFICE_DUTY = 50.0 / 168.0
OFFICE_HOURS_PER_DAY = 10.0

CostSensitivity = Literal["high", "normal", "low"]


class Intent(BaseModel):
    """What the team said, in figures; None where the words say nothing."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )

    avg_rps: float | None = Field(default=None, ge=0, description="average requests per second")
    peak_rps: float | None = Field(default=None, ge=0, description="peak requests per second")
    users_per_day: float | None = Field(default=None, ge=0)
    spiky: bool = False
    office_hours: bool = False
    duty_cycle: float | None = Field(
        default=None, ge=0, le=1, description="share of the week with traffic"
    )
    latency_slo_ms: float | None = Field(default=None, gt=0, description="target response time")
    long_lived: bool = Field(default=False, description="websockets, streams, long jobs")
    services: int | None = Field(default=None, ge=1, le=100, description="deployed together")
    cost_sensitivity: CostSensitivity = "normal"
    high_availability: bool = False
    hinted: Strategy | None = None
    budget_hint: float | None = Field(default=None, ge=0)
    evidence: dict[str, str] = Field(default_factory=dict, description="figure -> phrase")

    @property
    def has_traffic(self) -> bool:
        return self.avg_rps is not None or self.peak_rps is not None

    def summary(self) -> str:
        """A short line for status and the memory record: 'avg 12 rps, peak 36 rps, p95 300 ms'."""
        parts: list[str] = []
        if self.avg_rps is not None:
            parts.append(f"avg {_fmt(self.avg_rps)} rps")
        if self.peak_rps is not None:
            parts.append(f"peak {_fmt(self.peak_rps)} rps")
        if self.users_per_day is not None:
            parts.append(f"{_fmt(self.users_per_day)} users/day")
        if self.office_hours:
            parts.append("office hours")
        if self.spiky:
            parts.append("spiky")
        if self.latency_slo_ms is not None:
            parts.append(f"latency <= {_fmt(self.latency_slo_ms)} ms")
        if self.long_lived:
            parts.append("long-lived connections")
        if self.services is not None and self.services > 1:
            parts.append(f"{self.services} services together")
        if self.cost_sensitivity != "normal":
            parts.append(f"cost sensitivity {self.cost_sensitivity}")
        if self.high_availability:
            parts.append("highly available")
        return ", ".join(parts) or "no traffic stated"


def _fmt(x: float) -> str:
    if x >= 100:
        return f"{x:.0f}"
    if x >= 1:
        return f"{x:.3g}"
    return f"{x:.2g}"


# ---- numbers -------------------------------------------------------------------------------

_WORDS = {
    "a": 1.0,
    "an": 1.0,
    "one": 1.0,
    "single": 1.0,
    "two": 2.0,
    "a couple of": 2.0,
    "a couple": 2.0,
    "couple of": 2.0,
    "three": 3.0,
    "a few": 3.0,
    "few": 3.0,
    "four": 4.0,
    "five": 5.0,
    "a handful of": 5.0,
    "a handful": 5.0,
    "six": 6.0,
    "seven": 7.0,
    "eight": 8.0,
    "nine": 9.0,
    "ten": 10.0,
    "a dozen": 12.0,
    "dozens of": 36.0,
    "dozens": 36.0,
    "twenty": 20.0,
    "fifty": 50.0,
    "a hundred": 100.0,
    "hundreds of": 300.0,
    "hundreds": 300.0,
    "a thousand": 1000.0,
    "thousands of": 3000.0,
    "thousands": 3000.0,
    "a million": 1e6,
    "millions of": 3e6,
    "millions": 3e6,
}
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "million": 1e6, "b": 1e9}
_WORD_ALT = "|".join(sorted((re.escape(w) for w in _WORDS), key=len, reverse=True))
# A number: 1,200 / 1.5k / 2 million / ~300 / "a few" / "hundreds of".
NUM = (
    r"(?<![\w.,~])(?P<num>(?:~|about |around |roughly |approximately |up to |over |under |at most |"
    r"at least |some |maybe )?"
    r"(?:(?P<digits>\d{1,3}(?:,\d{3}){1,4}(?!\d)|\d{1,12}(?:\.\d{1,6})?(?![\d,]))"
    r"\s*(?P<scale>k|m|mm|b|thousand|million)?\b"
    rf"|(?P<word>{_WORD_ALT})\b))"
)


def _number(m: re.Match[str]) -> float:
    if m.group("digits"):
        value = float(m.group("digits").replace(",", ""))
        scale = (m.group("scale") or "").lower()
        return value * _SCALE.get(scale, 1.0)
    return _WORDS[m.group("word").lower()]


# ---- patterns ------------------------------------------------------------------------------

_REQ = r"(?:requests?|reqs?|calls?|hits?|queries|api calls?|page ?views?|invocations?|events?)"
_PER = {
    "s": r"(?:/\s?s(?:ec(?:ond)?)?\b|per sec(?:ond)?|a sec(?:ond)?|each second|every second)",
    "m": r"(?:/\s?min(?:ute)?\b|per min(?:ute)?|a minute|each minute|every minute)",
    "h": r"(?:/\s?h(?:ou)?r\b|per hour|an hour|a hour|each hour|every hour|hourly)",
    "d": r"(?:/\s?day\b|per day|a day|each day|every day|daily)",
    "mo": r"(?:/\s?mo(?:nth)?\b|per month|a month|each month|monthly)",
}
_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "mo": 30 * 86400.0}
_RATE = [
    (unit, re.compile(rf"{NUM}\s*(?:[a-z-]+\s){{0,2}}?{_REQ}\s*{per}", re.I))
    for unit, per in _PER.items()
]
_RPS_SHORT = re.compile(rf"{NUM}\s*(?:rps|qps|req/s|requests/s|tps|r/s)\b", re.I)
_RPM_SHORT = re.compile(rf"{NUM}\s*(?:rpm|req/min|requests/min)\b", re.I)
_PEAK_CTX = re.compile(
    r"(peak\w*|at most|up to|max(?:imum)?|bursts? of|spikes? of|top|rush|black friday|"
    r"during sales?|launch)",
    re.I,
)
_AVG_CTX = re.compile(r"(average|avg|typical\w*|usually|normally|steady|baseline|on average)", re.I)
_USERS_DAY = re.compile(
    rf"{NUM}\s*(?:daily (?:active )?users|(?:active )?users?\s*(?:per|a|each|/)\s*day|dau\b|"
    r"visitors?\s*(?:per|a|/)\s*day|daily visitors)",
    re.I,
)
_USERS_MONTH = re.compile(
    rf"{NUM}\s*(?:monthly (?:active )?users|(?:active )?users?\s*(?:per|a|/)\s*month|mau\b)", re.I
)
_USERS_CONCURRENT = re.compile(
    rf"{NUM}\s*(?:concurrent|simultaneous|parallel|online at once)\s*(?:users?|clients?|sessions?)",
    re.I,
)
_USERS_PLAIN = re.compile(
    rf"(?:for|serves?|serving|used by|with)\s+{NUM}\s*(?:\w+\s)?users?\b", re.I
)
_OFFICE = re.compile(
    r"(office hours|business hours|working hours|work hours|"
    r"9\s*(?:am)?\s*(?:-?\s*to\s*-?|-)\s*5\s*(?:pm)?|"
    r"nine to five|during the (?:work(?:ing)?|business) ?day|weekdays only|only on weekdays)",
    re.I,
)
_SPIKY = re.compile(
    r"\b(spiky|spikes?|spiking|bursty|bursts?|flash sales?|black friday|sudden (?:peaks?|surges?)|"
    r"surges?|unpredictable traffic|viral|launch (?:day|week)|traffic peaks?)\b",
    re.I,
)
_FEW = re.compile(
    r"\b(rarely used|hardly used|barely used|almost no traffic|very (?:low|little) traffic|"
    r"little traffic|low traffic|light traffic|occasional(?:ly)?|sporadic(?:ally)?|"
    r"infrequent(?:ly)?|now and then|once in a while|internal tool|few users|handful of users|"
    r"idle most of the time|(?:once|twice|a (?:few|couple of) times) (?:an|a|per|every) "
    r"(?:hour|day)|by (?:a )?cron(?: job)?)\b",
    re.I,
)
_HIGH = re.compile(
    r"\b(high[- ]traffic|heavy (?:load|traffic)|busy|many users|lots of users|large audience|"
    r"millions of users|at scale|massive traffic)\b",
    re.I,
)
_LATENCY = re.compile(
    r"(?:(?P<pct>p\d{2}(?:\.\d)?)\s*(?:latency|response(?: time)?)?\s*"
    r"|(?:latency|response times?|responses?|respond(?:s)?|answers?|reply|replies)\s*"
    r"(?:\w+\s){0,3}?)"
    r"(?:of\s|is\s|at\s|must be\s|should be\s|stays?\s|kept\s)?"
    r"(?:under|below|within|less than|<=?|at most|no more than|max(?:imum)?|in|of|<)?\s*"
    r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ms|milliseconds?|s|secs?|seconds?)\b",
    re.I,
)
_LONG_LIVED = re.compile(
    r"\b(web ?sockets?|socket\.io|server[- ]sent events|sse|long[- ]polling|streaming|streams? "
    r"(?:data|video|audio|responses)|persistent connections?|long[- ]lived connections?|"
    r"long[- ]running (?:jobs?|tasks?|requests?|connections?)|background (?:jobs?|workers?|tasks?)|"
    r"job queue|workers? that run for|jobs? (?:that )?take (?:several |many )?minutes|"
    r"grpc streams?|chat|real[- ]?time updates?|push updates|mqtt)\b",
    re.I,
)
_SERVICES = re.compile(
    rf"{NUM}\s*(?:(?:micro)?services?\b|(?:apps?|components?|containers?)\s*"
    r"(?:deployed |running |that run |that deploy |shipped )?together)",
    re.I,
)
_MICRO = re.compile(r"\bmicroservices?\b", re.I)
_CHEAP = re.compile(
    r"\b(cheap\w*|low[- ]cost|lowest cost|minimal cost|cost[- ]effective|cost[- ]sensitive|"
    r"tight budget|on a budget|budget[- ]conscious|save money|as little as possible|"
    r"hobby|prototype|side project|dev(?:elopment)? environment|staging|demo|poc|"
    r"proof of concept|frugal|shoestring|costs? matters?(?: a lot| most)?|"
    r"keep (?:the )?costs? (?:down|low)|costs? (?:is|are) (?:important|critical|a concern))\b",
    re.I,
)
_LAVISH = re.compile(
    r"\b((?:cost|costs|money|budget|price) (?:is |are )?(?:no|not an?|not) "
    r"(?:concern|issue|object|problem|constraint)|money is no object|"
    r"(?:cost|costs|money|budget|price) (?:does not|doesn't|do not|don't) matter|"
    r"performance matters most|whatever it costs|regardless of cost|no budget constraints?)\b",
    re.I,
)
_HA = re.compile(
    r"\b(highly[- ]available|high[- ]availability|ha|production|prod|redundan\w*|"
    r"fault[- ]toleran\w*|multi[- ]az|resilien\w*|no downtime|zero downtime|mission[- ]critical|"
    r"99\.9+%?)\b",
    re.I,
)
_HINTS = {
    Strategy.KUBERNETES: re.compile(r"\b(kubernetes|k8s|eks|orchestrat\w*)\b", re.I),
    Strategy.SERVERLESS: re.compile(
        r"\b(serverless|lambda|scale to zero|pay per (?:request|use|call))\b", re.I
    ),
    Strategy.VM: re.compile(r"\b(vms?|ec2|virtual machines?|bare metal)\b", re.I),
}
_BUDGET = re.compile(
    r"(?:\$|usd\s?)\s?(\d{1,7}(?:\.\d{1,2})?)\s*(?:usd)?\s*(?:/|per\s*|a\s*)?\s*(?:mo|month)", re.I
)
_NEGATED = re.compile(r"\b(no|not|without|never|don't need|do not need)\s+(?:\w+\s){0,2}$", re.I)


def _negated(text: str, start: int) -> bool:
    return bool(_NEGATED.search(text[max(0, start - 30) : start]))


def _context(text: str, m: re.Match[str], before: int = 40, after: int = 25) -> str:
    return text[max(0, m.start() - before) : min(len(text), m.end() + after)]


def _rates(
    text: str, office: bool = False
) -> tuple[list[tuple[float, str, str]], list[tuple[float, str, str]]]:
    """(rps, phrase, kind) found, split into peak-ish and average-ish by nearby words.
    With office hours a day's requests come in the working day (OFFICE_HOURS_PER_DAY)."""
    peaks: list[tuple[float, str, str]] = []
    avgs: list[tuple[float, str, str]] = []
    seen: list[tuple[int, int]] = []
    found: list[tuple[re.Match[str], float]] = []
    for unit, rx in _RATE:
        for m in rx.finditer(text):
            seconds = _SECONDS[unit]
            if office and unit == "d":
                seconds = OFFICE_HOURS_PER_DAY * 3600.0
            found.append((m, _number(m) / seconds))
    for m in _RPS_SHORT.finditer(text):
        found.append((m, _number(m)))
    for m in _RPM_SHORT.finditer(text):
        found.append((m, _number(m) / 60.0))
    found.sort(key=lambda f: f[0].start())
    for m, rps in found:
        if any(a <= m.start() < b for a, b in seen):
            continue
        seen.append((m.start(), m.end()))
        phrase = m.group(0).strip()
        near_before = text[max(0, m.start() - 30) : m.start()]
        near_after = text[m.end() : m.end() + 20]
        qualifier = (m.group("num") or "").lower()
        # The nearest qualifier before the figure decides; one after it counts when none is.
        peak_at = max((p.end() for p in _PEAK_CTX.finditer(near_before)), default=-1)
        avg_at = max((a.end() for a in _AVG_CTX.finditer(near_before)), default=-1)
        is_peak = peak_at > avg_at
        if peak_at < 0 and avg_at < 0:  # none before: the nearest one after decides
            p_after, a_after = _PEAK_CTX.search(near_after), _AVG_CTX.search(near_after)
            is_peak = p_after is not None and (a_after is None or p_after.start() < a_after.start())
        is_peak = is_peak or qualifier.startswith(("up to", "at most"))
        if is_peak:
            peaks.append((rps, phrase, "peak"))
        else:
            avgs.append((rps, phrase, "avg"))
    return peaks, avgs


def _found(rx: re.Pattern[str], text: str, ev: dict[str, str], key: str) -> bool:
    """Whether `rx` matches, not negated ("no websockets"); the words go to `ev[key]`."""
    m = rx.search(text)
    if m is None or _negated(text, m.start()):
        return False
    ev[key] = m.group(0)
    return True


def _users(text: str, ev: dict[str, str]) -> float | None:
    if m := _USERS_DAY.search(text):
        ev["usersPerDay"] = m.group(0).strip()
        return _number(m)
    if m := _USERS_MONTH.search(text):
        ev["usersPerDay"] = m.group(0).strip() + " (monthly users x 3 visits / 30 days)"
        return _number(m) / 30.0 * 3.0  # a monthly user comes back ~3 times a month
    return None


def _traffic(
    text: str, office: bool, spiky: bool, ev: dict[str, str]
) -> tuple[float | None, float | None, float | None]:
    """(average rps, peak rps, users per day) from rates, users, or words alone."""
    peaks, avgs = _rates(text, office)
    avg = max((r for r, _, _ in avgs), default=None)
    peak = max((r for r, _, _ in peaks), default=None)
    if avgs:
        ev["avgRps"] = max(avgs)[1]
    if peaks:
        ev["peakRps"] = max(peaks)[1]
    hours = OFFICE_HOURS_PER_DAY if office else 24.0
    users_day = _users(text, ev)
    if avg is None and users_day is not None:
        avg = users_day * REQUESTS_PER_USER_DAY / (hours * 3600.0)
        ev["avgRps"] = (
            f"{ev['usersPerDay']} x {REQUESTS_PER_USER_DAY:g} requests/user over {hours:g} h"
        )
    if avg is None and peak is None:
        if m_cc := _USERS_CONCURRENT.search(text):
            peak = _number(m_cc) / THINK_TIME_S
            ev["peakRps"] = f"{m_cc.group(0).strip()} / {THINK_TIME_S:g} s think time"
        elif m_users := _USERS_PLAIN.search(text):
            users_day = _number(m_users)  # "a tool for 30 users": each a few visits a day
            avg = users_day * REQUESTS_PER_USER_DAY / (hours * 3600.0)
            ev["avgRps"] = (
                f"{m_users.group(0).strip()} x {REQUESTS_PER_USER_DAY:g} over {hours:g} h"
            )
    if avg is None and peak is None:
        if _found(_FEW, text, ev, "avgRps"):
            avg = 0.01
            ev["avgRps"] += " (about 36 requests an hour)"
        elif _found(_HIGH, text, ev, "avgRps"):
            avg = 50.0
            ev["avgRps"] += " (taken as about 50 rps on average)"
    factor = SPIKY_FACTOR if spiky else PEAK_FACTOR
    if avg is not None and peak is None:
        peak = avg * factor
        ev.setdefault("peakRps", f"{factor:g}x the average ({'spiky' if spiky else 'diurnal'})")
    elif peak is not None and avg is None:
        avg = peak / factor
        ev.setdefault("avgRps", f"the peak / {factor:g}")
    if peak is not None and avg is not None and peak < avg:
        peak = avg
    return avg, peak, users_day


def _latency(text: str, ev: dict[str, str]) -> float | None:
    """The tightest response-time target stated, in milliseconds."""
    latency: float | None = None
    for m in _LATENCY.finditer(text):
        value = float(m.group("value"))
        ms = value if m.group("unit").lower().startswith("m") else value * 1000.0
        if 1 <= ms <= 600_000 and (latency is None or ms < latency):
            latency = ms
            ev["latencySloMs"] = m.group(0).strip()
    return latency


def _services(text: str, ev: dict[str, str]) -> int | None:
    services: int | None = None
    for m in _SERVICES.finditer(text):
        n = _number(m)
        if 1 <= n <= 100 and (m.group("word") or "").lower() not in ("a", "an"):
            services = max(services or 0, int(n))
            ev["services"] = m.group(0).strip()
    if services is None and _MICRO.search(text):
        services = 3
        ev["services"] = "microservices (taken as 3)"
    return services


def _sensitivity(text: str, ev: dict[str, str]) -> CostSensitivity:
    if m := _LAVISH.search(text):
        ev["costSensitivity"] = m.group(0)
        return "low"
    if _found(_CHEAP, text, ev, "costSensitivity"):
        return "high"
    return "normal"


def _hint(text: str, ev: dict[str, str]) -> Strategy | None:
    for strategy, rx in _HINTS.items():
        if _found(rx, text, ev, "hinted"):
            return strategy
    return None


def read_intent(prompt: str | None) -> Intent:
    """The intent in the words of `prompt` (empty or None: no figures, normal sensitivity)."""
    text = " ".join((prompt or "").split())[:8000]
    ev: dict[str, str] = {}
    office = _found(_OFFICE, text, ev, "officeHours")
    spiky = _found(_SPIKY, text, ev, "spiky")
    avg, peak, users_day = _traffic(text, office, spiky, ev)
    duty: float | None = None
    if office:
        duty = OFFICE_DUTY
    elif avg is not None and avg < 0.05:
        duty = min(1.0, avg * 0.5)  # busy share at ~0.5 s per call
    m_budget = _BUDGET.search(text)
    return Intent(
        avg_rps=None if avg is None else _round(avg),
        peak_rps=None if peak is None else _round(peak),
        users_per_day=users_day,
        spiky=spiky,
        office_hours=office,
        duty_cycle=None if duty is None else round(duty, 4),
        latency_slo_ms=_latency(text, ev),
        long_lived=_found(_LONG_LIVED, text, ev, "longLived"),
        services=_services(text, ev),
        cost_sensitivity=_sensitivity(text, ev),
        high_availability=_found(_HA, text, ev, "highAvailability"),
        hinted=_hint(text, ev),
        budget_hint=float(m_budget.group(1)) if m_budget else None,
        evidence={k: v[:120] for k, v in ev.items()},
    )


def _round(x: float) -> float:
    if x == 0:
        return 0.0
    digits = 2 - math.floor(math.log10(abs(x)))
    return round(x, max(0, digits))

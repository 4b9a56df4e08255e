"""A loopback server speaking CloudWatch's GetMetricData over the AWS Query protocol.

What it checks and answers, as the real service does
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html,
the Query protocol: a form-encoded POST to `/`, an XML answer in the 2010-08-01 namespace):
- the request is `Action=GetMetricData&Version=2010-08-01` with `StartTime`, `EndTime` and
  `MetricDataQueries.member.N.{Id,Expression,Period,ReturnData}`;
- it is signed with Signature Version 4 for service `monitoring` in the expected region by
  the expected access key, the signature recomputed over the body received with the
  project's own stdlib signer (function/config/scia_launch.py, checked against AWS's
  published test vector in tests/config/test_launcher.py): an independent implementation
  of what botocore signs. A bad signature gets 403 `SignatureDoesNotMatch`;
- each query's answer is scripted by its expression: datapoints (newest first), a
  `StatusCode` of `Forbidden`/`InternalError` with messages, or no datapoint; a scripted
  HTTP error answers `ErrorResponse` with `Type`, `Code` and `Message`.
"""

from __future__ import annotations

import datetime
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from function.config import scia_launch
from tests.support.jsonhttp import JsonHandler, serving, url_of

ACCESS_KEY = "AKIAFAKECLOUDWATCH01"
SECRET_KEY = "fake/cloudwatch/secret/for/loopback/only"
TOKEN = "session-token-of-the-cloudwatch-fake"
NS = "http://monitoring.amazonaws.com/doc/2010-08-01/"


@dataclass(frozen=True)
class Series:
    """The answer to one expression."""

    values: tuple[float, ...] = ()
    status: str = "Complete"
    messages: tuple[tuple[str, str], ...] = ()


@dataclass
class FakeCloudWatch:
    url: str
    region: str
    series: dict[str, Series] = field(default_factory=dict)
    error: tuple[int, str, str] | None = None  # (HTTP status, Code, Message)
    raw: bytes | None = None  # answer these bytes instead (200)
    calls: list[dict[str, list[str]]] = field(default_factory=list)
    bad_signatures: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    hold: bool = False

    def expressions(self) -> list[str]:
        out = []
        for form in self.calls:
            for k, v in sorted(form.items()):
                if k.endswith(".Expression"):
                    out += v
        return out


def _signed(handler: JsonHandler, body: bytes, region: str) -> bool:
    auth = handler.headers.get("Authorization", "")
    amz = handler.headers.get("X-Amz-Date", "")
    try:
        when = datetime.datetime.strptime(amz, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return False
    signed = auth.split("SignedHeaders=")[-1].split(",")[0].split(";")
    extra = {
        k: v
        for k, v in handler.headers.items()
        if k.lower() in signed and k.lower() not in ("host", "x-amz-date", "x-amz-security-token")
    }
    creds = scia_launch.Credentials(ACCESS_KEY, SECRET_KEY, TOKEN)
    url = f"http://{handler.headers['Host']}/"
    want = scia_launch.signed_request("monitoring", region, url, body, extra, creds, when)
    return bool(auth) and auth == want.get_header("Authorization")


def _error(status: int, code: str, message: str) -> tuple[int, bytes]:
    kind = "Sender" if status < 500 else "Receiver"
    body = (
        f'<ErrorResponse xmlns="{NS}"><Error><Type>{kind}</Type><Code>{escape(code)}</Code>'
        f"<Message>{escape(message)}</Message></Error>"
        "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    )
    return status, body.encode()


def _answer(fake: FakeCloudWatch, form: dict[str, list[str]]) -> tuple[int, bytes]:
    if form.get("Action") != ["GetMetricData"] or form.get("Version") != ["2010-08-01"]:
        return _error(400, "InvalidAction", "the action or version is not valid")
    if not form.get("StartTime") or not form.get("EndTime"):
        return _error(400, "MissingParameter", "StartTime and EndTime are required")
    if fake.error is not None:
        return _error(*fake.error)
    members = []
    n = 1
    while f"MetricDataQueries.member.{n}.Id" in form:
        qid = form[f"MetricDataQueries.member.{n}.Id"][0]
        expression = form.get(f"MetricDataQueries.member.{n}.Expression", [""])[0]
        if not form.get(f"MetricDataQueries.member.{n}.Period"):
            return _error(400, "ValidationError", f"Period is required for query {qid}")
        s = fake.series.get(expression, Series())
        start = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.UTC)
        stamps = "".join(
            f"<member>{(start - datetime.timedelta(minutes=5 * i)).isoformat()}</member>"
            for i in range(len(s.values))
        )
        values = "".join(f"<member>{v!r}</member>" for v in s.values)
        messages = "".join(
            f"<member><Code>{escape(c)}</Code><Value>{escape(v)}</Value></member>"
            for c, v in s.messages
        )
        members.append(
            f"<member><Id>{escape(qid)}</Id><Label>{escape(qid)}</Label>"
            f"<StatusCode>{s.status}</StatusCode><Timestamps>{stamps}</Timestamps>"
            f"<Values>{values}</Values><Messages>{messages}</Messages></member>"
        )
        n += 1
    body = (
        f'<GetMetricDataResponse xmlns="{NS}"><GetMetricDataResult><MetricDataResults>'
        f"{''.join(members)}</MetricDataResults><Messages/></GetMetricDataResult>"
        "<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000001</RequestId>"
        "</ResponseMetadata></GetMetricDataResponse>"
    )
    return 200, body.encode()


@contextmanager
def fake_cloudwatch(region: str = "us-east-1") -> Iterator[FakeCloudWatch]:
    state: list[FakeCloudWatch] = []

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            fake = state[0]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
            fake.calls.append(form)
            if fake.hold:
                fake.release.wait(30)
            if not _signed(self, body, fake.region):
                fake.bad_signatures += 1
                status, raw = _error(
                    403,
                    "SignatureDoesNotMatch",
                    "The request signature we calculated does not match",
                )
            elif fake.raw is not None:
                status, raw = 200, fake.raw
            else:
                status, raw = _answer(fake, form)
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    with serving(Handler) as server:
        state.append(FakeCloudWatch(url_of(server) + "/", region))
        try:
            yield state[0]
        finally:
            state[0].release.set()

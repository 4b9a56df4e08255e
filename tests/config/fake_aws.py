"""A loopback stand-in for the four AWS calls the launcher makes, and IMDSv2.

It answers like the real services (JSON 1.1 for SSM and Secrets Manager, query/XML for RDS
and ElastiCache) and checks each request is SigV4-signed by the expected access key with a
signature over the body it received (recomputed with the launcher's own signer, whose
output tests/config/test_launcher.py checks against AWS's published test vector).
"""

from __future__ import annotations

import datetime
import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from function.config import scia_launch
from tests.support.jsonhttp import JsonHandler

ACCESS_KEY = "AKIAFAKEFAKEFAKE0001"
SECRET_KEY = "fake/secret/key/for/loopback/tests/only"
TOKEN = "session-token-of-the-fake"


@dataclass
class World:
    parameters: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    rds: dict[str, dict[str, str]] = field(default_factory=dict)
    redis: dict[str, tuple[str, int]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    bad_signatures: int = 0


def handler_for(world: World) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_PUT(self) -> None:  # IMDSv2 token
            if self.path == "/latest/api/token":
                self._raw(200, b"imds-token", "text/plain")
            else:
                self._raw(404, b"", "text/plain")

        def do_GET(self) -> None:
            if self.headers.get("X-aws-ec2-metadata-token") != "imds-token":
                self._raw(401, b"", "text/plain")
                return
            base = "/latest/meta-data/iam/security-credentials/"
            if self.path == base:
                self._raw(200, b"app-role", "text/plain")
            elif self.path == base + "app-role":
                creds = {"AccessKeyId": ACCESS_KEY, "SecretAccessKey": SECRET_KEY, "Token": TOKEN}
                self._send(200, creds)
            else:
                self._raw(404, b"", "text/plain")

        def _raw(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _signed(self, body: bytes, service: str, region: str) -> bool:
            auth = self.headers.get("Authorization", "")
            amz = self.headers.get("X-Amz-Date", "")
            when = datetime.datetime.strptime(amz, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() in ("content-type", "x-amz-target")
            }
            creds = scia_launch.Credentials(ACCESS_KEY, SECRET_KEY, TOKEN)
            url = f"http://{self.headers['Host']}/"
            want = scia_launch.signed_request(service, region, url, body, headers, creds, when)
            return auth == want.get_header("Authorization")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            target = self.headers.get("X-Amz-Target")
            scope = self.headers.get("Authorization", "").split("Credential=")[-1].split("/")
            region, service = (scope[2], scope[3]) if len(scope) > 3 else ("", "")
            if not self._signed(body, service, region):
                world.bad_signatures += 1
                self._send(403, {"__type": "InvalidSignatureException"})
                return
            if target == "AmazonSSM.GetParameter":
                name = json.loads(body)["Name"]
                world.calls.append(f"ssm:{name}")
                if name not in world.parameters:
                    self._send(400, {"__type": "ParameterNotFound"})
                    return
                self._send(200, {"Parameter": {"Name": name, "Value": world.parameters[name]}})
            elif target == "secretsmanager.GetSecretValue":
                sid = json.loads(body)["SecretId"]
                world.calls.append(f"secretsmanager:{sid}")
                if sid not in world.secrets:
                    self._send(400, {"__type": "ResourceNotFoundException"})
                    return
                self._send(200, {"ARN": sid, "SecretString": world.secrets[sid]})
            else:
                form = dict(urllib.parse.parse_qsl(body.decode()))
                world.calls.append(f"{service}:{form.get('Action')}")
                self._raw(200, self._xml(form).encode(), "text/xml")

        def _xml(self, form: dict[str, Any]) -> str:
            if form.get("Action") == "DescribeDBInstances":
                db = world.rds[form["DBInstanceIdentifier"]]
                return (
                    '<DescribeDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">'
                    "<DescribeDBInstancesResult><DBInstances><DBInstance>"
                    f"<Endpoint><Address>{db['host']}</Address><Port>{db['port']}</Port></Endpoint>"
                    f"<MasterUserSecret><SecretArn>{db['secret']}</SecretArn></MasterUserSecret>"
                    "</DBInstance></DBInstances></DescribeDBInstancesResult>"
                    "</DescribeDBInstancesResponse>"
                )
            host, port = world.redis[form["ReplicationGroupId"]]
            return (
                '<DescribeReplicationGroupsResponse xmlns="http://elasticache.amazonaws.com/doc/'
                '2015-02-02/"><DescribeReplicationGroupsResult><ReplicationGroups>'
                "<ReplicationGroup><NodeGroups><NodeGroup><PrimaryEndpoint>"
                f"<Address>{host}</Address><Port>{port}</Port>"
                "</PrimaryEndpoint></NodeGroup></NodeGroups></ReplicationGroup>"
                "</ReplicationGroups></DescribeReplicationGroupsResult>"
                "</DescribeReplicationGroupsResponse>"
            )

    return Handler

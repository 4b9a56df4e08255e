"""AppDeployment claims (and v2 namespaced XRs, same group and kind) through the kubeconfig.

`scia.io/v1alpha1` `appdeployments` in a namespace; reads are GETs, writes are JSON merge
patches (only the fields a command changes). Every call has a timeout; API errors become
CliFailure with the exit code of docs/cli.md.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from function.cli.exits import CliFailure, NotFound, Unreachable

GROUP = "scia.io"
VERSION = "v1alpha1"
PLURAL = "appdeployments"
KIND = "AppDeployment"
FIELD_MANAGER = "scia-cli"
TIMEOUT = (5.0, 20.0)  # connect, read (seconds)


def _api_message(e: ApiException) -> str:
    try:
        body = json.loads(e.body or "{}")
    except ValueError:
        body = {}
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or e.reason or "error")


@dataclass
class ClaimApi:
    api: client.CustomObjectsApi
    namespace: str
    server: str

    @classmethod
    def connect(
        cls, kubeconfig: str | None, context: str | None, namespace: str | None
    ) -> ClaimApi:
        """From the kubeconfig (--kubeconfig, $KUBECONFIG, ~/.kube/config) or in-cluster."""
        cfg = client.Configuration()
        try:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig,
                context=context,
                client_configuration=cfg,
                persist_config=False,
            )
            default_ns = _context_namespace(kubeconfig, context)
        except (ConfigException, OSError) as e:
            if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
                config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
                default_ns = _incluster_namespace()
            else:
                raise Unreachable(f"no usable kubeconfig: {e}") from None
        cfg.retries = 1
        api = client.CustomObjectsApi(client.ApiClient(cfg))
        return cls(api=api, namespace=namespace or default_ns, server=str(cfg.host))

    def _call(self, what: str, name: str, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            got = fn(
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                name,
                *args,
                _request_timeout=TIMEOUT,
                **kwargs,
            )
        except ApiException as e:
            if e.status == 404:
                raise NotFound(
                    f"{KIND} {self.namespace}/{name} not found ({_api_message(e)})",
                ) from None
            raise CliFailure(
                f"{what} {KIND} {self.namespace}/{name}: HTTP {e.status} {_api_message(e)}"
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise Unreachable(
                f"cannot reach the cluster at {self.server}: {type(e).__name__}"
            ) from None
        if not isinstance(got, dict):
            raise CliFailure(f"{what} {KIND} {self.namespace}/{name}: unexpected answer")
        return got

    def get(self, name: str) -> dict[str, Any]:
        return self._call("reading", name, self.api.get_namespaced_custom_object)

    def merge_patch(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        return self._call(
            "patching",
            name,
            self.api.patch_namespaced_custom_object,
            patch,
            field_manager=FIELD_MANAGER,
            _content_type="application/merge-patch+json",
        )


def _context_namespace(kubeconfig: str | None, context: str | None) -> str:
    contexts, current = config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
        config_file=kubeconfig
    )
    chosen = current
    if context is not None:
        chosen = next((c for c in contexts if c.get("name") == context), current)
    ns = ((chosen or {}).get("context") or {}).get("namespace")
    return str(ns) if ns else "default"


def _incluster_namespace() -> str:
    path = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip() or "default"
    except OSError:
        return "default"

"""require-https on AKS: the cluster's application routing add-on serves the platform's Key
Vault certificate (pure).

AKS's public Service is a rule on the cluster's layer-4 Azure load balancer, which
terminates no TLS. Under require-https the app is published through the application
routing add-on instead (AKS docs, "Set up a custom domain name and SSL certificate with
the application routing add-on"):

- the cluster's `webAppRouting` block turns the add-on on: a managed NGINX ingress
  controller (Ingress class `webapprouting.kubernetes.azure.com`) whose own Service of type
  LoadBalancer is a frontend on the cluster's Standard load balancer, listening on 80 and
  443 (`defaultNginxController: External`: a public one); `dnsZoneIds` is empty (no Azure
  DNS zone is attached: the add-on writes no DNS record, the platform does); the Key Vault
  provider for the Secrets Store CSI driver (`keyVaultSecretsProvider`, rotation on: a
  renewed certificate reaches NGINX within the 2-minute poll) is what the add-on reads the
  certificate with (`az aks approuting update --enable-kv`);
- `approuting-key-vault-read`: the add-on's managed identity (observed at
  `status.atProvider.webAppRouting.webAppRoutingIdentity[0].objectId`, created with the
  add-on) gets the built-in role "Key Vault Secrets User" on the certificate's secret
  only (`<vaultId>/secrets/<name>`), the least Key Vault RBAC allows: a certificate's
  private key is readable only as its secret, which is what the CSI driver fetches (the
  "Key Vault Certificate User" role reads the public part alone). The vault must use the
  Azure RBAC permission model; the provider's principal needs the right to assign roles
  there (User Access Administrator or Role Based Access Control Administrator);
- the workload (render/kube/app.py): the public Service is ClusterIP, reached through an
  `networking.k8s.io/v1` Ingress (render/kube/ingress.py) of the add-on's class with the
  annotation `kubernetes.azure.com/tls-cert-keyvault-uri: <certificate URI, versionless>`
  and a TLS block whose `secretName` is `keyvault-<Ingress name>` (the Secret the add-on
  syncs the certificate into; the docs require exactly that name), for the host
  `<deployment>.<tenant>.<policy.https.domain>`: NGINX presents an Ingress's certificate
  only for the server names it lists; a host-less rule goes to the catch-all server,
  which presents the controller's default (self-signed) certificate. NGINX redirects
  plain HTTP to HTTPS (308) for a host with TLS (`ssl-redirect`, ingress-nginx's default,
  set explicitly), as the AWS vm's port 80 answers only with a redirect. The Ingress is
  composed once the grant is Ready, so NGINX never serves the host before it can read
  the certificate;
- the subnet's security group admits internet clients on 80 and 443 (kubernetes.py
  `service_rules`): the NGINX Service's ports, not the app's.

No DNS record is composed (the platform's zone is not the function's to write): the
endpoint is `https://<host>` once the Ingress has an address, and a result names the A
record to create (`https_note`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from function.policy.admission import REQUIRE_HTTPS, certificate_domain
from function.policy.settings import KeyVaultCertificate
from function.render.azure.base import Observed, at_provider, role_assignment
from function.render.common import RenderContext, Resources, UnsupportedTarget

INGRESS_CLASS = "webapprouting.kubernetes.azure.com"
KEYVAULT_URI = "kubernetes.azure.com/tls-cert-keyvault-uri"
SSL_REDIRECT = "nginx.ingress.kubernetes.io/ssl-redirect"
ADDON_GRANT = "approuting-key-vault-read"
SECRETS_USER = "Key Vault Secrets User"
HTTPS_PORT = 443
HTTP_PORT = 80


@dataclass(frozen=True)
class AksHttps:
    """What require-https serves on AKS: the platform's Key Vault certificate, for `host`."""

    certificate: KeyVaultCertificate
    host: str

    @property
    def grant_scope(self) -> str:
        """The certificate's secret as an Azure resource id (Key Vault RBAC's narrowest
        scope for it)."""
        return f"{self.certificate.vault_id}/secrets/{self.certificate.name}"


def aks_https(ctx: RenderContext) -> AksHttps | None:
    """The certificate and host require-https serves, or None without the policy.

    Raises UnsupportedTarget naming the input field when the policy is on and the platform
    gave no Key Vault certificate or no domain (the decision never picks AKS then, and
    admission refuses an explicit strategy: policy/https.py; a render that reaches here
    without them is a pin whose input lost them, which is refused, keeping what runs)."""
    if not ctx.has_policy(REQUIRE_HTTPS):
        return None
    https = ctx.policy.https
    if https.key_vault_certificate is None or https.domain is None:
        field = (
            "input.policy.https.keyVaultCertificate"
            if https.key_vault_certificate is None
            else "input.policy.https.domain"
        )
        raise UnsupportedTarget(
            f"spec.policies: require-https on AKS needs {field} in the function input (the "
            "application routing add-on serves the platform's Key Vault certificate for "
            "<deployment>.<tenant>.<domain>); nothing composed is changed or deleted meanwhile"
        )
    return AksHttps(https.key_vault_certificate, certificate_domain(ctx.identity, https.domain))


def cluster_fields() -> dict[str, Any]:
    """The KubernetesCluster's forProvider fields that turn the add-on on (both API
    versions in use take objects here)."""
    return {
        "webAppRouting": {"dnsZoneIds": [], "defaultNginxController": "External"},
        "keyVaultSecretsProvider": {"secretRotationEnabled": True},
    }


def addon_object_id(observed: Observed, cluster: str) -> str | None:
    """The add-on identity's object id: atProvider.webAppRouting (an object, or a one-item
    list in the legacy v1beta1) .webAppRoutingIdentity[0].objectId."""
    routing: Any = at_provider(observed, cluster).get("webAppRouting")
    if isinstance(routing, list):
        routing = routing[0] if routing else None
    identities = routing.get("webAppRoutingIdentity") if isinstance(routing, dict) else None
    first = identities[0] if isinstance(identities, list) and identities else None
    value = first.get("objectId") if isinstance(first, dict) else None
    return value if isinstance(value, str) and value else None


def addon_grant(ctx: RenderContext, observed: Observed, cluster: str, https: AksHttps) -> Resources:
    """`approuting-key-vault-read`, once the add-on's identity is observed; a note until
    then."""
    principal = addon_object_id(observed, cluster)
    if principal is None:
        ctx.notes.append(
            f"{ADDON_GRANT} ({SECRETS_USER} on {https.grant_scope} for the application "
            "routing add-on's identity) is composed once the cluster reports the add-on's "
            "identity (webAppRouting.webAppRoutingIdentity)"
        )
        return {}
    return {
        ADDON_GRANT: role_assignment(ctx, ADDON_GRANT, https.grant_scope, SECRETS_USER, principal)
    }


def ingress_annotations(https: AksHttps) -> dict[str, str]:
    """The Ingress's annotations for the add-on: the certificate to sync, and the HTTP to
    HTTPS redirect."""
    return {KEYVAULT_URI: https.certificate.certificate_uri, SSL_REDIRECT: "true"}


def tls_secret_name(ingress_name: str) -> str:
    """The Secret the add-on syncs the certificate into for the Ingress `ingress_name`."""
    return f"keyvault-{ingress_name}"


def ingress_address(observed: Observed, component: str) -> str | None:
    """The address NGINX published for the Ingress Object `component` (its
    status.loadBalancer.ingress[0], as provider-kubernetes last read it from the cluster)."""
    manifest = at_provider(observed, component).get("manifest")
    status = manifest.get("status") if isinstance(manifest, dict) else None
    lb = status.get("loadBalancer") if isinstance(status, dict) else None
    ingress = lb.get("ingress") if isinstance(lb, dict) else None
    first = ingress[0] if isinstance(ingress, list) and ingress else None
    value = (first.get("ip") or first.get("hostname")) if isinstance(first, dict) else None
    return value if isinstance(value, str) and value else None


def https_note(host: str, address: str | None) -> str:
    """What the operator must do for https://<host> to answer: the DNS A record."""
    where = address or "the Ingress's address (once NGINX publishes it)"
    return (
        f"the HTTPS endpoint https://{host} answers once the DNS A record {host} -> {where} "
        "exists (the application routing add-on serves the Key Vault certificate for that "
        "host; no DNS record is composed)"
    )

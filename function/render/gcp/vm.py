"""vm on GCP: instances of a regional managed instance group behind a global external
Application Load Balancer.

instance template (the app fetched at the pinned commit by its startup script) ->
regional managed instance group (two zones, auto-healing on the health check, proactive
rolling updates) <- regional autoscaler (CPU 60 %); health check -> backend service ->
URL map -> target HTTP proxy -> global forwarding rule on a reserved global address;
under require-https a Google-managed certificate, a target HTTPS proxy and a second
forwarding rule on port 443, and the HTTP proxy answers with a redirect to HTTPS. A
firewall rule opens the app port to Google's load-balancer and health-check ranges only,
for the instances' network tag; nothing opens SSH.

Instance templates cannot be changed in place (every field is ForceNew): a new commit
renders a new template generation (function/render/replace.py) and the group moves to it
once it exists, which rolls the instances.
"""

from __future__ import annotations

from typing import Any

from function.policy.admission import certificate_domain
from function.render.common import RenderContext, Resources, UnsupportedTarget, select
from function.render.gcp.common import (
    GOOGLE_LB_RANGES,
    Observed,
    at_provider,
    labels,
    network_tag,
    self_link,
    waiting,
)
from function.render.gcp.datastores import proxy_boot_lines
from function.render.gcp.monitoring import vm_alerts
from function.render.gcp.network import GcpNetworkRefs
from function.render.gcp.secrets import GcpConfig, launch_json
from function.render.startup import DEBIAN12, startup_script

REQUIRE_HTTPS = "require-https"
ENABLE_MONITORING = "enable-monitoring"
PORT_NAME = "http"


CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


def zones(ctx: RenderContext) -> list[str]:
    return [f"{ctx.region}-{z}" for z in ctx.settings.gcp.zones]


def render_gcp_vm(
    ctx: RenderContext,
    refs: GcpNetworkRefs,
    observed: Observed,
    config: GcpConfig | None = None,
) -> Resources:
    """The instance group behind the global load balancer. With `config`
    (render/gcp/secrets.py), the startup script installs the launcher with its
    configuration and the instances run as the app's service account."""
    d = ctx.decision
    assert d.vm is not None, "vm decision without vm parameters"
    vm = d.vm
    port = d.port
    tag = network_tag(ctx)
    lab = labels(ctx)
    https = ctx.has_policy(REQUIRE_HTTPS)
    iface: dict[str, Any] = {**refs.network, **refs.subnetwork}
    if ctx.settings.gcp.network.public_ip:
        iface["accessConfig"] = [{"networkTier": "PREMIUM"}]
    out: Resources = {
        "firewall-app": ctx.resource(
            "compute",
            "Firewall",
            "firewall-app",
            {
                **refs.network,
                "direction": "INGRESS",
                "priority": 1000,
                "allow": [{"protocol": "tcp", "ports": [str(port)]}],
                "sourceRanges": list(GOOGLE_LB_RANGES),
                "targetTags": [tag],
                "description": f"port {port} of {ctx.who} from Google's load balancers and "
                "health checks only",
            },
        ),
        "instance-template": ctx.resource(
            "compute",
            "InstanceTemplate",
            "instance-template",
            {
                "region": ctx.region,
                "machineType": vm.instance_type,
                "description": f"{ctx.who} at {ctx.commit[:12]}",
                "disk": [
                    {
                        "boot": True,
                        "autoDelete": True,
                        "sourceImage": ctx.settings.vm.image_id,
                        "diskSizeGb": vm.volume_gb,
                        "diskType": "pd-balanced",
                        "labels": lab,
                    }
                ],
                "networkInterface": [iface],
                "metadataStartupScript": startup_script(
                    ctx.spec.repository.url,
                    ctx.commit,
                    ctx.analysis,
                    port,
                    d.start_command,
                    ctx.analysis.has_dockerfile,
                    DEBIAN12,
                    launch_config=launch_json(ctx, config) if config else None,
                    sidecars=proxy_boot_lines(
                        config.proxies if config else [],
                        ctx.settings.gcp.data_stores.sql_proxy_version,
                    ),
                ),
                # OS Login and no project-wide SSH keys: no key in metadata opens SSH.
                "metadata": {"enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE"},
                "labels": lab,
                "tags": [tag],
                "shieldedInstanceConfig": {
                    "enableSecureBoot": True,
                    "enableVtpm": True,
                    "enableIntegrityMonitoring": True,
                },
                "scheduling": {"automaticRestart": True, "onHostMaintenance": "MIGRATE"},
                **_identity(config),
            },
        ),
        "health-check": ctx.resource(
            "compute",
            "HealthCheck",
            "health-check",
            {
                "checkIntervalSec": 10,
                "timeoutSec": 5,
                "healthyThreshold": 2,
                "unhealthyThreshold": 3,
                "httpHealthCheck": {"port": port, "requestPath": d.health_check_path},
                "description": f"health of {ctx.who}",
            },
        ),
    }
    zs = zones(ctx)
    out["instance-group"] = ctx.resource(
        "compute",
        "RegionInstanceGroupManager",
        "instance-group",
        {
            "region": ctx.region,
            "distributionPolicyZones": zs,
            "version": [
                {"name": "primary", "instanceTemplateSelector": select("instance-template")}
            ],
            "namedPort": [{"name": PORT_NAME, "port": port}],
            "autoHealingPolicies": {
                "healthCheckSelector": select("health-check"),
                "initialDelaySec": 300,
            },
            "updatePolicy": {
                "type": "PROACTIVE",
                "minimalAction": "REPLACE",
                "instanceRedistributionType": "PROACTIVE",
                "maxSurgeFixed": len(zs),
                "maxUnavailableFixed": 0,
            },
            "waitForInstances": False,
            "description": f"instances of {ctx.who}",
        },
        # The autoscaler owns the size; the provider sets it once, at creation.
        init_provider={"targetSize": vm.desired_capacity},
    )
    out["autoscaler"] = ctx.resource(
        "compute",
        "RegionAutoscaler",
        "autoscaler",
        {
            "region": ctx.region,
            "targetSelector": select("instance-group"),
            "autoscalingPolicy": {
                "minReplicas": vm.min_size,
                "maxReplicas": vm.max_size,
                "cooldownPeriod": 300,
                "mode": "ON",
                "cpuUtilization": {"target": 0.6},
            },
        },
    )
    group = at_provider(observed, "instance-group", "instanceGroup")
    if group:
        out["backend-service"] = ctx.resource(
            "compute",
            "BackendService",
            "backend-service",
            {
                "protocol": "HTTP",
                "portName": PORT_NAME,
                "loadBalancingScheme": "EXTERNAL_MANAGED",
                "timeoutSec": 30,
                "healthChecksSelector": select("health-check"),
                "backend": [
                    {
                        "group": str(group),
                        "balancingMode": "UTILIZATION",
                        "maxUtilization": 0.8,
                        "capacityScaler": 1.0,
                    }
                ],
                "logConfig": {"enable": True, "sampleRate": 1.0},
                "description": f"backends of {ctx.who}",
            },
        )
    else:
        waiting(ctx, "backend-service", "instance-group's status.atProvider.instanceGroup")
    backend = self_link(observed, "backend-service")
    if backend and "backend-service" in out:
        out["url-map"] = ctx.resource(
            "compute",
            "URLMap",
            "url-map",
            {"defaultService": backend, "description": f"routes of {ctx.who}"},
        )
    elif "backend-service" in out:
        waiting(ctx, "url-map", "backend-service's status.atProvider.selfLink")
    out["lb-address"] = ctx.resource(
        "compute",
        "GlobalAddress",
        "lb-address",
        {
            "addressType": "EXTERNAL",
            "ipVersion": "IPV4",
            "labels": lab,
            "description": f"address of {ctx.who}",
        },
    )
    if https:
        out |= _https(ctx, observed)
    if "url-map" in out or https:
        out["http-proxy"] = ctx.resource(
            "compute",
            "TargetHTTPProxy",
            "http-proxy",
            {
                "urlMapSelector": select("redirect-map" if https else "url-map"),
                "description": f"HTTP of {ctx.who}" + (" (redirects to HTTPS)" if https else ""),
            },
        )
    proxy = self_link(observed, "http-proxy")
    if proxy and "http-proxy" in out:
        out["forwarding-rule-http"] = _forwarding_rule(ctx, "forwarding-rule-http", "80", proxy)
    elif "http-proxy" in out:
        waiting(ctx, "forwarding-rule-http", "http-proxy's status.atProvider.selfLink")
    if ctx.has_policy(ENABLE_MONITORING):
        out |= vm_alerts(ctx, observed)
    return out


def _identity(config: GcpConfig | None) -> dict[str, Any]:
    """The instances' service account when they read secrets (the launcher's token)."""
    if config is None or config.service_account is None:
        return {}
    return {"serviceAccount": {"email": config.service_account, "scopes": [CLOUD_PLATFORM]}}


def _forwarding_rule(ctx: RenderContext, component: str, port: str, target: str) -> Any:
    return ctx.resource(
        "compute",
        "GlobalForwardingRule",
        component,
        {
            "ipProtocol": "TCP",
            "portRange": port,
            "loadBalancingScheme": "EXTERNAL_MANAGED",
            "ipAddressSelector": select("lb-address"),
            "target": target,
            "labels": labels(ctx),
            "description": f"port {port} of {ctx.who}",
        },
    )


def https_report(
    host: str,
    observed: Observed,
    address: str = "lb-address",
    certificate: str = "certificate",
) -> dict[str, Any]:
    """What require-https reports on a vm (and on GKE, render/gcp/kubernetes.py, whose
    address and certificate are the components `address` and `certificate`): the
    certificate's host (the endpoint), the load balancer's address, whether Google has
    issued the certificate, and what the operator must do meanwhile.

    No DNS record is composed (the platform's zone is not the function's to write; the
    CRDs in ../shared/crds have DNS kinds, but which zone and project is the platform's
    choice), and a Google-managed certificate stays PROVISIONING until `host` resolves to
    the load balancer's address. Issued is read from the certificate's
    `status.atProvider.expireTime`: the API sets it only once the certificate is ACTIVE
    (empty while PROVISIONING); the provider's Ready condition is True as soon as the
    certificate exists, issued or not (crossplane-contrib/provider-upjet-gcp#767)."""
    reserved = at_provider(observed, address, "address")
    issued = bool(at_provider(observed, certificate, "expireTime"))
    where = f"{reserved}" if reserved else f"the load balancer's address ({address}, once reserved)"
    message = (
        f"the HTTPS endpoint https://{host} waits for its Google-managed certificate: create "
        f"the DNS A record {host} -> {where}; Google issues the certificate once the name "
        "resolves there (certificate status.atProvider.expireTime is unset until then)"
    )
    return {"host": host, "address": reserved, "issued": issued, "message": message}


def _https(ctx: RenderContext, observed: Observed) -> Resources:
    domain = ctx.policy.https.domain
    if domain is None:
        raise UnsupportedTarget(
            "spec.policies: require-https on gcp needs input policy.https.domain (a "
            "Google-managed certificate is composed for <deployment>.<tenant>.<domain>)"
        )
    out: Resources = {
        "redirect-map": ctx.resource(
            "compute",
            "URLMap",
            "redirect-map",
            {
                "defaultUrlRedirect": {
                    "httpsRedirect": True,
                    "stripQuery": False,
                    "redirectResponseCode": "MOVED_PERMANENTLY_DEFAULT",
                },
                "description": f"HTTP to HTTPS redirect of {ctx.who}",
            },
        ),
        "certificate": ctx.resource(
            "compute",
            "ManagedSSLCertificate",
            "certificate",
            {
                "type": "MANAGED",
                "managed": {"domains": [certificate_domain(ctx.identity, domain)]},
                "description": f"certificate of {ctx.who}",
            },
        ),
    }
    host = certificate_domain(ctx.identity, domain)
    ctx.report["https"] = https_report(host, observed)
    if not ctx.report["https"]["issued"]:
        ctx.notes.append(ctx.report["https"]["message"])
    cert = self_link(observed, "certificate")
    if cert and self_link(observed, "url-map"):
        out["https-proxy"] = ctx.resource(
            "compute",
            "TargetHTTPSProxy",
            "https-proxy",
            {
                "urlMapSelector": select("url-map"),
                "sslCertificates": [cert],
                "description": f"HTTPS of {ctx.who}",
            },
        )
    else:
        waiting(ctx, "https-proxy", "certificate's and url-map's status.atProvider.selfLink")
    proxy = self_link(observed, "https-proxy")
    if proxy and "https-proxy" in out:
        out["forwarding-rule-https"] = _forwarding_rule(ctx, "forwarding-rule-https", "443", proxy)
    return out

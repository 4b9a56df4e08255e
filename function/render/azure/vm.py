"""The Azure vm strategy: a Linux VM scale set behind a Standard public load balancer.

Composed (besides network.py's group, VNet, subnet and security group):

- security rules: the app port from the `AzureLoadBalancer` tag (health probes) and from
  `Internet` (an Azure load balancer passes TCP through with the client's address, so
  the backends see internet sources; the instances have no public IP, so the only way in
  is the load-balancing rule), a deny of the platform's blocked ports (SSH, RDP, Docker
  API, ...) from anywhere; nothing else is opened (Azure's default rules deny the rest);
- a Standard static public IP with a DNS label (`<label>.<region>.cloudapp.azure.com`),
  the load balancer, its backend pool, an HTTP probe on the health path and a rule
  80 -> app port. The rule keeps outbound SNAT on (`disableOutboundSnat: false`): the
  instances reach the package mirrors and the repository through the frontend IP (the
  "implicit SNAT of a load-balancing rule" of Azure's outbound options). A NAT gateway
  would be the better outbound path, but its association kinds are not in the provider
  CRDs this product validates against;
- the scale set (Ubuntu, no public IP, password login off, the platform's SSH key, no rule
  opening SSH) in the pool, its health from the probe, rolling upgrades (50 % batches)
  and automatic instance repair. The app is started by the Custom Script extension
  (Microsoft.Azure.Extensions/CustomScript 2.1) running function/render/startup.py's
  script: custom data would run only at first boot (and is a secret in this provider),
  while a new commit changes the extension's settings and `forceUpdateTag`, a model
  change that the rolling upgrade rolls out instance by instance;
- an autoscale setting on average CPU (out above 60 %, in below 30 %) when min < max.
  The instance count is set once, at creation (spec.initProvider): the autoscale setting
  owns it afterwards.

Reference fields without a selector are read from observed state: the rule's pool and
probe ids, the scale set's pool id and `healthProbeId`. The scale set is composed once
the load-balancing rule exists (its id is observed), so that instances have outbound
access when their script runs.

Policies: `require-https` puts an Application Gateway (Standard_v2) in front of the scale
set, with the platform's Key Vault certificate (`input.policy.https.keyVaultCertificate`;
gateway.py): the instances' NIC joins its backend pool once the pool's id is observed,
and the security rule admitting `Internet` to the app port is replaced by one admitting
the gateway's subnet only (priority 120, beside the old 110 while a running deployment
moves), so plain HTTP is answered by the gateway's redirect alone. The load balancer,
its probe and its rule stay: the rule is the instances' outbound path (implicit SNAT)
and the probe the scale set's health signal. Without the certificate setting the
decision engine does not choose vm on Azure under the policy (function/policy/https.py).
`enable-monitoring`: monitoring.py (the gateway's metrics under require-https).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from function.policy.admission import ENABLE_MONITORING, REQUIRE_HTTPS
from function.render.azure.base import (
    Observed,
    observed_field,
    observed_id,
    resource,
    select,
)
from function.render.azure.gateway import (
    APP_VIA_GATEWAY,
    APP_VIA_GATEWAY_PRIORITY,
    gateway_cidr,
    render_gateway,
)
from function.render.azure.monitoring import vm_alerts
from function.render.azure.network import (
    SUBNET,
    deny_blocked_ports,
    render_network,
    security_rule,
    subnet_cidr,
)
from function.render.azure.secrets import AzureConfig, config_version, launch_json
from function.render.common import RenderContext, Resources, UnsupportedTarget
from function.render.startup import DEBIAN12, startup_script

PUBLIC_IP = "public-ip"
LOAD_BALANCER = "load-balancer"
BACKEND_POOL = "lb-backend-pool"
PROBE = "lb-probe"
LB_RULE = "lb-rule"
SCALE_SET = "vm-scale-set"
AUTOSCALE = "autoscale-setting"
FRONTEND = "public"
HTTP_PORT = 80
SCALE_OUT_CPU = 60.0
SCALE_IN_CPU = 30.0
EXTENSION = "scia-app"


def image_reference(image_id: str) -> dict[str, str]:
    """`publisher:offer:sku:version` as a source image reference."""
    parts = image_id.split(":")
    if len(parts) != 4 or not all(parts):
        raise UnsupportedTarget(
            f"invalid input.azure.vm.imageId: {image_id!r} is not publisher:offer:sku:version "
            "(like Canonical:ubuntu-24_04-lts:server:latest)"
        )
    publisher, offer, sku, version = parts
    return {"publisher": publisher, "offer": offer, "sku": sku, "version": version}


def _kept_ids(ctx: RenderContext, observed: Observed, component: str, path: str) -> Any:
    """What the observed scale set / rule already names, while an id is not observed."""
    kept = observed_field(observed, component, path)
    if kept:
        ctx.notes.append(
            f"an id {component} refers to is not observed; it keeps {path} until it is"
        )
    return kept


def render_vm(
    ctx: RenderContext, observed: Observed, config: AzureConfig | None = None
) -> Resources:
    """The strategy's resources; with `config` (render/azure/secrets.py) the instances run
    as the app's managed identity and the start-up script installs the launcher, which
    reads the app's configuration at each start (the instance metadata service's token)."""
    config = config or AzureConfig()
    d = ctx.decision
    assert d.vm is not None, "vm decision without vm parameters"
    az = ctx.settings.azure
    if not az.admin_ssh_public_key:
        raise UnsupportedTarget(
            "invalid input.azure.adminSshPublicKey: the Azure vm strategy needs the platform's "
            "SSH public key (Azure requires one for a Linux scale set with password login off; "
            "no rule opens SSH)"
        )
    vm = d.vm
    port = d.port
    subnet_range = subnet_cidr(az.network.vnet_cidr)
    out = render_network(ctx)

    out["nsg-allow-lb-probe"] = security_rule(
        ctx,
        "nsg-allow-lb-probe",
        100,
        "Allow",
        sourceAddressPrefix="AzureLoadBalancer",
        destinationAddressPrefix=subnet_range,
        destinationPortRange=str(port),
        description="health probes of the load balancer to the application port",
    )
    https = ctx.has_policy(REQUIRE_HTTPS)
    clients, gateway_pool = _client_path(ctx, observed, subnet_range)
    out |= clients
    out |= deny_blocked_ports(ctx, port)

    out[PUBLIC_IP] = resource(
        ctx,
        "network",
        "PublicIP",
        PUBLIC_IP,
        {
            "allocationMethod": "Static",
            "sku": "Standard",
            "ipVersion": "IPv4",
            "domainNameLabel": "",  # names.py picks it (and keeps the observed one)
        },
    )
    out[LOAD_BALANCER] = resource(
        ctx,
        "network",
        "LoadBalancer",
        LOAD_BALANCER,
        {
            "sku": "Standard",
            "frontendIpConfiguration": [
                {"name": FRONTEND, "publicIpAddressIdSelector": select(PUBLIC_IP)}
            ],
        },
    )
    out[BACKEND_POOL] = resource(
        ctx,
        "network",
        "LoadBalancerBackendAddressPool",
        BACKEND_POOL,
        {"loadbalancerIdSelector": select(LOAD_BALANCER)},
    )
    out[PROBE] = resource(
        ctx,
        "network",
        "LoadBalancerProbe",
        PROBE,
        {
            "loadbalancerIdSelector": select(LOAD_BALANCER),
            "protocol": "Http",
            "port": port,
            "requestPath": d.health_check_path,
            "intervalInSeconds": 15,
            "numberOfProbes": 2,
        },
    )
    pool_id = observed_id(observed, BACKEND_POOL)
    probe_id = observed_id(observed, PROBE)
    pools = [pool_id] if pool_id else _kept_ids(ctx, observed, LB_RULE, "backendAddressPoolIds")
    probe = probe_id or _kept_ids(ctx, observed, LB_RULE, "probeId")
    if pools and probe:
        out[LB_RULE] = resource(
            ctx,
            "network",
            "LoadBalancerRule",
            LB_RULE,
            {
                "loadbalancerIdSelector": select(LOAD_BALANCER),
                "frontendIpConfigurationName": FRONTEND,
                "protocol": "Tcp",
                "frontendPort": HTTP_PORT,
                "backendPort": port,
                "backendAddressPoolIds": list(pools),
                "probeId": probe,
                "disableOutboundSnat": False,
                "idleTimeoutInMinutes": 4,
                "loadDistribution": "Default",
            },
        )
    else:
        ctx.notes.append(
            "the load-balancing rule is composed once its backend pool's and probe's ids are "
            "observed (the rule names them by id)"
        )

    monitored = ctx.has_policy(ENABLE_MONITORING)
    rule_exists = observed_id(observed, LB_RULE) is not None or SCALE_SET in observed
    waiting = None
    if not (pools and probe and rule_exists):
        waiting = (
            "the VM scale set is composed once the load-balancing rule exists: the rule gives "
            "the instances outbound access for their start-up script"
        )
    elif https and not gateway_pool and SCALE_SET not in observed:
        waiting = (
            "the VM scale set is composed once the Application Gateway's backend pool id is "
            "observed (app-gateway status.atProvider.backendAddressPool): its instances join it"
        )
    elif not config.ready and SCALE_SET not in observed:
        waiting = (
            "the VM scale set is composed once the app identity and its Key Vault are "
            "observed (its instances read the app's configuration as that identity)"
        )
    if waiting:
        ctx.notes.append(waiting)
        if monitored:
            out |= vm_alerts(ctx, observed, gateway=https)
        return out

    update_tag, boot, identity = _boot(ctx, config)
    out[SCALE_SET] = resource(
        ctx,
        "compute",
        "LinuxVirtualMachineScaleSet",
        SCALE_SET,
        {
            "sku": vm.instance_type,
            "adminUsername": az.admin_username,
            "adminSshKey": [{"username": az.admin_username, "publicKey": az.admin_ssh_public_key}],
            "disablePasswordAuthentication": True,
            "computerNamePrefix": "app",
            "sourceImageReference": image_reference(az.vm.image_id),
            "osDisk": {
                "caching": "ReadWrite",
                "storageAccountType": "StandardSSD_LRS",
                "diskSizeGb": vm.volume_gb,
            },
            "networkInterface": [
                {
                    "name": "nic",
                    "primary": True,
                    "ipConfiguration": [
                        _ip_config(ctx, observed, list(pools), gateway_pool if https else None)
                    ],
                }
            ],
            "healthProbeId": probe,
            "upgradeMode": "Rolling",
            "rollingUpgradePolicy": {
                "maxBatchInstancePercent": 50,
                "maxUnhealthyInstancePercent": 50,
                "maxUnhealthyUpgradedInstancePercent": 50,
                "pauseTimeBetweenBatches": "PT30S",
            },
            "automaticInstanceRepair": {"enabled": True, "gracePeriod": "PT30M"},
            **identity,
            "extension": [
                {
                    "name": EXTENSION,
                    "publisher": "Microsoft.Azure.Extensions",
                    "type": "CustomScript",
                    "typeHandlerVersion": "2.1",
                    "autoUpgradeMinorVersion": True,
                    "forceUpdateTag": update_tag,
                    "settings": json.dumps(
                        {"script": base64.b64encode(boot.encode()).decode()}, sort_keys=True
                    ),
                }
            ],
        },
        init_provider={"instances": vm.desired_capacity},
    )
    if vm.max_size > vm.min_size:
        out[AUTOSCALE] = resource(
            ctx,
            "insights",
            "MonitorAutoscaleSetting",
            AUTOSCALE,
            {
                "targetResourceIdSelector": select(SCALE_SET),
                "enabled": True,
                "profile": [
                    {
                        "name": "cpu",
                        "capacity": {
                            "default": vm.desired_capacity,
                            "minimum": vm.min_size,
                            "maximum": vm.max_size,
                        },
                        "rule": [
                            _cpu_rule("GreaterThan", SCALE_OUT_CPU, "Increase"),
                            _cpu_rule("LessThan", SCALE_IN_CPU, "Decrease"),
                        ],
                    }
                ],
            },
        )
    if monitored:
        out |= vm_alerts(ctx, observed, gateway=https)
    return out


def _client_path(
    ctx: RenderContext, observed: Observed, subnet_range: str
) -> tuple[Resources, str | None]:
    """How clients reach the app port: through the load-balancing rule from `Internet`, or
    under require-https through the Application Gateway only (gateway.py; its backend pool
    id, once observed, is returned): the load balancer's rule stays for outbound SNAT and
    its probe, but no internet source reaches the app port, so nothing answers plain HTTP
    but the gateway's redirect."""
    d = ctx.decision
    port = d.port
    out: Resources = {}
    if not ctx.has_policy(REQUIRE_HTTPS):
        out["nsg-allow-app-via-lb"] = security_rule(
            ctx,
            "nsg-allow-app-via-lb",
            110,
            "Allow",
            sourceAddressPrefix="Internet",
            destinationAddressPrefix=subnet_range,
            destinationPortRange=str(port),
            description="clients through the load-balancing rule (no public IPs on instances)",
        )
        return out, None
    out[APP_VIA_GATEWAY] = security_rule(
        ctx,
        APP_VIA_GATEWAY,
        APP_VIA_GATEWAY_PRIORITY,
        "Allow",
        sourceAddressPrefix=gateway_cidr(ctx.settings.azure.network.vnet_cidr),
        destinationAddressPrefix=subnet_range,
        destinationPortRange=str(port),
        description="clients through the Application Gateway (its subnet) only",
    )
    gateway, pool = render_gateway(ctx, observed, port, d.health_check_path)
    return out | gateway, pool


def _ip_config(
    ctx: RenderContext, observed: Observed, pools: list[str], gateway_pool: str | None
) -> dict[str, Any]:
    """The instances' NIC ip configuration: in the load balancer's pool, and under
    require-https in the Application Gateway's (its id once observed; meanwhile what the
    observed scale set joined, if anything)."""
    out: dict[str, Any] = {
        "name": "ipv4",
        "primary": True,
        "subnetIdSelector": select(SUBNET),
        "loadBalancerBackendAddressPoolIds": pools,
    }
    if not ctx.has_policy(REQUIRE_HTTPS):
        return out
    path = "networkInterface.ipConfiguration.applicationGatewayBackendAddressPoolIds"
    gateway = [gateway_pool] if gateway_pool else _kept_ids(ctx, observed, SCALE_SET, path)
    if gateway:
        out["applicationGatewayBackendAddressPoolIds"] = list(gateway)
    return out


def _boot(ctx: RenderContext, config: AzureConfig) -> tuple[str, str, dict[str, Any]]:
    """The extension's forceUpdateTag, the start-up script, and the scale set's identity
    (the app's, when it reads configuration)."""
    d = ctx.decision
    port = d.port
    # Ubuntu 24.04 runs the Debian (apt) flavour of the shared boot script.
    launch = launch_json(ctx, config)
    boot = startup_script(
        ctx.spec.repository.url,
        ctx.commit,
        ctx.analysis,
        port,
        d.start_command,
        ctx.analysis.has_dockerfile,
        DEBIAN12,
        launch_config=launch,
    )
    # A new configuration (a value, a secret's version) re-runs the script like a commit.
    version = config_version(launch)
    update_tag = ctx.commit[:12] + (f"-{version[:8]}" if version else "")
    identity: dict[str, Any] = {}
    if config.identity_id:
        identity["identity"] = {"type": "UserAssigned", "identityIds": [config.identity_id]}
    return update_tag, boot, identity


def _cpu_rule(operator: str, threshold: float, direction: str) -> dict[str, Any]:
    return {
        "metricTrigger": {
            "metricName": "Percentage CPU",
            "metricNamespace": "microsoft.compute/virtualmachinescalesets",
            "metricResourceIdSelector": select(SCALE_SET),
            "timeGrain": "PT1M",
            "statistic": "Average",
            "timeWindow": "PT5M",
            "timeAggregation": "Average",
            "operator": operator,
            "threshold": threshold,
        },
        "scaleAction": {
            "direction": direction,
            "type": "ChangeCount",
            "value": 1,
            "cooldown": "PT5M",
        },
    }

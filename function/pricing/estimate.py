"""Monthly cost of a deployment decision, itemised, from the price catalog.

Each line item is quantity x unit price (hourly resources count hours: 730 per month), rounded
to cents; the total is the sum of the line items.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from function.clouds import GATEWAY_RESERVED_CAPACITY_UNITS, gateway_capacity, node_disk_gb
from function.model import Decision, KubernetesParams, ServerlessParams, Strategy, VmParams
from function.pricing.catalog import HOURS_PER_MONTH, PriceCatalog, PriceKey, PricingError
from function.pricing.datastores import nat_items, store_items

_CENT = Decimal("0.01")


class _Camel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
    )


class UsageAssumptions(_Camel):
    """Usage the prices are multiplied by (function input `pricing.assumptions`)."""

    requests_per_month: int = Field(default=1_000_000, ge=0, le=10**12)
    avg_duration_ms: float = Field(default=200.0, gt=0, le=900_000)
    alb_lcus: float = Field(default=1.0, ge=0, le=10_000)  # average LCUs the ALB consumes
    nlb_lcus: float = Field(default=1.0, ge=0, le=10_000)  # average NLCUs the NLB consumes
    # kubernetes: the public Service of type LoadBalancer, a Network Load Balancer
    kubernetes_load_balancer: bool = True
    nat_gateways: int = Field(default=0, ge=0, le=16)  # vm and kubernetes
    nat_data_gb_per_month: float = Field(default=0.0, ge=0, le=10**9)
    # GCP: GiB the global HTTP(S) load balancer processes per month (vm, kubernetes).
    lb_data_gb_per_month: float = Field(default=10.0, ge=0, le=10**9)
    # Images built from the repository (serverless without spec.image, docs/build.md):
    # builds a month (commits and rebuilds, plus the schedule's re-checks, each billed at
    # least a minute), minutes per build, and the image size the ECR repository keeps.
    builds_per_month: int = Field(default=30, ge=0, le=100_000)
    minutes_per_build: float = Field(default=6.0, gt=0, le=480)
    image_gb: float = Field(default=0.5, gt=0, le=100)
    images_kept: int = Field(default=10, ge=1, le=1000)
    # Azure: the AKS control plane on the Standard tier (input.azure.kubernetesSkuTier)
    aks_standard_tier: bool = False
    # The app's secrets (spec.envFrom, bound stores): the launcher (or Cloud Run) reads
    # each one at every start of an instance, pod, revision or function environment.
    app_starts_per_month: int = Field(default=100, ge=0, le=10**9)
    # CloudWatch Logs (every AWS strategy: the application's and the builds' log groups):
    # GB ingested a month, kept for the retention (input.build.logRetentionDays, 30).
    log_gb_per_month: float = Field(default=1.0, ge=0, le=10**7)
    log_retention_days: int = Field(default=30, ge=1, le=3653)


DEFAULT_ASSUMPTIONS = UsageAssumptions()


class CostItem(_Camel):
    resource: str
    description: str
    unit: str
    quantity: float
    unit_price: float
    monthly: float


class CostEstimate(_Camel):
    strategy: Strategy
    region: str
    currency: str = "USD"
    monthly_total: float
    breakdown: list[CostItem]


def estimate(
    decision: Decision,
    region: str,
    catalog: PriceCatalog,
    assumptions: UsageAssumptions = DEFAULT_ASSUMPTIONS,
    *,
    built_image: bool = False,
    existing_network: bool = False,
    secrets: int = 0,
    https: bool = False,
) -> CostEstimate:
    """The on-demand monthly cost of running the decision in the region (of whichever
    cloud the region is: catalog.cloud_of).

    `built_image`: the image is built from the repository (no spec.image): serverless adds
    CodeBuild minutes and ECR storage (AWS only: GCP and Azure serverless need spec.image),
    kubernetes the node time its build Jobs take and the registry (ECR or Artifact Registry
    storage, an Azure Container Registry Basic's daily fee); vm builds on its instances:
    nothing added. Every AWS strategy adds CloudWatch Logs
    ingestion and storage.

    `existing_network`: the platform's network is used (AWS `network.vpcId`): a serverless
    function with composed stores goes out through the platform's route, so no NAT gateway
    of its own is priced (render/aws/lambda_vpc.py composes one only in the product's own
    network).

    `secrets`: how many secrets the configuration copies into the cloud's secret store
    (config/env.py `secret_count`): AWS Secrets Manager per secret-month, GCP Secret
    Manager per active version-month (one version each), Azure Key Vault nothing per
    secret; each also per 10,000 reads, `app_starts_per_month` reads of every secret.

    `https`: the deployment carries require-https. An Azure vm then adds its Application
    Gateway (render/azure/gateway.py): the fixed gateway-hours, the capacity units its
    autoscale minimum reserves (10 per instance, billed used or not; use above them is not
    priced) and its public IP. The load balancer stays (the instances' outbound path and
    health probe), so nothing is taken off. On GKE the public entry point is then a GKE
    Ingress's global external Application Load Balancer (render/gcp/kubernetes.py) rather
    than the Service's passthrough Network Load Balancer: the same forwarding-rule and
    data-processing prices, named for what they are; its static address is in use by the
    forwarding rule and is not priced apart (as a GCP vm's). Other HTTPS costs nothing
    more here (the ALB and the vm's global load balancer are priced anyway).

    Raises PricingError for an unknown region or instance type, or a decision without the
    parameters of its strategy.
    """
    model = _COST_MODELS.get(catalog.cloud_of(region))
    if model is None:
        raise PricingError(f"no cost model for {catalog.cloud_of(region)} (region {region!r})")
    items = model(decision, region, catalog, assumptions, https)
    if https and catalog.cloud_of(region) == "azure" and decision.strategy is Strategy.VM:
        items += _app_gateway(_params(decision.vm, decision.strategy), region, catalog)
    for store in decision.data_stores or []:  # composed data stores (AWS, GCP, Azure)
        items += [_item(*line) for line in store_items(store, region, catalog)]
    aws = catalog.cloud_of(region) == "aws"
    if (
        aws
        and decision.data_stores
        and decision.strategy is Strategy.SERVERLESS
        and not existing_network
    ):
        # The function in the stores' VPC goes out through a NAT gateway (lambda_vpc.py).
        items += [_item(*line) for line in nat_items(region, catalog)]
    if built_image and aws and decision.strategy is Strategy.SERVERLESS:
        params_sl = _params(decision.serverless, decision.strategy)
        items += _image_build(params_sl.architecture, region, catalog, assumptions)
    if built_image and decision.strategy is Strategy.KUBERNETES:
        params_k = _params(decision.kubernetes, decision.strategy)
        items += _build_jobs(params_k, region, catalog, assumptions)
    if secrets:
        items += _secret_store(secrets, region, catalog, assumptions)
    if aws:
        items += _logs(region, catalog, assumptions)
    total = sum((Decimal(str(i.monthly)) for i in items), Decimal(0))
    return CostEstimate(
        strategy=decision.strategy,
        region=region,
        currency=catalog.currency,
        monthly_total=float(total.quantize(_CENT, ROUND_HALF_UP)),
        breakdown=items,
    )


_P = TypeVar("_P", VmParams, KubernetesParams, ServerlessParams)


def _params(params: _P | None, strategy: Strategy) -> _P:
    if params is None:
        raise PricingError(
            f"decision has strategy {strategy.value!r} but no {strategy.value} parameters"
        )
    return params


def _item(resource: str, description: str, unit: str, quantity: float, price: float) -> CostItem:
    monthly = (Decimal(str(quantity)) * Decimal(str(price))).quantize(_CENT, ROUND_HALF_UP)
    return CostItem(
        resource=resource,
        description=description,
        unit=unit,
        quantity=quantity,
        unit_price=price,
        monthly=float(monthly),
    )


def _instances(
    resource: str, count: int, instance_type: str, region: str, catalog: PriceCatalog
) -> CostItem:
    p = catalog.instance(region, instance_type)
    return _item(
        resource,
        f"{count} x {instance_type} ({p.vcpu} vCPU, {p.memory_gib:g} GiB, {p.arch}), "
        f"on-demand Linux, {HOURS_PER_MONTH} h/month",
        "instance-hour",
        count * HOURS_PER_MONTH,
        p.hourly,
    )


def _gp3(resource: str, count: int, size_gb: int, region: str, catalog: PriceCatalog) -> CostItem:
    u = catalog.unit(region, PriceKey.EBS_GP3_GB_MONTH)
    return _item(resource, f"{count} x {size_gb} GB EBS gp3", u.unit, count * size_gb, u.price)


def _alb(region: str, catalog: PriceCatalog, a: UsageAssumptions) -> list[CostItem]:
    hour = catalog.unit(region, PriceKey.ALB_HOUR)
    lcu = catalog.unit(region, PriceKey.ALB_LCU_HOUR)
    return [
        _item("alb", "1 Application Load Balancer", hour.unit, HOURS_PER_MONTH, hour.price),
        _item(
            "alb-lcu",
            f"{a.alb_lcus:g} LCU on average (assumed)",
            lcu.unit,
            a.alb_lcus * HOURS_PER_MONTH,
            lcu.price,
        ),
    ]


def _nlb(region: str, catalog: PriceCatalog, a: UsageAssumptions) -> list[CostItem]:
    hour = catalog.unit(region, PriceKey.NLB_HOUR)
    lcu = catalog.unit(region, PriceKey.NLB_LCU_HOUR)
    return [
        _item(
            "nlb",
            "1 Network Load Balancer (the Service of type LoadBalancer)",
            hour.unit,
            HOURS_PER_MONTH,
            hour.price,
        ),
        _item(
            "nlb-lcu",
            f"{a.nlb_lcus:g} NLCU on average (assumed)",
            lcu.unit,
            a.nlb_lcus * HOURS_PER_MONTH,
            lcu.price,
        ),
    ]


def _nat(region: str, catalog: PriceCatalog, a: UsageAssumptions) -> list[CostItem]:
    if a.nat_gateways == 0:
        return []
    hour = catalog.unit(region, PriceKey.NAT_GATEWAY_HOUR)
    data = catalog.unit(region, PriceKey.NAT_GATEWAY_GB)
    return [
        _item(
            "nat-gateway",
            f"{a.nat_gateways} NAT gateway(s) (assumed)",
            hour.unit,
            a.nat_gateways * HOURS_PER_MONTH,
            hour.price,
        ),
        _item(
            "nat-gateway-data",
            f"{a.nat_data_gb_per_month:g} GB through NAT per month (assumed)",
            data.unit,
            a.nat_data_gb_per_month,
            data.price,
        ),
    ]


def _aws(
    decision: Decision,
    region: str,
    catalog: PriceCatalog,
    a: UsageAssumptions,
    https: bool = False,
) -> list[CostItem]:
    if decision.strategy is Strategy.VM:
        return _vm(_params(decision.vm, decision.strategy), region, catalog, a)
    if decision.strategy is Strategy.KUBERNETES:
        return _kubernetes(_params(decision.kubernetes, decision.strategy), region, catalog, a)
    return _serverless(_params(decision.serverless, decision.strategy), region, catalog, a)


def _vm(p: VmParams, region: str, catalog: PriceCatalog, a: UsageAssumptions) -> list[CostItem]:
    n = p.desired_capacity
    return [
        _instances("ec2-instances", n, p.instance_type, region, catalog),
        _gp3("ebs-volumes", n, p.volume_gb, region, catalog),
        *_alb(region, catalog, a),
        *_nat(region, catalog, a),
    ]


def _kubernetes(
    p: KubernetesParams, region: str, catalog: PriceCatalog, a: UsageAssumptions
) -> list[CostItem]:
    eks = catalog.unit(region, PriceKey.EKS_CLUSTER_HOUR)
    n = p.desired_nodes
    return [
        _item(
            "eks-control-plane",
            "1 EKS cluster, standard support",
            eks.unit,
            HOURS_PER_MONTH,
            eks.price,
        ),
        _instances("eks-nodes", n, p.node_instance_type, region, catalog),
        _gp3("eks-node-volumes", n, p.disk_gb, region, catalog),
        *(_nlb(region, catalog, a) if a.kubernetes_load_balancer else []),
        *_nat(region, catalog, a),
    ]


def _serverless(
    p: ServerlessParams, region: str, catalog: PriceCatalog, a: UsageAssumptions
) -> list[CostItem]:
    requests = catalog.unit(region, PriceKey.LAMBDA_REQUESTS_PER_MILLION)
    compute_key = (
        PriceKey.LAMBDA_GB_SECOND_ARM64
        if p.architecture == "arm64"
        else PriceKey.LAMBDA_GB_SECOND_X86_64
    )
    compute = catalog.unit(region, compute_key)
    duration_ms = min(a.avg_duration_ms, p.timeout_seconds * 1000)
    gb_seconds = p.memory_mb / 1024 * duration_ms / 1000 * a.requests_per_month
    return [
        _item(
            "lambda-requests",
            f"{a.requests_per_month:,} requests per month (assumed); free tier not applied",
            requests.unit,
            a.requests_per_month / 1_000_000,
            requests.price,
        ),
        _item(
            "lambda-compute",
            f"{p.memory_mb} MB x {duration_ms:g} ms average x {a.requests_per_month:,} requests, "
            f"{p.architecture}; free tier not applied",
            compute.unit,
            gb_seconds,
            compute.price,
        ),
    ]


# ---- Google Cloud ------------------------------------------------------------------------


def cloud_run_vcpus(memory_mb: int) -> int:
    """The vCPUs a Cloud Run instance gets for its memory: the fewest Cloud Run allows
    (more than 4 GiB needs 2, more than 8 GiB 4; https://cloud.google.com/run/docs/configuring/services/memory-limits)."""
    if memory_mb <= 4096:
        return 1
    if memory_mb <= 8192:
        return 2
    return 4


def _gcp(
    decision: Decision,
    region: str,
    catalog: PriceCatalog,
    a: UsageAssumptions,
    https: bool = False,
) -> list[CostItem]:
    if decision.strategy is Strategy.VM:
        p = _params(decision.vm, decision.strategy)
        n = p.desired_capacity
        return [
            _instances("gce-instances", n, p.instance_type, region, catalog),
            _pd("boot-disks", n, p.volume_gb, region, catalog),
            *_gcp_lb(region, catalog, a, "global external Application Load Balancer"),
            *_cloud_nat(n, region, catalog, a),
        ]
    if decision.strategy is Strategy.KUBERNETES:
        k = _params(decision.kubernetes, decision.strategy)
        gke = catalog.unit(region, PriceKey.GKE_CLUSTER_HOUR)
        n = k.desired_nodes
        return [
            _item(
                "gke-cluster",
                "1 GKE Standard cluster management fee (free-tier credit not applied)",
                gke.unit,
                HOURS_PER_MONTH,
                gke.price,
            ),
            _instances("gke-nodes", n, k.node_instance_type, region, catalog),
            _pd("gke-node-disks", n, node_disk_gb("gcp", k.disk_gb), region, catalog),
            *(
                _gcp_lb(
                    region,
                    catalog,
                    a,
                    "the GKE Ingress's global external Application Load Balancer"
                    if https
                    else "the Service's passthrough Network Load Balancer",
                )
                if a.kubernetes_load_balancer
                else []
            ),
        ]
    sl = _params(decision.serverless, decision.strategy)
    requests = catalog.unit(region, PriceKey.CLOUD_RUN_REQUESTS_PER_MILLION)
    cpu = catalog.unit(region, PriceKey.CLOUD_RUN_VCPU_SECOND)
    mem = catalog.unit(region, PriceKey.CLOUD_RUN_GIB_SECOND)
    duration_s = min(a.avg_duration_ms, sl.timeout_seconds * 1000) / 1000
    vcpus = cloud_run_vcpus(sl.memory_mb)
    busy_s = duration_s * a.requests_per_month
    # A Cloud SQL Auth Proxy sidecar per composed SQL store (render/gcp/datastores.py):
    # 1 vCPU and 512 MiB billed while requests are served, like the app's container.
    proxies = sum(1 for s in decision.data_stores or [] if s.kind != "redis")
    sidecars = (
        [
            _item(
                "cloud-run-sql-proxy-cpu",
                f"{proxies} Cloud SQL Auth Proxy sidecar x 1 vCPU x {duration_s * 1000:g} ms "
                f"average x {a.requests_per_month:,} requests",
                cpu.unit,
                proxies * busy_s,
                cpu.price,
            ),
            _item(
                "cloud-run-sql-proxy-memory",
                f"{proxies} Cloud SQL Auth Proxy sidecar x 512 MiB x {duration_s * 1000:g} ms "
                f"average x {a.requests_per_month:,} requests",
                mem.unit,
                proxies * 0.5 * busy_s,
                mem.price,
            ),
        ]
        if proxies
        else []
    )
    return [
        _item(
            "cloud-run-requests",
            f"{a.requests_per_month:,} requests per month (assumed); free tier not applied",
            requests.unit,
            a.requests_per_month / 1_000_000,
            requests.price,
        ),
        _item(
            "cloud-run-cpu",
            f"{vcpus} vCPU x {duration_s * 1000:g} ms average x {a.requests_per_month:,} "
            "requests (request-based billing); free tier not applied",
            cpu.unit,
            vcpus * busy_s,
            cpu.price,
        ),
        _item(
            "cloud-run-memory",
            f"{sl.memory_mb} MiB x {duration_s * 1000:g} ms average x "
            f"{a.requests_per_month:,} requests; free tier not applied",
            mem.unit,
            sl.memory_mb / 1024 * busy_s,
            mem.price,
        ),
        *sidecars,
    ]


def _pd(resource: str, count: int, size_gb: int, region: str, catalog: PriceCatalog) -> CostItem:
    u = catalog.unit(region, PriceKey.PD_BALANCED_GB_MONTH)
    return _item(resource, f"{count} x {size_gb} GiB balanced PD", u.unit, count * size_gb, u.price)


def _gcp_lb(region: str, catalog: PriceCatalog, a: UsageAssumptions, what: str) -> list[CostItem]:
    """One forwarding rule and the data it processes (the same prices for the global
    Application Load Balancer of a vm or a GKE Ingress and a GKE Service's passthrough
    Network Load Balancer); `what` says which it is."""
    rule = catalog.unit(region, PriceKey.LB_FORWARDING_RULE_HOUR)
    data = catalog.unit(region, PriceKey.LB_DATA_GB)
    return [
        _item(
            "lb-forwarding-rule",
            f"1 forwarding rule ({what})",
            rule.unit,
            HOURS_PER_MONTH,
            rule.price,
        ),
        _item(
            "lb-data",
            f"{a.lb_data_gb_per_month:g} GiB processed per month (assumed)",
            data.unit,
            a.lb_data_gb_per_month,
            data.price,
        ),
    ]


def _cloud_nat(vms: int, region: str, catalog: PriceCatalog, a: UsageAssumptions) -> list[CostItem]:
    hour = catalog.unit(region, PriceKey.CLOUD_NAT_VM_HOUR)
    data = catalog.unit(region, PriceKey.CLOUD_NAT_GB)
    return [
        _item(
            "cloud-nat",
            f"Cloud NAT for {vms} VM(s) without public IPs",
            hour.unit,
            min(vms, 32) * HOURS_PER_MONTH,
            hour.price,
        ),
        _item(
            "cloud-nat-data",
            f"{a.nat_data_gb_per_month:g} GiB through Cloud NAT per month (assumed)",
            data.unit,
            a.nat_data_gb_per_month,
            data.price,
        ),
    ]


# ---- Microsoft Azure -----------------------------------------------------------------------


def _azure(
    decision: Decision,
    region: str,
    catalog: PriceCatalog,
    a: UsageAssumptions,
    https: bool = False,
) -> list[CostItem]:
    if decision.strategy is Strategy.VM:
        p = _params(decision.vm, decision.strategy)
        n = p.desired_capacity
        return [
            _instances("vmss-instances", n, p.instance_type, region, catalog),
            _standard_ssd("os-disks", n, p.volume_gb, region, catalog),
            *_azure_lb(region, catalog, a, "the load balancer's public IP (Standard, static)"),
        ]
    if decision.strategy is Strategy.KUBERNETES:
        k = _params(decision.kubernetes, decision.strategy)
        tier = catalog.unit(region, PriceKey.AKS_STANDARD_CLUSTER_HOUR)
        ip = catalog.unit(region, PriceKey.PUBLIC_IP_HOUR)
        n = k.desired_nodes
        control = (
            _item(
                "aks-control-plane",
                "1 AKS cluster, Standard tier (uptime SLA)",
                tier.unit,
                HOURS_PER_MONTH,
                tier.price,
            )
            if a.aks_standard_tier
            else _item("aks-control-plane", "1 AKS cluster, Free tier", tier.unit, 0, tier.price)
        )
        return [
            control,
            _instances("aks-nodes", n, k.node_instance_type, region, catalog),
            _standard_ssd("aks-node-disks", n, node_disk_gb("azure", k.disk_gb), region, catalog),
            # AKS's own Standard load balancer and outbound public IP (outboundType loadBalancer)
            *_azure_lb(region, catalog, a, "the cluster's outbound public IP"),
            # the public Service's frontend: cloud-provider-azure adds a Standard public IP
            # of its own on the same load balancer (render/azure/kubernetes.py); under
            # require-https that Service is the application routing add-on's NGINX (80 and
            # 443: still one IP, and within the 5 rules the load balancer's price covers),
            # whose pods run on the nodes priced above (render/azure/approuting.py)
            _item(
                "service-public-ip",
                "the public Service's public IP (Standard, static)",
                ip.unit,
                HOURS_PER_MONTH,
                ip.price,
            ),
        ]
    sl = _params(decision.serverless, decision.strategy)
    requests = catalog.unit(region, PriceKey.CONTAINER_APPS_REQUESTS_PER_MILLION)
    cpu = catalog.unit(region, PriceKey.CONTAINER_APPS_VCPU_SECOND)
    mem = catalog.unit(region, PriceKey.CONTAINER_APPS_GIB_SECOND)
    vcpus, gib = container_apps_size(sl.memory_mb)
    duration_s = min(a.avg_duration_ms, sl.timeout_seconds * 1000) / 1000
    busy_s = duration_s * a.requests_per_month
    return [
        _item(
            "container-apps-requests",
            f"{a.requests_per_month:,} requests per month (assumed); free grant not applied",
            requests.unit,
            a.requests_per_month / 1_000_000,
            requests.price,
        ),
        _item(
            "container-apps-cpu",
            f"{vcpus:g} vCPU x {duration_s * 1000:g} ms average x {a.requests_per_month:,} "
            "requests (active, scales to zero); free grant not applied",
            cpu.unit,
            vcpus * busy_s,
            cpu.price,
        ),
        _item(
            "container-apps-memory",
            f"{gib:g} GiB x {duration_s * 1000:g} ms average x {a.requests_per_month:,} "
            "requests; free grant not applied",
            mem.unit,
            gib * busy_s,
            mem.price,
        ),
    ]


def container_apps_size(memory_mb: int) -> tuple[float, float]:
    """(vCPU, GiB) of a Consumption container for `memory_mb`: memory rounded up to 0.5 GiB
    (0.5 to 8), half as many vCPUs (the render's sizes: function/render/azure/serverless.py)."""
    gib = min(8.0, max(0.5, math.ceil(memory_mb / 512) * 0.5))
    return gib / 2, gib


def _standard_ssd(
    resource: str, count: int, size_gb: int, region: str, catalog: PriceCatalog
) -> CostItem:
    u = catalog.unit(region, PriceKey.STANDARD_SSD_GB_MONTH)
    return _item(
        resource, f"{count} x {size_gb} GiB Standard SSD", u.unit, count * size_gb, u.price
    )


def _app_gateway(p: VmParams, region: str, catalog: PriceCatalog) -> list[CostItem]:
    """An Application Gateway Standard_v2 (require-https on an Azure vm): its fixed hours,
    the capacity units its autoscale minimum reserves, its public IP."""
    hour = catalog.unit(region, PriceKey.APP_GATEWAY_V2_HOUR)
    cu = catalog.unit(region, PriceKey.APP_GATEWAY_V2_CAPACITY_UNIT_HOUR)
    ip = catalog.unit(region, PriceKey.PUBLIC_IP_HOUR)
    low, _ = gateway_capacity(p.min_size, p.max_size)
    reserved = low * GATEWAY_RESERVED_CAPACITY_UNITS
    return [
        _item(
            "app-gateway",
            "1 Application Gateway Standard_v2 (fixed price)",
            hour.unit,
            HOURS_PER_MONTH,
            hour.price,
        ),
        _item(
            "app-gateway-capacity",
            f"{reserved} capacity units reserved by the autoscale minimum ({low} instance"
            f"{'s' if low > 1 else ''} x {GATEWAY_RESERVED_CAPACITY_UNITS}); use above it not "
            "priced",
            cu.unit,
            HOURS_PER_MONTH * reserved,
            cu.price,
        ),
        _item(
            "gateway-public-ip",
            "the gateway's public IP (Standard, static)",
            ip.unit,
            HOURS_PER_MONTH,
            ip.price,
        ),
    ]


def _azure_lb(
    region: str, catalog: PriceCatalog, a: UsageAssumptions, ip_what: str
) -> list[CostItem]:
    hour = catalog.unit(region, PriceKey.AZURE_LB_HOUR)
    data = catalog.unit(region, PriceKey.AZURE_LB_DATA_GB)
    ip = catalog.unit(region, PriceKey.PUBLIC_IP_HOUR)
    return [
        _item(
            "load-balancer",
            "1 Standard load balancer (up to 5 rules)",
            hour.unit,
            HOURS_PER_MONTH,
            hour.price,
        ),
        _item(
            "load-balancer-data",
            f"{a.lb_data_gb_per_month:g} GB processed per month (assumed)",
            data.unit,
            a.lb_data_gb_per_month,
            data.price,
        ),
        _item("public-ip", ip_what, ip.unit, HOURS_PER_MONTH, ip.price),
    ]


CostModel = Callable[[Decision, str, PriceCatalog, UsageAssumptions, bool], list[CostItem]]
# cloud -> its cost model: the line items of a decision in one of its regions.
_COST_MODELS: dict[str, CostModel] = {"aws": _aws, "gcp": _gcp, "azure": _azure}


def _image_build(
    architecture: str, region: str, catalog: PriceCatalog, a: UsageAssumptions
) -> list[CostItem]:
    """CodeBuild minutes of the image builds and the ECR storage of the images kept."""
    minute = catalog.unit(
        region,
        PriceKey.CODEBUILD_SMALL_MINUTE_ARM64
        if architecture == "arm64"
        else PriceKey.CODEBUILD_SMALL_MINUTE_X86_64,
    )
    storage = catalog.unit(region, PriceKey.ECR_STORAGE_GB_MONTH)
    return [
        _item(
            "codebuild-minutes",
            f"{a.builds_per_month} image builds x {a.minutes_per_build:g} min a month "
            f"(assumed), small {architecture} build",
            minute.unit,
            a.builds_per_month * a.minutes_per_build,
            minute.price,
        ),
        _item(
            "ecr-storage",
            f"{a.images_kept} images x {a.image_gb:g} GB kept (lifecycle policy; size assumed)",
            storage.unit,
            a.images_kept * a.image_gb,
            storage.price,
        ),
    ]


# What one build Job asks of a node (render/kube/build.py: the BuildKit container's
# requests; tests/pricing keeps the two equal).
BUILD_JOB_VCPU = 0.5
BUILD_JOB_MEMORY_GIB = 1.0


def _build_jobs(
    p: KubernetesParams, region: str, catalog: PriceCatalog, a: UsageAssumptions
) -> list[CostItem]:
    """The node time the image builds take (their share of a node while they run, by the
    larger of CPU and memory requested) and the ECR storage of the images kept. Counted on
    top of the nodes: they are sized for the app, and a build competes with it."""
    node = catalog.instance(region, p.node_instance_type)
    share = max(BUILD_JOB_VCPU / node.vcpu, BUILD_JOB_MEMORY_GIB / node.memory_gib)
    hours = a.builds_per_month * a.minutes_per_build / 60
    return [
        _item(
            "build-job-node-time",
            f"{a.builds_per_month} image builds x {a.minutes_per_build:g} min a month "
            f"(assumed), {BUILD_JOB_VCPU:g} vCPU / {BUILD_JOB_MEMORY_GIB:g} GiB of a "
            f"{p.node_instance_type} ({share:.0%} of it)",
            "instance-hour",
            round(hours * share, 4),
            node.hourly,
        ),
        _registry_storage(region, catalog, a),
    ]


def _registry_storage(region: str, catalog: PriceCatalog, a: UsageAssumptions) -> CostItem:
    """The registry the builds push to: ECR or Artifact Registry storage of the images kept,
    or an Azure Container Registry Basic's daily fee (10 GiB included)."""
    cloud = catalog.cloud_of(region)
    if cloud == "azure":
        day = catalog.unit(region, PriceKey.ACR_BASIC_DAY)
        return _item(
            "acr-registry",
            "1 Azure Container Registry, Basic (10 GiB of images included)",
            day.unit,
            round(HOURS_PER_MONTH / 24, 4),
            day.price,
        )
    if cloud == "gcp":
        gar = catalog.unit(region, PriceKey.ARTIFACT_REGISTRY_GB_MONTH)
        return _item(
            "artifact-registry-storage",
            f"{a.images_kept} images x {a.image_gb:g} GB kept (cleanup policies; size "
            "assumed; the free 0.5 GiB not subtracted)",
            gar.unit,
            a.images_kept * a.image_gb,
            gar.price,
        )
    storage = catalog.unit(region, PriceKey.ECR_STORAGE_GB_MONTH)
    return _item(
        "ecr-storage",
        f"{a.images_kept} images x {a.image_gb:g} GB kept (lifecycle policy; size assumed)",
        storage.unit,
        a.images_kept * a.image_gb,
        storage.price,
    )


def _secret_store(
    secrets: int, region: str, catalog: PriceCatalog, a: UsageAssumptions
) -> list[CostItem]:
    """The secret store holding the app's secrets: what is stored, and the reads."""
    cloud = catalog.cloud_of(region)
    reads = secrets * a.app_starts_per_month / 10_000
    read_what = (
        f"{secrets} secrets read at {a.app_starts_per_month} starts a month (assumed), per 10,000"
    )
    if cloud == "azure":
        ops = catalog.unit(region, PriceKey.KEY_VAULT_OPERATIONS_PER_10K)
        return [_item("key-vault-operations", f"Key Vault (Standard): {read_what}; no fee per "
                      "secret stored", ops.unit, reads, ops.price)]  # fmt: skip
    if cloud == "gcp":
        version = catalog.unit(region, PriceKey.SECRET_MANAGER_VERSION_MONTH)
        access = catalog.unit(region, PriceKey.SECRET_MANAGER_ACCESS_PER_10K)
        return [
            _item("secret-manager-versions", f"{secrets} Secret Manager secrets, one active "
                  "version each (the free tier's 6 not subtracted)", version.unit, secrets,
                  version.price),
            _item("secret-manager-access", f"Secret Manager: {read_what}", access.unit, reads,
                  access.price),
        ]  # fmt: skip
    stored = catalog.unit(region, PriceKey.SECRETS_MANAGER_SECRET_MONTH)
    calls = catalog.unit(region, PriceKey.SECRETS_MANAGER_API_PER_10K)
    return [
        _item("secrets-manager-secrets", f"{secrets} Secrets Manager secrets",
              stored.unit, secrets, stored.price),
        _item("secrets-manager-calls", f"Secrets Manager: {read_what}", calls.unit, reads,
              calls.price),
    ]  # fmt: skip


def _logs(region: str, catalog: PriceCatalog, a: UsageAssumptions) -> list[CostItem]:
    """CloudWatch Logs: what the app and its builds write a month, and what is kept (a
    month's worth per 30 days of retention, in the steady state)."""
    ingested = catalog.unit(region, PriceKey.CLOUDWATCH_LOGS_INGESTED_GB)
    stored = catalog.unit(region, PriceKey.CLOUDWATCH_LOGS_STORED_GB_MONTH)
    kept = a.log_gb_per_month * a.log_retention_days / 30
    return [
        _item(
            "cloudwatch-logs-ingestion",
            f"{a.log_gb_per_month:g} GB of application and build logs a month (assumed)",
            ingested.unit,
            a.log_gb_per_month,
            ingested.price,
        ),
        _item(
            "cloudwatch-logs-storage",
            f"{kept:g} GB kept ({a.log_retention_days} days of retention)",
            stored.unit,
            kept,
            stored.price,
        ),
    ]

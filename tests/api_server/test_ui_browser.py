"""The web UI end to end in headless Chromium (Selenium), against scia-api and a real API server.

As team-a's deployer: sign in with the keyboard, create an AppDeployment through the form
(its field errors first), watch its phase change live (the test writes status as
Crossplane would; the page is never reloaded: the subscription brings it), give feedback
and roll back. As team-a's viewer: every mutation is refused. Screenshots are saved as
artefacts in $SCIA_ARTEFACTS/ui (default ~/.cache/function-scia/artefacts/ui).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api_server.cluster import CACHE, Cluster, Tenant

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTEFACTS = Path(os.environ.get("SCIA_ARTEFACTS") or CACHE / "artefacts") / "ui"
UI_DIST = Path(__file__).resolve().parents[2] / "ui" / "dist"
WAIT = 60  # seconds for anything the page waits on (a loaded machine)


def _why_no_browser() -> str:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        return "chromium and chromium-driver are not installed (.ci/setup installs them)"
    if not (UI_DIST / "index.html").exists():
        why = UI_DIST.parent / "dist.UNAVAILABLE"
        return why.read_text().strip() if why.exists() else "ui/dist not built: run .ci/build-ui"
    return ""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _why_no_browser()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--lang=en-US",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: Any, name: str) -> Path:
    path = ARTEFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def wait_text(driver: Any, text: str, seconds: float = WAIT) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, seconds).until(
        lambda d: text in d.find_element(By.TAG_NAME, "body").text,
        message=f"{text!r} never appeared",
    )


def wait_for(driver: Any, check: Any, what: str, seconds: float = WAIT) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(lambda d: check(), message=what)


def sign_in(driver: Any, api: str, token: str, namespace: str) -> None:
    """Keyboard only: type the token, TAB to the namespace, ENTER."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(f"{api}/#/")
    driver.execute_script("sessionStorage.clear(); location.hash = '#/'")
    driver.refresh()  # a new page: no signed-in state left in memory
    box = wait_for(driver, lambda: driver.find_element(By.ID, "token"), "sign-in form")
    box.click()
    box.send_keys(token)
    driver.switch_to.active_element.send_keys(Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("id") == "namespace"
    driver.switch_to.active_element.send_keys(namespace, Keys.ENTER)


def fill(driver: Any, element_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    el = driver.find_element(By.ID, element_id)
    el.send_keys(Keys.CONTROL, "a")
    el.send_keys(Keys.DELETE)
    el.send_keys(value)


def unlabelled_controls(driver: Any) -> list[str]:
    return list(
        driver.execute_script(
            """
            return [...document.querySelectorAll('input, select, textarea, button')]
              .filter(el => {
                if (el.tagName === 'BUTTON') return !el.textContent.trim() && !el.getAttribute('aria-label');
                if (el.closest('label')) return false;
                return !(el.id && document.querySelector(`label[for="${el.id}"]`));
              })
              .map(el => el.outerHTML.slice(0, 80));
            """
        )
    )


def phone(driver: Any, on: bool) -> None:
    """Emulate a 390 x 844 phone screen (a desktop window cannot be made that narrow)."""
    if on:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True},
        )
    else:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def too_wide(driver: Any, width: int) -> list[str]:
    """The innermost elements that reach past `width` pixels (what breaks a phone layout)."""
    return list(
        driver.execute_script(
            """
            const w = arguments[0];
            return [...document.querySelectorAll('body *')]
              .filter(el => el.getBoundingClientRect().right > w + 1)
              .filter(el => ![...el.children].some(c => c.getBoundingClientRect().right > w + 1))
              .slice(0, 8)
              .map(el => `${el.tagName}.${el.className}(${el.textContent.slice(0, 30)}) ${Math.round(el.getBoundingClientRect().right)}px`);
            """,
            width,
        )
    )


def running_status(revision: int, rollback_of: int | None = None) -> dict[str, Any]:
    """What the function's status looks like once a decision is running (revisions 1..2)."""
    decision: dict[str, Any] = {
        "revision": revision,
        "decidedBy": "rollback" if rollback_of else "knowledge-base",
        "decidedAt": "2026-11-29T10:00:00Z",
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "parameters": {
            "strategy": "vm",
            "reason": "flask app; 2x t3.small behind an ALB; about $61.10/month",
            "confidence": 0.82,
        },
    }
    history = [
        {
            "revision": 1,
            "strategy": "serverless",
            "decidedBy": "knowledge-base",
            "cost": 18.4,
            "outcome": "success",
        },
        {
            "revision": 2,
            "strategy": "vm",
            "decidedBy": "knowledge-base",
            "cost": 61.1,
            "outcome": "success",
        },
    ]
    if rollback_of:
        decision["rollbackOf"] = rollback_of
        decision["parameters"] = {
            "strategy": "serverless",
            "reason": "rolled back to revision 1",
            "confidence": 0.7,
        }
        history.append(
            {
                "revision": revision,
                "strategy": "serverless",
                "decidedBy": "rollback",
                "rollbackOf": rollback_of,
                "cost": 18.4,
            }
        )
    return {
        "phase": "Running",
        "message": "every composed resource is ready",
        "outcome": "success",
        "strategy": decision["parameters"]["strategy"],
        "reason": decision["parameters"]["reason"],
        "confidence": decision["parameters"]["confidence"],
        "alternativeStrategies": [
            {
                "strategy": "serverless",
                "reason": "pay-per-request keeps a small app cheap",
                "estimatedMonthlyCost": 18.4,
            },
            {"strategy": "kubernetes", "reason": "scored lower", "estimatedMonthlyCost": 171.5},
        ],
        "endpoints": [
            {"name": "http", "type": "LoadBalancer", "url": "http://web-shop-123.elb.example"}
        ],
        "cost": {
            "estimatedMonthly": 61.1,
            "currency": "USD",
            "breakdown": [
                {"resource": "ec2", "description": "2x t3.small", "monthly": 30.37},
                {"resource": "alb", "description": "1 ALB, 1 LCU", "monthly": 22.27},
                {"resource": "ebs", "description": "2x 20 GB gp3", "monthly": 3.2},
                {"resource": "cloudwatch", "description": "alarms", "monthly": 5.26},
            ],
        },
        "decision": decision,
        "history": history,
    }


def test_deployer_creates_watches_gives_feedback_and_rolls_back(
    browser: Any, api: str, cluster: Cluster, team_a: Tenant
) -> None:
    from selenium.webdriver.common.by import By

    d = browser
    sign_in(d, api, team_a.deployer_token, "team-a")
    wait_text(d, "system:serviceaccount:team-a:deployer")
    wait_text(d, "Deployments in team-a")

    d.find_element(By.LINK_TEXT, "New deployment").click()
    wait_for(d, lambda: d.find_element(By.ID, "f-url"), "the create form")
    wait_for(
        d,
        lambda: len(d.find_elements(By.CSS_SELECTOR, "#f-strategy option")) == 4,
        "the XRD's strategy enum in the form",
    )
    assert unlabelled_controls(d) == []
    fill(d, "f-name", "Web_Shop")
    fill(d, "f-url", "ftp://example.com/x")
    fill(d, "f-budget", "5")
    fill(d, "f-region", "Mars")
    d.find_element(By.XPATH, "//button[normalize-space()='Create deployment']").click()
    wait_text(d, "must be at least 10")
    errors = {
        e.get_attribute("id"): e.text for e in d.find_elements(By.CSS_SELECTOR, ".field-error")
    }
    assert "f-budget-error" in errors and "f-url-error" in errors, errors
    assert "f-name-error" in errors and "f-region-error" in errors, errors
    assert d.find_element(By.ID, "f-budget").get_attribute("aria-invalid") == "true"
    assert d.switch_to.active_element.get_attribute("id") == "f-name"  # focus on the first error
    shot(d, "01-create-form-field-errors")

    fill(d, "f-name", "web-shop")
    fill(d, "f-url", "https://github.com/acme/flask-app")
    fill(d, "f-budget", "300")
    fill(d, "f-region", "eu-west-1")
    fill(d, "f-prompt", "a small internal shop API, highly available")
    assert d.find_elements(By.CSS_SELECTOR, ".field-error") == []
    d.find_element(By.XPATH, "//button[normalize-space()='Estimate cost']").click()
    wait_text(d, "Estimated monthly cost by resource", 180)
    shot(d, "02-create-form-cost-estimate")
    assert (
        cluster.admin.get(
            "/apis/scia.io/v1alpha1/namespaces/team-a/appdeployments/web-shop"
        ).status_code
        == 404
    ), "the estimate created something"

    d.find_element(By.XPATH, "//button[normalize-space()='Create deployment']").click()
    wait_for(d, lambda: d.current_url.endswith("#/d/web-shop"), "the details page")
    phase = lambda: d.find_element(By.CSS_SELECTOR, "[data-testid=phase]").text  # noqa: E731
    wait_for(d, lambda: phase() == "Pending", "phase Pending")
    assert cluster.get("team-a", "web-shop")["spec"]["budget"]["maxMonthlyCost"] == 300

    # Crossplane's turn: the function's status, written to the status subresource.
    url_before = d.current_url
    cluster.set_status("team-a", "web-shop", {"phase": "Analyzing", "message": "deciding"})
    wait_for(d, lambda: phase() == "Analyzing", "phase Analyzing via the subscription")
    shot(d, "03-details-analyzing")
    provisioning = running_status(2) | {"phase": "Provisioning", "message": "waiting for 19"}
    cluster.set_status("team-a", "web-shop", provisioning)
    wait_for(d, lambda: phase() == "Provisioning", "phase Provisioning via the subscription")
    cluster.set_status("team-a", "web-shop", running_status(2))
    wait_for(d, lambda: phase() == "Running", "phase Running via the subscription")
    assert d.current_url == url_before  # no reload, no navigation: the subscription did it
    wait_text(d, "Monthly cost by resource")
    wait_text(d, "http://web-shop-123.elb.example")
    wait_text(d, "flask-shop", 240)  # a similar past deployment of team-a (the model may load)
    assert "secret-flask-b" not in d.find_element(By.TAG_NAME, "body").text  # team-b's
    shot(d, "04-details-running")

    d.find_element(By.XPATH, "//button[contains(., 'Bad decision')]").click()
    assert (
        d.find_element(By.XPATH, "//button[contains(., 'Bad decision')]").get_attribute(
            "aria-pressed"
        )
        == "true"
    )
    fill(d, "feedback-comment", "too expensive for a test shop")
    d.find_element(By.XPATH, "//button[normalize-space()='Send feedback']").click()
    wait_text(d, "Feedback saved (-1)")
    annotations = cluster.get("team-a", "web-shop")["metadata"]["annotations"]
    assert annotations["scia.io/feedback"] == "-1"
    assert annotations["scia.io/feedback-comment"] == "too expensive for a test shop"
    shot(d, "05-feedback-given")

    d.find_element(By.XPATH, "//button[normalize-space()='Roll back to revision 1']").click()
    wait_text(d, "Rollback to revision 1 requested")
    assert cluster.get("team-a", "web-shop")["spec"]["rollbackToRevision"] == 1
    cluster.set_status("team-a", "web-shop", running_status(3, rollback_of=1))
    wait_text(d, "rollback to revision 1")
    wait_for(
        d,
        lambda: d.find_element(By.CSS_SELECTOR, "[data-testid=strategy]").text == "serverless",
        "the re-pinned strategy",
    )
    shot(d, "06-rolled-back")

    phone(d, True)
    d.execute_script("window.scrollTo(0, 0)")
    shot(d, "07-phone-details")
    width = d.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide at phone width: {too_wide(d, 390)}"
    d.get(f"{api}/#/")
    wait_for(d, lambda: d.find_elements(By.CSS_SELECTOR, "[data-testid=row-web-shop]"), "the list")
    assert d.execute_script("return document.documentElement.scrollWidth") <= 390
    shot(d, "08-phone-list")
    phone(d, False)


def test_the_list_follows_the_phase_live(
    browser: Any, api: str, cluster: Cluster, team_a: Tenant
) -> None:
    from selenium.webdriver.common.by import By

    d = browser
    cluster_made = cluster.admin.post(
        "/apis/scia.io/v1alpha1/namespaces/team-a/appdeployments",
        json={
            "apiVersion": "scia.io/v1alpha1",
            "kind": "AppDeployment",
            "metadata": {"name": "listed-live", "namespace": "team-a"},
            "spec": {"repository": {"url": "https://github.com/acme/express-api"}},
        },
    )
    assert cluster_made.status_code == 201, cluster_made.text
    sign_in(d, api, team_a.viewer_token, "team-a")
    row = "[data-testid=row-listed-live]"
    wait_for(d, lambda: d.find_elements(By.CSS_SELECTOR, row), "the row")
    cluster.set_status("team-a", "listed-live", {"phase": "Provisioning"})
    wait_for(d, lambda: "Provisioning" in d.find_element(By.CSS_SELECTOR, row).text, "live phase")
    shot(d, "09-list-live-phase")


def test_a_viewer_is_refused_every_mutation(
    browser: Any, api: str, cluster: Cluster, team_a: Tenant
) -> None:
    from selenium.webdriver.common.by import By

    d = browser
    if (
        cluster.admin.get(
            "/apis/scia.io/v1alpha1/namespaces/team-a/appdeployments/web-shop"
        ).status_code
        == 404
    ):
        pytest.skip("needs web-shop from the deployer's test")
    cluster.set_status("team-a", "web-shop", running_status(3, rollback_of=1))
    sign_in(d, api, team_a.viewer_token, "team-a")
    wait_text(d, "system:serviceaccount:team-a:viewer")
    d.get(f"{api}/#/d/web-shop")
    wait_for(
        d,
        lambda: d.find_element(By.CSS_SELECTOR, "[data-testid=phase]").text == "Running",
        "details",
    )
    before = cluster.get("team-a", "web-shop")

    d.find_element(By.XPATH, "//button[normalize-space()='Roll back to revision 2']").click()
    wait_text(d, 'User "system:serviceaccount:team-a:viewer" cannot patch resource')
    d.find_element(By.XPATH, "//button[contains(., 'Good decision')]").click()
    d.find_element(By.XPATH, "//button[normalize-space()='Send feedback']").click()
    wait_for(
        d,
        lambda: len(d.find_elements(By.XPATH, "//*[@role='alert'][contains(., 'Refused')]")) >= 2,
        "the feedback refusal",
    )
    shot(d, "10-viewer-refused")
    after = cluster.get("team-a", "web-shop")
    assert after["spec"] == before["spec"]
    assert after["metadata"]["annotations"] == before["metadata"]["annotations"]

    d.get(f"{api}/#/new")
    wait_for(d, lambda: d.find_element(By.ID, "f-url"), "the create form")
    fill(d, "f-name", "viewer-made")
    fill(d, "f-url", "https://github.com/acme/flask-app")
    d.find_element(By.XPATH, "//button[normalize-space()='Create deployment']").click()
    wait_text(d, 'User "system:serviceaccount:team-a:viewer" cannot create resource')
    assert (
        cluster.admin.get(
            "/apis/scia.io/v1alpha1/namespaces/team-a/appdeployments/viewer-made"
        ).status_code
        == 404
    )
    shot(d, "11-viewer-create-refused")

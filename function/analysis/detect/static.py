"""Plain static sites (HTML with no server code)."""

from __future__ import annotations

from function.analysis.detect.base import Detection, Project


def detect(project: Project) -> Detection | None:
    index = project.first("index.html", "public/index.html", "site/index.html", "docs/index.html")
    if index is None:
        return None
    detection = Detection(ecosystem="static", language="html", static_site=True)
    detection.set_framework("static-html", project.path(index), None, 0.8)
    return detection

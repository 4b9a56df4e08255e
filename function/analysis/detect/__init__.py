"""Ecosystem detectors; each reads one project folder and returns a Detection or None."""

from __future__ import annotations

from collections.abc import Callable

from function.analysis.detect import dotnet, golang, java, node, php, python, ruby, rust, static
from function.analysis.detect.base import Detection, Project

Detector = Callable[[Project], Detection | None]

# Order matters only for ties: server frameworks outrank static sites anyway.
DETECTORS: tuple[Detector, ...] = (
    python.detect,
    node.detect,
    node.detect_deno,
    golang.detect,
    java.detect,
    ruby.detect,
    php.detect,
    dotnet.detect,
    rust.detect,
    static.detect,
)

__all__ = ["DETECTORS", "Detection", "Detector", "Project"]

"""Static checks of deploy/Dockerfile and the KCL jar list (Docker is not available to CI).

The base image is pinned by digest, the KCL version is pinned and equal in the Dockerfile and
deploy/kcl/pom.xml, the official amazon-kclpy is pinned (never the -ekirmayer dev wheel), and the
final stage switches to a non-root USER before its ENTRYPOINT/CMD.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DIGEST = re.compile(r"^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$")
EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _args(steps: list[tuple[str, str]]) -> dict[str, str]:
    return dict(rest.split("=", 1) for word, rest in steps if word == "ARG" and "=" in rest)


def final_stage_user(steps: list[tuple[str, str]]) -> str | None:
    """The USER in force at the final stage's ENTRYPOINT/CMD (None when never set there)."""
    starts = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    user = None
    for word, rest in steps[starts[-1] :]:
        if word == "USER":
            user = rest
        if word in ("ENTRYPOINT", "CMD"):
            return user
    return user


def _is_root(user: str | None) -> bool:
    return user is None or user.split(":")[0] in ("root", "0")


@pytest.fixture(scope="module")
def steps() -> list[tuple[str, str]]:
    return instructions((DEPLOY / "Dockerfile").read_text())


def test_base_image_is_pinned_by_digest(steps: list[tuple[str, str]]) -> None:
    args = _args(steps)
    images = [rest.split()[0] for word, rest in steps if word == "FROM"]
    assert len(images) >= 2  # multi-stage
    for image in images:
        resolved = args[image[2:-1]] if image.startswith("${") else image
        assert DIGEST.match(resolved), f"unpinned base image {resolved}"


def test_kcl_versions_are_pinned_and_agree(steps: list[tuple[str, str]]) -> None:
    args = _args(steps)
    assert EXACT_VERSION.match(args["KCL_VERSION"])
    assert EXACT_VERSION.match(args["AMAZON_KCLPY_VERSION"])
    pom = ET.parse(DEPLOY / "kcl" / "pom.xml").getroot()
    declared = pom.find("m:properties/m:kcl.version", POM_NS)
    assert declared is not None and declared.text == args["KCL_VERSION"]
    assert args["KCL_VERSION"].startswith("3.")
    for dep in pom.iterfind("m:dependencies/m:dependency", POM_NS):
        version = dep.findtext("m:version", namespaces=POM_NS)
        assert version == "${kcl.version}" or (version and EXACT_VERSION.match(version)), version
    plugin_version = pom.findtext("m:build/m:plugins/m:plugin/m:version", namespaces=POM_NS)
    assert plugin_version and EXACT_VERSION.match(plugin_version)


def test_jars_come_from_the_pom_at_build_time_and_the_dev_wheel_never_ships(steps: list[tuple[str, str]]) -> None:
    text = "\n".join(f"{word} {rest}" for word, rest in steps)  # instructions only, comments dropped
    assert "dependency:copy-dependencies" in text and "deploy/kcl/pom.xml" in text
    assert "ekirmayer" not in text and "kcl-dev" not in text
    assert re.search(r'pip install "/src\[kcl\]"', text)
    assert "openjdk-17-jre-headless" in text


def test_runs_as_a_non_root_user(steps: list[tuple[str, str]]) -> None:
    assert not _is_root(final_stage_user(steps))


@pytest.mark.parametrize(
    ("dockerfile", "root"),
    [
        ("FROM a@sha256:x AS b\nUSER app\nFROM c\nCMD x\n", True),  # USER in an earlier stage only
        ("FROM c\nCMD x\nUSER app\n", True),  # USER after CMD
        ("FROM c\nUSER 0:0\nCMD x\n", True),
        ("FROM c\nUSER root\nENTRYPOINT x\n", True),
        ("FROM c\nUSER 10001:10001\nENTRYPOINT x\n", False),
    ],
)
def test_the_user_check_catches_root(dockerfile: str, root: bool) -> None:
    assert _is_root(final_stage_user(instructions(dockerfile))) is root


def test_shell_scripts_parse() -> None:
    for script in ("entrypoint.sh", "kcl-daemon.sh"):
        subprocess.run(["sh", "-n", str(DEPLOY / script)], check=True)
    daemon = (DEPLOY / "kcl-daemon.sh").read_text()
    assert "software.amazon.kinesis.multilang.MultiLangDaemon --properties-file" in daemon
    assert "parity kcl-properties" in daemon

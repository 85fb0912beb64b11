"""Static checks of deploy/Dockerfile and the KCL jar list (Docker is not available to CI).

The base image is pinned by digest; the official amazon-kclpy sdist is pinned by version and sha256
(never the -ekirmayer dev wheel) and its own pom.xml is the jar list, so the KCL version is the one
that release pins (tests/data/kcl holds that pom.xml); Python packages come from the hashed lock; the
final stage switches to a non-root USER before its ENTRYPOINT/CMD.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DIGEST = re.compile(r"^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$")
EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
#: amazon-kclpy 3.2.0's pom.xml, as its sdist (the one the Dockerfile pins by sha256) carries it.
KCLPY_POM = Path(__file__).resolve().parents[1] / "data" / "kcl" / "amazon_kclpy-3.2.0-pom.xml"


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
    """KCL_VERSION is what the pinned amazon-kclpy release's pom.xml pins (the image's one jar list)."""
    args = _args(steps)
    assert EXACT_VERSION.match(args["AMAZON_KCLPY_VERSION"])
    assert re.fullmatch(r"[0-9a-f]{64}", args["AMAZON_KCLPY_SHA256"])
    assert args["AMAZON_KCLPY_URL"].endswith(f"/amazon_kclpy-{args['AMAZON_KCLPY_VERSION']}.tar.gz")
    pom = ET.parse(KCLPY_POM.parent / f"amazon_kclpy-{args['AMAZON_KCLPY_VERSION']}-pom.xml").getroot()
    assert pom.findtext("m:properties/m:kcl.version", namespaces=POM_NS) == args["KCL_VERSION"]
    assert args["KCL_VERSION"].startswith("3.")


def test_every_package_is_checked_and_the_dev_wheel_never_ships(steps: list[tuple[str, str]]) -> None:
    text = "\n".join(f"{word} {rest}" for word, rest in steps)  # instructions only, comments dropped
    assert "complete_pom.py" in text and "dependency:copy-dependencies" in text
    assert re.search(r"mvn [^&]*-C ", text), "Maven must verify jar checksums strictly"
    assert "fetch_verified.py" in text and "${AMAZON_KCLPY_SHA256}" in text
    assert "--require-hashes --no-deps -r /src/deploy/requirements.lock" in text
    assert "--require-hashes --no-deps -r /src/deploy/build-requirements.lock" in text
    assert "pip install --no-deps --no-build-isolation /src" in text  # nothing resolved outside the lock
    assert "ekirmayer" not in text and "kcl-dev" not in text and "[local]" not in text
    assert "openjdk-17-jre-headless" in text
    assert "COPY deploy/kcl/logback.xml /opt/kcl/logback.xml" in text


def test_complete_pom_makes_amazon_kclpys_list_resolvable_and_keeps_it_whole() -> None:
    sys.path.insert(0, str(DEPLOY / "kcl"))
    try:
        from complete_pom import complete  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    original = ET.parse(KCLPY_POM).getroot()
    completed = ET.fromstring(complete(KCLPY_POM.read_text()))
    for tag, value in (("groupId", "parity"), ("artifactId", "parity-kcl-jars"), ("packaging", "pom")):
        assert completed.findtext(f"m:{tag}", namespaces=POM_NS) == value
    deps = [
        tuple(d.findtext(f"m:{t}", namespaces=POM_NS) for t in ("groupId", "artifactId", "version"))
        for d in completed.iterfind("m:dependencies/m:dependency", POM_NS)
    ]
    assert deps == [
        tuple(d.findtext(f"m:{t}", namespaces=POM_NS) for t in ("groupId", "artifactId", "version"))
        for d in original.iterfind("m:dependencies/m:dependency", POM_NS)
    ]
    assert len(deps) > 50
    plugin = completed.find("m:build/m:plugins/m:plugin", POM_NS)
    assert plugin is not None and EXACT_VERSION.match(plugin.findtext("m:version", namespaces=POM_NS) or "")
    with pytest.raises(ValueError, match="already has a <groupId>"):
        complete(complete(KCLPY_POM.read_text()))


def test_fetch_verified_refuses_a_file_whose_sha256_is_not_the_pinned_one(tmp_path: Path) -> None:
    source = tmp_path / "sdist.tar.gz"
    source.write_bytes(b"the bytes PyPI served")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    script = DEPLOY / "fetch_verified.py"
    good = subprocess.run([sys.executable, str(script), source.as_uri(), digest, str(tmp_path / "ok")])
    assert good.returncode == 0 and (tmp_path / "ok").read_bytes() == source.read_bytes()
    bad = subprocess.run(
        [sys.executable, str(script), source.as_uri(), "0" * 64, str(tmp_path / "bad")], capture_output=True, text=True
    )
    assert bad.returncode == 1 and "is not the pinned" in bad.stderr and not (tmp_path / "bad").exists()


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


def test_every_app_linked_into_the_package_is_copied_into_the_image(steps: list[tuple[str, str]]) -> None:
    """parity/consumer -> ../consumer etc.: the image must COPY each linked folder, or the link dangles."""
    package = DEPLOY.parent / "parity"
    linked = sorted(p.name for p in package.iterdir() if p.is_symlink())
    assert linked, "expected the apps to be linked into parity/"
    copies = {rest for word, rest in steps if word == "COPY"}
    for name in linked:
        assert f"{name} /src/{name}" in copies, f"deploy/Dockerfile does not COPY {name}/ (parity/{name} links to it)"

"""Turn amazon-kclpy's pom.xml into a POM Maven can resolve, so the image's KCL jars are exactly its list.

amazon-kclpy's sdist carries a ``pom.xml`` that is only a flat list of the jars its ``setup.py``
downloads (without checksums) at install: the KCL multilang daemon, the AWS SDK, netty, logback...
It has no ``groupId``/``artifactId``/``version`` of its own, so Maven refuses it. This adds them and
pins the dependency plugin; deploy/Dockerfile then runs, at image build::

    python complete_pom.py amazon_kclpy/pom.xml > kcl-pom.xml
    mvn -B -C -f kcl-pom.xml dependency:copy-dependencies -DexcludeTransitive=true -DoutputDirectory=/opt/kcl/jars

``-C`` (strict checksums) fails the build on a jar whose checksum does not match Maven Central's.
The jars land under the names ``setup.py`` expects, so installing amazon-kclpy afterwards downloads
nothing. One list, one KCL version: the one the pinned amazon-kclpy release was made for.
Standard library only (it runs in the build stage before anything is installed).
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

NS = "http://maven.apache.org/POM/4.0.0"
DEPENDENCY_PLUGIN = "3.8.1"


def _element(tag: str, text: str | None = None) -> ET.Element:
    element = ET.Element(f"{{{NS}}}{tag}")
    element.text = text
    return element


def complete(text: str) -> str:
    """The POM ``text`` with project coordinates and a pinned maven-dependency-plugin added."""
    ET.register_namespace("", NS)
    root = ET.fromstring(text)
    if root.find(f"{{{NS}}}dependencies") is None:
        raise ValueError("no <dependencies> in the POM: is this amazon-kclpy's pom.xml?")
    for tag in ("groupId", "artifactId", "version", "packaging"):
        if root.find(f"{{{NS}}}{tag}") is not None:
            raise ValueError(f"the POM already has a <{tag}>: amazon-kclpy changed its pom.xml; review this script")
    position = list(root).index(root.find(f"{{{NS}}}modelVersion")) + 1  # type: ignore[arg-type]
    for offset, (tag, value) in enumerate(
        [("groupId", "parity"), ("artifactId", "parity-kcl-jars"), ("version", "1"), ("packaging", "pom")]
    ):
        root.insert(position + offset, _element(tag, value))
    build, plugins, plugin = _element("build"), _element("plugins"), _element("plugin")
    for tag, value in (
        ("groupId", "org.apache.maven.plugins"),
        ("artifactId", "maven-dependency-plugin"),
        ("version", DEPENDENCY_PLUGIN),
    ):
        plugin.append(_element(tag, value))
    plugins.append(plugin)
    build.append(plugins)
    root.append(build)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: complete_pom.py PATH/TO/amazon_kclpy/pom.xml > kcl-pom.xml", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as source:
        sys.stdout.write(complete(source.read()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

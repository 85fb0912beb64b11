"""Static checks of deploy/cloudformation/parity.yaml (no AWS needed): cfn-lint passes clean, and
IAM has no wildcard action and no wildcard resource outside an explicit, commented allowlist.

Docker and AWS are not available to CI; these checks are the template's safety net. The template is
read with cfn-lint's own decoder (cfnlint.decode), which understands !Ref, !Sub, !GetAtt, !If.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint import api as cfnlint_api
from cfnlint.decode import decode

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "cloudformation" / "parity.yaml"

#: (logical id of the role/policy, action) -> why AWS needs Resource "*". Mirrors the template's
#: "WILDCARD-OK:" comments; a new "*" needs a line here and a comment there.
ALLOWLIST: dict[tuple[str, str], str] = {
    ("ExecutionRole", "ecr:GetAuthorizationToken"): "no resource-level permissions",
    ("KinesisConsumerPolicy", "cloudwatch:PutMetricData"): "no resource-level permissions; namespace condition",
}

#: ARNs that end in a sub-resource wildcard (not "*" alone) -> why. Anything else with "*" fails.
PARTIAL_ALLOWLIST: dict[tuple[str, str], str] = {
    ("KinesisConsumerPolicy", "dynamodb:Query"): "the KCL lease table's leaseOwner index: table/NAME/index/*",
    ("SchedulerRole", "ecs:RunTask"): "every revision of the reconcile task definition: ...-reconcile:*",
}


def _template() -> dict[str, Any]:
    template, matches = decode(str(TEMPLATE))
    assert not matches, [str(m) for m in matches]
    assert template is not None
    return dict(template)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _strings(value: Any) -> Iterator[str]:
    """Every literal string in a resource value, through !If/!Sub/!Join and lists."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in ("Ref", "Fn::GetAtt"):
                continue
            if key == "Fn::If":
                for branch in item[1:]:
                    yield from _strings(branch)
            else:
                yield from _strings(item)


def _statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            docs = [p["PolicyDocument"] for p in props.get("Policies", [])]
            docs.append(props["AssumeRolePolicyDocument"])
        elif resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            docs = [props["PolicyDocument"]]
        else:
            continue
        for doc in docs:
            for statement in _as_list(doc["Statement"]):
                yield name, statement


def wildcard_findings(template: dict[str, Any]) -> list[str]:
    """Every IAM wildcard outside the allowlists, as readable lines (pure; tested below)."""
    found: list[str] = []
    for name, statement in _statements(template):
        for key in ("NotAction", "NotResource"):
            if key in statement:
                found.append(f"{name}: {key} is not allowed")
        actions = [a for a in _strings(statement.get("Action", [])) if isinstance(a, str)]
        for action in actions:
            if "*" in action:
                found.append(f"{name}: wildcard action {action!r}")
        if "Principal" in statement:
            continue  # trust policies: Resource does not apply
        for resource in _strings(statement.get("Resource", [])):
            if "*" not in resource:
                continue
            for action in actions:
                table = ALLOWLIST if resource == "*" else PARTIAL_ALLOWLIST
                if (name, action) not in table:
                    found.append(f"{name}: {action} on wildcard resource {resource!r} is not in the allowlist")
    return found


def test_cfn_lint_passes_clean() -> None:
    matches = cfnlint_api.lint_file(TEMPLATE)
    assert [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches] == []


def test_no_wildcards_outside_the_allowlist() -> None:
    assert wildcard_findings(_template()) == []


def test_every_allowlisted_wildcard_is_used_and_commented_in_the_template() -> None:
    template = _template()
    used = set()
    for name, statement in _statements(template):
        actions = list(_strings(statement.get("Action", [])))
        for resource in _strings(statement.get("Resource", [])):
            if "*" in resource:
                used.update((name, a, resource == "*") for a in actions)
    assert {(n, a, True) for n, a in ALLOWLIST} <= used
    assert {(n, a, False) for n, a in PARTIAL_ALLOWLIST} <= used
    text = TEMPLATE.read_text()
    commented = re.findall(r'Resource: "\*"\s+# WILDCARD-OK: (\S+)', text)
    assert sorted(commented) == sorted(action for _, action in ALLOWLIST)


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:aws:dynamodb:r:1:table/t"}, "wildcard action"),
        ({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:dynamodb:r:1:table/t"}, "wildcard action"),
        ({"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": "*"}, "not in the allowlist"),
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "arn:aws:s3:::b/*"}}, "allowlist"),
        ({"Effect": "Allow", "NotAction": "iam:PassRole", "Resource": "arn:aws:iam::1:role/x"}, "NotAction"),
        (
            {"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": {"Fn::If": ["C", "*", "arn:aws:x"]}},
            "not in the allowlist",
        ),
    ],
)
def test_the_check_catches_wildcards(statement: dict[str, Any], expected: str) -> None:
    template = {
        "Resources": {
            "Bad": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": [statement]}}}
        }
    }
    findings = wildcard_findings(template)
    assert len(findings) == 1 and expected in findings[0], findings


def test_secrets_never_travel_in_plain_environment() -> None:
    """The DSN (and the config) reach the containers through `secrets`, never `environment`."""
    template = _template()
    containers = [
        (name, c)
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::ECS::TaskDefinition"
        for c in r["Properties"]["ContainerDefinitions"]
    ]
    assert containers
    for task, container in containers:
        names = {e["Name"] for e in container.get("Environment", [])}
        assert not {n for n in names if "DSN" in n or "PASSWORD" in n or n.startswith("PG")}, container["Name"]
        if container["Name"] == "parity":
            secrets = {s["Name"] for s in container["Secrets"]}
            # the search service reads DynamoDB only: it gets the config, never a PostgreSQL DSN
            assert ("PARITY_POSTGRES_DSN" in secrets) is (task != "SearchTaskDefinition"), task
            assert "PARITY_CONFIG_TOML" in secrets, task


def test_search_service_is_read_only_and_checked_on_healthz() -> None:
    resources = _template()["Resources"]
    statements = resources["SearchTaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    dynamodb = [s for s in statements if any(str(a).startswith("dynamodb:") for a in _as_list(s["Action"]))]
    assert [s["Action"] for s in dynamodb] == ["dynamodb:Query"]
    assert "ManagedPolicyArns" not in resources["SearchTaskRole"]["Properties"]
    task = resources["SearchTaskDefinition"]["Properties"]
    parity = next(c for c in task["ContainerDefinitions"] if c["Name"] == "parity")
    assert parity["Command"][:2] == ["parity", "serve"] and "0.0.0.0" in parity["Command"]
    assert parity["PortMappings"] == [{"ContainerPort": 8080, "Protocol": "tcp"}]
    assert "/healthz" in " ".join(parity["HealthCheck"]["Command"])
    assert parity["StopTimeout"] > 11  # the request timeout (10 s) + 1 s of graceful shutdown fit
    service = resources["SearchService"]["Properties"]
    assert service["TaskDefinition"] == {"Ref": "SearchTaskDefinition"}


def test_consumer_runs_one_task_in_stream_mode_and_has_health_check_and_stop_timeout() -> None:
    resources = _template()["Resources"]
    service = resources["ConsumerService"]["Properties"]
    assert service["DesiredCount"] == {"Fn::If": ["StreamMode", 1, {"Ref": "KinesisTaskCount"}]}
    assert service["DeploymentConfiguration"]["MaximumPercent"] == {"Fn::If": ["StreamMode", 100, 200]}
    parity = resources["ConsumerTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert parity["HealthCheck"]["Command"] == ["CMD", "parity", "health"]
    assert 30 <= parity["StopTimeout"] <= 120  # Fargate's maximum is 120 s
    env = {e["Name"]: e["Value"] for e in parity["Environment"]}
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4318"


def test_alarm_metric_names_are_the_ones_the_code_emits() -> None:
    """Alarms name OpenTelemetry instruments that exist in the code, under the meter that makes them."""
    root = Path(__file__).resolve().parents[2]
    sources = {  # the app that owns the meter: its instruments may move between its modules
        "parity.consumer": "\n".join(p.read_text() for p in sorted((root / "consumer").glob("*.py"))),
        "parity.reconcile": "\n".join(p.read_text() for p in sorted((root / "reconciler").glob("*.py"))),
        "parity.gate": (root / "parity" / "commands" / "gate.py").read_text(),
    }
    alarms = [r for r in _template()["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    ours = [a["Properties"] for a in alarms if a["Properties"]["Namespace"] != "AWS/Kinesis"]
    assert {a["MetricName"] for a in ours} == {
        "parity.consumer.stream_lag",
        "parity.consumer.discrepancies_open",
        "parity.reconcile.parity_percent",
        "parity.gate.ready",
    }
    for alarm in ours:
        scope = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}["OTelLib"]
        assert f'"{alarm["MetricName"]}"' in sources[scope], alarm["MetricName"]


def test_collector_config_receives_what_parity_sends_and_writes_the_metrics_log_group() -> None:
    """The ADOT config (a YAML string in the template) parses, listens where OTEL_EXPORTER_OTLP_ENDPOINT
    points, and writes EMF to the log group the task roles may write, in the alarms' namespace."""
    import yaml

    resources = _template()["Resources"]
    text = resources["CollectorConfigParameter"]["Properties"]["Value"]["Fn::Sub"]
    subs = {"${EnvironmentName}": "prod", "${AWS::Region}": "eu-west-1"}
    for name, value in subs.items():
        text = text.replace(name, value)
    assert "${" not in text
    config = yaml.safe_load(text)
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "127.0.0.1:4318"
    emf = config["exporters"]["awsemf"]
    metrics_group = resources["MetricsLogGroup"]["Properties"]["LogGroupName"]["Fn::Sub"]
    assert emf["log_group_name"] == metrics_group.replace("${EnvironmentName}", "prod")
    alarm = resources["ParityPercentAlarm"]["Properties"]
    assert emf["namespace"] == alarm["Namespace"]["Fn::Sub"].replace("${EnvironmentName}", "prod")
    assert config["service"]["pipelines"]["metrics"]["exporters"] == ["awsemf"]


def _alarms() -> dict[str, dict[str, Any]]:
    return {
        name: r["Properties"] for name, r in _template()["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_alarm_names_are_unique_whatever_the_mode() -> None:
    """Switching ConsumerMode creates the new mode's alarm before deleting the old one: names must differ."""
    names = [a["AlarmName"]["Fn::Sub"] for a in _alarms().values()]
    assert len(names) == len(set(names)), sorted(names)


def test_daily_parity_alarm_does_not_fire_on_missing_data_and_staleness_has_its_own_alarm() -> None:
    alarms = _alarms()
    parity = alarms["ParityPercentAlarm"]
    assert parity["TreatMissingData"] == "notBreaching"
    assert parity["Period"] == 3600 and parity["EvaluationPeriods"] == 24 and parity["DatapointsToAlarm"] == 1
    stale = alarms["ReconcileStaleAlarm"]
    assert stale["MetricName"] == parity["MetricName"] and stale["Statistic"] == "SampleCount"
    assert stale["TreatMissingData"] == "missing" and "InsufficientDataActions" in stale
    for alarm in alarms.values():  # CloudWatch: periods of an hour or more may span 7 days at most
        assert alarm["Period"] * alarm["EvaluationPeriods"] <= (604800 if alarm["Period"] >= 3600 else 86400)


def test_parity_containers_run_under_an_init_process() -> None:
    """tini as PID 1 forwards ECS's SIGTERM to parity (replay finishes its batch, the consumer commits)."""
    resources = _template()["Resources"]
    for name, resource in resources.items():
        if resource["Type"] != "AWS::ECS::TaskDefinition":
            continue
        for container in resource["Properties"]["ContainerDefinitions"]:
            if container["Name"] == "parity":
                assert container["LinuxParameters"]["InitProcessEnabled"] is True, name


def test_collector_detects_the_ecs_task_for_its_log_stream_name() -> None:
    import yaml

    text = _template()["Resources"]["CollectorConfigParameter"]["Properties"]["Value"]["Fn::Sub"]
    config = yaml.safe_load(text.replace("${EnvironmentName}", "prod").replace("${AWS::Region}", "eu-west-1"))
    assert config["exporters"]["awsemf"]["log_stream_name"] == "{TaskId}"
    assert "ecs" in config["processors"]["resourcedetection"]["detectors"]
    assert config["service"]["pipelines"]["metrics"]["processors"][0] == "resourcedetection"


def test_dashboard_shows_what_the_code_emits_and_the_gate_alarm() -> None:
    """Every metric of the dashboard is an instrument the code makes, under its meter (OTelLib), in the
    alarms' namespace; the five views the migration needs are there, the gate as its alarm."""
    import json

    root = Path(__file__).resolve().parents[2]
    sources = {
        "parity.consumer": "\n".join(p.read_text() for p in sorted((root / "consumer").glob("*.py"))),
        "parity.reconcile": "\n".join(p.read_text() for p in sorted((root / "reconciler").glob("*.py"))),
        "parity.gate": (root / "parity" / "commands" / "gate.py").read_text(),
    }
    resources = _template()["Resources"]
    body = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    board = json.loads(body.replace("${AWS::Region}", "eu-west-1").replace("${EnvironmentName}", "prod")
                       .replace("${GateAlarm.Arn}", "arn:alarm"))  # fmt: skip
    widgets = board["widgets"]
    titles = " | ".join(w["properties"]["title"] for w in widgets)
    for needed in ("Parity %", "open and accepted", "Stream lag", "Dead letters", "gate"):
        assert needed in titles, titles
    metrics = [m for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"]]
    assert {m[1] for m in metrics} >= {
        "parity.reconcile.parity_percent",
        "parity.gate.parity_percent",
        "parity.gate.discrepancies",
        "parity.consumer.stream_lag",
        "parity.gate.dead_letters",
    }
    for namespace, name, _, scope, *_ in metrics:
        assert namespace == "Parity/prod"
        assert f'"{name}"' in sources[scope], name
    [gate] = [w for w in widgets if w["type"] == "alarm"]
    assert gate["properties"]["alarms"] == ["arn:alarm"]
    assert resources["GateAlarm"]["Properties"]["MetricName"] == "parity.gate.ready"

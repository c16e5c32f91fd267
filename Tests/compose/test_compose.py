"""Static checks of docker-compose.yml (no Docker engine runs where the tests do).

The compose file must describe the same system as the local stack: Postgres with logical WAL,
Pulsar, the API and the relay, started after healthy dependencies, configured only through
environment variables the programs really read, and referencing only files that exist.
"""
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
OUR_SERVICES = ["products-api", "cdc-relay", "catalog-projector"]


def configuration_environment_names():
    """Environment variables the programs read, taken from the configuration key table."""
    source = (ROOT / "Sources/OutboxCore/Configuration/ConfigurationKey.swift").read_text()
    table = source[source.index("public static let all"):]
    paths = re.findall(r'\.\w+\("([a-z_]+\.[a-z_]+)"', table)
    aliases = re.findall(r'aliases: \[([^\]]*)\]', table)
    names = {p.upper().replace(".", "_") for p in paths}
    for group in aliases:
        names |= set(re.findall(r'"([A-Z_]+)"', group))
    names |= {"OUTBOX_CONFIG", "OUTBOX_MIGRATIONS_DIR"}
    assert len(paths) >= 20, "configuration key table not found"
    return names


def env_of(service):
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return env


def test_services_exist():
    for name in ["postgres", "pulsar", *OUR_SERVICES]:
        assert name in SERVICES, f"service {name} missing"


def test_postgres_runs_with_logical_wal():
    command = SERVICES["postgres"].get("command", [])
    text = " ".join(command) if isinstance(command, list) else command
    assert "wal_level=logical" in text.replace(" ", "")
    assert SERVICES["postgres"]["image"].startswith("postgres:16")


@pytest.mark.parametrize("name", ["postgres", "pulsar", *OUR_SERVICES])
def test_healthchecks(name):
    assert "test" in SERVICES[name].get("healthcheck", {}), f"{name} has no healthcheck"


@pytest.mark.parametrize("name", OUR_SERVICES)
def test_started_after_healthy_dependencies(name):
    depends = SERVICES[name].get("depends_on", {})
    assert "postgres" in depends
    for dep, spec in depends.items():
        assert spec.get("condition") == "service_healthy", f"{name} must wait for {dep} to be healthy"
    if name in ("cdc-relay", "catalog-projector"):
        assert "pulsar" in depends


@pytest.mark.parametrize("name", OUR_SERVICES)
def test_environment_is_read_by_the_programs(name):
    known = configuration_environment_names()
    unknown = sorted(set(env_of(SERVICES[name])) - known)
    assert not unknown, f"{name} sets variables no program reads: {unknown}"


def test_relay_topic_and_broker_point_at_compose_services():
    env = env_of(SERVICES["cdc-relay"])
    assert env["PULSAR_URI"].startswith("pulsar://pulsar:")
    assert env["DATABASE_HOST"] == "postgres"
    assert env["RELAY_REPLICATION_USERNAME"], "the relay needs a role with REPLICATION"


def test_referenced_files_exist():
    for name, service in SERVICES.items():
        build = service.get("build")
        if build is not None:
            context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            assert (context / dockerfile).is_file(), f"{name}: {dockerfile} missing"
        for volume in service.get("volumes", []):
            host = volume.split(":", 1)[0]
            if host.startswith((".", "/")):
                assert (ROOT / host).exists(), f"{name}: volume source {host} missing"


def test_dockerfile_copies_existing_paths_and_builds_both_daemons():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        parts = line.split()
        if parts[:1] == ["COPY"] and not any(p.startswith("--from") for p in parts):
            for source in parts[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    for product in OUR_SERVICES:
        assert f"--product {product}" in dockerfile
    commands = {name: " ".join(SERVICES[name]["command"]) for name in OUR_SERVICES}
    assert "products-api serve" in commands["products-api"]
    assert "cdc-relay" in commands["cdc-relay"]


def test_relay_role_is_created_in_the_container():
    init = (ROOT / "docker/postgres-init.sql").read_text()
    assert re.search(r"CREATE ROLE outbox_relay .*REPLICATION", init)


def test_broker_applies_prefixed_settings_before_it_starts():
    """PULSAR_PREFIX_* reach standalone.conf only via apply-config-from-env.py, run first."""
    pulsar = SERVICES["pulsar"]
    command = pulsar["command"]
    text = " ".join(command) if isinstance(command, list) else command
    apply = text.find("bin/apply-config-from-env.py conf/standalone.conf")
    start = text.find("bin/pulsar standalone")
    assert apply >= 0, "the broker command must run bin/apply-config-from-env.py conf/standalone.conf"
    assert start > apply, "apply-config-from-env.py must run before bin/pulsar standalone"
    assert "&&" in text[apply:start], "the broker must start only if the configuration was applied"
    env = env_of(pulsar)
    assert str(env.get("PULSAR_PREFIX_brokerDeduplicationEnabled")).lower() == "true"


def test_broker_advertises_the_service_name():
    env = env_of(SERVICES["pulsar"])
    assert env.get("PULSAR_PREFIX_advertisedAddress") == "pulsar"
    for name in ("cdc-relay", "catalog-projector"):
        assert env_of(SERVICES[name])["PULSAR_URI"].startswith("pulsar://pulsar:")


def test_projector_has_its_own_database_and_reachable_port():
    env = env_of(SERVICES["catalog-projector"])
    assert env["DATABASE_HOST"] == "postgres"
    assert env["DATABASE_DATABASE"] != env_of(SERVICES["products-api"])["DATABASE_DATABASE"]
    init = (ROOT / "docker/postgres-init.sql").read_text()
    assert re.search(rf"CREATE DATABASE {env['DATABASE_DATABASE']}\b", init), "the projector's database is not created"
    assert env["PROJECTOR_METRICS_HOST"] == "0.0.0.0"
    port = env["PROJECTOR_METRICS_PORT"]
    assert any(str(p).endswith(f":{port}") for p in SERVICES["catalog-projector"].get("ports", []))
    assert "catalog-projector" in " ".join(SERVICES["catalog-projector"]["command"])

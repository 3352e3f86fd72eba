"""Apache Kafka 4.x (KRaft, one combined broker+controller) from Maven Central jars."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import shutil
import subprocess
import uuid

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.platform.topics import ALL_TOPICS
from shared.tools.stack.layout import Layout
from shared.tools.stack.processes import read_pid, spawn, terminate

# Sized for a 2-core, 24 GiB machine that also runs PostgreSQL and four services.
BROKER_HEAP = os.environ.get("XF_STACK_KAFKA_HEAP", "-Xms512m -Xmx1g")


class StackError(RuntimeError):
    pass


def _pom(layout: Layout):  # type: ignore[no-untyped-def]
    return layout.root / "deploy" / "kafka" / "pom.xml"


def fetch_jars(layout: Layout, say=print) -> bool:  # type: ignore[no-untyped-def]
    """Fetch the broker's jars with Maven unless the cache already matches the pom."""
    pom = _pom(layout)
    stamp = layout.kafka_libs / ".pom.sha256"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return False
    if shutil.which("mvn") is None:
        raise StackError("Maven (mvn) is needed to fetch Kafka: apt-get install maven")
    say("fetching Kafka jars from Maven Central ...")
    if layout.kafka_libs.exists():
        shutil.rmtree(layout.kafka_libs)
    subprocess.run(
        ["mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
         "-DincludeScope=runtime", f"-DoutputDirectory={layout.kafka_libs}",
         f"-Dmaven.repo.local={layout.maven_repo}"],
        check=True,
    )
    stamp.write_text(digest)
    return True


def check_java() -> None:
    java = shutil.which("java")
    if java is None:
        raise StackError("Java 17+ is needed for Kafka 4: apt-get install openjdk-17-jre-headless")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    try:
        major = int(out.split('"')[1].split(".")[0])
    except (IndexError, ValueError):
        return
    if major < 17:
        raise StackError(f"Kafka 4 needs Java 17 or newer, found {major}")


def _java_cmd(layout: Layout, main: str, *args: str) -> list[str]:
    return [
        "java", *BROKER_HEAP.split(), "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={layout.root / 'deploy' / 'kafka' / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={layout.logs}",
        "-cp", f"{layout.kafka_libs}/*", main, *args,
    ]


def configure(layout: Layout) -> bool:
    """Write server.properties and format KRaft storage once. True when it formatted."""
    props = layout.kafka_dir / "server.properties"
    data = layout.kafka_dir / "data"
    template = (layout.root / "deploy" / "kafka" / "server.properties.template").read_text()
    props.write_text(template.format(port=layout.kafka_port,
                                     controller_port=layout.controller_port, data_dir=data))
    if (data / "meta.properties").exists():
        return False
    cluster_id = "-"
    while cluster_id.startswith("-"):  # StorageTool would read "-t -Xy..." as an option
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    cmd = _java_cmd(layout, "kafka.tools.StorageTool", "format", "-t", cluster_id,
                    "-c", str(props))
    cmd[1:3] = ["-Xmx256m"]
    subprocess.run(cmd, check=True, capture_output=True)
    return True


def start(layout: Layout) -> bool:
    pid_file = layout.pid_file("kafka")
    if read_pid(pid_file) is not None:
        return False
    spawn(_java_cmd(layout, "kafka.Kafka", str(layout.kafka_dir / "server.properties")),
          pid_file=pid_file, log_file=layout.logs / "kafka.out", env=dict(os.environ),
          cwd=layout.root)
    return True


def stop(layout: Layout) -> bool:
    # A controlled shutdown of a single node takes a few seconds.
    return terminate(layout.pid_file("kafka"), timeout=60)


async def wait_ready(bootstrap: str, within: float = 90.0) -> None:
    """Until the broker answers a metadata request."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last: Exception | None = None
    # aiokafka logs "Unable connect" at ERROR on every try while the broker starts: expected
    # here, so kept out of the terminal; the last error is reported if it never answers.
    client_log = logging.getLogger("aiokafka")
    level = client_log.level
    client_log.setLevel(logging.CRITICAL)
    try:
        while loop.time() < deadline:
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
            try:
                await admin.start()
                await admin.describe_cluster()
                return
            except (KafkaError, OSError) as exc:
                last = exc
            finally:
                await admin.close()
            await asyncio.sleep(0.5)
    finally:
        client_log.setLevel(level)
    raise StackError(f"Kafka at {bootstrap} did not answer within {within}s: {last}")


async def create_topics(bootstrap: str, prefix: str = "xinfang") -> list[str]:
    """Create every declared topic that is missing; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in ALL_TOPICS if t.name(prefix) not in existing]
        created = []
        for spec in wanted:
            try:
                await admin.create_topics([NewTopic(
                    spec.name(prefix), spec.partitions, spec.replication_factor,
                    topic_configs=dict(spec.configs),
                )])
                created.append(spec.name(prefix))
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, prefix: str) -> None:
    """Delete every declared topic of ``prefix`` (a test's own topics, when it is done)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        await admin.delete_topics([t.name(prefix) for t in ALL_TOPICS])
    finally:
        await admin.close()

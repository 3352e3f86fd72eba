"""The local stack without Docker: Kafka (KRaft) from Maven Central, PostgreSQL from Debian's
packages, the four services as OS processes. Driven by ``xf stack``."""

"""The local stack without Docker: Kafka (KRaft) from Maven Central, PostgreSQL from Debian's
packages, the console and the four services as OS processes. Driven by ``xf stack``."""

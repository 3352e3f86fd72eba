"""The service platform: the event envelope, outbox and inbox, the consumer pipeline, the
runtime, web, database, settings, logging and metrics that every service runs on."""

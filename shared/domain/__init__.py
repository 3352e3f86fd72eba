"""Pure domain rules shared by the services: time limits, the working-day calendar, the
vocabulary, similarity, and the typed event payloads. No I/O."""

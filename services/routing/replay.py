"""What a replay of routing's topics into a fresh database must reproduce (``xf replay``).

Routing's own API writes one input no topic carries, the rule sets: a replay copies them.
Everything else routing holds is derived from case and calendar events, so a fresh database fed
the same events holds the same petitions and assignments, decision times aside (the calendar
it folds shows in the petitions' handling due dates). A reassignment
made through routing's API is not derived from an event: it shows as drift (``xf replay`` says
which cases), as does a link that depends on the order of one petitioner's cases across
partitions.
"""

from __future__ import annotations

COPIED = ("rule_sets",)

COMPARED = {
    "petitions": """
        SELECT case_id, petitioner_key, channel, jurisdiction, category, signers, subject_unit,
               subject_person, received_at, status, status_seq, accepted_on, extended_days,
               handling_due, key_reasons, objected_units, outcome, linked_to, link_kind
        FROM petitions""",
    "assignments": """
        SELECT case_id, assignment_version, unit, transfer_body, leader, leader_title,
               leader_unit, rule_id, rule_version, reasons, key_case, cause, note, actor, event_id
        FROM assignments""",
}

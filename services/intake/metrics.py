"""Intake's Prometheus metrics (labels: channel and outcome only, never a case or a person)."""

from prometheus_client import Counter

CASES_RECEIVED = Counter(
    "xinfang_cases_received_total",
    "Case submissions by channel and outcome (accepted, duplicate_request, rejected)",
    ["channel", "outcome"],
)
IMPORT_ROWS = Counter(
    "xinfang_import_rows_total", "Import rows by outcome (accepted, duplicate_request, rejected)",
    ["outcome"],
)
IMPORT_PAUSES = Counter(
    "xinfang_import_pauses_total",
    "Times an import paused because the database was away (it resumes by itself)",
)
PERSONAL_DATA_READS = Counter(
    "xinfang_personal_data_reads_total", "Audited reads of petitioners' personal data", ["role"]
)
ACTIONS = Counter(
    "xinfang_case_actions_total", "Lifecycle actions by action and outcome "
    "(done, illegal, invalid, conflict)", ["action", "outcome"],
)

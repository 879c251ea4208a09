"""Notices (通报) and the seed's figures over the case register (issue 16): read-only, set-based SQL, always
through ``service.cases.access`` (docs/case-reports.md, decision 0240)."""

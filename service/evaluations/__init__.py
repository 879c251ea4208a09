"""Periodic evaluations (定期评估, issue 17): frozen snapshots of every task's state, their report, package,
comparison and the units' scoreboard (docs/evaluations.md, decision 0280)."""

"""Write geodata/progress/demo_reports_2018.csv: a seeded, plausible year of monthly progress reports for
every 2018 project, for demonstration only (loaded with ``demo = true``; never mistake it for real data).

Usage:

    .venv/bin/python geodata/progress/generate_demo.py [--out geodata/progress/demo_reports_2018.csv]

Each project's history is derived from a seed made of its key (service.progress.demo.history), so
re-running gives the same file, and a project added to the register later gets the same history at setup
whether or not the file is regenerated.  The projects are read from the committed register
(geodata/plans/projects.csv, rows of year 2018); without it, from the database (after ``xiangmap setup``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from service.database import session_scope
from service.progress.demo import (
    DEMO_FILE,
    history,
    projects_from_database,
    projects_from_register,
    write_csv,
)
from service.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=get_settings().geodata_dir / DEMO_FILE)
    args = parser.parse_args(argv)
    register = get_settings().geodata_dir / "plans" / "projects.csv"
    if register.exists():
        projects = projects_from_register(register)
    else:
        with session_scope() as session:
            projects = projects_from_database(session)
    if not projects:
        print("no 2018 projects in the register or the database", file=sys.stderr)
        return 1
    reports = [report for project in projects for report in history(project)]
    write_csv(reports, args.out)
    print(f"{len(reports)} reports for {len(projects)} projects -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

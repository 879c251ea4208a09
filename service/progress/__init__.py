"""Progress: monthly reports, each project's derived state (the delay rules), stats, demo data."""

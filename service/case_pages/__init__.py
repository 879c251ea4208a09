"""The case pages (issue 16): the patrol form and the case page with its timeline and steps."""

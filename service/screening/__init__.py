"""Screening: the site input, the zones it touches, the rules, the verdict, records, reports."""

"""Milestones per task (倒排工期, issue 17): what a task should have reached by when, and the backward schedule."""

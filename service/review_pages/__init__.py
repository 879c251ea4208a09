"""The review queue in the browser (/review, issue 19): a person places the tasks the geocoder could not.

The task text with its spans highlighted, the candidate features on a map, and three decisions: accept a
candidate, draw a geometry, or "no place".  Each is ``service.projects.usecases.set_location``: audited,
status ``manual``, never overwritten by a later geocoding run (docs/decisions/0300-review-queue.md).
"""

"""The layer pages in the browser (/gis/layers, issue 20): GIS staff publish, replace, append and retire layers
and give protected ones their screening rules, without a developer.

The pages are a face on ``service.layers.usecases`` (preview, publish job, history, status, protection, rules):
what the JSON API under /layers guarantees (all-or-nothing loads, versions with the file's SHA-256, rules
refused with the line at fault) holds for the pages too.
"""

"""Web pages: the sign-in pages and the page kit every server-rendered page builds on (docs/web.md).

``pages`` (render a template in the base layout, with the CSRF token, the signed-in user and the flash
messages), ``flash`` (messages carried to the next page), ``templating`` (the Jinja2 environment),
``navigation`` (safe ``next`` targets, the landing page).  ``usecases`` signs in and out; ``routes``
serves /login, /logout, /me and /docs and renders 403 / 404 as Chinese pages for browsers.
"""

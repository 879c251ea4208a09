"""The case register (issue 16): problems from supervision, patrol findings and violations, and their rectification."""

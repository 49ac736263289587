"""The hub's own Python packages (the apps of docs/architecture.md, "Apps and layering") and the
development tools (devtools), for the tests that sweep the whole code base."""

HUB_PACKAGES = (
    "spoc",
    "services",
    "patients",
    "referrals",
    "calls",
    "workspace",
    "interop",
    "devtools",
)

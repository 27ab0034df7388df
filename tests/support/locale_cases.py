"""How gettext reads the locale, as cases both packages' language choice must follow
(capture.i18n and analysis.i18n resolve it each on their own: neither may import the other)."""
from __future__ import annotations

LOCALE_CASES = [
    ({}, "en"),
    ({"LANG": "id_ID.UTF-8"}, "id"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "id_ID.UTF-8"}, "id"),
    ({"LC_ALL": "C", "LANG": "id_ID.UTF-8"}, "en"),           # LC_ALL comes first
    ({"LANGUAGE": "fr:id", "LANG": "C"}, "id"),               # a priority list, as gettext reads it
    ({"LANGUAGE": "", "LANG": "id_ID"}, "id"),                # an empty variable does not count
    ({"LANG": "de_DE.UTF-8"}, "en"),                          # no catalog: English
]

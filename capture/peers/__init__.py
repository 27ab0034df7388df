"""Small client programs for behaviours the lab client deliberately lacks (run as processes).

Each one prints the course's lines (``Received from server: ...``) and uses only the standard
library; none of them imports the lab (capture/ starts the lab, it does not import it).
"""

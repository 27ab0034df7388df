"""The reports: text, Markdown, HTML, JSON/CSV export, and the lab's questions answered.

The stages never import this package; figures never import it either (tests/test_architecture.py).
The questions' public names are re-exported here for notebooks:

    from analysis.report import answer_all, estimated_rtt, mac_to_ip
"""
from analysis.report.questions import Answer, answer_all, estimated_rtt, mac_to_ip

__all__ = ["Answer", "answer_all", "estimated_rtt", "mac_to_ip"]

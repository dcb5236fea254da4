"""xltools: 政府信息公开工作年度报告 workbook toolkit."""

__version__ = "0.1.0"


class XltoolsError(Exception):
    """Failing to do the job (not a finding about the data). Message is Chinese."""


class UnreadableError(XltoolsError):
    """An input file cannot be read at all; becomes status 'unreadable' in a batch."""

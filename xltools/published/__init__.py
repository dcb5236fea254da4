"""Published reports (.txt/.html/.docx/.pdf, scans) -> RawForm, with an account of every
unfilled cell.

document  the file as lines (table rows and running text), any format
scan      a scan (image-only PDF, page images) as the same lines, by OCR; its figures rechecked
docspec   what the form's tables look like in a document ([published] in the form TOML)
tables    tables 2–4 read by the official structure
text      figures the text restates, compared with the tables (text-vs-table)
reader    the whole document: parts, forms, agency and year; read_published / read_document
notes     the 导入说明 sheet that keeps the import's findings with the workbook it wrote
"""

from xltools.published.document import SUFFIXES
from xltools.published.reader import DocumentReading, read_document, read_published

__all__ = ["SUFFIXES", "DocumentReading", "read_document", "read_published"]

import pytest
from factory import soffice


def pytest_collection_modifyitems(config, items):
    if soffice():
        return
    skip = pytest.mark.skip(reason="LibreOffice (soffice) is not installed")
    for item in items:
        if "libreoffice" in item.keywords:
            item.add_marker(skip)

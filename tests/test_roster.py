import openpyxl
import pytest

from xltools import XltoolsError
from xltools.roster import RosterEntry, load_roster, match, normalise_name

HEADER = ["序号", "单位名称", "电子邮箱", "联系人", "统一社会信用代码", "上级/分组", "备注"]
ROWS = [
    [1, "某某市商务局", "swj@example.gov.cn", "张三", "11370000MB0000000X", "市直", "x"],
    [2, "某某区人民政府办公室（区政务服务管理局）", "qzf@example.gov.cn", None, None, "区县", None],
    [3, "某某镇人民政府", None, "李四", None, "区县", None],
]


def write_xlsx(path, rows, title=True):
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append(["2025年度政府信息公开工作年度报告报送名单"])
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def write_csv(path, rows, encoding):
    text = "\r\n".join(",".join("" if c is None else str(c) for c in r) for r in rows) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path


EXPECTED = [
    RosterEntry("某某市商务局", "swj@example.gov.cn", "张三", "11370000MB0000000X", "市直"),
    RosterEntry(
        "某某区人民政府办公室（区政务服务管理局）", "qzf@example.gov.cn", None, None, "区县"
    ),
    RosterEntry("某某镇人民政府", None, "李四", None, "区县"),
]


def test_xlsx_roster_with_title_row_and_extra_columns(tmp_path):
    assert load_roster(write_xlsx(tmp_path / "名单.xlsx", [HEADER, *ROWS])) == EXPECTED


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_roster_in_every_encoding_excel_writes(tmp_path, encoding):
    assert load_roster(write_csv(tmp_path / "名单.csv", [HEADER, *ROWS], encoding)) == EXPECTED


def test_header_variants_are_recognised(tmp_path):
    header = ["单位名称（必填）", "邮箱", "联系人", "信用代码", "分组"]
    entries = load_roster(
        write_csv(tmp_path / "r.csv", [header, ["某局", "a@b.cn", "王五", "", "市直"]], "utf-8")
    )
    assert entries == [RosterEntry("某局", "a@b.cn", "王五", None, "市直")]


def test_control_characters_are_removed_from_cells(tmp_path):
    entries = load_roster(
        write_xlsx(
            tmp_path / "r.xlsx", [["单位名称", "电子邮箱"], ["某局\r\nBcc: evil@x.cn", "a@b.cn\n"]]
        )
    )
    assert entries == [RosterEntry("某局 Bcc: evil@x.cn", "a@b.cn")]


def test_missing_file(tmp_path):
    with pytest.raises(XltoolsError, match="名单文件不存在"):
        load_roster(tmp_path / "nope.xlsx")


def test_no_name_column(tmp_path):
    with pytest.raises(XltoolsError, match="没有「单位名称」列"):
        load_roster(write_csv(tmp_path / "r.csv", [["名字", "邮箱"], ["某局", "a@b.cn"]], "utf-8"))


def test_duplicate_names_after_normalising(tmp_path):
    rows = [
        ["单位名称"],
        ["某某区政府办公室（区政务服务管理局）"],
        ["某某区政府办公室 (区政务服务管理局)"],
    ]
    with pytest.raises(XltoolsError) as exc:
        load_roster(write_csv(tmp_path / "r.csv", rows, "utf-8"))
    assert "重复" in str(exc.value) and "第 2 行与第 3 行" in str(exc.value)


def test_unsupported_format(tmp_path):
    (tmp_path / "r.docx").write_bytes(b"x")
    with pytest.raises(XltoolsError, match="不受支持"):
        load_roster(tmp_path / "r.docx")


def test_normalise_name():
    assert normalise_name("某某区 人民政府（办公室）") == normalise_name("某某区人民政府(办公室)")
    assert normalise_name("ＡＢＣ\u3000局\u200b") == "abc局"
    assert normalise_name("某局") != normalise_name("某某局")


def test_match_by_credit_code_first_then_name():
    entries = EXPECTED
    assert match(entries, name="别的名字", uscc="11370000mb0000000x") == EXPECTED[0]
    assert match(entries, name="某某区人民政府办公室(区政务服务管理局)") == EXPECTED[1]
    assert match(entries, name="某某镇 人民政府", uscc="000000000000000000") == EXPECTED[2]
    assert match(entries, name="不存在的局") is None
    assert match(entries) is None

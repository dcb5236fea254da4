"""A report shaped like none of the reader's own test documents (written by another engineer
after the reader was done): text extracted with each table row on one line, numbers separated
by spaces, group labels glued to their first item."""

from __future__ import annotations

import json

from click.testing import CliRunner

from xltools.cli import main

T3 = [
    ("一、本年新收政府信息公开申请数量", [5, 1, 0, 0, 0, 0, 6]),
    ("二、上年结转政府信息公开申请数量", [1, 0, 0, 0, 0, 0, 1]),
    ("三、本年度办理结果 （一）予以公开", [3, 1, 0, 0, 0, 0, 4]),
    ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", [0] * 7),
    ("（三）不予公开 1.属于国家秘密", [0] * 7),
    ("2.其他法律行政法规禁止公开", [0] * 7),
    ("3.危及“三安全一稳定”", [0] * 7),
    ("4.保护第三方合法权益", [0] * 7),
    ("5.属于三类内部事务信息", [0] * 7),
    ("6.属于四类过程性信息", [0] * 7),
    ("7.属于行政执法案卷", [0] * 7),
    ("8.属于行政查询事项", [0] * 7),
    ("（四）无法提供 1.本机关不掌握相关政府信息", [2, 0, 0, 0, 0, 0, 2]),
    ("2.没有现成信息需要另行制作", [0] * 7),
    ("3.补正后申请内容仍不明确", [0] * 7),
    ("（五）不予处理 1.信访举报投诉类申请", [0] * 7),
    ("2.重复申请", [0] * 7),
    ("3.要求提供公开出版物", [0] * 7),
    ("4.无正当理由大量反复申请", [0] * 7),
    ("5.要求行政机关确认或重新出具已获取信息", [0] * 7),
    ("（六）其他处理 1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请", [0] * 7),
    ("2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", [0] * 7),
    ("3.其他", [0] * 7),
    ("（七）总计", [5, 1, 0, 0, 0, 0, 6]),
    ("四、结转下年度继续办理", [1, 0, 0, 0, 0, 0, 1]),
]


def county_report(applications_in_text: int = 6) -> str:
    lines = [
        "某某县自然资源局2023年政府信息公开工作年度报告",
        "一、总体情况",
        f"2023年，我局共收到政府信息公开申请{applications_in_text}件，上年结转1件。全年未发生行政复议和行政诉讼。",
        "二、主动公开政府信息情况",
        "第二十条第（一）项",
        "信息内容 本年制发件数 本年废止件数 现行有效件数",
        "规章 0 0 0",
        "行政规范性文件 2 1 9",
        "第二十条第（五）项",
        "信息内容 本年处理决定数量",
        "行政许可 356",
        "第二十条第（六）项",
        "信息内容 本年处理决定数量",
        "行政处罚 41",
        "行政强制 3",
        "第二十条第（八）项",
        "信息内容 本年收费金额（单位：万元）",
        "行政事业性收费 12.5",
        "三、收到和处理政府信息公开申请情况",
        "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和） 申请人情况",
        "自然人 法人或其他组织 总计",
        "商业企业 科研机构 社会公益组织 法律服务机构 其他",
    ]
    lines += [label + " " + " ".join(map(str, nums)) for label, nums in T3]
    lines += [
        "四、政府信息公开行政复议、行政诉讼情况",
        "行政复议 行政诉讼",
        "结果维持 结果纠正 其他结果 尚未审结 总计 未经复议直接起诉 复议后起诉",
        "结果维持 结果纠正 其他结果 尚未审结 总计 结果维持 结果纠正 其他结果 尚未审结 总计",
        " ".join(["0"] * 15),
        "五、存在的主要问题及改进情况",
        "略。",
    ]
    return "\n".join(lines)


def test_unseen_county_report_imports_every_cell(tmp_path):
    (tmp_path / "county.txt").write_text(county_report(), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["import", str(tmp_path / "county.txt"), "-o", str(tmp_path / "c.xlsx")]
    )
    assert result.exit_code == 0, result.output
    values = json.loads(
        CliRunner().invoke(main, ["extract", str(tmp_path / "c.xlsx"), "--json"]).output
    )
    nonzero = {k: v for k, v in values.items() if v not in (0, None)}
    assert nonzero == {
        "meta_agency": "某某县自然资源局",
        "meta_year": 2023,
        "t2_normative_issued": 2,
        "t2_normative_repealed": 1,
        "t2_normative_in_force": 9,
        "t2_licensing_decisions": 356,
        "t2_penalty_decisions": 41,
        "t2_coercion_decisions": 3,
        "t2_fees_amount": 12.5,
        "t3_new_person": 5,
        "t3_new_business": 1,
        "t3_new_total": 6,
        "t3_carried_in_person": 1,
        "t3_carried_in_total": 1,
        "t3_public_person": 3,
        "t3_public_business": 1,
        "t3_public_total": 4,
        "t3_unavailable_not_held_person": 2,
        "t3_unavailable_not_held_total": 2,
        "t3_results_person": 5,
        "t3_results_business": 1,
        "t3_results_total": 6,
        "t3_carried_out_person": 1,
        "t3_carried_out_total": 1,
    }
    assert values["t4_review_total"] == 0 and values["meta_email"] is None


def test_unseen_county_report_text_disagreeing_with_table(tmp_path):
    (tmp_path / "county.txt").write_text(county_report(applications_in_text=8), encoding="utf-8")
    doc = json.loads(
        CliRunner().invoke(main, ["check", str(tmp_path / "county.txt"), "--json"]).output
    )
    findings = doc["files"][0]["findings"]
    assert [(f["rule"], f["cell"], f["key"], f["actual"], f["expected"]) for f in findings] == [
        ("text-vs-table", "J5", "t3_new_total", 6, 8)
    ]
    assert (
        "收到政府信息公开申请8件" in findings[0]["message"] and "总计为 6" in findings[0]["message"]
    )

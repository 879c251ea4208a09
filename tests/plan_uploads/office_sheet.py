"""A plan spreadsheet as the 两型办 writes it, to test the upload with and to try the page by hand.

``python -m tests.plan_uploads.office_sheet OUT.xlsx`` writes the clean sheet (``--broken`` the broken one,
``--edited`` the clean one with two tasks changed; ``.csv`` and ``.xls`` names write those formats).

Laid out like the office's own: a merged title row (株洲市2018年…分解表), a 填报单位 / 日期 subtitle row, the
Chinese header row (序号 重点任务 具体内容 牵头单位 责任单位 完成时限 备注), section rows merged across the
table (一、…) or written in the first cell only (（一）…), a 序号 and a lead unit merged over the sub-tasks
of one task, deadlines in the wordings people use (2018年12月底前, 年底前, 上半年, 下半年, 三季度, 长期,
持续推进, 2018年6月, 2018-12-31 as text, an Excel date cell), and a note under the table.  The task texts
are those of annex 1 and 2 of the Zhuzhou 2018 plan (shared/seeds/003_*.txt).

The broken variant has a near-miss unit (市住建居), a blank task, an unreadable deadline (尽快) and a
duplicate 序号; :data:`BROKEN_PROBLEMS` says where each is.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

TITLE = "株洲市2018年两型社会建设综合配套改革工作计划重点任务分解表"
HEADER = ["序号", "重点任务", "具体内容", "牵头单位", "责任单位", "完成时限", "备注"]
WIDTH = len(HEADER)

# the sheet rows the broken variant gets wrong, and the column each problem is reported in
BROKEN_PROBLEMS = {
    "unit": (7, "D（牵头单位）"),  # 市住建居 (merged over rows 7 and 8: reported on both)
    "deadline": (9, "F（完成时限）"),  # 尽快
    "blank": (11, "C（具体内容）"),  # no task text at all
    "duplicate": (15, "A（序号）"),  # 序号 1 again in （一）
}
CLEAN_TASKS = 10  # 1, 2.1, 2.2, 2.3, 3, 4 in 一、; 1, 2 in （一）; 1, 2 in （二）


@dataclass
class Layout:
    rows: list[list[Any]]
    merges: list[tuple[int, int, int, int]]  # (first row, first col, last row, last col), 1-based


def office_layout(*, broken: bool = False, edited: bool = False) -> Layout:
    """The sheet's cells (merged ranges hold their value in the top-left cell only, as Excel keeps them)."""
    rows: list[list[Any]] = []
    merges: list[tuple[int, int, int, int]] = []

    def add(*cells: Any) -> int:
        rows.append(list(cells) + [None] * (WIDTH - len(cells)))
        return len(rows)

    def across(text: str) -> None:  # one text merged across the table
        merges.append((add(text), 1, len(rows), WIDTH))

    across(TITLE)
    subtitle = add("填报单位：株洲市两型办", None, None, None, "日期：2018年3月")
    merges += [(subtitle, 1, subtitle, 3), (subtitle, 5, subtitle, WIDTH)]
    add(*HEADER)
    across("一、两型改革")
    add(
        "1",
        "环保市场化改革",
        "深化排污权交易改革,加快发展排污权二级市场,出台《城区排污权有偿使用专项资金使用管理制度》,"
        "推进市县两级排污权交易进入公共资源交易平台。",
        "市环保局",
        "公共资源交易中心、各县市区人民政府",
        "2018年12月底前",
    )
    # one task, three sub-tasks: 序号 and 重点任务 merged over the three, the lead unit over the last two
    first = add(
        "2",
        "生态保护管理机制改革",
        "1)根据省国土资源厅安排,开展自然资源确权登记发证工作。",
        "市国土资源局",
        None,
        "年底前",
    )
    second = "2)实施监测、监察执法垂直管理制度改革,完成县级环保机构派驻。"
    add(None, None, second, "市住建居" if broken else "市环保局", "各县市区人民政府", "上半年")
    third = "3)加快健全第三级网格和村一级的环境监管机制,完成环保与安全生产、综合维稳等监管网格化平台的资源整合。"
    add(None, None, third, None, None, "下半年")
    merges += [(first, 1, first + 2, 1), (first, 2, first + 2, 2), (first + 1, 4, first + 2, 4)]
    merges += [(first + 1, 5, first + 2, 5)]
    add(
        "3",
        "土地、矿产资源节约集约利用体制改革",
        "建立园区节约集约用地奖惩机制,释放存量建设用地空间;全面推行土地利用综合监管,重点开展园区用地清理清查和处置,"
        "盘活存量用地。",
        "市国土资源局",
        "各县市区人民政府",
        "尽快" if broken else "三季度",
    )
    low_carbon = "完成全市温室气体排放清单和低碳规划编制工作。"
    if edited:
        low_carbon = "完成全市温室气体排放清单和低碳规划编制工作,积极参与国家、省碳排放交易市场建设。"
    add("4", "国家低碳城市试点", low_carbon, "市发改委", "市统计局、市两型办", "2018-12-31", "省级试点")
    if broken:
        add("5", None, None, "市城管局", "市两型办", "年底前")  # a task with no text
    across("二、清水塘搬迁改造")
    add("（一）企业关停与转型")
    add(
        "1",
        "全面关停企业",
        "全面关停株冶及与之高度关联的4家中小企业,完成企业土地收储任务并交厂交地,实现清水塘老工业区企业全面关停退出。",
        "市清水塘搬迁改造指挥部办公室",
        "市发改委、市经信委、市人社局、市国土资源局、市环保局、市国资委、石峰区人民政府",
        date(2018, 12, 31),
    )
    add(
        "1" if broken else "2",
        "加快推进转移转型项目建设",
        "积极协调服务市外转移项目建设,确保61家已确定选址的搬迁企业上半年全面启动新址建设,力争年内实现一批项目投产运营。",
        "市经信委",
        "市发改委、市人社局、市国土资源局、攸县人民政府、醴陵市人民政府",
        "2018年9月底前" if edited else "2018年6月",
    )
    add("（二）职工安置与环境整治")
    add(
        "1",
        "基本完成职工安置",
        "采取政策安置一批、搬迁转移一批、公益岗位安置一批、自主择业一批等四个一批的方式,"
        "基本完成清水塘地区约2万名职工安置工作。",
        "石峰区人民政府",
        "市国土资源局、市房产局、清水塘投资集团",
        "长期",
    )
    add(
        "2",
        "深入开展环境污染综合整治",
        "加快推进世行贷款项目实施;启动清水湖片区、铜塘湾片区治理、固废废物填埋场及环保示范中心等工程。",
        "清水塘投资集团",
        "市环保局",
        "持续推进",
        "世行贷款项目",
    )
    across("注：完成时限未写年份的，均为2018年。")
    return Layout(rows, merges)


def write_xlsx(path: Path, *, broken: bool = False, edited: bool = False) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    layout = office_layout(broken=broken, edited=edited)
    book = Workbook()
    sheet = book.active
    sheet.title = "附件1"
    for r, row in enumerate(layout.rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                cell = sheet.cell(r, c, value)
                if isinstance(value, date):
                    cell.number_format = "yyyy-mm-dd"
    for first, col, last, last_col in layout.merges:
        sheet.merge_cells(start_row=first, start_column=col, end_row=last, end_column=last_col)
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    for letter, width in zip("ABCDEFG", (6, 18, 60, 22, 40, 16, 12), strict=True):
        sheet.column_dimensions[letter].width = width
    book.save(path)
    return path


def write_xls(path: Path, *, broken: bool = False, edited: bool = False) -> Path:
    import xlwt

    layout = office_layout(broken=broken, edited=edited)
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("附件1")
    dates = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    covered = {
        (r, c)
        for first, col, last, last_col in layout.merges
        for r in range(first, last + 1)
        for c in range(col, last_col + 1)
    }
    for first, col, last, last_col in layout.merges:
        value = layout.rows[first - 1][col - 1]
        sheet.write_merge(first - 1, last - 1, col - 1, last_col - 1, value)
    for r, row in enumerate(layout.rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is None or (r, c) in covered:
                continue
            if isinstance(value, date):
                sheet.write(r - 1, c - 1, value, dates)
            else:
                sheet.write(r - 1, c - 1, value)
    book.save(str(path))
    return path


def csv_rows(*, broken: bool = False, edited: bool = False) -> list[list[str]]:
    """The sheet as a CSV holds it: no merged cells, so every sub-task row carries its own 序号 (2.1, 2.2 ...)
    and its units, as a person writes a CSV by hand."""
    layout = office_layout(broken=broken, edited=edited)
    grid = [
        [("" if v is None else v.isoformat() if isinstance(v, date) else str(v)) for v in row] for row in layout.rows
    ]
    for first, col, last, last_col in layout.merges:
        if first == last:
            continue
        for r in range(first, last + 1):
            for c in range(col, last_col + 1):
                grid[r - 1][c - 1] = grid[first - 1][col - 1]
        if col == 1:
            base = grid[first - 1][0]
            for k, r in enumerate(range(first, last + 1), start=1):
                grid[r - 1][0] = f"{base}.{k}"
    return grid


def write_csv(path: Path, *, encoding: str = "utf-8-sig", broken: bool = False, edited: bool = False) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(csv_rows(broken=broken, edited=edited))
    return path


def write(path: Path, *, broken: bool = False, edited: bool = False) -> Path:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return write_csv(path, broken=broken, edited=edited)
    if suffix == ".xls":
        return write_xls(path, broken=broken, edited=edited)
    return write_xlsx(path, broken=broken, edited=edited)


if __name__ == "__main__":
    args = sys.argv[1:]
    names = [a for a in args if not a.startswith("--")]
    if len(names) != 1:
        sys.exit("usage: python -m tests.plan_uploads.office_sheet OUT.xlsx|OUT.xls|OUT.csv [--broken] [--edited]")
    out = write(Path(names[0]), broken="--broken" in args, edited="--edited" in args)
    print(out)

"""Parse the two source plans (shared/seeds/) into project records.

Run ``python -m service.projects.parser SEEDS_DIR`` to rebuild ``geodata/plans/``; the committed
register is the output, and tests/projects checks that a fresh parse still equals it.  The parser
builds on the register's row type and writer (service.projects.register), never the other way round.

The 2018 annex tables were flattened to one cell per line: a row number, the task name (sometimes
split over two lines), task texts numbered ``1)`` (sometimes ``1`` with the bracket lost), then the
lead-unit cell and the responsible-units cell (an empty cell is a line holding a space; a unit name
may be split over two lines).  The units apply to every task text since the previous units.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from service.common.chinese_text import (
    UNIT_SUFFIX,
    extract_deadline,
    extract_targets,
    short_title,
    split_units,
    to_simplified,
)
from service.projects.register import REGISTER_DIR, ProjectRecord, write_register

ZHUZHOU_FILE = "003_a8ff47c9ec45990b.txt"
PROVINCE_FILE = "000_ae621ed133a8128a.txt"

PLANS: tuple[dict[str, object], ...] = (
    {
        "id": "zhuzhou-2018",
        "title": "株洲市2018年两型社会建设综合配套改革工作计划",
        "document": ZHUZHOU_FILE,
        "year": 2018,
        "issuer": "中共株洲市委办公室、株洲市人民政府办公室",
        "published": "2018-03-31",
        "city": "株洲市",
    },
    {
        "id": "changzhutan-2010",
        "title": "长株潭城市群“两型社会”建设改革试验区领导协调委员会2010年工作要点",
        "document": f"湘两型函〔2010〕17号 ({PROVINCE_FILE})",
        "year": 2010,
        "issuer": "湖南省长株潭两型办",
        "published": "2010-05-12",
        "city": "",
    },
)

ANNEX_CATEGORIES = {
    1: "两型改革",
    2: "清水塘搬迁改造",
    3: "碧水蓝天",
    4: "绿心保护",
    5: "示范创建",
    6: "示范区建设",
    7: "一体化",
    8: "清洁低碳技术",
}
MAIN_CATEGORIES = {
    "二.1": "两型改革",
    "二.2": "清水塘搬迁改造",
    "二.3": "碧水蓝天",
    "二.4": "绿心保护",
    "二.5": "示范创建",
    "二.6": "一体化",
}
# annex 6 has no unit columns: the zone's own government leads
ANNEX6_LEADS = {"云龙示范区": "云龙示范区管委会", "天元片区": "天元区人民政府", "清水塘片区": "石峰区人民政府"}
# the 2010 items 43-55 have no headings: categories given by reading each item
PROVINCE_ITEM_CATEGORIES = {
    43: "生态环境",
    44: "产业体系",
    45: "生态环境",
    46: "生态环境",
    47: "金融",
    48: "金融",
    49: "金融",
    50: "产业体系",
    51: "改革创新",
    52: "生态环境",
    53: "社会事业",
    54: "社会事业",
    55: "改革创新",
}
PROVINCE_SECTION_CATEGORIES = {"一": "规划政策", "二": "改革创新", "三": "基础设施", "四": "产业体系"}
CN_NUMERALS = "一二三四五六七八九十"
INFERRED_LEAD = "牵头单位据发文机关推定 (source names none)"


def _finish(record: ProjectRecord, year: int) -> ProjectRecord:
    """Simplify the script, then read targets and the deadline from the text."""
    record.title = to_simplified(record.title)
    record.task_text = to_simplified(record.task_text)
    record.section = to_simplified(record.section)
    record.lead_units = [to_simplified(u) for u in record.lead_units]
    record.responsible_units = [to_simplified(u) for u in record.responsible_units]
    record.targets = extract_targets(record.task_text)
    record.deadline, record.deadline_text = extract_deadline(record.task_text, year)
    record.year = year
    return record


# ---------------------------------------------------------------- Zhuzhou 2018


def parse_zhuzhou_2018(text: str) -> list[ProjectRecord]:
    lines = text.splitlines()
    records = _zhuzhou_main_text(lines)
    annex_starts = [i for i, line in enumerate(lines) if re.fullmatch(r"附件\d", line.strip())]
    for n, start in enumerate(annex_starts):
        end = annex_starts[n + 1] if n + 1 < len(annex_starts) else len(lines)
        records += _zhuzhou_annex(lines, start, end)
    return [_finish(r, 2018) for r in records]


def _zhuzhou_main_text(lines: list[str]) -> list[ProjectRecord]:
    records: list[ProjectRecord] = []
    section = ""
    for i, raw in enumerate(lines):
        line = raw.strip()
        if line.startswith("附件"):
            break
        head = re.match(r"^([一二三四五六七八九十])、(.+)$", line)
        if head:
            section = line
            continue
        item = re.match(r"^\(([一二三四五六七八九十])\)(.+)$", line)
        if not item or section[:1] not in ("二", "三"):
            continue
        number = f"{CN_NUMERALS.index(section[0]) + 1}.{CN_NUMERALS.index(item.group(1)) + 1}"
        category = MAIN_CATEGORIES.get(f"{section[0]}.{number.split('.')[1]}", "保障措施")
        body = item.group(2)
        records.append(
            ProjectRecord(
                plan="zhuzhou-2018",
                key=f"zhuzhou-2018/main/{number}",
                section=section,
                number=number,
                title=short_title(body),
                task_text=body,
                category=category,
                lead_units=["株洲市人民政府"],
                source=f"{ZHUZHOU_FILE}:{i + 1}",
                notes=INFERRED_LEAD,
            )
        )
    return records


@dataclass
class _Item:
    row: int
    sub: int | None
    text: str
    line_no: int


def _is_blank(line: str) -> bool:
    return not line.strip()


def _sub_marker(line: str, expected: int) -> tuple[int, str] | None:
    """``3)text`` → (3, text); ``3text`` only when 3 is the next expected number (the bracket was lost)."""
    m = re.match(r"^(\d{1,2})\)(.*)$", line)
    if m:
        return int(m.group(1)), m.group(2)
    m = re.match(r"^(\d{1,2})(?=[\u4e00-\u9fff])(.*)$", line)
    if m and int(m.group(1)) == expected:
        return int(m.group(1)), m.group(2)
    return None


def _is_unit_line(line: str) -> bool:
    """A lead / responsible cell: short, no sentence punctuation, every part ends like an organisation."""
    line = line.strip()
    if not line or len(line) > 120 or re.search(r"[。,,;;:()]", line):
        return False
    return all(UNIT_SUFFIX.search(part) for part in split_units(line))


def _is_unit_fragment(lines: list[str], i: int) -> bool:
    """The first half of a unit name split over two lines (``市畜牧兽医`` / ``水产局``)."""
    line = lines[i].strip()
    nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
    return (
        0 < len(line) <= 8
        and not re.search(r"[。,,;;]", line)
        and not line.isdigit()
        and not UNIT_SUFFIX.search(line)
        and line.startswith(("市", "省", "各", "相关"))
        and bool(nxt)
        and len(nxt) <= 6
        and bool(UNIT_SUFFIX.search(nxt))
    )


def _zhuzhou_annex(lines: list[str], start: int, end: int) -> list[ProjectRecord]:
    annex = int(lines[start].strip()[2:])
    table_title = next(line.strip() for line in lines[start + 1 : end] if line.strip())
    section = f"附件{annex} {table_title}"
    i = start + 1
    while i < end and lines[i].strip() != "序号":
        i += 1
    i += 1
    while i < end and lines[i].strip() in ("重点任务", "牵头单位", "责任单位", "示范区"):
        i += 1

    records: list[ProjectRecord] = []
    titles: dict[int, str] = {}
    pending: list[_Item] = []
    row = 0
    last_sub = 0

    def emit(items: list[_Item], lead: list[str], responsible: list[str], note: str = "") -> None:
        for it in items:
            number = f"{it.row}" if it.sub is None else f"{it.row}.{it.sub}"
            records.append(
                ProjectRecord(
                    plan="zhuzhou-2018",
                    key=f"zhuzhou-2018/annex{annex}/{number}",
                    section=section,
                    number=number,
                    title=titles[it.row],
                    task_text=it.text,
                    category=ANNEX_CATEGORIES[annex],
                    lead_units=lead,
                    responsible_units=responsible,
                    source=f"{ZHUZHOU_FILE}:{it.line_no}",
                    notes=note,
                )
            )

    while i < end:
        line = lines[i].strip()
        if line.startswith("责任编辑"):
            break
        if _is_blank(line):
            i += 1
            continue
        if line.isdigit():
            number = int(line)
            title = lines[i + 1].strip()
            i += 2
            while i < end and 0 < len(lines[i].strip()) <= 4 and not _is_unit_line(lines[i]):
                title += lines[i].strip()  # a task name split over two lines
                i += 1
            if number != row:  # a repeated row number continues the same row (page break)
                row, last_sub = number, 0
                titles[row] = title
            continue
        if _is_unit_line(line) or _is_unit_fragment(lines, i):
            cells: list[str] = []
            while i < end:
                cell = lines[i].strip()
                if cell.startswith("责任编辑") or cell.isdigit():
                    break
                if cell and not (_is_unit_line(cell) or _is_unit_fragment(lines, i)):
                    break
                if _is_unit_fragment(lines, i):
                    cell += lines[i + 1].strip()
                    i += 1
                cells.append(cell)
                i += 1
            filled = [*cells, "", ""]
            emit(pending, split_units(filled[0]), split_units(filled[1]))
            pending = []
            continue
        marker = _sub_marker(line, last_sub + 1)
        if marker:
            last_sub = marker[0]
            pending.append(_Item(row, marker[0], marker[1].strip(), i + 1))
        elif pending and pending[-1].row == row:
            pending[-1].text += line  # a task text continued on the next line
        else:
            pending.append(_Item(row, None, line, i + 1))
        i += 1
    if pending:  # annex 6: no unit columns at all
        by_row: dict[int, list[_Item]] = {}
        for it in pending:
            by_row.setdefault(it.row, []).append(it)
        for r, items in by_row.items():
            lead = ANNEX6_LEADS.get(titles[r])
            emit(items, [lead] if lead else [], [], "牵头单位据示范区推定 (table has no unit columns)")
    return records


# ---------------------------------------------------------------- Province 2010


def parse_province_2010(text: str) -> list[ProjectRecord]:
    simple = to_simplified(text)
    lines = simple.splitlines()
    records: list[ProjectRecord] = []
    section = ""
    for i, raw in enumerate(lines):
        line = re.sub(r"\s{2,}", "", raw.strip())
        item = re.match(r"^(\d{2})、(.+)$", line)
        if item:
            records += _province_item(int(item.group(1)), item.group(2), i + 1)
            continue
        head = re.match(r"^([一二三四五六七八九十])、(.+)$", line)
        if head:
            section = line
            continue
        point = re.match(r"^\(([一二三四五六七八九十])\)(.+)$", line)
        if point and section:
            number = f"{CN_NUMERALS.index(section[0]) + 1}.{CN_NUMERALS.index(point.group(1)) + 1}"
            body = point.group(2)
            records.append(
                ProjectRecord(
                    plan="changzhutan-2010",
                    key=f"changzhutan-2010/keypoints/{number}",
                    section=section,
                    number=number,
                    title=short_title(body),
                    task_text=body,
                    category=PROVINCE_SECTION_CATEGORIES[section[0]],
                    lead_units=["省长株潭两型办"],
                    source=f"{PROVINCE_FILE}:{i + 1}",
                    notes=INFERRED_LEAD,
                )
            )
    return [_finish(r, 2010) for r in records]


def _province_item(number: int, body: str, line_no: int) -> list[ProjectRecord]:
    """One numbered item; each ``(责任单位:…)`` closes a clause that becomes its own project."""
    clauses = re.findall(r"(.+?)\((责任单位:[^)]*)\)[。]?", body)
    records = []
    for n, (clause, units) in enumerate(clauses, start=1):
        lead_part, _, joint_part = units.partition(";")
        lead = split_units(lead_part.removeprefix("责任单位:"))
        joint = split_units(joint_part.removeprefix("共同实施单位:"))
        num = f"{number}" if len(clauses) == 1 else f"{number}.{n}"
        task = clause.strip().strip("。")
        records.append(
            ProjectRecord(
                plan="changzhutan-2010",
                key=f"changzhutan-2010/items/{num}",
                section="第四章 运行实施篇 (43-55)",
                number=num,
                title=short_title(task),
                task_text=task,
                category=PROVINCE_ITEM_CATEGORIES[number],
                lead_units=lead,
                responsible_units=joint,
                source=f"{PROVINCE_FILE}:{line_no}",
            )
        )
    return records


def parse_seeds(seeds_dir: Path) -> list[ProjectRecord]:
    """Every project of both plans, in document order."""
    zhuzhou = (seeds_dir / ZHUZHOU_FILE).read_text(encoding="utf-8")
    province = (seeds_dir / PROVINCE_FILE).read_text(encoding="utf-8")
    return parse_zhuzhou_2018(zhuzhou) + parse_province_2010(province)


def main(argv: list[str]) -> None:
    """Rebuild the committed register from the seeds."""
    seeds = Path(argv[0]) if argv else Path(__file__).resolve().parents[3] / "shared" / "seeds"
    records = parse_seeds(seeds)
    write_register(records, PLANS, REGISTER_DIR)
    print(f"{len(records)} projects written to {REGISTER_DIR}")


if __name__ == "__main__":
    main(sys.argv[1:])

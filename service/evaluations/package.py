"""The package for a third-party evaluator (第三方评估, seed 003 三(四)): one zip with the report, the data
and a README of the fields, so an evaluator outside the government network can check every figure without
the service.

Why a zip made this way: the package is stored on first download and must read the same for as long as
the evaluation exists, so the bytes depend on nothing but the inputs.  Every member gets the same
timestamp (the evaluation's ``created_at``, or 1980-01-01), the same permissions and "made on Unix"
marker, and a fixed place in a fixed order; ``zipfile`` sets the UTF-8 name flag itself for the Chinese
names (``报告/评估报告.pdf``), so Windows Explorer, 7-Zip and ``unzip`` show them right.  ``SHA256SUMS.txt``
(the format ``sha256sum -c`` reads) lets the evaluator check that nothing was changed on the way.

The field reference (``FIELD_SECTIONS``) is written here once and used twice: in ``README.txt`` and in the
workbook's 字段说明 sheet (service.evaluations.report_xlsx), so the two never tell different stories.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from service.common.derived_status import DELAY_LABELS, SCHEDULE_CLASSES

MEDIA_TYPE = "application/zip"

README = "README.txt"
SUMS = "SHA256SUMS.txt"
SNAPSHOT = "evaluation.json"
# stored file name → its place in the package, in the package's order (evaluation.json is passed apart)
MEMBERS: tuple[tuple[str, str], ...] = (
    ("report.pdf", "报告/评估报告.pdf"),
    ("report.xlsx", "报告/评估报告.xlsx"),
    ("tasks.gpkg", "数据/tasks.gpkg"),
    (SNAPSHOT, "数据/evaluation.json"),
    ("wallmap.png", "数据/wallmap.png"),
)
FILE_DESCRIPTIONS: dict[str, str] = {
    "报告/评估报告.pdf": "评估报告（report, PDF）：封面、概要、按单位和类别的统计、考核得分、"
    "滞后及应开工未开工任务及原因、挂图",
    "报告/评估报告.xlsx": "评估报告（report, Excel workbook）：同一组表格，每表一页，另有全部任务和本字段说明",
    "数据/tasks.gpkg": "任务图层（tasks layer, GeoPackage, EPSG:4326）：每项任务的位置及下列任务字段",
    "数据/evaluation.json": "评估快照（snapshot, canonical JSON, UTF-8, sorted keys）：报告中每一个数字的来源",
    "数据/wallmap.png": "挂图作战图（wall map, PNG, A3 landscape）：截至日期的任务分布，编号即任务序号（no）",
    SUMS: "校验值（checksums）：本包其余每个文件的 SHA-256，可用 `sha256sum -c SHA256SUMS.txt` 核对",
}
FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold
FILE_MODE = 0o100644  # a regular file, rw-r--r--
UNIX = 3  # ZipInfo.create_system; zipfile would write 0 on Windows


@dataclass(frozen=True)
class Field:
    """One column: its name in the data, its Chinese name (the workbook's header), English, and meaning."""

    key: str
    name: str
    english: str
    meaning: str


@dataclass(frozen=True)
class FieldSection:
    title: str
    english: str
    fields: tuple[Field, ...]


_CLASSES = "、".join(SCHEDULE_CLASSES)
_REASONS = "，".join(f"{code} {label}" for code, label in DELAY_LABELS.items())

TASK_FIELDS: tuple[Field, ...] = (
    Field("no", "序号", "number", "本次评估中任务的序号（1, 2, ...），按计划和任务顺序"),
    Field("project_id", "任务编号", "project id", "任务在系统中的编号"),
    Field("plan_id", "计划编号", "plan id", "任务所属工作计划的编号"),
    Field("title", "任务", "title", "计划原文中的任务表述"),
    Field("lead_units", "牵头单位", "lead units", "牵头单位；多个单位时以“、”分隔（JSON 中为列表）"),
    Field(
        "assessed_units",
        "考核单位",
        "assessed units",
        "单位名录认定的牵头单位（规范名称），考核得分和按单位统计以此计；未能认定的保留原文",
    ),
    Field("category", "类别", "category", "任务类别"),
    Field("district", "区县", "district", "任务所在区县；只定位到市或更大范围时为“未定位到区县”"),
    Field("status", "进度分类", "schedule class", f"截至日期的进度分类：{_CLASSES}"),
    Field("delay_reason", "滞后依据代码", "delay reason code", f"判定滞后的依据（代码）：{_REASONS}；未滞后为空"),
    Field("delay_label", "滞后依据", "delay reason", "判定滞后的依据（中文），与滞后依据代码一一对应"),
    Field("percent", "当前进度", "percent", "最近一次填报的完成进度（%）；未填报为 0"),
    Field("planned_pct", "计划进度", "planned percent", "截至日期已到期节点的计划进度（%）；无到期节点为空"),
    Field("due_milestone", "当前节点", "milestone due", "截至日期最后一个已到期的节点"),
    Field("next_milestone", "下一节点", "next milestone", "下一个节点"),
    Field("next_due", "节点时间", "next milestone date", "下一节点的计划时间"),
    Field("deadline", "完成时限", "deadline", "任务的完成时限"),
    Field("reported_period", "填报月份", "reported month", "计入的最近一次进度填报所属月份；未填报为空"),
    Field(
        "behind_category",
        "滞后原因类别",
        "delay cause category",
        "单位上报的滞后原因类别：资金、用地、审批、拆迁、设计、其他",
    ),
    Field("behind_reason", "滞后原因", "delay cause", "单位上报的滞后原因（原文）"),
    Field(
        "precision",
        "定位精度",
        "location precision",
        "定位精度代码（IATI / AidData）：1 具体地物（道路、河流、厂站等），2 片区，3 区县或市，4 省或区域，"
        "5 沿河流域，8 牵头单位驻地",
    ),
)
GROUP_FIELDS: tuple[Field, ...] = (
    Field("key", "名称", "name", "单位、类别、区县或计划（groups.unit / category / district / plan）"),
    Field("title", "计划名称", "plan title", "计划的名称（仅按计划统计）"),
    Field("projects", "任务数", "tasks", "任务数；一项任务有两个牵头单位时在每个单位下各计一次"),
    Field("by_status", "各进度分类", "by schedule class", f"各进度分类的任务数：{_CLASSES}"),
    Field("delayed", "滞后合计", "behind", "已开工进展缓慢与应开工未开工之和"),
    Field("completion_rate", "完成率", "completion rate", "已完成任务数 / 任务数（0-1）"),
    Field("mean_percent", "平均进度", "mean percent", "各任务当前进度的平均值（%）"),
)
SCOREBOARD_FIELDS: tuple[Field, ...] = (
    Field("rule.name", "考核规则", "rule name", "考核规则的名称"),
    Field("rule.version", "规则版本", "rule version", "考核规则的版本"),
    Field("rule.sha256", "规则 SHA-256", "rule sha256", "考核规则文件的 SHA-256，与计算依据中的规则文件一致"),
    Field("rule.weights", "权重", "weights", "各考核项的权重（满分）"),
    Field("rank", "名次", "rank", "按得分从高到低的名次"),
    Field("unit", "单位", "unit", "被考核单位"),
    Field("score", "得分", "score", "各考核项得分之和"),
    Field(
        "parts[].part",
        "考核项代码",
        "part",
        "考核项：completion 任务完成，timeliness 按节点推进，"
        "rectification 案件按期整改，violations 违法违规（以规则为准）",
    ),
    Field("parts[].label", "考核项", "part label", "考核项的中文名称"),
    Field("parts[].weight", "权重", "weight", "该考核项的权重（满分）"),
    Field("parts[].value", "得分率", "value", "该考核项的得分率（0-1）"),
    Field("parts[].points", "得分", "points", "该考核项的得分 = 权重 × 得分率"),
    Field("parts[].basis", "依据", "basis", "得分率所依据的计数"),
)
CASE_FIELDS: tuple[Field, ...] = (
    Field("unit", "单位", "unit", "承办单位"),
    Field("open", "在办", "open", "截至日期末仍在办理的案件数"),
    Field("overdue", "逾期", "overdue", "在办且已过整改期限的案件数"),
    Field("closed", "已销号", "closed", "已销号的案件数"),
    Field("withdrawn", "撤销", "withdrawn", "已撤销的案件数"),
    Field("due", "到期", "due", "整改期限已到的案件数"),
    Field("closed_on_time", "按期销号", "closed on time", "在整改期限内销号的案件数"),
    Field("violations", "违法违规", "violations", "认定为违法违规的案件数"),
    Field("time_to_close", "销号用时", "time to close", "已销号案件数及销号用时的中位数、平均数（天）"),
)
FIELD_SECTIONS: tuple[FieldSection, ...] = (
    FieldSection("任务表及 GeoPackage 图层的列", "tasks table and GeoPackage columns", TASK_FIELDS),
    FieldSection("按单位、类别、区县、计划统计", "groups", GROUP_FIELDS),
    FieldSection("考核得分", "scoreboard", SCOREBOARD_FIELDS),
    FieldSection("案件", "cases", CASE_FIELDS),
)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def score_parts(snapshot: dict[str, Any]) -> dict[str, str]:
    """The scoreboard's parts (code → label) in the order the units list them: the rule's order, which a
    JSON object (sorted keys in the stored snapshot) does not keep."""
    parts: dict[str, str] = {}
    for unit in (snapshot.get("scoreboard") or {}).get("units") or []:
        for part in unit.get("parts") or []:
            parts.setdefault(part.get("part"), part.get("label") or part.get("part"))
    return parts


def ordered_weights(snapshot: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """The rule's weights as (part, label, weight), in the parts' order, then any other part by name, so
    the text does not depend on the order of the snapshot's keys."""
    weights = ((snapshot.get("scoreboard") or {}).get("rule") or {}).get("weights") or {}
    parts = score_parts(snapshot)
    order = [p for p in parts if p in weights] + sorted(p for p in weights if p not in parts)
    return [(p, parts.get(p, p), weights[p]) for p in order]


def fields_readme(snapshot: dict[str, Any]) -> str:
    """``README.txt``: what the package is, which evaluation, what each file is and what every field means.

    Plain text (UTF-8, LF), Chinese with English in brackets: an evaluator opens it in any editor first.
    """
    evaluation = snapshot.get("evaluation") or {}
    basis = snapshot.get("basis") or {}
    rule = (snapshot.get("scoreboard") or {}).get("rule") or {}
    scope = evaluation.get("scope") or {}
    wall_map = snapshot.get("wall_map") or {}
    lines = [
        "第三方评估数据包（third-party evaluation package）",
        "=" * 48,
        "",
        "本数据包是 xiangmap 定期评估的冻结快照：截至日期每项任务的状态，按单位、类别、区县和计划的统计，",
        "案件情况，各单位考核得分和挂图。评估一经生成不再改变，报告只依据本包中的数据文件生成。",
        "(A frozen snapshot of a periodic evaluation; the reports are made from the data files in this package only.)",
        "",
        "评估（evaluation）",
        "-" * 18,
        f"标题（title）：{_text(evaluation.get('title'))}",
        f"类型（kind）：{_text(evaluation.get('kind_label'))}（{_text(evaluation.get('kind'))}）",
        f"期间（period）：{_text(evaluation.get('period'))}",
        f"截至日期（as of）：{_text(evaluation.get('as_of'))}",
        f"范围（scope）：{_text(scope.get('plan_title'))}"
        + (f"（plan_id {scope['plan_id']}）" if scope.get("plan_id") is not None else "（every plan）"),
        f"制作人（made by）：{_text(evaluation.get('created_by'))}",
        f"制作时间（made at）：{_text(evaluation.get('created_at'))}",
        f"评估编号（evaluation id）：{_text(evaluation.get('id'))}",
        f"快照格式（format）：{_text(snapshot.get('format'))}",
        "",
        "计算依据（basis）",
        "-" * 18,
        f"数据版本（data version）：{_text(basis.get('data_version'))}",
        f"滞后容差（delay tolerance, percentage points）：{_text(basis.get('delay_threshold_pct'))}",
        f"软件（software）：{_text(basis.get('software'))}",
        "规则文件及 SHA-256（rule files）：",
    ]
    lines += [f"  {sha}  {path}" for path, sha in sorted((basis.get("rules") or {}).items())]
    lines += [
        f"考核规则（scoreboard rule）：{_text(rule.get('name'))}，版本（version）{_text(rule.get('version'))}",
        f"考核规则 SHA-256（rule sha256）：{_text(rule.get('sha256'))}",
    ]
    weights = ordered_weights(snapshot)
    if weights:
        lines.append("权重（weights）：" + "，".join(f"{label}（{part}）{weight}" for part, label, weight in weights))
    if wall_map.get("sha256"):
        lines.append(f"挂图 SHA-256（wall map sha256）：{wall_map['sha256']}")
    lines += ["", "文件（files）", "-" * 18]
    lines.append(f"{README}：本说明（this file）")
    lines += [f"{member}：{FILE_DESCRIPTIONS[member]}" for _, member in MEMBERS]
    lines.append(f"{SUMS}：{FILE_DESCRIPTIONS[SUMS]}")
    lines.append("某个文件尚未生成时本包不含该文件；SHA256SUMS.txt 列出本包实际包含的文件。")
    lines.append("(A file not made yet is left out; SHA256SUMS.txt lists the files this package holds.)")
    lines += ["", "字段说明（field reference）", "-" * 18]
    for section in FIELD_SECTIONS:
        lines += ["", f"{section.title}（{section.english}）"]
        lines += [f"  {f.key}  {f.name}（{f.english}）：{f.meaning}" for f in section.fields]
    lines += [
        "",
        "日期为 YYYY-MM-DD，时间为 ISO 8601（中国时间）；进度（%）为 0-100，比率为 0-1。",
        "(Dates are YYYY-MM-DD, times ISO 8601 China time; percents are 0-100, rates 0-1.)",
        "",
    ]
    return "\n".join(lines)


def _date_time(created_at: Any) -> tuple[int, int, int, int, int, int]:
    """The members' timestamp: the evaluation's own time as written (zip times carry no zone), so the
    package shows when the evaluation was made; 1980-01-01 when it has none a zip can hold."""
    try:
        moment = dt.datetime.fromisoformat(str(created_at))
    except ValueError:
        return FIXED_DATE
    if moment.year < 1980 or moment.year > 2107:
        return FIXED_DATE
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


def _member(name: str, date_time: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = UNIX
    info.external_attr = FILE_MODE << 16
    return info


def package_zip(snapshot_json: bytes, files: dict[str, bytes]) -> bytes:
    """The package: ``README.txt``, the given files at their places (``MEMBERS``) and ``SHA256SUMS.txt``.

    ``snapshot_json`` is the stored ``evaluation.json``, copied as it is (its bytes are what the rule
    hashes and the reports refer to); ``files`` maps stored names (report.pdf, report.xlsx, tasks.gpkg,
    wallmap.png) to bytes, any of which may be missing.  An unknown name is an error, not silently dropped,
    so a renamed file cannot vanish from what an evaluator receives.
    """
    known = {stored for stored, _ in MEMBERS if stored != SNAPSHOT}
    unknown = sorted(set(files) - known)
    if unknown:
        raise ValueError(f"unknown package files {unknown}; expected some of {sorted(known)}")
    snapshot = json.loads(snapshot_json)
    date_time = _date_time((snapshot.get("evaluation") or {}).get("created_at"))
    contents = [(README, fields_readme(snapshot).encode("utf-8"))]
    for stored, member in MEMBERS:
        data = snapshot_json if stored == SNAPSHOT else files.get(stored)
        if data is not None:
            contents.append((member, bytes(data)))
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in contents)
    contents.append((SUMS, sums.encode("utf-8")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, data in contents:
            archive.writestr(_member(name, date_time), data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return out.getvalue()

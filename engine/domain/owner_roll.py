"""The owner roll (业主名册): who the owners are and how much exclusive area each holds.

Totals follow DESIGN.md §4.1 (Supreme People's Court interpretation on building ownership): one
unit counts as one owner, an owner of several units counts once with the units' areas summed, and
all of the developer's unsold units together count as one owner. Areas are exact `Decimal`s —
vote counting compares them by exact rational arithmetic, never floats.

`parse_roll` reads CSV (UTF-8, with or without BOM) or XLSX with the columns
房号、业主编号、业主姓名、专有部分面积（㎡） and an optional 楼栋 and 居民身份证号码 (or the English
`unit_id,owner_id,owner_name,area_m2`, `building`, `id_number`; an ID number is checked against
GB 11643, and a compound that checks the last six characters online compares them with it). It
reports EVERY problem with its file and line in one `RollError`, so a street office fixes the
spreadsheet in one pass.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from engine.errors import ValidationFailed

from .id_number import id_number_problem

REQUIRED_COLUMNS = ("unit_id", "owner_id", "owner_name", "area_m2")
OPTIONAL_COLUMNS = ("building", "id_number")
# Chinese headings a street office's spreadsheet may use instead of the English ones.
COLUMN_ALIASES = {
    "房号": "unit_id", "单元号": "unit_id", "房屋编号": "unit_id",
    "业主编号": "owner_id", "业主证件号": "owner_id",
    "业主姓名": "owner_name", "姓名": "owner_name",
    "专有部分面积": "area_m2", "面积": "area_m2", "建筑面积": "area_m2",
    "专有部分面积（㎡）": "area_m2", "专有部分面积(㎡)": "area_m2", "专有部分面积（平方米）": "area_m2",
    "楼栋": "building", "楼号": "building",
    "居民身份证号码": "id_number", "身份证号码": "id_number", "身份证号": "id_number",
}
# The headings of the downloadable roll template (the importer reads them through COLUMN_ALIASES).
TEMPLATE_COLUMNS = ("房号", "业主编号", "业主姓名", "专有部分面积（㎡）", "楼栋", "居民身份证号码")
# The developer's unsold units are all entered under one of these owner ids and count as one owner.
DEVELOPER_IDS = frozenset({"DEVELOPER", "开发商", "建设单位"})
DEVELOPER_ID = "DEVELOPER"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an uploaded file, where it is, in English and Chinese."""

    file: str
    line: int | None
    message: str
    message_zh: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def as_detail(self) -> dict:
        return {"field": self.where, "message": f"{self.where}: {self.message}",
                "message_zh": f"{self.where}：{self.message_zh}"}

    def __str__(self) -> str:
        return f"{self.where}: {self.message_zh} | {self.message}"


class InputError(ValidationFailed):
    """An uploaded file has problems; `problems` lists all of them, nothing was stored."""

    what_en = "file"
    what_zh = "文件"

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__(
            f"the {self.what_en} has {n} problem(s): " + "; ".join(f"{p.where}: {p.message}" for p in self.problems[:5]),
            f"{self.what_zh}有 {n} 处错误：" + "；".join(f"{p.where}：{p.message_zh}" for p in self.problems[:5]),
            details=[p.as_detail() for p in self.problems])


class RollError(InputError):
    what_en = "owner roll"
    what_zh = "业主名册"


@dataclass(frozen=True)
class Unit:
    unit_id: str
    owner_id: str
    owner_name: str
    area_m2: Decimal
    building: str = ""
    line: int | None = None
    id_number: str = ""


@dataclass
class Owner:
    owner_id: str
    name: str
    units: list[str] = field(default_factory=list)
    area_m2: Decimal = Decimal(0)
    id_number: str = ""  # 居民身份证号码, when the roll has the column

    @property
    def is_developer(self) -> bool:
        return self.owner_id == DEVELOPER_ID


@dataclass
class OwnerRoll:
    units: dict[str, Unit]
    owners: dict[str, Owner]
    source: str = ""

    @property
    def total_area(self) -> Decimal:
        return sum((o.area_m2 for o in self.owners.values()), Decimal(0))

    @property
    def total_owners(self) -> int:
        return len(self.owners)

    def summary(self) -> dict:
        """JSON-able totals for case data and notices."""
        return {"units": len(self.units), "owners": self.total_owners,
                "total_area": format(self.total_area, "f"), "source": self.source}


# --- reading rows ---------------------------------------------------------------------------

def _is_xlsx(data: bytes, filename: str) -> bool:
    name = filename.lower()
    if name.endswith((".xlsx", ".xlsm")):
        return True
    if name.endswith(".csv"):
        return False
    return data[:4] == b"PK\x03\x04"


MAX_ROWS = 100_000  # far more units than any compound has
MAX_XLSX_UNPACKED = 64 * 1024 * 1024  # all parts of an XLSX together, decompressed
MAX_XLSX_PARTS = 1_000
AREA_TEXT = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,6})?")  # plain decimal notation only: no exponent, sign, NaN or ∞


def _too_many_rows(filename: str, line: int) -> Problem:
    return Problem(filename, line, f"more than {MAX_ROWS} rows", f"行数超过 {MAX_ROWS} 行的上限")


def read_table(data: bytes, filename: str) -> tuple[list[str], list[tuple[int, list[str]]], list[Problem]]:
    """(header, [(line, cells)], problems) from CSV or XLSX bytes; blank rows are skipped."""
    if _is_xlsx(data, filename):
        return _read_xlsx(data, filename)
    return _read_csv(data, filename)


def _read_csv(data: bytes, filename: str):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [], [Problem(filename, None, f"not UTF-8 text (byte {exc.start}); save the file as CSV UTF-8",
                                f"不是 UTF-8 编码（第 {exc.start} 字节）；请另存为「CSV UTF-8」格式")]
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] = []
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if not "".join(cells).strip():
                continue  # blank row
            if not header:
                header = cells
            else:
                rows.append((reader.line_num, cells))
                if len(rows) > MAX_ROWS:
                    return header, rows, [_too_many_rows(filename, reader.line_num)]
    except csv.Error as exc:
        return header, rows, [Problem(filename, reader.line_num, f"malformed CSV: {exc}", f"CSV 格式错误：{exc}")]
    return header, rows, []


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # Spreadsheet numbers: 101.0 → "101"; 89.57 → "89.57" (repr is the shortest exact form).
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def xlsx_bomb_problem(data: bytes, filename: str) -> Problem | None:
    """Refuse, before any parsing, an XLSX whose parts unpack to more than MAX_XLSX_UNPACKED
    bytes (a few MB of zip can hold gigabytes of repeated text). The parts are actually
    decompressed, counting, rather than trusting the sizes the zip declares."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            parts = zf.infolist()
            if len(parts) > MAX_XLSX_PARTS:
                return Problem(filename, None, f"the XLSX has more than {MAX_XLSX_PARTS} parts",
                               f"XLSX 文件内部部件超过 {MAX_XLSX_PARTS} 个，不像是名册")
            budget = MAX_XLSX_UNPACKED
            if sum(p.file_size for p in parts) > budget:
                return _bomb(filename)
            for part in parts:
                with zf.open(part) as f:
                    while chunk := f.read(1 << 20):
                        budget -= len(chunk)
                        if budget < 0:
                            return _bomb(filename)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, OSError,
            ValueError) as exc:  # damaged, encrypted or oddly compressed parts
        return Problem(filename, None, f"cannot read the XLSX file: {exc}", f"无法读取 XLSX 文件：{exc}")
    return None


def _bomb(filename: str) -> Problem:
    mb = MAX_XLSX_UNPACKED // 1024 // 1024
    return Problem(filename, None, f"the XLSX unpacks to more than {mb} MB", f"XLSX 文件解压后超过 {mb} MB，请删去无关内容后再上传")


def _read_xlsx(data: bytes, filename: str):
    bomb = xlsx_bomb_problem(data, filename)
    if bomb is not None:
        return [], [], [bomb]
    try:
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        return [], [], [Problem(filename, None, f"cannot read the XLSX file: {exc}", f"无法读取 XLSX 文件：{exc}")]
    try:
        ws = wb.worksheets[0]
        header: list[str] = []
        rows: list[tuple[int, list[str]]] = []
        for n, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            if not any(c.strip() for c in cells):
                continue
            if not header:
                header = cells
            else:
                rows.append((n, cells))
                if len(rows) > MAX_ROWS:
                    return header, rows, [_too_many_rows(filename, n)]
        return header, rows, []
    finally:
        wb.close()


def column_index(header: list[str], filename: str, required: Iterable[str], optional: Iterable[str] = (),
                 aliases: dict[str, str] | None = None) -> tuple[dict[str, int], list[Problem]]:
    """Map column names to positions; a missing required column is a problem on line 1."""
    aliases = aliases or {}
    index: dict[str, int] = {}
    for i, raw in enumerate(header):
        name = raw.strip().lstrip("\ufeff")
        name = aliases.get(name, name.lower())
        if name in index:
            continue
        index[name] = i
    problems = [Problem(filename, 1, f"missing column {col!r}", f"缺少列 {col}")
                for col in required if col not in index]
    if not header:
        problems = [Problem(filename, 1, "the file is empty (no header row)", "文件为空（没有表头行）")]
    return {k: v for k, v in index.items() if k in (*required, *optional)}, problems


def _get(cells: list[str], idx: dict[str, int], col: str) -> str:
    i = idx.get(col)
    return cells[i].strip() if i is not None and i < len(cells) else ""


def area_problem(text: str) -> tuple[Decimal | None, tuple[str, str] | None]:
    """(area, None) for a positive area written as a plain decimal ("89.57", "1,089.5"), else
    (None, (English, Chinese) reason). Exponents, signs, NaN and infinity are refused before
    Decimal sees them: "1e999999999" would otherwise be a valid, astronomically large Decimal."""
    plain = text.replace(",", "").strip()
    if not AREA_TEXT.fullmatch(plain):
        try:
            Decimal(plain)
        except InvalidOperation:
            return None, (f"area_m2 is not a number: {text[:40]!r}", f"专有部分面积不是数字：{text[:40]}")
        if plain.startswith("-") or plain.lstrip("+").strip("0.") == "":
            return None, (f"area_m2 must be positive, got {text[:40]!r}", f"专有部分面积必须大于零，当前为 {text[:40]}")
        return None, (f"area_m2 must be a plain decimal such as 89.57 (at most 9 digits before and 6 after the point), "
                      f"got {text[:40]!r}",
                      f"专有部分面积应写作普通小数（如 89.57，整数部分不超过 9 位、小数不超过 6 位），当前为 {text[:40]}")
    value = Decimal(plain)
    if value <= 0:
        return None, (f"area_m2 must be positive, got {text[:40]!r}", f"专有部分面积必须大于零，当前为 {text[:40]}")
    return value, None


def parse_area(text: str) -> Decimal | None:
    """A positive decimal in plain notation, else None."""
    return area_problem(text)[0]


# --- the roll -------------------------------------------------------------------------------

PROGRESS_ROWS = 500  # a long roll's import reports progress every this many rows


def count_rows(data: bytes, filename: str) -> int:
    """About how many rows a roll file holds, cheaply (to tell a large import before parsing it):
    CSV lines that are not blank, less the header; an XLSX sheet's declared dimension. A file that
    cannot be measured counts 0 (the ordinary path then refuses it with its problems)."""
    if not _is_xlsx(data, filename):
        return max(0, sum(1 for line in data.splitlines() if line.strip(b" ,\t\r")) - 1)
    if xlsx_bomb_problem(data, filename) is not None:
        return 0
    try:
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            return max(0, (wb.worksheets[0].max_row or 0) - 1)
        finally:
            wb.close()
    except Exception:  # openpyxl raises many kinds for a damaged file; parse_roll says what is wrong
        return 0


def parse_roll(data: bytes, filename: str, progress: Callable[[int, int], None] | None = None) -> OwnerRoll:
    """Parse and validate an owner roll; raise `RollError` listing every problem. `progress` is
    told (rows checked, rows) every PROGRESS_ROWS rows and at the end."""
    header, rows, problems = read_table(data, filename)
    if problems:
        raise RollError(problems)
    idx, problems = column_index(header, filename, REQUIRED_COLUMNS, OPTIONAL_COLUMNS, COLUMN_ALIASES)
    if problems:
        raise RollError(problems)
    units: dict[str, Unit] = {}
    owners: dict[str, Owner] = {}
    first_name: dict[str, tuple[str, int]] = {}
    first_id: dict[str, tuple[str, int]] = {}
    unit_lines: dict[str, int] = {}  # every unit seen, valid or not, so duplicates are always named
    for row_number, (line, cells) in enumerate(rows, start=1):
        if progress is not None and row_number % PROGRESS_ROWS == 0:
            progress(row_number, len(rows))
        unit_id = _get(cells, idx, "unit_id")
        owner_id = _get(cells, idx, "owner_id")
        name = _get(cells, idx, "owner_name")
        area_text = _get(cells, idx, "area_m2")
        building = _get(cells, idx, "building")
        id_text = _get(cells, idx, "id_number")
        id_number = ""
        ok = True
        if not unit_id:
            problems.append(Problem(filename, line, "unit_id is empty", "房号（unit_id）为空"))
            ok = False
        elif unit_id in unit_lines:
            first = unit_lines[unit_id]
            problems.append(Problem(filename, line, f"duplicate unit {unit_id!r} (first on line {first})",
                                    f"房号 {unit_id} 重复（首次出现在第 {first} 行）"))
            ok = False
        else:
            unit_lines[unit_id] = line
        if not owner_id:
            problems.append(Problem(filename, line, "owner_id is empty", "业主编号（owner_id）为空"))
            ok = False
        if owner_id.upper() in DEVELOPER_IDS or owner_id in DEVELOPER_IDS:
            owner_id = DEVELOPER_ID
        if not name and owner_id != DEVELOPER_ID:
            problems.append(Problem(filename, line, "owner_name is empty", "业主姓名（owner_name）为空"))
            ok = False
        if not area_text:
            problems.append(Problem(filename, line, "area_m2 is missing", "专有部分面积（area_m2）缺失"))
            ok = False
        else:
            area, why = area_problem(area_text)
            if why is not None:
                problems.append(Problem(filename, line, *why))
                ok = False
        if owner_id and name and owner_id != DEVELOPER_ID:
            seen = first_name.setdefault(owner_id, (name, line))
            if seen[0] != name:
                problems.append(Problem(
                    filename, line, f"owner {owner_id!r} is named {name!r} here but {seen[0]!r} on line {seen[1]}",
                    f"业主编号 {owner_id} 在此处姓名为「{name}」，但第 {seen[1]} 行为「{seen[0]}」"))
                ok = False
        if id_text:
            checked, why = id_number_problem(id_text)
            if why is not None:
                problems.append(Problem(filename, line, *why))
                ok = False
            elif checked and owner_id:
                id_number = checked
                seen_id = first_id.setdefault(owner_id, (checked, line))
                if seen_id[0] != checked:
                    problems.append(Problem(
                        filename, line, f"owner {owner_id!r} has another ID number on line {seen_id[1]}",
                        f"业主编号 {owner_id} 的居民身份证号码与第 {seen_id[1]} 行不一致"))
                    ok = False
        if not ok or area is None:  # no area only with its problem listed
            continue
        unit = Unit(unit_id, owner_id, name or "开发商（未售房屋）", area, building, line, id_number)
        units[unit_id] = unit
        owner = owners.get(owner_id)
        if owner is None:
            owner = owners[owner_id] = Owner(owner_id, unit.owner_name)
        owner.id_number = owner.id_number or id_number
        owner.units.append(unit_id)
        owner.area_m2 += area
    if progress is not None:
        progress(len(rows), len(rows))
    if not problems and not units:
        problems.append(Problem(filename, None, "the roll lists no units", "名册中没有任何房屋"))
    if problems:
        raise RollError(problems)
    return OwnerRoll(units, owners, filename)


def iter_csv_lines(roll_rows: Iterable[tuple[str, str, str, str]]) -> Iterator[str]:
    """CSV text lines for (unit_id, owner_id, owner_name, area_m2) rows — used by tests and benchmarks."""
    yield "unit_id,owner_id,owner_name,area_m2\n"
    for row in roll_rows:
        yield ",".join(row) + "\n"

"""Which fonts notices will use, and whether the machine can render them well.

The stylesheet names the office fonts first (FangSong, XiaoBiaoSong, SimHei, KaiTi) and falls
back to Noto Serif/Sans CJK SC. Without any CJK font Chinese text would render as boxes, so the
fallbacks are required; the office fonts are optional. HarfBuzz-subset is required too: without
it WeasyPrint falls back to fontTools, about 60 times slower on CJK fonts.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# role -> (office fonts, in stylesheet order; required fallback)
FONT_ROLES: dict[str, tuple[tuple[str, ...], str]] = {
    "正文 body (仿宋 FangSong)": (("FangSong", "仿宋", "FangSong_GB2312", "仿宋_GB2312", "STFangsong"),
                                 "Noto Serif CJK SC"),
    "标题 title (小标宋 XiaoBiaoSong)": (("FZXiaoBiaoSong-B05S", "方正小标宋简体", "XiaoBiaoSong", "小标宋"),
                                      "Noto Serif CJK SC"),
    "一级标题 heading (黑体 Hei)": (("SimHei", "黑体", "Heiti SC"), "Noto Sans CJK SC"),
    "二级标题 heading (楷体 Kai)": (("KaiTi", "楷体", "KaiTi_GB2312", "楷体_GB2312", "STKaiti"), "Noto Serif CJK SC"),
    "数字 numerals (Times New Roman)": (("Times New Roman", "Liberation Serif"), "Noto Serif CJK SC"),
}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True

    def as_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "required": self.required}


def installed_families() -> set[str] | None:
    """Font families fontconfig knows (None when fc-list is unavailable)."""
    exe = shutil.which("fc-list")
    if exe is None:
        return None
    out = subprocess.run([exe, ":", "family"], capture_output=True, text=True, timeout=60).stdout
    families: set[str] = set()
    for line in out.splitlines():
        for name in line.split(","):
            if name.strip():
                families.add(name.strip().replace("\\-", "-"))
    return families


def font_checks() -> list[Check]:
    families = installed_families()
    if families is None:
        return [Check("fonts", False, "fc-list (fontconfig) not found / 未找到 fontconfig 的 fc-list")]
    checks = []
    for role, (office, fallback) in FONT_ROLES.items():
        found = next((f for f in office if f in families), None)
        if found:
            checks.append(Check(f"font {role}", True, found))
        elif fallback in families:
            checks.append(Check(f"font {role}", True, f"{fallback}（未安装 {office[0]}，使用备用字体）"))
        else:
            checks.append(Check(f"font {role}", False,
                                f"missing {fallback} (Debian: fonts-noto-cjk) / 缺少字体 {fallback}，中文将无法正常显示"))
    return checks


def harfbuzz_subset_check() -> Check:
    try:
        from weasyprint.text.ffi import harfbuzz, harfbuzz_subset
    except Exception as exc:  # WeasyPrint could not load its libraries at all
        return Check("harfbuzz-subset", False, f"WeasyPrint cannot load: {exc}")
    if harfbuzz_subset is None:
        return Check("harfbuzz-subset", False,
                     "libharfbuzz-subset not found (Debian: libharfbuzz-subset0); fontTools fallback is ≈60× slower"
                     " / 缺少 libharfbuzz-subset0，字体子集化将慢约60倍")
    if not harfbuzz.hb_version_atleast(4, 1, 0):
        return Check("harfbuzz-subset", False, "HarfBuzz < 4.1: WeasyPrint will use fontTools / HarfBuzz 版本过低")
    return Check("harfbuzz-subset", True, "HarfBuzz ≥ 4.1 with hb-subset")


def poppler_check() -> Check:
    exe = shutil.which("pdftoppm")
    return Check("pdftoppm", exe is not None, exe or "poppler-utils not installed: the verify page shows no first-page image / 未安装 poppler-utils，核验页无法显示文书首页",
                 required=False)


# --- compact CJK fonts ---------------------------------------------------------------------
#
# WeasyPrint embeds a subset of every font it uses, keeping glyph ids, so the cost of a font
# grows with the highest glyph id a notice uses. In Noto CJK SC the Chinese punctuation sits
# near glyph 63,000 of 65,000, so even a short notice pays for the whole font — about 45 ms per
# face, several faces per notice. A compact copy holding only the characters official documents
# use (ASCII/Latin-1, general and CJK punctuation, symbols, the 20,992 CJK Unified Ideographs,
# full-width forms; no vertical or OpenType-layout tables) has 22,500 glyphs and subsets about
# three times faster. It is cut from the installed Noto font with HarfBuzz-subset in about a
# second, once, into var/fonts/. Characters outside it (rare extension-B names) fall back to the
# full Noto font in the stylesheet, so nothing ever renders as a box.

COMPACT_FACES = {  # family in notice.css -> (fontconfig family, style, css weight)
    ("HW Serif SC", 400): ("Noto Serif CJK SC", "Regular"),
    ("HW Serif SC", 700): ("Noto Serif CJK SC", "Bold"),
    ("HW Sans SC", 400): ("Noto Sans CJK SC", "Regular"),
}
COMPACT_RANGES = [(0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x206F), (0x2100, 0x23FF), (0x2460, 0x24FF),
                  (0x2500, 0x25FF), (0x2600, 0x26FF), (0x3000, 0x303F), (0x3200, 0x33FF), (0x4E00, 0x9FFF),
                  (0xFE30, 0xFE4F), (0xFF00, 0xFFEF)]
DROP_TABLES = (b"GSUB", b"GPOS", b"BASE", b"JSTF", b"vhea", b"vmtx", b"VORG", b"DSIG")

_HB_CDEF = """
typedef struct hb_blob_t hb_blob_t; typedef struct hb_face_t hb_face_t; typedef struct hb_set_t hb_set_t;
typedef struct hb_subset_input_t hb_subset_input_t; typedef uint32_t hb_codepoint_t;
hb_blob_t *hb_blob_create_from_file_or_fail(const char *file_name);
hb_face_t *hb_face_create(hb_blob_t *blob, unsigned int index);
void hb_face_destroy(hb_face_t *face); void hb_blob_destroy(hb_blob_t *blob);
hb_blob_t *hb_face_reference_blob(hb_face_t *face);
const char *hb_blob_get_data(hb_blob_t *blob, unsigned int *length);
void hb_set_add(hb_set_t *set, hb_codepoint_t codepoint);
void hb_set_add_range(hb_set_t *set, hb_codepoint_t first, hb_codepoint_t last);
hb_subset_input_t *hb_subset_input_create_or_fail(void);
hb_set_t *hb_subset_input_unicode_set(hb_subset_input_t *input);
hb_set_t *hb_subset_input_set(hb_subset_input_t *input, int set_type);
void hb_subset_input_destroy(hb_subset_input_t *input);
hb_face_t *hb_subset_or_fail(hb_face_t *source, const hb_subset_input_t *input);
"""
_HB_SUBSET_SETS_DROP_TABLE_TAG = 3


def fonts_cache_dir() -> Path:
    return Path(os.environ.get("HONGWU_VAR_DIR", "var")).resolve() / "fonts"


def find_face(family: str, style: str) -> tuple[str, int] | None:
    """(file, face index) of an installed font, via fontconfig."""
    exe = shutil.which("fc-list")
    if exe is None:
        return None
    out = subprocess.run([exe, f"{family}:style={style}", "file", "index", "family"], capture_output=True,
                         text=True, timeout=60).stdout
    for line in out.splitlines():
        # /usr/share/fonts/…/NotoSerifCJK-Regular.ttc: Noto Serif CJK SC,…:index=2
        path, _, rest = line.partition(": ")
        names = rest.split(":index=")[0].split(",")
        if family in (n.strip() for n in names):
            index = int(rest.rsplit(":index=", 1)[1]) if ":index=" in rest else 0
            return path, index
    return None


def _subset_to_file(src: str, index: int, dst: Path) -> None:
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(_HB_CDEF)
    hb: Any = ffi.dlopen("libharfbuzz-subset.so.0")  # its functions exist once _HB_CDEF is declared
    blob = hb.hb_blob_create_from_file_or_fail(src.encode())
    if blob == ffi.NULL:
        raise OSError(f"cannot read {src}")
    face = hb.hb_face_create(blob, index)
    inp = hb.hb_subset_input_create_or_fail()
    try:
        unicodes = hb.hb_subset_input_unicode_set(inp)
        for first, last in COMPACT_RANGES:
            hb.hb_set_add_range(unicodes, first, last)
        drop = hb.hb_subset_input_set(inp, _HB_SUBSET_SETS_DROP_TABLE_TAG)
        for tag in DROP_TABLES:
            hb.hb_set_add(drop, int.from_bytes(tag, "big"))
        out = hb.hb_subset_or_fail(face, inp)
        if out == ffi.NULL:
            raise OSError(f"HarfBuzz could not subset {src}")
        out_blob = hb.hb_face_reference_blob(out)
        length = ffi.new("unsigned int *")
        data = hb.hb_blob_get_data(out_blob, length)
        tmp = dst.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(ffi.buffer(data, length[0])[:])
        os.replace(tmp, dst)  # atomic: parallel workers never read half a file
        hb.hb_blob_destroy(out_blob)
        hb.hb_face_destroy(out)
    finally:
        hb.hb_subset_input_destroy(inp)
        hb.hb_face_destroy(face)
        hb.hb_blob_destroy(blob)


def compact_fonts(build: bool = True) -> dict[tuple[str, int], Path]:
    """The compact faces that exist (building missing ones when `build`), keyed (family, weight).
    Any face that cannot be built is left out: the stylesheet then falls back to the full font."""
    found: dict[tuple[str, int], Path] = {}
    cache = fonts_cache_dir()
    for (family, weight), (source_family, style) in COMPACT_FACES.items():
        source = find_face(source_family, style)
        if source is None:
            continue
        path, index = source
        stat = os.stat(path)
        key = hashlib.sha256(f"{path}|{index}|{stat.st_size}|{stat.st_mtime_ns}|{COMPACT_RANGES}".encode()).hexdigest()
        dst = cache / f"{family.replace(' ', '')}-{weight}-{key[:12]}.otf"
        if not dst.exists() and build:
            try:
                cache.mkdir(parents=True, exist_ok=True)
                _subset_to_file(path, index, dst)
            except (OSError, ImportError):
                continue
        if dst.exists():
            found[(family, weight)] = dst
    return found


def font_face_css(faces: dict[tuple[str, int], Path]) -> str:
    return "\n".join(
        f'@font-face {{ font-family: "{family}"; font-weight: {weight}; src: url("{path.as_uri()}"); }}'
        for (family, weight), path in sorted(faces.items()))


def compact_fonts_check() -> Check:
    try:
        faces = compact_fonts()
    except Exception as exc:  # report, never crash the doctor
        return Check("compact CJK fonts", False, f"{type(exc).__name__}: {exc}", required=False)
    if len(faces) == len(COMPACT_FACES):
        return Check("compact CJK fonts", True, str(fonts_cache_dir()), required=False)
    return Check("compact CJK fonts", False, "not built: notices render slower (full Noto fonts) / 未生成精简字体，"
                 "文书渲染较慢", required=False)

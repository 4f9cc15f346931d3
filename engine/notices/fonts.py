"""Which fonts notices will use, and whether the machine can render them well.

The stylesheet names the office fonts first (FangSong, XiaoBiaoSong, SimHei, KaiTi) and falls
back to Noto Serif/Sans CJK SC. Without any CJK font Chinese text would render as boxes, so the
fallbacks are required; the office fonts are optional. HarfBuzz-subset is required too: without
it WeasyPrint falls back to fontTools, about 60 times slower on CJK fonts.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

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
    return Check("pdftoppm", exe is not None, exe or "poppler-utils not installed (only tests need it) / 未安装 poppler-utils",
                 required=False)

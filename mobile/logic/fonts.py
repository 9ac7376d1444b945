"""Finding a font with Chinese glyphs: Kivy's bundled Roboto has none (boxes instead of text).

Looked for, in order: ``CGT_CJK_FONT`` (a path), then the usual system fonts of the platform
(Kivy's platform names: ``android``, ``linux``, ``macosx``, ``win``, ``ios``), then a scan of the
platform's font folders for a file whose name says CJK. If nothing is found the app starts in
English-capable Roboto and says so clearly, in both languages, at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

CANDIDATES: dict[str, tuple[str, ...]] = {
    "android": (
        "/system/fonts/NotoSansCJK-Regular.ttc",
        "/system/fonts/NotoSansSC-Regular.otf",
        "/system/fonts/NotoSansHans-Regular.otf",
        "/system/fonts/DroidSansFallbackFull.ttf",
        "/system/fonts/DroidSansFallback.ttf",
    ),
    "linux": (
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
        "/usr/share/fonts/truetype/arphic/uming.ttc",
    ),
    "macosx": (
        "/System/Library/Fonts/PingFang.ttc",
        "/System/Library/Fonts/Hiragino Sans GB.ttc",
        "/System/Library/Fonts/STHeiti Medium.ttc",
        "/System/Library/Fonts/STHeiti Light.ttc",
        "/Library/Fonts/Arial Unicode.ttf",
    ),
    "win": (
        "C:/Windows/Fonts/msyh.ttc",
        "C:/Windows/Fonts/msyh.ttf",
        "C:/Windows/Fonts/simhei.ttf",
        "C:/Windows/Fonts/simsun.ttc",
        "C:/Windows/Fonts/Deng.ttf",
    ),
    "ios": ("/System/Library/Fonts/PingFang.ttc",),
}
FOLDERS: dict[str, tuple[str, ...]] = {
    "android": ("/system/fonts",),
    "linux": ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts"),
    "macosx": ("/System/Library/Fonts", "/Library/Fonts", "~/Library/Fonts"),
    "win": ("C:/Windows/Fonts",),
    "ios": ("/System/Library/Fonts",),
}
NAME_HINTS = ("cjk", "wqy", "droidsansfallback", "sourcehan", "pingfang", "msyh", "simhei",
              "notosanssc", "heiti")  # fmt: skip
NO_FONT_MESSAGE = (
    "No font with Chinese characters was found; Chinese text cannot be shown. Install one "
    "(Debian: apt-get install fonts-wqy-microhei) or set CGT_CJK_FONT to a .ttf/.ttc/.otf file. "
    "未找到中文字体，中文无法显示：请安装中文字体（Debian：apt-get install fonts-wqy-microhei）"
    "或用 CGT_CJK_FONT 指定字体文件。"
)


def _scan(folders: Iterable[str], exists: Callable[[str], bool]) -> str | None:
    for folder in folders:
        root = Path(os.path.expanduser(folder))
        if not exists(str(root)):
            continue
        for path in sorted(root.rglob("*")):
            name = path.name.casefold()
            if path.suffix.casefold() in (".ttf", ".ttc", ".otf") and any(
                h in name for h in NAME_HINTS
            ):
                return str(path)
    return None


def find_cjk_font(
    platform: str,
    *,
    env: Mapping[str, str] | None = None,
    exists: Callable[[str], bool] = os.path.exists,
    scan: bool = True,
) -> str | None:
    """The path of a font that has Chinese glyphs on this platform, or None."""
    env = os.environ if env is None else env
    override = env.get("CGT_CJK_FONT")
    if override:
        return override if exists(override) else None
    for path in CANDIDATES.get(platform, ()):
        if exists(path):
            return path
    return _scan(FOLDERS.get(platform, ()), exists) if scan else None

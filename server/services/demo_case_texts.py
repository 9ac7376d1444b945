"""Words and pictures of the demo cases: SYNTHETIC Chinese texts and labelled colour photos.

Everything here is invented for the demo city (演示数据); addresses carry a 演示 mark so a
screenshot can never be mistaken for a real report.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

# Category code → weight (common problems first) and what a reporter would write.
CATEGORIES: dict[str, tuple[int, tuple[str, ...]]] = {
    "SJ0101": (
        18,
        ("路边堆了一堆生活垃圾，没人清理", "绿化带里有人倒了装修垃圾", "垃圾袋散落在人行道上"),
    ),
    "SJ0501": (15, ("早市摊贩占了半条人行道", "水果摊摆到马路上，影响通行", "夜市烧烤摊占道经营")),
    "SJ0201": (10, ("墙上新挂了违规广告牌", "楼顶广告未经审批", "商铺门头外挂了大幅广告布")),
    "BJ0101": (8, ("井盖缺失，晚上很危险", "井盖松动，车过有响声", "雨水井盖破损下陷")),
    "SJ0104": (8, ("垃圾桶满了溢出来，味道很大", "小区门口垃圾箱满溢两天了")),
    "SJ0202": (7, ("电线杆上贴满小广告", "公交站牌被喷涂办证电话")),
    "SJ0103": (6, ("路面油污一大片，容易滑倒", "人行道上泥土很多，没有清扫")),
    "BJ0109": (5, ("路灯不亮，整条路黑着", "路灯白天一直亮着")),
    "SJ0110": (4, ("露天烧烤烟很大，影响居民", "路边有人支炉子烤串")),
    "SJ0302": (3, ("工地没有覆盖，扬尘很大", "渣土车出场没有冲洗")),
    "BJ0301": (3, ("公厕没水，无法冲洗", "公厕门坏了关不上")),
    "SJ0111": (3, ("饭店油烟直排，熏到楼上住户",)),
    "BJ0401": (3, ("行道树枝干快断了，悬在路上", "行道树倒伏压住人行道")),
    "SJ0402": (2, ("路边自来水管爆了，水流一地",)),
    "BJ0204": (2, ("路口信号灯不亮", "红绿灯只亮黄灯闪烁")),
}

LANDMARKS = (
    "农贸市场东门",
    "公交站台旁",
    "小区北门",
    "小学南侧",
    "十字路口西北角",
    "超市门口",
    "街心公园入口",
    "社区卫生服务站对面",
    "加油站旁",
    "老商业街中段",
)

REJECT_REASONS = (
    "非城管职责范围，已告知市民联系相关单位",
    "现场核实无此问题",
    "信息不全，无法确定位置",
)
RETURN_REASONS = (
    "不属于本单位职责，请改派属地城管局",
    "该设施产权属小区物业，非本单位管养",
    "位置不在本单位辖区",
)
CHECK_FAILED = ("现场仍有残留，未彻底处置", "问题已反弹，需再次处置")
HANDLE_NOTES = ("已安排人员现场处置完毕", "已清理并冲洗路面", "已维修更换", "已劝离并现场教育")
VERIFY_NOTES = ("现场核实属实", "已到现场拍照确认")
REOPEN_REASON = "过了两天又堆起来了，请再处理一下"
SUPERVISE_NOTES = ("已超期，请加快办理并于今日反馈", "市民多次反映，请尽快处置")
SUPERVISE_ANSWERS = ("已安排人员，今日下班前完成", "已加派人手，明日上午办结")
RATING_COMMENTS: dict[int, tuple[str, ...]] = {
    5: ("处理很及时，点赞", "效率很高，谢谢"),
    4: ("处理得不错", "比较满意"),
    3: ("一般，拖了几天",),
    2: ("处理太慢了",),
    1: ("没有解决问题",),
}

# Photo kinds of the pool and how many of each; (colour, label) per picture.
PHOTO_POOL: dict[str, int] = {"report": 3, "verify": 2, "after": 3, "check": 2}
_COLOURS = ((176, 92, 60), (70, 120, 170), (90, 150, 90), (150, 110, 170), (190, 160, 60))


def address(cell_name: str, landmark: str, number: int) -> str:
    return f"{cell_name}·{landmark}{number}号附近（演示地址）"


def description(text: str) -> str:
    return f"{text}（演示数据）"


def synthetic_photo(kind: str, n: int) -> bytes:
    """A small JPEG that says what it is: a coloured card labelled as a synthetic demo photo."""
    colour = _COLOURS[(len(kind) + n) % len(_COLOURS)]
    im = Image.new("RGB", (320, 240), colour)
    draw = ImageDraw.Draw(im)
    draw.rectangle((12, 12, 307, 227), outline=(255, 255, 255), width=3)
    draw.ellipse((200, 120, 290, 210), fill=tuple(c // 2 for c in colour))
    for i, line in enumerate(("SYNTHETIC DEMO PHOTO", "CGT demo city", f"{kind} #{n}")):
        draw.text((28, 32 + 24 * i), line, fill=(255, 255, 255))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=80)
    return buf.getvalue()

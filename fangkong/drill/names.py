"""Place-name material for the synthetic city (data, not UI text, so not translated)."""

from __future__ import annotations

import random
from collections.abc import Iterator

CITY_CODE = "990100"
CITY_NAME = "示范市"
# District 1 lies east of the city centre, district 2 west of it.
DISTRICTS = (("990101", "东港区"), ("990102", "西湖区"))

# Two-character words that read naturally before 街道 / 社区 / 路.
_PLACE_WORDS_TEXT = (
    "海滨 望海 金湾 翠湖 福林 春晖 锦绣 和平 兴隆 新华 东风 青山 湛山 八大 云霄 浮山 "
    "太平 明珠 朝阳 长乐 安顺 宁德 瑞昌 嘉禾 丰收 永安 富春 银滩 鹿鸣 松涛 枫桥 桃源 "
    "柳岸 荷塘 梅园 竹林 兰亭 菊香 碧波 晴川 观澜 听涛 汇泉 龙山 凤台 鹤鸣 麦岛 石门 "
    "金沙 白鹭 红岛 黄岭 紫荆 绿洲 蓝湾 清溪 映月 星光 晨曦 夕照 双山 三里 四方 五四 "
    "六合 七星 九龙 百花 千禧 万寿 南岭 北山 东岳 西岭 中山 上林 下河 前进 后海 大港 "
    "小港 新村 旧镇 湖光 泉水 温泉 雪松 海泊 宁夏 延安 吉林 辽源 福山 崂山 仙游 玉泉"
)
PLACE_WORDS = tuple(_PLACE_WORDS_TEXT.split())

ROAD_SUFFIXES = ("路", "路", "街", "大道", "中路", "东路", "西路")

COLD_STORE_WORDS = ("冷链物流", "冷藏", "水产", "食品冷链", "冷冻食品")
SCHOOL_KINDS = ("小学", "小学", "中学", "实验学校", "幼儿园")
CHECKPOINT_KINDS = ("高速收费站", "火车站", "汽车客运站", "国道", "港口客运站")


class NameBag:
    """Hands out place words without repeats (deterministic for a given rng).

    A large city needs more names than the word list holds; after the first pass the bag
    joins two words (e.g. 海滨望海), which is how real compound place names read too.
    """

    def __init__(self, rng: random.Random) -> None:
        self._iter = self._names(rng)

    @staticmethod
    def _names(rng: random.Random) -> Iterator[str]:
        words = list(PLACE_WORDS)
        rng.shuffle(words)
        yield from words
        while True:
            first, second = rng.sample(PLACE_WORDS, 2)
            yield first + second

    def take(self) -> str:
        return next(self._iter)


def ordinal(n: int) -> str:
    """1 → 一, 12 → 十二, 23 → 二十三 (enough for grid and school numbers)."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else digits[tens]
    return f"{head}十{digits[ones] if ones else ''}" if n < 100 else str(n)

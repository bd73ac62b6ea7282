"""Japanese house styles for the synthetic CT-guided IR demo cohort.

Why a separate generator: the classifier is also to be measured on Japanese reports, and
Japanese radiologists write these reports differently from every English style in
``cohort.py``: bracketed section headings (【手技】), telegraphic RIS lines with full- and
half-width characters mixed, prose in である調 or です・ます調, and Japanese interleaved
with English terms and abbreviations. A translated English cohort would teach none of that.

The design is the one of ``cohort.py``: a clinical *case* (target, devices, samples,
complications, hard-case twist) is built first and then written out in one *style*, so the
label comes from the case and follows shared/labeling-guideline.md, hard cases included.
Every category is written many ways, and the words of other categories turn up in
history, differentials, complications and negations, so no single stock phrase (ドレナージ,
肺, 骨) gives the category away.

Pure standard library; every random draw goes through one ``random.Random`` instance, so a
seed reproduces the cohort exactly.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
import re
from dataclasses import dataclass, field

from ctir_demo.cohort import (
    COHORT_END,
    COHORT_START,
    CohortRow,
    _chosen_styles,
    _cohort_rows,
    _extra_rows,
    _style_by_era,
    _w,
    generate_cohort,
    generate_reports,
)

__all__ = [
    "JA_STYLES",
    "generate_japanese_cohort",
    "generate_japanese_reports",
    "generate_mixed_cohort",
    "generate_mixed_reports",
]

JA_STYLES: tuple[str, ...] = ("ja_structured", "ja_terse", "ja_narrative", "ja_mixed")

# A fact is written twice: a full Japanese sentence or phrase (structured, narrative and
# mixed styles start from it) and a telegraphic RIS fragment (the terse style).
Fact = tuple[str, str]


@dataclass
class _JCase:
    label: int
    hard: str = ""
    age_sex: Fact = ("", "")
    title: Fact = ("", "")
    target: Fact = ("", "")
    purpose: Fact = ("", "")
    position: str = "仰臥位"
    history: list[Fact] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    pre: list[Fact] = field(default_factory=list)
    steps: list[Fact] = field(default_factory=list)
    notes: list[Fact] = field(default_factory=list)
    samples: list[Fact] = field(default_factory=list)
    compl: Fact = ("特記すべき合併症なし。", "合併症(-)")
    after: list[Fact] = field(default_factory=list)
    diagnosis: str = ""
    plan: str = ""
    la: Fact = ("", "")
    sedation: Fact = ("", "")
    operator: tuple[str, str] = ("", "")


# --------------------------------------------------------------------------- common


_SURNAMES = (
    "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田",
    "山田", "佐々木", "山口", "松本", "井上", "木村", "清水", "林", "斎藤", "森", "池田",
    "橋本", "石川", "前田", "藤田", "岡田", "後藤", "長谷川", "村上", "近藤", "坂本",
)
_GUIDES = ("CTガイド下", "CTガイド下", "CT透視下", "CT透視ガイド下", "CT誘導下")
_PRIMARIES = ("大腸癌", "乳癌", "腎細胞癌", "胃癌", "食道癌", "子宮体癌", "膀胱癌", "甲状腺癌")


def _guide(rng: random.Random) -> str:
    return rng.choice(_GUIDES)


def _side(rng: random.Random) -> str:
    return rng.choice(("右", "左"))


def _date_ja(rng: random.Random, d: datetime.date) -> str:
    # Japanese reports use both the Western calendar and the imperial era (平成/令和).
    opts = [f"{d.year}年{d.month}月{d.day}日", f"{d.year}/{d.month:02d}/{d.day:02d}",
            f"{d.year}.{d.month}.{d.day}"]
    if d < datetime.date(2019, 5, 1):
        y = d.year - 1988
        opts += [f"H{y}.{d.month}.{d.day}", f"平成{y}年{d.month}月{d.day}日"]
    else:
        y = d.year - 2018
        opts += [f"R{y}.{d.month}.{d.day}", f"令和{'元' if y == 1 else y}年{d.month}月{d.day}日"]
    return rng.choice(opts)


def _age_sex(rng: random.Random, age: int, sex: str) -> Fact:
    jp = "女性" if sex == "F" else "男性"
    short = rng.choice((f"{age}歳{jp[0]}", f"{age}{sex}", f"{age}歳 {jp}"))
    return rng.choice((f"{age}歳{jp}", f"{age}歳、{jp}")), short


def _la(rng: random.Random) -> Fact:
    drug = rng.choice(("1%キシロカイン", "1%キシロカイン", "1%リドカイン", "1%塩酸リドカイン",
                       "0.5%キシロカイン", "1%キシロカインE"))
    ml = rng.choice((5, 5, 8, 10, 10, 15, 20))
    unit = rng.choice(("ml", "mL", "cc", "ml"))
    drug_ml = f"{drug} " if drug.endswith("E") else drug  # "キシロカインE 5ml", not "E5ml"
    full = rng.choice((
        f"{drug_ml}{ml}{unit}にて局所麻酔を行った。",
        f"{drug} {ml}{unit}で穿刺経路に沿って浸潤麻酔した。",
        f"局所麻酔（{drug} {ml}{unit}）を施行した。",
        f"穿刺部を消毒し、{drug_ml}{ml}{unit}で局所麻酔した。",
        f"皮膚消毒の後、{drug_ml}{ml}{unit}を用いて局所麻酔した。",
    ))
    short = rng.choice((f"局麻 {drug}{ml}{unit}", f"LA:{drug}{ml}{unit}",
                        f"{drug.replace('キシロカイン', 'Xylo')} {ml}{unit}", ""))
    return full, short


_SEDATION = (
    (("", ""), 6),
    (("ペンタゾシン15mgとヒドロキシジン25mgを静注した。", "ペンタジン15mg+アタP25mg iv"), 2),
    (("ミダゾラム2mgを静注し、鎮静下に施行した。", "ミダゾラム2mg iv"), 1),
    (("フェンタニル50μgを静注した。", "フェンタニル50μg"), 1),
)
_PRE = (
    ("文書にて同意を得た。", "IC済"),
    ("抗凝固薬・抗血小板薬の休薬を確認した。", "抗血栓薬休薬確認"),
    ("前回CTを参照し、穿刺経路を計画した。", "前回CT参照"),
    ("皮膚にマーカーを貼付し、穿刺点を決定した。", "マーカー貼付"),
    ("凝固能に問題はない。", "凝固能OK"),
)


def _common(rng: random.Random, c: _JCase, age: int, sex: str) -> None:
    """The parts every report shares, whatever the category."""
    c.age_sex = _age_sex(rng, age, sex)
    c.la = _la(rng)
    c.sedation = _w(rng, _SEDATION)
    c.operator = tuple(rng.sample(_SURNAMES, 2))
    if rng.random() < 0.5:
        c.pre = [rng.choice(_PRE)]


def _n_samples(rng: random.Random, n: int, needle: str) -> Fact:
    full = rng.choice((f"{n}本の組織を採取した。", f"組織片{n}本を得た。",
                       f"{n}回穿刺し、検体を採取した。", f"検体を{n}本採取し、病理に提出した。",
                       f"計{n}本採取し、ホルマリン固定で提出した。"))
    return full, rng.choice((f"{needle}×{n}本", f"{needle} {n}回", f"{n}本採取"))


# --------------------------------------------------------------------- category 3: lung


_LOBES = (  # (lobe, lobe with 肺, abbreviation, side, segments)
    ("右上葉", "右肺上葉", "RUL", "右", ("S1", "S2", "S3")),
    ("右中葉", "右肺中葉", "RML", "右", ("S4", "S5")),
    ("右下葉", "右肺下葉", "RLL", "右", ("S6", "S7", "S8", "S9", "S10")),
    ("左上葉", "左肺上葉", "LUL", "左", ("S1+2", "S3", "S4", "S5")),
    ("左下葉", "左肺下葉", "LLL", "左", ("S6", "S8", "S9", "S10")),
)
_LUNG_LESIONS = (
    (("結節", "結節", 8, 30), 6), (("腫瘤", "腫瘤", 30, 70), 3),
    (("すりガラス結節", "GGN", 10, 25), 1), (("部分充実性結節", "part-solid結節", 12, 30), 2),
    (("浸潤影", "浸潤影", 20, 60), 1), (("空洞を伴う結節", "空洞性結節", 15, 40), 1),
    (("胸膜直下の結節", "胸膜下結節", 10, 30), 1),
)
# Patient position follows where the segment lies: back, front or side of the chest.
_SEG_POS = {"S1": ("仰臥位",), "S2": ("腹臥位",), "S3": ("仰臥位",), "S1+2": ("腹臥位", "側臥位"),
            "S4": ("仰臥位",), "S5": ("仰臥位",), "S6": ("腹臥位",), "S7": ("仰臥位", "腹臥位"),
            "S8": ("仰臥位", "側臥位"), "S9": ("側臥位", "腹臥位"), "S10": ("腹臥位",)}
_LUNG_NEEDLES = (
    ("17Gコアキシャルガイド針を用いた18G生検針", "17/18G"), ("18G自動生検針", "18G"),
    ("20Gセミオート生検針", "20G"), ("19G同軸針経由の20G生検針", "19/20G"),
    ("18G生検針（マックスコア）", "18G"),
)


def _lung_target(rng: random.Random) -> dict:
    lobe, lobe_lung, abbr, side, segs = rng.choice(_LOBES)
    seg = rng.choice(segs)
    lesion, lesion_t, lo, hi = _w(rng, _LUNG_LESIONS)
    size = rng.randint(lo, hi)
    # Many reports never write 肺 at all ("右S6の結節"): the lobe and segment say it.
    where = rng.choice((f"{lobe}{seg}", f"{lobe_lung}{seg}", f"{side}{seg}", f"{side}肺{seg}",
                        lobe_lung, f"{lobe}{seg}"))
    full = f"{where}の{size}mm大の{lesion}"
    terse = rng.choice((f"{side}{seg} {lesion_t}{size}mm", f"{abbr} {seg} {lesion_t} {size}mm",
                        f"{lobe}{seg} {size}mm{lesion_t}"))
    return {"full": full, "t": terse, "lobe": lobe, "lobe_lung": lobe_lung, "abbr": abbr,
            "side": side, "seg": seg, "lesion": lesion, "size": size, "where": where}


def _lung_purpose(rng: random.Random) -> Fact:
    suv = round(rng.uniform(2.5, 14.0), 1)
    prim = rng.choice(_PRIMARIES)
    return _w(rng, (
        (("肺癌疑い、組織診断目的", "肺癌疑い"), 5),
        (("原発性肺癌疑い", "原発性肺癌?"), 3),
        ((f"{prim}術後、転移性肺腫瘍と原発性肺癌の鑑別", f"{prim}術後 転移vs原発"), 3),
        (("増大傾向を示す結節、悪性除外目的", "増大傾向"), 2),
        ((f"PET-CTでFDG集積（SUVmax {suv}）あり、肺癌疑い", f"SUVmax {suv}"), 2),
        (("気管支鏡検査で診断未確定", "TBLB陰性"), 2),
        (("器質化肺炎と肺癌の鑑別", "OP vs ca"), 1),
        (("非結核性抗酸菌症との鑑別", "NTM?"), 1),
        (("治療抵抗性となり、遺伝子検査用の再生検目的", "再生検(遺伝子)"), 1),
    ))


def _lung_title(rng: random.Random, t: dict) -> Fact:
    return rng.choice((
        ("CTガイド下肺生検", "CTガイド下肺生検"),
        ("CTガイド下経皮肺生検", "CT下肺生検"),
        ("CTガイド下経皮的針生検（肺）", "CT肺Bx"),
        ("CT透視下肺針生検", "CT透視下肺生検"),
        (f"CTガイド下{t['lobe']}{t['lesion']}生検", f"CT下{t['side']}{t['seg']}生検"),
        (f"{t['lesion']}に対するCTガイド下針生検", "CTガイド下針生検"),
        ("経皮的肺生検（CTガイド下）", "経皮肺生検"),
        (f"CTガイド下バイオプシー（{t['side']}{t['seg']}）", f"CT-Bx {t['side']}{t['seg']}"),
        ("CTガイド下肺腫瘍生検", "肺腫瘍生検"),
    ))


_LUNG_COMPL = (
    (("気胸なし、合併症を認めなかった。", "気胸(-)"), 4),
    (("術後CTで気胸や出血を認めない。", "PTX(-)"), 3),
    (("少量の気胸を認めたが、経過観察とした。", "気胸(少量) 経過観察"), 4),
    (("軽度の気胸あり。2時間後の胸部X線で増悪なし。", "気胸(+)軽度 増悪なし"), 3),
    (("穿刺経路に沿って肺内出血を認めたが、自然に止血した。", "肺出血(+)"), 2),
    (("少量の血痰あり、止血剤投与で軽快した。", "血痰(+)"), 2),
    (("少量の気胸と、穿刺経路周囲のすりガラス影（肺胞出血）を認めた。", "気胸少量+肺胞出血"), 1),
)
_LUNG_ROUTE = (
    ("葉間胸膜を避けて穿刺経路を設定した。", "葉間回避"),
    ("気腫性変化を避けるよう穿刺経路を設定した。", "気腫回避"),
    ("呼吸停止下に穿刺した。", "呼吸停止下"),
    ("胸膜穿刺は1回とした。", "胸膜穿刺1回"),
    ("肋間動脈を避け、肋骨上縁から刺入した。", "肋骨上縁より"),
)


def _lung_case(rng: random.Random, c: _JCase) -> dict:
    t = _lung_target(rng)
    c.target = (t["full"], t["t"])
    c.purpose = _lung_purpose(rng)
    pos = rng.choice(_SEG_POS[t["seg"]])
    if pos == "側臥位":  # lesion side up
        pos = "左側臥位" if t["side"] == "右" else "右側臥位"
    c.position = pos
    c.title = _lung_title(rng, t)
    adj = rng.choice(("辺縁不整な", "分葉状の", "スピキュラを伴う", "境界明瞭な", ""))
    c.findings = [f"{t['where']}に{adj}{t['size']}mm大の{t['lesion']}を認める。"]
    needle, needle_t = rng.choice(_LUNG_NEEDLES)
    if rng.random() < 0.6:
        c.steps.append(rng.choice(_LUNG_ROUTE))
    c.steps.append((f"{_guide(rng)}に{needle}で病変を穿刺した。", ""))
    c.samples = [_n_samples(rng, rng.randint(1, 4), needle_t)]
    if rng.random() < 0.3:
        c.samples.append(("迅速細胞診で悪性細胞を確認した。", "ROSE:悪性(+)"))
    c.compl = _w(rng, _LUNG_COMPL)
    if rng.random() < 0.4:
        c.after.append(("終了後、穿刺側を下にして2時間安静とした。", "穿刺側下 安静2h"))
    c.plan = rng.choice(("病理結果待ち。", "2時間後に胸部X線で気胸の有無を確認する。",
                         "翌日退院予定。", "結果は外来で説明予定。"))
    return t


# ------------------------------------------------------------ category 2: soft tissue


def _soft_abdominal(rng: random.Random, kind: str, size: int) -> dict:
    side = _side(rng)
    prim = rng.choice(_PRIMARIES)
    if kind == "liver":
        seg = rng.randint(2, 8)
        return {"target": (f"肝S{seg}の{size}mm大の腫瘤", f"肝S{seg} 腫瘤{size}mm"),
                "organ": ("肝腫瘤", "肝"), "pos": ("仰臥位", "左側臥位"),
                "purpose": ((f"{prim}術後、転移性肝腫瘍疑い", f"{prim}術後 肝転移?"),
                            ("肝細胞癌と肝内胆管癌の鑑別", "HCC vs ICC"),
                            ("悪性リンパ腫疑い", "ML?"),
                            ("原発不明癌、肝病変の組織診断", "原発不明"),
                            ("肝膿瘍との鑑別を要する腫瘤", "膿瘍 vs 腫瘍"))}
    if kind == "pancreas":
        part = rng.choice(("頭部", "体部", "尾部"))
        return {"target": (f"膵{part}の{size}mm大の腫瘤", f"膵{part} 腫瘤{size}mm"),
                "organ": ("膵腫瘤", "膵"), "pos": ("仰臥位", "腹臥位"),
                "purpose": (("膵癌疑い、EUS-FNA困難", "膵癌? EUS困難"),
                            ("自己免疫性膵炎との鑑別", "AIP vs ca"),
                            ("神経内分泌腫瘍疑い", "NET?"))}
    if kind == "kidney":
        pole = rng.choice(("上極", "中部", "下極"))
        return {"target": (f"{side}腎{pole}の{size}mm大の腫瘤", f"{side}腎{pole} {size}mm"),
                "organ": ("腎腫瘤", "腎"), "pos": ("腹臥位",),
                "purpose": (("腎細胞癌疑い、治療方針決定目的", "RCC?"),
                            ("転移性腎腫瘍疑い", "転移?"),
                            ("オンコサイトーマとの鑑別", "oncocytoma?"))}
    if kind == "adrenal":
        return {"target": (f"{side}副腎の{size}mm大の腫瘤", f"{side}副腎 {size}mm"),
                "organ": ("副腎腫瘤", "副腎"), "pos": ("腹臥位",),
                # Adrenal metastasis of lung cancer is the classic indication: 肺 in a
                # category-2 report.
                "purpose": (("肺癌の副腎転移疑い", "肺癌 副腎転移?"),
                            ("転移性副腎腫瘍疑い、褐色細胞腫は否定済み", "副腎転移?"),
                            ("増大する副腎偶発腫、悪性除外", "副腎偶発腫"))}
    return {"target": (f"脾下極の{size}mm大の腫瘤", f"脾 腫瘤{size}mm"),
            "organ": ("脾腫瘤", "脾"), "pos": ("仰臥位", "右側臥位"),
            "purpose": (("悪性リンパ腫疑い", "ML?"), ("脾転移疑い", "脾転移?"))}


_NODE_STATIONS = (  # some names hold 骨 or 肺 (腸骨, 鎖骨, 肺門): a trap for keyword rules
    ("傍大動脈リンパ節", "傍大動脈LN"), ("腹腔動脈周囲リンパ節", "腹腔動脈周囲LN"),
    ("腸間膜リンパ節", "腸間膜LN"), ("総腸骨動脈領域リンパ節", "総腸骨LN"),
    ("外腸骨リンパ節", "外腸骨LN"), ("閉鎖リンパ節", "閉鎖LN"), ("鼠径リンパ節", "鼠径LN"),
    ("腋窩リンパ節", "腋窩LN"), ("後腹膜リンパ節", "後腹膜LN"), ("肝門部リンパ節", "肝門部LN"),
    ("鎖骨上窩リンパ節", "鎖骨上LN"), ("肺門リンパ節", "肺門LN"), ("前縦隔リンパ節", "前縦隔LN"),
)


def _soft_node(rng: random.Random, size: int) -> dict:
    name, short = rng.choice(_NODE_STATIONS)
    side = rng.choice(("", "", "右", "左"))
    return {"target": (f"腫大した{side}{name}（短径{size}mm）", f"{side}{short} {size}mm"),
            "organ": ("リンパ節", "LN"), "pos": ("仰臥位", "腹臥位"),
            "purpose": (("悪性リンパ腫疑い、フローサイトメトリーを含む組織診断", "ML? FCM"),
                        ("転移性リンパ節腫大疑い", "LN転移?"), ("IgG4関連疾患疑い", "IgG4RD?"),
                        ("サルコイドーシス疑い", "サルコ?"), ("原発不明癌", "原発不明"))}


def _soft_other(rng: random.Random, kind: str, size: int) -> dict:
    side = _side(rng)
    table = {
        "mesentery": ((f"腸間膜の{size}mm大の腫瘤", f"腸間膜腫瘤{size}mm"),
                      ("腸間膜腫瘤", "腸間膜"),
                      ("仰臥位",), (("デスモイド腫瘍と悪性リンパ腫の鑑別", "デスモイド vs ML"),
                                    ("腸間膜脂肪織炎との鑑別", "脂肪織炎?"))),
        "peritoneum": (rng.choice(((f"大網の結節状肥厚（{size}mm）", "大網肥厚"),
                                   (f"腹膜播種を疑う{size}mm大の結節", "腹膜結節"))),
                       ("腹膜結節", "腹膜"), ("仰臥位",),
                       (("原発不明の腹膜播種", "腹膜播種?"), ("腹膜癌疑い", "腹膜癌?"))),
        "retroperitoneum": ((f"後腹膜の{size}mm大の腫瘤", f"後腹膜腫瘤{size}mm"),
                            ("後腹膜腫瘤", "後腹膜"), ("腹臥位", "仰臥位"),
                            (("脂肪肉腫疑い", "脂肪肉腫?"), ("後腹膜線維症との鑑別", "RPF?"),
                             ("悪性リンパ腫疑い", "ML?"))),
        "muscle": (rng.choice(((f"{side}腸腰筋内の{size}mm大の腫瘤", f"{side}腸腰筋内腫瘤"),
                               (f"{side}大腿内側の筋肉内腫瘤（{size}mm）", f"{side}大腿筋内腫瘤"),
                               (f"{side}大殿筋内の{size}mm大の腫瘤", f"{side}大殿筋腫瘤"))),
                   ("筋肉内腫瘤", "筋内腫瘤"), ("腹臥位", "仰臥位"),
                   (("軟部肉腫疑い", "肉腫?"), ("転移性筋肉内腫瘍疑い", "筋転移?"))),
        "subcut": (rng.choice(((f"背部皮下の{size}mm大の腫瘤", "背部皮下腫瘤"),
                               (f"腹壁皮下結節（{size}mm）", "腹壁皮下結節"))),
                   ("皮下腫瘤", "皮下"), ("腹臥位", "仰臥位"),
                   (("皮下転移疑い", "皮下転移?"), ("悪性リンパ腫疑い", "ML?"))),
        # The parasternal approach puts 胸骨 (a bone word) into a mediastinal biopsy.
        "mediastinum": ((f"前縦隔の{size}mm大の腫瘤", f"前縦隔腫瘤{size}mm"),
                        ("縦隔腫瘤", "縦隔"), ("仰臥位",),
                        (("胸腺腫疑い（胸骨傍アプローチ）", "胸腺腫? 胸骨傍"),
                         ("悪性リンパ腫疑い", "ML?"), ("胚細胞腫瘍疑い", "GCT?"))),
    }
    target, organ, pos, purposes = table[kind]
    return {"target": target, "organ": organ, "pos": pos, "purpose": purposes}


def _soft_site(rng: random.Random, kind: str = "") -> dict:
    kind = kind or _w(rng, (
        ("liver", 7), ("pancreas", 3), ("kidney", 2), ("adrenal", 3), ("spleen", 1),
        ("node", 8), ("mesentery", 2), ("peritoneum", 2), ("retroperitoneum", 3),
        ("muscle", 2), ("subcut", 1), ("mediastinum", 2),
    ))
    size = rng.randint(12, 70)
    if kind in ("liver", "pancreas", "kidney", "adrenal", "spleen"):
        site = _soft_abdominal(rng, kind, size)
    elif kind == "node":
        site = _soft_node(rng, size)
    else:
        site = _soft_other(rng, kind, size)
    site["kind"] = kind
    return site


_SOFT_NEEDLES = (
    (("18G生検針（マックスコア）", "18G"), 3), (("18Gセミオート生検針", "18G"), 3),
    (("16G自動生検針", "16G"), 1), (("17Gコアキシャル針と18G生検針", "17/18G"), 2),
    (("20G生検針", "20G"), 1), (("18G Temno生検針", "18G Temno"), 1),
    (("22G千葉針", "22G FNA"), 1),
)
_SOFT_COMPL = (
    (("特記すべき合併症なし。", "合併症(-)"), 6),
    (("合併症を認めなかった。", "合併症なし"), 3),
    (("穿刺部より少量の出血あり、圧迫止血した。", "出血(少量) 圧迫止血"), 2),
    (("被膜下に少量の血腫を認めたが、経過観察とした。", "血腫(少) 経過観察"), 1),
    (("迷走神経反射を認めたが、補液で速やかに回復した。", "VVR(+) 補液で回復"), 1),
    (("穿刺部痛の訴えあり、鎮痛剤で軽快した。", "疼痛(+)"), 1),
)


def _soft_title(rng: random.Random, organ: Fact, fna: bool) -> Fact:
    o, ot = organ
    if fna:  # 穿刺吸引細胞診 is a biopsy, even though it shares words with 穿刺吸引 of fluid
        return rng.choice(((f"CTガイド下穿刺吸引細胞診（{o}）", f"CT下FNA {ot}"),
                           (f"{o}に対するCTガイド下穿刺吸引細胞診", f"FNA {ot}")))
    return rng.choice((
        (f"CTガイド下{o}生検", f"CT下{ot}生検"), (f"CTガイド下経皮的{o}生検", f"CT-Bx {ot}"),
        (f"CTガイド下針生検（{o}）", f"CTガイド下針生検 {ot}"),
        (f"{o}に対するCTガイド下バイオプシー", f"{ot}バイオプシー"),
        (f"CT下組織採取（{o}）", f"{ot}組織採取"), (f"CTガイド下コア針生検（{o}）", f"CNB {ot}"),
        (f"CT透視下{o}針生検", f"CT透視下{ot}Bx"),
    ))


def _soft_case(rng: random.Random, c: _JCase, site: dict | None = None) -> dict:
    site = site or _soft_site(rng)
    (needle, needle_t) = _w(rng, _SOFT_NEEDLES)
    fna = needle_t.endswith("FNA")
    c.target = site["target"]
    c.purpose = rng.choice(site["purpose"])
    c.position = rng.choice(site["pos"])
    c.title = _soft_title(rng, site["organ"], fna)
    c.findings = [f"{c.target[0]}を認める。" if rng.random() < 0.5
                  else f"造影CTで{c.target[0]}を認め、穿刺経路上に大血管や腸管はない。"]
    c.steps.append((f"{_guide(rng)}に{needle}で病変を穿刺した。", ""))
    if site["kind"] == "liver" and rng.random() < 0.5:
        c.steps.append(("正常肝実質を介して腫瘤に到達した。", "正常肝経由"))
    n = rng.randint(1, 4)
    c.samples = [_n_samples(rng, n, needle_t) if not fna else
                 (f"{n}回穿刺吸引し、細胞診に提出した。", f"FNA×{n}")]
    if "フローサイトメトリー" in c.purpose[0] or rng.random() < 0.15:
        c.samples.append(("一部は生理食塩水に入れ、フローサイトメトリーへ提出した。", "FCM提出"))
    c.compl = _w(rng, _SOFT_COMPL)
    c.plan = rng.choice(("病理結果待ち。", "穿刺後3時間安静。", "翌朝採血でHbを確認する。",
                         "結果判明後に治療方針を決定。"))
    return site


# ------------------------------------------------------------------ category 4: bone


def _bone_spine(rng: random.Random) -> dict:
    if rng.random() < 0.55:
        n = rng.randint(1, 12) if rng.random() < 0.5 else rng.randint(1, 5)
        thoracic = n > 5 or rng.random() < 0.5
        lv = f"Th{n}" if thoracic else f"L{n}"
        long = f"第{n}{'胸' if thoracic else '腰'}椎椎体"
        name = rng.choice((f"{lv}椎体", long))
        approach = rng.choice((("経椎弓根的に", "経椎弓根"), ("椎弓根外側から", "extrapedicular")))
        return {"name": name, "t": f"{lv}椎体", "pos": ("腹臥位",), "approach": approach}
    level = rng.choice(("S1", "S2"))
    return {"name": f"仙骨{level}{_side(rng)}側", "t": f"仙骨{level}", "pos": ("腹臥位",),
            "approach": ("後方から", "")}


def _bone_site(rng: random.Random, kind: str = "") -> dict:
    kind = kind or _w(rng, (("spine", 9), ("pelvis", 4), ("rib", 2), ("sternum", 1),
                            ("scapula", 1), ("long", 2), ("skull", 1)))
    side = _side(rng)
    if kind == "spine":
        site = _bone_spine(rng)
    elif kind == "pelvis":
        bone = rng.choice(("腸骨", "腸骨翼", "恥骨", "坐骨", "寛骨臼上部"))
        site = {"name": f"{side}{bone}", "t": f"{side}{bone}", "pos": ("腹臥位", "仰臥位")}
    elif kind == "rib":
        n = rng.randint(3, 10)
        site = {"name": f"{side}第{n}肋骨", "t": f"{side}{n}肋骨", "pos": ("腹臥位", "側臥位")}
    elif kind == "sternum":
        site = {"name": "胸骨体", "t": "胸骨", "pos": ("仰臥位",)}
    elif kind == "scapula":
        site = {"name": f"{side}肩甲骨", "t": f"{side}肩甲骨", "pos": ("腹臥位",)}
    elif kind == "long":
        bone = rng.choice(("大腿骨近位", "大腿骨転子部", "大腿骨骨幹部", "上腕骨近位"))
        site = {"name": f"{side}{bone}", "t": f"{side}{bone}", "pos": ("仰臥位",)}
    else:
        site = {"name": f"{side}頭頂骨", "t": f"{side}頭頂骨", "pos": ("側臥位",)}
    site["kind"] = kind
    site.setdefault("approach", ("", ""))
    return site


_BONE_LESIONS = (
    (("溶骨性病変", "溶骨性"), 5), (("硬化性病変", "硬化性"), 3),
    (("溶骨・硬化混在性病変", "混合性"), 2), (("骨破壊を伴う腫瘤", "骨破壊性腫瘤"), 1),
    (("FDG集積を伴う病変", "PET集積病変"), 1), (("MRIでT1低信号を示す病変", "T1低信号病変"), 1),
)
_BONE_NEEDLES = (
    (("11G骨生検針", "11G"), 3), (("13G骨生検針", "13G"), 2),
    (("Jamshidi針（11G）", "Jamshidi"), 2),
    (("電動ドリル（OnControl）", "OnControl"), 1), (("Osteo-Site骨生検針（13G）", "13G"), 1),
    (("8G骨生検針", "8G"), 1),
)


def _bone_purpose(rng: random.Random) -> Fact:
    prim = rng.choice(("乳癌", "前立腺癌", "腎細胞癌", "肺癌", "肺癌", "大腸癌", "甲状腺癌"))
    return _w(rng, (
        (("骨転移疑い", "骨転移?"), 4), (("原発不明癌の骨転移疑い", "原発不明 骨転移?"), 2),
        (("多発性骨髄腫疑い", "MM?"), 2), (("悪性リンパ腫疑い", "ML?"), 1),
        ((f"{prim}の既往あり、骨転移と重複癌の鑑別", f"{prim}既往"), 3),
        (("病的骨折を伴う病変、悪性除外", "病的骨折"), 1),
        (("原発性骨腫瘍疑い", "原発性骨腫瘍?"), 1),
        ((f"{prim}、遺伝子検査用の組織採取", f"{prim} 遺伝子検査"), 1),
    ))


def _bone_title(rng: random.Random, site: dict) -> Fact:
    return rng.choice((
        ("CTガイド下骨生検", "CT下骨生検"), ("CTガイド下経皮的骨生検", "CT骨Bx"),
        (f"CTガイド下{site['name']}生検", f"CT下{site['t']}Bx"),
        ("CT下骨腫瘍生検", "骨腫瘍生検"), ("CTガイド下骨バイオプシー", "骨バイオプシー"),
        (f"{site['name']}病変に対するCTガイド下針生検", f"{site['t']}針生検"),
    ))


_BONE_COMPL = (
    (("特記すべき合併症なし。", "合併症(-)"), 6), (("合併症を認めなかった。", "合併症なし"), 3),
    (("穿刺部痛が残存し、鎮痛剤で対応した。", "疼痛(+)"), 1),
    (("少量の出血あり、圧迫止血した。", "出血(少)"), 1),
)


def _bone_case(rng: random.Random, c: _JCase, site: dict | None = None) -> dict:
    site = site or _bone_site(rng)
    lesion, lesion_t = _w(rng, _BONE_LESIONS)
    needle, needle_t = _w(rng, _BONE_NEEDLES)
    size = rng.randint(12, 60)
    c.target = (f"{site['name']}の{lesion}", f"{site['t']} {lesion_t}")
    c.purpose = _bone_purpose(rng)
    pos = rng.choice(site["pos"])
    c.position = pos if pos != "側臥位" else rng.choice(("右側臥位", "左側臥位"))
    c.title = _bone_title(rng, site)
    c.findings = [f"{site['name']}に{size}mm大の{lesion}を認める。"]
    approach, approach_t = site["approach"]
    c.steps.append((f"{_guide(rng)}に{approach}{needle}を刺入した。", f"{approach_t} {needle_t}"))
    c.steps.append(rng.choice((("ハンマーを用いて骨皮質を穿通し、病変内に到達した。", "皮質穿通"),
                               ("皮質を穿通し、針先が病変内にあることを確認した。", ""),
                               ("骨膜まで局所麻酔を追加した後、病変に到達した。", "骨膜麻酔追加"))))
    n = rng.randint(1, 4)
    c.samples = [rng.choice(((f"骨組織{n}本を採取した。", f"{needle_t}×{n}"),
                             (f"{n}本の骨片を得た。", f"骨片{n}本"),
                             (f"コア{n}本を採取し、脱灰標本として病理へ提出した。",
                              f"コア{n}本 脱灰")))]
    c.compl = _w(rng, _BONE_COMPL)
    c.plan = rng.choice(("病理結果待ち。", "穿刺部圧迫、2時間安静。",
                         "結果判明後に放射線治療を検討。"))
    return site


# ------------------------------------------------------------- category 1: drainage


_COLLECTIONS = (  # ((key, name, target template, positions, fluid), weight)
    (("liver", "肝膿瘍", "肝S{seg}の{size}mm大の膿瘍", ("仰臥位", "左側臥位"), "pus"), 7),
    (("renal", "腎膿瘍", "{side}腎の{size}mm大の膿瘍", ("腹臥位",), "pus"), 2),
    (("psoas", "腸腰筋膿瘍", "{side}腸腰筋内の{size}mm大の膿瘍", ("腹臥位",), "pus"), 3),
    (("pelvic", "骨盤内膿瘍", "骨盤内の{size}mm大の膿瘍", ("腹臥位", "仰臥位"), "pus"), 3),
    (("douglas", "ダグラス窩膿瘍", "ダグラス窩の{size}mm大の膿瘍", ("腹臥位",), "pus"), 2),
    (("subphrenic", "横隔膜下膿瘍", "{side}横隔膜下の{size}mm大の膿瘍", ("仰臥位",), "pus"), 2),
    (("postop", "術後腹腔内膿瘍", "{where}の{size}mm大の液体貯留", ("仰臥位",), "pus"), 3),
    (("empyema", "膿胸", "{side}胸腔の被包化した膿胸", ("仰臥位", "側臥位"), "pus"), 3),
    (("effusion", "被包化胸水", "{side}肺下葉背側の被包化胸水", ("腹臥位", "側臥位"), "serous"), 2),
    (("ascites", "被包化腹水", "腹腔内の被包化腹水", ("仰臥位",), "serous"), 1),
    (("biloma", "胆汁瘻（biloma）", "肝切除断端の{size}mm大の液体貯留", ("仰臥位",), "bile"), 2),
    (("lymphocele", "リンパ嚢腫", "{side}骨盤壁の{size}mm大のリンパ嚢腫", ("仰臥位",), "serous"),
     2),
    (("seroma", "漿液腫", "術創部皮下の漿液腫", ("仰臥位",), "serous"), 1),
    (("hematoma", "血腫", "{side}後腹膜の{size}mm大の血腫", ("腹臥位",), "bloody"), 1),
    (("pancreatic", "膵仮性嚢胞", "膵周囲の{size}mm大の仮性嚢胞", ("仰臥位",), "pancreatic"), 2),
    (("won", "被包化壊死（WON）", "膵周囲の被包化壊死", ("仰臥位", "左側臥位"), "pancreatic"), 1),
    (("urinoma", "尿瘤（urinoma）", "{side}腎周囲の尿瘤", ("腹臥位",), "urine"), 1),
    (("infected_cyst", "感染性肝嚢胞", "肝S{seg}の{size}mm大の感染性嚢胞", ("仰臥位",), "pus"), 1),
)
_FLUIDS = {
    "pus": (("黄白色の膿汁", "膿"), ("膿性の排液", "膿性"), ("悪臭を伴う膿汁", "悪臭膿"),
            ("クリーム状の膿", "膿")),
    "serous": (("淡黄色透明の漿液性排液", "淡黄色透明"), ("黄色透明な液体", "黄色透明")),
    "bloody": (("暗赤色の血性排液", "血性"), ("凝血塊を含む血性排液", "血性+凝血塊")),
    "bile": (("胆汁様の排液", "胆汁様"), ("緑褐色の液体", "緑褐色")),
    "pancreatic": (("褐色混濁した排液", "褐色混濁"), ("壊死物質を含む混濁液", "壊死物混濁")),
    "urine": (("淡黄色透明な尿様の液体", "尿様"),),
}
_DRAIN_PURPOSE = {
    "empyema": (("発熱と胸水の増加、試験穿刺で膿性胸水", "膿胸 試験穿刺膿性"),),
    "effusion": (("呼吸困難、被包化されており盲目的な胸腔穿刺が困難", "被包化 穿刺困難"),),
    "ascites": (("腹部膨満、被包化されており超音波下穿刺が困難", "腹満 被包化"),),
    "biloma": (("肝切除後の発熱、胆汁漏疑い", "肝切後 胆汁漏?"),),
    # Lymphocele after pelvic node dissection: 骨 (骨盤) in a category-1 report.
    "lymphocele": (("骨盤内リンパ節郭清後、下肢浮腫と下腹部痛", "LND後 下肢浮腫"),),
    "seroma": (("術後の創部腫脹と疼痛", "創部腫脹"),),
    "hematoma": (("抗凝固療法中の後腹膜血腫、疼痛と圧迫症状", "後腹膜血腫 圧迫症状"),),
    "pancreatic": (("急性膵炎後、腹痛と経口摂取困難", "膵炎後 腹痛"),
                   ("感染性膵壊死疑い", "感染性壊死?")),
    "urinoma": (("腎部分切除後の尿漏疑い", "腎部切後 尿漏?"),),
}


def _collection(rng: random.Random, coll: tuple | None = None) -> dict:
    key, name, template, positions, fluid = coll or _w(rng, _COLLECTIONS)
    size = rng.randint(30, 120)
    where = rng.choice(("右横隔膜下", "吻合部周囲", "肝下面", "脾摘後の脾床"))
    full = template.format(seg=rng.randint(2, 8), size=size, side=_side(rng), where=where)
    crp = round(rng.uniform(4.0, 32.0), 1)
    purposes = _DRAIN_PURPOSE.get(key) or (
        (f"発熱、CRP {crp}mg/dLと炎症反応高値", f"CRP {crp}"),
        ("抗菌薬加療に反応不良", "抗菌薬不応"),
        ("敗血症、感染源コントロール目的", "sepsis"),
        ("発熱持続、壊死性腫瘍との鑑別", "発熱 壊死腫瘍との鑑別"),
    )
    if key == "postop":
        op = rng.choice(("結腸切除", "胃切除", "虫垂切除", "低位前方切除"))
        purposes = ((f"{op}術後、発熱が持続", f"{op}後 発熱"),)
    return {"key": key, "name": name, "target": full, "pos": positions,
            "fluid": rng.choice(_FLUIDS[fluid]), "purpose": rng.choice(purposes),
            "vol": rng.choice((10, 20, 35, 50, 80, 120, 150, 200, 300, 450)), "size": size}


def _drain_title(rng: random.Random, name: str, aspiration_only: bool) -> Fact:
    # Only about half of the titles say ドレナージ; the rest say what was done.
    if aspiration_only:
        return rng.choice(((f"CTガイド下{name}穿刺吸引", f"CT下{name}穿刺吸引"),
                           (f"{name}穿刺吸引術（CTガイド下）", f"{name} 穿刺吸引"),
                           (f"CTガイド下穿刺排液（{name}）", f"{name}穿刺排液"),
                           (f"CTガイド下{name}ドレナージ（穿刺吸引）", f"{name} 吸引ドレナージ")))
    return rng.choice((
        (f"CTガイド下{name}ドレナージ", f"CT下{name}ドレナージ"),
        (f"CTガイド下経皮的{name}ドレナージ術", f"経皮的ドレナージ {name}"),
        (f"{name}に対するCTガイド下ドレナージ", f"{name}ドレナージ"),
        (f"CTガイド下{name}穿刺・ドレーン留置", f"{name}穿刺 ドレーン留置"),
        (f"{name}穿刺、カテーテル留置（CTガイド下）", f"{name} カテ留置"),
        (f"CTガイド下ドレーン留置術（{name}）", f"CT下ドレーン留置 {name}"),
    ))


_DRAIN_COMPL = (
    (("合併症なし。", "合併症(-)"), 6), (("特記すべき合併症を認めなかった。", "合併症なし"), 3),
    (("穿刺部から少量の出血あり、圧迫止血した。", "少量出血"), 1),
    (("一過性の悪寒戦慄を認めた。", "一過性悪寒"), 1),
    (("疼痛の訴えあり、鎮痛剤を使用した。", "疼痛(+)"), 1),
)


def _drain_catheter(rng: random.Random, c: _JCase, info: dict) -> None:
    fr = rng.choice((6, 8, 8.5, 10, 10, 12, 14))
    fr_s = f"{fr:g}"
    device = rng.choice((f"{fr_s}Frピッグテールカテーテル", f"{fr_s}Frドレナージカテーテル",
                         f"{fr_s}Frマルチパーパスカテーテル", f"{fr_s}Fr pigtailカテーテル"))
    method, method_t = rng.choice((("セルジンガー法で", "Seldinger"), ("トロッカー法で", "trocar"),
                                   ("18G穿刺針で", "18G穿刺"), ("一期的に", "一期的")))
    c.steps.append((f"{_guide(rng)}に{info['name']}を{method}穿刺し、{device}を留置した。",
                    f"{method_t} {fr_s}Fr留置"))
    if method_t == "Seldinger" and rng.random() < 0.5:
        c.steps.append(("留置には0.035インチガイドワイヤーとダイレーターを用いた。", ""))
    fluid, fluid_t = info["fluid"]
    sent = rng.choice(("細菌培養", "培養および細胞診", "生化学検査と培養"))
    c.samples = [(f"{fluid}を{info['vol']}ml吸引し、{sent}に提出した。",
                  f"{fluid_t}{info['vol']}ml 提出")]
    c.after.append(rng.choice((
        ("カテーテルは皮膚に縫合固定し、排液バッグに接続した。", "縫合固定 バッグ接続"),
        ("生理食塩水で内腔を洗浄した。", "生食洗浄"), ("自然排液とした。", "自然排液"),
        ("ドレナージは良好であった。", "排液良好"),
    )))


def _drain_aspirate(rng: random.Random, c: _JCase, info: dict) -> None:
    g = rng.choice(("18G", "20G", "21G", "18G"))
    needle = rng.choice((f"{g}エラスター針", f"{g}穿刺針", f"{g}カテラン針", f"{g} PTCD針"))
    c.steps.append((f"{_guide(rng)}に{needle}で{info['name']}を穿刺した。", f"{g}穿刺"))
    fluid, fluid_t = info["fluid"]
    c.samples = [(f"{fluid}を{info['vol']}ml吸引し、培養に提出した。",
                  f"{fluid_t}{info['vol']}ml吸引")]
    c.after.append(rng.choice((("可及的に吸引し、穿刺吸引のみで終了した。", "吸引のみ"),
                               ("吸引後の確認CTで貯留はほぼ消失した。", "貯留消失"),
                               ("内容液をほぼ全量排液し、針を抜去した。", "全量排液"))))


def _drain_case(rng: random.Random, c: _JCase, coll: tuple | None = None) -> dict:
    info = _collection(rng, coll)
    info["aspiration_only"] = rng.random() < 0.22
    # terse: "肝S7の60mm大の膿瘍" -> "肝S7 60mm 膿瘍"
    c.target = (info["target"], re.sub(r"の(\d+)mm大の", r" \1mm ", info["target"]))
    c.purpose = info["purpose"]
    pos = rng.choice(info["pos"])
    c.position = pos if pos != "側臥位" else rng.choice(("右側臥位", "左側臥位"))
    c.title = _drain_title(rng, info["name"], info["aspiration_only"])
    c.findings = [rng.choice((f"{info['target']}を認める。",
                              f"{info['target']}を認め、辺縁に造影効果を伴う。",
                              f"前回CTと比較し、{info['target']}は増大している。"))]
    if info["aspiration_only"]:
        _drain_aspirate(rng, c, info)
    else:
        _drain_catheter(rng, c, info)
    c.compl = _w(rng, _DRAIN_COMPL)
    c.plan = rng.choice(("排液量と性状を観察し、CTで縮小を確認後に抜去予定。",
                         "連日生食で洗浄する。",
                         "培養結果に応じて抗菌薬を調整する。",
                         "排液量が10ml/日以下となれば抜去を検討。",
                         "再貯留があれば再穿刺を検討。"))
    return info


# ------------------------------------------------------------------------ hard cases


def _hard_complication(rng: random.Random, c: _JCase, label: int) -> None:
    fr = rng.choice((8, 10, 12, 14))
    if label == 3:  # chest tube for a post-biopsy pneumothorax: still a lung biopsy
        _lung_case(rng, c)
        c.compl = rng.choice((("生検後のCTで中等量の気胸が出現した。", "気胸(中等量)"),
                              ("穿刺中より気胸が増大し、SpO2低下を認めた。", "気胸増大 SpO2↓"),
                              ("終了時のCTで気胸の増大を認めた。", "PTX増大")))
        c.after = [rng.choice((
            (f"CTガイド下に{fr}Frの胸腔ドレーンを留置し、肺の再膨張を確認した。",
             f"→{fr}Fr胸腔ドレーン"),
            (f"{fr}Frアスピレーションキットを挿入し、持続吸引とした。",
             f"{fr}Frアスピレーションキット"),
            (f"気胸に対し{fr}Frトロッカーカテーテルで胸腔ドレナージを施行した。",
             f"胸腔ドレナージ{fr}Fr"),
        ))]
        c.diagnosis = "CTガイド下肺生検。気胸に対し胸腔ドレーンを留置した。"
        c.plan = "病棟で胸腔ドレーン管理、翌日胸部X線で評価する。"
    elif label == 2:  # drain left for bleeding after a liver biopsy: still a biopsy
        _soft_case(rng, c, site=_soft_site(rng, "liver"))
        c.compl = ("生検後CTで肝周囲に血腫を認め、活動性出血が疑われた。", "肝周囲血腫 活動性出血?")
        c.after = [rng.choice((("出血の経過観察のため、肝周囲に8Frドレーンを留置した。",
                                "8Frドレーン留置"),
                               ("血腫内にドレーンを留置し、排液の性状を観察することとした。",
                                "血腫ドレナージ")))]
        c.plan = "Hbを4時間毎に確認し、増悪時はTAEを検討する。"
    elif label == 4:  # pneumothorax after a rib biopsy
        _bone_case(rng, c, site=_bone_site(rng, "rib"))
        c.compl = ("肋骨生検後に少量の気胸を認め、確認CTで増大した。", "気胸 増大")
        c.after = [(f"{fr}Frの胸腔ドレーンを留置した。", f"胸腔ドレーン{fr}Fr")]
    else:
        info = _drain_case(rng, c)
        if info["aspiration_only"]:
            c.compl = ("吸引液が血性となり、確認CTで小血腫を認めた。", "血性化 小血腫")
            c.after = [("圧迫で止血が得られ、ドレーンは留置しなかった。", "圧迫止血 ドレーンなし")]
        else:
            c.compl = ("留置後に血性排液を認め、カテーテル周囲に小血腫を認めた。",
                       "血性排液 小血腫")
            c.after = [("カテーテルを2時間クランプし、排液は清明化した。", "2hクランプ→清明化")]


def _site_soft(target: Fact, organ: Fact, pos: tuple, purposes: tuple) -> dict:
    return {"kind": "special", "target": target, "organ": organ, "pos": pos, "purpose": purposes}


def _tissue_chest_wall(rng: random.Random, c: _JCase) -> None:
    lobe, lobe_lung, abbr, side, _ = rng.choice(_LOBES)
    upper = "上葉" in lobe
    site = _site_soft((f"{lobe_lung}腫瘤の胸壁浸潤部", f"{side}胸壁浸潤部({abbr}腫瘤)"),
                      ("胸壁腫瘤", "胸壁"), ("腹臥位", "仰臥位"),
                      (("肺癌の胸壁浸潤疑い", "肺癌 胸壁浸潤?"),
                       ("Pancoast腫瘍疑い", "Pancoast?") if upper
                       else ("肋骨痛を伴う肺腫瘤、肺癌疑い", "肺腫瘤 胸壁痛")))
    _soft_case(rng, c, site=site)
    c.title = rng.choice((("CTガイド下胸壁腫瘤生検（肺腫瘤の胸壁浸潤部）", "CT下胸壁浸潤部Bx"),
                          (f"CTガイド下生検：{abbr}腫瘤の胸壁進展部", f"{abbr}腫瘤 胸壁部生検")))
    c.notes.append(rng.choice((
        ("含気のある肺は穿刺せず、胸壁に浸潤した軟部組織成分のみから採取した。",
         "胸壁成分のみ 肺は通過せず"),
        ("胸壁進展部を標的とし、肺実質は穿刺していない。", "胸壁部のみ 肺穿刺なし"),
    )))


def _tissue_bone_soft(rng: random.Random, c: _JCase) -> None:
    side = _side(rng)
    bone = rng.choice((f"{side}第{rng.randint(3, 10)}肋骨", f"{side}腸骨翼", f"{side}肩甲骨",
                       "仙骨"))
    size = rng.randint(25, 90)
    site = _site_soft((f"{bone}から発生した{size}mm大の骨外性軟部腫瘤", f"{bone} 骨外軟部腫瘤"),
                      ("軟部腫瘤", "軟部腫瘤"), ("腹臥位", "仰臥位"),
                      (("転移性腫瘍疑い", "転移?"), ("軟骨肉腫疑い", "軟骨肉腫?"),
                       ("形質細胞腫疑い", "形質細胞腫?")))
    _soft_case(rng, c, site=site)
    c.notes.append(rng.choice((
        ("骨皮質は穿通せず、軟部組織用の生検針で骨外の軟部成分から採取した。",
         "皮質穿通せず 軟部成分のみ"),
        ("骨生検針は使用せず、骨外軟部成分のみを生検した。", "骨針不使用 軟部のみ"),
    )))


def _tissue_pleura(rng: random.Random, c: _JCase) -> None:
    side = _side(rng)
    what = rng.choice(("胸膜腫瘤", "結節状の胸膜肥厚", "びまん性胸膜肥厚"))
    site = _site_soft((f"{side}{what}（厚さ{rng.randint(8, 40)}mm）", f"{side}{what}"),
                      ("胸膜", "胸膜"), ("腹臥位", "仰臥位"),
                      (("悪性胸膜中皮腫疑い、アスベスト曝露歴あり", "中皮腫? 石綿曝露"),
                       ("胸膜播種疑い", "胸膜播種?"),
                       ("再発性胸水と胸膜結節", "胸水再発+胸膜結節")))
    _soft_case(rng, c, site=site)
    c.notes.append(rng.choice((
        ("含気肺を通過しないよう接線方向に穿刺し、胸膜病変から採取した。",
         "胸膜から採取 肺は生検せず"),
        (f"{what}を生検した。その下の肺は生検していない。", "胸膜のみ"),
    )))


def _tissue_node(rng: random.Random, c: _JCase) -> None:
    station, st = rng.choice((("気管分岐下リンパ節（#7）", "#7"),
                              ("右気管傍リンパ節（#4R）", "#4R"),
                              ("左肺門リンパ節（#10L）", "#10L"),
                              ("大動脈肺動脈窓リンパ節（#5）", "#5")))
    lobe, lobe_lung, abbr, _, _ = rng.choice(_LOBES)
    size = rng.randint(12, 40)
    site = _site_soft((f"腫大した{station}（短径{size}mm）", f"{st}LN {size}mm"),
                      ("縦隔リンパ節", "縦隔LN"), ("腹臥位",),
                      (("悪性リンパ腫疑い", "ML?"), ("EBUS-TBNA困難例、転移の評価", "EBUS困難"),
                       ("サルコイドーシス疑い", "サルコ?")))
    _soft_case(rng, c, site=site)
    # The needle crosses lung, but the tissue sampled is a node: category 2.
    c.notes.append(rng.choice(((f"{lobe_lung}を経由する経肺的アプローチで到達した。",
                                f"経肺({abbr})"),
                               (f"穿刺経路は{lobe}の肺実質を通過した。", f"{abbr}経由"))))
    c.compl = rng.choice((("少量の気胸を認めたが処置不要であった。", "気胸(少量)"),
                          ("気胸なし。", "気胸(-)")))


def _hard_tissue_sampled(rng: random.Random, c: _JCase, label: int) -> None:
    if label == 3:  # subpleural but centred in the lung: still a lung biopsy
        _lung_case(rng, c)
        c.notes.append(("病変は胸膜に広く接するが主座は肺実質にあり、胸壁浸潤はない。肺内の病変部から採取した。",
                        "胸膜下 主座は肺 胸壁浸潤(-)"))
    elif label == 4:  # soft-tissue component present, but bone was cored
        _bone_case(rng, c)
        c.notes.append(("骨外への軟部組織成分を伴うが、骨皮質を穿通して骨髄内の病変から採取した。",
                        "軟部成分あり 皮質穿通し骨内から採取"))
    else:
        variant = rng.choice((_tissue_chest_wall, _tissue_bone_soft, _tissue_pleura, _tissue_node))
        variant(rng, c)


def _hard_lung_abscess(rng: random.Random, c: _JCase) -> None:
    lobe, lobe_lung, abbr, _, _ = rng.choice(_LOBES)
    size, fr = rng.randint(35, 110), rng.choice((8, 10, 12))
    vol = rng.choice((40, 60, 90, 120, 180))
    c.target = (f"{lobe_lung}の{size}mm大の肺膿瘍", f"{abbr} 肺膿瘍 {size}mm")
    c.title = rng.choice((("CTガイド下肺膿瘍ドレナージ", "CT下肺膿瘍ドレナージ"),
                          ("CTガイド下経皮的肺膿瘍ドレナージ術", "肺膿瘍PCD"),
                          (f"肺膿瘍穿刺・{fr}Frカテーテル留置（CTガイド下）", f"肺膿瘍 {fr}Fr留置"),
                          (f"CTガイド下{lobe}膿瘍腔へのドレーン留置", f"{abbr}膿瘍 ドレーン留置")))
    c.purpose = rng.choice((("抗菌薬抵抗性の肺膿瘍、発熱持続", "肺膿瘍 抗菌薬抵抗性"),
                            ("鏡面形成を伴う巨大肺膿瘍", "肺膿瘍 鏡面形成")))
    c.position = rng.choice(("腹臥位", "仰臥位", "右側臥位", "左側臥位"))
    c.findings = [f"{lobe_lung}に壁の厚い空洞性病変を認め、内部に鏡面形成を伴う。",
                  "膿瘍は胸膜と広く接する。"]
    c.steps = [(f"胸膜癒着部を経由して{fr}Frピッグテールカテーテルを膿瘍腔内に留置した。",
                f"{fr}Fr pigtail")]
    c.samples = [(f"膿汁{vol}mlを吸引し、培養に提出した。", f"膿{vol}ml 培養")]
    c.compl = rng.choice((("気胸なし。", "気胸(-)"),
                          ("少量の気胸を認めたが処置不要。", "気胸少量")))
    c.plan = "1日2回カテーテルを洗浄し、抗菌薬静注を継続する。"
    if rng.random() < 0.4:
        c.notes.append(("膿瘍壁の生検は行わなかった。", "壁生検なし"))


def _hard_biopsy_and_aspiration(rng: random.Random, c: _JCase, label: int) -> None:
    if label == 1:  # drainage was the aim; the wall biopsy is an extra
        _drain_case(rng, c)
        c.notes.append(rng.choice((
            ("膿瘍壁の不整な肥厚部から、18G針で2本の組織も追加採取した。", "+壁生検18G×2"),
            ("悪性除外のため、ドレナージ後に壁の一部を生検した。", "+壁Bx"),
        )))
    elif label == 2:  # fluid came out while sampling a solid lesion
        _soft_case(rng, c)
        c.notes.append(rng.choice((
            ("病変中心部は壊死性で、穿刺時に約5mlの液体が吸引されたため細胞診に提出した。",
             "壊死部液5ml吸引"),
            ("組織採取前に壊死部から少量の血性液を吸引した。ドレーンは留置していない。",
             "少量血性液吸引"),
        )))
    elif label == 3:
        _lung_case(rng, c)
        c.notes.append(("腫瘤中心の壊死部より少量の液体をコアキシャル針から吸引した後、組織を採取した。",
                        "壊死液少量吸引→組織採取"))
    else:
        _bone_case(rng, c)
        c.notes.append(("病変の嚢胞性部分から血性液2mlを吸引し、その後充実部から骨組織を採取した。",
                        "嚢胞部吸引2ml→充実部採取"))


def _hard_negation(rng: random.Random, c: _JCase, label: int) -> None:
    if label == 1:
        coll = _w(rng, tuple(x for x in _COLLECTIONS if x[0][0] != "hematoma"))
        info = _drain_case(rng, c, coll=coll)
        c.notes.append(rng.choice((("隣接する軟部組織肥厚の生検は延期とした。", "生検は延期"),
                                   ("生検も検討したが、適応なしと判断した。", "生検適応なし"))))
        if info["aspiration_only"]:
            c.notes.append(("内容液をほぼ全量吸引できたため、ドレーン留置は行わず終了した。",
                            "ドレーン留置せず"))
    elif label == 3:
        _lung_case(rng, c)
        note = rng.choice((("気胸は認めず、胸腔ドレーンの留置は要さなかった。", "ドレーン不要"),
                           ("ドレナージを要する気胸はなかった。", "ドレナージ不要"),
                           ("胸水は少量でありドレナージは行わなかった。",
                            "胸水少量 ドレナージせず")))
        c.notes.append(note)
        if note[0].startswith("気胸は認めず"):  # keep the complication line consistent
            c.compl = ("術後CTで出血を認めない。", "出血(-)")
    elif label == 2:
        _soft_case(rng, c)
        c.notes.append(rng.choice((
            ("膿瘍も鑑別に挙がったが、CTで液体貯留はなく、ドレナージは施行せず生検とした。",
             "液貯留なし→生検"),
            ("ドレーン留置は行わず終了した。", "ドレーン留置なし"),
        )))
    else:
        _bone_case(rng, c)
        c.notes.append(rng.choice((("軟部組織成分や膿瘍形成はなく、ドレナージの適応はない。",
                                    "膿瘍(-)"),
                                   ("肺病変は認めず、骨に限局した病変である。",
                                    "肺病変(-) 骨限局"))))


def _hard_aborted(rng: random.Random, c: _JCase, label: int) -> None:
    if label == 3:
        _lung_case(rng, c)
        reason = rng.choice(("咳嗽が持続したため", "検体採取前に気胸が出現したため",
                             "安静保持が困難なため"))
        c.steps = [("17Gイントロデューサー針を病変に向けて進めた。", "17G挿入")]
        c.notes.append((f"{reason}手技を中止した。検体は採取できなかった。", "中止 検体なし"))
        c.diagnosis, c.plan = "CTガイド下肺生検は中止となった。", "後日の再検を検討する。"
    elif label == 2:
        _soft_case(rng, c)
        c.steps = [("複数の穿刺経路をCT画像上で検討した。", "経路検討")]
        c.notes.append(("腸管および血管が介在し安全な穿刺経路が得られず、生検は中止した。",
                        "安全な経路なし 中止"))
        c.diagnosis, c.plan = "生検は施行できなかった。", "EUS-FNAまたは外科的生検を検討する。"
    elif label == 4:
        _bone_case(rng, c)
        c.steps = [("骨生検針を骨膜上まで進めた。", "骨膜まで")]
        c.notes.append(("腹臥位の保持が困難となり、骨皮質穿通前に骨生検を中止した。",
                        "体位保持困難 中止"))
        c.diagnosis, c.plan = "骨生検は完遂できなかった。", "全身麻酔下での再検を検討する。"
    else:
        _drain_case(rng, c)
        c.steps = [("液体貯留への穿刺経路を計画した。", "経路計画")]
        c.notes.append(rng.choice((
            ("計画CTで液体貯留は2cm未満に縮小しており、ドレナージは施行しなかった。",
             "縮小のため中止"),
            ("カテーテルを安全に進めることができず、ドレナージは中止した。", "カテ挿入困難 中止"),
        )))
        c.diagnosis = "予定したCTガイド下ドレナージは施行しなかった。"
        c.plan, c.after = "抗菌薬で経過観察。", []
    c.samples = []
    ptx = "気胸が出現" in c.notes[-1][0]  # the pneumothorax that stopped it is the complication
    c.compl = ("合併症なし。", "合併症(-)")
    if ptx:
        c.compl = ("少量の気胸あり、経過観察とした。", "気胸(少量)")


def _hard_history(rng: random.Random, c: _JCase, label: int) -> None:
    y = rng.randint(2001, 2023)
    if label == 4:
        _bone_case(rng, c)
        opts = ((f"{y}年に肺腺癌と診断（CTガイド下肺生検）。", f"肺腺癌({y} 肺生検)"),
                ("肺癌にて肺葉切除術後、新たな骨病変が出現。", "肺癌術後"),
                (f"{y}年に腸腰筋膿瘍に対しドレナージ歴あり。", f"腸腰筋膿瘍ドレナージ歴({y})"))
    elif label == 1:
        _drain_case(rng, c)
        opts = ((f"{rng.randint(1, 6)}週間前に膵腫瘤に対しCTガイド下生検を施行。", "膵腫瘤生検後"),
                ("肺癌、多発骨転移。以前にL2椎体の骨生検歴あり。", "肺癌骨転移 骨生検歴"),
                (f"{y}年の肝生検で大腸癌肝転移と診断。", "肝生検歴"))
    elif label == 3:
        _lung_case(rng, c)
        opts = ((f"{y}年に右膿胸に対しドレナージ施行歴あり。", "膿胸ドレナージ歴"),
                ("前立腺癌、硬化性骨転移あり。", "前立腺癌 骨転移"),
                (f"{y}年の副腎生検では良性。", "副腎生検 良性"))
    else:
        _soft_case(rng, c)
        opts = (("肺癌の既往あり、肺生検にて診断済み。骨シンチは陰性。",
                 "肺癌(肺生検済) 骨シンチ(-)"),
                (f"{y}年に骨盤内膿瘍ドレナージ歴。", "骨盤内膿瘍ドレナージ歴"),
                ("Th9の骨生検で多発性骨髄腫と診断されている。", "Th9骨生検:骨髄腫"))
    c.history.append(rng.choice(opts))


def _hard_cyst(rng: random.Random, c: _JCase) -> None:
    side = _side(rng)
    renal = rng.random() < 0.65
    where = f"{side}腎" if renal else "肝"
    size, vol = rng.randint(40, 120), rng.choice((30, 60, 90, 150, 250, 400))
    agent = rng.choice(("無水エタノール", "99.5%エタノール", "ミノサイクリン", "ポリドカノール"))
    dose = {"ミノサイクリン": "200mg", "ポリドカノール": f"{min(round(vol * 0.1), 20)}ml"}.get(
        agent, f"{min(round(vol * 0.2), 100)}ml")
    c.target = (f"{where}の{size}mm大の単純性嚢胞", f"{where}嚢胞 {size}mm")
    c.title = rng.choice(((f"CTガイド下{where}嚢胞穿刺吸引・硬化療法", f"{where}嚢胞 穿刺+硬化"),
                          (f"{where}嚢胞硬化療法（CTガイド下）", f"嚢胞硬化療法 {agent}"),
                          (f"症候性{where}嚢胞に対する穿刺吸引および{agent}注入",
                           f"{where}嚢胞吸引+注入")))
    c.purpose = rng.choice((("側腹部痛の原因と考えられる巨大嚢胞", "症候性嚢胞"),
                            ("周囲臓器を圧排する症候性嚢胞", "圧排症状"),
                            ("疼痛を反復するBosniak Iの単純性嚢胞", "Bosniak I 疼痛")))
    c.position = "腹臥位" if renal else "仰臥位"
    c.findings = [f"{where}に{size}mm大の単純性嚢胞を認める。"]
    c.steps = [("18G穿刺針で嚢胞を穿刺し、6Frカテーテルに入れ替えた。", "18G→6Fr")]
    c.samples = [(f"淡黄色透明の内容液{vol}mlを吸引し、細胞診に提出した。", f"{vol}ml 淡黄色透明"),
                 (f"{agent}{dose}を注入し、20分間留置後に回収した。", f"{agent}{dose}注入"),
                 ("カテーテルは抜去した。", "抜去")]
    c.compl = ("合併症なし。", "合併症(-)")
    c.plan = "3か月後に超音波で再評価する。"
    if rng.random() < 0.5:
        c.notes.append(("生検は施行していない。", "生検なし"))


def _hard_spondylodiscitis(rng: random.Random, c: _JCase) -> None:
    lvl = rng.choice(("Th8/9", "Th11/12", "L1/2", "L2/3", "L3/4", "L4/5", "L5/S1"))
    needle, needle_t = _w(rng, _BONE_NEEDLES)
    c.target = (f"{lvl}椎間板および隣接する終板", f"{lvl}椎間板")
    c.title = rng.choice((("CTガイド下椎間板生検（化膿性脊椎炎疑い）", f"CT下{lvl}椎間板Bx"),
                          (f"CTガイド下{lvl}椎間板・終板生検", f"{lvl} 椎間板/終板生検"),
                          (f"化膿性椎間板炎疑いに対するCTガイド下穿刺・生検（{lvl}）",
                           f"{lvl} 椎間板炎? 穿刺")))
    c.purpose = rng.choice((("腰背部痛、発熱、CRP上昇。MRIで化膿性脊椎炎疑い", "化膿性脊椎炎?"),
                            ("血液培養陰性、起因菌同定目的", "起因菌同定")))
    c.position = "腹臥位"
    c.findings = [f"{lvl}の終板にびらんと椎間板腔の狭小化を認める。"]
    if rng.random() < 0.5:  # a collection is mentioned but not drained: stays category 4
        c.findings.append(rng.choice(("傍椎体に軽度の軟部組織腫脹を認めるが、ドレナージ可能な膿瘍はない。",
                                      "小さな腸腰筋膿瘍を伴うが、ドレナージの適応はない。")))
    c.steps = [(f"後外側アプローチにて{needle}を椎間板および下位終板へ進めた。", needle_t)]
    c.samples = [rng.choice((
        ("終板と椎間板から2本採取し、椎間板腔から混濁液1mlを吸引した。検体は培養と病理へ提出した。",
         "終板+椎間板2本 液1ml 培養"),
        ("椎間板組織と骨片を細菌培養および病理に提出した。", "椎間板+骨片 培養/病理"),
    ))]
    c.compl = ("合併症なし。", "合併症(-)")
    c.plan = "可能であれば培養結果の判明まで抗菌薬投与を控える。"


def _hard_marrow(rng: random.Random, c: _JCase) -> None:
    side = _side(rng)
    c.target = (f"{side}後腸骨稜", f"{side}後腸骨稜")
    c.title = rng.choice(((f"CTガイド下骨髄生検（{side}後腸骨稜）", "CT下骨髄生検"),
                          ("CTガイド下骨髄穿刺吸引および骨髄生検", "CT下BMA/BMB"),
                          (f"骨髄生検（CTガイド下、{side}腸骨）", "骨髄Bx")))
    c.purpose = rng.choice((("汎血球減少、高度肥満で盲目的穿刺が不成功", "汎血球減少 肥満"),
                            ("悪性リンパ腫の病期診断", "ML staging"),
                            ("骨髄異形成症候群疑い", "MDS?")))
    c.position = "腹臥位"
    c.findings = ["後腸骨稜の解剖に異常はない。"]
    c.steps = [(f"11G Jamshidi針を{side}後腸骨稜に刺入した。", "Jamshidi 11G")]
    c.samples = [("骨髄液の吸引塗抹標本と、長さ約2cmの骨髄生検組織を採取した。", "BMA+BMB 2cm")]
    c.compl = ("合併症なし。", "合併症(-)")
    c.diagnosis = "CTガイド下骨髄穿刺吸引・骨髄生検を施行した。"


_BACKGROUND = {
    0: (("高血圧、糖尿病で加療中。", "HT, DM"), ("抗血小板薬は7日前より休薬。", "抗血小板薬休薬"),
        ("ワルファリン内服中、ヘパリン置換済み。", "ワーファリン→ヘパリン"),
        ("慢性腎臓病のため造影は行わない。", "CKD 造影なし")),
    1: (("肝細胞癌に対しRFA後。", "HCC RFA後"), ("胆管癌術後。", "胆管癌術後"),
        ("糖尿病のコントロール不良。", "DMコントロール不良")),
    2: (("大腸癌術後フォロー中。", "大腸癌術後"), ("肺気腫あり。", "肺気腫"),
        ("膠原病でステロイド内服中。", "ステロイド内服")),
    3: (("喫煙歴40 pack-years。", "BI 800"), ("間質性肺炎あり。", "IP"),
        ("肺気腫あり。", "肺気腫")),
    4: (("前立腺癌でホルモン療法中。", "前立腺癌 ホルモン療法"), ("乳癌術後。", "乳癌術後"),
        ("腰痛が増悪している。", "腰痛増悪")),
}
_HARD_BUILDERS = {
    "complication": _hard_complication, "tissue_sampled": _hard_tissue_sampled,
    "biopsy_and_aspiration": _hard_biopsy_and_aspiration, "negation": _hard_negation,
    "aborted": _hard_aborted, "history_other_category": _hard_history,
}
_HARD_NO_LABEL = {
    "lung_abscess_drain": _hard_lung_abscess, "cyst_sclerotherapy": _hard_cyst,
    "spondylodiscitis": _hard_spondylodiscitis, "bone_marrow": _hard_marrow,
}


def _build_case(rng: random.Random, label: int, hard: str, age: int, sex: str) -> _JCase:
    c = _JCase(label, hard)
    if not hard:
        {1: _drain_case, 2: _soft_case, 3: _lung_case, 4: _bone_case}[label](rng, c)
    elif hard in _HARD_BUILDERS:
        _HARD_BUILDERS[hard](rng, c, label)
    elif hard in _HARD_NO_LABEL:
        _HARD_NO_LABEL[hard](rng, c)
    else:  # pragma: no cover - guarded by cohort._HARD_WEIGHTS
        raise ValueError(hard)
    if not c.history and rng.random() < 0.5:
        c.history.append(rng.choice(_BACKGROUND[0] + _BACKGROUND[label]))
    _common(rng, c, age, sex)
    return c


# ------------------------------------------------------------------- text transforms


# 体言止め: structured and mixed reports drop the verb ("2本採取。", "気胸あり。").
_TAIGEN = (
    (re.compile(r"を認め(?:た|る)。"), "あり。"),
    (re.compile(r"を(施行|実施)した。"), r"\1。"),
    (re.compile(r"を行った。"), "施行。"),
    (re.compile(r"(?<=[\u4e00-\u9fff])した。"), "。"),
    (re.compile(r"(?:であった|である)。"), "。"),
)
# です・ます調 for the polite narrative; the sentences are written in である調 first.
_POLITE = (
    (re.compile(r"(認め|行わ|要さ|でき|し)なかった。"),
     lambda m: {"認め": "認めません", "行わ": "行いません", "要さ": "要しません",
                "でき": "できません", "し": "しません"}[m.group(1)] + "でした。"),
    (re.compile(r"であった。"), "でした。"),
    (re.compile(r"である。"), "です。"),
    (re.compile(r"行った。"), "行いました。"),
    (re.compile(r"得た。"), "得ました。"),
    (re.compile(r"用いた。"), "用いました。"),
    (re.compile(r"(?<=[えけせてねべめれげ])た。"), "ました。"),
    (re.compile(r"(?<![でま])した。"), "しました。"),
    (re.compile(r"認める。"), "認めます。"),
    (re.compile(r"ない。"), "ありません。"),
    (re.compile(r"なし。"), "はありませんでした。"),
    (re.compile(r"(?<=[^\s。、])あり。"), "がありました。"),
    (re.compile(r"(予定|必要)。"), r"\1です。"),
    (re.compile(r"する。"), "します。"),
    (re.compile(r"いる。"), "います。"),
)
# Japanese radiologists keep many English terms; ja_mixed swaps each one with some
# probability, so the same report can read "気胸" in one place and "pneumothorax" in another.
_EN_TERMS = (
    ("CTガイド下に", "CT guide下に"), ("CT透視ガイド下", "CT fluoroscopy guide下"),
    ("CTガイド下", "CT guided"), ("CT透視下", "CT fluoro下"), ("経皮的", "percutaneous"),
    ("コア針生検", "core needle biopsy"), ("肺生検", "lung biopsy"),
    ("骨生検針", "bone biopsy needle"),
    ("骨髄生検", "bone marrow biopsy"), ("骨生検", "bone biopsy"), ("針生検", "needle biopsy"),
    ("生検針", "biopsy needle"), ("生検", "biopsy"), ("バイオプシー", "biopsy"),
    ("右肺上葉", "RUL"), ("右肺中葉", "RML"), ("右肺下葉", "RLL"), ("左肺上葉", "LUL"),
    ("左肺下葉", "LLL"),
    ("右上葉", "RUL"), ("右中葉", "RML"), ("右下葉", "RLL"), ("左上葉", "LUL"), ("左下葉", "LLL"),
    ("すりガラス結節", "GGN"), ("部分充実性結節", "part-solid nodule"), ("結節", "nodule"),
    ("腫瘤", "mass"), ("浸潤影", "consolidation"), ("気胸", "pneumothorax"), ("血痰", "hemoptysis"),
    ("肺内出血", "pulmonary hemorrhage"), ("出血", "bleeding"), ("血腫", "hematoma"),
    ("肺膿瘍", "lung abscess"), ("膿瘍", "abscess"), ("膿胸", "empyema"),
    ("胸水", "pleural effusion"),
    ("腹水", "ascites"), ("嚢胞", "cyst"), ("胸腔ドレーン", "chest tube"),
    ("ドレナージ", "drainage"),
    ("ピッグテールカテーテル", "pigtail catheter"), ("カテーテル", "catheter"),
    ("ドレーン", "drain"),
    ("ガイドワイヤー", "guidewire"), ("局所麻酔", "local anesthesia"),
    ("キシロカイン", "xylocaine"),
    ("リドカイン", "lidocaine"), ("リンパ節", "LN"), ("椎間板", "disc"), ("椎体", "vertebral body"),
    ("溶骨性病変", "osteolytic lesion"), ("硬化性病変", "sclerotic lesion"),
    ("骨髄", "bone marrow"),
    ("腹臥位", "prone position"), ("仰臥位", "supine position"),
    ("右側臥位", "right lateral decubitus"), ("左側臥位", "left lateral decubitus"),
    ("合併症", "complication"), ("病理", "pathology"), ("培養", "culture"), ("細胞診", "cytology"),
    ("悪性リンパ腫", "malignant lymphoma"), ("肺癌", "lung cancer"), ("骨転移", "bone metastasis"),
    ("転移性", "metastatic "), ("転移", "metastasis"),
    ("経過観察", "follow up"), ("吸引", "aspiration"), ("穿刺", "puncture"), ("副腎", "adrenal"),
)
_FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})
_ASCII_RUN = re.compile(r"[0-9A-Za-z]+")


def _taigen(text: str) -> str:
    for pattern, repl in _TAIGEN:
        text = pattern.sub(repl, text)
    return text


def _polite(text: str) -> str:
    for pattern, repl in _POLITE:
        text = pattern.sub(repl, text)
    return text


def _englishize(rng: random.Random, text: str) -> str:
    share = rng.uniform(0.5, 0.9)
    for ja, en in _EN_TERMS:
        if ja in text and rng.random() < share:
            # \x01 \x02 fence the English word: later terms cannot match inside it, and
            # two English words that end up adjacent get a space between them.
            text = text.replace(ja, f"\x01{en}\x02")
    text = text.replace("\x02\x01", " ")
    text = re.sub(r"\x02(?=[A-Za-z0-9])", " ", text)
    text = re.sub(r"(?<=[A-Za-z0-9])\x01", " ", text)
    text = text.replace("\x01", "").replace("\x02", "")
    return text.replace("CT guidedに", "CT guide下に")  # "CTガイド下" kept its "に"


def _width_mix(rng: random.Random, text: str) -> str:
    # RIS exports mix full-width (１８Ｇ) and half-width (18G) letters and digits.
    p = rng.choice((0.0, 0.3, 0.6, 1.0))
    text = _ASCII_RUN.sub(lambda m: m.group(0).translate(_FULLWIDTH) if rng.random() < p
                          else m.group(0), text)
    if rng.random() < 0.5:
        text = text.replace("(-)", "（－）").replace("(+)", "（＋）")
    return text


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t　]{2,}", lambda m: m.group(0)[0], text)
    text = text.replace("、。", "。").replace("。。", "。")
    return "\n".join(line.strip() for line in text.strip().splitlines())


# ------------------------------------------------------------------------- renderers


_HEADS = {
    "title": ("検査名", "手技名", "施行手技", "術式", "検査"),
    "date": ("検査日", "施行日", "実施日"),
    "purpose": ("臨床情報", "依頼目的", "臨床診断", "検査目的", "目的"),
    "history": ("既往歴", "病歴", "背景"),
    "findings": ("所見", "CT所見", "術前CT所見"),
    "method": ("手技", "方法", "手技内容", "手技経過"),
    "specimen": ("検体", "採取検体", "提出検体"),
    "compl": ("合併症", "偶発症"),
    "result": ("結果", "診断", "まとめ", "結論"),
    "plan": ("今後の方針", "方針", "指示", "コメント"),
    "operator": ("術者", "施行医", "担当医"),
}
_HEAD_FORMS = ("【{}】", "【{}】", "{}：", "■{}", "［{}］", "＜{}＞", "◆{}")


def _operator_text(rng: random.Random, c: _JCase) -> str:
    a, b = c.operator
    return rng.choice((f"{a}、{b}", f"{a}／{b}", f"{a}（放射線科）", f"{a} 医師", f"Dr. {a}"))


def _method_sentences(rng: random.Random, c: _JCase) -> list[str]:
    pos = rng.choice((f"{c.position}にて施行。", f"体位は{c.position}とした。",
                      f"{c.position}とした。",
                      f"{c.position}で撮影し、穿刺点を決定した。"))
    first = [pos, c.la[0], c.sedation[0]]
    if rng.random() < 0.3:
        first[1], first[2] = first[2], first[1]
    parts = [p[0] for p in c.pre] + first + [s[0] for s in c.steps]
    return [p for p in parts if p]


def _did(c: _JCase) -> str:
    """"<target>に対し<title>" unless the title already names its target."""
    if "に対" in c.title[0] or "：" in c.title[0]:
        return c.title[0]
    return f"{c.target[0]}に対し{c.title[0]}"


def _result_line(c: _JCase) -> str:
    return c.diagnosis or f"{_did(c)}を施行した。"


def _structured_body(rng: random.Random, c: _JCase) -> list[tuple[str, str]]:
    method = _method_sentences(rng, c)
    tail = [s[0] for s in c.samples] + [n[0] for n in c.notes]
    findings = "".join(c.findings)
    if c.samples and rng.random() < 0.3:
        body = [("findings", findings), ("method", "".join(method)), ("specimen", "".join(tail))]
    else:
        body = [("findings", findings), ("method", "".join(method + tail))]
    roll = rng.random()
    if roll < 0.4:  # many departments put the planning-CT findings after the technique
        body[0], body[1] = body[1], body[0]
    elif roll < 0.6:  # or fold them into the technique
        body = [("method", findings + body[1][1])] + body[2:]
    compl = c.compl[0] + "".join(a[0] for a in c.after)
    if rng.random() < 0.15:  # no complication heading: it is the last line of the technique
        return [(k, v + compl) if k == "method" else (k, v) for k, v in body]
    return body + [("compl", compl)]


def _structured_sections(rng: random.Random, c: _JCase, date: datetime.date) -> list[tuple]:
    secs = [("title", c.title[0])]
    if rng.random() < 0.5:
        secs.append(("date", _date_ja(rng, date)))
    purpose = f"{c.purpose[0]}。"
    if rng.random() < 0.5:
        purpose = f"{c.age_sex[0]}。{purpose}"
    hist = "".join(h[0] for h in c.history)
    if hist and rng.random() < 0.5:
        secs += [("purpose", purpose), ("history", hist)]
    else:
        secs.append(("purpose", purpose + hist))
    if rng.random() < 0.2:  # some RIS templates put the request before the procedure name
        secs[0], secs[-1] = secs[-1], secs[0]
    secs += _structured_body(rng, c)
    secs.append(("result", _result_line(c)))
    if c.plan and rng.random() < 0.6:
        secs.append(("plan", c.plan))
    if rng.random() < 0.7:
        secs.append(("operator", _operator_text(rng, c)))
    return secs


def _render_structured(rng: random.Random, c: _JCase, date: datetime.date) -> str:
    form = rng.choice(_HEAD_FORMS)
    below = form[0] in "■◆" or rng.random() < 0.3
    taigen = rng.random() < 0.5
    lines = []
    for key, body in _structured_sections(rng, c, date):
        if taigen and key not in ("title", "date", "operator"):
            body = _taigen(body)
        head = form.format(rng.choice(_HEADS[key]))
        lines.append(f"{head}\n{body}" if below else f"{head}{body}")
    return ("\n\n" if below and rng.random() < 0.5 else "\n").join(lines)


def _intro(rng: random.Random, c: _JCase, date: datetime.date) -> str:
    did, p = _did(c), c.purpose[0]
    return rng.choice((
        f"{p}。{did}を施行した。",
        f"{c.age_sex[0]}。{p}。{did}を施行した。",
        f"{_date_ja(rng, date)}、{did}を施行した。依頼目的：{p}。",
        f"{p}のため、{did}を施行した。",
        f"依頼目的は{p}。{did}を行った。",
    ))


def _story(rng: random.Random, c: _JCase, date: datetime.date) -> list[str]:
    """The report as a sequence of sentences, for the narrative and mixed styles."""
    s = [_intro(rng, c, date)] + [h[0] for h in c.history]
    if c.findings and rng.random() < 0.7:
        lead = rng.choice(("穿刺前CTでは、", "術前CTで", "", "CT上、"))
        lead = "" if "CT" in c.findings[0] else lead
        s += [lead + c.findings[0]] + c.findings[1:]
    s += _method_sentences(rng, c) + [x[0] for x in c.samples] + [n[0] for n in c.notes]
    s += [c.compl[0]] + [a[0] for a in c.after]
    if c.diagnosis:
        s.append(c.diagnosis)
    if c.plan and rng.random() < 0.6:
        s.append(c.plan)
    return s


def _paragraphs(rng: random.Random, sentences: list[str]) -> str:
    out, para = [], []
    for s in sentences:
        para.append(s)
        if len(para) >= 3 and rng.random() < 0.35:
            out.append("".join(para))
            para = []
    if para:
        out.append("".join(para))
    return "\n".join(out)


def _render_narrative(rng: random.Random, c: _JCase, date: datetime.date) -> str:
    text = _paragraphs(rng, _story(rng, c, date))
    if rng.random() < 0.5:
        text = _polite(text)
    if rng.random() < 0.4:
        text += f"\n文責：{_operator_text(rng, c)}"
    return text


def _render_mixed(rng: random.Random, c: _JCase, date: datetime.date) -> str:
    s = _story(rng, c, date)
    if rng.random() < 0.4:
        s = [s[0]] + [x for x in s[1:] if not x.startswith(("体位", "文書", "皮膚", "穿刺部を"))]
    if rng.random() < 0.4:
        s.insert(0, rng.choice(("Indication: ", "Dx: ", "目的：", "# ")) + c.purpose[0])
    sep = rng.choice((" ", "", "\n"))
    return _englishize(rng, sep.join(_taigen(x) for x in s))


def _date_short(rng: random.Random, d: datetime.date) -> str:
    era = f"H{d.year - 1988}" if d < datetime.date(2019, 5, 1) else f"R{d.year - 2018}"
    return rng.choice((f"{d.year}/{d.month}/{d.day}",
                       f"{d.year % 100:02d}.{d.month:02d}.{d.day:02d}",
                       f"{era}.{d.month}.{d.day}", f"{d:%Y%m%d}"))


def _render_terse(rng: random.Random, c: _JCase, date: datetime.date) -> str:
    head = [c.title[1], c.target[1]]
    if rng.random() < 0.5:
        head.insert(0, _date_short(rng, date))
    mid = [c.purpose[1]] if rng.random() < 0.5 else []
    mid += [h[1] for h in c.history]
    if rng.random() < 0.3:
        mid.insert(0, c.age_sex[1])
    tech = [c.position.replace("位", "")] if rng.random() < 0.4 else []
    if rng.random() < 0.3:
        tech.append(c.la[1])
    tech += [x[1] for x in c.steps + c.samples + c.notes]
    tail = [c.compl[1]] + [a[1] for a in c.after]
    if rng.random() < 0.3:
        tail.append(f"術者 {c.operator[0]}")
    groups = [[b for b in g if b] for g in (head, mid, tech, tail)]
    sep = rng.choice((" ", "　", " / ", "、", " "))
    if rng.random() < 0.5:
        text = sep.join(b for g in groups for b in g)
    else:
        text = "\n".join(sep.join(g) for g in groups if g)
    return _width_mix(rng, text)


_RENDER = {
    "ja_structured": _render_structured,
    "ja_terse": _render_terse,
    "ja_narrative": _render_narrative,
    "ja_mixed": _render_mixed,
}


# Older RIS exports are telegraphic; templated structured reports arrive later.
_JA_STYLE_ERA_WEIGHTS = {"ja_terse": (1.6, 0.8), "ja_structured": (0.9, 1.4)}


def _ja_text(rng: random.Random, label: int, hard: str, age: int, sex: str,
             date: datetime.date, styles: tuple[str, ...]) -> tuple[str, str]:
    case = _build_case(rng, label, hard, age, sex)
    style = _style_by_era(rng, date.year, styles, _JA_STYLE_ERA_WEIGHTS)
    return _tidy(_RENDER[style](rng, case, date)), style


# ------------------------------------------------------------------------ assembly


def generate_japanese_cohort(seed: int = 2025) -> list[CohortRow]:
    """The 1605-patient study cohort written in Japanese house styles.

    Same design as ``cohort.generate_cohort``: chronological train/validation/test splits
    with exactly ``STUDY_COUNTS`` per split and category, unique patients, hard cases.
    """
    # "JPT-" keeps Japanese patients apart from English ones ("PT-") in a shared project.
    return _cohort_rows(random.Random(seed), _ja_text, JA_STYLES, accession_prefix="JIR",
                        pid_prefix="JPT-")


def generate_japanese_reports(
    n: int, seed: int, *, styles: list[str] | None = None,
    start: datetime.date = COHORT_START, end: datetime.date = COHORT_END,
) -> list[CohortRow]:
    """``n`` extra Japanese reports, study-like category mix, split "unassigned", by date."""
    chosen = _chosen_styles(styles, JA_STYLES)
    # "JPE-": a random id must not hit a cohort patient of the other sex when both are seeded.
    return _extra_rows(random.Random(seed), n, _ja_text, chosen, start=start, end=end,
                       accession_prefix="JEXT", digits=max(6, len(str(n))), pid_prefix="JPE-")


def _rewrite_in_japanese(rows: list[CohortRow], seed: int, share: float) -> list[CohortRow]:
    """Rewrite each row in Japanese with probability ``share``, keeping its case slot.

    Keeping the English row's split, label, hard case, date and patient means the split and
    category counts stay exact whatever the share; the "J" prefix keeps accessions unique.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError("japanese_share must be between 0 and 1")
    rng = random.Random(f"ja-mixed-{seed}")
    out = []
    for r in rows:
        if rng.random() < share:
            text, style = _ja_text(rng, r.label, r.hard_case, r.age, r.sex, r.procedure_date,
                                   JA_STYLES)
            r = dataclasses.replace(r, accession="J" + r.accession, text=text, style=style)
        out.append(r)
    return out


def generate_mixed_cohort(seed: int = 2025, japanese_share: float = 0.5) -> list[CohortRow]:
    """The 1605-row study design, each row in Japanese with probability ``japanese_share``."""
    return _rewrite_in_japanese(generate_cohort(seed), seed, japanese_share)


def generate_mixed_reports(
    n: int,
    seed: int,
    japanese_share: float = 0.5,
    *,
    start: datetime.date = COHORT_START,
    end: datetime.date = COHORT_END,
) -> list[CohortRow]:
    """Like ``cohort.generate_reports``; each report in Japanese with that probability."""
    return _rewrite_in_japanese(generate_reports(n, seed, start=start, end=end), seed,
                                japanese_share)

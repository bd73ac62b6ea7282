"""Held-out Japanese report styles: a proxy for Japanese hospitals' reports, evaluation only.

Why: the classifier is trained on ``ctir_demo.cohort`` reports and reads medical concepts
through a hand-written vocabulary. A Japanese test set built from that same vocabulary
would only measure how well the vocabulary covers itself. This module was written
without looking at the training vocabulary or the cohort's Japanese generator: its
wording (RIS exports with 【】 headers, 手技記録 prose, ward handover memos, notes mixing
English anatomy into Japanese, ■/□ forms) comes from how Japanese radiology departments
write CT-guided procedure reports, with synonyms, kana/kanji variants, Fr/G notation and
full-width/half-width mixes. The drop from the cohort test split to these reports
estimates how far a model generalises beyond the words it was taught.

Rules kept here: every report renders one clinical case of ``cohort._build_case``, so the
label and the hard-case twist are the case's, never re-derived from the text; every key
fact of a hard case (complication managed, negation, abort, tissue actually sampled,
history of another category) is written out in Japanese, negations as なし, 認めず,
行わなかった, 留置せず, 中止 and the like. Nothing in ``cohort`` imports this module, so
the training data never see these styles.

Pure standard library; every random draw goes through one ``random.Random`` instance.
"""

from __future__ import annotations

import datetime
import random
import re
from collections.abc import Callable

from bench.heldout.unseen import held_out_reports
from ctir_demo.cohort import (
    CohortRow,
    _Case,
)

UNSEEN_JA_STYLES: tuple[str, ...] = (
    "ris_brackets",
    "procedure_record",
    "ward_memo",
    "mixed_english",
    "checkbox_form",
)

# ------------------------------------------------------------------ small helpers

_ZEN = str.maketrans("0123456789", "０１２３４５６７８９")
_CJK_SPACE_RE = re.compile(r"(?<=[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]) +"
                           r"|(?: +)(?=[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef])")


def _pick(rng: random.Random, *options: str) -> str:
    return rng.choice(options)


def _zenkaku(rng: random.Random, text: str, rate: float) -> str:
    """Full-width digits and capitals in some reports: old RIS terminals still write them."""
    if rng.random() >= rate:
        return text
    return re.sub(r"\bCT(?![A-Za-z])", "ＣＴ", text).translate(_ZEN)


def _side_ja(side: str) -> str:
    return {"right": "右", "left": "左"}.get(side, "")


def _num(pattern: str, text: str, default: str = "") -> str:
    m = re.search(pattern, text)
    return m.group(1) if m else default


# ------------------------------------------------------------ anatomy and lesions

_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "iva": "4a", "ivb": "4b", "v": "5",
          "vi": "6", "vii": "7", "viii": "8"}
_LOBE = {"right upper lobe": "右上葉", "right middle lobe": "右中葉", "right lower lobe": "右下葉",
         "left upper lobe": "左上葉", "left lower lobe": "左下葉", "lingula": "左舌区",
         "superior lingula": "左上葉S4", "inferior lingula": "左上葉S5"}
_LOBE_ABBR = {"RUL": "右上葉", "RML": "右中葉", "RLL": "右下葉", "LUL": "左上葉",
              "LLL": "左下葉"}
_SEGMENT = {("upper", "apical"): "S1", ("upper", "posterior"): "S2", ("upper", "anterior"): "S3",
            ("upper", "apicoposterior"): "S1+2", ("middle", "lateral"): "S4",
            ("middle", "medial"): "S5", ("lower", "superior"): "S6",
            ("lower", "medial basal"): "S7", ("lower", "anterior basal"): "S8",
            ("lower", "lateral basal"): "S9", ("lower", "posterior basal"): "S10"}

# Ordered: longer phrases first. Values are Japanese; a tuple offers synonyms.
_TERMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # collections
    (r"infected walled-off necrosis", ("感染性被包化壊死(WON)",)),
    (r"walled-off necrosis", ("被包化壊死", "WON")),
    (r"infected hepatic cyst", ("感染性肝嚢胞", "感染肝のう胞")),
    (r"loculated pleural effusion", ("被包化胸水", "限局性胸水貯留")),
    (r"loculated ascites", ("被包化腹水", "限局性腹水")),
    (r"peripancreatic collection", ("膵周囲液体貯留", "膵周囲の液貯留")),
    (r"pancreatic collection", ("膵液貯留",)),
    (r"perinephric abscess", ("腎周囲膿瘍",)),
    (r"psoas abscess", ("腸腰筋膿瘍",)),
    (r"appendiceal abscess", ("虫垂周囲膿瘍", "虫垂炎後膿瘍")),
    (r"subphrenic abscess", ("横隔膜下膿瘍",)),
    (r"perianastomotic abscess", ("吻合部周囲膿瘍",)),
    (r"pelvic abscess", ("骨盤内膿瘍", "骨盤腔膿瘍")),
    (r"liver abscess|hepatic abscess", ("肝膿瘍",)),
    (r"renal abscess", ("腎膿瘍",)),
    (r"splenic abscess", ("脾膿瘍",)),
    (r"lung abscess", ("肺膿瘍",)),
    (r"abscess", ("膿瘍",)),
    (r"empyema", ("膿胸",)),
    (r"biloma", ("ビローマ", "胆汁嚢腫")),
    (r"urinoma", ("尿嚢腫", "ウリノーマ")),
    (r"lymphocele", ("リンパ嚢腫", "リンパ瘤")),
    (r"seroma", ("漿液腫", "セローマ")),
    (r"haematoma|hematoma", ("血腫",)),
    (r"collection", ("液体貯留", "液貯留")),
    (r"simple cyst", ("単純性嚢胞", "単純嚢胞")),
    (r"cyst", ("嚢胞", "のう胞")),
    # lung
    (r"part-solid nodule", ("部分充実型結節", "part-solid GGN")),
    (r"subsolid nodule", ("すりガラス成分を伴う結節", "亜充実性結節")),
    (r"ground-glass nodule", ("すりガラス結節", "GGN")),
    (r"spiculated nodule", ("スピキュラを伴う結節", "棘状突起を伴う結節")),
    (r"solid nodule", ("充実性結節", "ソリッド結節")),
    (r"cavitating lesion", ("空洞を伴う病変", "空洞性病変")),
    (r"irregular opacity", ("不整形陰影", "不整な結節影")),
    (r"area of consolidation", ("浸潤影", "コンソリデーション")),
    (r"consolidation", ("浸潤影",)),
    (r"lung mass", ("肺腫瘤",)),
    (r"nodule", ("結節",)),
    # soft tissue
    (r"pancreatic head", ("膵頭部",)),
    (r"pancreatic body", ("膵体部",)),
    (r"pancreatic tail", ("膵尾部",)),
    (r"pancreatic uncinate process", ("膵鉤部",)),
    (r"interpolar region", ("中部", "中極")),
    (r"upper pole", ("上極",)),
    (r"lower pole", ("下極",)),
    (r"kidney", ("腎",)),
    (r"adrenal", ("副腎",)),
    (r"splenic", ("脾",)),
    (r"spleen", ("脾臓",)),
    (r"liver", ("肝",)),
    (r"omental cake", ("大網ケーキ", "omental cake")),
    (r"omentum|omental", ("大網",)),
    (r"mesenteric|mesentery", ("腸間膜",)),
    (r"peritoneal|peritoneum", ("腹膜",)),
    (r"retroperitoneal", ("後腹膜",)),
    (r"soft-tissue mass", ("軟部腫瘤", "軟部組織腫瘤")),
    (r"soft-tissue", ("軟部",)),
    (r"intramuscular mass", ("筋肉内腫瘤", "筋内腫瘤")),
    (r"subcutaneous nodule", ("皮下結節",)),
    (r"subcutaneous", ("皮下",)),
    (r"adductor compartment", ("内転筋群",)),
    (r"psoas muscle", ("腸腰筋",)),
    (r"paraspinal muscles?", ("傍脊柱筋",)),
    (r"vastus lateralis", ("外側広筋",)),
    (r"gluteus \w+", ("殿筋",)),
    (r"buttock", ("殿部", "臀部")),
    (r"thigh", ("大腿部",)),
    (r"axillary", ("腋窩",)),
    (r"inguinal", ("鼠径", "そけい")),
    (r"common iliac", ("総腸骨",)),
    (r"external iliac", ("外腸骨",)),
    (r"internal iliac", ("内腸骨",)),
    (r"para-aortic", ("傍大動脈", "大動脈周囲")),
    (r"retrocrural", ("横隔膜脚後部",)),
    (r"supraclavicular", ("鎖骨上窩",)),
    (r"mesorectal", ("直腸間膜",)),
    (r"mediastinal lymph node", ("縦隔リンパ節",)),
    (r"mediastinal mass", ("縦隔腫瘤",)),
    (r"anterior mediastinal", ("前縦隔",)),
    (r"mediastinal|mediastinum", ("縦隔",)),
    (r"lymph nodes?", ("リンパ節",)),
    (r"pleural mass", ("胸膜腫瘤",)),
    (r"extraosseous", ("骨外性", "骨外")),
    (r"sacral ala", ("仙骨翼",)),
    (r"sternal body", ("胸骨体",)),
    (r"porta hepatis", ("肝門部",)),
    (r"aortocaval", ("大動脈下大静脈間",)),
    (r"paracolic gutter", ("傍結腸溝",)),
    (r"AP window", ("大動脈肺動脈窓",)),
    (r"subcarinal", ("気管分岐下",)),
    (r"paratracheal", ("気管傍",)),
    (r"hilar", ("肺門",)),
    (r"spiculated", ("スピキュラを伴う", "辺縁不整な")),
    (r"anterior abdominal wall", ("前腹壁",)),
    (r"abdominal wall", ("腹壁",)),
    (r"flank", ("側腹部",)),
    (r"back", ("背部",)),
    (r"nodular pleural thickening", ("結節状胸膜肥厚",)),
    (r"pleural thickening", ("胸膜肥厚",)),
    (r"chest wall", ("胸壁",)),
    (r"hypoattenuating|hypodense|low-attenuation", ("低吸収", "低濃度")),
    (r"hypovascular", ("乏血性",)),
    (r"hypervascular|arterially enhancing", ("多血性",)),
    (r"ring-enhancing", ("リング状増強を示す", "辺縁増強を伴う")),
    (r"heterogeneous", ("不均一な",)),
    (r"necrotic", ("壊死を伴う",)),
    (r"infiltrative", ("浸潤性",)),
    (r"enlarged", ("腫大", "腫大した")),
    (r"solid mass", ("充実性腫瘤",)),
    (r"solid lesion", ("充実性病変",)),
    (r"focal lesion", ("限局性病変", "局所病変")),
    (r"solid", ("充実性",)),
    (r"mass", ("腫瘤",)),
    # bone
    (r"mixed lytic-sclerotic lesion", ("溶骨・硬化混在性病変", "混合型骨病変")),
    (r"expansile lytic lesion", ("膨張性溶骨性病変",)),
    (r"lytic lesion", ("溶骨性病変", "骨融解像")),
    (r"sclerotic lesion", ("硬化性病変", "造骨性病変")),
    (r"marrow-replacing lesion", ("骨髄置換性病変",)),
    (r"lesion with cortical destruction", ("皮質破壊を伴う病変",)),
    (r"posterior elements", ("後方要素",)),
    (r"vertebral body", ("椎体",)),
    (r"pedicle", ("椎弓根",)),
    (r"femoral shaft", ("大腿骨骨幹部",)),
    (r"femoral neck", ("大腿骨頸部",)),
    (r"proximal femur", ("大腿骨近位",)),
    (r"distal femur", ("大腿骨遠位",)),
    (r"proximal humerus", ("上腕骨近位",)),
    (r"proximal tibia", ("脛骨近位",)),
    (r"superior pubic ramus", ("恥骨上枝",)),
    (r"inferior pubic ramus", ("恥骨下枝",)),
    (r"posterior iliac crest", ("後腸骨稜",)),
    (r"iliac crest", ("腸骨稜",)),
    (r"iliac wing", ("腸骨翼",)),
    (r"iliac bone", ("腸骨",)),
    (r"acetabulum", ("寛骨臼",)),
    (r"ischium", ("坐骨",)),
    (r"scapula", ("肩甲骨",)),
    (r"manubrium", ("胸骨柄",)),
    (r"sternum|sternal", ("胸骨",)),
    (r"sacrum", ("仙骨",)),
    (r"occipital bone", ("後頭骨",)),
    (r"parietal bone", ("頭頂骨",)),
    (r"frontal bone", ("前頭骨",)),
    (r"calvarium", ("頭蓋冠",)),
    (r"clavicle", ("鎖骨",)),
    (r"disc and adjacent endplates", ("椎間板および隣接終板",)),
    (r"disc", ("椎間板",)),
    (r"lesion", ("病変",)),
    (r"right", ("右",)),
    (r"left", ("左",)),
    (r"bilateral", ("両側",)),
)
# One alternation, longest phrases first, so that one pass never re-translates its own
# output ("part-solid GGN" must not become "part-充実性GGN").
_TERM_RE = re.compile(r"\b(?:" + "|".join(f"({p})" for p, _ in _TERMS) + r")\b", re.I)
_RIB_RE = re.compile(r"\b(right |left )?(\d+)(?:st|nd|rd|th) rib\b", re.I)
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?(?: ?x ?\d+(?:\.\d+)?)? ?(?:cm|mm))\s*")


def _lung_place(text: str) -> str:
    """"apicoposterior segment of the left upper lobe" -> "左上葉S1+2"."""
    m = re.search(r"(?:the )?([a-z ]+?) segment of the ((?:right|left) (upper|middle|lower) lobe)",
                  text)
    if m:
        seg = _SEGMENT.get((m.group(3), m.group(1).strip()), "")
        return _LOBE[m.group(2)] + seg
    for name in sorted(_LOBE, key=len, reverse=True):
        if name in text:
            return _LOBE[name]
    return ""


def _translate(rng: random.Random, text: str) -> str:
    """English anatomy/lesion phrase -> Japanese, reordered "X of/in the Y" -> "YのX"."""
    text = text.strip().rstrip(".")
    if " of the " in text and not re.search(r"segment of the|lobe", text):
        head, tail = text.split(" of the ", 1)
        return _translate(rng, tail) + _translate(rng, head)
    text = _RIB_RE.sub(lambda m: f"{_side_ja((m.group(1) or '').strip())}第{m.group(2)}肋骨",
                       text)
    text = re.sub(r"\bliver segment (\w+)\b",
                  lambda m: "肝S" + _ROMAN.get(m.group(1).lower(), m.group(1)), text)
    text = re.sub(r"\((?:station )?(\d+[RL]?)\)", r"(#\1)", text)
    text = _TERM_RE.sub(lambda m: rng.choice(_TERMS[m.lastindex - 1][1]), text)
    text = re.sub(r"\b(?:the|an?|in|of|with)\b", " ", text)
    return _CJK_SPACE_RE.sub("", re.sub(r" {2,}", " ", text)).strip()


def _size_ja(size: str) -> str:
    s = size.replace(" x ", "×").replace("x", "×").replace(" ", "")
    return s


def _target_ja(rng: random.Random, c: _Case) -> str:
    """The case's target in Japanese word order: place first, then size and lesion."""
    m = _SIZE_RE.match(c.target)
    size = _size_ja(m.group(1)) if m else ""
    rest = c.target[m.end():] if m else c.target
    place = _lung_place(rest)
    parts = re.split(r" (?:in|within|at|arising from) (?:the )?", rest, maxsplit=1)
    lesion = parts[0]
    if place:
        lesion = re.sub(r"\b(?:in|of) the .*$", "", lesion)
        lesion = re.sub(r"\b(?:superior |inferior )?lingula\b|\b(?:right|left) \w+ lobe\b", "",
                        lesion)
        where = place
    elif len(parts) == 2:
        where = _translate(rng, parts[1])
    else:
        where = ""
    invading = "invading the chest wall" in lesion
    what = _translate(rng, lesion.replace("invading the chest wall", ""))
    if invading:
        what = _pick(rng, "胸壁浸潤を伴う", "胸壁へ浸潤する") + what
    if size:
        what = f"{size}{_pick(rng, '大の', 'の', '大の')}{what}"
    return f"{where}の{what}" if where else what


# --------------------------------------------------------------------- case facts


def _aspiration_only(c: _Case) -> bool:
    """Needle aspiration, no catheter left (a cyst's catheter is removed after sclerosis)."""
    return c.label == 1 and "pigtail" not in c.device


def _device_ja(rng: random.Random, c: _Case) -> str:
    d = c.device
    fr = _num(r"(\d+) ?Fr", d)
    g = re.findall(r"(\d+)G", d)
    if "pigtail" in d:
        how = ""
        if "Seldinger" in d:
            how = _pick(rng, "（セルジンガー法）", "(Seldinger法)", "、ガイドワイヤー下")
        elif "trocar" in d:
            how = _pick(rng, "（トロッカー法）", "(trocar法)", "、ワンステップ法")
        kind = _pick(rng, "ピッグテールカテーテル", "pigtailカテーテル", "ドレナージカテーテル")
        return f"{fr}{_pick(rng, 'Fr', 'Fr', 'F')}{kind}{how}"
    if "Fr catheter" in d and g:
        return f"{g[0]}G穿刺針／{fr}Frカテーテル"
    if "needle" in d and "bone" not in d and g:
        return f"{g[0]}G{_pick(rng, '穿刺針', '穿刺針', 'エラスター針', 'PTCD針')}"
    if "coaxial" in d and len(g) >= 2:
        core = _pick(rng, "生検針", "コア生検針", "セミオート生検針", "自動生検針")
        brand = _num(r"\dG ([A-Z][A-Za-z ]+)$", d)
        brand = f"（{brand}）" if brand else ""
        return f"{g[0]}G{_pick(rng, '同軸針', 'コアキシャル針', '外套針')}＋{g[1]}G{core}{brand}"
    if "FNA" in d and g:
        return f"{g[0]}G{_pick(rng, '細径穿刺針', 'FNA針', '吸引細胞診針')}" + (
            "（Chiba針）" if "Chiba" in d else "")
    if "core" in d and g:
        return f"{g[0]}G{_pick(rng, '生検針', 'コア生検針')}"
    if g:  # bone needles
        brand = re.sub(r"\s*\d+G\s*", " ", d).strip()
        kind = _pick(rng, "骨生検針", "骨生検針", "骨髄生検針") if "drill" not in brand else \
            _pick(rng, "骨用ドリル", "電動ドリル式骨生検針")
        brand = "" if brand in ("bone needle", "drill") else f"（{brand}）"
        return f"{g[0]}G{kind}{brand}"
    return d


_FLUIDS = (
    (r"foul-smelling pus", "悪臭を伴う膿"), (r"thick pus", "粘稠な膿"),
    (r"purulent material", "膿性内容物"), (r"purulent fluid", "膿性排液"), (r"pus", "膿"),
    (r"brown turbid", "茶褐色混濁液"), (r"turbid", "混濁液"), (r"cloudy", "白濁した液体"),
    (r"clear serous", "淡黄色透明な漿液"), (r"serous", "漿液性排液"),
    (r"straw-coloured", "淡黄色の液体"), (r"clear yellow", "黄色透明な液体"),
    (r"necrotic debris", "壊死物質を含む液体"), (r"blood-stained", "血性排液"),
    (r"altered blood|old blood", "陳旧性血液"), (r"haemorrhagic", "血性排液"),
    (r"bil(?:ious|e-stained)", "胆汁様排液"), (r"clear", "透明な液体"),
)


def _fluid_ja(text: str) -> str:
    for pattern, ja in _FLUIDS:
        if re.search(pattern, text, re.I):
            return ja
    return "排液"


def _sample_ja(rng: random.Random, c: _Case) -> str:
    s = c.sample_short
    if not c.sample or s in ("no samples", "not sampled", "no cores", "not drained"):
        return ""
    if c.hard == "bone_marrow":
        return _pick(rng, "骨髄吸引塗抹標本および骨髄生検（トレフィン）2cm",
                     "骨髄液吸引＋骨髄生検1本")
    if c.hard == "spondylodiscitis":
        return _pick(rng, "椎間板組織・終板骨片を採取し培養・病理へ提出",
                     "椎間板および終板から検体採取、細菌培養と病理組織検査に提出")
    vol = _num(r"(\d+) ?mL", s)
    if vol:
        fluid = _fluid_ja(s)
        extra = _pick(rng, "、培養提出", "、細菌培養・グラム染色へ提出", "（培養検査へ）", "")
        if c.hard == "cyst_sclerotherapy":
            agent = _agent_ja(s)
            return f"淡黄色透明液{vol}mLを吸引（細胞診提出）、{agent}による硬化療法"
        return f"{fluid}{vol}mL{_pick(rng, 'を吸引', '排出', '吸引')}{extra}"
    n = _num(r"(\d+)", s, "2")
    if "FNA" in s:
        where = _pick(rng, "細胞診提出", "迅速細胞診(ROSE)実施")
        flow = "、フローサイトメトリー提出" if "flow" in s else ""
        return f"FNA {n}{_pick(rng, '回穿刺', 'パス')}、{where}{flow}"
    out = f"{_pick(rng, 'コア検体', '組織片', '生検組織')}{n}本{_pick(rng, '採取', '採取', '取得')}"
    if "flow" in s:
        out += "、一部をフローサイトメトリーへ"
    return out + _pick(rng, "（ホルマリン固定）", "、病理提出", "")


def _pick_ethanol(text: str) -> str:
    return "エタノール" if "ethanol" in text else "無水エタノール"


def _agent_ja(text: str) -> str:
    if "polidocanol" in text:
        return "ポリドカノール"
    if "tetracycline" in text:
        return "テトラサイクリン"
    if "96%" in text:
        return "96%エタノール"
    return _pick_ethanol(text)


_HISTORY_BG = (
    (r"apixaban", ("アピキサバンは48時間前より休薬", "抗凝固薬（エリキュース）48h休薬済み")),
    (r"diabetes", ("2型糖尿病、高血圧", "DM、HT")),
    (r"^COPD", ("COPD", "慢性閉塞性肺疾患")),
    (r"smoker", ("喫煙歴あり（元喫煙者）、第一度近親者に肺癌の家族歴",
                 "ex-smoker、家族歴：肺癌（一親等）")),
    (r"Osteoporosis", ("骨粗鬆症、陳旧性椎体圧迫骨折あり", "骨粗しょう症（陳旧性圧迫骨折）")),
    (r"kidney disease", ("CKD stage 3", "慢性腎臓病G3")),
    (r"Platelets", ("血小板・PT-INRは基準範囲内", "凝固系問題なし")),
)


def _background_ja(rng: random.Random, c: _Case) -> str:
    for pattern, options in _HISTORY_BG:
        if c.history and re.search(pattern, c.history):
            return rng.choice(options)
    return ""


_COMPL_JA: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"chest drain kit was kept on standby", ("胸腔ドレーンを準備したが使用せず",
                                             "胸腔ドレナージセットは待機させたが不使用")),
    (r"chest drain (?:not needed|was required)|no chest drain", (
        "胸腔ドレーン留置は不要であった", "胸腔ドレナージは行わなかった")),
    (r"^(?:moderate|enlarging|large) pneumothorax|enlarging pneumothorax", ()),
    (r"minimal pneumothorax", ("肺尖部に1cm未満の微少気胸、経過観察とした",
                               "わずかな気胸あり、保存的に経過観察")),
    (r"small apical pneumothorax", ("肺尖部に少量の気胸あり、処置不要",
                                    "軽度の気胸を認めたが治療は要さず")),
    (r"tiny pneumothorax", ("ごく少量の気胸、再撮影で増大なし", "微量気胸あり、増悪なし")),
    (r"small pneumothorax, no treatment", ("少量の気胸あり、処置は不要",
                                           "軽度気胸、経過観察のみ")),
    (r"^no pneumothorax|no pneumothorax, no haemorrhage", (
        "術後CTで気胸・出血なし", "気胸は認めず", "気胸(-)")),
    (r"perilesional haemorrhage", ("穿刺経路に沿った軽度の肺胞出血", "病変周囲に軽度の肺出血あり")),
    (r"haemoptysis", ("一過性の少量喀血あり、穿刺側を下にした体位で改善",
                      "少量の血痰あり、患側下臥位で消失")),
    (r"subcapsular haematoma", ("被膜下血腫あり、遅延相で増大なし", "被膜下に小血腫、経過観察")),
    (r"small haematoma was seen", ("小血腫あり、遅延撮影で増大なし", "少量の血腫を認めたが安定")),
    (r"no haematoma", ("術後CTで血腫なし", "血腫形成を認めず")),
    (r"small haematoma at the puncture", ("穿刺部に小血腫、圧迫で対応",
                                          "刺入部皮下血腫、用手圧迫")),
    (r"vasovagal", ("迷走神経反射あり、補液と下肢挙上で回復", "VVR出現も補液にて速やかに改善")),
    (r"minor bleeding at the skin", ("刺入部から少量出血、圧迫止血",
                                     "皮膚刺入部の軽度出血、圧迫で止血")),
    (r"transient rigors", ("術後に一過性の悪寒戦慄、解熱剤で対応",
                           "シバリングあり、解熱鎮痛薬投与")),
    (r"catheter coiled", ("確認CTでカテーテル先端は腔内でループを形成",
                          "カテーテルは腔内にコイル状に留置")),
    (r"local pain", ("穿刺部痛あり、内服鎮痛薬で対応", "刺入部の疼痛、鎮痛薬内服で軽快")),
    (r"perihepatic haematoma", ("術後CTで肝周囲血腫と持続的なoozingを認めた",
                                "生検後、肝周囲に血腫形成、じわじわとした出血が持続")),
    (r"small pneumothorax after the rib biopsy", (
        "肋骨生検後に少量の気胸、確認CTで増大", "生検後に気胸出現、再撮影で拡大傾向")),
    (r"aspirate turned blood-stained", ("吸引液が血性に変化、確認CTで小血腫を認めた",
                                        "途中から血性吸引となり、CTで少量の血腫")),
    (r"haemorrhagic output after insertion", ("留置後に血性排液、CTでカテーテル周囲に小血腫",
                                              "挿入後より血性の排液あり、周囲に少量血腫")),
    (r"^(?:no |uncomplicated|uneventful|the patient tolerated)", (
        "合併症なし", "特記すべき合併症なし", "明らかな合併症は認めず", "偶発症なし")),
)
_COMPL_RES = tuple((re.compile(p, re.I), v) for p, v in _COMPL_JA)


def _compl_ja(rng: random.Random, c: _Case) -> list[str]:
    out = []
    for sentence in c.compl:
        low = sentence.lower()
        if re.search(r"^(?:moderate|enlarging|large) pneumothorax|enlarging pneumothorax", low):
            grade = ("大量の気胸（SpO2低下を伴う）" if "large" in low.split()[0] else
                     _pick(rng, "中等度の気胸", "中等量の気胸"))
            out.append(f"{_pick(rng, '生検後', '手技中', '術後CT')}に{grade}が出現")
            continue
        for rx, options in _COMPL_RES:
            if options and rx.search(sentence):
                out.append(rng.choice(options))
                break
        else:
            out.append(sentence)  # never drop a fact we cannot word
    return out


_YEAR_RE = r"((?:19|20)\d\d)"
# The first complication sentence says nothing happened (a form ticks "なし").
_NO_EVENT_RE = re.compile(r"^(?:no |uncomplicated|uneventful|the patient tolerated|"
                          r"post-[a-z]+ ct: no)", re.I)


def _key_ja(rng: random.Random, c: _Case, full: str) -> str:
    """A hard-case key fact in Japanese. Unknown facts are kept as written, never dropped."""
    f = full
    fr = _num(r"(\d+) ?Fr", f, "8")
    year = _num(_YEAR_RE, f)
    rules: list[tuple[str, Callable[[], str]]] = [
        # complication managed
        (r"chest drain was inserted under CT|chest tube was placed|Pneumothorax drained with",
         lambda: _pick(rng, f"CTガイド下に{fr}Fr胸腔ドレーンを挿入し、肺の再膨張を確認した",
                       f"{fr}Frトロッカーカテーテルを胸腔内に留置、脱気良好",
                       f"気胸に対し{fr}Frの胸腔ドレーンを留置した")),
        (r"drain was left in the perihepatic|drain was placed in the haematoma",
         lambda: _pick(rng, "出血のモニタリング目的に肝周囲へドレーンを留置した",
                       "血腫内に8Frドレーンを留置し、出血量を観察する方針とした")),
        (r"8 Fr (?:chest|pleural) drain", lambda: _pick(
            rng, "8Fr胸腔ドレーンを挿入した", "細径(8Fr)胸腔ドレーンを留置し気胸を治療")),
        (r"Bleeding settled with compression; no drain",
         lambda: _pick(rng, "圧迫で止血が得られ、ドレーンは留置しなかった",
                       "用手圧迫にて出血は落ち着き、ドレーン留置せず終了")),
        (r"catheter was clamped for 2 hours",
         lambda: _pick(rng, "カテーテルを2時間クランプし、排液は清明化した",
                       "2時間クランプ後、排液の血性は消失")),
        # tissue actually sampled
        (r"subpleural and abuts the pleura|Broad pleural contact",
         lambda: _pick(rng,
                       "病変は胸膜下で胸膜に接するが主座は肺実質内であり、肺内部分から検体を採取",
                       "胸膜と広く接するが胸壁浸潤はなく、肺病変そのものから組織を採取した")),
        (r"extraosseous soft-tissue component, but the needle was deliberately",
         lambda: _pick(rng, "骨外軟部成分を伴うが、あえて皮質を貫通し髄内病変から採取した",
                       "軟部成分もあるが、骨皮質を穿通して骨髄内の病変を生検した")),
        (r"soft-tissue component infiltrating the chest wall",
         lambda: _pick(rng, "胸壁に浸潤する軟部成分のみから組織を採取し、含気肺は穿刺していない",
                       "採取は胸壁浸潤部の軟部組織に限定、肺実質は経由せず")),
        (r"cortex was not traversed|cortex was not breached",
         lambda: _pick(rng, "骨皮質は貫通せず、骨外の軟部成分を軟部用生検針で採取した",
                       "骨外に突出した軟部腫瘤部分のみを生検、骨生検針は使用せず皮質は穿破していない")),
        (r"tangentially from the|underlying lung was not biopsied",
         lambda: _pick(rng, "胸膜病変を接線方向に穿刺して採取、含気肺は通過していない",
                       "胸膜病変から組織採取、その下の肺は生検していない")),
        (r"transpulmonary route|traversed the \w+ lung parenchyma",
         lambda: _pick(rng, f"リンパ節到達のため{_lobe_in(f)}の肺実質を経由する経肺ルートとなった",
                       f"穿刺経路は{_lobe_in(f)}を通過（経肺的アプローチ）")),
        # lung abscess
        (r"No biopsy of the cavity wall",
         lambda: _pick(rng, "空洞壁の生検は行わなかった", "膿瘍壁からの組織採取はせず")),
        # biopsy and aspiration
        (r"cores were taken from the thickened wall|core biopsy of the wall",
         lambda: _pick(rng, "悪性除外のため、肥厚した壁から18G針で2本の組織も採取した",
                       "壁が不整結節状であり、排液後に壁の針生検も追加した")),
        (r"incidentally aspirated through the introducer",
         lambda: _pick(rng,
                       "病変中心は壊死性嚢胞状で、外套針から約5mLの液体が偶発的に吸引され細胞診へ提出",
                       "壊死部から少量（5mL程度）の液体が引けたため細胞診に提出")),
        (r"haemorrhagic fluid were aspirated from the necrotic part",
         lambda: _pick(rng,
                       "コア採取前に壊死部から数mLの血性液が吸引された。ドレーンは留置していない",
                       "壊死部より血性液を数mL吸引、その後組織採取。ドレナージチューブは入れず")),
        (r"fluid from the necrotic centre of the mass was aspirated",
         lambda: _pick(rng, "コア採取前に同軸針から腫瘤壊死部の液体を少量吸引した",
                       "腫瘤中心の壊死部から少量の液体が吸引されたのち組織を採取")),
        (r"cystic component of the bone lesion",
         lambda: _pick(rng, "骨病変の嚢胞成分から血性液2mLを吸引し、その後充実部をコア生検",
                       "嚢胞状部分より2mL血性吸引、続いて充実成分から骨生検")),
        # negation
        (r"Biopsy of the adjacent soft-tissue thickening was deferred",
         lambda: _pick(rng, "隣接する軟部肥厚の生検は今回見送り、液体貯留のみ" +
                       ("吸引した" if "aspirated" in f else "ドレナージした"),
                       "隣接軟部組織の生検は延期とし、貯留液の" +
                       ("穿刺吸引" if "aspirated" in f else "ドレナージ") + "を優先")),
        (r"Biopsy considered but not indicated",
         lambda: _pick(rng, "生検も検討したが適応なしと判断", "組織生検は適応外とした")),
        (r"No drain was left as the collection was aspirated",
         lambda: _pick(rng, "完全に吸引できたためドレーンは留置せず",
                       "全量吸引し、カテーテル留置は行わなかった")),
        (r"^No drain was left|drain was not required",
         lambda: _pick(rng, "ドレーン留置なし", "胸腔ドレーンは不要であった",
                       "ドレーンは留置していない")),
        (r"no chest tube was needed",
         lambda: _pick(rng, "気胸なく、胸腔チューブは必要なかった",
                       "気胸を認めず胸腔ドレナージは行わなかった")),
        (r"No fluid collection was found",
         lambda: _pick(rng, "液体貯留は認めず、ドレナージは施行しなかった",
                       "膿瘍腔は同定されず、ドレナージは行っていない")),
        (r"suspected abscess was a solid lesion",
         lambda: _pick(rng,
                       "膿瘍疑いとされたがCT上は充実性病変であり、ドレナージは試みず生検とした",
                       "膿瘍ではなく充実性腫瘤と判断、ドレナージは行わず組織生検に変更")),
        (r"No soft-tissue component and no abscess",
         lambda: _pick(rng, "軟部成分なし、ドレナージ対象の膿瘍も認めず",
                       "膿瘍形成や骨外進展はみられない")),
        (r"no lung involvement; the lesion is purely osseous",
         lambda: _pick(rng, "肺への進展はなく、病変は骨内に限局",
                       "肺病変なし、純粋な骨病変である")),
        # aborted
        (r"abandoned after placement of the introducer",
         lambda: _pick(rng, f"外套針留置後、{_reason_ja(f)}ため手技を中止した。検体は採取できず",
                       f"イントロデューサー挿入後、{_reason_ja(f)}ため中断、組織採取なし")),
        (r"No safe window was found",
         lambda: _pick(rng, "腸管・血管が介在し安全な穿刺経路が確保できず、採取前に生検を中止した",
                       "安全な穿刺ルートなし（腸管・血管が介在）、生検は施行せず終了")),
        (r"could not tolerate the prone position",
         lambda: _pick(rng, "腹臥位保持が困難で、骨皮質穿通前に骨生検を中止した",
                       "患者が腹臥位に耐えられず、皮質を貫く前に手技中止")),
        (r"collection had decreased to under 2 cm",
         lambda: _pick(rng, "術前CTで貯留は2cm未満に縮小しており、ドレナージは行わなかった",
                       "計画CTで液体貯留が2cm以下に縮小、ドレナージ不要と判断し施行せず")),
        (r"catheter could not be advanced safely",
         lambda: _pick(rng, "カテーテルを安全に進めることができず、ドレナージは中止した",
                       "安全なカテーテル挿入が困難でドレナージ中止")),
        # history of another category
        (r"History of lung adenocarcinoma; CT-guided lung biopsy",
         lambda: f"肺腺癌の既往あり、{year}年にCTガイド下肺生検"),
        (r"lung cancer treated with lobectomy",
         lambda: _pick(rng, "肺癌で肺葉切除後、今回新たな骨病変",
                       "肺癌術後（葉切除）、新規骨病変出現")),
        (r"drainage of a psoas abscess", lambda: f"{year}年に腸腰筋膿瘍ドレナージ歴あり"),
        (r"biopsy of a pancreatic mass",
         lambda: _num(r"(\d+) weeks", f, "数") + "週間前に膵腫瘤のCTガイド下生検"),
        (r"previous bone biopsy of L2",
         lambda: _pick(rng, "肺癌・多発骨転移で、以前L2の骨生検を施行",
                       "肺癌骨転移、L2骨生検の既往")),
        (r"Liver biopsy in", lambda: f"{year}年の肝生検で大腸癌肝転移と診断"),
        (r"drainage of a right empyema", lambda: f"{year}年に右膿胸に対しCTガイド下ドレナージ歴"),
        (r"Prostate cancer with sclerotic bone", lambda: "前立腺癌、造骨性骨転移あり"),
        (r"Adrenal biopsy in", lambda: f"{year}年の副腎生検は良性"),
        (r"Known lung cancer, previously biopsied",
         lambda: _pick(rng, "既知の肺癌（生検済み）、骨シンチ陰性",
                       "肺癌は既に組織診断済、骨シンチで集積なし")),
        (r"Pelvic abscess drained in", lambda: f"{year}年に骨盤内膿瘍ドレナージ"),
        (r"bone biopsy of T9 showed myeloma", lambda: "以前のT9骨生検で骨髄腫"),
        # cyst
        (r"^No biopsy was taken", lambda: _pick(rng, "生検は行っていない", "組織採取なし")),
    ]
    for pattern, write in rules:
        if re.search(pattern, f, re.I):
            return write()
    return full


def _lobe_in(text: str) -> str:
    for name in sorted(_LOBE, key=len, reverse=True):
        if name in text:
            return _LOBE[name]
    for abbr, ja in _LOBE_ABBR.items():
        if abbr in text:
            return ja
    return "肺"


def _reason_ja(text: str) -> str:
    if "coughing" in text:
        return "咳嗽が持続した"
    if "pneumothorax" in text:
        return "採取前に気胸が出現した"
    return "安静保持が困難であった"


def _keys_ja(rng: random.Random, c: _Case, slot: str) -> list[str]:
    return [_key_ja(rng, c, full) for s, full, _ in c.key if s == slot]


# ---------------------------------------------------------------------- narrative


def _procedure_noun(rng: random.Random, c: _Case) -> str:
    """What was requested, as a Japanese procedure name (the intended one when aborted)."""
    if c.hard == "cyst_sclerotherapy":
        return _pick(rng, "嚢胞穿刺吸引および硬化療法", "のう胞穿刺・エタノール硬化療法"
                     if "ethanol" in c.sample_short else "嚢胞穿刺吸引・硬化療法")
    if c.hard == "spondylodiscitis":
        return _pick(rng, "椎間板・終板生検（化膿性脊椎炎疑い）", "椎間板穿刺生検（脊椎炎疑い）")
    if c.hard == "bone_marrow":
        return _pick(rng, "骨髄穿刺・骨髄生検", "骨髄生検（トレフィン）")
    if c.label == 1:
        if _aspiration_only(c):
            return _pick(rng, "穿刺吸引", "経皮的穿刺吸引術", "穿刺排液")
        return _pick(rng, "経皮的ドレナージ", "ドレナージ術", "経皮的カテーテルドレナージ",
                     "ドレナージチューブ留置")
    if c.label == 3:
        return _pick(rng, "経皮的肺生検", "肺針生検", "経皮肺生検", "肺生検")
    if c.label == 4:
        return _pick(rng, "骨生検", "経皮的骨生検", "骨針生検")
    return _pick(rng, "針生検", "経皮的針生検", "生検", "組織生検")


def _title_ja(rng: random.Random, c: _Case, target: str) -> str:
    guide = _pick(rng, "CTガイド下", "CTガイド下", "CT下", "CT透視下", "ＣＴガイド下")
    joint = _pick(rng, "に対する", "の") if c.hard in ("cyst_sclerotherapy", "spondylodiscitis") \
        else _pick(rng, "に対する", "の", "")
    return f"{guide}{target}{joint}{_procedure_noun(rng, c)}"


_INDICATIONS = {
    1: ("発熱・炎症反応高値が持続", "抗菌薬不応", "感染巣のコントロール目的", "症状緩和目的",
        "起炎菌同定および排液目的"),
    2: ("悪性腫瘍疑い、確定診断目的", "転移の有無評価", "リンパ腫疑い", "組織型確認のため",
        "治療方針決定のため組織診断が必要"),
    3: ("原発性肺癌疑い", "増大傾向の結節、診断目的", "転移性肺腫瘍との鑑別",
        "遺伝子検査用の組織採取",
        "PET陽性結節の質的診断"),
    4: ("骨転移疑い", "多発性骨髄腫疑い", "原発性骨腫瘍の鑑別", "病的骨折、原因精査",
        "PET集積のある骨病変"),
}


def _indication_ja(rng: random.Random, c: _Case) -> str:
    ind = c.indication_short
    for pattern, ja in ((r"spondylodiscitis", "化膿性脊椎炎疑い、起炎菌同定"),
                        (r"lung abscess", "肺膿瘍、抗菌薬治療に反応不良"),
                        (r"symptomatic cyst", "有症状の嚢胞"), (r"BM staging", "骨髄評価目的"),
                        (r"EGFR", "遺伝子変異検索（EGFR/ALK/PD-L1）"), (r"myeloma", "骨髄腫疑い"),
                        (r"lymphoma", "悪性リンパ腫疑い"), (r"sarcoidosis", "サルコイドーシス疑い"),
                        (r"mesothelioma", "中皮腫疑い（アスベスト曝露歴）")):
        if re.search(pattern, ind, re.I):
            return ja
    return rng.choice(_INDICATIONS[c.label])


_SURNAMES = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
             "吉田", "山田", "松本", "井上", "木村", "清水", "林", "斎藤", "山口", "森")


def _doctor(rng: random.Random) -> str:
    return rng.choice(_SURNAMES)


def _position_ja(rng: random.Random, c: _Case) -> str:
    p = c.position
    if "prone" in p:
        return "腹臥位"
    if "supine" in p:
        return "仰臥位"
    if "oblique" in p:
        return "左前斜位"
    if "right lateral" in p:
        return "右側臥位"
    if "left lateral" in p:
        return "左側臥位"
    return _pick(rng, "側臥位", "側臥位") if p else ""


def _anaesthesia_ja(rng: random.Random, c: _Case) -> str:
    la = c.la_short
    pct = _num(r"(\d(?:\.\d)?)%", la)
    ml = _num(r"(\d+) ?m[lL]", la)
    local = "局所麻酔（" + (f"{pct}%キシロカイン" if pct else "キシロカイン") + (
        f" {ml}mL" if ml else "") + "）"
    sed = c.sedation_short
    if "GA" in sed:
        return "全身麻酔下"
    if "midaz" in sed:
        mg = _num(r"(\d(?:\.\d)?) ?mg", sed)
        return f"{local}＋ミダゾラム{mg}mg静注" if mg else f"{local}＋鎮静"
    return local if la else _pick(rng, "局麻下", "局所麻酔下")


def _dose_ja(c: _Case) -> str:
    dlp = _num(r"DLP (\d+)", c.dose_short)
    ctdi = _num(r"CTDIvol (\d+(?:\.\d+)?)", c.dose_short)
    out = f"DLP {dlp} mGy・cm" if dlp else ""
    return f"CTDIvol {ctdi} mGy、{out}" if ctdi and out else out


def _followup_ja(rng: random.Random, c: _Case) -> str:
    if c.hard == "aborted":
        return _pick(rng, "後日再検討", "再予約予定", "主科と方針を再相談")
    if c.hard == "cyst_sclerotherapy":
        return _pick(rng, "3か月後に超音波で再評価", "3ヶ月後US再検")
    if c.hard == "complication" and c.label == 3:
        return _pick(rng, "胸腔ドレーンは水封管理、連日胸部X線、入院継続",
                     "ドレーン管理（水封）、明朝胸部Xp")
    if c.hard == "complication" and c.label == 2:
        return _pick(rng, "4時間毎にHb確認、一晩ベッド上安静、外科へ連絡済み", "Hbフォロー、安静")
    if c.label == 1 and not _aspiration_only(c):
        return _pick(rng, "カテーテルは1日2回生食フラッシュ、排液量をチェック",
                     "自然排液、排液量・性状を観察", "ドレーン管理をお願いします、1日2回フラッシュ")
    if c.label == 3:
        return _pick(rng, "3時間後に胸部X線", "帰室後3時間安静、胸部Xpで気胸確認",
                     "2時間ベッド上安静")
    return _pick(rng, "穿刺部圧迫、2-4時間安静", "帰室後バイタル観察、安静4時間",
                 "病理結果は後日外来で")


def _findings_ja(rng: random.Random, c: _Case, target: str) -> str:
    if c.hard == "spondylodiscitis":
        lvl = _num(r"([TLS]\d+/(?:S)?\d+)", c.target)
        extra = ("、傍椎体に軽度の軟部腫脹あり（ドレナージ可能な膿瘍なし）"
                 if len(c.findings) > 1 else "")
        return f"{lvl}の終板びらんと椎間板腔狭小化を認める{extra}"
    if c.hard == "bone_marrow":
        return "後腸骨稜の形態に異常なし"
    if c.hard == "lung_abscess_drain":
        return f"{target}、壁肥厚を伴う空洞内に鏡面形成あり、胸膜と広く接する"
    return f"{target}を{_pick(rng, '認める', '確認', '同定', '再確認した')}"


def _facts(rng: random.Random, c: _Case) -> dict:
    """The case in Japanese pieces, drawn once so every style tells the same story."""
    target = _target_ja(rng, c)
    key_history = _keys_ja(rng, c, "history")
    history = [h for h in (_background_ja(rng, c), *key_history) if h]
    return {
        "target": target,
        "title": _title_ja(rng, c, target),
        "procedure": _procedure_noun(rng, c),
        "indication": _indication_ja(rng, c),
        "history": history,
        "key_history": key_history,
        "findings": _findings_ja(rng, c, target),
        "position": _position_ja(rng, c),
        "anaesthesia": _anaesthesia_ja(rng, c),
        "device": _device_ja(rng, c),
        "sample": _sample_ja(rng, c),
        "technique": _keys_ja(rng, c, "technique"),
        "compl": _compl_ja(rng, c),
        "outcome": _keys_ja(rng, c, "outcome"),
        "followup": _followup_ja(rng, c),
        "dose": _dose_ja(c),
        "doctor": _doctor(rng),
        "aborted": c.hard == "aborted",
        "no_event": not c.compl or bool(_NO_EVENT_RE.match(c.compl[0])),
    }


def _end(s: str) -> str:
    return s if not s or s[-1] in "。." else s + "。"


# ------------------------------------------------------------------------ styles


def _render_ris_brackets(rng: random.Random, c: _Case, f: dict, date: datetime.date) -> str:
    """A terse RIS export: 【】 headers, fragments, sometimes full-width digits."""
    date_s = _pick(rng, f"{date:%Y/%m/%d}", f"{date.year}年{date.month}月{date.day}日",
                   f"{date:%Y-%m-%d}", f"R{date.year - 2018}.{date.month}.{date.day}"
                   if date.year >= 2019 else f"H{date.year - 1988}.{date.month}.{date.day}")
    rows = [
        (_pick(rng, "検査名", "依頼手技", "実施手技"), f["title"]),
        ("検査日", date_s),
        (_pick(rng, "依頼目的", "臨床情報", "目的"), f["indication"]),
        (_pick(rng, "既往・背景", "既往歴"), "／".join(f["history"])),
        ("体位", f["position"]),
        ("麻酔", f["anaesthesia"]),
        (_pick(rng, "使用器材", "使用デバイス", "穿刺針"), f["device"]),
        ("所見", f["findings"]),
        ("手技", "。".join([*f["technique"]]) or ""),
        (_pick(rng, "検体", "採取検体", "提出検体"), f["sample"] or "なし"),
        (_pick(rng, "合併症", "偶発症"), "、".join(f["compl"] + f["outcome"])),
        ("被ばく", f["dose"]),
        ("指示", f["followup"]),
        (_pick(rng, "施行医", "担当医", "術者"), f["doctor"]),
    ]
    sep = _pick(rng, "\n", "\n", " ")
    text = sep.join(f"【{k}】{v}" for k, v in rows if v)
    return _zenkaku(rng, text, 0.25)


def _render_procedure_record(rng: random.Random, c: _Case, f: dict, date: datetime.date) -> str:
    """A formal 手技記録 in prose, である調 or ですます調."""
    polite = rng.random() < 0.5

    def past(stem_plain: str, stem_polite: str) -> str:
        return stem_polite if polite else stem_plain

    done = past("施行した", "施行しました")
    s = [f"{date.year}年{date.month}月{date.day}日、{c.age}歳{'女性' if c.sex == 'F' else '男性'}。"
         f"{_pick(rng, '依頼目的：', '依頼目的は', '')}{f['indication']}。{f['title']}を"
         f"{past('依頼された', '依頼されました') if f['aborted'] else done}。"]
    if f["history"]:
        s.append(_pick(rng, "既往：", "背景：", "既往歴：") + "、".join(f["history"]) + "。")
    s.append(f"{f['position']}にて前処置CTを撮影し、{f['findings']}。" if f["position"] else
             f"前処置CTにて{f['findings']}。")
    s.append(f"{f['anaesthesia']}、{f['device']}を用いて"
             f"{'穿刺を計画した' if f['aborted'] else 'CTで針先位置を確認しながら穿刺した'}。")
    s += [_end(t) for t in f["technique"]]
    if f["sample"]:
        s.append(_end(f["sample"]))
    s += [_end(x) for x in f["compl"]]
    s += [_end(x) for x in f["outcome"]]
    if f["dose"]:
        s.append(f"{_pick(rng, '線量', '被ばく線量')}：{f['dose']}。")
    s.append(f"術後指示：{f['followup']}。")
    body = "".join(s) if rng.random() < 0.5 else "\n".join(s)
    head = _pick(rng, "【手技記録】", "CTガイド下手技記録", "■IVR手技記録", "手技報告書")
    return f"{head}\n{body}\n{_pick(rng, '記載医', '術者', '報告医')}：{f['doctor']}"


def _render_ward_memo(rng: random.Random, c: _Case, f: dict, date: datetime.date) -> str:
    """A handover memo to the ward: casual, short lines, what to watch."""
    ward = _pick(rng, "5階東", "7西", "ICU", "HCU", "外科病棟", "呼吸器内科病棟", "3南")
    verb = "予定でしたが中止となりました" if f["aborted"] else _pick(rng, "行いました",
                                                                     "実施しました",
                                                                   "終了しました")
    lines = [_pick(rng, f"{ward}病棟 看護師様へ", f"{ward}への申し送り", "申し送り（IVR室より）",
                   "Ns申し送り"),
             f"本日{_pick(rng, '午前', '午後', '')}、{f['title']}を{verb}。"]
    if f["key_history"] or (f["history"] and rng.random() < 0.8):
        lines.append(f"既往：{'、'.join(f['history'])}")
    lines.append(f"使用：{f['device']}" + (f"／{f['sample']}" if f["sample"] else ""))
    lines += [_end(t) for t in f["technique"]]
    lines += [_end(x) for x in f["compl"]]
    lines += [_end(x) for x in f["outcome"]]
    lines.append(f"{_pick(rng, '帰棟後：', 'お願い：', '観察ポイント：')}{f['followup']}")
    lines.append(_pick(rng, "何かあればIVR室（内線", "ご不明点は放射線科（PHS ") +
                 f"{rng.randint(2000, 7999)}）まで。{f['doctor']}")
    bullet = _pick(rng, "・", "- ", "", "○")
    return "\n".join(lines[:1] + [bullet + x for x in lines[1:]])


_EN_SWAPS = (("気胸", "pneumothorax"), ("胸腔ドレーン", "chest tube"), ("ドレーン", "drain"),
             ("コア検体", "core"), ("生検", "biopsy"), ("膿瘍", "abscess"), ("合併症",
                                                                             "complication"),
             ("穿刺吸引", "aspiration"), ("硬化療法", "sclerotherapy"), ("溶骨性", "osteolytic"))


def _mixed(rng: random.Random, text: str) -> str:
    for ja, en in _EN_SWAPS:
        if rng.random() < 0.5:
            text = text.replace(ja, f" {en} ")
    return text


def _render_mixed_english(rng: random.Random, c: _Case, f: dict, date: datetime.date) -> str:
    """A doctor's note mixing English anatomy and device names into Japanese grammar."""
    title = c.title_short if rng.random() < 0.5 else c.title
    verb = "予定も中止" if f["aborted"] else _pick(rng, "施行", "done", "実施")
    lines = [f"# {title} {verb} ({date:%Y/%m/%d})",
             f"Target: {c.target}（{f['target']}）" if rng.random() < 0.5
             else f"Target: {c.target}",
             f"{_pick(rng, 'Indication', '適応', '目的')}: {f['indication']}"]
    if f["history"]:
        lines.append(f"Hx: {'; '.join(_mixed(rng, h) for h in f['history'])}")
    anaesthesia = _pick(rng, "局麻下", "local anesthesia下", "局所麻酔後")
    sedated = c.sedation_short and not c.sedation_short.lower().startswith("no")
    lines.append(f"{c.position or 'supine'}にて{anaesthesia}"
                 f"{'、' + c.sedation_short + '併用' if sedated else ''}、"
                 f"{_pick(rng, 'plain CTで', '単純CTで', 'planning CTにて')}"
                 "病変を確認し穿刺経路を設定。")
    lines.append(f"{_pick(rng, 'Device', '使用針', 'デバイス')}: {c.device}"
                 f"{_pick(rng, 'を使用', '', 'にて穿刺')}")
    lines += [_mixed(rng, _end(t)) for t in f["technique"]]
    if f["sample"]:
        lines.append(f"Specimen: {_mixed(rng, f['sample'])}")
    lines.append(f"Complication: {_mixed(rng, '、'.join(f['compl']))}")
    lines += [_mixed(rng, _end(x)) for x in f["outcome"]]
    lines.append(f"Plan: {_mixed(rng, f['followup'])}")
    lines.append(f"Dr. {f['doctor']}")
    return "\n".join(lines)


def _box(on: bool, style: tuple[str, str]) -> str:
    return style[0] if on else style[1]


def _render_checkbox_form(rng: random.Random, c: _Case, f: dict, date: datetime.date) -> str:
    """A structured form: ■/□ ticks that follow what was done, 項目：値 lines for the rest."""
    marks = rng.choice((("■", "□"), ("☑", "☐"), ("●", "○"), ("[x]", "[ ]")))
    done = not f["aborted"]
    catheter = c.label == 1 and not _aspiration_only(c) and done
    left = catheter or (c.hard == "complication" and c.label != 1)
    sampled = done and (c.label != 1 or c.hard == "biopsy_and_aspiration")
    compl_none = f["no_event"] and c.hard != "complication"

    def tick(pairs) -> str:
        return "　".join(f"{_box(on, marks)}{name}" for name, on in pairs)

    sep = _pick(rng, "：", ":", "　")
    lines = [_pick(rng, "CTガイド下IVR 記録票", "画像下治療 実施記録", "CT下穿刺 チェックシート"),
             f"実施日{sep}{date:%Y.%m.%d}",
             f"手技名{sep}{f['title']}",
             f"手技区分{sep}" + tick((("生検", sampled), ("ドレナージ", catheter),
                                     ("穿刺吸引", done and c.label == 1 and not catheter),
                                     ("硬化療法", c.hard == "cyst_sclerotherapy"))),
             f"対象{sep}{f['target']}",
             f"目的{sep}{f['indication']}"]
    if f["history"]:
        lines.append(f"既往{sep}{'、'.join(f['history'])}")
    lines += [f"体位{sep}{f['position'] or '仰臥位'}",
              f"麻酔{sep}{f['anaesthesia']}",
              f"器材{sep}{f['device']}",
              f"手技完遂{sep}" + tick((("完遂", done), ("中止", not done)))]
    if f["technique"]:
        lines.append(f"備考{sep}{'。'.join(f['technique'])}")
    lines.append(f"検体{sep}{f['sample'] or '採取なし'}")
    lines.append(f"留置物{sep}" + tick((("あり", left), ("なし", not left))))
    lines.append(f"合併症{sep}" + tick((("なし", compl_none), ("あり", not compl_none))) +
                 f"（{'、'.join(f['compl'] + f['outcome'])}）")
    if f["dose"]:
        lines.append(f"線量{sep}{f['dose']}")
    lines.append(f"術者{sep}{f['doctor']}")
    return _zenkaku(rng, "\n".join(lines), 0.15)


_RENDERERS: dict[str, Callable[[random.Random, _Case, dict, datetime.date], str]] = {
    "ris_brackets": _render_ris_brackets,
    "procedure_record": _render_procedure_record,
    "ward_memo": _render_ward_memo,
    "mixed_english": _render_mixed_english,
    "checkbox_form": _render_checkbox_form,
}


def _render_unseen_ja(rng: random.Random, c: _Case, style: str, date: datetime.date) -> str:
    if style not in _RENDERERS:
        raise ValueError(f"unknown unseen Japanese style {style!r}")
    text = _RENDERERS[style](rng, c, _facts(rng, c), date)
    text = re.sub(r"。{2,}", "。", text.replace("。。", "。").replace("、。", "。"))
    return re.sub(r"[ \t]{2,}", " ", text).strip()


# ------------------------------------------------------------------------ assembly


def generate_unseen_japanese_reports(n: int, seed: int, *, styles=None) -> list[CohortRow]:
    """``n`` evaluation-only Japanese reports, split "unassigned", sorted by date.

    Same category mix and hard-case share as ``cohort.generate_reports``; only the
    rendering (language and layout) differs. Never use these rows for training.
    """
    return held_out_reports(n, seed, _render_unseen_ja, styles, UNSEEN_JA_STYLES,
                            "unseen Japanese styles", "UJA")

